import type { AccessEvent } from '../domain/access-event.ts';
import type { NormalizeOptions } from '../domain/cloudtrail-record.ts';
import { deliveryTimeOf, ReorderWindow, DEFAULT_REORDER_WINDOW_MS } from '../intake/delivery-order.ts';
import { admitOutcome, IMPLAUSIBLE_TIME, type IntakeOptions } from '../intake/event-intake.ts';
import { EventTimeProfile, ISOLATION_GAP_MS } from '../intake/event-time-profile.ts';
import type { IntakeReport } from '../intake/intake-report.ts';
import { readLogOutcomes } from '../intake/log-reader.ts';
import type { LogFile } from '../intake/read-types.ts';
import { TimeOrderSpool } from '../intake/time-order.ts';

/** How replay puts its input in event-time order (see {@link orderedEvents}). */
export type ReplayOrder = 'delivery' | 'sorted';

export interface ReplayInputOptions {
  /** `auto` (default): `delivery` when every file carries CloudTrail's delivery stamp, else `sorted`. */
  order?: 'auto' | 'sorted';
  /** `delivery` order: how long before its file's delivery a record is still put in its place (default 1 h). */
  reorderWindowMs?: number;
  /** `sorted` order: events held in memory before a sorted run goes to disk (default 100,000). */
  sortMemoryEvents?: number;
  workers?: number;
  normalize: NormalizeOptions;
  intake: IntakeOptions;
  /** Whether a file's records are evidence enough to contain; absent: all are. */
  trustSource?: (source: string) => boolean;
  /** A key created in a file the caller trusts (`CreateAccessKey`). */
  onKeyCreated?: (accessKeyId: string, createdAt: number) => void;
  onFile?: (path: string) => void;
}

/** What ordering the input took. */
export interface ReplayInputStats {
  order: ReplayOrder;
  /** `sorted`: runs written to disk (0: it fitted in memory). */
  sortRuns: number;
  /** `delivery`: events older than one already decided, decided as they came (as production would). */
  lateEvents: number;
  /** `delivery`: the most events held at once to put them in order. */
  heldAtMost: number;
}

/**
 * Reads every record of `files` and yields the admitted events in event-time order (then eventID),
 * as slices. Implausible event times are rejected as `implausible-time` on the way.
 *
 * - `delivery`, when every file's name carries CloudTrail's delivery stamp (`listLogFiles` lists
 *   them in stamp order): events are decided while the next files are read, holding only those of
 *   the last `reorderWindowMs` ({@link ReorderWindow}). A record dated after its file's delivery
 *   (beyond the clock slack), or more than {@link ISOLATION_GAP_MS} before it, is implausible; so
 *   are the records of files whose stamps stand apart from the bulk's (a minority of files whose
 *   days are isolated by a month, {@link EventTimeProfile} over the stamps).
 * - `sorted`, for anything else (exports newest first, shuffled copies, names without stamps): a
 *   first pass reads everything into an on-disk sort ({@link TimeOrderSpool}) and counts days
 *   of event time; implausible days are those isolated from the bulk of the records.
 */
export async function* orderedEvents(
  files: readonly LogFile[],
  report: IntakeReport,
  options: ReplayInputOptions,
  stats: ReplayInputStats,
): AsyncGenerator<AccessEvent[]> {
  const stamps = files.map((file) => deliveryTimeOf(file.path));
  const delivered = options.order !== 'sorted' && files.length > 0 && stamps.every((stamp) => stamp !== undefined);
  stats.order = delivered ? 'delivery' : 'sorted';
  if (delivered) yield* inDeliveryOrder(files, stamps as number[], report, options, stats);
  else yield* sortedOnDisk(files, report, options, stats);
}

/** One file's admitted events, as read; `locate(i)` is where `events[i]` was read. */
interface AdmittedBatch {
  source: string;
  delivery: number | undefined;
  events: AccessEvent[];
  locate(position: number): string;
}

/** The admitted events of the files, as read, with `deliveredAt` per file for the future bound. */
async function* admitted(
  files: readonly LogFile[],
  report: IntakeReport,
  options: ReplayInputOptions,
  deliveredAt?: Map<string, number>,
): AsyncGenerator<AdmittedBatch> {
  for await (const batch of readLogOutcomes(files, report, { workers: options.workers, normalize: options.normalize, onFile: options.onFile })) {
    const vouchedFor = options.trustSource?.(batch.source) ?? true;
    const delivery = deliveredAt?.get(batch.source);
    const events: AccessEvent[] = [];
    // The record index of each admitted event: its place is written out only if it is counted.
    const records: number[] = [];
    // One function for the batch names the record being admitted, instead of one per record.
    let current = 0;
    const locateCurrent = (): string => batch.locate(current);
    for (const [index, outcome] of batch.outcomes.entries()) {
      // A creation in a file no digest vouched for could make an attacker's key look new: not taken.
      if (outcome.kind === 'skipped' && outcome.keyCreated !== undefined && vouchedFor) {
        options.onKeyCreated?.(outcome.keyCreated.accessKeyId, outcome.keyCreated.createdAt);
      }
      current = index;
      const event = admitOutcome(outcome, locateCurrent, report, options.intake, delivery);
      if (event === undefined) continue;
      if (!vouchedFor) event.unverified = true;
      events.push(event);
      records.push(index);
    }
    yield { source: batch.source, delivery, events, locate: (position) => batch.locate(records[position] as number) };
  }
}

async function* inDeliveryOrder(
  files: readonly LogFile[],
  stamps: readonly number[],
  report: IntakeReport,
  options: ReplayInputOptions,
  stats: ReplayInputStats,
): AsyncGenerator<AccessEvent[]> {
  const windowMs = options.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS;
  const deliveredAt = new Map(files.map((file, i) => [file.path, stamps[i] as number]));
  const stampProfile = new EventTimeProfile();
  for (const [i, file] of files.entries()) stampProfile.add(stamps[i] as number, file.path);
  const plausibleStamps = stampProfile.plausibleTimes();
  const reorder = new ReorderWindow();
  let source: string | undefined;
  for await (const batch of admitted(files, report, options, deliveredAt)) {
    const delivery = batch.delivery as number;
    if (batch.source !== source) {
      source = batch.source;
      const ready = reorder.release(delivery - windowMs);
      if (ready.length > 0) yield ready;
    }
    const stampPlausible = plausibleStamps.isPlausible(delivery);
    const late: AccessEvent[] = [];
    for (const [position, event] of batch.events.entries()) {
      if (!stampPlausible || event.eventTime < delivery - ISOLATION_GAP_MS) report.count(IMPLAUSIBLE_TIME, batch.locate(position));
      else if (!reorder.add(event)) late.push(event);
    }
    if (late.length > 0) yield late;
  }
  const rest = reorder.drain();
  if (rest.length > 0) yield rest;
  stats.lateEvents = reorder.late;
  stats.heldAtMost = reorder.heldAtMost;
}

async function* sortedOnDisk(files: readonly LogFile[], report: IntakeReport, options: ReplayInputOptions, stats: ReplayInputStats): AsyncGenerator<AccessEvent[]> {
  const spool = new TimeOrderSpool({ maxInMemory: options.sortMemoryEvents });
  const profile = new EventTimeProfile();
  for await (const batch of admitted(files, report, options)) {
    for (const [position, event] of batch.events.entries()) {
      profile.add(event.eventTime, () => batch.locate(position));
      if (spool.full) await spool.spill();
      spool.add(event);
    }
  }
  stats.sortRuns = spool.spilledRuns;
  const plausible = profile.plausibleTimes();
  for await (const slice of spool.drain()) {
    const kept = slice.filter((event) => {
      if (plausible.isPlausible(event.eventTime)) return true;
      report.count(IMPLAUSIBLE_TIME, plausible.sourceOf(event.eventTime));
      return false;
    });
    if (kept.length > 0) yield kept;
  }
}
