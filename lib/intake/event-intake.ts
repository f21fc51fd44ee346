import type { AccessEvent } from '../domain/access-event.ts';
import { normalizeRecord, type NormalizeOptions, type RecordOutcome } from '../domain/cloudtrail-record.ts';
import { EventDeduplicator } from './event-deduplicator.ts';
import type { IntakeReport } from './intake-report.ts';
import { compareEvents } from './time-order.ts';

/** The skip reason of an event on a bucket the deployment does not protect (next to `normalizeRecord`'s). */
export const UNPROTECTED_BUCKET = 'unprotected-bucket';

/** The reject reason of a record dated where no genuine record can be (see {@link admitRecord}). */
export const IMPLAUSIBLE_TIME = 'implausible-time';

/**
 * How far a record may lie in the future of its delivery. CloudTrail's clocks and SQS's agree to
 * seconds; the slack covers a skewed clock, not a record from tomorrow.
 */
export const MAX_FUTURE_MS = 15 * 60_000;

/** What every path into the detector (SQS, a log file, replay) admits, and how. */
export interface IntakeOptions {
  /** Only events on these buckets are scored; empty or absent: every bucket. */
  protectedBuckets?: readonly string[];
  normalize?: NormalizeOptions;
}

/**
 * The first step of the one intake the score Lambda, score-logfile and `keysentry replay` share:
 * validates and normalises one raw record, counts it, and returns its event, or counts why not.
 * Damaged records are rejected under their reason with `source` as the example; records that are
 * not the detector's (management events, other services, unprotected buckets) are skipped under
 * theirs. `deliveredAt`, when known, is when the record reached keysentry (the SQS send time, the
 * log file's creation): a record dated more than {@link MAX_FUTURE_MS} after it cannot be genuine,
 * and a date in the year 9999 would open windows and tunings nobody can close, so it is rejected
 * as `implausible-time`. Duplicates are dropped later, in event-time order ({@link EventStream}).
 */
export function admitRecord(
  record: unknown,
  source: string,
  report: IntakeReport,
  options: IntakeOptions,
  deliveredAt?: number,
): AccessEvent | undefined {
  return admitOutcome(normalizeRecord(record, options.normalize), source, report, options, deliveredAt);
}

/**
 * {@link admitRecord} for a record the log reader has already normalised (on a reader thread);
 * `source` may be a function, called only when the record is counted as rejected.
 */
export function admitOutcome(
  outcome: RecordOutcome,
  source: string | (() => string),
  report: IntakeReport,
  options: IntakeOptions,
  deliveredAt?: number,
): AccessEvent | undefined {
  report.records++;
  if (outcome.kind === 'rejected') {
    report.count(outcome.reason, placeOf(source));
    return undefined;
  }
  if (outcome.kind === 'skipped') {
    report.skip(outcome.reason);
    return undefined;
  }
  const { event } = outcome;
  const buckets = options.protectedBuckets ?? [];
  if (buckets.length > 0 && (event.bucket === undefined || !buckets.includes(event.bucket))) {
    report.skip(UNPROTECTED_BUCKET);
    return undefined;
  }
  if (deliveredAt !== undefined && event.eventTime > deliveredAt + MAX_FUTURE_MS) {
    report.count(IMPLAUSIBLE_TIME, placeOf(source));
    return undefined;
  }
  return event;
}

const placeOf = (source: string | (() => string)): string => (typeof source === 'string' ? source : source());

/** Event time decided as one batch unless told otherwise: the SQS batching window's order of magnitude. */
export const DEFAULT_BATCH_WINDOW_MS = 10_000;

/** The end of the intake batch an event time falls in: batches are `batchWindowMs` of event time. */
export const batchEndOf = (eventTime: number, batchWindowMs: number): number =>
  (Math.floor(eventTime / batchWindowMs) + 1) * batchWindowMs;

/** One intake batch: its events, decided at `decisionTime` (the end of its window of event time). */
export interface IntakeBatch {
  events: AccessEvent[];
  decisionTime: number;
}

/**
 * Calls that destroy data for good in one request: a multi-object delete (up to 1,000 keys) and
 * the deletion of an object version. They travel on the urgent lane (their own EventBridge rule
 * and SQS queue, without a batching window), so they are decided as they land, not at the end of
 * the batch they fall in.
 */
export const isUrgent = (event: AccessEvent): boolean => event.operation === 'delete-batch' || event.operation === 'delete-version';

/**
 * The second step of the intake: admitted events, fed in event-time order, are deduplicated by
 * eventID and cut into batches of `batchWindowMs` of event time. A redelivered record carries its
 * first delivery's eventTime, so in time order its copies meet within the same second and the
 * bounded deduplicator is exact; duplicates and unique events are counted in the report. Every
 * path sorts its events first ({@link sortByEventTime}, replay's `TimeOrderSpool` or its reorder
 * window), so no event is older than the open batch, but for a record delivered later than
 * replay's reorder window, which joins the open batch as it would in production. With `urgentLane`, {@link isUrgent} events are cut out as
 * batches of their own second, decided at its end, before any later event: what the urgent queue
 * gives the score function, while the other events of the open batch wait for its end.
 */
export class EventStream {
  private readonly dedup: EventDeduplicator;
  private batch: AccessEvent[] = [];
  private batchEnd = Number.NEGATIVE_INFINITY;
  private urgent: AccessEvent[] = [];
  private urgentSecond = Number.NEGATIVE_INFINITY;

  private readonly urgentLane: boolean;

  constructor(
    private readonly report: IntakeReport,
    private readonly batchWindowMs: number,
    options: { urgentLane?: boolean; dedupCapacity?: number; dedupHorizonMs?: number } = {},
  ) {
    this.dedup = new EventDeduplicator(options.dedupCapacity ?? 200_000, options.dedupHorizonMs);
    this.urgentLane = options.urgentLane ?? false;
  }

  /** Counts the event as unique (true) or as a duplicate (false), without batching it. */
  unique(event: AccessEvent): boolean {
    if (!this.dedup.firstSeen(event.eventId, event.eventTime)) {
      this.report.duplicates++;
      return false;
    }
    this.report.events++;
    return true;
  }

  /** Takes the next event; returns the batches it closed (urgent ones first, in time order). */
  push(event: AccessEvent): IntakeBatch[] {
    if (!this.unique(event)) return [];
    const closed: IntakeBatch[] = [];
    const second = Math.floor(event.eventTime / 1000) * 1000;
    if (this.urgent.length > 0 && second > this.urgentSecond) closed.push(this.closeUrgent());
    if (event.eventTime >= this.batchEnd) {
      const regular = this.closeRegular();
      if (regular !== undefined) closed.push(regular);
      this.batchEnd = batchEndOf(event.eventTime, this.batchWindowMs);
    }
    if (this.urgentLane && isUrgent(event)) {
      this.urgentSecond = second;
      this.urgent.push(event);
    } else {
      this.batch.push(event);
    }
    return closed;
  }

  /** Closes what is open (end of input): the urgent batch, then the regular one. */
  close(): IntakeBatch[] {
    const closed: IntakeBatch[] = [];
    if (this.urgent.length > 0) closed.push(this.closeUrgent());
    const regular = this.closeRegular();
    if (regular !== undefined) closed.push(regular);
    return closed;
  }

  private closeUrgent(): IntakeBatch {
    const closed = { events: this.urgent, decisionTime: this.urgentSecond + 1000 };
    this.urgent = [];
    return closed;
  }

  private closeRegular(): IntakeBatch | undefined {
    if (this.batch.length === 0) return undefined;
    const closed = { events: this.batch, decisionTime: this.batchEnd };
    this.batch = [];
    return closed;
  }
}

/** Sorts events in place into the intake's order: event time, then eventID ({@link compareEvents}). */
export function sortByEventTime(events: AccessEvent[]): AccessEvent[] {
  return events.sort(compareEvents);
}
