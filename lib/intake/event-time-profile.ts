const DAY_MS = 86_400_000;

/** Days without any event that set a group of days apart from the rest of the input. */
export const ISOLATION_GAP_MS = 30 * DAY_MS;

/** An isolated group of days holding less than this share of the bulk's events is implausible. */
export const MINORITY_SHARE = 0.05;

interface DayCount {
  count: number;
  first: number;
  last: number;
  /** Where the first of the day's events was read (the example of a rejection). */
  source: string;
}

/** Which event times of an input are plausible, decided once the whole input has been read. */
export interface PlausibleTimes {
  isPlausible(eventTime: number): boolean;
  /** The file an implausible day's first event came from. */
  sourceOf(eventTime: number): string;
  /** The earliest and latest plausible event times; undefined for an input without events. */
  first?: number;
  last?: number;
  /** Implausible events, and the days that held them. */
  rejected: number;
  rejectedDays: number;
}

/**
 * Counts an input's events per day of event time, to tell where the bulk of the input lies. A
 * log file names no delivery time a replay could check a record against, but genuine records come
 * in runs of days: a record dated 9999-12-31, or in 1970, among three weeks of logs stands alone.
 * Days are grouped into runs separated by at least {@link ISOLATION_GAP_MS} without events; the
 * run with the most events is the bulk, and a run holding less than {@link MINORITY_SHARE} of the
 * bulk's events is implausible. Two substantial runs a year apart (two periods replayed together)
 * are both kept. Memory is one entry per day that holds an event.
 */
export class EventTimeProfile {
  private readonly days = new Map<number, DayCount>();

  /** Counts an event; `source` (or the function that names it) is asked for once per day. */
  add(eventTime: number, source: string | (() => string)): void {
    const day = Math.floor(eventTime / DAY_MS);
    const entry = this.days.get(day);
    if (entry === undefined) {
      this.days.set(day, { count: 1, first: eventTime, last: eventTime, source: typeof source === 'string' ? source : source() });
      return;
    }
    entry.count++;
    if (eventTime < entry.first) entry.first = eventTime;
    if (eventTime > entry.last) entry.last = eventTime;
  }

  /** Decides, from every day counted, which event times are plausible. */
  plausibleTimes(): PlausibleTimes {
    const runs = this.runsOfDays();
    const bulk = runs.reduce((max, run) => Math.max(max, run.count), 0);
    const implausible = new Set<number>();
    let rejected = 0;
    let first: number | undefined;
    let last: number | undefined;
    for (const run of runs) {
      if (run.count < MINORITY_SHARE * bulk) {
        for (const day of run.days) implausible.add(day);
        rejected += run.count;
        continue;
      }
      for (const day of run.days) {
        const entry = this.days.get(day) as DayCount;
        if (first === undefined || entry.first < first) first = entry.first;
        if (last === undefined || entry.last > last) last = entry.last;
      }
    }
    const dayOf = (eventTime: number): number => Math.floor(eventTime / DAY_MS);
    return {
      isPlausible: (eventTime) => !implausible.has(dayOf(eventTime)),
      sourceOf: (eventTime) => this.days.get(dayOf(eventTime))?.source ?? 'unknown',
      first,
      last,
      rejected,
      rejectedDays: implausible.size,
    };
  }

  private runsOfDays(): Array<{ days: number[]; count: number }> {
    const runs: Array<{ days: number[]; count: number }> = [];
    let previous = Number.NEGATIVE_INFINITY;
    for (const day of [...this.days.keys()].sort((a, b) => a - b)) {
      const count = (this.days.get(day) as DayCount).count;
      const current = runs[runs.length - 1];
      if (current === undefined || (day - previous) * DAY_MS > ISOLATION_GAP_MS) runs.push({ days: [day], count });
      else {
        current.days.push(day);
        current.count += count;
      }
      previous = day;
    }
    return runs;
  }
}
