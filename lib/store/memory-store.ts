import { applySighting, type Baseline, type Sighting, type VolumeBaseline } from '../domain/baseline.ts';
import type { Incident } from '../domain/incident.ts';
import { ComposedStore } from './composed-store.ts';
import { itemBytes, readUnits, writeUnits } from './item-size.ts';
import { itemHeaderBytes, itemStartOf, windowPartBytes, WINDOWS_PER_ITEM } from './window-item.ts';
import type { BaselineStore, IncidentStore, StoredWindow, TuningState, TuningStore, WindowStore, WindowWrite } from './store.ts';
import type { TunedFields, TuningRun, TuningRunSummary } from '../domain/tuning-run.ts';
import { countDistinctObjects, createWindowStats, mergeWindowStats, SET_CAPS, type WindowStats } from '../domain/window-counter.ts';

/**
 * The write count the four in-memory stores share, counted as the DynamoDB store would make them,
 * with the write and read units DynamoDB would bill for them (from the items' sizes).
 */
interface WriteCounter {
  writes: number;
  writeUnits: number;
  readUnits: number;
}

/** How long the DynamoDB store's container trusts a cached baseline (its default `baselineCacheMs`). */
const BASELINE_CACHE_MS = 60_000;

/** The incident transaction's second item, the actor's pointer to its incident: well under 1 KB. */
const POINTER_BYTES = 120;

/** Counts one write of an item that was `before` bytes and is `after` bytes (0: absent). */
function countWrite(counter: WriteCounter, before: number, after: number, transactional = false): void {
  counter.writes++;
  counter.writeUnits += writeUnits(before, after) * (transactional ? 2 : 1);
}

/** The object and event-id sets of every compacted window: empty, never added to. */
const NO_HASHES: Set<string> = new Set();

/**
 * The small sets (buckets, networks, tools) of compacted windows, one per content: an actor's
 * windows name the same bucket, network and tool hour after hour. Never added to.
 */
class SharedSets {
  private readonly sets = new Map<string, Set<string>>();

  of(set: Set<string>): Set<string> {
    const key = [...set].join('\u0000');
    let shared = this.sets.get(key);
    if (shared === undefined) {
      if (this.sets.size >= 10_000) this.sets.clear();
      shared = set;
      this.sets.set(key, shared);
    }
    return shared;
  }
}

/**
 * A window whose object and event-id sets are let go (its distinct objects kept as a count), built
 * by one literal so that all compacted windows share a hidden class; its small sets are shared.
 */
function compactedWindow(stats: StoredWindow, small: SharedSets): StoredWindow {
  return {
    actor: stats.actor,
    principal: stats.principal,
    identityType: stats.identityType,
    window: stats.window,
    events: stats.events,
    gets: stats.gets,
    heads: stats.heads,
    lists: stats.lists,
    puts: stats.puts,
    deletes: stats.deletes,
    versionDeletes: stats.versionDeletes,
    deleteBatches: stats.deleteBatches,
    batchDeleteKeys: stats.batchDeleteKeys,
    versionLists: stats.versionLists,
    bytesOut: stats.bytesOut,
    bytesIn: stats.bytesIn,
    errors: stats.errors,
    readObjects: NO_HASHES,
    distinctObjects: countDistinctObjects(stats),
    deletedObjects: NO_HASHES,
    buckets: small.of(stats.buckets),
    networks: small.of(stats.networks),
    tools: small.of(stats.tools),
    firstEventTime: stats.firstEventTime,
    lastEventTime: stats.lastEventTime,
    firstReadTime: stats.firstReadTime,
    lastReadTime: stats.lastReadTime,
    revision: stats.revision,
    eventIds: NO_HASHES,
  };
}

/** Windows in memory, their older sets compacted away as replay moves on. */
class MemoryWindowStore implements WindowStore {
  private readonly windows = new Map<string, Map<number, StoredWindow>>();
  /** Windows in the order they were created, for compaction. */
  private compactionQueue: StoredWindow[] = [];
  private newestWindow = Number.NEGATIVE_INFINITY;
  /**
   * The size each window adds to its item at its last write (what a later write of the item
   * rewrites; a compacted window keeps its written size), and each item's size, by actor and start.
   */
  private readonly partSizes = new WeakMap<StoredWindow, number>();
  private readonly itemSizes = new Map<string, Map<number, number>>();
  private readonly sharedSets = new SharedSets();

  constructor(
    private readonly counter: WriteCounter,
    private readonly keepSetsForWindows: number,
  ) {}

  async addWindow(delta: WindowStats, eventIds: readonly string[], expectedRevision: number): Promise<StoredWindow | 'conflict'> {
    const written = await this.addWindows([{ delta, eventIds, expectedRevision }]);
    return written === 'conflict' ? written : (written[0] as StoredWindow);
  }

  /** Merges each write into its window, then counts one write of their shared item, billed by its whole size. */
  async addWindows(writes: readonly WindowWrite[]): Promise<StoredWindow[] | 'conflict'> {
    const first = writes[0];
    if (first === undefined) return [];
    const { actor } = first.delta;
    let byWindow = this.windows.get(actor);
    if (byWindow === undefined) {
      byWindow = new Map();
      this.windows.set(actor, byWindow);
    }
    for (const { delta, expectedRevision } of writes) {
      if ((byWindow.get(delta.window)?.revision ?? 0) !== expectedRevision) return 'conflict';
    }
    const written: StoredWindow[] = [];
    for (const { delta, eventIds } of writes) {
      let stored = byWindow.get(delta.window);
      if (stored !== undefined && stored.eventIds === NO_HASHES) {
        // A late write to a compacted window: it takes sets of its own again.
        stored = {
          ...stored,
          readObjects: new Set(),
          deletedObjects: new Set(),
          eventIds: new Set(),
          buckets: new Set(stored.buckets),
          networks: new Set(stored.networks),
          tools: new Set(stored.tools),
        };
        byWindow.set(delta.window, stored);
        this.compactionQueue.push(stored);
      }
      if (stored === undefined) {
        // Grown from the counter's own literal, not spread into a copy: every stored window keeps one
        // hidden class, and the merge of each write into it stays a fast property access.
        stored = Object.assign(createWindowStats(delta.actor, delta.principal, delta.identityType, delta.window), { revision: 0, eventIds: new Set<string>() });
        byWindow.set(delta.window, stored);
        this.compactionQueue.push(stored);
      }
      mergeWindowStats(stored, delta);
      for (const id of eventIds) if (stored.eventIds.size < SET_CAPS.eventIds) stored.eventIds.add(id);
      stored.revision++;
      this.partSizes.set(stored, windowPartBytes(stored));
      written.push(stored);
    }
    this.countItemWrite(byWindow, first.delta);
    const newest = Math.max(...writes.map((write) => write.delta.window));
    if (newest > this.newestWindow) {
      this.newestWindow = newest;
      this.compactOlderThan(newest - this.keepSetsForWindows);
    }
    return written;
  }

  /** One write of the item holding `written`'s window: the larger of its size before and after. */
  private countItemWrite(byWindow: ReadonlyMap<number, StoredWindow>, written: WindowStats): void {
    const start = itemStartOf(written.window);
    let after = itemHeaderBytes(written);
    for (let window = start; window < start + WINDOWS_PER_ITEM; window++) {
      const stored = byWindow.get(window);
      if (stored !== undefined) after += this.partSizes.get(stored) ?? 0;
    }
    let sizes = this.itemSizes.get(written.actor);
    if (sizes === undefined) this.itemSizes.set(written.actor, (sizes = new Map()));
    countWrite(this.counter, sizes.get(start) ?? 0, after);
    sizes.set(start, after);
  }

  /**
   * Compacts every window older than `window`, whatever order the windows were written in: each is
   * replaced by a slim copy (see {@link compactedWindow}) that keeps its counts and distinct-object
   * count. A month of an imaging world's windows took 86 MB as written, most of it sets no longer
   * read and a hidden class per window.
   */
  private compactOlderThan(window: number): void {
    const kept: StoredWindow[] = [];
    for (const stats of this.compactionQueue) {
      if (stats.window >= window) {
        kept.push(stats);
        continue;
      }
      const slim = compactedWindow(stats, this.sharedSets);
      this.windows.get(stats.actor)?.set(stats.window, slim);
      this.partSizes.set(slim, this.partSizes.get(stats) ?? 0);
    }
    this.compactionQueue = kept;
  }

  async getWindows(actor: string, fromWindow: number, toWindow: number): Promise<StoredWindow[]> {
    const byWindow = this.windows.get(actor) ?? new Map<number, StoredWindow>();
    const found: StoredWindow[] = [];
    for (let window = fromWindow; window <= toWindow; window++) {
      const stats = byWindow.get(window);
      if (stats !== undefined) found.push(stats);
    }
    // One strongly consistent Query of the items that hold the range, whole: their total size, per
    // 4 KB; at least one unit, even when it finds nothing.
    let bytes = 0;
    const sizes = this.itemSizes.get(actor);
    for (let start = itemStartOf(fromWindow); start <= toWindow; start += WINDOWS_PER_ITEM) bytes += sizes?.get(start) ?? 0;
    this.counter.readUnits += readUnits(bytes);
    return found;
  }

  async *scanWindows(fromWindow: number, toWindow: number): AsyncIterable<WindowStats> {
    for (const byWindow of this.windows.values()) {
      for (const stats of byWindow.values()) {
        if (stats.window >= fromWindow && stats.window <= toWindow) yield stats;
      }
    }
  }

  async pruneWindows(beforeWindow: number): Promise<void> {
    for (const [actor, byWindow] of this.windows) {
      for (const window of byWindow.keys()) {
        if (window < beforeWindow) byWindow.delete(window);
      }
      if (byWindow.size === 0) this.windows.delete(actor);
    }
  }
}

/** Baselines in memory, handed out as stored (a single process needs no copies). */
class MemoryBaselineStore implements BaselineStore {
  private readonly baselines = new Map<string, Baseline>();
  /** Each baseline's item size at its last write. */
  private readonly itemSizes = new Map<string, number>();
  /**
   * When each baseline was last read, and the latest event time sightings brought: the clock of
   * the read model, in event time, since a replay has no other.
   */
  private readonly readTimes = new Map<string, number>();
  private latestSighting = Number.NEGATIVE_INFINITY;

  constructor(private readonly counter: WriteCounter) {}

  async getBaselines(ids: readonly string[]): Promise<Map<string, Baseline>> {
    const found = new Map<string, Baseline>();
    for (const id of ids) {
      const baseline = this.baselines.get(id);
      if (baseline !== undefined) found.set(id, baseline);
      // The DynamoDB store reads a baseline through its container's cache, present or absent:
      // BatchGetItem, eventually consistent, half a unit per item per 4 KB, an absent item too.
      const readAt = this.readTimes.get(id);
      if (readAt !== undefined && this.latestSighting - readAt < BASELINE_CACHE_MS) continue;
      this.readTimes.set(id, this.latestSighting);
      this.counter.readUnits += readUnits(this.itemSizes.get(id) ?? 0) / 2;
    }
    return found;
  }

  async recordSightings(sightings: readonly Sighting[]): Promise<void> {
    for (const sighting of sightings) {
      this.latestSighting = Math.max(this.latestSighting, sighting.lastSeen);
      const { baseline, changed } = applySighting(this.baselines.get(sighting.id), sighting);
      this.baselines.set(sighting.id, baseline);
      if (changed) this.countWrite(baseline);
    }
  }

  private countWrite(baseline: Baseline): void {
    const after = itemBytes({ ...baseline, pk: baseline.id, sk: '-', revision: 1 });
    countWrite(this.counter, this.itemSizes.get(baseline.id) ?? 0, after);
    this.itemSizes.set(baseline.id, after);
  }

  async setVolumeBaselines(volumes: ReadonlyMap<string, VolumeBaseline>): Promise<void> {
    for (const [id, volume] of volumes) {
      const baseline = this.baselines.get(id);
      if (baseline !== undefined) baseline.volume = volume;
    }
  }

  async *listBaselines(): AsyncIterable<Baseline> {
    yield* this.baselines.values();
  }

  async setTunedFields(fields: ReadonlyMap<string, TunedFields>): Promise<void> {
    for (const [id, { volume, vouchedAt }] of fields) {
      const baseline = this.baselines.get(id);
      if (baseline === undefined) continue;
      if (volume === undefined) delete baseline.volume;
      else baseline.volume = structuredClone(volume);
      if (vouchedAt === undefined) delete baseline.vouchedAt;
      else baseline.vouchedAt = vouchedAt;
      this.countWrite(baseline);
    }
  }

  async deleteBaselines(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if (!this.baselines.delete(id)) continue;
      countWrite(this.counter, this.itemSizes.get(id) ?? 0, 0);
      this.itemSizes.delete(id);
    }
  }

  async restoreBaselines(baselines: readonly Baseline[]): Promise<void> {
    for (const baseline of baselines) {
      if (this.baselines.has(baseline.id)) continue;
      this.baselines.set(baseline.id, structuredClone(baseline));
      this.countWrite(baseline);
    }
  }
}

/** The tuning in force, frozen, and the tuning runs, copied in and out. */
class MemoryTuningStore implements TuningStore {
  private tuning: TuningState | undefined;
  private readonly tuningRuns = new Map<number, TuningRun>();

  constructor(private readonly counter: WriteCounter) {}

  // Read once per batch by the detector: kept frozen and handed out as is, instead of a copy per
  // read. A caller that tried to change it would throw rather than change the store behind its back.
  async getTuning(): Promise<TuningState | undefined> {
    return this.tuning;
  }

  async saveTuning(state: TuningState): Promise<void> {
    this.tuning = deepFreeze(structuredClone(state));
  }

  async saveTuningRun(run: TuningRun): Promise<void> {
    this.tuningRuns.set(run.version, structuredClone(run));
    countWrite(this.counter, 0, itemBytes(run));
  }

  async getTuningRun(version: number): Promise<TuningRun | undefined> {
    const run = this.tuningRuns.get(version);
    return run === undefined ? undefined : structuredClone(run);
  }

  async listTuningRuns(): Promise<TuningRunSummary[]> {
    return [...this.tuningRuns.values()]
      .map(({ version, tunedAt, previousVersion }) => ({ version, tunedAt, ...(previousVersion === undefined ? {} : { previousVersion }) }))
      .sort((a, b) => a.version - b.version);
  }

  async deleteTuningRun(version: number): Promise<void> {
    this.tuningRuns.delete(version);
  }
}

/** Incidents in memory, copied in and out, with each actor's latest for the cool-down. */
class MemoryIncidentStore implements IncidentStore {
  private readonly incidents = new Map<string, Incident>();
  private readonly latestIncidentByActor = new Map<string, string>();

  constructor(private readonly counter: WriteCounter) {}

  async openIncident(candidate: Incident, cooldownMs: number): Promise<{ incident: Incident; created: boolean }> {
    const latestId = this.latestIncidentByActor.get(candidate.actor);
    const latest = latestId === undefined ? undefined : this.incidents.get(latestId);
    if (latest !== undefined && candidate.decisionTime - latest.updatedTime < cooldownMs) {
      return { incident: structuredClone(latest), created: false };
    }
    this.incidents.set(candidate.incidentId, structuredClone(candidate));
    // A transaction of the incident and the actor's pointer to it.
    countWrite(this.counter, 0, itemBytes(candidate), true);
    countWrite(this.counter, 0, POINTER_BYTES, true);
    this.latestIncidentByActor.set(candidate.actor, candidate.incidentId);
    return { incident: candidate, created: true };
  }

  async updateIncident(incident: Incident): Promise<boolean> {
    const stored = this.incidents.get(incident.incidentId);
    if (stored === undefined || stored.revision !== incident.revision - 1) return false;
    this.incidents.set(incident.incidentId, structuredClone(incident));
    countWrite(this.counter, itemBytes(stored), itemBytes(incident), true);
    countWrite(this.counter, POINTER_BYTES, POINTER_BYTES, true);
    return true;
  }

  async getIncident(incidentId: string): Promise<Incident | undefined> {
    const stored = this.incidents.get(incidentId);
    return stored === undefined ? undefined : structuredClone(stored);
  }

  async listIncidents(): Promise<Incident[]> {
    return [...this.incidents.values()].map((incident) => structuredClone(incident));
  }
}

/**
 * The in-memory store: what `keysentry replay` and the unit tests run on. Same contract as the
 * DynamoDB store; a single process needs no locking.
 */
export class MemoryStore extends ComposedStore {
  /**
   * @param keepSetsForWindows how many windows behind the newest keep their event ids and object
   *   sets; older ones keep only their counts. Redeliveries come within minutes and reads are
   *   matched to deletes within the hour, so a month-long replay need not hold a month of hashes.
   */
  constructor(keepSetsForWindows = 8) {
    const counter: WriteCounter = { writes: 0, writeUnits: 0, readUnits: 0 };
    super({
      windows: new MemoryWindowStore(counter, keepSetsForWindows),
      baselines: new MemoryBaselineStore(counter),
      tuning: new MemoryTuningStore(counter),
      incidents: new MemoryIncidentStore(counter),
      counter,
    });
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
