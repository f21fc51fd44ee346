import type { StoredWindow, WindowStore } from '../store/store.ts';

/**
 * How long a detector trusts the windows it last read of a calm actor: five minutes, about the
 * delay of a CloudTrail log file, which the log-file path's view of the same events has anyway.
 */
export const DEFAULT_WINDOW_CACHE_MS = 300_000;

interface CachedWindows {
  /** The decision time of the read. */
  readAt: number;
  /** The oldest window the read asked for: the entry answers for every window from it on. */
  fromWindow: number;
  windows: Map<number, StoredWindow>;
}

/**
 * The stored windows a detector last read of each actor, and what it wrote since: a read of the
 * same actor within `maxAgeMs` of decision time, from the same window on, is answered from here
 * instead of a Query (every Query costs a read unit, even one that finds nothing, and an actor
 * is read in every batch it appears in). Alone on the store (a replay) the copy is exact. Beside
 * other containers it may miss what they wrote in the last `maxAgeMs`: the detector reads from
 * here only for an actor calm in its container (whose own held events are in no store either),
 * and afresh for any other. Writes are unaffected: each is checked against the window's
 * revision, and a lost race reads afresh.
 */
export class WindowCache {
  private readonly byActor = new Map<string, CachedWindows>();
  private now = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: Pick<WindowStore, 'getWindows'>,
    private readonly maxAgeMs: number = DEFAULT_WINDOW_CACHE_MS,
    private readonly maxActors = 20_000,
  ) {}

  /**
   * Sets the time reads are judged against: the decision time of the batch being decided. Entries
   * too old to answer a read any more are let go (the map is in the order of their reads), so the
   * cache holds the actors of the last `maxAgeMs`, not every actor a month of replay has met.
   */
  at(decisionTime: number): void {
    this.now = decisionTime;
    for (const [actor, cached] of this.byActor) {
      if (decisionTime - cached.readAt < this.maxAgeMs) break;
      this.byActor.delete(actor);
    }
  }

  /** Actors whose windows are held. */
  get size(): number {
    return this.byActor.size;
  }

  /** The actor's stored windows in `[fromWindow, toWindow]`, in order: the cached copy while it is fresh, else a read. */
  async read(actor: string, fromWindow: number, toWindow: number): Promise<StoredWindow[]> {
    const cached = this.byActor.get(actor);
    if (cached === undefined || fromWindow < cached.fromWindow || this.now - cached.readAt >= this.maxAgeMs) return this.readAfresh(actor, fromWindow, toWindow);
    const found: StoredWindow[] = [];
    for (const window of cached.windows.values()) if (window.window >= fromWindow && window.window <= toWindow) found.push(window);
    return found.sort((a, b) => a.window - b.window);
  }

  /**
   * Reads the store whatever the cache holds (an actor with something to score, a lost race) and
   * keeps what it found: over a fresh entry reaching further back it replaces only the windows
   * read, so the older ones (an unfamiliar reader's day of windows) are not read again until that
   * entry is `maxAgeMs` old.
   */
  async readAfresh(actor: string, fromWindow: number, toWindow: number): Promise<StoredWindow[]> {
    const windows = await this.store.getWindows(actor, fromWindow, toWindow);
    const cached = this.byActor.get(actor);
    this.byActor.delete(actor);
    if (cached !== undefined && cached.fromWindow < fromWindow && this.now - cached.readAt < this.maxAgeMs) {
      for (const window of cached.windows.keys()) if (window >= fromWindow && window <= toWindow) cached.windows.delete(window);
      for (const window of windows) cached.windows.set(window.window, window);
      this.byActor.set(actor, cached);
    } else {
      this.byActor.set(actor, { readAt: this.now, fromWindow, windows: new Map(windows.map((window) => [window.window, window])) });
    }
    if (this.byActor.size > this.maxActors) this.byActor.delete(this.byActor.keys().next().value as string);
    return windows;
  }

  /** Keeps windows the detector just wrote (the store's answer to its write). */
  wrote(windows: readonly StoredWindow[]): void {
    for (const window of windows) this.byActor.get(window.actor)?.windows.set(window.window, window);
  }

  /** Forgets everything (the detector's store may have changed behind it). */
  clear(): void {
    this.byActor.clear();
  }
}
