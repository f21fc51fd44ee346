import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayLogs, type ReplayResult } from '../lib/engine/replay.ts';
import { simulateScenario } from '../lib/simulator/index.ts';

let dir: string;
let results: Map<number, ReplayResult>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keysentry-workers-'));
  await simulateScenario('breach', dir, { seed: 11, days: 16 });
  results = new Map();
  for (const workers of [0, 1, 2]) results.set(workers, await replayLogs({ paths: [dir], workers }));
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The summary without the figures that depend on the machine's speed. */
const stable = (result: ReplayResult) => {
  const { elapsedMs: _elapsed, eventsPerSecond: _rate, ...rest } = result.summary;
  return rest;
};

describe('replay with reader threads', () => {
  it('finds the breach on one thread', () => {
    const single = results.get(0) as ReplayResult;
    expect(single.summary.events).toBeGreaterThan(10_000);
    expect(single.incidents.filter((incident) => incident.action === 'contain')).not.toHaveLength(0);
  });

  it.each([1, 2])('gives the same incidents and the same counts with %i reader threads as with none', (workers) => {
    const single = results.get(0) as ReplayResult;
    const threaded = results.get(workers) as ReplayResult;
    expect(threaded.incidents).toEqual(single.incidents);
    expect(stable(threaded)).toEqual(stable(single));
  });
});
