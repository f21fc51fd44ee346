import { computeQuantiles, VOLUME_METRICS, type VolumeBaseline, type VolumeMetric } from './baseline.ts';
import type { DetectorStore, TuningState } from './store.ts';
import { countDistinctObjects, type WindowStats } from './window-counter.ts';

export interface TuningOptions {
  windowMs: number;
  /** How many weeks of windows the baselines are learned from (and kept). */
  weeks?: number;
}

export interface TuningSummary {
  version: number;
  tunedAt: number;
  principals: number;
  windows: number;
}

const WEEK_MS = 7 * 86_400_000;

const metricOf = (stats: WindowStats, metric: VolumeMetric): number => {
  switch (metric) {
    case 'objects':
      return countDistinctObjects(stats);
    case 'deletes':
      return stats.deletes + stats.versionDeletes;
    default:
      return stats[metric];
  }
};

function summarize(samples: Record<VolumeMetric, number[]>, windows: number): VolumeBaseline {
  const metrics = {} as VolumeBaseline['metrics'];
  for (const metric of VOLUME_METRICS) metrics[metric] = computeQuantiles(samples[metric]);
  return { windows, metrics };
}

const emptySamples = (): Record<VolumeMetric, number[]> =>
  Object.fromEntries(VOLUME_METRICS.map((m) => [m, [] as number[]])) as Record<VolumeMetric, number[]>;

/**
 * The weekly relearning of volume: for every principal, quantiles per window of objects read,
 * gets, lists, deletes, bytes out and errors over the stored weeks; the same over all principals
 * is the fleet baseline for actors never seen. Windows older than the kept weeks are dropped.
 */
export async function tuneBaselines(store: DetectorStore, now: number, options: TuningOptions): Promise<TuningSummary> {
  const weeks = options.weeks ?? 5;
  const toWindow = Math.floor(now / options.windowMs);
  const fromWindow = Math.floor((now - weeks * WEEK_MS) / options.windowMs);
  const perPrincipal = new Map<string, { samples: Record<VolumeMetric, number[]>; windows: number }>();
  const fleet = emptySamples();
  let windows = 0;
  for await (const stats of store.scanWindows(fromWindow, toWindow)) {
    if (stats.identityType === 'aws-service' || stats.identityType === 'anonymous') continue;
    windows++;
    let entry = perPrincipal.get(stats.principal);
    if (entry === undefined) perPrincipal.set(stats.principal, (entry = { samples: emptySamples(), windows: 0 }));
    entry.windows++;
    for (const metric of VOLUME_METRICS) {
      const value = metricOf(stats, metric);
      entry.samples[metric].push(value);
      fleet[metric].push(value);
    }
  }
  const volumes = new Map<string, VolumeBaseline>();
  for (const [principal, entry] of perPrincipal) volumes.set(principal, summarize(entry.samples, entry.windows));
  await store.setVolumeBaselines(volumes);
  const previous = await store.getTuning();
  const state: TuningState = { version: (previous?.version ?? 0) + 1, tunedAt: now, fleet: summarize(fleet, windows) };
  await store.saveTuning(state);
  await store.pruneWindows(fromWindow);
  return { version: state.version, tunedAt: now, principals: perPrincipal.size, windows };
}
