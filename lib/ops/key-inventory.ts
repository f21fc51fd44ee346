import { paginateLookupEvents, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import {
  GetAccessKeyLastUsedCommand,
  GetRoleCommand,
  GetUserCommand,
  NoSuchEntityException,
  paginateListAccessKeys,
  paginateListUsers,
  type AccessKeyMetadata,
  type IAMClient,
  type User,
} from '@aws-sdk/client-iam';
import type { Baseline } from '../domain/baseline.ts';
import { deactivateAccessKey } from '../aws/containment.ts';
import { InventoryError } from '../domain/errors.ts';
import { publishInput, SMS_MAX, toGsmText, type PublishInput } from '../aws/paging.ts';
import type { BaselineStore } from '../store/store.ts';

const DAY_MS = 86_400_000;

/**
 * Every AWS action the inventory calls, all reads: serverless.yml grants the inventory function
 * exactly these (a test compares), and nothing that could change a key.
 */
export const INVENTORY_PERMISSIONS = [
  'iam:ListUsers',
  'iam:ListAccessKeys',
  'iam:GetAccessKeyLastUsed',
  'iam:GetUser',
  'iam:GetRole',
  'cloudtrail:LookupEvents',
] as const;

/** How far back CloudTrail's event history (`LookupEvents`) reaches; older creations are unknown. */
export const EVENT_HISTORY_DAYS = 90;
/** A key last used longer ago than this is flagged `unused-90-days`. */
export const UNUSED_DAYS = 90;
/** An active key created longer ago than this is flagged `old-key`. */
export const OLD_KEY_DAYS = 365;

/** Why a key deserves a look. */
export type KeyFlagCode = 'active-never-used' | 'unused-90-days' | 'creator-gone' | 'not-in-baseline' | 'old-key';

/** One reason, as data: the renderers and the SMS count the codes and quote the messages. */
export interface KeyFlag {
  code: KeyFlagCode;
  message: string;
}

/** The flags that make the daily report a `high` page: keys that should probably not exist at all. */
export const HIGH_SEVERITY_FLAGS: ReadonlySet<KeyFlagCode> = new Set<KeyFlagCode>(['active-never-used', 'creator-gone']);

/** Each flag in a few words, in the order the reports list them. */
export const FLAG_WORDS: Readonly<Record<KeyFlagCode, string>> = {
  'active-never-used': 'active never used',
  'creator-gone': 'creator gone',
  'unused-90-days': `unused ${UNUSED_DAYS}+ days`,
  'not-in-baseline': 'not in baseline',
  'old-key': 'older than a year',
};

/** The IAM user or role behind the creator of a key: what `creator-gone` looks up. */
export interface CreatingPrincipal {
  kind: 'user' | 'role';
  name: string;
  /** The unique id (AIDA…/AROA…) CloudTrail recorded: a user re-created under the same name has another. */
  id?: string;
}

/** Who created a key, from its `CreateAccessKey` event. */
export interface KnownCreator {
  known: true;
  /** The caller's ARN (a role session's ARN names the session), or its identity type when it has none. */
  arn: string;
  /** CloudTrail's `userIdentity.type`: IAMUser, AssumedRole, Root… */
  type: string;
  principal?: CreatingPrincipal;
  at: string;
  sourceIp?: string;
  userAgent?: string;
  eventId?: string;
  /** Whether that user or role still exists; absent when there is nothing to check (root, a service, another account). */
  exists?: boolean;
  /** Why it counts as gone, in words. */
  goneBecause?: string;
}

/** The creation is outside CloudTrail's event history, or no event names the key. */
export interface UnknownCreator {
  known: false;
  reason: 'older-than-90-days' | 'no-event';
}

export type KeyCreator = KnownCreator | UnknownCreator;

/** One access key of one IAM user, with what IAM, CloudTrail and keysentry know of it. */
export interface InventoryKey {
  userName: string;
  userArn?: string;
  accessKeyId: string;
  status: 'Active' | 'Inactive';
  createdAt?: string;
  ageDays?: number;
  /** Absent: IAM has no record of a use (since it began tracking, April 2015). */
  lastUsed?: { at: string; daysAgo: number; service?: string; region?: string };
  creator: KeyCreator;
  /** keysentry's baseline of the key: absent when it never saw the key touch S3 (or baselines were not read). */
  seenByKeysentry?: { firstSeen: string; lastSeen: string; activeDays: number; buckets: string[] };
  /** Only active keys are flagged: an inactive key signs nothing until someone re-enables it. */
  flags: KeyFlag[];
  /** The command that disables the key (never deletes it). */
  deactivateCommand: string;
}

/** One IAM change CloudTrail recorded: who did what to which user, role, key or policy. */
export interface IamChange {
  eventName: string;
  at: string;
  /** The caller's ARN, or its identity type when it has none. */
  actor: string;
  sourceIp?: string;
  /** Set when the call failed (AccessDenied…): an attempt is news too. */
  errorCode?: string;
  eventId?: string;
  userName?: string;
  roleName?: string;
  accessKeyId?: string;
  status?: string;
  policyArn?: string;
  policyName?: string;
}

/** The inventory: every access key of every IAM user, flagged ones first, and the last day's IAM changes. */
export interface KeyInventory {
  generatedAt: string;
  users: number;
  keys: InventoryKey[];
  /** Whether keysentry's baselines were read; `not-in-baseline` is decided only then. */
  baselinesRead: boolean;
  changes: { since: string; until: string; events: IamChange[] };
  /** CloudTrail events that could not be read (their JSON is missing or broken). */
  unreadableEvents: number;
}

/** What `buildKeyInventory` reads from, and its clock. */
export interface KeyInventoryOptions {
  iam: IAMClient;
  /**
   * A client in the region where CloudTrail records IAM calls: IAM is a global service, so its
   * events are in us-east-1's event history (for the aws partition), whatever region the trail is in.
   */
  cloudtrail: CloudTrailClient;
  /** keysentry's store; without one, `not-in-baseline` is not decided. */
  store?: Pick<BaselineStore, 'getBaselines'>;
  now: () => number;
  /** How far back the IAM changes go (default one day). */
  changesWindowMs?: number;
}

/** The IAM calls that create, enable, remove or empower credentials: the last day's are reported. */
export const IAM_CHANGE_EVENTS = [
  'CreateAccessKey',
  'UpdateAccessKey',
  'DeleteAccessKey',
  'CreateUser',
  'AttachUserPolicy',
  'AttachRolePolicy',
  'PutUserPolicy',
  'PutRolePolicy',
] as const;

/** Requests to IAM in flight at once: enough for a few hundred users, below IAM's throttling. */
const IAM_CONCURRENCY = 4;

const iso = (time: number): string => new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
const daysBetween = (from: number, to: number): number => Math.max(0, Math.floor((to - from) / DAY_MS));
const isNoSuchEntity = (error: unknown): boolean =>
  error instanceof NoSuchEntityException || (error as { name?: string } | null)?.name === 'NoSuchEntity';
const messageOf = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** Runs `work` on every item, at most `limit` at a time, keeping the items' order in the results. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Calls IAM or CloudTrail; a failure becomes an `InventoryError` that says which call. */
async function reading<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new InventoryError(`${what} failed (${messageOf(error)})`, { cause: error });
  }
}

/** A string at `path` in parsed JSON, or undefined. */
function text(value: unknown, ...path: string[]): string | undefined {
  let node = value;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'string' && node !== '' ? node : undefined;
}

interface TrailRecord {
  record: Record<string, unknown>;
  eventTime: number;
}

/** Every event named `eventName` in `[since, until]`, parsed; `unreadable` counts those without usable JSON. */
async function lookUpEvents(
  cloudtrail: CloudTrailClient,
  eventName: string,
  since: number,
  until: number,
): Promise<{ records: TrailRecord[]; unreadable: number }> {
  const records: TrailRecord[] = [];
  let unreadable = 0;
  await reading(`CloudTrail LookupEvents for ${eventName}`, async () => {
    const pages = paginateLookupEvents(
      { client: cloudtrail },
      {
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }],
        StartTime: new Date(since),
        EndTime: new Date(until),
        MaxResults: 50,
      },
    );
    for await (const page of pages) {
      for (const event of page.Events ?? []) {
        try {
          const record = JSON.parse(event.CloudTrailEvent ?? '') as unknown;
          if (typeof record !== 'object' || record === null) throw new TypeError('not an object');
          const eventTime = event.EventTime?.getTime() ?? Date.parse(text(record, 'eventTime') ?? '');
          if (!Number.isFinite(eventTime)) throw new TypeError('no event time');
          records.push({ record: record as Record<string, unknown>, eventTime });
        } catch {
          unreadable++;
        }
      }
    }
  });
  return { records, unreadable };
}

/** The caller of a CloudTrail record: its ARN (or type), and the IAM user or role to look up. */
function callerOf(record: Record<string, unknown>): { arn: string; type: string; principal?: CreatingPrincipal } {
  const identity = record.userIdentity;
  const type = text(identity, 'type') ?? 'Unknown';
  const arn = text(identity, 'arn') ?? type;
  // Only principals of this account exist in its IAM: another account's are not ours to look up.
  const account = text(identity, 'accountId');
  const recipient = text(record, 'recipientAccountId');
  if (account !== undefined && recipient !== undefined && account !== recipient) return { arn, type };
  if (type === 'IAMUser') {
    const name = text(identity, 'userName') ?? arn.split('/').pop();
    return { arn, type, principal: name === undefined ? undefined : { kind: 'user', name, id: text(identity, 'principalId') } };
  }
  // A role session or a federated user: what exists in IAM is the role or user that issued the session.
  const issuerType = text(identity, 'sessionContext', 'sessionIssuer', 'type');
  const issuerName = text(identity, 'sessionContext', 'sessionIssuer', 'userName');
  if (issuerName !== undefined && (issuerType === 'Role' || issuerType === 'IAMUser')) {
    const id = text(identity, 'sessionContext', 'sessionIssuer', 'principalId');
    return { arn, type, principal: { kind: issuerType === 'Role' ? 'role' : 'user', name: issuerName, id } };
  }
  return { arn, type };
}

/**
 * Who created each access key in CloudTrail's event history (`CreateAccessKey` events of the last
 * 90 days, LookupEvents' limit), by access key id from the event's `responseElements`. Failed
 * calls (no response elements) create nothing and are skipped.
 */
export async function lookUpKeyCreators(
  cloudtrail: CloudTrailClient,
  now: number,
): Promise<{ creators: Map<string, KnownCreator>; unreadable: number }> {
  const { records, unreadable } = await lookUpEvents(cloudtrail, 'CreateAccessKey', now - EVENT_HISTORY_DAYS * DAY_MS, now);
  const creators = new Map<string, KnownCreator>();
  for (const { record, eventTime } of records) {
    const accessKeyId = text(record, 'responseElements', 'accessKey', 'accessKeyId');
    if (accessKeyId === undefined) continue;
    const caller = callerOf(record);
    creators.set(accessKeyId, {
      known: true,
      ...caller,
      at: iso(eventTime),
      sourceIp: text(record, 'sourceIPAddress'),
      userAgent: text(record, 'userAgent'),
      eventId: text(record, 'eventID'),
    });
  }
  return { creators, unreadable };
}

/**
 * The IAM changes CloudTrail recorded from `since` to `until` (default now): key creation, status
 * changes and deletion, new users, and policies attached to or put on users and roles
 * (`IAM_CHANGE_EVENTS`), failed attempts included, oldest first. One `LookupEvents` per event name
 * (it filters on one attribute), one after another: the API allows two calls a second per account
 * and region, and the client's retries absorb its throttling. The client must be in the region
 * where IAM's events are recorded (us-east-1 for the aws partition).
 */
export async function recentChanges(
  cloudtrail: CloudTrailClient,
  since: number,
  until: number = Date.now(),
): Promise<{ events: IamChange[]; unreadable: number }> {
  const events: IamChange[] = [];
  let unreadable = 0;
  for (const eventName of IAM_CHANGE_EVENTS) {
    const found = await lookUpEvents(cloudtrail, eventName, since, until);
    unreadable += found.unreadable;
    for (const { record, eventTime } of found.records) {
      const parameter = (name: string): string | undefined => text(record, 'requestParameters', name);
      events.push({
        eventName,
        at: iso(eventTime),
        actor: callerOf(record).arn,
        sourceIp: text(record, 'sourceIPAddress'),
        errorCode: text(record, 'errorCode'),
        eventId: text(record, 'eventID'),
        userName: parameter('userName') ?? text(record, 'responseElements', 'accessKey', 'userName'),
        roleName: parameter('roleName'),
        accessKeyId: parameter('accessKeyId') ?? text(record, 'responseElements', 'accessKey', 'accessKeyId'),
        status: parameter('status'),
        policyArn: parameter('policyArn'),
        policyName: parameter('policyName'),
      });
    }
  }
  events.sort((a, b) => a.at.localeCompare(b.at) || a.eventName.localeCompare(b.eventName));
  return { events, unreadable };
}

/** Every IAM user of the account (ListUsers, paginated). */
async function listUsers(iam: IAMClient): Promise<User[]> {
  return reading('IAM ListUsers', async () => {
    const users: User[] = [];
    for await (const page of paginateListUsers({ client: iam }, {})) users.push(...(page.Users ?? []));
    return users;
  });
}

/** The user's access keys; none when the user was deleted since it was listed. */
async function listKeys(iam: IAMClient, userName: string): Promise<AccessKeyMetadata[]> {
  try {
    const keys: AccessKeyMetadata[] = [];
    for await (const page of paginateListAccessKeys({ client: iam }, { UserName: userName })) keys.push(...(page.AccessKeyMetadata ?? []));
    return keys;
  } catch (error) {
    if (isNoSuchEntity(error)) return [];
    throw new InventoryError(`IAM ListAccessKeys for user ${userName} failed (${messageOf(error)})`, { cause: error });
  }
}

/** The key's last use; `null` when the key was deleted since it was listed. */
async function lastUsedOf(iam: IAMClient, accessKeyId: string, now: number): Promise<InventoryKey['lastUsed'] | null> {
  let used;
  try {
    ({ AccessKeyLastUsed: used } = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId })));
  } catch (error) {
    if (isNoSuchEntity(error)) return null;
    throw new InventoryError(`IAM GetAccessKeyLastUsed for ${accessKeyId} failed (${messageOf(error)})`, { cause: error });
  }
  if (used?.LastUsedDate === undefined) return undefined;
  // IAM answers "N/A" for the service and region of a key never used.
  const known = (value: string | undefined): string | undefined => (value === undefined || value === 'N/A' ? undefined : value);
  const at = used.LastUsedDate.getTime();
  return { at: iso(at), daysAgo: daysBetween(at, now), service: known(used.ServiceName), region: known(used.Region) };
}

/**
 * Whether the user or role that created a key still exists. The listed users answer for users
 * (GetUser confirms an absence, in case the user was created since); a role is looked up. A user
 * or role deleted and re-created under the same name has another unique id: the creator is gone.
 */
function makeExistenceCheck(iam: IAMClient, users: readonly User[]) {
  const listed = new Map(users.map((user) => [user.UserName, user.UserId]));
  const cache = new Map<string, Promise<{ exists: boolean; goneBecause?: string }>>();
  const check = async (principal: CreatingPrincipal): Promise<{ exists: boolean; goneBecause?: string }> => {
    let currentId: string | undefined = principal.kind === 'user' ? listed.get(principal.name) : undefined;
    if (currentId === undefined) {
      try {
        currentId =
          principal.kind === 'user'
            ? (await iam.send(new GetUserCommand({ UserName: principal.name }))).User?.UserId
            : (await iam.send(new GetRoleCommand({ RoleName: principal.name }))).Role?.RoleId;
      } catch (error) {
        if (isNoSuchEntity(error)) return { exists: false, goneBecause: 'no longer exists in IAM' };
        const call = principal.kind === 'user' ? 'GetUser' : 'GetRole';
        throw new InventoryError(`IAM ${call} for ${principal.name} failed (${messageOf(error)})`, { cause: error });
      }
    }
    if (principal.id !== undefined && currentId !== undefined && currentId !== principal.id) {
      return { exists: false, goneBecause: `was deleted and re-created under the same name (id ${principal.id}, now ${currentId})` };
    }
    return { exists: true };
  };
  return (principal: CreatingPrincipal) => {
    const key = `${principal.kind}/${principal.name}/${principal.id ?? ''}`;
    let found = cache.get(key);
    if (found === undefined) {
      found = check(principal);
      cache.set(key, found);
    }
    return found;
  };
}

/** The flags of one key; inactive keys get none. */
function flagsOf(key: Omit<InventoryKey, 'flags' | 'deactivateCommand'>, baselinesRead: boolean): KeyFlag[] {
  if (key.status !== 'Active') return [];
  const flags: KeyFlag[] = [];
  const age = key.ageDays === undefined ? 'active' : `active for ${key.ageDays} day${key.ageDays === 1 ? '' : 's'}`;
  if (key.lastUsed === undefined) {
    flags.push({ code: 'active-never-used', message: `${age} and never used: does anyone need it?` });
  } else if (key.lastUsed.daysAgo > UNUSED_DAYS) {
    const where = [key.lastUsed.service, key.lastUsed.region].filter(Boolean).join(' in ');
    flags.push({
      code: 'unused-90-days',
      message: `last used ${key.lastUsed.daysAgo} days ago (${key.lastUsed.at.slice(0, 10)}${where ? `, ${where}` : ''})`,
    });
  }
  if (key.creator.known && key.creator.exists === false) {
    const { principal, at, goneBecause } = key.creator;
    const who = principal === undefined ? key.creator.arn : `${principal.kind} ${principal.name}`;
    const that = principal === undefined ? 'that principal' : `that ${principal.kind}`;
    flags.push({ code: 'creator-gone', message: `created on ${at.slice(0, 10)} by ${who}; ${that} ${goneBecause}` });
  }
  if (baselinesRead && key.seenByKeysentry === undefined) {
    const s3 = key.lastUsed?.service === 's3' ? `, yet IAM says it last called S3 on ${key.lastUsed.at.slice(0, 10)}: is that bucket outside the trail's data events?` : '';
    flags.push({ code: 'not-in-baseline', message: `keysentry has never seen it touch S3${s3}` });
  }
  if (key.ageDays !== undefined && key.ageDays > OLD_KEY_DAYS) {
    flags.push({ code: 'old-key', message: `created ${key.ageDays} days ago (${key.createdAt?.slice(0, 10)}) and still active: rotate it` });
  }
  return flags;
}

function seenOf(baseline: Baseline | undefined): InventoryKey['seenByKeysentry'] {
  if (baseline === undefined) return undefined;
  return {
    firstSeen: iso(baseline.firstSeen),
    lastSeen: iso(baseline.lastSeen),
    activeDays: baseline.activeDays,
    buckets: Object.keys(baseline.buckets).sort(),
  };
}

const isHigh = (key: InventoryKey): boolean => key.flags.some((flag) => HIGH_SEVERITY_FLAGS.has(flag.code));

/** Flagged keys first (those with a high-severity flag before the rest, more flags first), then by user and key. */
function compareKeys(a: InventoryKey, b: InventoryKey): number {
  return (
    Number(b.flags.length > 0) - Number(a.flags.length > 0) ||
    Number(isHigh(b)) - Number(isHigh(a)) ||
    b.flags.length - a.flags.length ||
    a.userName.localeCompare(b.userName) ||
    a.accessKeyId.localeCompare(b.accessKeyId)
  );
}

/**
 * Builds the access-key inventory of the account: every IAM user's keys (ListUsers and
 * ListAccessKeys, paginated) with their creation date, status and last use (GetAccessKeyLastUsed:
 * date, service, region); who created each (CreateAccessKey events of CloudTrail's 90-day history,
 * "unknown (older than 90 days)" beyond it) and whether that user or role still exists; and
 * whether keysentry has a baseline of the key (`store.getBaselines`, by key id). Active keys are
 * flagged `active-never-used`, `unused-90-days`, `creator-gone`, `not-in-baseline` and `old-key`,
 * and sorted first. The last day's IAM changes (`recentChanges`) come with it. Read-only; a failed
 * IAM, CloudTrail or store call throws an `InventoryError`, a user or key deleted meanwhile is skipped.
 */
export async function buildKeyInventory(options: KeyInventoryOptions): Promise<KeyInventory> {
  const { iam, cloudtrail, store } = options;
  const now = options.now();
  const users = await listUsers(iam);
  const keysByUser = await mapConcurrently(users, IAM_CONCURRENCY, async (user) => ({
    user,
    keys: await listKeys(iam, user.UserName ?? ''),
  }));
  const listed = keysByUser.flatMap(({ user, keys }) => keys.map((key) => ({ user, key })));
  const lastUsed = await mapConcurrently(listed, IAM_CONCURRENCY, ({ key }) => lastUsedOf(iam, key.AccessKeyId ?? '', now));
  const { creators, unreadable: unreadableCreations } = await lookUpKeyCreators(cloudtrail, now);
  const keyIds = listed.map(({ key }) => key.AccessKeyId ?? '');
  const baselines =
    store === undefined
      ? undefined
      : await reading('reading keysentry baselines', () => store.getBaselines(keyIds));
  const exists = makeExistenceCheck(iam, users);

  const keys: InventoryKey[] = [];
  for (const [index, { user, key }] of listed.entries()) {
    const used = lastUsed[index];
    if (used === null) continue;
    const accessKeyId = key.AccessKeyId ?? '';
    const created = key.CreateDate?.getTime();
    let creator: KeyCreator = creators.get(accessKeyId) ?? {
      known: false,
      reason: created !== undefined && created >= now - EVENT_HISTORY_DAYS * DAY_MS ? 'no-event' : 'older-than-90-days',
    };
    if (creator.known && creator.principal !== undefined) creator = { ...creator, ...(await exists(creator.principal)) };
    const base = {
      userName: user.UserName ?? '',
      userArn: user.Arn,
      accessKeyId,
      status: key.Status === 'Inactive' ? ('Inactive' as const) : ('Active' as const),
      createdAt: created === undefined ? undefined : iso(created),
      ageDays: created === undefined ? undefined : daysBetween(created, now),
      lastUsed: used,
      creator,
      seenByKeysentry: seenOf(baselines?.get(accessKeyId)),
    };
    keys.push({
      ...base,
      flags: flagsOf(base, baselines !== undefined),
      deactivateCommand: deactivateAccessKey.manualCommand({ kind: 'deactivate-access-key', incidentId: '', accessKeyId, userName: base.userName }),
    });
  }
  keys.sort(compareKeys);

  const since = now - (options.changesWindowMs ?? DAY_MS);
  const changes = await recentChanges(cloudtrail, since, now);
  return {
    generatedAt: iso(now),
    users: users.length,
    keys,
    baselinesRead: baselines !== undefined,
    changes: { since: iso(since), until: iso(now), events: changes.events },
    unreadableEvents: unreadableCreations + changes.unreadable,
  };
}

// --- rendering --------------------------------------------------------------------------------

/** The creator in a table cell. */
export function describeKeyCreator(creator: KeyCreator): string {
  if (!creator.known) return creator.reason === 'older-than-90-days' ? `unknown (older than ${EVENT_HISTORY_DAYS} days)` : 'unknown (no CreateAccessKey event found)';
  const who = creator.principal === undefined ? creator.arn : `${creator.principal.kind === 'role' ? 'role ' : ''}${creator.principal.name}`;
  return creator.exists === false ? `${who} (gone)` : who;
}

/** How many keys carry each flag, most urgent first; flags no key carries are left out. */
export function countFlags(report: KeyInventory): Array<{ code: KeyFlagCode; keys: number }> {
  return (Object.keys(FLAG_WORDS) as KeyFlagCode[])
    .map((code) => ({ code, keys: report.keys.filter((key) => key.flags.some((flag) => flag.code === code)).length }))
    .filter((count) => count.keys > 0);
}

function table(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
}

function describeChange(change: IamChange): string {
  const target = [
    change.userName === undefined ? undefined : `user ${change.userName}`,
    change.roleName === undefined ? undefined : `role ${change.roleName}`,
    change.accessKeyId === undefined ? undefined : `key ${change.accessKeyId}`,
    change.status === undefined ? undefined : `-> ${change.status}`,
    change.policyArn ?? (change.policyName === undefined ? undefined : `policy ${change.policyName}`),
  ].filter(Boolean);
  const failed = change.errorCode === undefined ? '' : `  FAILED (${change.errorCode})`;
  const from = change.sourceIp === undefined ? '' : ` from ${change.sourceIp}`;
  return `${change.at.replace('T', ' ').replace('Z', '')}  ${change.eventName.padEnd(16)}  ${target.join(' ')}  by ${change.actor}${from}${failed}`;
}

/**
 * Renders the inventory as text for a terminal or an e-mail: a heading with the counts, one table
 * of every key (user, key id, status, created, last used, creator, keysentry's sighting) with the
 * flagged keys first, each followed by its reasons in words and the `aws iam update-access-key …
 * --status Inactive` command that disables it; then the last day's IAM changes.
 */
export function formatKeyInventory(report: KeyInventory): string {
  const flagged = report.keys.filter((key) => key.flags.length > 0);
  const heading = `keysentry access keys, ${report.generatedAt.replace('T', ' ').replace('Z', ' UTC')}: ${report.keys.length} key${report.keys.length === 1 ? '' : 's'} of ${report.users} user${report.users === 1 ? '' : 's'}, ${flagged.length} flagged`;
  const lines = [heading, ''];
  const header = ['USER', 'ACCESS KEY', 'STATUS', 'CREATED', 'LAST USED', 'CREATED BY', 'KEYSENTRY'];
  const rows = report.keys.map((key) => [
    key.userName,
    key.accessKeyId,
    key.status,
    key.createdAt?.slice(0, 10) ?? '?',
    key.lastUsed === undefined ? 'never' : `${key.lastUsed.at.slice(0, 10)} ${key.lastUsed.service ?? ''}`.trim(),
    describeKeyCreator(key.creator),
    !report.baselinesRead ? '-' : key.seenByKeysentry === undefined ? 'never seen' : `seen ${key.seenByKeysentry.activeDays} day${key.seenByKeysentry.activeDays === 1 ? '' : 's'}`,
  ]);
  const [head, ...body] = table([header, ...rows]);
  if (report.keys.length === 0) lines.push('No access keys.');
  else {
    lines.push(head ?? '');
    report.keys.forEach((key, index) => {
      if (index === flagged.length && flagged.length > 0) lines.push('');
      lines.push(body[index] ?? '');
      if (key.flags.length === 0) return;
      const width = Math.max(...key.flags.map((flag) => flag.code.length));
      for (const flag of key.flags) lines.push(`    ${flag.code.padEnd(width)}  ${flag.message}`);
      lines.push(`    to disable it: ${key.deactivateCommand}`);
    });
  }
  if (!report.baselinesRead) lines.push('', 'keysentry baselines not read (no state table): not-in-baseline was not checked.');
  lines.push('', `IAM CHANGES ${report.changes.since.replace('T', ' ').replace('Z', '')} .. ${report.changes.until.replace('T', ' ').replace('Z', ' UTC')}`);
  if (report.changes.events.length === 0) lines.push('  none');
  for (const change of report.changes.events) lines.push(`  ${describeChange(change)}`);
  if (report.unreadableEvents > 0) lines.push('', `${report.unreadableEvents} CloudTrail event(s) could not be read and were left out.`);
  return `${lines.join('\n')}\n`;
}

/** The inventory as an SNS page: one message per protocol, and the attributes subscriptions filter on. */
export interface InventoryPage {
  severity: 'high' | 'info';
  subject: string;
  sms: string;
  email: string;
  publish: PublishInput;
}

/** SNS takes 256 KB per message, every protocol's form included: each long form gets at most this. */
const LONG_FORM_MAX_BYTES = 100_000;

function fitLongForm(body: string): string {
  if (Buffer.byteLength(body) <= LONG_FORM_MAX_BYTES) return body;
  const note = '\n... cut to fit one SNS message: `keysentry keys` prints the whole inventory.\n';
  let cut = body;
  while (Buffer.byteLength(cut) + note.length > LONG_FORM_MAX_BYTES) cut = cut.slice(0, Math.floor(cut.length * 0.9));
  return cut.slice(0, cut.lastIndexOf('\n') + 1) + note;
}

/**
 * Composes the daily inventory page for an SNS publish with `MessageStructure: 'json'`: `sms`
 * (one GSM-7 line of at most 160 characters: `keysentry keys: 2 flagged (1 active never used, 1
 * creator gone)`), `email` and `default` (the `formatKeyInventory` text, cut to fit SNS's size
 * limit), and attributes `severity` (`high` when a key is flagged `active-never-used` or
 * `creator-gone`, else `info`) and `action` = `inventory`.
 */
export function composeInventoryPage(report: KeyInventory): InventoryPage {
  const flagged = report.keys.filter((key) => key.flags.length > 0).length;
  const severity = report.keys.some(isHigh) ? 'high' : 'info';
  const counts = countFlags(report).map(({ code, keys }) => `${keys} ${FLAG_WORDS[code]}`);
  const changes = report.changes.events.length;
  const summary =
    flagged === 0 ? `${report.keys.length} keys, none flagged` : `${flagged} flagged (${counts.join(', ')})`;
  const changed = changes === 0 ? '' : `; ${changes} IAM change${changes === 1 ? '' : 's'} in the last day`;
  const line = toGsmText(`keysentry keys: ${summary}${changed}`);
  const sms = line.length <= SMS_MAX ? line : `${line.slice(0, SMS_MAX - 2)}..`;
  const email = fitLongForm(formatKeyInventory(report));
  // SNS e-mail subjects: ASCII, one line, under 100 characters.
  const subject = `[keysentry] access keys: ${flagged === 0 ? 'none flagged' : `${flagged} flagged`}`;
  return {
    severity,
    subject,
    sms,
    email,
    publish: publishInput(subject, { default: email, email, sms }, { severity, action: 'inventory' }),
  };
}
