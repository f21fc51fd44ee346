import type { IAMClient } from '@aws-sdk/client-iam';
import type { SNSClient } from '@aws-sdk/client-sns';
import {
  planContainment,
  runContainment,
  type ActionError,
  type ContainmentGuard,
  type ContainmentRecord,
} from '../aws/containment.ts';
import type { Incident } from '../domain/incident.ts';
import { recordContainment, recordPaged } from './incident-lifecycle.ts';
import { composePage, isPageDue, publishPage, STILL_ACTIVE_GRACE_MS, type PageCommands } from '../aws/paging.ts';
import type { ResponseMarkers } from '../aws/response-markers.ts';
import type { IncidentStore } from '../store/store.ts';

export interface ResponderDependencies {
  store: IncidentStore;
  markers: ResponseMarkers;
  /** Build it with `createIamClient`: containment relies on its throttling retries. */
  iam: IAMClient;
  sns: SNSClient;
  topicArn: string;
  guard: ContainmentGuard;
  /** The deployment's dry run: plan and page "would have contained", change nothing in IAM. */
  dryRun: boolean;
  revokeAllRoleSessions?: boolean;
  commands?: PageCommands;
  now: () => number;
  /**
   * Markers younger than this belong to an invocation that may still be handling them; the sweep
   * leaves them to it (default 60 s, twice the contain function's timeout).
   */
  sweepAfterMs?: number;
  /** How many incidents are handled at once (default 8). */
  concurrency?: number;
}

/** What the responder did for one incident. */
export interface IncidentResponse {
  incidentId: string;
  outcome: 'contained' | 'containment-failed' | 'dry-run' | 'blocked' | 'paged' | 'nothing-due' | 'not-found' | 'page-failed' | 'error';
  containment?: ContainmentRecord;
  page?: { signature: string; messageId: string; sms: string };
  /** SNS refused the page: the incident stays unpaged and marked, and the next invocation pages it. */
  pageError?: ActionError;
  /** An unexpected failure (the store): the caller throws it after the other incidents were handled. */
  error?: unknown;
  timings: { startedAt: number; containedAt?: number; pagedAt?: number };
}

export interface ResponderRun {
  responses: IncidentResponse[];
  /** Incidents found through their markers rather than named by the invocation. */
  swept: string[];
  /** Reading the markers failed; the named incidents were still handled. */
  sweepError?: unknown;
}

/**
 * Whether the responder must run a containment (real or dry run): a contain decision (or a
 * dry-run page) that nothing has been done about yet, or one that was only dry-run before the
 * deployment left dry run. A released incident is left alone: the on-call re-enabled its key on
 * purpose, and the detector keeps adding the actor's activity to it for the cool-down instead of
 * containing it again.
 */
function needsContainment(incident: Incident, dryRun: boolean): boolean {
  if (incident.status === 'released') return false;
  const record = incident.containment;
  if (record === undefined) return incident.action === 'contain' || incident.blockedBy === 'dry-run';
  return record.dryRun && incident.action === 'contain' && !dryRun;
}

const errorOf = (error: unknown): ActionError =>
  error instanceof Error ? { code: error.name || 'Error', message: error.message } : { code: 'Error', message: String(error) };

async function respondToIncident(incidentId: string, deps: ResponderDependencies): Promise<IncidentResponse> {
  const startedAt = deps.now();
  const response: IncidentResponse = { incidentId, outcome: 'nothing-due', timings: { startedAt } };
  let incident = await deps.store.getIncident(incidentId);
  if (incident === undefined) {
    await deps.markers.clear(incidentId, startedAt);
    return { ...response, outcome: 'not-found' };
  }
  if (incident.status === 'released') {
    await deps.markers.clear(incidentId, startedAt);
    return response;
  }

  if (needsContainment(incident, deps.dryRun)) {
    const dryRun = deps.dryRun || incident.action !== 'contain';
    const plan = planContainment(incident, { guard: deps.guard, revokeAllRoleSessions: deps.revokeAllRoleSessions, now: deps.now() });
    const record = await runContainment(deps.iam, plan, { dryRun, now: deps.now });
    incident = await recordContainment(deps.store, incidentId, record);
    response.containment = record;
    response.outcome = record.blockedBy !== undefined ? 'blocked' : record.dryRun ? 'dry-run' : record.ok ? 'contained' : 'containment-failed';
    response.timings.containedAt = record.actions.reduce((latest, action) => Math.max(latest, action.at), record.at);
  }

  if (isPageDue(incident, STILL_ACTIVE_GRACE_MS)) {
    const page = composePage(incident, { commands: deps.commands });
    let messageId: string;
    try {
      messageId = await publishPage(deps.sns, deps.topicArn, page);
    } catch (error) {
      // Not paged: the marker (re)set here is what the next invocation finds.
      await deps.markers.mark([incidentId], deps.now());
      return { ...response, outcome: 'page-failed', pageError: errorOf(error) };
    }
    response.timings.pagedAt = deps.now();
    response.page = { signature: page.signature, messageId, sms: page.sms };
    if (response.outcome === 'nothing-due') response.outcome = 'paged';
    await recordPaged(deps.store, incidentId, page.signature);
  }
  await deps.markers.clear(incidentId, startedAt);
  return response;
}

/**
 * The responder: for each incident named, and each one whose marker is older than
 * `sweepAfterMs`, runs its containment if it is due (checking protected principals and the
 * detector's own roles again), records it with a conditional write (contained or
 * containment-failed), then publishes one page if the incident's page signature differs from
 * what was last paged, and records that. A containment failure is data on the incident and in the
 * page, never an exception. A failed page leaves the incident marked and unpaged. Any other
 * failure (the store) is kept on its incident's response while the others are handled; the caller
 * throws it so that the invocation is retried.
 */
export async function respondToIncidents(incidentIds: readonly string[], deps: ResponderDependencies): Promise<ResponderRun> {
  const sweepAfterMs = deps.sweepAfterMs ?? 60_000;
  const requested = new Set(incidentIds);
  const run: ResponderRun = { responses: [], swept: [] };
  try {
    const cutoff = deps.now() - sweepAfterMs;
    for (const marker of await deps.markers.list()) {
      if (marker.markedAt <= cutoff && !requested.has(marker.incidentId)) run.swept.push(marker.incidentId);
    }
  } catch (error) {
    run.sweepError = error;
  }
  const queue = [...requested, ...run.swept];
  const worker = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        run.responses.push(await respondToIncident(id, deps));
      } catch (error) {
        run.responses.push({ incidentId: id, outcome: 'error', error, timings: { startedAt: deps.now() } });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency ?? 8, queue.length) }, worker));
  return run;
}
