import { SECOND, MINUTE, createActor, listObjectPages, type WorldSettings } from './benign-world.ts';
import {
  buildDataEvent,
  describeIamUser,
  describeRoleSession,
  formatEventTime,
  formatSessionArn,
  type Caller,
} from './record-factory.ts';
import { SeededRandom } from './seeded-random.ts';
import type { Activity, SimulatedActor, SimulatedEvent, SimulationManifest } from './simulation-types.ts';
import { APP_ROLE } from './world-identities.ts';

/** An attack: who does it, the calls in time order, and, once played, what it did. */
export interface AttackPlan {
  actor: SimulatedActor;
  activity: Activity;
  /** The manifest's `attack` entry; complete once the activity has been played to its end. */
  summarize(): NonNullable<SimulationManifest['attack']>;
}

const BREACH_IP = '185.243.218.27';
const BREACH_USER_AGENT = 'aws-cli/2.9.19 Python/3.9.11 Linux/5.15.0-86-generic exe/x86_64.ubuntu.22 prompt/off';
const RANSOM_IP = '45.137.21.9';
const RANSOM_USER_AGENT =
  '[Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.36]';
const DELETE_BATCH = 1000;
const VERSIONS_PAGE = 1000;
const RANSOM_DELETES_PER_SECOND = 20;

/** Remembers the first and last call and the distinct objects touched, for the manifest. */
class AttackTracker {
  first: number | undefined;
  last: number | undefined;
  readonly objects = new Set<string>();

  note(event: SimulatedEvent, key?: string): SimulatedEvent {
    this.first ??= event.at;
    this.last = event.at;
    if (key !== undefined) this.objects.add(key);
    return event;
  }

  summarize(label: string, description: string): NonNullable<SimulationManifest['attack']> {
    return {
      label,
      start: formatEventTime(this.first ?? 0),
      end: formatEventTime(this.last ?? 0),
      objects: this.objects.size,
      description,
    };
  }
}

/**
 * Plans the breach: `contractor-2019`, an IAM user whose long-term key never made a call before,
 * lists the protected bucket from a VPS, downloads every object one after another at
 * `objectsPerSecond`, then deletes everything with `aws s3 rm --recursive`. Each multi-object delete
 * is written as CloudTrail has written it since June 2025: one `DeleteObjects` record without keys,
 * plus one `DeleteObject` record per key carrying the same `requestID`.
 */
export function planBreach(settings: WorldSettings, at: number, objectsPerSecond: number): AttackPlan {
  const random = SeededRandom.derive(settings.seed, 'breach');
  const userName = 'contractor-2019';
  const key = random.awsId('AKIA', 16);
  const identity = describeIamUser(userName, random.awsId('AIDA', 17), key);
  const actor = createActor(userName, String(identity.arn), 'iam-user-key', [key], false);
  const caller = (command: string): Caller => ({
    userIdentity: identity,
    sourceIPAddress: BREACH_IP,
    userAgent: `[${BREACH_USER_AGENT} command/${command}]`,
  });
  const tracker = new AttackTracker();
  const { catalog } = settings;
  const count = catalog.objects.length;

  function* play(): Generator<SimulatedEvent> {
    let t = yield* trackAll(listObjectPages(random, at, caller('s3.ls'), actor, catalog.bucket, count), tracker);
    t += random.integer(20 * SECOND, 60 * SECOND);
    const copy = caller('s3.cp');
    t = yield* trackAll(listObjectPages(random, t, copy, actor, catalog.bucket, count), tracker);
    for (const object of catalog.objects) {
      t += Math.round((SECOND / objectsPerSecond) * random.between(0.6, 1.4));
      yield tracker.note(
        {
          at: t,
          actor,
          record: buildDataEvent(random, t, copy, {
            eventName: 'GetObject',
            bucket: catalog.bucket,
            key: object.key,
            arn: object.arn,
            readOnly: true,
            bytesOut: object.size,
          }),
        },
        object.key,
      );
    }
    t += random.integer(30 * SECOND, 90 * SECOND);
    const remove = caller('s3.rm');
    t = yield* trackAll(listObjectPages(random, t, remove, actor, catalog.bucket, count), tracker);
    for (let first = 0; first < count; first += DELETE_BATCH) {
      t += random.integer(SECOND, 3 * SECOND);
      const batch = catalog.objects.slice(first, first + DELETE_BATCH);
      const requestId = random.requestId();
      yield tracker.note({
        at: t,
        actor,
        record: buildDataEvent(random, t, remove, {
          eventName: 'DeleteObjects',
          bucket: catalog.bucket,
          readOnly: false,
          requestId,
          requestParameters: { delete: '' },
          bytesIn: batch.reduce((sum, object) => sum + 40 + Buffer.byteLength(object.key), 60),
          bytesOut: 80 * batch.length,
        }),
      });
      for (const object of batch) {
        yield tracker.note({
          at: t,
          actor,
          record: buildDataEvent(random, t, remove, {
            eventName: 'DeleteObject',
            bucket: catalog.bucket,
            key: object.key,
            arn: object.arn,
            readOnly: false,
            requestId,
          }),
        });
      }
    }
  }

  return {
    actor,
    activity: { startsAt: at, events: play() },
    summarize: () =>
      tracker.summarize(
        userName,
        `IAM user ${userName} uses a long-term key never seen before from ${BREACH_IP} (aws-cli): lists ` +
          `${catalog.bucket}, downloads all ${count} objects at ~${objectsPerSecond}/s, then deletes them ` +
          `with DeleteObjects in batches of up to ${DELETE_BATCH}.`,
      ),
  };
}

/** Passes a generator's events through the tracker and hands back its return value. */
function* trackAll(events: Generator<SimulatedEvent, number>, tracker: AttackTracker): Generator<SimulatedEvent, number> {
  let step = events.next();
  while (!step.done) {
    yield tracker.note(step.value);
    step = events.next();
  }
  return step.value;
}

/**
 * Plans the ransomware run: a new session of the familiar application role, used from an IP outside
 * AWS with a Python SDK the application never uses, lists every object version and then deletes
 * each version by `versionId` at about twenty a second, which versioning cannot undo.
 */
export function planRansomware(settings: WorldSettings, at: number): AttackPlan {
  const random = SeededRandom.derive(settings.seed, 'ransomware');
  const { catalog, identities } = settings;
  const sessionName = `botocore-session-${Math.floor(at / SECOND)}`;
  const key = random.awsId('ASIA', 16);
  const created = at - random.integer(MINUTE, 3 * MINUTE);
  const caller: Caller = {
    userIdentity: describeRoleSession(APP_ROLE, identities.appRoleId, sessionName, key, formatEventTime(created)),
    sourceIPAddress: RANSOM_IP,
    userAgent: RANSOM_USER_AGENT,
  };
  const label = `${APP_ROLE} session ${sessionName}`;
  const actor = createActor(label, formatSessionArn(APP_ROLE, sessionName), 'assumed-role', [key], false);
  const tracker = new AttackTracker();
  let versionCount = 0;

  function* play(): Generator<SimulatedEvent> {
    // Versions are counted when the attack starts, so they include what the app wrote until then.
    const versions = catalog.objects.flatMap((object, index) =>
      catalog.listVersions(index).map((versionId) => ({ object, versionId })),
    );
    versionCount = versions.length;
    let t = at;
    for (let listed = 0; listed === 0 || listed < versions.length; listed += VERSIONS_PAGE) {
      const requestParameters: Record<string, unknown> = { versions: '', prefix: '', 'encoding-type': 'url' };
      const previous = versions[listed - 1];
      if (previous) {
        requestParameters['key-marker'] = previous.object.key;
        requestParameters['version-id-marker'] = previous.versionId;
      }
      yield tracker.note({
        at: t,
        actor,
        record: buildDataEvent(random, t, caller, {
          eventName: 'ListObjectVersions',
          bucket: catalog.bucket,
          prefix: '',
          readOnly: true,
          requestParameters,
          bytesOut: 600 + 420 * Math.min(VERSIONS_PAGE, versions.length - listed),
        }),
      });
      t += random.integer(300, 900);
    }
    for (const { object, versionId } of versions) {
      t += Math.round((SECOND / RANSOM_DELETES_PER_SECOND) * random.between(0.5, 1.5));
      yield tracker.note(
        {
          at: t,
          actor,
          record: buildDataEvent(random, t, caller, {
            eventName: 'DeleteObject',
            bucket: catalog.bucket,
            key: object.key,
            arn: object.arn,
            readOnly: false,
            requestParameters: { versionId },
          }),
        },
        object.key,
      );
    }
  }

  return {
    actor,
    activity: { startsAt: at, events: play() },
    summarize: () =>
      tracker.summarize(
        label,
        `A new session of role ${APP_ROLE} used from ${RANSOM_IP} with Boto3 (the app uses aws-sdk-js) lists ` +
          `every object version of ${catalog.bucket} and deletes all ${versionCount} versions of ` +
          `${tracker.objects.size} objects by versionId at ~${RANSOM_DELETES_PER_SECOND}/s.`,
      ),
  };
}
