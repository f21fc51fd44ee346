import { describe, expect, it } from 'vitest';
import { evaluateScenario, type MatrixRow } from '../bench/scenario-matrix.ts';
import { PEER_RULES } from '../lib/peers/index.ts';
import { SCENARIO_NAMES, SCENARIOS } from '../lib/scenarios/index.ts';

// The must-show criteria of the independent scenario matrix (issue 10), per scenario: each
// scenario replayed through keysentry exactly as `keysentry replay` does, and the public peer
// rules run on the same records. Eight days of warm-up (more than the seven after which an actor
// is no longer "recently first seen"), then the day the scenario is about.
const OPTIONS = { seed: 1, warmupDays: 8, afterDays: 0 };
const BATCH_MS = 10_000;

/**
 * Criteria keysentry does not meet yet, each with what was measured (seed 1; `npm run
 * bench:scenarios` with WARMUP_DAYS=8 AFTER_DAYS=0 prints the same runs): skipped, not asserted
 * to fail. None at present; an entry added here must say its numbers.
 */
const KNOWN_FAILURES: ReadonlySet<string> = new Set<string>([]);

const rows = new Map<string, Promise<MatrixRow>>();
const rowOf = (name: string): Promise<MatrixRow> => {
  let row = rows.get(name);
  if (row === undefined) rows.set(name, (row = evaluateScenario(name, OPTIONS)));
  return row;
};
const check = (name: string, criterion: string) => (KNOWN_FAILURES.has(`${name}: ${criterion}`) ? it.skip : it);
const TIMEOUT = { timeout: 240_000 };

describe.each(SCENARIO_NAMES)('scenario %s', (name) => {
  const definition = SCENARIOS[name];
  const attackScenario = definition?.expected !== 'none';

  check(name, 'no benign containment')('contains no benign actor', TIMEOUT, async () => {
    const row = await rowOf(name);
    expect(row.keysentry.benignContains).toBe(0);
  });

  check(name, 'at most one benign page per week')('pages about benign actors at most once per simulated week', TIMEOUT, async () => {
    const row = await rowOf(name);
    expect(row.keysentry.benignPages).toBeLessThanOrEqual(Math.max(1, Math.ceil(row.evaluatedDays / 7)));
  });

  if (!attackScenario) return;

  check(name, 'expected decision')(`${definition?.expected === 'contain' ? 'contains' : 'pages about'} the attacker`, TIMEOUT, async () => {
    const row = await rowOf(name);
    expect(row.keysentry.decision === 'contain' || row.keysentry.decision === definition?.expected).toBe(true);
  });

  check(name, 'in time')('decides in time for the kind of attack', TIMEOUT, async () => {
    const { scenario, keysentry } = await rowOf(name);
    const attack = scenario.attack;
    if (attack === undefined) throw new Error('an attack scenario without an attack');
    if (attack.kind === 'bulk') {
      // Hundreds of objects at ≥ 1 object/s: contained before 5% of them (at least 50) are read and before any delete.
      expect(keysentry.containAt).toBeDefined();
      const before = progressBefore(scenario, keysentry.containAt as number);
      expect(before.reads).toBeLessThan(Math.max(50, 0.05 * attack.objects));
      expect(before.deletes).toBe(0);
    } else if (attack.kind === 'ransomware') {
      // Contained at the first decision after the first DeleteObjects lands: no later intake batch.
      const first = attack.firstBatchDelete as number;
      expect(keysentry.containAt).toBeDefined();
      expect(keysentry.containAt as number).toBeLessThanOrEqual((Math.floor(first / BATCH_MS) + 1) * BATCH_MS);
    } else if (attack.kind === 'deletion') {
      // Deletes one object at a time: contained before 5% of them (at least 50) are gone.
      expect(keysentry.containAt).toBeDefined();
      expect(progressBefore(scenario, keysentry.containAt as number).deletes).toBeLessThan(Math.max(50, 0.05 * attack.objects));
    } else if (attack.kind === 'slow') {
      expect(keysentry.firstAt).toBeDefined();
      expect((keysentry.firstAt as number) - attack.start).toBeLessThanOrEqual(3_600_000);
    } else {
      expect(keysentry.firstAt).toBeDefined();
    }
  });

  check(name, 'before every peer')('decides before the first alert of every peer rule', TIMEOUT, async () => {
    const row = await rowOf(name);
    expect(row.keysentry.firstAt).toBeDefined();
    const earlier = PEER_RULES.filter((rule) => {
      const peer = row.peers[rule.name]?.firstAt;
      return peer !== undefined && peer <= (row.keysentry.firstAt as number);
    }).map((rule) => rule.name);
    expect(earlier).toEqual([]);
  });

});

describe('the whole matrix', () => {
  const benign = (outcome: { benignPages: number; benignContains: number }): number => outcome.benignPages + outcome.benignContains;

  check('matrix', 'no more benign alerts than the best peer')('raises no more benign alerts than the quietest peer rule', { timeout: 900_000 }, async () => {
    const all = await Promise.all(SCENARIO_NAMES.map(rowOf));
    const keysentry = all.reduce((n, row) => n + benign(row.keysentry), 0);
    const quietest = Math.min(...PEER_RULES.map((rule) => all.reduce((n, row) => n + benign(row.peers[rule.name] as MatrixRow['keysentry']), 0)));
    expect(keysentry).toBeLessThanOrEqual(quietest);
  });

  check('matrix', 'same decision whatever the record order')('decides the same on newest-first and shuffled records as in time order', { timeout: 900_000 }, async () => {
    const [inOrder, newestFirst, shuffled] = await Promise.all(['dormant-key-awakening', 'dormant-key-newest-first', 'dormant-key-shuffled'].map(rowOf));
    const decided = (row: MatrixRow | undefined) => ({ decision: row?.keysentry.decision, firstAt: row?.keysentry.firstAt, containAt: row?.keysentry.containAt });
    expect(decided(newestFirst)).toEqual(decided(inOrder));
    expect(decided(shuffled)).toEqual(decided(inOrder));
  });
});

function progressBefore(scenario: MatrixRow['scenario'], at: number): { reads: number; deletes: number } {
  const attack = scenario.attack;
  let last = { reads: 0, deletes: 0 };
  for (const step of attack?.progress ?? []) {
    if (step.at > at) break;
    last = step;
  }
  return last;
}
