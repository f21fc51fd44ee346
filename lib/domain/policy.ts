import type { Identity, IdentityType } from './access-event.ts';
import type { Score } from './scoring.ts';

export type Action = 'none' | 'page' | 'contain';

/** When to page, when to contain, and who is never contained. */
export interface Policy {
  pageThreshold: number;
  containThreshold: number;
  /** Page "would have contained" instead of acting. */
  dryRun: boolean;
  /**
   * Principal ARNs (an IAM user's, a role's) or access key ids never contained; `*` matches any run
   * of characters. Matched only against what the caller cannot choose (see `exemptionNamesOf`).
   */
  protectedPrincipals: string[];
  /** The ARNs of the detector's own roles (the stack's function roles): never contained. */
  ownRoleArns: string[];
  /**
   * The accounts containment may act in (the deployment's). A caller of any other account, or one
   * whose record does not prove its account, is never contained. Empty: no account is known
   * (a replay without a deployment), and the account is not checked.
   */
  accounts: string[];
  /**
   * The records were not shown to come from AWS (a log file CloudTrail's signed digest has not
   * vouched for yet): a contain-level score pages "unverified evidence" and nothing is contained.
   */
  unverifiedEvidence?: boolean;
  /** Repeats of the same actor within this many minutes update its incident instead of opening another. */
  cooldownMinutes: number;
}

export const DEFAULT_POLICY: Policy = {
  pageThreshold: 50,
  containThreshold: 75,
  dryRun: false,
  protectedPrincipals: [],
  ownRoleArns: [],
  accounts: [],
  cooldownMinutes: 60,
};

/** Why a contain-level score only pages. */
export type ContainmentBlock =
  | 'protected'
  | 'own-role'
  | 'foreign-account'
  | 'not-containable'
  | 'unverified-evidence'
  | 'dry-run';

export interface Decision {
  action: Action;
  /** Set when the score reached the contain threshold but the action is a page. */
  blockedBy?: ContainmentBlock;
}

/** The identity types an IAM change can stop: an IAM user's key or sessions, a role session. */
export const CONTAINABLE_TYPES: ReadonlySet<IdentityType> = new Set(['iam-user-key', 'iam-user-temporary', 'assumed-role']);

function matchesPattern(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (!pattern.includes('*')) return pattern === value;
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`);
  return regex.test(value);
}
const escapeRegex = (text: string): string => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

const IAM_ARN = /^arn:aws[\w-]*:iam::(\d{12}):(user|role)\/.+$/;
/** A principal ARN (`*` allowed) or an access key id: never a bare name, which a session could carry. */
const PRINCIPAL_PATTERN = /^((arn:aws[\w*-]*:iam::[\d*]*|\*):(user|role|\*)\/.+|A[KS]IA[A-Z0-9*]+)$/;

/** Whether a protected-principal pattern can be honoured: a user or role ARN, or an access key id. */
export const isPrincipalPattern = (pattern: string): boolean => PRINCIPAL_PATTERN.test(pattern);

/**
 * The ARN of the IAM entity behind the call: the IAM user (its own calls, its GetSessionToken and
 * GetFederationToken sessions) or the role of a role session (`sessionContext.sessionIssuer.arn`).
 * Nobody chooses it without IAM write access; the session ARN is not it, because its last part is
 * the session name the caller picked.
 */
export function principalArnOf(identity: Identity): string | undefined {
  const wanted = identity.type === 'assumed-role' ? 'role' : 'user';
  const candidates = identity.type === 'assumed-role' ? [identity.roleArn] : [identity.userArn, identity.arn];
  // The principal is the same ARN when the record named one (an `sts::` session ARN never matches).
  for (const arn of [...candidates, identity.principal]) {
    if (arn !== undefined) return IAM_ARN.exec(arn)?.[2] === wanted ? arn : undefined;
  }
  return undefined;
}

/**
 * What an exemption may match: the principal ARN and the access key id. Both are AWS's, not the
 * caller's: session names, user agents, source addresses and request parameters are never here.
 */
export function exemptionNamesOf(identity: Identity): string[] {
  return [principalArnOf(identity), identity.accessKeyId, identity.longTermKey].filter((name): name is string => name !== undefined);
}

/** Whether the identity's principal ARN or key id matches one of the patterns. */
export function matchesAny(patterns: readonly string[], identity: Identity): boolean {
  const names = exemptionNamesOf(identity);
  return patterns.some((pattern) => names.some((name) => matchesPattern(pattern, name)));
}

/** Whether the call was made by one of the detector's own roles: its role ARN, exactly. */
export function isOwnRole(ownRoleArns: readonly string[], identity: Identity): boolean {
  const arn = identity.type === 'assumed-role' ? principalArnOf(identity) : undefined;
  return arn !== undefined && ownRoleArns.includes(arn);
}

/**
 * The account the caller belongs to, when the record proves it: the account of its principal ARN,
 * which must agree with `userIdentity.accountId` when that is present. `undefined` when the two
 * disagree or there is no principal ARN.
 */
export function accountOf(identity: Identity): string | undefined {
  const arn = principalArnOf(identity);
  const fromArn = arn === undefined ? undefined : IAM_ARN.exec(arn)?.[1];
  if (fromArn === undefined) return undefined;
  return identity.accountId === undefined || identity.accountId === fromArn ? fromArn : undefined;
}

/**
 * Why the identity must not be contained, before any question of score: the detector's own
 * roles, a protected principal, a caller of another account (or one whose account the record does
 * not prove), or a caller no IAM change can stop (anonymous, an AWS service, root, web or SAML
 * federation). `undefined` when containing it is allowed. The responder asks this again before it
 * acts, because it is the one holding the IAM write permissions.
 */
export function checkExempt(
  identity: Identity,
  guard: Pick<Policy, 'ownRoleArns' | 'protectedPrincipals' | 'accounts'>,
): ContainmentBlock | undefined {
  if (isOwnRole(guard.ownRoleArns, identity)) return 'own-role';
  if (matchesAny(guard.protectedPrincipals, identity)) return 'protected';
  if (!CONTAINABLE_TYPES.has(identity.type)) return identity.type === 'cross-account' ? 'foreign-account' : 'not-containable';
  if (guard.accounts.length > 0) {
    const account = accountOf(identity);
    if (account === undefined || !guard.accounts.includes(account)) return 'foreign-account';
  }
  return undefined;
}

/**
 * Turns a score into an action. A contain-level score on one of the detector's own roles, a
 * protected principal, a caller of another account, a caller no key can stop, on evidence not
 * shown to come from AWS, or in dry-run mode becomes a page that says why it did not contain.
 */
export function decideAction(score: Score, identity: Identity, policy: Policy): Decision {
  if (score.score < policy.pageThreshold) return { action: 'none' };
  if (score.score < policy.containThreshold) return { action: 'page' };
  const blockedBy = checkExempt(identity, policy);
  if (blockedBy !== undefined) return { action: 'page', blockedBy };
  if (policy.unverifiedEvidence === true) return { action: 'page', blockedBy: 'unverified-evidence' };
  if (policy.dryRun) return { action: 'page', blockedBy: 'dry-run' };
  return { action: 'contain' };
}
