import { describe, expect, it } from 'vitest';
import type { Identity } from '../lib/domain/access-event.ts';
import type { Baseline } from '../lib/domain/baseline.ts';
import { decideAction, DEFAULT_POLICY } from '../lib/domain/policy.ts';
import { DEFAULT_SCORING, scoreAgainstBaseline, type ScoreInput } from '../lib/domain/scoring.ts';
import { createWindowStats, hashObject, type WindowStats } from '../lib/domain/window-counter.ts';
import { contractor, volume } from './scoring-inputs.ts';

const NOW = Date.parse('2026-10-20T03:15:00Z');
const DAY = 86_400_000;

const appSession: Identity = {
  type: 'assumed-role',
  principal: 'arn:aws:iam::111122223333:role/patient-portal-app',
  actor: 'ASIAEXAMPLESESSION1',
  accessKeyId: 'ASIAEXAMPLESESSION1',
  roleArn: 'arn:aws:iam::111122223333:role/patient-portal-app',
  roleName: 'patient-portal-app',
  sessionName: 'i-0abc',
};

function span(changes: Partial<Omit<WindowStats, 'readObjects'>> & { objects?: number; deletedOfRead?: number }): WindowStats {
  const stats = createWindowStats('actor', 'principal', 'iam-user-key', 0);
  const { objects = 0, deletedOfRead = 0, ...counts } = changes;
  Object.assign(stats, { firstEventTime: NOW - 120_000, lastEventTime: NOW - 1000 }, counts);
  for (let i = 0; i < objects; i++) stats.readObjects.add(hashObject('checkup-results', `report-${i}.pdf`));
  for (let i = 0; i < deletedOfRead; i++) stats.deletedObjects.add(hashObject('checkup-results', `report-${i}.pdf`));
  if (changes.networks === undefined) stats.networks = new Set(['10.0.1.0/24']);
  if (changes.tools === undefined) stats.tools = new Set(['sdk-js']);
  if (changes.buckets === undefined) stats.buckets = new Set(['checkup-results']);
  return stats;
}

function familiar(id: string, objectsP99: number, deletesP99 = 0): Baseline {
  const first = NOW - 60 * DAY;
  return {
    id,
    kind: 'principal',
    firstSeen: first,
    lastSeen: NOW - 60_000,
    activeDays: 60,
    lastActiveDay: Math.floor(NOW / DAY),
    networks: { '10.0.1.0/24': first },
    addresses: { '10.0.1.17': first },
    tools: { 'sdk-js': first },
    buckets: { 'checkup-results': first },
    volume: volume(objectsP99, deletesP99),
  };
}

const input = (overrides: Partial<ScoreInput>): ScoreInput => ({
  identity: appSession,
  span: span({}),
  readThenDeleted: 0,
  now: NOW,
  settings: DEFAULT_SCORING,
  ...overrides,
});
const codes = (reasons: { code: string }[]) => reasons.map((r) => r.code);

describe('scoreAgainstBaseline', () => {
  it('contains an unseen key that lists a bucket and reads 120 objects in two minutes', () => {
    const score = scoreAgainstBaseline(
      input({ identity: contractor, span: span({ lists: 1, gets: 120, objects: 120, networks: new Set(['185.220.101.0/24']), tools: new Set(['aws-cli']) }) }),
    );
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['never-seen', 'bulk-read', 'list-then-get-sweep']));
    expect(score.score).toBeGreaterThanOrEqual(DEFAULT_POLICY.containThreshold);
    expect(decideAction(score, contractor, DEFAULT_POLICY).action).toBe('contain');
  });

  it('does not page for an unseen key that reads three files', () => {
    const score = scoreAgainstBaseline(input({ identity: contractor, span: span({ lists: 1, gets: 3, objects: 3 }) }));
    expect(codes(score.reasons)).toEqual(['never-seen']);
    expect(score.score).toBeLessThan(DEFAULT_POLICY.pageThreshold);
  });

  it('gives every reason a value above or at its threshold and a human message', () => {
    const score = scoreAgainstBaseline(
      input({ identity: contractor, span: span({ lists: 2, gets: 40, objects: 40, deletes: 30, deletedOfRead: 30 }), readThenDeleted: 30 }),
    );
    for (const reason of score.reasons.filter((r) => r.code !== 'never-seen')) {
      expect(reason.value).toBeGreaterThanOrEqual(reason.threshold);
      expect(reason.message.length).toBeGreaterThan(10);
    }
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['read-then-delete', 'mass-delete']));
    expect(score.score).toBe(100);
  });

  it('treats a key first seen minutes ago as never seen, not as familiar', () => {
    const justLearned = { ...familiar(contractor.principal, 0), firstSeen: NOW - 20_000, volume: undefined };
    const score = scoreAgainstBaseline(input({ identity: contractor, principal: justLearned, span: span({ lists: 1, gets: 15, objects: 15 }) }));
    expect(score.reasons[0]?.code).toBe('never-seen');
    expect(score.reasons[0]?.message).toContain('first seen 20 s ago');
  });

  it('flags a new long-term key of a familiar user', () => {
    const user = familiar('arn:aws:iam::111122223333:user/alice', 20);
    const aliceNewKey: Identity = { ...contractor, principal: user.id, actor: 'AKIANEWKEY', accessKeyId: 'AKIANEWKEY', longTermKey: 'AKIANEWKEY' };
    const score = scoreAgainstBaseline(input({ identity: aliceNewKey, principal: user, span: span({ gets: 2, objects: 2 }) }));
    expect(codes(score.reasons)).toContain('new-key');
  });

  it('lets a familiar role read at three times its usual peak without paging', () => {
    const score = scoreAgainstBaseline(
      input({ principal: familiar(appSession.principal, 150), span: span({ gets: 400, objects: 400, lists: 1 }) }),
    );
    expect(score.score).toBeLessThan(DEFAULT_POLICY.pageThreshold);
  });

  it('scores a familiar role far above its own p99 as bulk, with the ratio in the message', () => {
    const score = scoreAgainstBaseline(input({ principal: familiar(appSession.principal, 30), span: span({ gets: 900, objects: 900 }) }));
    const bulk = score.reasons.find((r) => r.code === 'bulk-read');
    expect(bulk?.threshold).toBe(90);
    expect(bulk?.message).toContain('30.0× its own p99 of 30');
    expect(bulk?.points).toBe(40);
  });

  it('contains a familiar role session deleting versions from a new network with a new tool', () => {
    const score = scoreAgainstBaseline(
      input({
        principal: familiar(appSession.principal, 150),
        span: span({ versionDeletes: 200, lists: 1, networks: new Set(['203.0.113.0/24']), tools: new Set(['boto3']) }),
      }),
    );
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['new-network', 'new-tool', 'version-delete', 'mass-delete']));
    expect(decideAction(score, appSession, DEFAULT_POLICY).action).toBe('contain');
  });

  it('counts a network first seen within the novelty period as new', () => {
    const role = familiar(appSession.principal, 150);
    role.networks['203.0.113.0/24'] = NOW - 3_600_000;
    const score = scoreAgainstBaseline(input({ principal: role, span: span({ networks: new Set(['203.0.113.0/24']) }) }));
    expect(codes(score.reasons)).toEqual(['new-network']);
    expect(score.score).toBeLessThanOrEqual(30);
  });

  it('recognises a probing burst of failed calls', () => {
    const score = scoreAgainstBaseline(input({ principal: familiar(appSession.principal, 150), span: span({ events: 40, errors: 35 }) }));
    expect(codes(score.reasons)).toEqual(['error-burst']);
  });

  it('counts a multi-object delete without per-object records as a batch delete signal', () => {
    const score = scoreAgainstBaseline(input({ identity: contractor, span: span({ deleteBatches: 2 }) }));
    expect(codes(score.reasons)).toContain('unitemized-batch-delete');
    expect(score.score).toBeGreaterThanOrEqual(DEFAULT_POLICY.pageThreshold);
  });

  it('uses the fleet baseline for an actor never seen', () => {
    const fleet = volume(5);
    const score = scoreAgainstBaseline(input({ identity: contractor, fleet, span: span({ gets: 60, objects: 60 }) }));
    const above = score.reasons.find((r) => r.code === 'above-fleet');
    expect(above?.threshold).toBe(DEFAULT_SCORING.unfamiliarReadFloor);
    expect(above?.points).toBe(30);
  });
});

describe('decideAction', () => {
  const high = { score: 90, reasons: [] };
  it('never contains a protected principal: it pages and says why', () => {
    const decision = decideAction(high, contractor, { ...DEFAULT_POLICY, protectedPrincipals: ['*:user/contractor-*'] });
    expect(decision).toEqual({ action: 'page', blockedBy: 'protected' });
  });
  it('never contains the detector’s own roles', () => {
    const roleArn = 'arn:aws:iam::111122223333:role/keysentry-prod-contain';
    const own: Identity = { ...appSession, roleName: 'keysentry-prod-contain', roleArn };
    expect(decideAction(high, own, { ...DEFAULT_POLICY, ownRoleArns: [roleArn] }).blockedBy).toBe('own-role');
  });
  it('pages for an anonymous caller that no key can stop', () => {
    const anonymous: Identity = { type: 'anonymous', principal: 'anonymous:198.51.100.7', actor: 'anonymous:198.51.100.7' };
    expect(decideAction(high, anonymous, DEFAULT_POLICY)).toEqual({ action: 'page', blockedBy: 'not-containable' });
  });
  it('pages "would have contained" in dry-run', () => {
    expect(decideAction(high, contractor, { ...DEFAULT_POLICY, dryRun: true })).toEqual({ action: 'page', blockedBy: 'dry-run' });
  });
  it('does nothing below the page threshold and pages between the thresholds', () => {
    expect(decideAction({ score: 49, reasons: [] }, contractor, DEFAULT_POLICY).action).toBe('none');
    expect(decideAction({ score: 60, reasons: [] }, contractor, DEFAULT_POLICY).action).toBe('page');
  });
});

describe('an on-call verdict of benign', () => {
  it('makes a principal first seen minutes ago familiar: the same reads no longer page', () => {
    const newcomer = { ...familiar(contractor.principal, 0), firstSeen: NOW - 600_000, volume: undefined };
    const activity = span({ lists: 1, gets: 40, objects: 40 });
    const before = scoreAgainstBaseline(input({ identity: { ...contractor, longTermKey: undefined }, principal: newcomer, span: activity }));
    const after = scoreAgainstBaseline(
      input({ identity: { ...contractor, longTermKey: undefined }, principal: { ...newcomer, vouchedAt: NOW - 60_000 }, span: activity }),
    );
    expect(before.score).toBeGreaterThanOrEqual(DEFAULT_POLICY.pageThreshold);
    expect(codes(after.reasons)).not.toContain('never-seen');
    expect(after.score).toBeLessThan(DEFAULT_POLICY.pageThreshold);
  });
});
