import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessEvent } from '../lib/domain/access-event.ts';
import { deliveryTimeOf, ReorderWindow } from '../lib/intake/delivery-order.ts';
import { replayLogs, type ReplayResult } from '../lib/engine/replay.ts';
import { listLogFiles, readLogFiles } from '../lib/intake/log-reader.ts';
import { simulateScenario } from '../lib/simulator/index.ts';
import { getObjectRecord as record, type CloudTrailRecord } from './events/load-events.ts';

// Files named with CloudTrail's delivery stamp are decided while the next ones are read, holding
// only an hour of events; what the full sort gave must not change, and the bounds that replace
// the whole-input profile (a record cannot postdate its file, nor lie a month before it, nor sit
// in a file whose stamp stands apart) must hold.
const MINUTE = 60_000;
const DAY = 86_400_000;
const START = Date.parse('2026-10-05T00:00:00Z');

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keysentry-delivery-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `count` reads spread evenly over `days` from START. */
const normal = (count: number, days: number): CloudTrailRecord[] =>
  Array.from({ length: count }, (_, i) => record(`n-${i}`, START + Math.floor((i * days * DAY) / count)));

const stampOf = (time: number): string => new Date(time).toISOString().slice(0, 16).replace(/[-:]/g, '');
let folderNumber = 0;
/** Writes each file (delivery time → records) under a CloudTrail name into a new folder. */
async function writeDelivered(files: ReadonlyMap<number, CloudTrailRecord[]>): Promise<string> {
  const dir = join(root, `trail-${++folderNumber}`);
  await mkdir(dir);
  let n = 0;
  for (const [at, records] of files) {
    const name = `111122223333_CloudTrail_eu-west-1_${stampOf(at)}Z_${String(n++).padStart(16, '0')}.json.gz`;
    await writeFile(join(dir, name), gzipSync(JSON.stringify({ Records: records })));
  }
  return dir;
}
/** Each record in the file of the five minutes it falls in, delivered at the period's end. */
function onTime(records: readonly CloudTrailRecord[]): Map<number, CloudTrailRecord[]> {
  const files = new Map<number, CloudTrailRecord[]>();
  for (const r of records) {
    const at = (Math.floor(Date.parse(r.eventTime as string) / (5 * MINUTE)) + 1) * 5 * MINUTE;
    files.set(at, [...(files.get(at) ?? []), r]);
  }
  return files;
}
const add = (files: Map<number, CloudTrailRecord[]>, at: number, ...records: CloudTrailRecord[]): Map<number, CloudTrailRecord[]> =>
  files.set(at, [...(files.get(at) ?? []), ...records]);

/** The most records of the trail within any `spanMs` of event time. */
async function busiest(paths: string[], spanMs: number): Promise<number> {
  const ignore = { count: () => undefined, skip: () => undefined };
  const times: number[] = [];
  for await (const batch of readLogFiles(await listLogFiles(paths), ignore)) {
    for (const r of batch.records as CloudTrailRecord[]) times.push(Date.parse(r.eventTime as string));
  }
  times.sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < times.length; last++) {
    while ((times[last] as number) - (times[first] as number) > spanMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

describe('delivery stamps', () => {
  it('reads the minute of delivery from a log or Insights file name, and nothing from other names', () => {
    expect(deliveryTimeOf('/x/111122223333_CloudTrail_us-east-1_20261103T1929Z_06236441fcb04ec2.json.gz')).toBe(Date.parse('2026-11-03T19:30:00Z'));
    expect(deliveryTimeOf('111122223333_CloudTrail-Insight_us-east-1_20261103T1929Z_a1b2c3d4e5f6a7b8.json.gz')).toBe(Date.parse('2026-11-03T19:30:00Z'));
    expect(deliveryTimeOf('111122223333_CloudTrail-Digest_eu-west-1_s3-data-events_eu-west-1_20261103T000258Z.json.gz')).toBeUndefined();
    expect(deliveryTimeOf('111122223333_CloudTrail_us-east-1_20261331T1929Z_06236441fcb04ec2.json.gz')).toBeUndefined();
    expect(deliveryTimeOf('111122223333_CloudTrail_us-east-1_20260431T1929Z_06236441fcb04ec2.json.gz')).toBeUndefined();
    expect(deliveryTimeOf('export.json')).toBeUndefined();
  });

  it('hands held events on in event-time order, and calls an event older than one handed on late', () => {
    const event = (eventId: string, eventTime: number) => ({ eventId, eventTime }) as AccessEvent;
    const window = new ReorderWindow();
    for (const e of [event('c', 30), event('a', 10), event('b', 10), event('d', 50)]) expect(window.add(e)).toBe(true);
    expect(window.release(30).map((e) => e.eventId)).toEqual(['a', 'b']);
    expect(window.add(event('early', 5))).toBe(false);
    expect(window.add(event('between', 20))).toBe(true);
    expect(window.drain().map((e) => e.eventId)).toEqual(['between', 'c', 'd']);
    expect(window.late).toBe(1);
    expect(window.heldAtMost).toBe(4);
  });
});

describe('replay in delivery order', () => {
  it('decides a simulated breach while reading, with the outcome of sorting everything first', { timeout: 180_000 }, async () => {
    await simulateScenario('breach', join(root, 'sim'), { seed: 11, days: 16, scale: 0.3 });
    const paths = [join(root, 'sim', 'AWSLogs')];
    const [delivered, sorted] = [await replayLogs({ paths }), await replayLogs({ paths, order: 'sorted', sortMemoryEvents: 5_000 })];
    expect(delivered.summary.order).toBe('delivery');
    expect(sorted.summary.order).toBe('sorted');
    expect(sorted.summary.sortRuns).toBeGreaterThan(1);
    expect(delivered.summary.sortRuns).toBe(0);
    expect(delivered.summary.lateEvents).toBe(0);
    // What is held is the reorder window's hour (plus files' delivery delays, at most 20 minutes
    // here), not the trail: no more than the busiest 90 minutes of event time.
    expect(delivered.summary.heldToReorder).toBeGreaterThan(0);
    expect(delivered.summary.heldToReorder).toBeLessThanOrEqual(await busiest(paths, 90 * MINUTE));
    expect(delivered.summary.heldToReorder).toBeLessThan(delivered.summary.events / 5);
    const outcome = (r: ReplayResult) => [r.incidents, r.summary.events, r.summary.duplicates, r.summary.batches, r.summary.tunings, r.summary.firstEventTime, r.summary.lastEventTime];
    expect(outcome(delivered)).toEqual(outcome(sorted));
    expect(delivered.incidents.some((incident) => incident.action === 'contain')).toBe(true);
  });

  it('rejects records dated after their file, a month before it, or in a file whose stamp stands apart', async () => {
    const files = onTime(normal(600, 21));
    const someFile = [...files.keys()][300] as number;
    add(files, someFile, record('far-future', '9999-12-31T23:59:59Z'), record('epoch', '1970-01-01T00:00:00Z'));
    add(files, someFile, record('after-delivery', someFile + 20 * MINUTE), record('clock-slack', someFile + 10 * MINUTE));
    const forged = Date.parse('2099-01-01T00:00:00Z');
    add(files, forged, ...Array.from({ length: 5 }, (_, i) => record(`forged-${i}`, forged - MINUTE)));
    const result = await replayLogs({ paths: [await writeDelivered(files)], warmupMs: 7 * DAY });
    expect(result.summary.order).toBe('delivery');
    expect(result.summary.rejected).toEqual({ 'implausible-time': 8 });
    expect(result.summary.rejectedExamples['implausible-time']?.[0]).toMatch(/_CloudTrail_eu-west-1_\d{8}T\d{4}Z_\d+\.json\.gz:1 #\d+$/);
    expect(result.summary.events).toBe(601);
    expect(result.summary.firstEventTime).toBe(new Date(START).toISOString());
    expect(result.summary.tunings).toBe(Math.floor((21 - 1) / 7));
  });

  it('decides a record delivered hours late as it comes and counts it, unless the window covers it', async () => {
    const files = onTime(normal(300, 3));
    const lateAt = START + DAY + 7 * MINUTE;
    add(files, lateAt + 3 * 60 * MINUTE, record('three-hours-late', lateAt));
    const dir = await writeDelivered(files);
    const late = await replayLogs({ paths: [dir] });
    expect(late.summary).toMatchObject({ order: 'delivery', lateEvents: 1, events: 301, rejected: {} });
    const covered = await replayLogs({ paths: [dir], reorderWindowMs: 4 * 60 * MINUTE });
    expect(covered.summary).toMatchObject({ order: 'delivery', lateEvents: 0, events: 301, rejected: {} });
  });

  it('sorts everything first when one file has no delivery stamp', async () => {
    const dir = await writeDelivered(onTime(normal(100, 2)));
    await writeFile(join(dir, 'export.json'), JSON.stringify({ Records: [record('exported', START + DAY)] }));
    const result = await replayLogs({ paths: [dir] });
    expect(result.summary).toMatchObject({ order: 'sorted', lateEvents: 0, events: 101 });
  });
});
