import type { Baseline, Sighting, VolumeBaseline } from '../domain/baseline.ts';
import type { TunedFields, TuningRun, TuningRunSummary } from '../domain/tuning-run.ts';
import { createWindowStats, mergeWindowStats, type WindowStats } from '../domain/window-counter.ts';
import { ComposedStore } from './composed-store.ts';
import type { BaselineStore, DetectorStore, StoredWindow, TuningState, TuningStore, WindowStore, WindowWrite } from './store.ts';

/**
 * The windows as the deployment has them, plus what unverified records added, which stays here:
 * the first write to a window copies the stored one, later reads of it see the copy. Nothing is
 * written to the deployment's windows, so records nobody vouched for never count toward a later
 * decision on AWS-delivered events, and a verified copy of the same records later counts them anew.
 */
class ScratchWindows implements WindowStore {
  private readonly scratch = new Map<string, StoredWindow>();

  constructor(private readonly stored: WindowStore) {}

  async addWindow(delta: WindowStats, eventIds: readonly string[], expectedRevision: number): Promise<StoredWindow | 'conflict'> {
    const written = await this.addWindows([{ delta, eventIds, expectedRevision }]);
    return written === 'conflict' ? written : (written[0] as StoredWindow);
  }

  async addWindows(writes: readonly WindowWrite[]): Promise<StoredWindow[] | 'conflict'> {
    const windows: StoredWindow[] = [];
    for (const { delta, expectedRevision } of writes) {
      const window = await this.scratchCopy(delta);
      if (window.revision !== expectedRevision) return 'conflict';
      windows.push(window);
    }
    writes.forEach(({ delta, eventIds }, index) => {
      const window = windows[index] as StoredWindow;
      mergeWindowStats(window, delta);
      for (const eventId of eventIds) window.eventIds.add(eventId);
      window.revision++;
    });
    return windows;
  }

  /** The scratch copy of `delta`'s window, made from the stored one at its first write. */
  private async scratchCopy(delta: WindowStats): Promise<StoredWindow> {
    const id = `${delta.actor}\u0000${delta.window}`;
    let window = this.scratch.get(id);
    if (window === undefined) {
      const [original] = await this.stored.getWindows(delta.actor, delta.window, delta.window);
      window =
        original === undefined
          ? { ...createWindowStats(delta.actor, delta.principal, delta.identityType, delta.window), revision: 0, eventIds: new Set() }
          : structuredClone(original);
      this.scratch.set(id, window);
    }
    return window;
  }

  async getWindows(actor: string, fromWindow: number, toWindow: number): Promise<StoredWindow[]> {
    const windows = new Map((await this.stored.getWindows(actor, fromWindow, toWindow)).map((window) => [window.window, window]));
    for (const window of this.scratch.values()) {
      if (window.actor === actor && window.window >= fromWindow && window.window <= toWindow) windows.set(window.window, window);
    }
    return [...windows.values()].sort((a, b) => a.window - b.window);
  }

  scanWindows(fromWindow: number, toWindow: number): AsyncIterable<WindowStats> {
    return this.stored.scanWindows(fromWindow, toWindow);
  }

  async pruneWindows(): Promise<void> {}
}

/** The baselines as they are, read only: unverified records teach no principal anything. */
class ReadOnlyBaselines implements BaselineStore {
  constructor(private readonly stored: BaselineStore) {}

  getBaselines(ids: readonly string[]): Promise<Map<string, Baseline>> {
    return this.stored.getBaselines(ids);
  }
  listBaselines(): AsyncIterable<Baseline> {
    return this.stored.listBaselines();
  }
  async recordSightings(_sightings: readonly Sighting[]): Promise<void> {}
  async setVolumeBaselines(_volumes: ReadonlyMap<string, VolumeBaseline>): Promise<void> {}
  async setTunedFields(_fields: ReadonlyMap<string, TunedFields>): Promise<void> {}
  async deleteBaselines(_ids: readonly string[]): Promise<void> {}
  async restoreBaselines(_baselines: readonly Baseline[]): Promise<void> {}
}

/** The tuning as it is, read only. */
class ReadOnlyTuning implements TuningStore {
  constructor(private readonly stored: TuningStore) {}

  getTuning(): Promise<TuningState | undefined> {
    return this.stored.getTuning();
  }
  getTuningRun(version: number): Promise<TuningRun | undefined> {
    return this.stored.getTuningRun(version);
  }
  listTuningRuns(): Promise<TuningRunSummary[]> {
    return this.stored.listTuningRuns();
  }
  async saveTuning(_state: TuningState): Promise<void> {}
  async saveTuningRun(_run: TuningRun): Promise<void> {}
  async deleteTuningRun(_version: number): Promise<void> {}
}

/**
 * The store as a detector of unverified records (a log file CloudTrail's signed digest has not
 * vouched for yet) must see it: it reads windows, baselines and the tuning as they are, keeps what
 * it counts to itself, learns nothing, and writes only incidents — so that the on-call is paged
 * about "unverified evidence" and the incident is there to escalate when the digest arrives.
 */
export function unverifiedView(store: DetectorStore): DetectorStore {
  return new ComposedStore({
    windows: new ScratchWindows(store),
    baselines: new ReadOnlyBaselines(store),
    tuning: new ReadOnlyTuning(store),
    incidents: store,
    counter: store,
  });
}
