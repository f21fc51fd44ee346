import { describe, expect, it } from 'vitest';
import type { Identity } from '../lib/domain/access-event.ts';
import { decideAction, DEFAULT_POLICY, type Action } from '../lib/domain/policy.ts';
import { scoreAgainstBaseline, type Score, type ScoreInput } from '../lib/domain/scoring.ts';
import { ciSession, codes, contractor, DAY, eventOf, familiar, lists, MINUTE, NOW, reads, scoreInput, SECOND, spanOf, type Call } from './scoring-inputs.ts';

// What keysentry reads from the context of an activity: whose session it is (the console's), how
// old and how quiet the key is, what was listed before, and whether anything about it is new.

const decide = (input: ScoreInput): { score: Score; action: Action } => {
  const score = scoreAgainstBaseline(input);
  return { score, action: decideAction(score, input.identity, DEFAULT_POLICY).action };
};

const known = eventOf({ ago: 0, eventName: 'GetObject' });
const knownContext = { networks: ['1.2.3.0/24'], tools: [known.toolFamily] };
const elsewhere = (calls: Call[]): Call[] => calls.map((call) => ({ ...call, sourceIp: '13.231.77.40' }));

describe('a console session, whose tools are the console’s whoever holds it', () => {
  const operator = familiar('arn:aws:iam::111122223333:user/m.sato', 20, knownContext);
  const session: Identity = {
    type: 'iam-user-temporary',
    principal: operator.id,
    actor: operator.id,
    accessKeyId: 'ASIAEXAMPLECONSOLE01',
    userName: 'm.sato',
  };
  const consoleSession: Identity = { ...session, consoleSession: true };
  // CloudShell's `aws s3 cp`: a list, then 40 reports at four a second.
  const sweep = (): Call[] => [...lists(2, SECOND, 12 * SECOND), ...reads(40, 250, SECOND)];

  it('is in a new context from a new network alone: a sweep from there is contained before 50 objects', () => {
    const { score, action } = decide(scoreInput({ identity: consoleSession, principal: operator, span: spanOf(elsewhere(sweep())) }));
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['new-network', 'bulk-read', 'list-then-get-sweep']));
    expect(codes(score.reasons)).not.toContain('new-tool');
    expect(score.reasons.find((r) => r.code === 'bulk-read')?.message).toContain('a familiar principal from a new network');
    expect(action).toBe('contain');
  });

  it('keeps its own floors from a network it knows', () => {
    const { action } = decide(scoreInput({ identity: consoleSession, principal: operator, span: spanOf(sweep()) }));
    expect(action).toBe('none');
  });

  it('does not lend the rule to a session the console did not issue: its tool still tells', () => {
    const { score, action } = decide(scoreInput({ identity: session, principal: operator, span: spanOf(elsewhere(sweep())) }));
    expect(codes(score.reasons)).toContain('new-network');
    expect(action).not.toBe('contain');
  });
});

describe('a dormant key that starts reading', () => {
  const dormant = { keyCreatedAt: NOW - 400 * DAY };

  it('is paged at its third object, however slowly they come', () => {
    const { score, action } = decide(scoreInput({ ...dormant, span: spanOf(reads(3, 40 * SECOND)) }));
    expect(score.reasons.find((r) => r.code === 'dormant-key-read')).toMatchObject({ value: 3, threshold: 3, points: 20 });
    expect(action).toBe('page');
  });

  it('counts the hour’s reads, not only the span’s', () => {
    const { score, action } = decide(scoreInput({ ...dormant, span: spanOf(reads(1, SECOND)), history: { hourObjects: 5, dayObjects: 5 } }));
    expect(score.reasons.find((r) => r.code === 'dormant-key-read')?.value).toBe(5);
    expect(action).toBe('page');
  });

  it('is not paged for a look at two objects', () => {
    const { score, action } = decide(scoreInput({ ...dormant, span: spanOf(reads(2, 40 * SECOND)) }));
    expect(codes(score.reasons)).toEqual(['dormant-key']);
    expect(action).toBe('none');
  });

  it('does not apply to a key of unknown age or a new colleague’s fresh key', () => {
    for (const keyCreatedAt of [undefined, NOW - 3 * 3_600_000]) {
      const { score, action } = decide(scoreInput({ keyCreatedAt, span: spanOf(reads(3, 40 * SECOND)) }));
      expect(codes(score.reasons)).not.toContain('dormant-key-read');
      expect(action).toBe('none');
    }
  });
});

describe('object versions listed before anything is deleted', () => {
  const ciRole = familiar(ciSession.principal, 40, { ...knownContext, buckets: ['build-artifacts'] });
  const versionLists = (from: Partial<Call>, bucket: string): Call[] =>
    lists(3, 2 * SECOND, 2 * SECOND, 'ListObjectVersions').map((call) => ({ ...call, bucket, ...from }));
  const abroad = { sourceIp: '5.188.10.20', userAgent: 'aws-sdk-go/1.55.5 (go1.22.5; linux; amd64)' };

  it('pages a familiar role’s session in a new context listing versions of a bucket it never touched', () => {
    const { score, action } = decide(scoreInput({ identity: ciSession, principal: ciRole, span: spanOf(versionLists(abroad, 'checkup-results')) }));
    expect(score.reasons.find((r) => r.code === 'version-listing')).toMatchObject({ value: 3, points: 20 });
    expect(action).toBe('page');
  });

  it('pages a principal never seen listing versions', () => {
    const { score, action } = decide(scoreInput({ span: spanOf(versionLists({}, 'checkup-results')) }));
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['never-seen', 'version-listing']));
    expect(action).toBe('page');
  });

  it('leaves the role’s own version listing from its usual network and tool alone', () => {
    const { score, action } = decide(scoreInput({ identity: ciSession, principal: ciRole, span: spanOf(versionLists({}, 'build-artifacts')) }));
    expect(codes(score.reasons)).not.toContain('version-listing');
    expect(action).toBe('none');
  });
});

describe('a familiar principal’s reads in a context it knows', () => {
  const exporter = familiar(contractor.principal, 20, knownContext);
  const exporterKey = { ...familiar(contractor.longTermKey ?? '', 20, knownContext), kind: 'key' as const };
  const monthEnd = (): Call[] => [...lists(3, SECOND, 10 * MINUTE), ...reads(1000, 500, SECOND)];

  it('stays below every page threshold the tuning may set, at fifty times its own p99 after a list', () => {
    const { score, action } = decide(scoreInput({ principal: exporter, key: exporterKey, span: spanOf(monthEnd()) }));
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['bulk-read', 'list-then-get-sweep']));
    expect(score.score).toBeLessThan(40);
    expect(action).toBe('none');
  });

  it('is acted on from a network new to it: the cap is lifted', () => {
    const { score, action } = decide(scoreInput({ principal: exporter, key: exporterKey, span: spanOf(elsewhere(monthEnd())) }));
    expect(codes(score.reasons)).toContain('new-network');
    expect(score.score).toBeGreaterThanOrEqual(DEFAULT_POLICY.pageThreshold);
    expect(action).not.toBe('none');
  });

  it('still counts deletes in full: reading then deleting what it read is paged', () => {
    const calls: Call[] = [...monthEnd(), ...reads(200, 100, SECOND).map((call) => ({ ...call, eventName: 'DeleteObject' }))];
    const { score, action } = decide(scoreInput({ principal: exporter, key: exporterKey, span: spanOf(calls), readThenDeleted: 200 }));
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['read-then-delete', 'mass-delete']));
    expect(action).not.toBe('none');
  });
});
