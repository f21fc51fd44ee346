import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayLogs, type ReplayResult } from '../lib/engine/replay.ts';
import { listLogFiles } from '../lib/intake/log-reader.ts';
import { simulateScenario, type SimulationManifest } from '../lib/simulator/index.ts';

// The same records in any order and any split into files must give the same incidents: exports
// from `lookup-events` or Athena come newest first, copies come shuffled, and file names need not
// sort in time order.
type LogRecord = { eventID: string; eventTime: string; userIdentity?: { accessKeyId?: string } };

let root: string;
let manifest: SimulationManifest;
let records: LogRecord[];
let inOrder: ReplayResult;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keysentry-order-'));
  manifest = await simulateScenario('breach', join(root, 'sim'), { seed: 7, days: 16, scale: 0.3 });
  records = [];
  for (const { path } of await listLogFiles([join(root, 'sim', 'AWSLogs')])) {
    const { Records } = JSON.parse(gunzipSync(await readFile(path)).toString('utf8')) as { Records: LogRecord[] };
    for (const record of Records) records.push(record);
  }
  inOrder = await replayLogs({ paths: [join(root, 'sim', 'AWSLogs')] });
}, 180_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes `files` (name → records) into a new folder and replays it. */
async function replayFiles(name: string, files: Record<string, readonly LogRecord[]>, sortMemoryEvents?: number): Promise<ReplayResult> {
  const dir = join(root, name);
  await mkdir(dir);
  for (const [file, content] of Object.entries(files)) {
    const text = JSON.stringify({ Records: content });
    await writeFile(join(dir, file), file.endsWith('.gz') ? gzipSync(text) : text);
  }
  return replayLogs({ paths: [dir], sortMemoryEvents });
}

const byTime = (order: 1 | -1) => (a: LogRecord, b: LogRecord) => order * (Date.parse(a.eventTime) - Date.parse(b.eventTime));

/** A deterministic shuffle (mulberry32), so a failure can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const copy = [...items];
  let state = seed;
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

function chunks<T>(items: readonly T[], count: number): T[][] {
  const size = Math.ceil(items.length / count);
  return Array.from({ length: count }, (_, i) => items.slice(i * size, (i + 1) * size));
}

/** What must not depend on the order of the input. */
const outcome = (result: ReplayResult) => ({
  incidents: result.incidents,
  events: result.summary.events,
  duplicates: result.summary.duplicates,
  actors: result.summary.actors,
  batches: result.summary.batches,
  tunings: result.summary.tunings,
  firstEventTime: result.summary.firstEventTime,
});

describe('replay in any order', () => {
  it('contains the breach in time order (the reference the other orders are held to)', () => {
    const attackerKeys = manifest.actors.filter((actor) => !actor.benign).flatMap((actor) => actor.accessKeyIds);
    const contained = inOrder.incidents.filter((incident) => incident.action === 'contain');
    expect(contained.map((incident) => attackerKeys.includes(incident.accessKeyId ?? ''))).toEqual([true]);
    expect(inOrder.summary.sortRuns).toBe(0);
  });

  it('gives the same incidents for the records newest first in one file', { timeout: 120_000 }, async () => {
    const result = await replayFiles('newest-first', { 'export.json': [...records].sort(byTime(-1)) });
    expect(outcome(result)).toEqual(outcome(inOrder));
  });

  it('gives the same incidents for the records shuffled across ten files', { timeout: 120_000 }, async () => {
    const files = Object.fromEntries(chunks(shuffled(records, 42), 10).map((chunk, i) => [`part-${i}.json.gz`, chunk]));
    const result = await replayFiles('shuffled', files);
    expect(outcome(result)).toEqual(outcome(inOrder));
  });

  it('gives the same incidents when the attacker is in a file whose name sorts last', { timeout: 120_000 }, async () => {
    const attackerKeys = new Set(manifest.actors.filter((actor) => !actor.benign).flatMap((actor) => actor.accessKeyIds));
    const isAttacker = (record: LogRecord): boolean => attackerKeys.has(record.userIdentity?.accessKeyId ?? '');
    const attack = records.filter(isAttacker);
    expect(attack.length).toBeGreaterThan(1000);
    const result = await replayFiles('attacker-last', {
      'a-everyone-else.json': records.filter((record) => !isAttacker(record)),
      'z-attacker.json': attack,
    });
    expect(outcome(result)).toEqual(outcome(inOrder));
  });

  it('gives the same incidents newest first one file per day, sorted on disk in bounded memory', { timeout: 120_000 }, async () => {
    const days = new Map<string, LogRecord[]>();
    for (const record of [...records].sort(byTime(-1))) {
      const day = record.eventTime.slice(0, 10);
      days.set(day, [...(days.get(day) ?? []), record]);
    }
    const files = Object.fromEntries([...days].map(([day, content]) => [`${day}.json`, content]));
    const result = await replayFiles('daily-newest-first', files, 2_000);
    expect(result.summary.sortRuns).toBeGreaterThan(5);
    expect(outcome(result)).toEqual(outcome(inOrder));
  });
});
