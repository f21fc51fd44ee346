import type { NormalizeOptions } from '../lib/domain/cloudtrail-record.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDetector, type Detector } from '../lib/engine/score-engine.ts';
import type { IncidentNotifier } from '../lib/engine/responder-dispatch.ts';
import { scoreSqsRecords } from '../lib/engine/score-pipeline.ts';
import type { DetectorStore } from '../lib/store/store.ts';
import { logDispatchError, logIncidentChanges, publishBatchMetrics } from './batch-telemetry.ts';

export interface ScoreHandlerDependencies {
  store: DetectorStore;
  /** Defaults to a detector on `store` with the default policy in dry-run: it never contains on a default. */
  detector?: Pick<Detector, 'processBatch'>;
  protectedBuckets?: readonly string[];
  /** Normalisation options kept for the container's life (its caller cache). */
  normalize?: NormalizeOptions;
  /** Hands new and escalated incidents to the contain function; without it nothing is contained or paged. */
  notify?: IncidentNotifier;
  logger?: Logger;
  metrics?: Metrics;
  now?: () => number;
}

export type ScoreHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/**
 * Builds the `score` handler: an SQS batch of EventBridge envelopes in, `batchItemFailures` out
 * (the event source mapping reports partial failures). Malformed messages are logged and
 * acknowledged; a transient store failure returns the batch's messages to the queue, any other one
 * isolates the messages the store refuses (logged as poison) and writes the rest. SQS redelivery is safe
 * without an idempotency table: the window write counts an eventID once. The detector lives as
 * long as the handler (the container), so calm actors' counts wait there for their window to close.
 */
export function makeScoreHandler(deps: ScoreHandlerDependencies): ScoreHandler {
  const { store } = deps;
  const detector = deps.detector ?? createDetector({ store, policy: { dryRun: true } });
  const logger = deps.logger ?? new Logger({ serviceName: 'keysentry' });
  const metrics = deps.metrics ?? new Metrics({ namespace: 'keysentry', serviceName: 'keysentry' });
  const now = deps.now ?? Date.now;

  return async (event, context) => {
    if (context !== undefined) logger.addContext(context);
    const writesBefore = store.writes;
    const scored = await scoreSqsRecords(
      event.Records.map(({ messageId, body, attributes }) => ({ messageId, body, sentAt: Number(attributes?.SentTimestamp) || undefined })),
      { detector, now, protectedBuckets: deps.protectedBuckets, notify: deps.notify, normalize: deps.normalize },
    );
    const { report, outcome, error, batchItemFailures } = scored;

    if (report.rejectedTotal > 0) {
      logger.warn('malformed messages acknowledged, not retried', { rejected: report.rejected, examples: report.examples });
    }
    if (scored.poison !== undefined) {
      // The message itself is gone once acknowledged: its id, the store's reason and its start are kept here.
      const bodies = new Map(event.Records.map((record) => [record.messageId, record.body]));
      for (const { messageId, reason } of scored.poison) {
        logger.error('poison message isolated: the store refuses it, the rest of the batch was written', {
          messageId,
          reason,
          bodyStart: bodies.get(messageId)?.slice(0, 1024),
        });
      }
    }
    if (error !== undefined) {
      logger.error('scoring failed; the batch goes back to the queue', {
        error: error instanceof Error ? error : String(error),
        retried: batchItemFailures.length,
      });
    } else {
      logIncidentChanges(logger, outcome?.changes ?? []);
      if (scored.dispatchError !== undefined) logDispatchError(logger, scored.dispatchError);
      logger.info('batch scored', { messages: event.Records.length, intake: report.toJSON(), fresh: outcome?.fresh ?? 0 });
    }

    const oldestSent = event.Records.reduce(
      (min, record) => Math.min(min, Number(record.attributes.SentTimestamp) || Number.POSITIVE_INFINITY),
      Number.POSITIVE_INFINITY,
    );
    const oldest = scored.oldestEventTime ?? oldestSent;
    publishBatchMetrics(metrics, {
      report,
      verdicts: outcome?.verdicts ?? [],
      storeWrites: store.writes - writesBefore,
      latencyMs: Number.isFinite(oldest) ? now() - oldest : undefined,
      retriedMessages: batchItemFailures.length,
      dispatchFailures: scored.dispatchError === undefined ? 0 : 1,
    });
    return { batchItemFailures };
  };
}
