import { describe, expect, it } from 'vitest';
import type { Identity } from '../lib/domain/access-event.ts';
import { resolveIdentity, type UserIdentityRecord } from '../lib/domain/identity.ts';
import { decideAction, DEFAULT_POLICY, isPrincipalPattern, matchesAny, type Policy } from '../lib/domain/policy.ts';
import type { Score } from '../lib/domain/scoring.ts';
import { loadRepairedRecords, pickRecord, type CloudTrailRecord } from './events/load-events.ts';

// decideAction turns a score into none, page or contain. Each identity below is resolved from the
// userIdentity of a real record of the OTRF exfiltration log (a stolen role session reading S3, an
// IAM user in the console, an AWS service); the long-term key and the anonymous caller are that
// record cloned with one field changed.

const RECORDS = loadRepairedRecords();
const POLICY: Policy = { ...DEFAULT_POLICY };
const scoreOf = (score: number): Score => ({ score, reasons: [] });

function identityOf(record: CloudTrailRecord, change: (identity: UserIdentityRecord) => void = () => {}): Identity {
  const userIdentity = structuredClone(record.userIdentity ?? {}) as UserIdentityRecord;
  change(userIdentity);
  return resolveIdentity(userIdentity, String(record.sourceIPAddress ?? ''), record.recipientAccountId as string | undefined);
}

const roleRead = pickRecord(RECORDS, 'GetObject by an assumed role', (r) => r.eventName === 'GetObject' && r.userIdentity?.type === 'AssumedRole');
const consoleUserCall = pickRecord(RECORDS, 'a console call by an IAM user', (r) => r.userIdentity?.type === 'IAMUser');
const serviceCall = pickRecord(RECORDS, 'a call by an AWS service', (r) => r.userIdentity?.type === 'AWSService');

const ROLE_SESSION = identityOf(roleRead);
const CONSOLE_USER = identityOf(consoleUserCall);
const USER_KEY = identityOf(consoleUserCall, (identity) => {
  identity.accessKeyId = 'AKIA5FLZVX4OEXAMPLE7';
  delete identity.sessionContext;
});
const SERVICE = identityOf(serviceCall);
const ANONYMOUS = identityOf(roleRead, (identity) => {
  identity.type = 'AWSAccount';
  identity.accountId = 'ANONYMOUS_PRINCIPAL';
  delete identity.principalId;
  delete identity.arn;
  delete identity.accessKeyId;
  delete identity.sessionContext;
});

describe('decideAction', () => {
  it('the identities are the kinds they stand for', () => {
    expect([ROLE_SESSION, CONSOLE_USER, USER_KEY, SERVICE, ANONYMOUS].map((identity) => identity.type)).toEqual([
      'assumed-role',
      'iam-user-temporary',
      'iam-user-key',
      'aws-service',
      'anonymous',
    ]);
  });

  it('does nothing below the page threshold, pages from it, contains from the contain threshold', () => {
    const { pageThreshold, containThreshold } = POLICY;
    expect(decideAction(scoreOf(pageThreshold - 1), ROLE_SESSION, POLICY)).toEqual({ action: 'none' });
    expect(decideAction(scoreOf(pageThreshold), ROLE_SESSION, POLICY)).toEqual({ action: 'page' });
    expect(decideAction(scoreOf(containThreshold - 1), ROLE_SESSION, POLICY)).toEqual({ action: 'page' });
    expect(decideAction(scoreOf(containThreshold), ROLE_SESSION, POLICY)).toEqual({ action: 'contain' });
  });

  it('contains the three kinds an IAM change can stop: a user key, a user session, a role session', () => {
    for (const identity of [USER_KEY, CONSOLE_USER, ROLE_SESSION]) {
      expect(decideAction(scoreOf(90), identity, POLICY)).toEqual({ action: 'contain' });
    }
  });

  it('pages, saying why, for a caller no IAM change can stop', () => {
    expect(decideAction(scoreOf(90), SERVICE, POLICY)).toEqual({ action: 'page', blockedBy: 'not-containable' });
    expect(decideAction(scoreOf(90), ANONYMOUS, POLICY)).toEqual({ action: 'page', blockedBy: 'not-containable' });
    // Below the contain threshold there is nothing to block.
    expect(decideAction(scoreOf(60), SERVICE, POLICY)).toEqual({ action: 'page' });
  });

  it('in dry run pages "would have contained", and leaves a page-level score a plain page', () => {
    const dryRun = { ...POLICY, dryRun: true };
    expect(decideAction(scoreOf(90), ROLE_SESSION, dryRun)).toEqual({ action: 'page', blockedBy: 'dry-run' });
    expect(decideAction(scoreOf(60), ROLE_SESSION, dryRun)).toEqual({ action: 'page' });
  });

  it('on unverified evidence pages instead of containing; an exemption is still named first', () => {
    const unverified = { ...POLICY, unverifiedEvidence: true, dryRun: true };
    expect(decideAction(scoreOf(90), ROLE_SESSION, unverified)).toEqual({ action: 'page', blockedBy: 'unverified-evidence' });
    const protectedRole = { ...unverified, protectedPrincipals: [ROLE_SESSION.roleArn as string] };
    expect(decideAction(scoreOf(90), ROLE_SESSION, protectedRole)).toEqual({ action: 'page', blockedBy: 'protected' });
  });
});

describe('protected-principal patterns', () => {
  const roleArn = ROLE_SESSION.roleArn as string;
  const account = roleArn.split(':')[4];

  it('match the role of a session with a wildcard, and not a user pattern of the same account', () => {
    expect(matchesAny([`arn:aws:iam::${account}:role/*`], ROLE_SESSION)).toBe(true);
    expect(matchesAny([`arn:aws:iam::${account}:user/*`], ROLE_SESSION)).toBe(false);
  });

  it('match exactly, case and all', () => {
    expect(matchesAny([roleArn], ROLE_SESSION)).toBe(true);
    expect(matchesAny([roleArn.toUpperCase()], ROLE_SESSION)).toBe(false);
    expect(matchesAny([`${roleArn}-other`], ROLE_SESSION)).toBe(false);
  });

  it('are principal ARNs or key ids, never bare names or session ARNs', () => {
    expect(isPrincipalPattern(roleArn)).toBe(true);
    expect(isPrincipalPattern(`arn:aws:iam::${account}:user/break-glass`)).toBe(true);
    expect(isPrincipalPattern('AKIA5FLZVX4OEXAMPLE7')).toBe(true);
    expect(isPrincipalPattern('break-glass')).toBe(false);
    expect(isPrincipalPattern(ROLE_SESSION.arn as string)).toBe(false);
  });
});
