import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { DispatchError } from '../lib/domain/errors.ts';
import type { ActorVerdict, IncidentChange } from '../lib/engine/score-engine.ts';
import type { IntakeReport } from '../lib/intake/intake-report.ts';

/** What one scored batch (an SQS batch or a log file) reports to CloudWatch. */
export interface BatchTelemetry {
  report: IntakeReport;
  verdicts: readonly ActorVerdict[];
  /** Store writes the batch made (the write budget). */
  storeWrites?: number;
  /** Messages handed back to SQS because the scoring failed. */
  retriedMessages?: number;
  /** From the batch's earliest event (its `eventTime`, else its SQS `SentTimestamp`) to now. */
  latencyMs?: number;
  /** Batches whose incidents the responder could not be told of. */
  dispatchFailures?: number;
}

/**
 * Publishes a batch's EMF metrics: `EventsScored`, `Rejected` per `reason`, `Decisions` per
 * `action`, `StoreWrites`, `BatchLatencyMs` and, after a failure, `MessagesRetried` and
 * `DispatchFailed`. Dimensioned metrics go out one line each, so that a reason or action is a
 * dimension value and not a metric name.
 */
export function publishBatchMetrics(metrics: Metrics, telemetry: BatchTelemetry): void {
  metrics.addMetric('EventsScored', MetricUnit.Count, telemetry.report.events);
  for (const [reason, count] of Object.entries(telemetry.report.rejected)) {
    metrics.singleMetric().addDimension('reason', reason).addMetric('Rejected', MetricUnit.Count, count);
  }
  const decisions = new Map<string, number>();
  for (const { decision } of telemetry.verdicts) decisions.set(decision.action, (decisions.get(decision.action) ?? 0) + 1);
  for (const [action, count] of decisions) {
    metrics.singleMetric().addDimension('action', action).addMetric('Decisions', MetricUnit.Count, count);
  }
  if (telemetry.storeWrites !== undefined) metrics.addMetric('StoreWrites', MetricUnit.Count, telemetry.storeWrites);
  if (telemetry.latencyMs !== undefined) {
    metrics.addMetric('BatchLatencyMs', MetricUnit.Milliseconds, Math.max(0, telemetry.latencyMs));
  }
  if (telemetry.retriedMessages) metrics.addMetric('MessagesRetried', MetricUnit.Count, telemetry.retriedMessages);
  if (telemetry.dispatchFailures) metrics.addMetric('DispatchFailed', MetricUnit.Count, telemetry.dispatchFailures);
  metrics.publishStoredMetrics();
}

/** Logs each incident the batch opened or changed, with its reasons, for the on-call's search. */
export function logIncidentChanges(logger: Logger, changes: readonly IncidentChange[]): void {
  for (const { kind, incident } of changes) {
    logger.warn(`incident ${kind}`, {
      incidentId: incident.incidentId,
      actor: incident.actor,
      principal: incident.principal,
      action: incident.action,
      blockedBy: incident.blockedBy,
      score: incident.score,
      reasons: incident.reasons,
      evidence: incident.evidence,
    });
  }
}

/**
 * Logs that the responder could not be told of incidents; their markers (when written) let its
 * next run find them. A `DispatchError` says which incidents and whether they were marked; any
 * other failure of the notifier is logged as it is.
 */
export function logDispatchError(logger: Logger, error: unknown): void {
  const details = error instanceof DispatchError ? { incidentIds: error.incidentIds, marked: error.marked } : {};
  logger.error('responder not told of incidents', { error: error instanceof Error ? error : String(error), ...details });
}
