import { captureStdout } from './support/test-hooks.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { makeScoreHandler } from '../functions/score-handler.ts';
import { DynamoDbStore, ensureTables } from '../lib/aws/dynamodb-store.ts';
import { classifyStoreFailure } from '../lib/aws/store-errors.ts';
import { StoreError } from '../lib/domain/errors.ts';
import { checkS3Limits, S3_LIMITS } from '../lib/domain/record-limits.ts';
import { createDetector } from '../lib/engine/score-engine.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import type { DetectorStore } from '../lib/store/store.ts';
import { cloneRecord, loadRepairedRecords, pickRecord, type CloudTrailRecord } from './events/load-events.ts';
import { createEmulatorDynamoDbClient, uniqueName } from './support/aws-clients.ts';

// One record the store cannot take must not send the whole SQS batch back: against moto_server's
// DynamoDB, 31 messages of which one is beyond S3's limits (rejected at intake) or beyond
// DynamoDB's (refused by the store, isolated as poison), the other 30 written, nothing retried.

const START = Date.parse('2026-03-02T10:00:00Z');
const DECISION = START + 60_000;
const ROLE_SESSION = 'arn:aws:sts::123456789123:assumed-role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0';
const KEYS = ['ASIAEXAMPLEREADER001', 'ASIAEXAMPLEREADER002', 'ASIAEXAMPLEREADER003'];
/** Three sessions of the record's role: a session, not its key, is the actor. */
const SESSIONS = ['reader-1', 'reader-2', 'reader-3'];
const ACTORS = SESSIONS.map((session) => `${ROLE_SESSION}/${session}`);

/** Makes the copy a call of the given session of the record's role. */
function asSession(copy: CloudTrailRecord, session: string, key: string): void {
  const identity = copy.userIdentity as Record<string, unknown>;
  identity.arn = `${ROLE_SESSION}/${session}`;
  identity.principalId = `AROA5FLZVX4OAMSW6BCRH:${session}`;
  identity.accessKeyId = key;
}
const READ = pickRecord(loadRepairedRecords(), 'GetObject', (record) => record.eventName === 'GetObject');

/** The i-th read of a real GetObject record, by one of three session keys, changed by `change`. */
function read(i: number, change: (copy: CloudTrailRecord) => void = () => {}): CloudTrailRecord {
  return cloneRecord(READ, (copy) => {
    copy.eventID = `${uniqueName('evt')}-${i}`;
    copy.eventTime = new Date(START + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    copy.requestParameters = { ...copy.requestParameters, key: `results/patient-${i}.pdf` };
    asSession(copy, SESSIONS[i % SESSIONS.length]!, KEYS[i % KEYS.length]!);
    change(copy);
  });
}

function batch(records: readonly CloudTrailRecord[]): SQSEvent {
  return {
    Records: records.map((record, i) => ({
      messageId: `message-${i}`,
      receiptHandle: `receipt-${i}`,
      body: JSON.stringify({ version: '0', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.s3', detail: record }),
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(DECISION - 2_000), SenderId: 'x', ApproximateFirstReceiveTimestamp: String(DECISION) },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:111122223333:keysentry-dev-IntakeQueue',
      awsRegion: 'eu-west-1',
    })),
  } as SQSEvent;
}

const thirtyGood = (): CloudTrailRecord[] => Array.from({ length: 30 }, (_, i) => read(i));

function handlerOn(store: DetectorStore, logger = new Logger({ serviceName: 'keysentry', logLevel: 'SILENT' })) {
  return makeScoreHandler({
    store,
    detector: createDetector({ store, policy: { dryRun: true } }),
    logger,
    metrics: new Metrics({ namespace: 'keysentry-test', serviceName: 'keysentry' }),
    now: () => DECISION,
  });
}

/** Events the store holds for the three readers in the batch's window. */
async function written(store: DetectorStore): Promise<number> {
  const window = Math.floor(START / 900_000);
  let total = 0;
  for (const actor of ACTORS) for (const stored of await store.getWindows(actor, window, window)) total += stored.events;
  return total;
}

const stdout: string[] = [];
captureStdout(stdout);
const rejectedMetrics = () =>
  stdout.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as { reason?: string; Rejected?: number };
      return parsed.Rejected === undefined ? [] : [[parsed.reason, parsed.Rejected]];
    } catch {
      return [];
    }
  });

describe('the 31-message batch against DynamoDB (moto_server)', () => {
  let client: ReturnType<typeof createEmulatorDynamoDbClient>;
  const freshStore = async () => {
    const tables = { windowsTable: uniqueName('ks-iso-windows'), stateTable: uniqueName('ks-iso-state') };
    await ensureTables(client, tables);
    return new DynamoDbStore({ client, ...tables });
  };
  beforeAll(() => {
    client = createEmulatorDynamoDbClient();
  });

  it('rejects a record with a 1 MB object key at intake and writes the other 30', { timeout: 60_000 }, async () => {
    const store = await freshStore();
    const poison = read(30, (copy) => void (copy.requestParameters = { ...copy.requestParameters, key: 'k'.repeat(1_048_576) }));
    const response = await handlerOn(store)(batch([...thirtyGood(), poison]));
    expect(response.batchItemFailures).toEqual([]);
    expect(await written(store)).toBe(30);
    expect(rejectedMetrics()).toEqual([['object-key-too-long', 1]]);
  });

  it('rejects a record moving 1e130 bytes at intake and writes the other 30', { timeout: 60_000 }, async () => {
    const store = await freshStore();
    const poison = read(30, (copy) => void (copy.additionalEventData = { ...copy.additionalEventData, bytesTransferredOut: 1e130 }));
    const response = await handlerOn(store)(batch([...thirtyGood(), poison]));
    expect(response.batchItemFailures).toEqual([]);
    expect(await written(store)).toBe(30);
    expect(rejectedMetrics()).toEqual([['bytes-out-of-range', 1]]);
  });

  it('isolates a record DynamoDB refuses (a 3,000-byte session name in the partition key) and writes the other 30', { timeout: 60_000 }, async () => {
    const store = await freshStore();
    const poison = read(30, (copy) => asSession(copy, 'X'.repeat(3000), 'ASIAEXAMPLEREADER004'));
    const warnings: unknown[] = [];
    const logger = new Logger({ serviceName: 'keysentry', logLevel: 'SILENT' });
    vi.spyOn(logger, 'error').mockImplementation((...args: unknown[]) => void warnings.push(args));
    const response = await handlerOn(store, logger)(batch([...thirtyGood(), poison]));
    expect(response.batchItemFailures).toEqual([]);
    expect(await written(store)).toBe(30);
    expect(rejectedMetrics()).toEqual([['store-rejected', 1]]);
    expect(JSON.stringify(warnings)).toContain('message-30');
    expect(JSON.stringify(warnings)).toContain('ValidationException');
  });
});

/** A memory store whose window writes fail with `error` for the actors `failing` names. */
class FailingStore extends MemoryStore {
  constructor(
    private readonly failing: (actor: string) => boolean,
    private readonly error: () => unknown,
  ) {
    super();
  }
  override async addWindows(...args: Parameters<MemoryStore['addWindows']>): ReturnType<MemoryStore['addWindows']> {
    if (args[0].some((write) => this.failing(write.delta.actor))) throw this.error();
    return super.addWindows(...args);
  }
}

const sdkError = (name: string, status: number, retryable?: object) =>
  Object.assign(new Error(`${name} from DynamoDB`), { name, $metadata: { httpStatusCode: status }, ...(retryable ? { $retryable: retryable } : {}) });

describe('which store failures retry the batch', () => {
  it('retries every message when the table is throttled', async () => {
    const store = new FailingStore(
      (actor) => actor === ACTORS[1],
      () => new StoreError('DynamoDB UpdateItem failed', { cause: sdkError('ProvisionedThroughputExceededException', 400, { throttling: true }) }),
    );
    const response = await handlerOn(store)(batch(thirtyGood()));
    expect(response.batchItemFailures).toHaveLength(30);
  });

  it('retries every message when every one is refused alone: the fault is the deployment, not a message', async () => {
    const store = new FailingStore(() => true, () => new StoreError('DynamoDB UpdateItem failed', { cause: sdkError('ValidationException', 400) }));
    const response = await handlerOn(store)(batch(thirtyGood()));
    expect(response.batchItemFailures).toHaveLength(30);
  });

  it('sorts failures: throttling, 5xx, lost races and a missing table retry; a validation error is the data', () => {
    expect(classifyStoreFailure(new StoreError('x', { cause: sdkError('ThrottlingException', 400, { throttling: true }) }))).toBe('transient');
    expect(classifyStoreFailure(new StoreError('x', { cause: sdkError('InternalServerError', 500) }))).toBe('transient');
    expect(classifyStoreFailure(new StoreError('window kept changing under 8 attempts'))).toBe('transient');
    expect(classifyStoreFailure(new StoreError('x', { cause: sdkError('ResourceNotFoundException', 400) }))).toBe('transient');
    expect(classifyStoreFailure(new StoreError('x', { cause: sdkError('ValidationException', 400) }))).toBe('data');
    expect(classifyStoreFailure(Object.assign(new Error('cancelled'), { CancellationReasons: [{ Code: 'ValidationError' }] }))).toBe('data');
    expect(classifyStoreFailure(new RangeError('Invalid array length'))).toBe('data');
  });
});

describe('S3\'s limits at intake (lib/domain/record-limits.ts)', () => {
  const at = (fields: Partial<Parameters<typeof checkS3Limits>[0]>) => checkS3Limits({ bytesOut: 0, bytesIn: 0, ...fields });

  it('takes what S3 can produce: a 1,024-byte key, a 63-character bucket, a 6 TB download, counts as strings', () => {
    expect(at({ objectKey: 'k'.repeat(1024), bucket: 'b'.repeat(63), bytesOut: 6e12, bytesIn: '12345' })).toBeUndefined();
    expect(at({ bytesOut: S3_LIMITS.requestBytes, bytesIn: undefined })).toBeUndefined();
    // Multi-byte keys at the limit: 341 three-byte characters, 512 two-byte ones, 256 four-byte ones.
    expect(at({ objectKey: '鍵'.repeat(341) })).toBeUndefined();
    expect(at({ objectKey: 'ø'.repeat(512) })).toBeUndefined();
    expect(at({ objectKey: '😀'.repeat(256) })).toBeUndefined();
  });

  it('refuses what S3 cannot: a key over 1,024 bytes of UTF-8, a longer bucket name, negative or unbounded byte counts', () => {
    expect(at({ objectKey: 'k'.repeat(1025) })).toBe('object-key-too-long');
    expect(at({ objectKey: 'ø'.repeat(513) })).toBe('object-key-too-long');
    expect(at({ objectKey: '鍵'.repeat(342) })).toBe('object-key-too-long');
    expect(at({ objectKey: '😀'.repeat(257) })).toBe('object-key-too-long');
    expect(at({ bucket: 'b'.repeat(64) })).toBe('bucket-name-too-long');
    expect(at({ bytesOut: -1 })).toBe('bytes-out-of-range');
    expect(at({ bytesIn: '1e130' })).toBe('bytes-out-of-range');
    expect(at({ bytesOut: Number.POSITIVE_INFINITY })).toBe('bytes-out-of-range');
  });
});
