import type { AccessEvent } from './access-event.ts';
import { networkOf } from './caller-origin.ts';
import { DAY_MS } from './duration.ts';

/** Quantiles of one volume metric over an actor's active windows. */
export interface Quantiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Volume metrics kept per window in baselines. */
export const VOLUME_METRICS = ['objects', 'gets', 'lists', 'deletes', 'bytesOut', 'errors'] as const;
export type VolumeMetric = (typeof VOLUME_METRICS)[number];

/** Volume quantiles per window, learned by the weekly tuning from stored windows. */
export interface VolumeBaseline {
  windows: number;
  metrics: Record<VolumeMetric, Quantiles>;
}

/**
 * What keysentry knows of a principal (IAM user, role…) or of an IAM user's long-term key. The
 * sighting maps hold the first time each network, tool, bucket or address was seen, so that a
 * thing first seen minutes ago still counts as new.
 */
export interface Baseline {
  id: string;
  kind: 'principal' | 'key';
  firstSeen: number;
  lastSeen: number;
  activeDays: number;
  /** Day index (`floor(ms / 86_400_000)`) of the last active day. */
  lastActiveDay: number;
  networks: Record<string, number>;
  addresses: Record<string, number>;
  tools: Record<string, number>;
  buckets: Record<string, number>;
  volume?: VolumeBaseline;
  /**
   * When an on-call engineer marked an incident of this principal benign (the weekly tuning
   * applies the verdict): from then on it counts as familiar, whatever its age.
   */
  vouchedAt?: number;
}

/** New things seen of one baseline in a batch, merged into the stored baseline. */
export interface Sighting {
  id: string;
  kind: 'principal' | 'key';
  firstSeen: number;
  lastSeen: number;
  days: Set<number>;
  networks: Map<string, number>;
  addresses: Map<string, number>;
  tools: Map<string, number>;
  buckets: Map<string, number>;
}

/** Caps on the sighting maps: enough for real diversity, bounded for a DynamoDB item. */
export const BASELINE_CAPS = { networks: 200, addresses: 100, tools: 50, buckets: 200 } as const;

function noteFirst(map: Map<string, number>, key: string | undefined, time: number): void {
  if (key === undefined) return;
  const seen = map.get(key);
  if (seen === undefined || time < seen) map.set(key, time);
}

/**
 * Collects the sightings of a batch: one per principal and one per IAM user long-term key, with
 * the earliest time each network, address, tool and bucket appeared.
 */
export function collectSightings(events: Iterable<AccessEvent>): Map<string, Sighting> {
  const sightings = new Map<string, Sighting>();
  for (const event of events) {
    noteSighting(sightings, event.identity.principal, 'principal', event);
    if (event.identity.longTermKey !== undefined) noteSighting(sightings, event.identity.longTermKey, 'key', event);
  }
  return sightings;
}

function noteSighting(sightings: Map<string, Sighting>, id: string, kind: Sighting['kind'], event: AccessEvent): void {
  let sighting = sightings.get(id);
  if (sighting === undefined) {
    sighting = {
      id,
      kind,
      firstSeen: event.eventTime,
      lastSeen: event.eventTime,
      days: new Set(),
      networks: new Map(),
      addresses: new Map(),
      tools: new Map(),
      buckets: new Map(),
    };
    sightings.set(id, sighting);
  }
  sighting.firstSeen = Math.min(sighting.firstSeen, event.eventTime);
  sighting.lastSeen = Math.max(sighting.lastSeen, event.eventTime);
  sighting.days.add(Math.floor(event.eventTime / DAY_MS));
  noteFirst(sighting.networks, networkOf(event.sourceIp), event.eventTime);
  noteFirst(sighting.addresses, event.sourceIp, event.eventTime);
  noteFirst(sighting.tools, event.toolFamily, event.eventTime);
  noteFirst(sighting.buckets, event.bucket, event.eventTime);
}

/**
 * Key counts of the baseline maps {@link mergeFirstSeen} has counted, kept as it adds keys (nothing
 * else adds to or deletes from a baseline's maps; the tuning and the stores make new ones). A map
 * at its cap (a presigning role's addresses) was counted again for every batch that brought a new
 * address: a tenth of a replay's scoring time on the imaging world.
 */
const keyCounts = new WeakMap<Record<string, number>, number>();

function mergeFirstSeen(target: Record<string, number>, seen: Map<string, number>, cap: number): boolean {
  let changed = false;
  // Counted only when something new is seen: routine traffic sees nothing new.
  let size: number | undefined;
  for (const [key, time] of seen) {
    const known = target[key];
    if (known === undefined) {
      size ??= keyCounts.get(target) ?? Object.keys(target).length;
      if (size >= cap) continue;
      size++;
    } else if (known <= time) {
      continue;
    }
    target[key] = time;
    changed = true;
  }
  if (size !== undefined) keyCounts.set(target, size);
  return changed;
}

/**
 * Merges a sighting into a baseline (creating it when absent). Returns whether anything other
 * than `lastSeen` changed, so that a store can skip writes for routine traffic.
 */
export function applySighting(
  baseline: Baseline | undefined,
  sighting: Sighting,
): { baseline: Baseline; changed: boolean } {
  const next: Baseline = baseline ?? {
    id: sighting.id,
    kind: sighting.kind,
    firstSeen: sighting.firstSeen,
    lastSeen: sighting.lastSeen,
    activeDays: 0,
    lastActiveDay: -1,
    networks: {},
    addresses: {},
    tools: {},
    buckets: {},
  };
  let changed = baseline === undefined;
  if (sighting.firstSeen < next.firstSeen) {
    next.firstSeen = sighting.firstSeen;
    changed = true;
  }
  next.lastSeen = Math.max(next.lastSeen, sighting.lastSeen);
  for (const day of [...sighting.days].sort((a, b) => a - b)) {
    if (day > next.lastActiveDay) {
      next.activeDays++;
      next.lastActiveDay = day;
      changed = true;
    }
  }
  changed = mergeFirstSeen(next.networks, sighting.networks, BASELINE_CAPS.networks) || changed;
  changed = mergeFirstSeen(next.addresses, sighting.addresses, BASELINE_CAPS.addresses) || changed;
  changed = mergeFirstSeen(next.tools, sighting.tools, BASELINE_CAPS.tools) || changed;
  changed = mergeFirstSeen(next.buckets, sighting.buckets, BASELINE_CAPS.buckets) || changed;
  return { baseline: next, changed };
}

/** Nearest-rank quantiles of a list of values (0 for an empty list). */
export function computeQuantiles(values: number[]): Quantiles {
  if (values.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}
