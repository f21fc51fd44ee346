import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createDetector } from '../lib/engine/score-engine.ts';
import { scoreLogFile, scoreSqsRecords } from '../lib/engine/score-pipeline.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { cloneRecord, loadRepairedRecords, pickRecord, type CloudTrailRecord } from './events/load-events.ts';

// A record dated after its own delivery is not genuine: it cannot open windows in the future.
const GET = pickRecord(loadRepairedRecords(), 'GetObject', (r) => r.eventName === 'GetObject');
const DELIVERED = Date.parse('2026-10-06T12:00:00Z');
const MINUTE = 60_000;

const at = (time: number, id: string): CloudTrailRecord =>
  cloneRecord(GET, (r) => {
    r.eventID = id;
    r.eventTime = new Date(time).toISOString().replace('.000Z', 'Z');
  });
const envelope = (detail: CloudTrailRecord): string => JSON.stringify({ 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.s3', detail });

describe('plausible time in the Lambdas', () => {
  it('rejects an SQS record dated more than 15 minutes after SQS received it, and scores the rest', async () => {
    const detector = createDetector({ store: new MemoryStore() });
    const messages = [
      { messageId: 'past', body: envelope(at(DELIVERED - 5 * MINUTE, 'past')), sentAt: DELIVERED },
      { messageId: 'skewed', body: envelope(at(DELIVERED + 10 * MINUTE, 'skewed')), sentAt: DELIVERED },
      { messageId: 'future', body: envelope(at(DELIVERED + 20 * MINUTE, 'future')), sentAt: DELIVERED },
      { messageId: 'far', body: envelope({ ...at(DELIVERED, 'far'), eventTime: '9999-12-31T23:59:59Z' }), sentAt: DELIVERED },
    ];
    const { report, outcome, batchItemFailures } = await scoreSqsRecords(messages, { detector, now: () => DELIVERED + MINUTE });
    expect(report.rejected).toEqual({ 'implausible-time': 2 });
    expect(report.examples['implausible-time']).toEqual(['sqs:future', 'sqs:far']);
    expect(report.events).toBe(2);
    expect(outcome?.events).toBe(2);
    expect(batchItemFailures).toEqual([]);
  });

  it('falls back to the time the batch is scored when SQS did not say when it received a message', async () => {
    const detector = createDetector({ store: new MemoryStore() });
    const messages = [{ messageId: 'future', body: envelope(at(DELIVERED + 20 * MINUTE, 'future')) }];
    const { report } = await scoreSqsRecords(messages, { detector, now: () => DELIVERED });
    expect(report.rejected).toEqual({ 'implausible-time': 1 });
  });

  it('rejects a log file record dated after the file was delivered', async () => {
    const detector = createDetector({ store: new MemoryStore() });
    const file = gzipSync(JSON.stringify({ Records: [at(DELIVERED - 4 * MINUTE, 'a'), at(DELIVERED - 2 * MINUTE, 'b'), at(DELIVERED + 60 * MINUTE, 'c')] }));
    const { report, batches } = await scoreLogFile(file, 's3://trail/file.json.gz', { detector, batchWindowMs: 10_000, deliveredAt: DELIVERED });
    expect(report.rejected).toEqual({ 'implausible-time': 1 });
    expect(report.events).toBe(2);
    expect(batches).toBe(2);
  });
});
