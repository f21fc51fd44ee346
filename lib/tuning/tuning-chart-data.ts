import type { Baseline, VolumeBaseline } from '../domain/baseline.ts';
import type { Incident } from '../domain/incident.ts';
import type { ScoringSettings } from '../domain/scoring.ts';
import type { ChartData, ChartSeries, NoisyActor } from '../domain/tuning-run.ts';
import type { ScoredWindow } from './tuning-backtest.ts';

const CHART_PANELS = 8;

/** The bulk-read threshold a volume baseline gives a familiar actor (objects per span). */
export const readThresholdOf = (volume: VolumeBaseline | undefined, settings: ScoringSettings): number =>
  Math.max(settings.familiarReadFloor, Math.ceil(settings.volumeMultiplier * (volume?.metrics.objects.p99 ?? 0)));

interface ChartInput {
  scoredNew: ReadonlyMap<string, readonly ScoredWindow[]>;
  principalOf: (actor: string) => string;
  oldBaselines: ReadonlyMap<string, Baseline>;
  newBaselines: ReadonlyMap<string, Baseline>;
  incidents: readonly Incident[];
  settings: ScoringSettings;
  windowMs: number;
  fromWindow: number;
  toWindow: number;
}

/** Actors with many windows close to their limit, noisiest first: the next false positive, or a baseline to look at. */
export function findNoisiest(input: ChartInput, limit = 5): NoisyActor[] {
  const noisy: NoisyActor[] = [];
  for (const [actor, scored] of input.scoredNew) {
    const principal = input.principalOf(actor);
    const threshold = readThresholdOf(input.newBaselines.get(principal)?.volume, input.settings);
    let above = 0;
    let peak = 0;
    for (const { span } of scored) {
      const objects = span.readObjects.size;
      peak = Math.max(peak, objects);
      if (objects >= threshold / 2) above++;
    }
    noisy.push({ actor, principal, windowsAboveHalf: above, windows: scored.length, peak, threshold });
  }
  noisy.sort((a, b) => b.windowsAboveHalf - a.windowsAboveHalf || b.peak / b.threshold - a.peak / a.threshold);
  return noisy.slice(0, limit);
}

/**
 * The chart's data: one series per principal (a role's rotating sessions are one panel), its
 * objects read per window being the most any of its actors read in the span the scoring looks
 * at, with the bulk-read threshold before and after the run and the week's incidents. Panels
 * with incidents come first, then the noisiest (most windows at half the threshold or more).
 */
export function chartPrincipals(input: ChartInput): ChartData {
  const count = Math.max(0, input.toWindow - input.fromWindow + 1);
  const byPrincipal = new Map<string, { actors: string[]; values: number[] }>();
  for (const [actor, scored] of input.scoredNew) {
    const principal = input.principalOf(actor);
    let entry = byPrincipal.get(principal);
    if (entry === undefined) byPrincipal.set(principal, (entry = { actors: [], values: new Array<number>(count).fill(0) }));
    entry.actors.push(actor);
    for (const { window, span } of scored) {
      const index = window - input.fromWindow;
      if (index >= 0 && index < count) entry.values[index] = Math.max(entry.values[index] ?? 0, span.readObjects.size);
    }
  }
  const ranked = [...byPrincipal].map(([principal, { actors, values }]) => {
    const threshold = readThresholdOf(input.newBaselines.get(principal)?.volume, input.settings);
    const oldThreshold = readThresholdOf(input.oldBaselines.get(principal)?.volume, input.settings);
    const incidents = input.incidents
      .filter((incident) => incident.principal === principal)
      .map((incident) => ({ index: Math.floor((incident.decisionTime - 1) / input.windowMs) - input.fromWindow, incidentId: incident.incidentId, action: incident.action }))
      .filter((mark) => mark.index >= 0 && mark.index < count);
    const series: ChartSeries = { principal, actors: actors.sort().slice(0, 5), actorCount: actors.length, values, threshold, oldThreshold, incidents };
    const nearLimit = values.filter((value) => value >= Math.min(threshold, oldThreshold) / 2).length;
    return { series, incidents: incidents.length, nearLimit, peak: Math.max(0, ...values) / Math.min(threshold, oldThreshold) };
  });
  ranked.sort((a, b) => b.incidents - a.incidents || b.nearLimit - a.nearLimit || b.peak - a.peak);
  return { windowMs: input.windowMs, fromWindow: input.fromWindow, toWindow: input.toWindow, series: ranked.slice(0, CHART_PANELS).map(({ series }) => series) };
}
