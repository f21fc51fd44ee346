import type { AccessEvent, IdentityType } from './access-event.ts';
import { networkOf } from './caller-origin.ts';
import { hash53, setHash } from './hash.ts';
import { HOUR_MS } from './duration.ts';

/** Counts of one actor in one time window. Sets hold short hashes, capped to bound item size. */
export interface WindowStats {
  actor: string;
  principal: string;
  identityType: IdentityType;
  /** Window index: `floor(eventTime / windowMs)`. */
  window: number;
  events: number;
  gets: number;
  heads: number;
  lists: number;
  puts: number;
  /** Objects deleted one by one, including the per-object records of a multi-object delete. */
  deletes: number;
  versionDeletes: number;
  /** Multi-object delete requests (`DeleteObjects` records). */
  deleteBatches: number;
  /**
   * Keys the multi-object delete requests named, estimated from their request bodies' sizes
   * (see {@link estimateBatchDeleteKeys}): the only count a trail without per-object records has.
   */
  batchDeleteKeys: number;
  /** `ListObjectVersions` calls: listing versions before deleting them is the ransomware sequence. */
  versionLists: number;
  bytesOut: number;
  bytesIn: number;
  errors: number;
  readObjects: Set<string>;
  /**
   * Distinct objects read, kept as a number once a closed window lets its object sets go
   * (the in-memory store compacts windows older than the read-then-delete horizon), or once
   * counted over a scored span's windows instead of copied (see {@link countDistinctObjects}).
   */
  distinctObjects?: number;
  deletedObjects: Set<string>;
  buckets: Set<string>;
  networks: Set<string>;
  tools: Set<string>;
  firstEventTime: number;
  lastEventTime: number;
  /** Times of the first and last successful read: the rate of a sweep, not diluted by the lists before it. */
  firstReadTime: number;
  lastReadTime: number;
}

/** Caps on the distinct sets kept per window (DynamoDB items stay far below 400 KB). */
/** Windows the score sums: the current one and the one before it. */
export const SCORED_SPAN_WINDOWS = 2;

/** Whether `window` is summed into the span the score reads at `nowWindow`. */
export const isInScoredSpan = (window: number, nowWindow: number): boolean => window > nowWindow - SCORED_SPAN_WINDOWS && window <= nowWindow;

/** How far back a read makes a delete of the same object "read then deleted". */
export const READ_THEN_DELETE_HORIZON_MS = HOUR_MS;

/** The windows a read-then-delete horizon reaches back over, never fewer than the scored span. */
export function windowsInHorizon(windowMs: number, horizonMs: number = READ_THEN_DELETE_HORIZON_MS): number {
  return Math.max(SCORED_SPAN_WINDOWS, Math.ceil(horizonMs / windowMs));
}

/** How many of the objects deleted in `span` are among `reads`: the read-then-delete count the score weighs. */
export function countReadThenDeleted(span: WindowStats, reads: ReadonlySet<string>): number {
  let count = 0;
  for (const hash of span.deletedObjects) if (reads.has(hash)) count++;
  return count;
}

export const SET_CAPS = { objects: 5000, small: 64, eventIds: 20_000 } as const;

/** Creates an empty window for an actor. */
export function createWindowStats(
  actor: string,
  principal: string,
  identityType: IdentityType,
  window: number,
): WindowStats {
  return {
    actor,
    principal,
    identityType,
    window,
    events: 0,
    gets: 0,
    heads: 0,
    lists: 0,
    puts: 0,
    deletes: 0,
    versionDeletes: 0,
    deleteBatches: 0,
    batchDeleteKeys: 0,
    versionLists: 0,
    bytesOut: 0,
    bytesIn: 0,
    errors: 0,
    readObjects: new Set(),
    deletedObjects: new Set(),
    buckets: new Set(),
    networks: new Set(),
    tools: new Set(),
    firstEventTime: Number.POSITIVE_INFINITY,
    lastEventTime: Number.NEGATIVE_INFINITY,
    firstReadTime: Number.POSITIVE_INFINITY,
    lastReadTime: Number.NEGATIVE_INFINITY,
  };
}

/**
 * Bytes of a `DeleteObjects` request body per key it names, for the estimate: each key is an
 * `<Object><Key>…</Key></Object>` element (28 bytes plus the key), and a version delete adds
 * `<VersionId>…</VersionId>` (23 bytes plus a 32-character id). A 40-character key takes about
 * 70 bytes, with its version id about 125; 100 is the middle of that range.
 */
export const DELETE_BODY_BYTES_PER_KEY = 100;
/** S3 accepts at most this many keys in one `DeleteObjects` request. */
export const MAX_KEYS_PER_DELETE_BATCH = 1000;

/**
 * The number of keys a `DeleteObjects` request named, estimated from its body's size
 * (`additionalEventData.bytesTransferredIn`): CloudTrail's batch record lists no keys and no
 * count. At least 1 (an empty or unreported body still deleted something), at most S3's 1,000.
 * Within about a factor of two for keys of 10–100 characters, which is what a threshold needs.
 */
export function estimateBatchDeleteKeys(bodyBytes: number): number {
  const estimate = Math.round(bodyBytes / DELETE_BODY_BYTES_PER_KEY);
  return Math.min(MAX_KEYS_PER_DELETE_BATCH, Math.max(1, estimate));
}

/** Distinct objects read in a window, whether its object set is still held or was compacted. */
export function countDistinctObjects(stats: WindowStats): number {
  return Math.max(stats.distinctObjects ?? 0, stats.readObjects.size);
}

/**
 * How many distinct members `sets` hold together, up to `cap`: the size of one set that each of
 * them was added to with the cap (as {@link mergeWindowStats} sums windows), counted without
 * building it. A span's windows of a bulk reader hold thousands of objects and it is summed at
 * every batch: the largest set is taken as it is and only the others are looked up in it.
 */
export function countDistinctMembers(sets: readonly ReadonlySet<string>[], cap: number): number {
  let largest: ReadonlySet<string> = new Set();
  for (const set of sets) if (set.size > largest.size) largest = set;
  let count = largest.size;
  const others = new Set<string>();
  for (const set of sets) {
    if (set === largest) continue;
    for (const member of set) {
      if (count >= cap) return cap;
      if (largest.has(member) || others.has(member)) continue;
      others.add(member);
      count++;
    }
  }
  return Math.min(count, cap);
}

/**
 * Objects deleted in a window: the per-object records, or, when a trail has none, the keys its
 * multi-object delete requests named (estimated from their sizes), whichever is more.
 */
export function deletedObjectsOf(stats: WindowStats): number {
  return Math.max(stats.deletes + stats.versionDeletes, stats.batchDeleteKeys ?? 0);
}

/** A short, stable hash of an object for the distinct-object sets. */
export function hashObject(bucket: string | undefined, key: string | undefined): string {
  // The bucket seeds the key's hash: no joined string is built per event.
  return setHash(key ?? '', hash53(bucket ?? ''));
}

function addCapped(set: Set<string>, value: string | undefined, cap: number): void {
  if (value !== undefined && set.size < cap) set.add(value);
}

/**
 * Adds one event to its window. A failed call counts as an error and nothing else: an
 * AccessDenied GetObject read nothing. Each deleted object is counted once: since June 2025
 * CloudTrail writes a `DeleteObject` record per object of a multi-object delete besides the
 * `DeleteObjects` record, so the batch record only counts as a batch.
 */
export function countEvent(stats: WindowStats, event: AccessEvent): void {
  stats.events++;
  stats.firstEventTime = Math.min(stats.firstEventTime, event.eventTime);
  stats.lastEventTime = Math.max(stats.lastEventTime, event.eventTime);
  addCapped(stats.buckets, event.bucket, SET_CAPS.small);
  addCapped(stats.networks, networkOf(event.sourceIp), SET_CAPS.small);
  addCapped(stats.tools, event.toolFamily, SET_CAPS.small);
  if (event.errorCode !== undefined) {
    stats.errors++;
    return;
  }
  switch (event.operation) {
    case 'get':
      stats.gets++;
      stats.bytesOut += event.bytesOut;
      stats.firstReadTime = Math.min(stats.firstReadTime, event.eventTime);
      stats.lastReadTime = Math.max(stats.lastReadTime, event.eventTime);
      addCapped(stats.readObjects, event.objectHash, SET_CAPS.objects);
      break;
    case 'head':
      stats.heads++;
      break;
    case 'list':
      stats.lists++;
      if (event.eventName === 'ListObjectVersions') stats.versionLists++;
      break;
    case 'put':
      stats.puts++;
      stats.bytesIn += event.bytesIn;
      break;
    case 'delete':
      stats.deletes++;
      addCapped(stats.deletedObjects, event.objectHash, SET_CAPS.objects);
      break;
    case 'delete-version':
      stats.versionDeletes++;
      addCapped(stats.deletedObjects, event.objectHash, SET_CAPS.objects);
      break;
    case 'delete-batch':
      stats.deleteBatches++;
      stats.batchDeleteKeys += estimateBatchDeleteKeys(event.bytesIn);
      break;
    case 'other':
      break;
  }
}

/** Adds `delta` into `into` (same actor); used to merge a batch into stored totals and to sum windows. */
export function mergeWindowStats(into: WindowStats, delta: WindowStats): WindowStats {
  mergeWindowCounts(into, delta);
  for (const value of delta.readObjects) addCapped(into.readObjects, value, SET_CAPS.objects);
  return into;
}

/**
 * {@link mergeWindowStats} but for the objects read, which the caller counts with
 * {@link countDistinctMembers} instead of copying them.
 */
export function mergeWindowCounts(into: WindowStats, delta: WindowStats): WindowStats {
  into.events += delta.events;
  into.gets += delta.gets;
  into.heads += delta.heads;
  into.lists += delta.lists;
  into.puts += delta.puts;
  into.deletes += delta.deletes;
  into.versionDeletes += delta.versionDeletes;
  into.deleteBatches += delta.deleteBatches;
  into.batchDeleteKeys += delta.batchDeleteKeys ?? 0;
  into.versionLists += delta.versionLists ?? 0;
  into.bytesOut += delta.bytesOut;
  into.bytesIn += delta.bytesIn;
  into.errors += delta.errors;
  for (const value of delta.deletedObjects) addCapped(into.deletedObjects, value, SET_CAPS.objects);
  for (const value of delta.buckets) addCapped(into.buckets, value, SET_CAPS.small);
  for (const value of delta.networks) addCapped(into.networks, value, SET_CAPS.small);
  for (const value of delta.tools) addCapped(into.tools, value, SET_CAPS.small);
  into.firstEventTime = Math.min(into.firstEventTime, delta.firstEventTime);
  into.lastEventTime = Math.max(into.lastEventTime, delta.lastEventTime);
  // A window stored before read times were kept has reads but no read times: its event times
  // bound them, which can only make a rate look slower, never faster.
  const readTimesKnown = delta.gets === 0 || Number.isFinite(delta.firstReadTime ?? Number.NaN);
  into.firstReadTime = Math.min(into.firstReadTime, readTimesKnown ? delta.firstReadTime : delta.firstEventTime);
  into.lastReadTime = Math.max(into.lastReadTime, readTimesKnown ? delta.lastReadTime : delta.lastEventTime);
  return into;
}

/**
 * Aggregates a batch into one delta per (actor, window): the unit of a store write, so that a
 * batch costs at most one write per actor and window, never one per event.
 */
export function aggregateBatch(events: readonly AccessEvent[], windowMs: number): Map<string, WindowStats> {
  const deltas = new Map<string, WindowStats>();
  for (const event of events) {
    const window = Math.floor(event.eventTime / windowMs);
    const key = `${event.identity.actor}\u0000${window}`;
    let stats = deltas.get(key);
    if (stats === undefined) {
      stats = createWindowStats(event.identity.actor, event.identity.principal, event.identity.type, window);
      deltas.set(key, stats);
    }
    countEvent(stats, event);
  }
  return deltas;
}
