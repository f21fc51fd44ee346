import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayLogs, type ReplayResult } from '../lib/engine/replay.ts';
import { simulateScenario } from '../lib/simulator/index.ts';
import { cloneRecord, loadRecords, loadRepairedRecords, pickRecord } from './events/load-events.ts';

// Replay over well-formed simulated logs mixed with every kind of damaged input: it must finish,
// score everything readable, and count each problem under its reason.
let root: string;
let result: ReplayResult;
let clean: ReplayResult;
const UNICODE_KEYS = ['検診/山田太郎/結果.pdf', 'résumé/Zoë 🩺.pdf', 'عربى/ملف.pdf', 'e\u0301\u0301/x.pdf', `long/${'k'.repeat(1019)}`];
let bigFileRecords = 0;
let salvagedRecords = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keysentry-hostile-'));
  const logs = join(root, 'logs');
  await simulateScenario('benign', join(root, 'sim'), { days: 2, seed: 5 });
  clean = await replayLogs({ paths: [join(root, 'sim', 'AWSLogs')], warmupMs: 86_400_000 });

  await mkdir(logs, { recursive: true });
  const get = pickRecord(loadRepairedRecords(), 'GetObject', (r) => r.eventName === 'GetObject');
  const at = (i: number) => new Date(Date.parse('2026-10-06T12:00:00Z') + i * 1000).toISOString().replace('.000Z', 'Z');
  const records = (count: number, prefix: string) =>
    Array.from({ length: count }, (_, i) =>
      cloneRecord(get, (r) => {
        r.eventID = `${prefix}-${i}`;
        r.eventTime = at(i % 3600);
      }),
    );
  const cut = records(200, 'cut');
  const full = gzipSync(JSON.stringify({ Records: cut }));
  await writeFile(join(logs, 'truncated.json.gz'), full.subarray(0, full.length >> 1));
  // The whole records zlib can still inflate before the cut.
  const inflated = gunzipSync(full.subarray(0, full.length >> 1), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('utf8');
  salvagedRecords = cut.filter((record) => inflated.includes(JSON.stringify(record))).length;
  await writeFile(join(logs, 'not-json.json'), 'this is not a CloudTrail log\n\u0000\u0001binary\n');
  const raw = loadRecords().find((r) => r.eventName === 'GetObject');
  await writeFile(join(logs, 'logstash-copy.jsonl'), `${JSON.stringify(raw)}\n`);
  const unicode = UNICODE_KEYS.map((key, i) =>
    cloneRecord(get, (r) => {
      r.eventID = `unicode-${i}`;
      r.eventTime = at(i);
      r.requestParameters = { ...(r.requestParameters as object), key };
    }),
  );
  await writeFile(join(logs, 'unicode.json'), JSON.stringify({ Records: unicode }));
  // A 50 MB log file: CloudTrail's own limit per file is far below this.
  let big = records(1, 'big');
  const one = Buffer.byteLength(JSON.stringify(big[0]));
  bigFileRecords = Math.ceil((50 * 1024 * 1024) / (one + 1));
  big = records(bigFileRecords, 'big');
  await writeFile(join(logs, 'big.json'), JSON.stringify({ Records: big }));
  result = await replayLogs({ paths: [join(root, 'sim', 'AWSLogs'), logs], warmupMs: 86_400_000 });
}, 180_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('replay over damaged and extreme input', () => {
  it('finishes and counts each problem under its reason', () => {
    // The cut gzip is counted twice: as a truncated file, and for the record the cut fell into.
    expect(result.summary.rejected).toEqual({ 'truncated-gzip': 1, 'truncated-record': 1, 'missing-eventTime': 1 });
    expect(result.summary.rejectedExamples['truncated-gzip']?.[0]).toContain('truncated.json.gz');
    // Found in a folder, a file that does not start like JSON is not a log file.
    expect(result.summary.skipped['not-a-log-file']).toBe(1);
  });

  it('scores every readable record: the clean logs, the records before the cut, the Unicode keys and the 50 MB file', () => {
    expect(salvagedRecords).toBeGreaterThan(0);
    expect(result.summary.events).toBe(clean.summary.events + salvagedRecords + UNICODE_KEYS.length + bigFileRecords);
  });
});
