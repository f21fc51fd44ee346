import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { ResponderError } from '../lib/domain/errors.ts';
import { respondToIncidents, type ResponderDependencies, type ResponderRun } from '../lib/engine/responder.ts';

export interface ContainHandlerDependencies extends Omit<ResponderDependencies, 'now'> {
  logger?: Logger;
  metrics?: Metrics;
  now?: () => number;
}

/** `{ incidentIds }` from a score function, or the schedule's `{ sweep: true }`: every invocation sweeps. */
export interface ContainEvent {
  incidentIds?: unknown;
  sweep?: unknown;
}

export type ContainHandler = (event: ContainEvent, context?: Context) => Promise<ResponderRun>;

const INCIDENT_ID = /^KS-[2-9A-HJ-NP-Z]{6}$/;

/**
 * Builds the `contain` handler, the only function with IAM write permissions: the incidents a
 * score function names, plus those whose markers are overdue, are contained (or dry-run,
 * or refused by the guard) and paged through SNS. Containment failures are paged, not thrown. If
 * the store failed for some incident, the handler throws after handling the rest, so that Lambda
 * retries the invocation (idempotent) and finally hands it to the failure queue under an alarm.
 */
export function makeContainHandler(deps: ContainHandlerDependencies): ContainHandler {
  const logger = deps.logger ?? new Logger({ serviceName: 'keysentry' });
  const metrics = deps.metrics ?? new Metrics({ namespace: 'keysentry', serviceName: 'keysentry' });
  const responder: ResponderDependencies = { ...deps, now: deps.now ?? Date.now };

  return async (event, context) => {
    if (context !== undefined) logger.addContext(context);
    const named = Array.isArray(event?.incidentIds) ? event.incidentIds : [];
    const incidentIds = named.filter((id): id is string => typeof id === 'string' && INCIDENT_ID.test(id));
    if (incidentIds.length !== named.length) logger.warn('ignored malformed incident ids', { incidentIds: named });

    const run = await respondToIncidents(incidentIds, responder);
    const count = (outcome: string): number => run.responses.filter((response) => response.outcome === outcome).length;
    for (const response of run.responses) {
      const { incidentId, outcome, containment, page, pageError, timings } = response;
      const details = { incidentId, outcome, containment, sms: page?.sms, pageError, timings };
      if (outcome === 'error') {
        const error = response.error instanceof Error ? response.error : String(response.error);
        logger.error('incident not handled', { incidentId, error });
      } else if (outcome === 'containment-failed' || outcome === 'page-failed') {
        logger.error(`incident ${outcome}`, details);
      } else {
        logger.info(`incident ${outcome}`, details);
      }
      const { startedAt, containedAt, pagedAt } = timings;
      if (containedAt !== undefined) metrics.addMetric('ContainLatencyMs', MetricUnit.Milliseconds, containedAt - startedAt);
      if (pagedAt !== undefined) metrics.addMetric('PageLatencyMs', MetricUnit.Milliseconds, pagedAt - startedAt);
    }
    metrics.addMetric('Contained', MetricUnit.Count, count('contained'));
    metrics.addMetric('ContainmentFailed', MetricUnit.Count, count('containment-failed'));
    metrics.addMetric('PagesPublished', MetricUnit.Count, run.responses.filter((response) => response.page !== undefined).length);
    metrics.addMetric('PagesFailed', MetricUnit.Count, count('page-failed'));
    metrics.addMetric('IncidentsSwept', MetricUnit.Count, run.swept.length);
    metrics.publishStoredMetrics();

    const failures = run.responses.filter((response) => response.outcome === 'error');
    if (run.sweepError !== undefined || failures.length > 0) {
      const what = [
        ...(run.sweepError === undefined ? [] : ['reading the response markers']),
        ...failures.map((response) => response.incidentId),
      ];
      throw new ResponderError(`responder failed on ${what.join(', ')}`, { cause: run.sweepError ?? failures[0]?.error });
    }
    return run;
  };
}
