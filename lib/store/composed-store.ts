import type { Baseline, Sighting, VolumeBaseline } from '../domain/baseline.ts';
import type { Incident } from '../domain/incident.ts';
import type { TunedFields, TuningRun, TuningRunSummary } from '../domain/tuning-run.ts';
import type { WindowStats } from '../domain/window-counter.ts';
import type {
  BaselineStore,
  DetectorStore,
  IncidentStore,
  StoredWindow,
  TuningState,
  TuningStore,
  WindowStore,
  WindowWrite,
  WriteCounting,
} from './store.ts';

/** The four stores a {@link ComposedStore} answers from, and what counts their writes. */
export interface StoreParts {
  windows: WindowStore;
  baselines: BaselineStore;
  tuning: TuningStore;
  incidents: IncidentStore;
  counter: WriteCounting;
}

/**
 * A {@link DetectorStore} made of one store per kind of data: each method is the part's. Both
 * implementations extend it; a test may compose parts of both (incidents in DynamoDB, the rest in
 * memory).
 */
export class ComposedStore implements DetectorStore {
  readonly windows: WindowStore;
  readonly baselines: BaselineStore;
  readonly tuning: TuningStore;
  readonly incidents: IncidentStore;
  private readonly counter: WriteCounting;

  constructor(parts: StoreParts) {
    ({ windows: this.windows, baselines: this.baselines, tuning: this.tuning, incidents: this.incidents, counter: this.counter } = parts);
  }

  /** Write requests made so far by all four parts. */
  get writes(): number {
    return this.counter.writes;
  }

  /** Write units consumed so far, as DynamoDB bills them. */
  get writeUnits(): number {
    return this.counter.writeUnits;
  }

  /** Read units consumed so far. */
  get readUnits(): number {
    return this.counter.readUnits;
  }

  addWindow(delta: WindowStats, eventIds: readonly string[], expectedRevision: number): Promise<StoredWindow | 'conflict'> {
    return this.windows.addWindow(delta, eventIds, expectedRevision);
  }
  addWindows(writes: readonly WindowWrite[]): Promise<StoredWindow[] | 'conflict'> {
    return this.windows.addWindows(writes);
  }
  getWindows(actor: string, fromWindow: number, toWindow: number): Promise<StoredWindow[]> {
    return this.windows.getWindows(actor, fromWindow, toWindow);
  }
  scanWindows(fromWindow: number, toWindow: number): AsyncIterable<WindowStats> {
    return this.windows.scanWindows(fromWindow, toWindow);
  }
  pruneWindows(beforeWindow: number): Promise<void> {
    return this.windows.pruneWindows(beforeWindow);
  }

  getBaselines(ids: readonly string[]): Promise<Map<string, Baseline>> {
    return this.baselines.getBaselines(ids);
  }
  recordSightings(sightings: readonly Sighting[]): Promise<void> {
    return this.baselines.recordSightings(sightings);
  }
  setVolumeBaselines(volumes: ReadonlyMap<string, VolumeBaseline>): Promise<void> {
    return this.baselines.setVolumeBaselines(volumes);
  }
  listBaselines(): AsyncIterable<Baseline> {
    return this.baselines.listBaselines();
  }
  setTunedFields(fields: ReadonlyMap<string, TunedFields>): Promise<void> {
    return this.baselines.setTunedFields(fields);
  }
  deleteBaselines(ids: readonly string[]): Promise<void> {
    return this.baselines.deleteBaselines(ids);
  }
  restoreBaselines(baselines: readonly Baseline[]): Promise<void> {
    return this.baselines.restoreBaselines(baselines);
  }

  getTuning(): Promise<TuningState | undefined> {
    return this.tuning.getTuning();
  }
  saveTuning(state: TuningState): Promise<void> {
    return this.tuning.saveTuning(state);
  }
  saveTuningRun(run: TuningRun): Promise<void> {
    return this.tuning.saveTuningRun(run);
  }
  getTuningRun(version: number): Promise<TuningRun | undefined> {
    return this.tuning.getTuningRun(version);
  }
  listTuningRuns(): Promise<TuningRunSummary[]> {
    return this.tuning.listTuningRuns();
  }
  deleteTuningRun(version: number): Promise<void> {
    return this.tuning.deleteTuningRun(version);
  }

  openIncident(candidate: Incident, cooldownMs: number): Promise<{ incident: Incident; created: boolean }> {
    return this.incidents.openIncident(candidate, cooldownMs);
  }
  updateIncident(incident: Incident): Promise<boolean> {
    return this.incidents.updateIncident(incident);
  }
  getIncident(incidentId: string): Promise<Incident | undefined> {
    return this.incidents.getIncident(incidentId);
  }
  listIncidents(): Promise<Incident[]> {
    return this.incidents.listIncidents();
  }
}
