import type { Identity, IdentityType } from './access-event.ts';
import type { Score } from './scoring.ts';

export type Action = 'none' | 'page' | 'contain';

/** When to page, when to contain, and who is never contained. */
export interface Policy {
  pageThreshold: number;
  containThreshold: number;
  /** Page "would have contained" instead of acting. */
  dryRun: boolean;
  /** ARNs, user names, role names or access key ids never contained; `*` matches any run of characters. */
  protectedPrincipals: string[];
  /** The detector's own roles: never contained, whatever the configuration says. */
  ownRoles: string[];
  /** Repeats of the same actor within this many minutes update its incident instead of opening another. */
  cooldownMinutes: number;
}

export const DEFAULT_POLICY: Policy = {
  pageThreshold: 50,
  containThreshold: 75,
  dryRun: false,
  protectedPrincipals: [],
  ownRoles: ['*keysentry*'],
  cooldownMinutes: 60,
};

/** Why a contain-level score only pages. */
export type ContainmentBlock = 'protected' | 'own-role' | 'not-containable' | 'dry-run';

export interface Decision {
  action: Action;
  /** Set when the score reached the contain threshold but the action is a page. */
  blockedBy?: ContainmentBlock;
}

const CONTAINABLE: ReadonlySet<IdentityType> = new Set(['iam-user-key', 'iam-user-temporary', 'assumed-role']);

function matchesPattern(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (!pattern.includes('*')) return pattern === value;
  const regex = new RegExp(`^${pattern.split('*').map(escapeRegex).join('.*')}$`, 'i');
  return regex.test(value);
}
const escapeRegex = (text: string): string => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** Whether any of the identity's names (ARN, role, user, key, principal) matches one of the patterns. */
export function matchesAny(patterns: readonly string[], identity: Identity): boolean {
  const names = [identity.principal, identity.arn, identity.roleArn, identity.roleName, identity.userName, identity.accessKeyId];
  return patterns.some((pattern) => names.some((name) => matchesPattern(pattern, name)));
}

/**
 * Turns a score into an action. A contain-level score on a protected principal, on the
 * detector's own roles, on a caller no key can stop (anonymous, cross-account, an AWS service,
 * root) or in dry-run mode becomes a page that says why it did not contain.
 */
export function decideAction(score: Score, identity: Identity, policy: Policy): Decision {
  if (score.score < policy.pageThreshold) return { action: 'none' };
  if (score.score < policy.containThreshold) return { action: 'page' };
  if (matchesAny(policy.ownRoles, identity)) return { action: 'page', blockedBy: 'own-role' };
  if (matchesAny(policy.protectedPrincipals, identity)) return { action: 'page', blockedBy: 'protected' };
  if (!CONTAINABLE.has(identity.type)) return { action: 'page', blockedBy: 'not-containable' };
  if (policy.dryRun) return { action: 'page', blockedBy: 'dry-run' };
  return { action: 'contain' };
}
