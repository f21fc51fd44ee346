import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { AccessKeyMetadata, IAMClient, User } from '@aws-sdk/client-iam';
import type { Baseline } from '../domain/baseline.ts';
import { deactivateAccessKey } from '../aws/containment.ts';
import { messageOf } from '../domain/errors.ts';
import type { BaselineStore } from '../store/store.ts';
import { lookUpKeyCreators, recentChanges } from './key-inventory/cloudtrail-reads.ts';
import { readCredentialReport, ROOT_ROW, type CredentialReportRow, type ReportedKey } from './key-inventory/credential-report.ts';
import { flagKey } from './key-inventory/flag-rules.ts';
import { daysBetween, iso, lastUsedOf, listKeys, listUsers, makeExistenceCheck, mapConcurrently, reading } from './key-inventory/iam-reads.ts';
import { isHighKey } from './key-inventory/inventory-page.ts';
import { EVENT_HISTORY_DAYS, type InventoryKey, type KeyCreator, type KeyInventory, type KnownCreator } from './key-inventory/inventory-types.ts';
import { DAY_MS } from '../domain/duration.ts';

export * from './key-inventory/inventory-types.ts';
export { FLAG_RULES, NEW_KEY_GRACE_DAYS, OLD_KEY_DAYS, UNUSED_DAYS, type FlagRule } from './key-inventory/flag-rules.ts';
export { IAM_CHANGE_EVENTS, lookUpKeyCreators, recentChanges } from './key-inventory/cloudtrail-reads.ts';
export { parseCredentialReport } from './key-inventory/credential-report.ts';
export { countFlags, describeKeyCreator, formatKeyInventory } from './key-inventory/inventory-format.ts';
export { composeInventoryPage, isHighKey, publishInventory, type InventoryPage } from './key-inventory/inventory-page.ts';


/**
 * Every AWS action the inventory calls, all reads: serverless.yml grants the inventory function
 * exactly these (a test compares), and nothing that could change a key.
 */
export const INVENTORY_PERMISSIONS = [
  'iam:ListUsers',
  'iam:ListAccessKeys',
  'iam:GetAccessKeyLastUsed',
  'iam:GenerateCredentialReport',
  'iam:GetCredentialReport',
  'iam:GetUser',
  'iam:GetRole',
  'cloudtrail:LookupEvents',
] as const;

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
  /** Waits between polls of a credential report IAM is still generating (tests pass a no-op). */
  sleep?: (ms: number) => Promise<void>;
}

/** Requests to IAM in flight at once: enough for a few hundred users, below IAM's throttling. */
const IAM_CONCURRENCY = 4;

/** Flagged keys first (those with a high-severity flag before the rest, more flags first), then by user and key. */
function compareKeys(a: InventoryKey, b: InventoryKey): number {
  return (
    Number(b.flags.length > 0) - Number(a.flags.length > 0) ||
    Number(isHighKey(b)) - Number(isHighKey(a)) ||
    b.flags.length - a.flags.length ||
    a.userName.localeCompare(b.userName) ||
    a.accessKeyId.localeCompare(b.accessKeyId)
  );
}

function seenOf(baseline: Baseline | undefined): InventoryKey['seenByKeysentry'] {
  if (baseline === undefined) return undefined;
  return { firstSeen: iso(baseline.firstSeen), lastSeen: iso(baseline.lastSeen), activeDays: baseline.activeDays, buckets: Object.keys(baseline.buckets).sort() };
}

/** A reported key slot's last use, as the inventory shows it. */
const lastUseOfSlot = (slot: ReportedKey, now: number): InventoryKey['lastUsed'] =>
  slot.lastUsed === undefined
    ? undefined
    : { at: iso(slot.lastUsed), daysAgo: daysBetween(slot.lastUsed, now), service: slot.lastUsedService, region: slot.lastUsedRegion };

/**
 * The credential report's slot of a listed key: the report names no key ids, so a key is its
 * user's slot created (last rotated) in the same second. `undefined` when none matches.
 */
function slotOf(row: CredentialReportRow | undefined, key: AccessKeyMetadata): ReportedKey | undefined {
  const created = key.CreateDate?.getTime();
  if (row === undefined || created === undefined) return undefined;
  return row.keys.find((slot) => slot.lastRotated !== undefined && Math.abs(slot.lastRotated - created) < 1_000);
}

/** The root user's active keys from the credential report: ids unknown to anyone but root. */
function rootKeys(rows: readonly CredentialReportRow[], now: number): Array<Omit<InventoryKey, 'flags' | 'deactivateCommand'>> {
  const root = rows.find((row) => row.user === ROOT_ROW);
  if (root === undefined) return [];
  return root.keys.flatMap((slot, index) =>
    slot.active
      ? [
          {
            userName: ROOT_ROW,
            userArn: root.arn,
            isRoot: true,
            accessKeyId: `root key ${index + 1}`,
            status: 'Active' as const,
            createdAt: slot.lastRotated === undefined ? undefined : iso(slot.lastRotated),
            ageDays: slot.lastRotated === undefined ? undefined : daysBetween(slot.lastRotated, now),
            lastUsed: lastUseOfSlot(slot, now),
            creator: { known: false, reason: 'no-event' } as const,
          },
        ]
      : [],
  );
}

/** Why a read failed, in one line: an SDK error's first line (an endpoint without the API answers a whole HTML page). */
function reasonOf(error: unknown): string {
  const line = messageOf((error as { cause?: unknown }).cause ?? error).split('\n')[0] ?? '';
  return line.length <= 160 ? line : `${line.slice(0, 157)}...`;
}

/** Reads CloudTrail's event history, or says why it could not: the inventory goes on without it. */
async function readCreators(cloudtrail: CloudTrailClient, now: number): Promise<{ creators: Map<string, KnownCreator>; unreadable: number; failure?: string }> {
  try {
    return await lookUpKeyCreators(cloudtrail, now);
  } catch (error) {
    return { creators: new Map(), unreadable: 0, failure: reasonOf(error) };
  }
}

/**
 * Builds the access-key inventory of the account: every IAM user's keys (ListUsers and
 * ListAccessKeys, paginated) with creation date and status; last use from the IAM credential
 * report (one document for every user, and the only way to see the root user's keys), or from
 * GetAccessKeyLastUsed per key when the report cannot be read or a key is not in it; who created
 * each (CreateAccessKey events of CloudTrail's 90-day history) and whether that user or role still
 * exists; whether keysentry has a baseline of the key. Active keys are flagged by `FLAG_RULES` and
 * sorted first. The last day's IAM changes come with it. Without CloudTrail (no
 * `cloudtrail:LookupEvents`, or an endpoint that lacks it) every key is still listed, creators
 * "unknown" and the reason in `cloudTrail`. Read-only; a failed IAM or store call throws an
 * `InventoryError`, a user or key deleted meanwhile is skipped.
 */
export async function buildKeyInventory(options: KeyInventoryOptions): Promise<KeyInventory> {
  const { iam, cloudtrail, store } = options;
  const now = options.now();
  const users: User[] = await listUsers(iam);
  const keysByUser = await mapConcurrently(users, IAM_CONCURRENCY, async (user) => ({ user, keys: await listKeys(iam, user.UserName ?? '') }));
  const listed = keysByUser.flatMap(({ user, keys }) => keys.map((key) => ({ user, key })));
  let report: CredentialReportRow[] | undefined;
  let credentialReportError: string | undefined;
  try {
    report = await readCredentialReport(iam, options.sleep);
  } catch (error) {
    credentialReportError = reasonOf(error);
  }
  const rows = new Map((report ?? []).map((row) => [row.user, row]));
  const lastUsed = await mapConcurrently(listed, IAM_CONCURRENCY, async ({ user, key }) => {
    const slot = slotOf(rows.get(user.UserName ?? ''), key);
    // A use the report dates without its service and region is asked of IAM key by key, as is a key the report lacks.
    const complete = slot !== undefined && (slot.lastUsed === undefined || slot.lastUsedService !== undefined);
    return complete ? lastUseOfSlot(slot, now) : lastUsedOf(iam, key.AccessKeyId ?? '', now);
  });
  const { creators, unreadable: unreadableCreations, failure } = await readCreators(cloudtrail, now);
  const baselines = store === undefined ? undefined : await reading('reading keysentry baselines', () => store.getBaselines(listed.map(({ key }) => key.AccessKeyId ?? '')));
  const exists = makeExistenceCheck(iam, users);

  const bases: Array<Omit<InventoryKey, 'flags' | 'deactivateCommand'>> = [];
  for (const [index, { user, key }] of listed.entries()) {
    const used = lastUsed[index];
    if (used === null) continue;
    const accessKeyId = key.AccessKeyId ?? '';
    const created = key.CreateDate?.getTime();
    let creator: KeyCreator = creators.get(accessKeyId) ?? {
      known: false,
      reason: failure !== undefined ? 'lookup-failed' : created !== undefined && created >= now - EVENT_HISTORY_DAYS * DAY_MS ? 'no-event' : 'older-than-90-days',
    };
    if (creator.known && creator.principal !== undefined) creator = { ...creator, ...(await exists(creator.principal)) };
    bases.push({
      userName: user.UserName ?? '',
      userArn: user.Arn,
      accessKeyId,
      status: key.Status === 'Inactive' ? 'Inactive' : 'Active',
      createdAt: created === undefined ? undefined : iso(created),
      ageDays: created === undefined ? undefined : daysBetween(created, now),
      lastUsed: used,
      creator,
      seenByKeysentry: seenOf(baselines?.get(accessKeyId)),
    });
  }
  bases.push(...rootKeys(report ?? [], now));
  const activeByUser = new Map<string, number>();
  for (const base of bases) if (base.status === 'Active') activeByUser.set(base.userName, (activeByUser.get(base.userName) ?? 0) + 1);
  const keys: InventoryKey[] = bases.map((base) => ({
    ...base,
    flags: flagKey(base, { baselinesRead: baselines !== undefined, activeKeysOfUser: activeByUser.get(base.userName) ?? 0 }),
    deactivateCommand: base.isRoot
      ? 'signed in as the root user: aws iam list-access-keys, then aws iam delete-access-key --access-key-id with the id it lists'
      : deactivateAccessKey.manualCommand({ kind: 'deactivate-access-key', incidentId: '', accessKeyId: base.accessKeyId, userName: base.userName }),
  }));
  keys.sort(compareKeys);

  const since = now - (options.changesWindowMs ?? DAY_MS);
  const changes = failure === undefined ? await recentChanges(cloudtrail, since, now).catch((error: unknown) => ({ failure: reasonOf(error) })) : { failure };
  const changeFailure = 'failure' in changes ? changes.failure : undefined;
  return {
    generatedAt: iso(now),
    users: users.length,
    keys,
    baselinesRead: baselines !== undefined,
    changes: { since: iso(since), until: iso(now), events: 'events' in changes ? changes.events : [] },
    unreadableEvents: unreadableCreations + ('unreadable' in changes ? changes.unreadable : 0),
    cloudTrail: changeFailure === undefined ? { available: true } : { available: false, reason: changeFailure },
    lastUseFrom: report === undefined ? 'get-access-key-last-used' : 'credential-report',
    ...(credentialReportError === undefined ? {} : { credentialReportError }),
  };
}
