import type { InventoryKey, KeyFlag, KeyFlagCode } from './inventory-types.ts';

/** A key created within this many days is new: never used yet is expected, not suspicious. */
export const NEW_KEY_GRACE_DAYS = 7;
/** A key last used longer ago than this is flagged `unused-90-days`. */
export const UNUSED_DAYS = 90;
/** An active key created longer ago than this is flagged `old-key`. */
export const OLD_KEY_DAYS = 365;

/** What a rule sees besides the key: the user's other keys and whether keysentry's baselines were read. */
export interface FlagContext {
  baselinesRead: boolean;
  /** Active keys of the same user, this one included. */
  activeKeysOfUser: number;
}

/** One flag rule: a code, its words in a report, whether it pages `high`, and when it applies to an active key. */
export interface FlagRule {
  code: KeyFlagCode;
  words: string;
  high: boolean;
  flag(key: Omit<InventoryKey, 'flags' | 'deactivateCommand'>, context: FlagContext): string | undefined;
}

const days = (count: number): string => `${count} day${count === 1 ? '' : 's'}`;

/** The root user holds an access key: it can do anything in the account and cannot be limited by any policy. */
export const rootAccessKey: FlagRule = {
  code: 'root-access-key',
  words: 'root access key',
  high: true,
  flag: (key) =>
    key.isRoot ? 'the root user has an active access key: nothing limits what it can do; delete it, signed in as the root user' : undefined,
};

/** Active for a week or more and never used: nobody seems to need it, and a leak of it would go unnoticed. */
export const activeNeverUsed: FlagRule = {
  code: 'active-never-used',
  words: 'active never used',
  high: true,
  flag: (key) => {
    if (key.lastUsed !== undefined) return undefined;
    if (key.ageDays !== undefined && key.ageDays < NEW_KEY_GRACE_DAYS) return undefined;
    return `${key.ageDays === undefined ? 'active' : `active for ${days(key.ageDays)}`} and never used: does anyone need it?`;
  },
};

/** The user or role that created the key no longer exists: whoever owned it has likely left. */
export const creatorGone: FlagRule = {
  code: 'creator-gone',
  words: 'creator gone',
  high: true,
  flag: (key) => {
    if (!key.creator.known || key.creator.exists !== false) return undefined;
    const { principal, at, goneBecause } = key.creator;
    const who = principal === undefined ? key.creator.arn : `${principal.kind} ${principal.name}`;
    const that = principal === undefined ? 'that principal' : `that ${principal.kind}`;
    return `created on ${at.slice(0, 10)} by ${who}; ${that} ${goneBecause}`;
  },
};

/** Not used for three months. */
export const unused90Days: FlagRule = {
  code: 'unused-90-days',
  words: `unused ${UNUSED_DAYS}+ days`,
  high: false,
  flag: (key) => {
    if (key.lastUsed === undefined || key.lastUsed.daysAgo <= UNUSED_DAYS) return undefined;
    const where = [key.lastUsed.service, key.lastUsed.region].filter(Boolean).join(' in ');
    return `last used ${key.lastUsed.daysAgo} days ago (${key.lastUsed.at.slice(0, 10)}${where ? `, ${where}` : ''})`;
  },
};

/** Both of a user's key slots active: usually a rotation that left the old key working. */
export const twoActiveKeys: FlagRule = {
  code: 'two-active-keys',
  words: 'user has two active keys',
  high: false,
  flag: (key, context) =>
    context.activeKeysOfUser >= 2 && !key.isRoot ? `${key.userName} has ${context.activeKeysOfUser} active keys: did a rotation leave the old one working?` : undefined,
};

/** keysentry never saw the key touch the protected buckets. */
export const notInBaseline: FlagRule = {
  code: 'not-in-baseline',
  words: 'not in baseline',
  high: false,
  flag: (key, context) => {
    if (!context.baselinesRead || key.seenByKeysentry !== undefined || key.isRoot) return undefined;
    const s3 = key.lastUsed?.service === 's3' ? `, yet IAM says it last called S3 on ${key.lastUsed.at.slice(0, 10)}: is that bucket outside the trail's data events?` : '';
    return `keysentry has never seen it touch S3${s3}`;
  },
};

/** Older than a year and still active: due for rotation. */
export const oldKey: FlagRule = {
  code: 'old-key',
  words: 'older than a year',
  high: false,
  flag: (key) =>
    key.ageDays !== undefined && key.ageDays > OLD_KEY_DAYS ? `created ${key.ageDays} days ago (${key.createdAt?.slice(0, 10)}) and still active: rotate it` : undefined,
};

/** The rules, in the order reports list their flags. */
export const FLAG_RULES: readonly FlagRule[] = [rootAccessKey, activeNeverUsed, creatorGone, unused90Days, twoActiveKeys, notInBaseline, oldKey];

/** The flags of one key, rule by rule; inactive keys get none (they sign nothing until someone re-enables them). */
export function flagKey(key: Omit<InventoryKey, 'flags' | 'deactivateCommand'>, context: FlagContext): KeyFlag[] {
  if (key.status !== 'Active') return [];
  return FLAG_RULES.flatMap((rule) => {
    const message = rule.flag(key, context);
    return message === undefined ? [] : [{ code: rule.code, message }];
  });
}
