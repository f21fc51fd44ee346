import type { ContainmentRecord } from '../domain/containment-record.ts';
import { IncidentNotFoundError, StoreError, TransitionError } from '../domain/errors.ts';
import type { HistoryEntry, Incident, IncidentStatus, Verdict } from '../domain/incident.ts';
import type { IncidentStore } from '../store/store.ts';

/**
 * The moves an incident may make. A containment incident goes open → contained or
 * containment-failed → acknowledged → released; a page-only one open → acknowledged → released.
 * A failed containment may still succeed (contained), and an acknowledged page that escalates is
 * contained then. Released is final.
 */
export const TRANSITIONS: Readonly<Record<IncidentStatus, readonly IncidentStatus[]>> = {
  open: ['contained', 'containment-failed', 'acknowledged'],
  contained: ['acknowledged'],
  'containment-failed': ['contained', 'acknowledged'],
  acknowledged: ['contained', 'containment-failed', 'released'],
  released: [],
};

/** Who the responder is in an incident's history. */
export const RESPONDER = 'keysentry';

/** Whether the lifecycle allows moving from one status to the other. */
export const canTransition = (from: IncidentStatus, to: IncidentStatus): boolean => TRANSITIONS[from].includes(to);

const MAX_ATTEMPTS = 8;

/**
 * Applies `change` to the stored incident with a conditional write on its revision; when another
 * writer (the detector adding evidence, a second responder) got there first, it reads the
 * incident again and re-applies `change` to what it finds, so nothing either wrote is lost.
 * `change` returns the patch, or `undefined` to leave the incident as it is; it throws a
 * `TransitionError` for a move the lifecycle does not allow.
 */
export async function updateIncidentWith(
  store: IncidentStore,
  incidentId: string,
  change: (incident: Incident) => Partial<Incident> | undefined,
): Promise<Incident> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await store.getIncident(incidentId);
    if (current === undefined) throw new IncidentNotFoundError(`no incident ${incidentId}`);
    const patch = change(current);
    if (patch === undefined) return current;
    const next: Incident = { ...current, ...patch, revision: current.revision + 1 };
    if (await store.updateIncident(next)) return next;
  }
  throw new StoreError(`incident ${incidentId} kept changing under ${MAX_ATTEMPTS} attempts`);
}

/** A step by a person or by keysentry, with who and why. */
export interface Step {
  by: string;
  at: number;
  note?: string;
}

const withEntry = (incident: Incident, entry: HistoryEntry): HistoryEntry[] => [...(incident.history ?? []), entry];

function moveTo(incident: Incident, to: IncidentStatus, step: Step): Partial<Incident> {
  if (!canTransition(incident.status, to)) {
    throw new TransitionError(`${incident.incidentId} is ${incident.status}; it cannot become ${to}`);
  }
  return { status: to, history: withEntry(incident, { at: step.at, status: to, by: step.by, ...(step.note ? { note: step.note } : {}) }) };
}

/**
 * Records what the responder did: contained or containment-failed (a dry-run or blocked record
 * leaves the status open). Written once: when another responder recorded a containment first,
 * its record stands and is returned; only a real containment replaces a dry-run record (the
 * deployment left dry run during the incident), and a success a failure.
 */
export function recordContainment(store: IncidentStore, incidentId: string, record: ContainmentRecord): Promise<Incident> {
  return updateIncidentWith(store, incidentId, (incident) => {
    const previous = incident.containment;
    const supersedes = previous === undefined || (previous.dryRun && !record.dryRun) || (incident.status === 'containment-failed' && record.ok);
    if (!supersedes) return undefined;
    if (record.dryRun || record.blockedBy !== undefined) {
      const note = record.dryRun ? 'dry run: would have contained' : `not contained: ${record.blockedBy}`;
      return { containment: record, history: withEntry(incident, { at: record.at, status: incident.status, by: RESPONDER, note }) };
    }
    const to: IncidentStatus = record.ok ? 'contained' : 'containment-failed';
    const failed = record.actions.filter((action) => !action.ok).map((action) => action.kind);
    const note = record.ok ? undefined : `failed: ${failed.join(', ')}`;
    return { containment: record, ...moveTo(incident, to, { by: RESPONDER, at: record.at, note }) };
  });
}

/** The on-call has seen the incident. Acknowledging an acknowledged incident changes nothing. */
export function acknowledgeIncident(store: IncidentStore, incidentId: string, step: Step): Promise<Incident> {
  return updateIncidentWith(store, incidentId, (incident) =>
    incident.status === 'acknowledged' ? undefined : moveTo(incident, 'acknowledged', step),
  );
}

/**
 * Marks the incident released, after its containment was undone (the caller undoes it first: a
 * release is recorded only once the key works again). Only an acknowledged incident is released.
 */
export function markReleased(store: IncidentStore, incidentId: string, step: Step): Promise<Incident> {
  return updateIncidentWith(store, incidentId, (incident) => moveTo(incident, 'released', step));
}

/**
 * The on-call's verdict: `benign` (a false positive) or `confirmed` (an attack); any status,
 * recorded with who and why. The history entry carries the verdict as data (`verdict`, and
 * `previousVerdict` when it replaces another: a benign verdict changed to confirmed is on the
 * record); its note is only for people to read.
 */
export function setVerdict(store: IncidentStore, incidentId: string, verdict: Verdict, step: Step): Promise<Incident> {
  return updateIncidentWith(store, incidentId, (incident) => {
    const previous = incident.verdict !== undefined && incident.verdict !== verdict ? incident.verdict : undefined;
    const what = previous === undefined ? `verdict ${verdict}` : `verdict ${verdict} (was ${previous})`;
    return {
      verdict,
      history: withEntry(incident, {
        at: step.at,
        status: incident.status,
        by: step.by,
        note: step.note ? `${what}: ${step.note}` : what,
        verdict,
        ...(previous === undefined ? {} : { previousVerdict: previous }),
      }),
    };
  });
}

/** Records that a page with `signature` went out (or that the on-call knows this state: they made it). */
export function recordPaged(store: IncidentStore, incidentId: string, signature: string): Promise<Incident> {
  return updateIncidentWith(store, incidentId, (incident) => (incident.pagedState === signature ? undefined : { pagedState: signature }));
}
