import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayLogs, type ReplayResult } from '../lib/engine/replay.ts';
import { createDetector } from '../lib/engine/score-engine.ts';
import { scoreLogFile, scoreSqsRecords } from '../lib/engine/score-pipeline.ts';
import { listLogFiles } from '../lib/intake/log-reader.ts';
import { simulateScenario } from '../lib/simulator/index.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';

// One intake for the three paths: what replay drops for a bucket filter is what the Lambdas drop.
const PROTECTED = ['checkup-results'];
let root: string;
let files: string[];
let replayed: ReplayResult;

interface Tally {
  records: number;
  unprotected: number;
  admitted: number;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keysentry-intake-'));
  await simulateScenario('benign', join(root, 'sim'), { days: 1, seed: 11 });
  files = (await listLogFiles([join(root, 'sim', 'AWSLogs')])).map((file) => file.path);
  replayed = await replayLogs({ paths: [join(root, 'sim', 'AWSLogs')], warmupMs: 86_400_000, protectedBuckets: PROTECTED });
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The score-logfile path: each file scored on its own, as S3 notifies them. */
async function throughLogFiles(): Promise<Tally> {
  const store = new MemoryStore();
  const detector = createDetector({ store });
  const tally: Tally = { records: 0, unprotected: 0, admitted: 0 };
  for (const path of files) {
    const { report } = await scoreLogFile(await readFile(path), path, { detector, batchWindowMs: 10_000, protectedBuckets: PROTECTED });
    tally.records += report.records;
    tally.unprotected += report.skipped['unprotected-bucket'] ?? 0;
    tally.admitted += report.events + report.duplicates;
  }
  return tally;
}

/** The score path: every record of every file as an EventBridge envelope in an SQS message. */
async function throughSqs(): Promise<Tally> {
  const store = new MemoryStore();
  const detector = createDetector({ store });
  const tally: Tally = { records: 0, unprotected: 0, admitted: 0 };
  let id = 0;
  for (const path of files) {
    const { Records } = JSON.parse(gunzipSync(await readFile(path)).toString('utf8')) as { Records: Array<{ eventTime: string }> };
    const messages = Records.map((detail) => ({
      messageId: `m-${++id}`,
      body: JSON.stringify({ 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.s3', detail }),
      sentAt: Date.parse(detail.eventTime) + 60_000,
    }));
    const latest = Math.max(...Records.map((record) => Date.parse(record.eventTime)));
    const { report } = await scoreSqsRecords(messages, { detector, now: () => latest + 60_000, protectedBuckets: PROTECTED });
    tally.records += report.records;
    tally.unprotected += report.skipped['unprotected-bucket'] ?? 0;
    tally.admitted += report.events + report.duplicates;
  }
  return tally;
}

describe('one intake for the Lambdas and replay', () => {
  it('replay with a bucket filter drops exactly the records score-logfile drops', { timeout: 120_000 }, async () => {
    const lambda = await throughLogFiles();
    const { summary } = replayed;
    expect(summary.skipped['unprotected-bucket']).toBeGreaterThan(0);
    expect(summary.events).toBeGreaterThan(0);
    expect(summary.records).toBe(lambda.records);
    expect(summary.skipped['unprotected-bucket']).toBe(lambda.unprotected);
    expect(summary.events + summary.duplicates).toBe(lambda.admitted);
  });

  it('and exactly the records the SQS path drops', { timeout: 120_000 }, async () => {
    const sqs = await throughSqs();
    const { summary } = replayed;
    expect(summary.records).toBe(sqs.records);
    expect(summary.skipped['unprotected-bucket']).toBe(sqs.unprotected);
    expect(summary.events + summary.duplicates).toBe(sqs.admitted);
  });

  it('drops only what is off the protected bucket: without the filter those records are scored', { timeout: 120_000 }, async () => {
    const unfiltered = (await replayLogs({ paths: [join(root, 'sim', 'AWSLogs')], warmupMs: 86_400_000 })).summary;
    const filtered = replayed.summary;
    expect(unfiltered.skipped['unprotected-bucket']).toBeUndefined();
    expect(unfiltered.events + unfiltered.duplicates).toBe(filtered.events + filtered.duplicates + (filtered.skipped['unprotected-bucket'] ?? 0));
  });
});
