import { ConditionalCheckFailedException, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { IdentityType } from '../../domain/access-event.ts';
import { DAY_MS } from '../../domain/duration.ts';
import { createWindowStats, mergeWindowStats, SET_CAPS, type WindowStats } from '../../domain/window-counter.ts';
import type { StoredWindow, WindowStore, WindowWrite } from '../../store/store.ts';
import { HASHED_SETS, itemStartOf, packHash, unpackHash, WINDOW_FIELDS, windowAttribute, WINDOWS_PER_ITEM, type WindowField } from '../../store/window-item.ts';
import { remember, type Item, type TableAccess } from './table-access.ts';

/** The windows table's TTL attribute (epoch seconds), as serverless.yml declares it. */
export const WINDOW_EXPIRY_ATTRIBUTE = 'expiresAt';

type NumericField = { [K in keyof WindowStats]-?: WindowStats[K] extends number ? K : never }[keyof WindowStats];
type SetField = { [K in keyof WindowStats]-?: WindowStats[K] extends Set<string> ? K : never }[keyof WindowStats];
type StoredSet = SetField | 'eventIds';

// Typed as records over the WindowStats fields so that a counter or set added there fails to
// compile here instead of being silently dropped by the store.
// distinctObjects is the in-memory store's compaction; DynamoDB keeps the set until the TTL.
// The event and read times are SET to their min/max, not ADDed.
const TIMES = ['firstEventTime', 'lastEventTime', 'firstReadTime', 'lastReadTime'] as const;
type TimeField = (typeof TIMES)[number];
const COUNTERS: Record<Exclude<NumericField, 'window' | TimeField | 'distinctObjects'>, true> = {
  events: true,
  gets: true,
  heads: true,
  lists: true,
  puts: true,
  deletes: true,
  versionDeletes: true,
  deleteBatches: true,
  batchDeleteKeys: true,
  versionLists: true,
  bytesOut: true,
  bytesIn: true,
  errors: true,
};
const SET_LIMITS: Record<StoredSet, number> = {
  readObjects: SET_CAPS.objects,
  deletedObjects: SET_CAPS.objects,
  buckets: SET_CAPS.small,
  networks: SET_CAPS.small,
  tools: SET_CAPS.small,
  eventIds: SET_CAPS.eventIds,
};
const COUNTER_NAMES = Object.keys(COUNTERS) as (keyof typeof COUNTERS)[];
const SET_NAMES = Object.keys(SET_LIMITS) as StoredSet[];

/** What `addWindows` must know of a stored window it adds to: times and set sizes at a revision. */
interface WindowSummary extends Record<TimeField, number> {
  revision: number;
  sizes: Record<StoredSet, number>;
}

const EMPTY_WINDOW: WindowSummary = {
  revision: 0,
  firstEventTime: Number.POSITIVE_INFINITY,
  lastEventTime: Number.NEGATIVE_INFINITY,
  firstReadTime: Number.POSITIVE_INFINITY,
  lastReadTime: Number.NEGATIVE_INFINITY,
  sizes: { readObjects: 0, deletedObjects: 0, buckets: 0, networks: 0, tools: 0, eventIds: 0 },
};

function summarizeWindow(window: StoredWindow): WindowSummary {
  const sizes = { ...EMPTY_WINDOW.sizes };
  for (const name of SET_NAMES) sizes[name] = window[name].size;
  const { revision, firstEventTime, lastEventTime, firstReadTime, lastReadTime } = window;
  return { revision, firstEventTime, lastEventTime, firstReadTime, lastReadTime, sizes };
}

/** An empty window of the item's actor. */
function emptyWindow(raw: Record<string, unknown>, window: number): StoredWindow {
  return { ...createWindowStats(String(raw.pk), String(raw.principal), raw.identityType as IdentityType, window), revision: 0, eventIds: new Set() };
}

/**
 * A window as an item written before windows shared items kept it: one item per window, its
 * fields under their own names. Read as it is; its `revision` was that item's, so the window
 * counts as not written yet in the shared layout, whose writes go to their own attributes.
 */
function legacyWindowOf(raw: Record<string, unknown>): StoredWindow | undefined {
  if (raw.revision === undefined) return undefined;
  const window = emptyWindow(raw, Number(raw.sk));
  for (const name of COUNTER_NAMES) window[name] = Number(raw[name] ?? 0);
  for (const name of SET_NAMES) if (raw[name] instanceof Set) window[name] = raw[name] as Set<string>;
  for (const name of TIMES) if (typeof raw[name] === 'number') window[name] = raw[name];
  // A window written before read times were kept: its event times bound its reads.
  if (window.gets > 0 && !Number.isFinite(window.firstReadTime)) {
    window.firstReadTime = window.firstEventTime;
    window.lastReadTime = window.lastEventTime;
  }
  return window;
}

/** The windows an item holds: each written window's attributes (`2g`: the third window's gets), and a legacy window. */
function windowsOfItem(item: Item): StoredWindow[] {
  const raw = unmarshall(item);
  const start = Number(raw.sk);
  const windows: StoredWindow[] = [];
  if (start === itemStartOf(start)) {
    for (let offset = 0; offset < WINDOWS_PER_ITEM; offset++) {
      if (raw[windowAttribute(offset, 'revision')] === undefined) continue;
      const window = emptyWindow(raw, start + offset);
      for (const field of WINDOW_FIELDS) {
        const value: unknown = raw[windowAttribute(offset, field)];
        if (value === undefined) continue;
        (window as unknown as Record<string, unknown>)[field] = HASHED_SETS.has(field) ? new Set([...(value as Set<Uint8Array>)].map(unpackHash)) : value;
      }
      windows.push(window);
    }
  }
  const legacy = legacyWindowOf(raw);
  if (legacy === undefined) return windows;
  const current = windows.find((window) => window.window === legacy.window);
  if (current === undefined) return [legacy, ...windows];
  mergeStoredWindow(current, legacy);
  return windows;
}

/** Adds `other`, a second stored part of `into`'s window (a legacy item), to it; the revision stays `into`'s. */
function mergeStoredWindow(into: StoredWindow, other: StoredWindow): void {
  mergeWindowStats(into, other);
  for (const id of other.eventIds) into.eventIds.add(id);
}

/** Merges the parts of one window found in two items (a legacy item beside the shared one), in window order. */
function mergeParts(parts: Iterable<StoredWindow>): StoredWindow[] {
  const byWindow = new Map<number, StoredWindow>();
  for (const part of parts) {
    const known = byWindow.get(part.window);
    if (known === undefined) byWindow.set(part.window, part);
    else if (part.revision > 0) {
      mergeStoredWindow(part, known);
      byWindow.set(part.window, part);
    } else mergeStoredWindow(known, part);
  }
  return [...byWindow.values()].sort((a, b) => a.window - b.window);
}

/** The first `room` members of `values`: the stored set never grows past its cap. */
function takeUpTo(values: Iterable<string>, room: number): string[] {
  const taken: string[] = [];
  for (const value of values) {
    if (taken.length >= room) break;
    taken.push(value);
  }
  return taken;
}

/** The parts of one UpdateItem expression, filled in by {@link itemUpdate}. */
interface UpdateParts {
  names: Record<string, string>;
  values: Record<string, AttributeValue>;
  sets: string[];
  adds: string[];
  conditions: string[];
}

/**
 * Adds to `parts` what adds `write` to the window at `offset` of its item, whose times and set
 * sizes are `stored`: times SET to the true min/max, counters and capped sets ADDed, the window's
 * revision bumped and checked.
 */
function addWindowUpdate(parts: UpdateParts, write: WindowWrite, offset: number, stored: WindowSummary): void {
  const { names, values, sets, adds, conditions } = parts;
  const { delta } = write;
  const name = (field: WindowField): string => {
    const attribute = windowAttribute(offset, field);
    names[`#a${attribute}`] = attribute;
    return attribute;
  };
  for (const field of TIMES) {
    const time = field.startsWith('first') ? Math.min(stored[field], delta[field]) : Math.max(stored[field], delta[field]);
    if (!Number.isFinite(time)) continue;
    const attribute = name(field);
    values[`:a${attribute}`] = { N: String(time) };
    sets.push(`#a${attribute} = :a${attribute}`);
  }
  for (const field of COUNTER_NAMES) {
    if (delta[field] === 0) continue;
    const attribute = name(field);
    values[`:a${attribute}`] = { N: String(delta[field]) };
    adds.push(`#a${attribute} :a${attribute}`);
  }
  for (const field of SET_NAMES) {
    const members = takeUpTo(field === 'eventIds' ? new Set(write.eventIds) : delta[field], SET_LIMITS[field] - stored.sizes[field]);
    // DynamoDB rejects an empty set.
    if (members.length === 0) continue;
    const attribute = name(field);
    values[`:a${attribute}`] = HASHED_SETS.has(field) ? { BS: members.map(packHash) } : { SS: members };
    adds.push(`#a${attribute} :a${attribute}`);
  }
  const revision = name('revision');
  values[':one'] = { N: '1' };
  adds.push(`#a${revision} :one`);
  if (write.expectedRevision === 0) conditions.push(`attribute_not_exists(#a${revision})`);
  else {
    values[`:expected${offset}`] = { N: String(write.expectedRevision) };
    conditions.push(`#a${revision} = :expected${offset}`);
  }
}

/** What a {@link DynamoDbWindowStore} is built from. */
export interface WindowTableOptions {
  windowsTable: string;
  /** Clock for the windows' expiry. */
  now: () => number;
  /** Days after its last write that a window expires. */
  windowTtlDays: number;
}

/**
 * Windows in their own table: one item per actor (`pk`) and hour (`sk`, the index of its first
 * window, see window-item.ts), holding each written window's counters, capped string sets (SS),
 * event ids counted, times and revision under short attribute names, and `expiresAt` (TTL). A
 * write of one or several windows of the item is one UpdateItem. Items written when each window
 * had its own item (`sk` the window, fields under their own names, one `revision`) are read as
 * they are, beside the hour's item.
 */
export class DynamoDbWindowStore implements WindowStore {
  /** The windows this container last read or wrote, by `actor\0window`: what caps and min/max need. */
  private readonly windowSummaries = new Map<string, WindowSummary>();

  constructor(
    private readonly table: TableAccess,
    private readonly options: WindowTableOptions,
  ) {}

  private expiresAt(): number {
    return Math.floor(this.options.now() / 1000) + (this.options.windowTtlDays * DAY_MS) / 1000;
  }

  async addWindow(delta: WindowStats, eventIds: readonly string[], expectedRevision: number): Promise<StoredWindow | 'conflict'> {
    const written = await this.addWindows([{ delta, eventIds, expectedRevision }]);
    return written === 'conflict' ? written : (written.find((window) => window.window === delta.window) as StoredWindow);
  }

  /**
   * One UpdateItem, conditional on each window's revision. DynamoDB has no MIN/MAX in update
   * expressions and cannot cap a set, so the write needs each stored window's times and set sizes:
   * it takes them from the window this container last read or wrote at the expected revision (the
   * detector always reads a window before adding to it), or reads the item once when it has no
   * such copy. The revision conditions make that copy exact: if a window changed since, the write
   * fails and the caller re-reads. So times are SET to the true min/max, and each set gets at most
   * `cap - storedSize` new members. Residual difference from MemoryStore: near a cap, members of
   * the delta already in the stored set still use up room, so the set may stop a little short of
   * its cap; it never exceeds it (which is what keeps the item under 400 KB). Returns the item's
   * windows after the write.
   */
  async addWindows(writes: readonly WindowWrite[]): Promise<StoredWindow[] | 'conflict'> {
    const first = writes[0];
    if (first === undefined) return [];
    const { actor } = first.delta;
    const start = itemStartOf(first.delta.window);
    const stored = await this.summariesAt(writes);
    if (stored === 'conflict') return stored;
    const parts: UpdateParts = { names: {}, values: {}, sets: [], adds: [], conditions: [] };
    const assign = (name: string, value: AttributeValue): void => {
      parts.names[`#${name}`] = name;
      parts.values[`:${name}`] = value;
      parts.sets.push(`#${name} = :${name}`);
    };
    assign('principal', { S: first.delta.principal });
    assign('identityType', { S: first.delta.identityType });
    assign(WINDOW_EXPIRY_ATTRIBUTE, { N: String(this.expiresAt()) });
    writes.forEach((write, index) => addWindowUpdate(parts, write, write.delta.window - start, stored[index] as WindowSummary));
    try {
      const { Attributes } = await this.table.send(
        new UpdateItemCommand({
          TableName: this.options.windowsTable,
          Key: { pk: { S: actor }, sk: { N: String(start) } },
          UpdateExpression: `SET ${parts.sets.join(', ')} ADD ${parts.adds.join(', ')}`,
          ConditionExpression: parts.conditions.join(' AND '),
          ExpressionAttributeNames: parts.names,
          ExpressionAttributeValues: parts.values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      const windows = windowsOfItem(Attributes ?? {});
      for (const window of windows) remember(this.windowSummaries, `${actor}\u0000${window.window}`, summarizeWindow(window));
      return windows;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      for (const write of writes) this.windowSummaries.delete(`${actor}\u0000${write.delta.window}`);
      return 'conflict';
    }
  }

  /** The stored summary of each write's window at its expected revision: cached, or read once; `'conflict'` when one moved on. */
  private async summariesAt(writes: readonly WindowWrite[]): Promise<WindowSummary[] | 'conflict'> {
    const cached = (write: WindowWrite): WindowSummary | undefined =>
      write.expectedRevision === 0 ? EMPTY_WINDOW : this.windowSummaries.get(`${write.delta.actor}\u0000${write.delta.window}`);
    if (writes.every((write) => cached(write)?.revision === write.expectedRevision)) return writes.map((write) => cached(write) as WindowSummary);
    const { actor, window } = (writes[0] as WindowWrite).delta;
    const start = itemStartOf(window);
    const current = new Map((await this.getWindows(actor, start, start + WINDOWS_PER_ITEM - 1)).map((stored) => [stored.window, stored]));
    const summaries: WindowSummary[] = [];
    for (const write of writes) {
      const stored = current.get(write.delta.window);
      if ((stored?.revision ?? 0) !== write.expectedRevision) return 'conflict';
      summaries.push(stored === undefined ? EMPTY_WINDOW : summarizeWindow(stored));
    }
    return summaries;
  }

  /**
   * One consistent Query over the items that hold the actor's windows in the range (paged: an
   * item may be up to 400 KB), legacy items included.
   */
  async getWindows(actor: string, fromWindow: number, toWindow: number): Promise<StoredWindow[]> {
    const parts: StoredWindow[] = [];
    const items = this.table.query({
      TableName: this.options.windowsTable,
      KeyConditionExpression: 'pk = :actor AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':actor': { S: actor }, ':from': { N: String(itemStartOf(fromWindow)) }, ':to': { N: String(toWindow) } },
      ConsistentRead: true,
    });
    for await (const item of items) parts.push(...windowsOfItem(item));
    const found = mergeParts(parts);
    for (const window of found) remember(this.windowSummaries, `${actor}\u0000${window.window}`, summarizeWindow(window));
    return found.filter((window) => window.window >= fromWindow && window.window <= toWindow);
  }

  /**
   * A paged Scan of the windows table filtered on the item's first window: the weekly tuning's
   * read. A Scan returns a partition's items together, in sort-key order, so the parts of a window
   * kept in two items (a legacy item beside its hour's) arrive next to each other and are merged.
   */
  async *scanWindows(fromWindow: number, toWindow: number): AsyncIterable<WindowStats> {
    const items = this.table.scan({
      TableName: this.options.windowsTable,
      FilterExpression: 'sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':from': { N: String(itemStartOf(fromWindow)) }, ':to': { N: String(toWindow) } },
    });
    let actor: string | undefined;
    let pending: StoredWindow[] = [];
    const inRange = (window: StoredWindow): boolean => window.window >= fromWindow && window.window <= toWindow;
    for await (const item of items) {
      const windows = windowsOfItem(item);
      const itemActor = item.pk?.S;
      if (itemActor !== actor) {
        yield* mergeParts(pending).filter(inRange);
        pending = [];
        actor = itemActor;
      }
      pending.push(...windows);
    }
    yield* mergeParts(pending).filter(inRange);
  }

  /**
   * Nothing to do: windows expire by TTL `windowTtlDays` after their last write, which deletes
   * them without consuming write capacity, whereas deleting here would cost a full scan and one
   * write per window. Until TTL removes them (typically within days of expiry), the readers'
   * window ranges already leave them out.
   */
  async pruneWindows(_beforeWindow: number): Promise<void> {}
}
