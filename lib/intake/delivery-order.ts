import { basename } from 'node:path';
import TinyQueue from 'tinyqueue';
import type { AccessEvent } from '../domain/access-event.ts';
import { compareEvents } from './time-order.ts';

/**
 * How long before its file's delivery a record may be dated and still be put in order (default of
 * replay's `reorderWindowMs`). CloudTrail delivers a record within about 5 minutes on average, a
 * few much later; an hour keeps an hour of events in memory.
 */
export const DEFAULT_REORDER_WINDOW_MS = 60 * 60_000;

/** `111122223333_CloudTrail_us-east-1_20261103T1929Z_06236441fcb04ec2.json.gz`: the minute of delivery. */
const DELIVERY_STAMP = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[^_]+$/;

/**
 * When CloudTrail delivered a log file, from the stamp its name carries (`YYYYMMDDTHHmmZ`, the
 * minute of delivery, for log and Insights files alike): the end of that minute. Undefined for a
 * name without a valid stamp (an export, a copy, a digest, which has seconds).
 */
export function deliveryTimeOf(path: string): number | undefined {
  const match = DELIVERY_STAMP.exec(basename(path));
  if (match === null) return undefined;
  const [year, month, day, hour, minute] = match.slice(1).map(Number) as [number, number, number, number, number];
  const time = Date.UTC(year, month - 1, day, hour, minute);
  const date = new Date(time);
  // Date.UTC rolls a 13th month or a 31st of April over; a stamp that does so is not a stamp.
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59) return undefined;
  return time + 60_000;
}

/**
 * Puts events read in delivery order (files by the time in their names) into event-time order
 * while holding only the recent ones: a record is delivered minutes after it happened, so once
 * files delivered at `t` are being read, every event dated before `t` minus the reorder window has
 * been read and can be handed on. An event older than one already handed on is late: it cannot be
 * put in its place any more and is counted, and the caller decides it as it comes, as the
 * log-file path in production would.
 */
export class ReorderWindow {
  private readonly heap = new TinyQueue<AccessEvent>([], compareEvents);
  private last: AccessEvent | undefined;
  /** Events that came after a later one had been handed on. */
  late = 0;
  /** The most events held at once. */
  heldAtMost = 0;

  /** Holds `event`; false when it is late (not held: the caller takes it as it is). */
  add(event: AccessEvent): boolean {
    if (this.last !== undefined && compareEvents(event, this.last) < 0) {
      this.late++;
      return false;
    }
    this.heap.push(event);
    if (this.heap.length > this.heldAtMost) this.heldAtMost = this.heap.length;
    return true;
  }

  /** Hands on, in event-time order, every held event dated before `time`. */
  release(time: number): AccessEvent[] {
    const out: AccessEvent[] = [];
    for (let next = this.heap.peek(); next !== undefined && next.eventTime < time; next = this.heap.peek()) out.push(this.heap.pop() as AccessEvent);
    if (out.length > 0) this.last = out[out.length - 1];
    return out;
  }

  /** Hands on every held event (the end of the input). */
  drain(): AccessEvent[] {
    return this.release(Number.POSITIVE_INFINITY);
  }
}
