import { appendTo } from '../domain/collections.ts';
import { computeQuantiles, VOLUME_METRICS, type VolumeBaseline, type VolumeMetric } from '../domain/baseline.ts';
import { countDistinctObjects, deletedObjectsOf, type WindowStats } from '../domain/window-counter.ts';
import type { WindowStore } from '../store/store.ts';
import { excludingIncident, type Suspicion } from './tuning-suspicion.ts';

export type Samples = Record<VolumeMetric, number[]>;

/** What the stored windows of the kept weeks give the tuning. */
export interface WindowSample {
  /** Per principal, each metric's value in every window it may learn from. */
  perPrincipal: Map<string, { samples: Samples; windows: number }>;
  /** The same values of every principal: the fleet's baseline, the baseline of actors never seen. */
  fleet: Samples;
  /** Windows learned from (every principal's and the fleet's). */
  windows: number;
  /** Windows in the range at all, learned from or left out. */
  windowsInRange: number;
  /** Per actor, its windows of the last week (attacks included: the backtest must see them). */
  lastWeek: Map<string, WindowStats[]>;
  /** The latest event time of each principal and actor. */
  lastActive: Map<string, number>;
  /** Per principal, the incidents whose windows were left out. */
  excludedIncidents: Map<string, Set<string>>;
}

export const emptySamples = (): Samples => Object.fromEntries(VOLUME_METRICS.map((metric) => [metric, [] as number[]])) as Samples;

/** One window's value of a volume metric (objects: distinct objects read; deletes: objects and versions). */
export const metricOf = (stats: WindowStats, metric: VolumeMetric): number => {
  switch (metric) {
    case 'objects':
      return countDistinctObjects(stats);
    case 'deletes':
      return deletedObjectsOf(stats);
    default:
      return stats[metric];
  }
};

/** The quantiles of each metric's samples. */
export function summarize(samples: Samples, windows: number): VolumeBaseline {
  const metrics = {} as VolumeBaseline['metrics'];
  for (const metric of VOLUME_METRICS) metrics[metric] = computeQuantiles(samples[metric]);
  return { windows, metrics };
}

const latest = (map: Map<string, number>, id: string, time: number): void => {
  map.set(id, Math.max(map.get(id) ?? 0, time));
};

/**
 * Reads the stored windows `[fromWindow, toWindow]` once: each principal's samples and the
 * fleet's from every window no suspicion leaves out (calls of AWS services and anonymous callers
 * teach nothing), last week's windows per actor for the backtest, and when each was last active.
 */
export async function sampleWindows(
  store: WindowStore,
  range: { fromWindow: number; toWindow: number; weekFrom: number },
  suspicion: Suspicion,
): Promise<WindowSample> {
  const sample: WindowSample = {
    perPrincipal: new Map(),
    fleet: emptySamples(),
    windows: 0,
    windowsInRange: 0,
    lastWeek: new Map(),
    lastActive: new Map(),
    excludedIncidents: new Map(),
  };
  for await (const stats of store.scanWindows(range.fromWindow, range.toWindow)) {
    sample.windowsInRange++;
    if (stats.identityType === 'aws-service' || stats.identityType === 'anonymous') continue;
    latest(sample.lastActive, stats.principal, stats.lastEventTime);
    latest(sample.lastActive, stats.actor, stats.lastEventTime);
    if (stats.window >= range.weekFrom) appendTo(sample.lastWeek, stats.actor, stats);
    const excluded = excludingIncident(suspicion, stats);
    if (excluded !== undefined) {
      sample.excludedIncidents.set(stats.principal, (sample.excludedIncidents.get(stats.principal) ?? new Set()).add(excluded));
      continue;
    }
    sample.windows++;
    let entry = sample.perPrincipal.get(stats.principal);
    if (entry === undefined) sample.perPrincipal.set(stats.principal, (entry = { samples: emptySamples(), windows: 0 }));
    entry.windows++;
    for (const metric of VOLUME_METRICS) {
      const value = metricOf(stats, metric);
      entry.samples[metric].push(value);
      sample.fleet[metric].push(value);
    }
  }
  return sample;
}
