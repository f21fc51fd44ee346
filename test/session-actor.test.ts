import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AccessEvent } from '../lib/domain/access-event.ts';
import { normalizeRecord } from '../lib/domain/cloudtrail-record.ts';
import { resolveIdentity } from '../lib/domain/identity.ts';
import { planContainment } from '../lib/aws/containment.ts';
import { createDetector } from '../lib/engine/score-engine.ts';
import { sortByEventTime } from '../lib/intake/event-intake.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { cloneRecord, pickRecord, type CloudTrailRecord } from './events/load-events.ts';

// Console, CloudShell and root sessions rotate their ASIA keys every few minutes, and a role's
// session keys rotate hourly: one session is one actor across its keys.
const INVICTUS = (
  JSON.parse(
    readFileSync(new URL('./events/sessions/218007301253_CloudTrail_us-east-1_20230710T1215Z_nBsuPO1qSTEVerMD.json', import.meta.url), 'utf8'),
  ) as { Records: CloudTrailRecord[] }
).Records;
/** A real console session of an IAM user (type IAMUser, ASIA key, MFA), from the Invictus IR log (test/events/sessions). */
const CONSOLE = pickRecord(INVICTUS, 'IAMUser console session', (r) => r.userIdentity?.type === 'IAMUser' && (r.userIdentity.accessKeyId ?? '').startsWith('ASIA'));
/** A real role session (type AssumedRole, ASIA key). */
const ROLE = pickRecord(INVICTUS, 'AssumedRole session', (r) => r.userIdentity?.type === 'AssumedRole' && (r.userIdentity.accessKeyId ?? '').startsWith('ASIA'));
const T0 = Date.parse('2026-10-20T03:12:00Z');

const identityOf = (record: CloudTrailRecord, change: (copy: CloudTrailRecord) => void = () => {}) => {
  const copy = cloneRecord(record, change);
  return resolveIdentity(copy.userIdentity as never, '198.51.100.7', copy.recipientAccountId as string | undefined);
};
const withKey = (key: string) => (copy: CloudTrailRecord) => {
  (copy.userIdentity as { accessKeyId?: string }).accessKeyId = key;
};

describe('session actors', () => {
  it('keeps a console session one actor when its ASIA key rotates', () => {
    const before = identityOf(CONSOLE, withKey('ASIAROTATEDKEY00001'));
    const after = identityOf(CONSOLE, withKey('ASIAROTATEDKEY00002'));
    expect(before.actor).toBe(after.actor);
    expect(before.accessKeyId).not.toBe(after.accessKeyId);
    expect(before.actor).not.toContain('ASIA');
  });

  it('keeps a role session one actor when its key rotates, and two session names two actors', () => {
    const first = identityOf(ROLE, withKey('ASIAROLEKEY00000001'));
    const rotated = identityOf(ROLE, withKey('ASIAROLEKEY00000002'));
    const other = identityOf(ROLE, (copy) => {
      const identity = copy.userIdentity as { arn: string; principalId: string };
      identity.arn = identity.arn.replace(/\/[^/]+$/, '/another-session');
      identity.principalId = identity.principalId.replace(/:.*$/, ':another-session');
    });
    expect(first.actor).toBe(rotated.actor);
    expect(other.actor).not.toBe(first.actor);
    expect(other.principal).toBe(first.principal);
  });

  it('tells apart two people in one role by their source identity', () => {
    const alice = identityOf(ROLE, (copy) => setSourceIdentity(copy, 'alice'));
    const bob = identityOf(ROLE, (copy) => setSourceIdentity(copy, 'bob'));
    const none = identityOf(ROLE);
    expect(new Set([alice.actor, bob.actor, none.actor]).size).toBe(3);
  });

  it('tells apart two Identity Center users acting through one session by onBehalfOf', () => {
    const one = identityOf(ROLE, (copy) => setOnBehalfOf(copy, 'user-1'));
    const two = identityOf(ROLE, (copy) => setOnBehalfOf(copy, 'user-2'));
    expect(one.actor).not.toBe(two.actor);
  });

  it('keeps a long-term key its own actor, and two users two actors', () => {
    const key = identityOf(CONSOLE, withKey('AKIALONGTERMKEY0001'));
    expect(key.actor).toBe('AKIALONGTERMKEY0001');
    const other = identityOf(CONSOLE, (copy) => {
      const identity = copy.userIdentity as { arn: string; userName: string; principalId: string };
      identity.arn = identity.arn.replace(/user\/.*$/, 'user/someone-else');
      identity.userName = 'someone-else';
      identity.principalId = 'AIDAOTHERUSER000001';
    });
    expect(other.actor).not.toBe(identityOf(CONSOLE).actor);
  });
});

function setSourceIdentity(copy: CloudTrailRecord, sourceIdentity: string): void {
  const identity = copy.userIdentity as { sessionContext?: Record<string, unknown> };
  identity.sessionContext = { ...identity.sessionContext, sourceIdentity };
}

function setOnBehalfOf(copy: CloudTrailRecord, userId: string): void {
  (copy.userIdentity as Record<string, unknown>).onBehalfOf = { userId, identityStoreArn: 'arn:aws:identitystore::123456789012:identitystore/d-1234567890' };
}

/** A console user's S3 calls: a list with one key, then `reads` distinct GetObjects with the next. */
function consoleSweep(reads: number): AccessEvent[] {
  const call = (i: number, eventName: string, key: string, at: number, objectKey?: string): CloudTrailRecord =>
    cloneRecord(CONSOLE, (copy) => {
      withKey(key)(copy);
      copy.eventID = `sweep-${i}`;
      copy.eventTime = new Date(at).toISOString().replace('.000Z', 'Z');
      copy.eventSource = 's3.amazonaws.com';
      copy.eventName = eventName;
      copy.eventCategory = 'Data';
      copy.managementEvent = false;
      copy.readOnly = true;
      copy.requestParameters = { bucketName: 'checkup-results', ...(objectKey === undefined ? { 'list-type': '2' } : { key: objectKey }) };
      copy.resources = [{ type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::checkup-results' }];
    });
  const records = [call(0, 'ListObjectsV2', 'ASIACONSOLEKEY00001', T0 + 2_000)];
  for (let i = 1; i <= reads; i++) records.push(call(i, 'GetObject', 'ASIACONSOLEKEY00002', T0 + 12_000 + i * 200, `results/${i}.pdf`));
  return sortByEventTime(
    records.map((record) => {
      const outcome = normalizeRecord(record);
      if (outcome.kind !== 'event') throw new Error(`the console call did not normalise: ${JSON.stringify(outcome)}`);
      return outcome.event;
    }),
  );
}

describe('a console session whose key rotates between a list and the reads', () => {
  it('fires list-then-get-sweep on one actor that lists both keys, and containment stops the user', async () => {
    const store = new MemoryStore();
    const detector = createDetector({ store, policy: { dryRun: true } });
    const events = consoleSweep(30);
    await detector.processBatch(events.slice(0, 1), T0 + 10_000);
    const { verdicts, changes } = await detector.processBatch(events.slice(1), T0 + 20_000);
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]?.score.reasons.map((reason) => reason.code)).toContain('list-then-get-sweep');
    const incident = changes[0]?.incident;
    expect(incident?.evidence.accessKeyIds).toEqual(['ASIACONSOLEKEY00001', 'ASIACONSOLEKEY00002']);
    const plan = planContainment(incident as NonNullable<typeof incident>, { guard: { protectedPrincipals: [], ownRoleArns: [], accounts: [] }, now: T0 + 20_000 });
    expect(plan.targets.map((target) => [target.kind, target.userName])).toEqual([['deny-user-sessions', CONSOLE.userIdentity?.userName]]);
  });

  it('does not fire when the reads are too few to be a sweep (the negative case)', async () => {
    const store = new MemoryStore();
    const detector = createDetector({ store, policy: { dryRun: true } });
    const events = consoleSweep(3);
    await detector.processBatch(events.slice(0, 1), T0 + 10_000);
    const { verdicts } = await detector.processBatch(events.slice(1), T0 + 20_000);
    expect(verdicts[0]?.score.reasons.map((reason) => reason.code)).not.toContain('list-then-get-sweep');
  });
});
