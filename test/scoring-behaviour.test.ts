import { describe, expect, it } from 'vitest';
import type { Identity } from '../lib/domain/access-event.ts';
import { decideAction, DEFAULT_POLICY, type Action } from '../lib/domain/policy.ts';
import { scoreAgainstBaseline, type Score, type ScoreInput } from '../lib/domain/scoring.ts';
import { estimateBatchDeleteKeys } from '../lib/domain/window-counter.ts';
import {
  ciSession,
  codes,
  contractor,
  DAY,
  eventOf,
  familiar,
  HOUR,
  lists,
  MINUTE,
  NOW,
  reads,
  scoreInput,
  SECOND,
  spanOf,
  type Call,
} from './scoring-inputs.ts';

const decide = (input: ScoreInput): { score: Score; action: Action } => {
  const score = scoreAgainstBaseline(input);
  return { score, action: decideAction(score, input.identity, DEFAULT_POLICY).action };
};

// The OTRF record's own caller: what the familiar baselines below know.
const known = eventOf({ ago: 0, eventName: 'GetObject' });
const knownContext = { networks: ['1.2.3.0/24'], tools: [known.toolFamily] };
const ABROAD = { sourceIp: '203.0.113.40', userAgent: 'rclone/v1.66.0' };
const abroad = (calls: Call[]): Call[] => calls.map((call) => ({ ...call, ...ABROAD }));

/** The first decision, at 10-second batches, that contains an actor reading `total` objects at `perSecond` after a list. */
function objectsReadWhenContained(identity: Identity, perSecond: number, total: number, extra: Partial<ScoreInput> = {}): number | undefined {
  const everyMs = SECOND / perSecond;
  for (let decisionAt = 10 * SECOND; decisionAt <= (total / perSecond) * SECOND; decisionAt += 10 * SECOND) {
    const count = Math.floor(decisionAt / everyMs);
    // The reads so far end at the decision; the list came half a minute before the first read.
    const calls = [...lists(2, 5 * SECOND, count * everyMs + 30 * SECOND), ...reads(count, everyMs, SECOND)];
    if (decide(scoreInput({ identity, span: spanOf(calls), ...extra })).action === 'contain') return count;
  }
  return undefined;
}

describe('rate and shape of an unfamiliar actor’s reads', () => {
  const colleagueDay = (): Call[] => [
    ...lists(3, 4 * MINUTE, 13 * MINUTE),
    ...reads(10, MINUTE, 30 * SECOND, 'shared/'),
    { ago: 2 * MINUTE, eventName: 'HeadObject', key: 'shared/checkup-00003.pdf' },
    { ago: 90 * SECOND, eventName: 'PutObject', key: 'scratch/hello.txt', bytesIn: 12 },
    { ago: 20 * SECOND, eventName: 'DeleteObject', key: 'scratch/hello.txt' },
  ];

  it('neither pages nor contains a new colleague’s ten single-file copies at one a minute with a few ls', () => {
    const { score, action } = decide(scoreInput({ span: spanOf(colleagueDay()) }));
    expect(codes(score.reasons)).toEqual(['never-seen']);
    expect(action).toBe('none');
  });

  it('contains a never-seen key sweeping at one object a second before it has read 50 objects', () => {
    const read = objectsReadWhenContained(contractor, 1, 1000);
    expect(read).toBeDefined();
    expect(read).toBeLessThan(50);
  });

  it('contains a never-seen key sweeping at two or three objects a second at the first decision after 20 are read', () => {
    expect(objectsReadWhenContained(contractor, 2, 1000)).toBe(20);
    expect(objectsReadWhenContained(contractor, 3, 1000)).toBe(30);
  });

  it('pages, without containing, a never-seen key copying 25 files in seconds without listing', () => {
    const { score, action } = decide(scoreInput({ span: spanOf(reads(25, 400, SECOND)) }));
    expect(codes(score.reasons)).toEqual(['never-seen', 'bulk-read']);
    expect(action).toBe('page');
  });

  it('contains a never-seen key that lists, then reads 20 objects at two a second: a sweep', () => {
    const calls = [...lists(2, SECOND, 40 * SECOND), ...reads(20, 500, SECOND)];
    const { score, action } = decide(scoreInput({ span: spanOf(calls) }));
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['bulk-read', 'list-then-get-sweep']));
    expect(action).toBe('contain');
  });

  it('does not call reads after a list a sweep when they come slower than one every two seconds', () => {
    const calls = [...lists(2, SECOND, 3 * MINUTE), ...reads(24, 6 * SECOND, SECOND)];
    const { score, action } = decide(scoreInput({ span: spanOf(calls) }));
    expect(codes(score.reasons)).toEqual(['never-seen', 'bulk-read']);
    expect(action).toBe('page');
  });

  it('measures the rate over the reads, not over the listing before them', () => {
    const calls = [...lists(100, 1800, 40 * SECOND), ...reads(36, 333, SECOND)];
    const { score, action } = decide(scoreInput({ span: spanOf(calls) }));
    const bulk = score.reasons.find((r) => r.code === 'bulk-read');
    expect(bulk?.points).toBe(40);
    expect(bulk?.message).toMatch(/36 objects read at \d+\/min/);
    expect(action).toBe('contain');
  });

  it('does not call 40 objects over half an hour bulk, however unfamiliar the reader', () => {
    const { score } = decide(scoreInput({ span: spanOf([...lists(1, SECOND, 31 * MINUTE), ...reads(40, 45 * SECOND)]) }));
    expect(codes(score.reasons)).not.toContain('bulk-read');
    expect(codes(score.reasons)).not.toContain('list-then-get-sweep');
  });

  it('weighs an unfamiliar actor’s large download of a few files as a page at most', () => {
    const few = spanOf(reads(3, MINUTE));
    few.bytesOut = 2 * 1024 ** 3;
    const { score, action } = decide(scoreInput({ span: few }));
    expect(score.reasons.find((r) => r.code === 'bytes-out')?.points).toBe(20);
    expect(action).toBe('page');
  });
});

describe('persistence of an unfamiliar reader', () => {
  const slow = spanOf(reads(30, 60 * SECOND));

  it('pages a reader that has kept going at one object a minute for half an hour', () => {
    const { score, action } = decide(scoreInput({ span: slow, history: { hourObjects: 30, dayObjects: 30 } }));
    expect(score.reasons.find((r) => r.code === 'persistent-read')).toMatchObject({ value: 30, threshold: 30, points: 20 });
    expect(action).toBe('page');
  });

  it('contains it once it has read 200 distinct objects within the day', () => {
    const { score, action } = decide(scoreInput({ span: slow, history: { hourObjects: 60, dayObjects: 200 } }));
    expect(score.reasons.find((r) => r.code === 'persistent-read')).toMatchObject({ value: 200, points: 40 });
    expect(action).toBe('contain');
  });

  it('leaves a colleague’s ten files over the day alone', () => {
    const { score, action } = decide(scoreInput({ span: spanOf(reads(4, 5 * MINUTE)), history: { hourObjects: 6, dayObjects: 10 } }));
    expect(codes(score.reasons)).not.toContain('persistent-read');
    expect(action).toBe('none');
  });

  it('does not apply to a familiar principal, whose own volume baseline decides', () => {
    const app = familiar(contractor.principal, 500, knownContext);
    const key = { ...familiar(contractor.longTermKey ?? '', 0, knownContext), kind: 'key' as const };
    const { score } = decide(scoreInput({ principal: app, key, span: slow, history: { hourObjects: 900, dayObjects: 9000 } }));
    expect(score.reasons).toEqual([]);
  });
});

describe('a familiar principal in a context it was never in', () => {
  const developer = familiar(contractor.principal, 20, knownContext);
  const developerKey = { ...familiar(contractor.longTermKey ?? '', 20, knownContext), kind: 'key' as const };
  const rcloneSweep = (objects: number): Call[] => [...lists(100, 1800, objects * 333 + 2 * SECOND), ...reads(objects, 333, SECOND)];

  it('gets the unfamiliar floors from a new network with a new tool: contained after 30 objects', () => {
    const { score, action } = decide(scoreInput({ principal: developer, key: developerKey, span: spanOf(abroad(rcloneSweep(30))) }));
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['new-network', 'new-tool', 'bulk-read', 'list-then-get-sweep']));
    expect(score.reasons.find((r) => r.code === 'bulk-read')?.message).toContain('from a new network with a new tool');
    expect(action).toBe('contain');
  });

  it('keeps its own floors from its usual network and tool', () => {
    const { score, action } = decide(scoreInput({ principal: developer, key: developerKey, span: spanOf(rcloneSweep(30)) }));
    expect(codes(score.reasons)).toEqual(['list-then-get-sweep']);
    expect(action).toBe('none');
  });

  it('keeps its own floors when only the network is new', () => {
    const calls = rcloneSweep(30).map((call) => ({ ...call, sourceIp: ABROAD.sourceIp }));
    const { score, action } = decide(scoreInput({ principal: developer, key: developerKey, span: spanOf(calls) }));
    expect(codes(score.reasons).sort()).toEqual(['list-then-get-sweep', 'new-network']);
    expect(action).toBe('none');
  });
});

describe('multi-object deletes without per-object records', () => {
  const ciRole = familiar(ciSession.principal, 40, { ...knownContext, buckets: ['build-artifacts'] });
  const versionIds = Array.from({ length: 1000 }, (_, i) => `3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLU${i}`);
  // The body of a DeleteObjects of 1,000 versions: what bytesTransferredIn reports.
  const body = `<Delete>${versionIds.map((v, i) => `<Object><Key>checkups/2025/patient-${i}.pdf</Key><VersionId>${v}</VersionId></Object>`).join('')}</Delete>`;
  const ransomware = (from: { sourceIp?: string; userAgent?: string }, bucket = 'checkup-results'): Call[] => [
    ...lists(3, 2 * SECOND, 8 * SECOND, 'ListObjectVersions').map((c) => ({ ...c, bucket, ...from })),
    { ago: SECOND, eventName: 'DeleteObjects', bucket, bytesIn: Buffer.byteLength(body), ...from },
  ];

  it('estimates the keys of a request from its body size, between 1 and 1,000', () => {
    expect(estimateBatchDeleteKeys(Buffer.byteLength(body))).toBe(1000);
    expect(estimateBatchDeleteKeys(Buffer.byteLength('<Delete><Object><Key>a.txt</Key></Object></Delete>'))).toBe(1);
    expect(estimateBatchDeleteKeys(0)).toBe(1);
    const hundredKeys = `<Delete>${Array.from({ length: 100 }, (_, i) => `<Object><Key>logs/2026/10/app-${i}.log.gz</Key></Object>`).join('')}</Delete>`;
    expect(estimateBatchDeleteKeys(Buffer.byteLength(hundredKeys))).toBeGreaterThanOrEqual(50);
    expect(estimateBatchDeleteKeys(Buffer.byteLength(hundredKeys))).toBeLessThanOrEqual(100);
  });

  it('contains a new session of a familiar role listing versions then batch-deleting on a bucket it never touched', () => {
    const { score, action } = decide(scoreInput({ identity: ciSession, principal: ciRole, span: spanOf(ransomware(ABROAD)) }));
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['versions-then-batch-delete', 'mass-delete', 'unitemized-batch-delete', 'new-bucket']));
    expect(score.reasons.find((r) => r.code === 'mass-delete')).toMatchObject({ value: 1000 });
    expect(action).toBe('contain');
  });

  it('pages it from its usual network and tool: the bucket alone is new to it', () => {
    const { score, action } = decide(scoreInput({ identity: ciSession, principal: ciRole, span: spanOf(ransomware({})) }));
    expect(codes(score.reasons)).toContain('versions-then-batch-delete');
    expect(action).toBe('page');
  });

  it('does not call a familiar role’s version clean-up of its own bucket the ransomware sequence', () => {
    const { score } = decide(scoreInput({ identity: ciSession, principal: ciRole, span: spanOf(ransomware({}, 'build-artifacts')) }));
    expect(codes(score.reasons)).not.toContain('versions-then-batch-delete');
  });

  it('counts itemized deletes once: with per-object records the batch is not unitemized', () => {
    const itemized = versionIds.slice(0, 200).map((versionId, i) => ({
      ago: SECOND, eventName: 'DeleteObject', key: `checkups/2025/patient-${i}.pdf`, versionId, ...ABROAD,
    }));
    const calls = [...ransomware(ABROAD).map((c) => (c.eventName === 'DeleteObjects' ? { ...c, bytesIn: 200 * 125 } : c)), ...itemized];
    const { score, action } = decide(scoreInput({ identity: ciSession, principal: ciRole, span: spanOf(calls) }));
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['version-delete', 'mass-delete']));
    expect(codes(score.reasons)).not.toContain('unitemized-batch-delete');
    expect(codes(score.reasons)).not.toContain('versions-then-batch-delete');
    expect(action).toBe('contain');
  });
});

describe('the age of a long-term key', () => {
  it('calls a key created years ago and never seen dormant: the strongest unfamiliarity', () => {
    const { score } = decide(scoreInput({ keyCreatedAt: NOW - 3 * 365 * DAY, span: spanOf(reads(2, MINUTE)) }));
    expect(score.reasons).toEqual([expect.objectContaining({ code: 'dormant-key', points: 40, threshold: 90 })]);
    expect(score.reasons[0]?.message).toContain('created 1095.0 days ago');
  });

  it('does not call a key dormant once it has been seen in use for days', () => {
    const user = familiar(contractor.principal, 20, knownContext);
    const key = { ...familiar(contractor.longTermKey ?? '', 20, knownContext), kind: 'key' as const };
    const { score } = decide(scoreInput({ principal: user, key, keyCreatedAt: NOW - 3 * 365 * DAY, span: spanOf(reads(2, MINUTE)) }));
    expect(score.reasons).toEqual([]);
  });

  it('pages, without containing, a key created hours ago reading 30 objects a second apart', () => {
    const { score, action } = decide(scoreInput({ keyCreatedAt: NOW - 3 * HOUR, span: spanOf(reads(30, SECOND)) }));
    expect(codes(score.reasons)).toEqual(['bulk-read', 'fresh-key']);
    expect(action).toBe('page');
  });

  it('pages, without containing, a key created hours ago that lists and copies a folder of 25 files', () => {
    const calls = [...lists(2, SECOND, 20 * SECOND), ...reads(25, 400)];
    const { score, action } = decide(scoreInput({ keyCreatedAt: NOW - 3 * HOUR, span: spanOf(calls) }));
    expect(codes(score.reasons)).toEqual(expect.arrayContaining(['fresh-key', 'bulk-read', 'list-then-get-sweep']));
    expect(action).toBe('page');
  });

  it('contains a key created hours ago when its reads are plainly bulk after a list', () => {
    const calls = [...lists(2, SECOND, 45 * SECOND), ...reads(40, 500)];
    const { action } = decide(scoreInput({ keyCreatedAt: NOW - 3 * HOUR, span: spanOf(calls) }));
    expect(action).toBe('contain');
  });

  it('falls back to never-seen for a key of middle age', () => {
    const { score } = decide(scoreInput({ keyCreatedAt: NOW - 20 * DAY, span: spanOf(reads(2, MINUTE)) }));
    expect(codes(score.reasons)).toEqual(['never-seen']);
  });
});
