import type { Baseline } from '../domain/baseline.ts';
import type { Incident } from '../domain/incident.ts';
import type { WindowStats } from '../domain/window-counter.ts';

/**
 * What the incidents say the tuning must not learn from. An incident without a `benign` verdict
 * (open, contained, paged, acknowledged or released alike) is a suspicion: its actor's windows
 * from its first event to its last are left out of every baseline and of the fleet's. A
 * `confirmed` incident is an attack: every window of its actor is left out, for good, and its
 * principal is never widened or vouched for. Only `benign` verdicts widen and vouch.
 */
export interface Suspicion {
  /** Per actor, the window ranges (inclusive) left out, with the incident that left each out. */
  ranges: Map<string, Array<{ from: number; to: number; incidentId: string }>>;
  /** Actors of confirmed attacks, with the incident: all their windows are left out. */
  confirmedActors: Map<string, string>;
  /** Principals with a confirmed attack: never widened, never vouched for, never promoted. */
  confirmedPrincipals: Set<string>;
  /** Principal and long-term key ids of every incident without a benign verdict: never promoted. */
  suspects: Set<string>;
  /** The incidents without a benign verdict. */
  unresolved: Incident[];
  /** Benign incidents of principals never confirmed, recent enough to widen (last event since `learnedFrom`). */
  benign: Incident[];
}

/** The window range an incident covers: from its first event to its last update or event. */
export function incidentWindows(incident: Incident, windowMs: number): { from: number; to: number } {
  // updatedTime is a batch's end, exclusive: the window it starts is not the incident's.
  const end = Math.max(incident.updatedTime - 1, incident.lastEventTime ?? incident.firstEventTime);
  return { from: Math.floor(incident.firstEventTime / windowMs), to: Math.floor(end / windowMs) };
}

/** The baselines an incident touches: its principal, and the IAM user's long-term key when it used one. */
export const baselineIdsOf = (incident: Incident): string[] =>
  incident.identity.longTermKey === undefined ? [incident.principal] : [incident.principal, incident.identity.longTermKey];

/** Reads the incidents' verdicts into what the tuning leaves out, widens and never promotes. */
export function judgeIncidents(incidents: readonly Incident[], windowMs: number, learnedFrom: number): Suspicion {
  const suspicion: Suspicion = {
    ranges: new Map(),
    confirmedActors: new Map(),
    confirmedPrincipals: new Set(),
    suspects: new Set(),
    unresolved: [],
    benign: [],
  };
  for (const incident of incidents) {
    if (incident.verdict === 'benign') continue;
    suspicion.unresolved.push(incident);
    for (const id of baselineIdsOf(incident)) suspicion.suspects.add(id);
    const ranges = suspicion.ranges.get(incident.actor) ?? [];
    ranges.push({ ...incidentWindows(incident, windowMs), incidentId: incident.incidentId });
    suspicion.ranges.set(incident.actor, ranges);
    if (incident.verdict === 'confirmed') {
      suspicion.confirmedActors.set(incident.actor, incident.incidentId);
      suspicion.confirmedPrincipals.add(incident.principal);
    }
  }
  suspicion.benign = incidents.filter(
    (incident) =>
      incident.verdict === 'benign' &&
      !suspicion.confirmedPrincipals.has(incident.principal) &&
      (incident.lastEventTime ?? incident.updatedTime) >= learnedFrom,
  );
  return suspicion;
}

/** The incident that leaves this window out of the baselines, if any. */
export function excludingIncident(suspicion: Suspicion, stats: WindowStats): string | undefined {
  const confirmed = suspicion.confirmedActors.get(stats.actor);
  if (confirmed !== undefined) return confirmed;
  return suspicion.ranges.get(stats.actor)?.find((range) => stats.window >= range.from && stats.window <= range.to)?.incidentId;
}

/** What the tuning does to the baselines a suspicion touches. */
export interface Unlearning {
  /** Baselines born during an incident (first seen at or after its first event): deleted, so the actor is never seen again. */
  deleted: Baseline[];
  /** Older baselines with the networks, addresses, tools and buckets first seen during an incident taken out. */
  stripped: Baseline[];
  /** The baselines as they were, for a rollback. */
  originals: Baseline[];
}

const withoutSightingsIn = (sightings: Record<string, number>, from: number, to: number): Record<string, number> =>
  Object.fromEntries(Object.entries(sightings).filter(([, time]) => time < from || time > to));

/**
 * Takes back what the detector learned of suspects before it decided (the calm batches of an
 * attack's first minutes teach their sightings): a baseline first seen during an unresolved
 * incident is deleted, so a week later the same key is as unfamiliar as it was the first time;
 * an older one loses the networks, addresses, tools and buckets first seen during the incident.
 * A baseline vouched for (a benign verdict on another incident) is left alone.
 */
export function unlearnSuspects(baselines: ReadonlyMap<string, Baseline>, suspicion: Suspicion, windowMs: number): Unlearning {
  const changed = new Map<string, Baseline>();
  const deleted = new Map<string, Baseline>();
  const originals = new Map<string, Baseline>();
  for (const incident of suspicion.unresolved) {
    const from = incident.firstEventTime - windowMs;
    const to = Math.max(incident.updatedTime, incident.lastEventTime ?? incident.firstEventTime);
    for (const id of baselineIdsOf(incident)) {
      const baseline = changed.get(id) ?? baselines.get(id);
      if (baseline === undefined || deleted.has(id) || baseline.vouchedAt !== undefined) continue;
      if (!originals.has(id)) originals.set(id, baselines.get(id) as Baseline);
      if (baseline.firstSeen >= from) {
        deleted.set(id, baseline);
        changed.delete(id);
        continue;
      }
      const stripped: Baseline = {
        ...baseline,
        networks: withoutSightingsIn(baseline.networks, from, to),
        addresses: withoutSightingsIn(baseline.addresses, from, to),
        tools: withoutSightingsIn(baseline.tools, from, to),
        buckets: withoutSightingsIn(baseline.buckets, from, to),
      };
      const sizes = (b: Baseline): number => Object.keys(b.networks).length + Object.keys(b.addresses).length + Object.keys(b.tools).length + Object.keys(b.buckets).length;
      if (sizes(stripped) !== sizes(baseline)) changed.set(id, stripped);
      else originals.delete(id);
    }
  }
  return { deleted: [...deleted.values()], stripped: [...changed.values()], originals: [...originals.values()] };
}
