import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { IncidentChange } from './score-engine.ts';
import { DispatchError } from '../domain/errors.ts';
import { isPageDue } from '../aws/paging.ts';
import type { ResponseMarkers } from '../aws/response-markers.ts';

/** Hands the incident changes of a batch to the responder; what the score functions call. */
export type IncidentNotifier = (changes: readonly IncidentChange[]) => Promise<void>;

/** The responder's payload when a score function invokes it. */
export interface ResponderRequest {
  incidentIds: string[];
}

/**
 * The incidents of a batch the responder has something to do for: every new or escalated one
 * (containment and its page), and an updated one only when its page signature changed — in
 * practice the contained actor seen active after containment. Repeats of the same actor within
 * the cool-down otherwise only update the incident. An updated incident whose containment has not
 * run yet is left to the invocation already under way (or to its marker).
 */
export function selectIncidentsToRespond(changes: readonly IncidentChange[]): string[] {
  const ids = new Set<string>();
  for (const { kind, incident } of changes) {
    if (kind !== 'updated' || (incident.containment !== undefined && isPageDue(incident))) ids.add(incident.incidentId);
  }
  return [...ids];
}

/**
 * The score functions' notifier: marks the incidents that need the responder, then invokes the
 * contain function asynchronously (`InvocationType: 'Event'`, Lambda queues and retries it) with
 * `{ incidentIds }`. Both are attempted whatever the other does: with the marker written, a lost
 * invocation is found by the responder's next run (its one-minute schedule at the latest); with
 * the invocation made, a lost marker costs nothing. Throws a `DispatchError` when either failed,
 * for the caller to log: the batch itself was scored, and retrying it would not dispatch again.
 */
export function createResponderDispatch(deps: {
  lambda: LambdaClient;
  functionName: string;
  markers: ResponseMarkers;
  now: () => number;
}): IncidentNotifier {
  return async (changes) => {
    const incidentIds = selectIncidentsToRespond(changes);
    if (incidentIds.length === 0) return;
    // Marked first, so that the marker is there before the responder can clear it.
    const [marking] = await Promise.allSettled([deps.markers.mark(incidentIds, deps.now())]);
    const [invoking] = await Promise.allSettled([
      deps.lambda.send(
        new InvokeCommand({
          FunctionName: deps.functionName,
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(JSON.stringify({ incidentIds } satisfies ResponderRequest)),
        }),
      ),
    ]);
    if (invoking.status === 'rejected') {
      const marked = marking.status === 'fulfilled' ? '; marked for its next run' : ' nor mark them';
      throw new DispatchError(
        `could not invoke ${deps.functionName} for ${incidentIds.join(', ')}${marked}`,
        incidentIds,
        marking.status === 'fulfilled',
        { cause: invoking.reason },
      );
    }
    if (marking.status === 'rejected') {
      throw new DispatchError(`invoked ${deps.functionName} for ${incidentIds.join(', ')} but could not mark them`, incidentIds, false, {
        cause: marking.reason,
      });
    }
  };
}
