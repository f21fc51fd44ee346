import type { NormalizeOptions } from '../lib/domain/cloudtrail-record.ts';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import type { Context, S3Event } from 'aws-lambda';
import { hashUncompressed } from '../lib/aws/cloudtrail-digests.ts';
import { checkLogFile, type DigestCheck } from '../lib/domain/digest.ts';
import { placeTrailObject, type TrailLayout } from '../lib/domain/trail-layout.ts';
import { createDetector, type Detector } from '../lib/engine/score-engine.ts';
import type { IncidentNotifier } from '../lib/engine/responder-dispatch.ts';
import { scoreLogFile } from '../lib/engine/score-pipeline.ts';
import type { DetectorStore } from '../lib/store/store.ts';
import { logDispatchError, logIncidentChanges, publishBatchMetrics } from './batch-telemetry.ts';
import { DEFAULT_BATCH_WINDOW_MS } from '../lib/intake/event-intake.ts';

/** The object an S3 notification names; the fields together are the idempotency key. */
export interface LogFileObject {
  bucket: string;
  key: string;
  /** The ETag, or for a file a digest vouched for, `sha256:` and its uncompressed hash. */
  etag: string;
  /** Whether a CloudTrail digest vouched for the file; absent without `trust` (every file trusted). */
  evidence?: 'verified' | 'unverified';
}

/**
 * Which log files are CloudTrail's: only objects in the trail's layout are read, and a log file is
 * evidence enough to contain only once a CloudTrail digest, signed with CloudTrail's key, lists it
 * with the hash of its content. Until then it is scored by an unverified detector (its store view
 * keeps counts to itself; its contain-level scores page "unverified evidence").
 */
export interface LogFileTrust {
  layout: TrailLayout;
  /** Reads and validates a digest object (signature, public key by fingerprint, original location). */
  readDigest(object: { bucket: string; key: string; region: string }): Promise<DigestCheck | { ok: false; reason: string }>;
  /** A detector for one log file not vouched for yet. */
  createUnverifiedDetector(): Pick<Detector, 'processBatch' | 'flush'>;
}

/** Reads an object's bytes; `undefined` when it no longer exists. */
export type ObjectReader = (object: LogFileObject) => Promise<Uint8Array | undefined>;

/** What one log file came to, as stored in the idempotency record. */
export interface LogFileSummary {
  records: number;
  events: number;
  rejected: number;
  batches: number;
  incidents: number;
  missing?: true;
}

export interface ScoreLogFileHandlerDependencies {
  store: DetectorStore;
  /** Defaults to a detector on `store` with the default policy in dry-run: it never contains on a default. */
  detector?: Pick<Detector, 'processBatch' | 'flush'>;
  readObject: ObjectReader;
  /** Event time decided as one batch (default 10 s, as `keysentry replay`). */
  batchWindowMs?: number;
  /** Normalisation options kept for the container's life (its caller cache). */
  normalize?: NormalizeOptions;
  protectedBuckets?: readonly string[];
  /** Hands new and escalated incidents to the contain function; without it nothing is contained or paged. */
  notify?: IncidentNotifier;
  /** Digest validation and the trail's layout; without it every log file is trusted and digests are skipped. */
  trust?: LogFileTrust;
  /** Makes a notification delivered twice score its file once; absent in unit tests. */
  idempotency?: { persistenceStore: BasePersistenceLayer; expiresAfterSeconds?: number };
  logger?: Logger;
  metrics?: Metrics;
  now?: () => number;
}

export type ScoreLogFileHandler = (event: S3Event, context?: Context) => Promise<void>;

/** S3 notifications URL-encode the key, with `+` for a space. */
const decodeS3Key = (key: string): string => decodeURIComponent(key.replace(/\+/g, ' '));

/** CloudTrail's digest files (`…/CloudTrail-Digest/…`) hold signatures, not events. */
const isDigest = (key: string): boolean => key.includes('/CloudTrail-Digest/');

/** An `ObjectReader` on S3; a key deleted before it was read is `undefined`, anything else throws. */
export function makeS3ObjectReader(client: S3Client): ObjectReader {
  return async ({ bucket, key }) => {
    try {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return response.Body === undefined ? new Uint8Array() : await response.Body.transformToByteArray();
    } catch (error) {
      if (error instanceof NoSuchKey) return undefined;
      throw error;
    }
  };
}

/**
 * Builds the `score-logfile` handler: for each CloudTrail log file an S3 notification names, read
 * it and score it through the same detector as the SQS path. A damaged file is reported (log and
 * `Rejected` metric) and the notification succeeds: reading it again would not repair it. A
 * store or S3 failure throws, so Lambda retries the notification and then hands it to the
 * failure queue. With `idempotency`, a file (bucket + key + ETag) is scored once however often S3
 * notifies; a failed attempt leaves no record, so its retry scores the file.
 */
export function makeScoreLogFileHandler(deps: ScoreLogFileHandlerDependencies): ScoreLogFileHandler {
  const { store } = deps;
  const detector = deps.detector ?? createDetector({ store, policy: { dryRun: true } });
  const logger = deps.logger ?? new Logger({ serviceName: 'keysentry' });
  const metrics = deps.metrics ?? new Metrics({ namespace: 'keysentry', serviceName: 'keysentry' });
  const now = deps.now ?? Date.now;
  const batchWindowMs = deps.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS;

  // `createdAt` (the notification's eventTime) stays out of the idempotency key, the first argument.
  const scoreObject = async (object: LogFileObject, createdAt?: number, content?: Uint8Array): Promise<LogFileSummary> => {
    const source = `s3://${object.bucket}/${object.key}`;
    const data = content ?? (await deps.readObject(object));
    if (data === undefined) {
      logger.warn('log file gone before it was read', { source });
      return { records: 0, events: 0, rejected: 0, batches: 0, incidents: 0, missing: true };
    }
    const writesBefore = store.writes;
    const forThisFile = object.evidence === 'unverified' && deps.trust !== undefined;
    const scored = await scoreLogFile(data, source, {
      detector: forThisFile ? (deps.trust as LogFileTrust).createUnverifiedDetector() : detector,
      // The container's detector keeps its calm counts across files; a detector made for this file writes them.
      flushAfterFile: forThisFile,
      batchWindowMs,
      deliveredAt: createdAt,
      protectedBuckets: deps.protectedBuckets,
      notify: deps.notify,
      normalize: deps.normalize,
    });
    const { report } = scored;
    if (report.rejectedTotal > 0) logger.warn('log file has damaged content', { source, rejected: report.rejected });
    logIncidentChanges(logger, scored.changes);
    for (const error of scored.dispatchErrors) logDispatchError(logger, error);
    logger.info('log file scored', { source, evidence: object.evidence, intake: report.toJSON(), batches: scored.batches });
    publishBatchMetrics(metrics, {
      report,
      verdicts: scored.verdicts,
      storeWrites: store.writes - writesBefore,
      latencyMs: scored.oldestEventTime === undefined ? undefined : now() - scored.oldestEventTime,
      dispatchFailures: scored.dispatchErrors.length,
    });
    return {
      records: report.records,
      events: report.events,
      rejected: report.rejectedTotal,
      batches: scored.batches,
      incidents: scored.changes.length,
    };
  };

  const idempotencyConfig =
    deps.idempotency === undefined ? undefined : new IdempotencyConfig({ expiresAfterSeconds: deps.idempotency.expiresAfterSeconds ?? 86_400 });
  const scoreOnce =
    deps.idempotency === undefined || idempotencyConfig === undefined
      ? scoreObject
      : makeIdempotent(scoreObject, { persistenceStore: deps.idempotency.persistenceStore, config: idempotencyConfig });

  /**
   * A digest CloudTrail signed: each log file it lists in this bucket and layout is read, hashed
   * and, when the hash is the listed one, scored as verified evidence (once per file and hash).
   */
  const scoreVouchedFor = async (trust: LogFileTrust, digest: LogFileObject, region: string): Promise<void> => {
    const check = await trust.readDigest({ bucket: digest.bucket, key: digest.key, region });
    if (!check.ok) {
      logger.warn('digest not valid: its log files stay unverified', { key: digest.key, reason: check.reason });
      metrics.singleMetric().addDimension('reason', check.reason).addMetric('DigestsRejected', MetricUnit.Count, 1);
      return;
    }
    for (const file of check.digest.logFiles) {
      const placed = placeTrailObject(file.s3Object, trust.layout);
      if (file.s3Bucket !== digest.bucket || placed.kind !== 'log-file') continue;
      const content = await deps.readObject({ bucket: file.s3Bucket, key: file.s3Object, etag: '' });
      if (content === undefined) continue;
      const hash = await hashUncompressed(content);
      const verdict = checkLogFile(check.digest, file.s3Bucket, file.s3Object, hash);
      if (verdict !== 'verified') {
        logger.warn('log file differs from what its digest lists', { key: file.s3Object, reason: verdict });
        metrics.singleMetric().addDimension('reason', verdict).addMetric('LogFilesRejected', MetricUnit.Count, 1);
        continue;
      }
      await scoreOnce({ bucket: file.s3Bucket, key: file.s3Object, etag: `sha256:${hash}`, evidence: 'verified' }, undefined, content);
    }
  };

  return async (event, context) => {
    if (context !== undefined) {
      logger.addContext(context);
      idempotencyConfig?.registerLambdaContext(context);
    }
    for (const record of event.Records) {
      const object: LogFileObject = {
        bucket: record.s3.bucket.name,
        key: decodeS3Key(record.s3.object.key),
        etag: record.s3.object.eTag ?? '',
      };
      const createdAt = Date.parse(record.eventTime) || undefined;
      if (deps.trust === undefined) {
        if (isDigest(object.key)) logger.debug('digest file skipped', { key: object.key });
        else await scoreOnce(object, createdAt);
        continue;
      }
      const placed = placeTrailObject(object.key, deps.trust.layout);
      if (placed.kind === 'outside') {
        logger.warn('object outside the trail layout ignored', { key: object.key, reason: placed.reason });
        metrics.singleMetric().addDimension('reason', placed.reason).addMetric('LogFilesRejected', MetricUnit.Count, 1);
      } else if (placed.kind === 'digest') {
        await scoreVouchedFor(deps.trust, object, placed.region);
      } else {
        await scoreOnce({ ...object, evidence: 'unverified' }, createdAt);
      }
    }
  };
}
