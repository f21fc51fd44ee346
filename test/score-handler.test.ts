import { captureStdout } from './support/test-hooks.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { S3Event, SQSEvent, SQSRecord } from 'aws-lambda';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { makeScoreHandler } from '../functions/score-handler.ts';
import { makeScoreLogFileHandler, type ObjectReader } from '../functions/score-logfile-handler.ts';
import { createDetector } from '../lib/engine/score-engine.ts';
import { DispatchError, StoreError } from '../lib/domain/errors.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { scoreSqsRecords } from '../lib/engine/score-pipeline.ts';
import type { StoredWindow } from '../lib/store/store.ts';
import type { WindowStats } from '../lib/domain/window-counter.ts';
import { cloneRecord, loadRepairedRecords, type CloudTrailRecord } from './events/load-events.ts';
import { breachIncident } from './fixtures/incidents.ts';

// The OTRF breach: stolen instance-profile credentials list and download from S3 (eventTime restored).
const RECORDS = loadRepairedRecords();
const S3_DATA_EVENTS = RECORDS.filter(
  (record) => record.eventSource === 's3.amazonaws.com' && typeof record.requestParameters?.bucketName === 'string',
);
/** The stolen role session: one actor across its keys (ASIA5FLZVX4OPVKKVBMX in the recording). */
const THIEF = 'arn:aws:sts::123456789123:assumed-role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0/i-0317f6c6b66ae9c40';
const OTHER_SESSION = 'i-0000000000example';
const BUCKET = 'mordors3stack-s3bucket-llp2yingx64a';
/** Just after the last S3 data event of the recording (01:13:20). */
const DECISION_TIME = Date.parse('2020-09-14T01:14:00Z');
const WINDOW_MS = 300_000;

/** The EventBridge "AWS API Call via CloudTrail" envelope around a record, as the rule delivers it. */
function envelope(record: CloudTrailRecord): Record<string, unknown> {
  return {
    version: '0',
    id: `eb-${record.eventID}`,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.s3',
    account: record.recipientAccountId,
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}

let nextMessage = 0;
function sqsRecord(body: string, sentTimestamp = DECISION_TIME - 2_000): SQSRecord {
  const messageId = `message-${++nextMessage}`;
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(sentTimestamp),
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: String(sentTimestamp + 10),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:111122223333:keysentry-dev-IntakeQueue',
    awsRegion: 'eu-west-1',
  };
}

const sqsEvent = (bodies: readonly string[]): SQSEvent => ({ Records: bodies.map((body) => sqsRecord(body)) });
const envelopeBodies = (records: readonly CloudTrailRecord[]): string[] => records.map((record) => JSON.stringify(envelope(record)));

const silentLogger = (): Logger => new Logger({ serviceName: 'keysentry', logLevel: 'SILENT' });
const testMetrics = (): Metrics => new Metrics({ namespace: 'keysentry-test', serviceName: 'keysentry' });

/** What the handlers wrote to stdout: Powertools Metrics writes EMF there, one JSON object a line. */
const stdout: string[] = [];
captureStdout(stdout);

/** The EMF metric lines written since `since` (an index into `stdout`). */
const emittedMetrics = (since = 0): Array<Record<string, unknown>> =>
  stdout
    .slice(since)
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

function scoreHandlerOn(store: MemoryStore, now = DECISION_TIME) {
  return makeScoreHandler({
    store,
    detector: createDetector({ store, windowMs: WINDOW_MS }),
    logger: silentLogger(),
    metrics: testMetrics(),
    now: () => now,
  });
}

/** The actor's window totals over the recording. */
async function totalsOf(store: MemoryStore, actor: string): Promise<Pick<WindowStats, 'events' | 'gets' | 'lists'>> {
  const first = Math.floor(Date.parse('2020-09-14T00:00:00Z') / WINDOW_MS);
  const windows: StoredWindow[] = await store.getWindows(actor, first, Math.floor(DECISION_TIME / WINDOW_MS));
  return windows.reduce(
    (sum, window) => ({ events: sum.events + window.events, gets: sum.gets + window.gets, lists: sum.lists + window.lists }),
    { events: 0, gets: 0, lists: 0 },
  );
}

/** A second actor made from the real records: the same calls by another session of the role, with new ids. */
const otherActor = (records: readonly CloudTrailRecord[]): CloudTrailRecord[] =>
  records.map((record) =>
    cloneRecord(record, (copy) => {
      copy.eventID = `copy-${record.eventID}`;
      if (copy.userIdentity === undefined) return;
      copy.userIdentity.accessKeyId = 'ASIAEXAMPLEOTHERKEY1';
      copy.userIdentity.arn = THIEF.replace(/[^/]+$/, OTHER_SESSION);
      copy.userIdentity.principalId = `${String(copy.userIdentity.principalId).split(':')[0]}:${OTHER_SESSION}`;
    }),
  );

/** Fails the store's window writes from the `failFrom`-th on, the way a throttled table does. */
class ThrottledStore extends MemoryStore {
  private calls = 0;
  healthy = false;

  constructor(private readonly failFrom: number) {
    super();
  }

  override async addWindows(...args: Parameters<MemoryStore['addWindows']>): ReturnType<MemoryStore['addWindows']> {
    this.calls++;
    if (!this.healthy && this.calls >= this.failFrom) {
      // What the SDK throws once its own retries gave up on a throttled table.
      const throttled = Object.assign(new Error('The level of configured provisioned throughput for the table was exceeded'), {
        name: 'ProvisionedThroughputExceededException',
        $metadata: { httpStatusCode: 400 },
        $retryable: { throttling: true },
      });
      throw new StoreError('window write failed', { cause: throttled });
    }
    return super.addWindows(...args);
  }
}

describe('score handler (SQS batches of EventBridge envelopes)', () => {
  it('the corpus holds the S3 data events these tests deliver', () => {
    expect(S3_DATA_EVENTS).toHaveLength(9);
  });

  it('scores real CloudTrail records delivered through EventBridge and SQS', async () => {
    const store = new MemoryStore();
    const response = await scoreHandlerOn(store)(sqsEvent(envelopeBodies(S3_DATA_EVENTS)));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await totalsOf(store, THIEF)).toEqual({ events: 9, gets: 2, lists: 7 });
    const emitted = emittedMetrics();
    expect(emitted).toContainEqual(expect.objectContaining({ EventsScored: 9 }));
    expect(emitted).toContainEqual(expect.objectContaining({ Decisions: 1, action: 'none' }));
    // Latency runs from the oldest event of the batch (01:00:33) to the decision.
    expect(emitted).toContainEqual(expect.objectContaining({ BatchLatencyMs: DECISION_TIME - Date.parse('2020-09-14T01:00:33Z') }));
  });

  it('hands the incidents of a batch to the responder, and counts a failed hand-over without retrying the batch', async () => {
    const store = new MemoryStore();
    const incident = breachIncident();
    const handedOver: string[][] = [];
    const handler = makeScoreHandler({
      store,
      detector: {
        processBatch: async (events) => ({ events: events.length, fresh: events.length, actors: 1, verdicts: [], changes: [{ kind: 'created', incident }] }),
      },
      notify: async (changes) => {
        handedOver.push(changes.map((change) => change.incident.incidentId));
        throw new DispatchError('could not invoke keysentry-dev-contain for KS-HKDURC; marked for its next run', ['KS-HKDURC'], true);
      },
      logger: silentLogger(),
      metrics: testMetrics(),
      now: () => DECISION_TIME,
    });

    const response = await handler(sqsEvent(envelopeBodies(S3_DATA_EVENTS)));

    expect(handedOver).toEqual([['KS-HKDURC']]);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(emittedMetrics()).toContainEqual(expect.objectContaining({ DispatchFailed: 1 }));
  });

  it('acknowledges a poison message in the middle of a batch and scores the rest', async () => {
    const store = new MemoryStore();
    const bodies = envelopeBodies(S3_DATA_EVENTS);
    bodies.splice(4, 0, '{"detail-type": "AWS API Call via CloudTrail", "detail": {');
    const event = sqsEvent(bodies);

    const response = await scoreHandlerOn(store)(event);

    expect(response.batchItemFailures).toEqual([]);
    expect(await totalsOf(store, THIEF)).toEqual({ events: 9, gets: 2, lists: 7 });
    expect(emittedMetrics()).toContainEqual(expect.objectContaining({ Rejected: 1, reason: 'not-json' }));
  });

  it('reports the poison message by reason with its message id', async () => {
    const store = new MemoryStore();
    const messages = [
      { messageId: 'good-1', body: JSON.stringify(envelope(S3_DATA_EVENTS[0] as CloudTrailRecord)) },
      { messageId: 'poison', body: 'not json at all' },
      { messageId: 'no-time', body: JSON.stringify(envelope(cloneRecord(S3_DATA_EVENTS[1] as CloudTrailRecord, (r) => delete r.eventTime))) },
    ];
    const scored = await scoreSqsRecords(messages, { detector: createDetector({ store }), now: () => DECISION_TIME });

    expect(scored.batchItemFailures).toEqual([]);
    expect(scored.report.toJSON()).toMatchObject({
      records: 3,
      events: 1,
      rejected: { 'not-json': 1, 'missing-eventTime': 1 },
      rejectedExamples: { 'not-json': ['sqs:poison'], 'missing-eventTime': ['sqs:no-time'] },
    });
  });

  it('skips events of buckets it does not protect without retrying them', async () => {
    const store = new MemoryStore();
    const handler = makeScoreHandler({
      store,
      protectedBuckets: ['some-other-bucket'],
      logger: silentLogger(),
      metrics: testMetrics(),
      now: () => DECISION_TIME,
    });
    const response = await handler(sqsEvent(envelopeBodies(S3_DATA_EVENTS)));

    expect(response.batchItemFailures).toEqual([]);
    expect(await totalsOf(store, THIEF)).toEqual({ events: 0, gets: 0, lists: 0 });
  });

  it('returns every message to the queue when the store fails', async () => {
    const store = new ThrottledStore(1);
    const event = sqsEvent(envelopeBodies(S3_DATA_EVENTS));

    const response = await scoreHandlerOn(store)(event);

    expect(response.batchItemFailures).toEqual(event.Records.map((record) => ({ itemIdentifier: record.messageId })));
    expect(emittedMetrics()).toContainEqual(expect.objectContaining({ MessagesRetried: 9 }));
  });

  it('does not retry a poison message with the batch a store failure sends back', async () => {
    const store = new ThrottledStore(1);
    const event = sqsEvent(['not json', ...envelopeBodies(S3_DATA_EVENTS)]);

    const response = await scoreHandlerOn(store)(event);

    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(
      event.Records.slice(1).map((record) => record.messageId),
    );
  });

  it('counts a batch that failed half-way once when SQS delivers it again', async () => {
    // The first actor's window is written, then the store fails on the second actor's.
    const store = new ThrottledStore(2);
    const records = [...S3_DATA_EVENTS, ...otherActor(S3_DATA_EVENTS)];
    const event = sqsEvent(envelopeBodies(records));
    const handler = scoreHandlerOn(store);

    const first = await handler(event);
    expect(first.batchItemFailures).toHaveLength(records.length);

    store.healthy = true;
    const second = await handler(event);

    expect(second.batchItemFailures).toEqual([]);
    expect(await totalsOf(store, THIEF)).toEqual({ events: 9, gets: 2, lists: 7 });
    expect(await totalsOf(store, THIEF.replace(/[^/]+$/, OTHER_SESSION))).toEqual({ events: 9, gets: 2, lists: 7 });
  });

  it('leaves window totals unchanged when the same batch is delivered twice', async () => {
    const store = new MemoryStore();
    const handler = scoreHandlerOn(store);
    const bodies = envelopeBodies(S3_DATA_EVENTS);

    await handler(sqsEvent(bodies));
    const totals = await totalsOf(store, THIEF);
    const writes = store.writes;
    const since = stdout.length;
    const again = await handler(sqsEvent(bodies));

    expect(again.batchItemFailures).toEqual([]);
    expect(await totalsOf(store, THIEF)).toEqual(totals);
    expect(store.writes).toBe(writes);
    expect(emittedMetrics(since)).toContainEqual(expect.objectContaining({ EventsScored: 9, StoreWrites: 0 }));
  });

  it('counts an event delivered twice in one batch once', async () => {
    const store = new MemoryStore();
    const bodies = envelopeBodies(S3_DATA_EVENTS);
    await scoreHandlerOn(store)(sqsEvent([...bodies, ...bodies]));

    expect(await totalsOf(store, THIEF)).toEqual({ events: 9, gets: 2, lists: 7 });
  });
});

describe('score-logfile handler (S3 notifications of CloudTrail log files)', () => {
  const KEY = 'AWSLogs/123456789123/CloudTrail/us-east-1/2020/09/14/123456789123_CloudTrail_us-east-1_20200914T0115Z_AbCdEfGhIjKlMnOp.json.gz';
  const logFile = (records: readonly CloudTrailRecord[]): Uint8Array => gzipSync(JSON.stringify({ Records: records }));

  function s3Event(key: string, etag = 'etag-1'): S3Event {
    return {
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: 'us-east-1',
          eventTime: '2020-09-14T01:20:00.000Z',
          eventName: 'ObjectCreated:Put',
          userIdentity: { principalId: 'AWS:AROAEXAMPLE:cloudtrail' },
          requestParameters: { sourceIPAddress: '10.0.0.1' },
          responseElements: { 'x-amz-request-id': 'R1', 'x-amz-id-2': 'I2' },
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: 'keysentry',
            bucket: { name: 'trail-bucket', ownerIdentity: { principalId: 'A1' }, arn: 'arn:aws:s3:::trail-bucket' },
            object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), size: 1, eTag: etag, sequencer: '0A1B' },
          },
        },
      ],
    };
  }

  function logFileHandlerOn(store: MemoryStore, files: Record<string, Uint8Array>) {
    const readObject: ObjectReader = async ({ key }) => files[key];
    return makeScoreLogFileHandler({
      store,
      detector: createDetector({ store, windowMs: WINDOW_MS }),
      readObject,
      logger: silentLogger(),
      metrics: testMetrics(),
      now: () => DECISION_TIME + 600_000,
    });
  }

  it('scores the S3 data events of a real log file and skips the rest', async () => {
    const store = new MemoryStore();
    await logFileHandlerOn(store, { [KEY]: logFile(RECORDS) })(s3Event(KEY));

    expect(await totalsOf(store, THIEF)).toEqual({ events: 9, gets: 2, lists: 7 });
    expect(emittedMetrics()).toContainEqual(expect.objectContaining({ EventsScored: 9 }));
  });

  it('counts once what EventBridge already delivered when the log file arrives', async () => {
    const store = new MemoryStore();
    await scoreHandlerOn(store)(sqsEvent(envelopeBodies(S3_DATA_EVENTS.slice(0, 5))));
    await logFileHandlerOn(store, { [KEY]: logFile(RECORDS) })(s3Event(KEY));

    expect(await totalsOf(store, THIEF)).toEqual({ events: 9, gets: 2, lists: 7 });
  });

  it('acknowledges a corrupt log file and reports it', async () => {
    const store = new MemoryStore();
    const corrupt = logFile(RECORDS);
    corrupt.fill(0x41, 10, 60);

    await expect(logFileHandlerOn(store, { [KEY]: corrupt })(s3Event(KEY))).resolves.toBeUndefined();
    expect(emittedMetrics()).toContainEqual(expect.objectContaining({ Rejected: 1, reason: 'corrupt-gzip' }));
    expect(await totalsOf(store, THIEF)).toEqual({ events: 0, gets: 0, lists: 0 });
  });

  it('scores what a truncated log file holds before the cut', async () => {
    const store = new MemoryStore();
    const ndjson = gzipSync(RECORDS.map((record) => JSON.stringify(record)).join('\n'));
    const truncated = ndjson.subarray(0, Math.floor(ndjson.length * 0.6));

    await logFileHandlerOn(store, { [KEY]: truncated })(s3Event(KEY));
    expect(emittedMetrics()).toContainEqual(expect.objectContaining({ Rejected: 1, reason: 'truncated-gzip' }));
  });

  it('succeeds when the log file is gone before it is read', async () => {
    await expect(logFileHandlerOn(new MemoryStore(), {})(s3Event(KEY))).resolves.toBeUndefined();
  });

  it('leaves CloudTrail digest files alone', async () => {
    const store = new MemoryStore();
    const digest = KEY.replace('/CloudTrail/', '/CloudTrail-Digest/');
    await logFileHandlerOn(store, { [digest]: logFile(RECORDS) })(s3Event(digest));

    expect(await totalsOf(store, THIEF)).toEqual({ events: 0, gets: 0, lists: 0 });
  });

  it('throws a store failure so that Lambda retries the notification', async () => {
    const store = new ThrottledStore(1);
    await expect(logFileHandlerOn(store, { [KEY]: logFile(RECORDS) })(s3Event(KEY))).rejects.toThrow(StoreError);
  });
});
