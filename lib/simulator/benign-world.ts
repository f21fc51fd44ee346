import type { ObjectCatalog } from './object-catalog.ts';
import {
  ACCOUNT_ID,
  buildAssumeRoleEvent,
  buildDataEvent,
  buildManagementEvent,
  describeConsoleUser,
  describeIamUser,
  describeRoleSession,
  formatEventTime,
  formatHost,
  formatRoleArn,
  type Caller,
  type S3Call,
  type SerializedRecord,
} from './record-factory.ts';
import { TRAIL_BUCKET } from './log-delivery.ts';
import { SeededRandom } from './seeded-random.ts';
import type { Activity, SimulatedActor, SimulatedEvent } from './simulation-types.ts';
import {
  APP_ROLE,
  BACKUPS_BUCKET,
  BACKUP_ROLE,
  EXPORTS_BUCKET,
  EXPORT_USER,
  PARTNER_ACCOUNT,
  PROTECTED_BUCKET,
  type Developer,
  type WorldIdentities,
} from './world-identities.ts';

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Where and when the world runs, and what shapes its traffic. */
export interface WorldSettings {
  seed: number;
  /** First and last (exclusive) instant of the trail, epoch milliseconds. */
  start: number;
  end: number;
  /** UTC midnight of the first day; day `d` of the world starts at `firstDay + d * DAY`. */
  firstDay: number;
  scale: number;
  catalog: ObjectCatalog;
  identities: WorldIdentities;
  /** Day index of the month-end surge, if the scenario has one. */
  surgeDay?: number;
}

/** The benign actors and the activities that make their calls, each in time order. */
export interface BenignWorld {
  actors: SimulatedActor[];
  activities: Activity[];
}

const APP_PEAK_PER_SECOND = 0.4;
// Share of the peak rate per UTC hour. Results are released at 08:00 UTC with an e-mail, so most
// patients open the portal in the next two hours; the rest of the day is a long, low tail.
const APP_HOURLY_SHARE = [
  0.005, 0.005, 0.005, 0.005, 0.005, 0.005, 0.02, 0.1, 0.55, 1, 0.35, 0.12, 0.08, 0.06, 0.06, 0.05, 0.05, 0.05, 0.04,
  0.05, 0.04, 0.03, 0.02, 0.01,
];
const APP_WEEKEND_SHARE = 0.4;
const APP_USER_AGENT =
  '[aws-sdk-js/3.654.0 ua/2.0 os/linux#5.10.225-213.878.amzn2.x86_64 lang/js md/nodejs#20.17.0 api/s3#3.654.0]';
const APP_IPS = ['10.0.12.34', '10.0.47.118'];
const VPC_ENDPOINT = 'vpce-0a1b2c3d4e5f60718';

const EXPORT_IP = '52.212.19.84';
const EXPORT_USER_AGENT =
  '[Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69]';

const BACKUP_IP = '10.0.31.17';
const BACKUP_USER_AGENT =
  '[aws-cli/2.15.30 Python/3.11.8 Linux/5.10.213-201.855.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/s3.sync]';

const OFFICE_IPS = ['81.134.22.10', '81.134.22.11', '81.134.22.12', '81.134.22.13'];
const CONSOLE_USER_AGENT =
  '[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750 Linux/5.10.223-190.873.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.412-b09 java/1.8.0_412 vendor/Oracle_Corporation cfg/retry-mode/standard]';

// Scanners seen hitting a real honey bucket (OTRF AWS_S3_HoneyBucketLogs).
const SCANNER_IPS = [
  '212.83.184.15',
  '212.83.184.17',
  '34.140.248.32',
  '43.251.92.37',
  '35.205.104.93',
  '188.40.66.118',
  '95.216.202.243',
  '130.211.54.158',
  '177.131.167.145',
  '109.70.66.85',
];
const SCANNER_USER_AGENTS = [
  '[Go-http-client/1.1]',
  '[Boto3/1.17.40 Python/3.6.12 Linux/3.10.0-1160.6.1.el7.x86_64 Botocore/1.20.112]',
  '[Java/1.8.0_201]',
  '[Ruby]',
  '[python-requests/2.22.0]',
  '[aws-sdk-go/1.40.9 (go1.15.8; linux; amd64)]',
  '[Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/98.0.4758.102 Safari/537.36]',
];
const SCANNER_KEYS = ['.env', 'backup.zip', 'hello.txt', 'writeable_bucket.txt', 'config.json', 'db.sql'];

const PARTNER_IP = '3.121.44.170';
const PARTNER_USER_AGENT = '[aws-sdk-go/1.44.298 (go1.20.6; linux; amd64)]';

const LIST_PAGE = 1000;

// Bucket configuration reads: management events, with the query parameter that names them.
const BUCKET_READS = [
  ['GetBucketPolicy', 'policy'],
  ['GetBucketVersioning', 'versioning'],
  ['GetBucketEncryption', 'encryption'],
  ['GetBucketAcl', 'acl'],
  ['GetBucketLogging', 'logging'],
] as const;
const CONFIG_ROLE = 'AWSServiceRoleForConfig';
const CONFIG_SERVICE = { path: 'aws-service-role/config.amazonaws.com/', invokedBy: 'config.amazonaws.com' };
const CONFIG_ROLE_ARN = formatRoleArn(CONFIG_ROLE, CONFIG_SERVICE.path);
const CONFIG_SESSION = 'AWSConfig-Describe';

/**
 * Creates the benign world every scenario shares: the patient portal's role sessions, the nightly
 * export, the weekly backup, three developers, anonymous scanners, a partner account, and the AWS
 * services that mint sessions. Each activity draws from its own random stream, so the world is the
 * same, call for call, whatever attack a scenario adds to it.
 */
export function createBenignWorld(settings: WorldSettings): BenignWorld {
  const ids = settings.identities;
  const app = createActor('patient portal app (role sessions)', formatRoleArn(APP_ROLE), 'assumed-role');
  const exportJob = createActor('nightly export job', formatUserArn(EXPORT_USER), 'iam-user-key', [ids.exportKey]);
  const backup = createActor('weekly backup (role sessions)', formatRoleArn(BACKUP_ROLE), 'assumed-role');
  const scanners = createActor('anonymous scanners', 'ANONYMOUS_PRINCIPAL', 'anonymous');
  const partner = createActor(`partner account ${PARTNER_ACCOUNT}`, `arn:aws:iam::${PARTNER_ACCOUNT}:root`, 'cross-account');
  const ecs = createActor('ECS task credentials', 'ecs-tasks.amazonaws.com', 'aws-service');
  const config = createActor('AWS Config (service-linked role)', CONFIG_ROLE_ARN, 'assumed-role');
  const ec2 = createActor('EC2 instance credentials', 'ec2.amazonaws.com', 'aws-service');

  const actors = [app, exportJob, backup];
  const streams: Array<Iterator<SimulatedEvent>> = [
    generateAppTraffic(settings, app, ecs),
    generateExportJob(settings, exportJob),
    generateWeeklyBackup(settings, backup, ec2),
  ];
  for (const developer of ids.developers) {
    const cli = createActor(`${developer.name} (CLI key)`, formatUserArn(developer.name), 'iam-user-key', [
      developer.cliKey,
    ]);
    const browser = createActor(`${developer.name} (console)`, formatUserArn(developer.name), 'iam-user-temporary');
    actors.push(cli, browser);
    streams.push(generateDeveloperCli(settings, developer, cli), generateDeveloperConsole(settings, developer, browser));
  }
  actors.push(scanners, partner, config, ecs, ec2);
  streams.push(
    generateProbes(settings, scanners),
    generatePartnerChecks(settings, partner),
    generateConfigReads(settings, config),
  );
  return { actors, activities: streams.map((events) => ({ startsAt: -Infinity, events })) };
}

/**
 * Creates a manifest entry for someone in the trail. Actors with long-term keys get them here;
 * activities add the session keys they mint as they mint them.
 */
export function createActor(
  label: string,
  principalArn: string,
  identityType: SimulatedActor['identityType'],
  accessKeyIds: string[] = [],
  benign = true,
): SimulatedActor {
  return { label, principalArn, accessKeyIds, identityType, benign };
}

function formatUserArn(userName: string): string {
  return `arn:aws:iam::${ACCOUNT_ID}:user/${userName}`;
}

function countDays(settings: WorldSettings): number {
  return Math.ceil((settings.end - settings.firstDay) / DAY);
}

function isWeekend(dayStart: number): boolean {
  const weekday = new Date(dayStart).getUTCDay();
  return weekday === 0 || weekday === 6;
}

/**
 * Yields ListObjects (v2) pages over `count` keys, as SDKs and the CLI page them (1,000 keys a
 * page, a continuation token from the second page on), and returns when the last page was done.
 */
export function* listObjectPages(
  random: SeededRandom,
  at: number,
  caller: Caller,
  actor: SimulatedActor,
  bucket: string,
  count: number,
): Generator<SimulatedEvent, number> {
  let t = at;
  const pages = Math.max(1, Math.ceil(count / LIST_PAGE));
  for (let page = 0; page < pages; page++) {
    const keys = Math.min(LIST_PAGE, count - page * LIST_PAGE);
    const requestParameters: Record<string, unknown> = { 'list-type': '2', prefix: '', 'encoding-type': 'url' };
    if (page > 0) requestParameters['continuation-token'] = random.alphanumeric(88);
    yield {
      at: t,
      actor,
      record: buildDataEvent(random, t, caller, {
        eventName: 'ListObjects',
        bucket,
        prefix: '',
        readOnly: true,
        requestParameters,
        bytesOut: 600 + 330 * Math.max(0, keys),
      }),
    };
    t += Math.round(random.between(200, 900));
  }
  return t;
}

/** Draws `count` distinct indices below `size`, in ascending order (listing order). */
function sampleIndices(random: SeededRandom, size: number, count: number): number[] {
  return shuffleIndices(random, size, count).sort((a, b) => a - b);
}

/** The first `count` entries of a random permutation of the indices below `size`. */
function shuffleIndices(random: SeededRandom, size: number, count = size): number[] {
  const pool = Array.from({ length: size }, (_, i) => i);
  const take = Math.min(count, size);
  for (let i = 0; i < take; i++) {
    const j = random.integer(i, size - 1);
    const swap = pool[i] ?? 0;
    pool[i] = pool[j] ?? 0;
    pool[j] = swap;
  }
  return pool.slice(0, take);
}

function* generateAppTraffic(
  settings: WorldSettings,
  app: SimulatedActor,
  ecs: SimulatedActor,
): Generator<SimulatedEvent> {
  const random = SeededRandom.derive(settings.seed, 'app');
  const { catalog, identities } = settings;
  // A few reports are opened far more than others; popularity is a shuffled order of the objects.
  const popularity = shuffleIndices(random, catalog.objects.length);
  const surgeFrom = settings.surgeDay === undefined ? -1 : settings.firstDay + settings.surgeDay * DAY + 9 * HOUR;

  for (let hour = Math.floor(settings.start / HOUR) * HOUR; hour < settings.end; hour += HOUR) {
    // ECS hands each task fresh role credentials; tasks are replaced hourly, so is the session.
    const created = hour + random.integer(0, 20 * SECOND);
    const sessionName = random.hex(32);
    const key = random.awsId('ASIA', 16);
    if (created >= settings.start && created < settings.end) app.accessKeyIds.push(key);
    yield {
      at: created,
      actor: ecs,
      record: buildAssumeRoleEvent(
        random,
        created,
        'ecs-tasks.amazonaws.com',
        APP_ROLE,
        identities.appRoleId,
        sessionName,
        key,
      ),
    };
    const identity = describeRoleSession(APP_ROLE, identities.appRoleId, sessionName, key, formatEventTime(created));
    const callers: Caller[] = APP_IPS.map((ip) => ({
      userIdentity: identity,
      sourceIPAddress: ip,
      userAgent: APP_USER_AGENT,
      vpcEndpointId: VPC_ENDPOINT,
    }));

    const date = new Date(hour);
    let share = APP_HOURLY_SHARE[date.getUTCHours()] ?? 0;
    if (isWeekend(hour)) share *= APP_WEEKEND_SHARE;
    if (hour >= surgeFrom && hour < surgeFrom + 3 * HOUR) share *= 3;
    const from = created + SECOND;
    const span = hour + HOUR - from;
    const times = new Float64Array(random.poisson((APP_PEAK_PER_SECOND * settings.scale * share * span) / SECOND));
    for (let i = 0; i < times.length; i++) times[i] = Math.floor(from + random.next() * span);
    times.sort();
    for (const at of times) {
      const index = popularity[Math.floor(popularity.length * random.next() ** 2)] ?? 0;
      const call = drawAppCall(random, catalog, index);
      yield { at, actor: app, record: buildDataEvent(random, at, random.pick(callers), call) };
    }
  }
}

function drawAppCall(random: SeededRandom, catalog: ObjectCatalog, index: number): S3Call {
  const object = catalog.objects[index];
  if (!object) throw new RangeError(`no object ${index}`);
  const bucket = catalog.bucket;
  const roll = random.next();
  const failure = random.next();
  const eventName = roll < 0.8 ? 'GetObject' : roll < 0.95 ? 'HeadObject' : 'PutObject';
  const put = eventName === 'PutObject';
  if (failure < 0.005 && !put) {
    const missing = `checkups/2025/P${random.integer(100_000, 999_999)}/report.pdf`;
    return { eventName, bucket, key: missing, readOnly: true, errorCode: 'NoSuchKey', bytesOut: 243 };
  }
  if (failure < 0.01) {
    return { eventName, bucket, key: object.key, arn: object.arn, readOnly: !put, errorCode: 'AccessDenied', bytesOut: 243 };
  }
  if (put) {
    const responseElements = { 'x-amz-server-side-encryption': 'AES256', 'x-amz-version-id': catalog.addVersion(index) };
    return { eventName, bucket, key: object.key, arn: object.arn, readOnly: false, bytesIn: object.size, responseElements };
  }
  const bytesOut = eventName === 'GetObject' ? object.size : 0;
  return { eventName, bucket, key: object.key, arn: object.arn, readOnly: true, bytesOut };
}

function* generateExportJob(settings: WorldSettings, actor: SimulatedActor): Generator<SimulatedEvent> {
  const random = SeededRandom.derive(settings.seed, 'export');
  const { catalog, identities } = settings;
  const caller: Caller = {
    userIdentity: describeIamUser(EXPORT_USER, identities.exportUserId, identities.exportKey),
    sourceIPAddress: EXPORT_IP,
    userAgent: EXPORT_USER_AGENT,
  };
  for (let day = 0; day < countDays(settings); day++) {
    const dayStart = settings.firstDay + day * DAY;
    let t = dayStart + 2 * HOUR + random.integer(0, 90 * SECOND);
    t = yield* listObjectPages(random, t, caller, actor, catalog.bucket, catalog.objects.length);
    // Month end: the finance export pulls the whole month's changes, not just yesterday's.
    const volume = day === settings.surgeDay ? 4 : 1;
    const chosen = sampleIndices(random, catalog.objects.length, random.integer(100, 200) * volume);
    let bytes = 0;
    for (const index of chosen) {
      const object = catalog.objects[index];
      if (!object) continue;
      bytes += object.size;
      yield {
        at: t,
        actor,
        record: buildDataEvent(random, t, caller, {
          eventName: 'GetObject',
          bucket: catalog.bucket,
          key: object.key,
          arn: object.arn,
          readOnly: true,
          bytesOut: object.size,
        }),
      };
      t += Math.round(random.between(150, 600));
    }
    t += Math.round(random.between(5 * SECOND, 40 * SECOND));
    const archive = `daily/${new Date(dayStart).toISOString().slice(0, 10)}/checkups-changed.tar.gz`;
    yield {
      at: t,
      actor,
      record: buildDataEvent(random, t, caller, {
        eventName: 'PutObject',
        bucket: EXPORTS_BUCKET,
        key: archive,
        readOnly: false,
        bytesIn: Math.round(bytes * 0.93),
        responseElements: { 'x-amz-server-side-encryption': 'AES256' },
      }),
    };
  }
}

function* generateWeeklyBackup(
  settings: WorldSettings,
  actor: SimulatedActor,
  ec2: SimulatedActor,
): Generator<SimulatedEvent> {
  const random = SeededRandom.derive(settings.seed, 'backup');
  const { catalog, identities } = settings;
  for (let day = 0; day < countDays(settings); day++) {
    const dayStart = settings.firstDay + day * DAY;
    if (new Date(dayStart).getUTCDay() !== 0) continue;
    let t = dayStart + 3 * HOUR + random.integer(0, 60 * SECOND);
    const created = t - random.integer(20 * SECOND, 60 * SECOND);
    const key = random.awsId('ASIA', 16);
    if (created >= settings.start && created < settings.end) actor.accessKeyIds.push(key);
    const session = identities.backupInstance;
    yield {
      at: created,
      actor: ec2,
      record: buildAssumeRoleEvent(random, created, 'ec2.amazonaws.com', BACKUP_ROLE, identities.backupRoleId, session, key),
    };
    const caller: Caller = {
      userIdentity: describeRoleSession(BACKUP_ROLE, identities.backupRoleId, session, key, formatEventTime(created)),
      sourceIPAddress: BACKUP_IP,
      userAgent: BACKUP_USER_AGENT,
      vpcEndpointId: VPC_ENDPOINT,
    };
    // `aws s3 sync` lists both sides before it copies anything.
    t = yield* listObjectPages(random, t, caller, actor, catalog.bucket, catalog.objects.length);
    t = yield* listObjectPages(random, t, caller, actor, BACKUPS_BUCKET, catalog.objects.length);
    for (const object of catalog.objects) {
      yield {
        at: t,
        actor,
        record: buildDataEvent(random, t, caller, {
          eventName: 'GetObject',
          bucket: catalog.bucket,
          key: object.key,
          arn: object.arn,
          readOnly: true,
          bytesOut: object.size,
        }),
      };
      const put = t + random.integer(50, 250);
      yield {
        at: put,
        actor,
        record: buildDataEvent(random, put, caller, {
          eventName: 'PutObject',
          bucket: BACKUPS_BUCKET,
          key: `${PROTECTED_BUCKET}/${object.key}`,
          readOnly: false,
          bytesIn: object.size,
          responseElements: { 'x-amz-server-side-encryption': 'AES256' },
        }),
      };
      t = put + random.integer(250, 620);
    }
  }
}

/** Where a developer works on a given day: shared by their CLI and console so both agree. */
function planDeveloperDay(
  settings: WorldSettings,
  developer: Developer,
  day: number,
): { dayStart: number; ip: string } | undefined {
  const dayStart = settings.firstDay + day * DAY;
  if (isWeekend(dayStart)) return undefined;
  const random = SeededRandom.derive(settings.seed, `developer:${developer.name}:day:${day}`);
  if (!random.chance(0.9)) return undefined;
  const ip = random.chance(0.1) ? developer.homeIp : random.pick(OFFICE_IPS);
  return { dayStart, ip };
}

function* generateDeveloperCli(
  settings: WorldSettings,
  developer: Developer,
  actor: SimulatedActor,
): Generator<SimulatedEvent> {
  const random = SeededRandom.derive(settings.seed, `developer:${developer.name}:cli`);
  const { catalog } = settings;
  const identity = describeIamUser(developer.name, developer.userId, developer.cliKey);
  const callerFor = (ip: string, command: string): Caller => ({
    userIdentity: identity,
    sourceIPAddress: ip,
    userAgent: `[${developer.cliUserAgent} command/${command}]`,
  });
  for (let day = 0; day < countDays(settings); day++) {
    const plan = planDeveloperDay(settings, developer, day);
    if (!plan) continue;
    const events: SimulatedEvent[] = [];
    const actions = random.integer(0, 4);
    for (let i = 0; i < actions; i++) {
      let t = plan.dayStart + Math.round(random.between(9 * HOUR, 18 * HOUR - 10 * MINUTE));
      if (random.chance(0.5)) {
        events.push({
          at: t,
          actor,
          record: buildDataEvent(random, t, callerFor(plan.ip, 's3.ls'), {
            eventName: 'ListObjects',
            bucket: catalog.bucket,
            prefix: 'checkups/2025/',
            readOnly: true,
            requestParameters: { 'list-type': '2', prefix: 'checkups/2025/', delimiter: '/', 'encoding-type': 'url' },
            bytesOut: 330 * LIST_PAGE,
          }),
        });
        continue;
      }
      const caller = callerFor(plan.ip, 's3.cp');
      for (let n = random.integer(1, 3); n > 0; n--) {
        const object = random.pick(catalog.objects);
        events.push({
          at: t,
          actor,
          record: buildDataEvent(random, t, caller, {
            eventName: 'GetObject',
            bucket: catalog.bucket,
            key: object.key,
            arn: object.arn,
            readOnly: true,
            bytesOut: object.size,
          }),
        });
        t += random.integer(300, 2 * SECOND);
      }
    }
    yield* sortEvents(events);
  }
}

function* generateDeveloperConsole(
  settings: WorldSettings,
  developer: Developer,
  actor: SimulatedActor,
): Generator<SimulatedEvent> {
  const random = SeededRandom.derive(settings.seed, `developer:${developer.name}:console`);
  const { catalog } = settings;
  for (let day = 0; day < countDays(settings); day++) {
    const plan = planDeveloperDay(settings, developer, day);
    if (!plan || !random.chance(0.55)) continue;
    const login = plan.dayStart + Math.round(random.between(9 * HOUR, 17 * HOUR));
    const key = random.awsId('ASIA', 16);
    if (login >= settings.start && login < settings.end) actor.accessKeyIds.push(key);
    const events: SimulatedEvent[] = [];
    const signIn: Caller = {
      userIdentity: describeIamUser(developer.name, developer.userId),
      sourceIPAddress: plan.ip,
      userAgent: developer.browser,
    };
    events.push({
      at: login,
      actor,
      record: buildManagementEvent(random, login, signIn, {
        eventSource: 'signin.amazonaws.com',
        eventName: 'ConsoleLogin',
        readOnly: false,
        requestParameters: null,
        responseElements: { ConsoleLogin: 'Success' },
        additionalEventData: {
          LoginTo: 'https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true',
          MobileVersion: 'No',
          MFAIdentifier: `arn:aws:iam::${ACCOUNT_ID}:mfa/${developer.name}`,
          MFAUsed: 'Yes',
        },
      }),
    });
    const caller: Caller = {
      userIdentity: describeConsoleUser(developer.name, developer.userId, key, formatEventTime(login)),
      sourceIPAddress: plan.ip,
      userAgent: CONSOLE_USER_AGENT,
    };
    let t = login + random.integer(20 * SECOND, 90 * SECOND);
    for (let n = random.integer(3, 12); n > 0; n--) {
      const roll = random.next();
      if (roll < 0.45) {
        const object = random.pick(catalog.objects);
        const prefix = roll < 0.15 ? 'checkups/2025/' : `${object.key.split('/').slice(0, 3).join('/')}/`;
        events.push({
          at: t,
          actor,
          record: buildDataEvent(random, t, caller, {
            eventName: 'ListObjects',
            bucket: catalog.bucket,
            prefix,
            readOnly: true,
            requestParameters: { 'list-type': '2', prefix, delimiter: '/', 'encoding-type': 'url', 'fetch-owner': 'true' },
            bytesOut: prefix === 'checkups/2025/' ? 330 * LIST_PAGE : 900,
          }),
        });
      } else if (roll < 0.7) {
        const [eventName, parameter] = random.pick(BUCKET_READS);
        events.push({ at: t, actor, record: buildBucketRead(random, t, caller, eventName, parameter, catalog.bucket) });
      } else {
        const object = random.pick(catalog.objects);
        const download = roll >= 0.85;
        events.push({
          at: t,
          actor,
          record: buildDataEvent(random, t, caller, {
            eventName: download ? 'GetObject' : 'HeadObject',
            bucket: catalog.bucket,
            key: object.key,
            arn: object.arn,
            readOnly: true,
            bytesOut: download ? object.size : 0,
          }),
        });
      }
      t += random.integer(10 * SECOND, 120 * SECOND);
    }
    yield* sortEvents(events);
  }
}

function* generateProbes(settings: WorldSettings, actor: SimulatedActor): Generator<SimulatedEvent> {
  const random = SeededRandom.derive(settings.seed, 'probes');
  const buckets = [PROTECTED_BUCKET, PROTECTED_BUCKET, PROTECTED_BUCKET, EXPORTS_BUCKET, BACKUPS_BUCKET];
  for (let day = 0; day < countDays(settings); day++) {
    const dayStart = settings.firstDay + day * DAY;
    const events: SimulatedEvent[] = [];
    for (let probe = random.poisson(3); probe > 0; probe--) {
      const caller: Caller = {
        userIdentity: { type: 'AWSAccount', principalId: '', accountId: 'ANONYMOUS_PRINCIPAL' },
        sourceIPAddress: random.pick(SCANNER_IPS),
        userAgent: random.pick(SCANNER_USER_AGENTS),
        anonymous: true,
      };
      const bucket = random.pick(buckets);
      // Scanners address buckets every way S3 ever accepted: global, regional, legacy dash-regional.
      const Host = random.pick([`${bucket}.s3.amazonaws.com`, formatHost(bucket), `${bucket}.s3-eu-west-1.amazonaws.com`]);
      let t = dayStart + random.integer(0, DAY - MINUTE);
      for (let n = random.integer(1, 3); n > 0; n--) {
        const roll = random.next();
        const denied = { bucket, readOnly: true, errorCode: 'AccessDenied', bytesOut: 243 };
        const call: S3Call =
          roll < 0.45
            ? { ...denied, eventName: 'HeadBucket', requestParameters: { Host } }
            : roll < 0.85
              ? {
                  ...denied,
                  eventName: 'ListObjects',
                  prefix: '',
                  requestParameters: random.chance(0.5) ? { 'list-type': '2', Host, 'encoding-type': 'url' } : { Host },
                }
              : { ...denied, eventName: 'GetObject', key: random.pick(SCANNER_KEYS), requestParameters: { Host } };
        events.push({ at: t, actor, record: buildDataEvent(random, t, caller, call) });
        t += random.integer(200, 3 * SECOND);
      }
    }
    yield* sortEvents(events);
  }
}

function* generatePartnerChecks(settings: WorldSettings, actor: SimulatedActor): Generator<SimulatedEvent> {
  const random = SeededRandom.derive(settings.seed, 'partner');
  const caller: Caller = {
    userIdentity: { type: 'AWSAccount', principalId: settings.identities.partnerPrincipalId, accountId: PARTNER_ACCOUNT },
    sourceIPAddress: PARTNER_IP,
    userAgent: PARTNER_USER_AGENT,
  };
  const bucket = settings.catalog.bucket;
  for (let day = 0; day < countDays(settings); day++) {
    const dayStart = settings.firstDay + day * DAY;
    if (isWeekend(dayStart) || !random.chance(0.6)) continue;
    const t = dayStart + 6 * HOUR + random.integer(0, HOUR);
    yield { at: t, actor, record: buildDataEvent(random, t, caller, { eventName: 'HeadBucket', bucket, readOnly: true }) };
    const list = t + random.integer(100, 800);
    yield {
      at: list,
      actor,
      record: buildDataEvent(random, list, caller, {
        eventName: 'ListObjects',
        bucket,
        prefix: 'checkups/2025/',
        readOnly: true,
        requestParameters: { 'list-type': '2', prefix: 'checkups/2025/', 'max-keys': '1000', 'encoding-type': 'url' },
        bytesOut: 330 * LIST_PAGE,
      }),
    };
  }
}

/**
 * AWS Config records the buckets' configuration a few times an hour through its service-linked
 * role: management events only, present because a real trail is never only data events.
 */
function* generateConfigReads(settings: WorldSettings, actor: SimulatedActor): Generator<SimulatedEvent> {
  const random = SeededRandom.derive(settings.seed, 'config');
  const roleId = random.awsId('AROA', 17);
  const buckets = [PROTECTED_BUCKET, EXPORTS_BUCKET, BACKUPS_BUCKET, TRAIL_BUCKET];
  for (let hour = Math.floor(settings.start / HOUR) * HOUR; hour < settings.end; hour += HOUR) {
    const key = random.awsId('ASIA', 16);
    const identity = describeRoleSession(CONFIG_ROLE, roleId, CONFIG_SESSION, key, formatEventTime(hour), CONFIG_SERVICE);
    const caller: Caller = {
      userIdentity: identity,
      sourceIPAddress: 'config.amazonaws.com',
      userAgent: 'config.amazonaws.com',
    };
    const times = Array.from({ length: random.poisson(3) }, () => hour + random.integer(MINUTE, HOUR - SECOND));
    if (times.length > 0 && hour >= settings.start && hour < settings.end) actor.accessKeyIds.push(key);
    for (const t of times.sort((a, b) => a - b)) {
      const [eventName, parameter] = random.pick(BUCKET_READS);
      yield { at: t, actor, record: buildBucketRead(random, t, caller, eventName, parameter, random.pick(buckets)) };
    }
  }
}

function buildBucketRead(
  random: SeededRandom,
  at: number,
  caller: Caller,
  eventName: string,
  parameter: string,
  bucket: string,
): SerializedRecord {
  return buildManagementEvent(random, at, caller, {
    eventSource: 's3.amazonaws.com',
    eventName,
    readOnly: true,
    requestParameters: { bucketName: bucket, Host: formatHost(bucket), [parameter]: '' },
    responseElements: null,
    additionalEventData: {
      SignatureVersion: 'SigV4',
      CipherSuite: 'TLS_AES_128_GCM_SHA256',
      bytesTransferredIn: 0,
      AuthenticationMethod: 'AuthHeader',
      'x-amz-id-2': random.extendedRequestId(),
      bytesTransferredOut: random.integer(300, 900),
    },
    resources: [{ accountId: ACCOUNT_ID, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` }],
  });
}

function* sortEvents(events: SimulatedEvent[]): Generator<SimulatedEvent> {
  yield* events.sort((a, b) => a.at - b.at);
}
