/** The access-key inventory as data: what IAM, CloudTrail and keysentry know of every key. */

/** How far back CloudTrail's event history (`LookupEvents`) reaches; older creations are unknown. */
export const EVENT_HISTORY_DAYS = 90;
/** Why a key deserves a look. */
export type KeyFlagCode = 'root-access-key' | 'active-never-used' | 'creator-gone' | 'unused-90-days' | 'two-active-keys' | 'not-in-baseline' | 'old-key';

/** One reason, as data: the renderers and the SMS count the codes and quote the messages. */
export interface KeyFlag {
  code: KeyFlagCode;
  message: string;
}

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
  /** Beyond the 90-day history, no event names the key, or the history could not be read (see `KeyInventory.cloudTrail`). */
  reason: 'older-than-90-days' | 'no-event' | 'lookup-failed';
}

export type KeyCreator = KnownCreator | UnknownCreator;

/** One access key of one IAM user, with what IAM, CloudTrail and keysentry know of it. */
export interface InventoryKey {
  userName: string;
  /** The account's root user (from the credential report): its key ids are not listed to anyone but root. */
  isRoot?: boolean;
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
  /** Whether CloudTrail's event history could be read; without it creators are unknown and changes absent, everything else listed. */
  cloudTrail: { available: true } | { available: false; reason: string };
  /** Where last use and root keys came from: the IAM credential report, or a call per key when it could not be read. */
  lastUseFrom: 'credential-report' | 'get-access-key-last-used';
  /** Why the credential report could not be read, when it could not. */
  credentialReportError?: string;
}

