import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayLogs, type ReplayResult } from '../lib/engine/replay.ts';
import { eventTimeText as iso, getObjectRecord as record, type CloudTrailRecord } from './events/load-events.ts';

// A record dated 9999-12-31 once made replay run 416,106 weekly tunings; +275760-… never ended.
// Dates far outside the bulk of the input are rejected, and tunings advance only over spans that
// hold events. (How fast it runs belongs in the benchmarks; these tests count.)
const DAY = 86_400_000;
const START = Date.parse('2026-10-05T00:00:00Z');

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keysentry-plausible-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `count` reads spread evenly over `days` from `start`. */
const normal = (prefix: string, count: number, days: number, start = START): CloudTrailRecord[] =>
  Array.from({ length: count }, (_, i) => record(`${prefix}-${i}`, iso(start + Math.floor((i * days * DAY) / count))));

let fileNumber = 0;
async function replayRecords(records: readonly CloudTrailRecord[]): Promise<ReplayResult> {
  const path = join(root, `log-${++fileNumber}.json`);
  await writeFile(path, JSON.stringify({ Records: records }));
  return replayLogs({ paths: [path], warmupMs: 7 * DAY });
}

/** Weekly boundaries from the first day of records to the last of `days` days spread evenly (the last record comes before day `days`). */
const boundariesOf = (days: number): number => Math.floor((days - 1) / 7);

describe('implausible event times in replay', () => {
  it('rejects one record dated 9999-12-31 among three weeks of records, and tunes only over those weeks', async () => {
    const records = normal('n', 300, 21);
    const result = await replayRecords([...records.slice(0, 150), record('far', '9999-12-31T23:59:59Z'), ...records.slice(150)]);
    expect(result.summary.rejected).toEqual({ 'implausible-time': 1 });
    expect(result.summary.rejectedExamples['implausible-time']?.[0]).toMatch(/log-\d+\.json\b/);
    expect(result.summary.events).toBe(300);
    expect(result.summary.tunings).toBe(boundariesOf(21));
    expect(result.summary.lastEventTime).toBe(new Date(START + Math.floor((299 * 21 * DAY) / 300)).toISOString());
  });

  it('rejects a record dated +275760-09-13, the last date JavaScript can hold', async () => {
    const result = await replayRecords([record('edge', '+275760-09-13T00:00:00Z'), ...normal('n', 100, 21)]);
    expect(result.summary.rejected).toEqual({ 'implausible-time': 1 });
    expect(result.summary.events).toBe(100);
    expect(result.summary.tunings).toBe(boundariesOf(21));
  });

  it('rejects a record dated 1970, so the warm-up starts at the first genuine day', async () => {
    const result = await replayRecords([...normal('n', 100, 21), record('epoch', '1970-01-01T00:00:00Z')]);
    expect(result.summary.rejected).toEqual({ 'implausible-time': 1 });
    expect(result.summary.firstEventTime).toBe(new Date(START).toISOString());
    expect(result.summary.tunings).toBe(boundariesOf(21));
  });

  it('keeps two substantial periods a year apart, and tunes at most twice across the year between', async () => {
    const later = START + 365 * DAY;
    const result = await replayRecords([...normal('a', 100, 14), ...normal('b', 100, 14, later)]);
    expect(result.summary.rejected).toEqual({});
    expect(result.summary.events).toBe(200);
    // Of the 54 weekly boundaries from the first day to the last: those inside each period (the
    // second period, not aligned to the weeks, can hold two) and two for the year between.
    expect(result.summary.tunings).toBeLessThanOrEqual(boundariesOf(14) + 2 + 2);
    expect(result.summary.tunings).toBeGreaterThanOrEqual(boundariesOf(14) + 2);
  });

  it('keeps records a few days apart from the rest: only isolated days are implausible', async () => {
    const result = await replayRecords([...normal('a', 100, 14), ...normal('b', 3, 1, START + 25 * DAY)]);
    expect(result.summary.rejected).toEqual({});
    expect(result.summary.events).toBe(103);
  });

  it('tunes at most twice over the gap even when many records carry a far-future date', async () => {
    const future = Array.from({ length: 60 }, (_, i) => record(`f-${i}`, `9999-12-31T23:59:${String(i % 60).padStart(2, '0')}Z`));
    const result = await replayRecords([...normal('n', 100, 21), ...future]);
    expect(result.summary.rejected).toEqual({});
    expect(result.summary.events).toBe(160);
    expect(result.summary.tunings).toBeLessThanOrEqual(boundariesOf(21) + 2);
  });
});
