import { VOLUME_METRICS, type Baseline, type VolumeBaseline, type VolumeMetric } from '../domain/baseline.ts';
import type { HistoryEntry, Incident } from '../domain/incident.ts';
import type { BaselineChange, TunedFields } from '../domain/tuning-run.ts';
import { emptySamples, summarize, type WindowSample } from './tuning-samples.ts';
import type { Suspicion } from './tuning-suspicion.ts';
import { DAY_MS } from '../domain/duration.ts';


/** The baselines the run forgets (gone `forgetAfterDays`) and those that became familiar since the last run. */
export function forgetAndPromote(
  baselines: ReadonlyMap<string, Baseline>,
  sample: WindowSample,
  suspicion: Suspicion,
  timing: { now: number; forgetBefore: number; lastRunAt: number; familiarMs: number },
): { forgotten: Baseline[]; promoted: Set<string> } {
  const forgotten: Baseline[] = [];
  const promoted = new Set<string>();
  for (const baseline of baselines.values()) {
    if (Math.max(baseline.lastSeen, sample.lastActive.get(baseline.id) ?? 0) < timing.forgetBefore) {
      forgotten.push(baseline);
      continue;
    }
    if (suspicion.suspects.has(baseline.id)) continue;
    const familiarAt = baseline.firstSeen + timing.familiarMs;
    if (familiarAt > timing.lastRunAt && familiarAt <= timing.now) promoted.add(baseline.id);
  }
  return { forgotten, promoted };
}

const incidentValueOf = (incident: Incident, metric: VolumeMetric): number => {
  const { evidence } = incident;
  return metric === 'objects' ? evidence.distinctObjects : evidence[metric];
};

/**
 * Raises a volume baseline so that the incident's activity counts as normal: every metric's p99
 * and max at least the incident's span values. A span is two windows, so this widens by more than
 * the burst's own windows would: a benign verdict is the on-call saying "this is normal".
 */
export function widen(volume: VolumeBaseline, incident: Incident): VolumeBaseline {
  const metrics = structuredClone(volume.metrics);
  for (const metric of VOLUME_METRICS) {
    const value = incidentValueOf(incident, metric);
    metrics[metric].p99 = Math.max(metrics[metric].p99, value);
    metrics[metric].max = Math.max(metrics[metric].max, value);
  }
  return { windows: volume.windows, metrics };
}

/**
 * When the on-call gave the incident its verdict: the history entry that recorded it (its
 * `verdict` field), or the incident's last update for incidents recorded before verdicts were data.
 */
export function verdictTime(incident: Incident): number {
  const entry = [...(incident.history ?? [])].reverse().find((candidate: HistoryEntry) => candidate.verdict === incident.verdict);
  return entry?.at ?? incident.updatedTime;
}

/** The run's record of what changed per principal, created on first mention. */
export class ChangeLog {
  readonly changes = new Map<string, BaselineChange>();
  constructor(private readonly baselines: ReadonlyMap<string, Baseline>) {}

  of(principal: string): BaselineChange {
    let change = this.changes.get(principal);
    if (change === undefined) {
      const old = this.baselines.get(principal)?.volume?.metrics.objects;
      change = { principal, reasons: [], oldP99: old?.p99 ?? null, newP99: old?.p99 ?? null, oldMax: old?.max ?? null, newMax: old?.max ?? null, incidentIds: [] };
      this.changes.set(principal, change);
    }
    return change;
  }
}

/**
 * Every kept principal's tuned fields after the run: the volume quantiles relearned from its
 * windows (or kept when it had none), then widened and vouched for by each benign verdict.
 */
export function tuneFields(
  baselines: ReadonlyMap<string, Baseline>,
  sample: WindowSample,
  suspicion: Suspicion,
  forgottenIds: ReadonlySet<string>,
  log: ChangeLog,
  promoted: Set<string>,
): Map<string, TunedFields> {
  const next = new Map<string, TunedFields>();
  for (const baseline of baselines.values()) {
    if (baseline.kind !== 'principal' || forgottenIds.has(baseline.id)) continue;
    const entry = sample.perPrincipal.get(baseline.id);
    next.set(baseline.id, {
      volume: entry === undefined ? baseline.volume : summarize(entry.samples, entry.windows),
      ...(baseline.vouchedAt === undefined ? {} : { vouchedAt: baseline.vouchedAt }),
    });
  }
  for (const incident of suspicion.benign) {
    const fields = next.get(incident.principal);
    if (fields === undefined) continue;
    fields.volume = widen(fields.volume ?? summarize(emptySamples(), 0), incident);
    const change = log.of(incident.principal);
    if (!change.reasons.includes('widened-by-verdict')) change.reasons.push('widened-by-verdict');
    change.incidentIds.push(incident.incidentId);
    const vouchedAt = verdictTime(incident);
    if (fields.vouchedAt === undefined || vouchedAt < fields.vouchedAt) {
      if (fields.vouchedAt === undefined) {
        change.reasons.push('vouched');
        promoted.add(incident.principal);
      }
      fields.vouchedAt = vouchedAt;
    }
  }
  // A principal confirmed as attacked is never vouched for, whatever an older verdict said.
  for (const principal of suspicion.confirmedPrincipals) {
    const fields = next.get(principal);
    if (fields?.vouchedAt !== undefined) delete fields.vouchedAt;
  }
  return next;
}

/** Records in the change log the windows left out, the volume shifts, the promotions and the forgotten. */
export function logChanges(
  log: ChangeLog,
  baselines: ReadonlyMap<string, Baseline>,
  next: ReadonlyMap<string, TunedFields>,
  sample: WindowSample,
  outcome: { promoted: ReadonlySet<string>; forgotten: readonly Baseline[]; unlearned: readonly Baseline[] },
): void {
  for (const [principal, ids] of sample.excludedIncidents) {
    const change = log.of(principal);
    change.reasons.push('attack-excluded');
    change.incidentIds.push(...ids);
  }
  for (const [principal, fields] of next) {
    const old = baselines.get(principal)?.volume?.metrics.objects;
    const now = fields.volume?.metrics.objects;
    if (now === undefined) continue;
    const shifted = old === undefined || Math.abs(now.p99 - old.p99) >= Math.max(1, 0.25 * old.p99);
    if (!shifted && !log.changes.has(principal)) continue;
    const change = log.of(principal);
    change.newP99 = now.p99;
    change.newMax = now.max;
    if (shifted && !change.reasons.includes('widened-by-verdict')) change.reasons.push(old === undefined ? 'first-volume' : 'volume-shift');
  }
  for (const id of outcome.promoted) {
    if (!next.has(id) || log.changes.get(id)?.reasons.includes('vouched')) continue;
    log.of(id).reasons.push('promoted');
  }
  for (const baseline of outcome.unlearned) {
    if (baseline.kind === 'principal') log.of(baseline.id).reasons.push('unlearned');
  }
  for (const baseline of outcome.forgotten) {
    if (baseline.kind !== 'principal') continue;
    const change = log.of(baseline.id);
    change.reasons.push('forgotten');
    change.newP99 = null;
    change.newMax = null;
  }
}

/** Familiar after this long since first seen. */
export const familiarMsOf = (unfamiliarDays: number): number => unfamiliarDays * DAY_MS;
