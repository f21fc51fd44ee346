import type { Baseline, Sighting, VolumeBaseline } from '../domain/baseline.ts';
import type { Incident } from '../domain/incident.ts';
import type { TunedFields, TuningRun, TuningRunSummary, TuningThresholds } from '../domain/tuning-run.ts';
import type { WindowStats } from '../domain/window-counter.ts';

/** A window as stored: its totals, the ids (hashed) of the events counted in it, and a revision. */
export interface StoredWindow extends WindowStats {
  revision: number;
  eventIds: Set<string>;
}

/** What the weekly tuning learned for the whole fleet. */
export interface TuningState {
  version: number;
  tunedAt: number;
  /** Volume per window over every principal: the baseline of actors never seen. */
  fleet?: VolumeBaseline;
  /** The page and contain thresholds the tuning chose (data; the detector applies them when told to). */
  thresholds?: TuningThresholds;
  /** Set by a rollback: the version that was rolled back. */
  rolledBackFrom?: number;
}

/** A store that counts the write requests it made (DynamoDB bills and throttles them): the write budget's measure. */
export interface WriteCounting {
  readonly writes: number;
  /** Write units consumed, as DynamoDB bills them: per KB of the larger of the item before and after a write. */
  readonly writeUnits: number;
  /** Read units consumed: per 4 KB read, strongly consistent. */
  readonly readUnits: number;
}

/** One window's part of a write: what to add, the ids of the events it counts, the revision it expects. */
export interface WindowWrite {
  delta: WindowStats;
  eventIds: readonly string[];
  /** The stored window's revision the write was computed against (0: not stored yet). */
  expectedRevision: number;
}

/**
 * Per (actor, window) totals. Window totals are atomic across concurrent writers. The windows of
 * one actor's hour (`itemStartOf` in window-item.ts) are stored in one item, written at once.
 */
export interface WindowStore {
  /**
   * Adds `delta` (one actor, one window) and records `eventIds` as counted, if the stored window's
   * revision is still `expectedRevision` (0: not stored yet); `'conflict'` when another writer got
   * there first, and the caller re-reads. The ids are what make a redelivered event count once.
   */
  addWindow(delta: WindowStats, eventIds: readonly string[], expectedRevision: number): Promise<StoredWindow | 'conflict'>;
  /**
   * Adds several windows of one actor that share one item (same `itemStartOf`) in one write:
   * all of them, each checked against its own expected revision, or none (`'conflict'`).
   */
  addWindows(writes: readonly WindowWrite[]): Promise<StoredWindow[] | 'conflict'>;
  /** The actor's stored windows in `[fromWindow, toWindow]`. */
  getWindows(actor: string, fromWindow: number, toWindow: number): Promise<StoredWindow[]>;
  /** Every stored window in `[fromWindow, toWindow]`, for the tuning. */
  scanWindows(fromWindow: number, toWindow: number): AsyncIterable<WindowStats>;
  /** Drops windows older than `beforeWindow`. */
  pruneWindows(beforeWindow: number): Promise<void>;
}

/** What is known of each principal and key: networks, buckets, tools, volumes. */
export interface BaselineStore {
  getBaselines(ids: readonly string[]): Promise<Map<string, Baseline>>;
  /** Merges what a batch saw of principals and keys into their baselines. */
  recordSightings(sightings: readonly Sighting[]): Promise<void>;
  /** Replaces the volume part of baselines (weekly tuning). */
  setVolumeBaselines(volumes: ReadonlyMap<string, VolumeBaseline>): Promise<void>;
  listBaselines(): AsyncIterable<Baseline>;
  /**
   * Sets exactly the tuned fields of existing principal baselines: `volume` and `vouchedAt` as
   * given, removed when absent (a rollback takes back what a version added). Absent baselines
   * are left absent.
   */
  setTunedFields(fields: ReadonlyMap<string, TunedFields>): Promise<void>;
  /** Deletes baselines (the tuning forgets principals and keys gone for months). */
  deleteBaselines(ids: readonly string[]): Promise<void>;
  /** Puts back whole baselines a rollback restores; one that sightings recreated since is kept as it is. */
  restoreBaselines(baselines: readonly Baseline[]): Promise<void>;
}

/** The fleet-wide tuning in force and the tuning runs (versions) kept for rollback. */
export interface TuningStore {
  getTuning(): Promise<TuningState | undefined>;
  saveTuning(state: TuningState): Promise<void>;
  /** Stores one tuning run (a version) whole: baselines snapshot, thresholds and report. */
  saveTuningRun(run: TuningRun): Promise<void>;
  getTuningRun(version: number): Promise<TuningRun | undefined>;
  /** The stored runs, oldest first. */
  listTuningRuns(): Promise<TuningRunSummary[]>;
  deleteTuningRun(version: number): Promise<void>;
}

/** Incidents, created once per actor and cool-down, updated under a revision. */
export interface IncidentStore {
  /**
   * Returns the actor's incident still in its cool-down at `candidate.decisionTime`, or creates
   * `candidate`; `created` says which, so that exactly one caller acts on a new incident.
   */
  openIncident(candidate: Incident, cooldownMs: number): Promise<{ incident: Incident; created: boolean }>;
  /** Writes `incident` if its stored revision is still `incident.revision - 1`; false when it lost the race. */
  updateIncident(incident: Incident): Promise<boolean>;
  getIncident(incidentId: string): Promise<Incident | undefined>;
  listIncidents(): Promise<Incident[]>;
}

/**
 * The detector's whole state: the four kinds of data, composed. Two implementations: in memory
 * (replay, unit tests) and DynamoDB (production). A function that needs one or two kinds takes
 * those interfaces alone.
 */
export interface DetectorStore extends WindowStore, BaselineStore, TuningStore, IncidentStore, WriteCounting {}
