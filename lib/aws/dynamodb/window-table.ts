import { ConditionalCheckFailedException, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { IdentityType } from '../../domain/access-event.ts';
import { DAY_MS } from '../../domain/duration.ts';
import { createWindowStats, SET_CAPS, type WindowStats } from '../../domain/window-counter.ts';
import type { StoredWindow, WindowStore } from '../../store/store.ts';
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

/** What `addWindow` must know of the stored window it adds to: times and set sizes at a revision. */
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

function windowFromItem(item: Item): StoredWindow {
  const raw = unmarshall(item);
  const window: StoredWindow = {
    ...createWindowStats(String(raw.pk), String(raw.principal), raw.identityType as IdentityType, Number(raw.sk)),
    revision: Number(raw.revision ?? 0),
    eventIds: new Set(),
  };
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

/** The first `room` members of `values`: the stored set never grows past its cap. */
function takeUpTo(values: Iterable<string>, room: number): string[] {
  const taken: string[] = [];
  for (const value of values) {
    if (taken.length >= room) break;
    taken.push(value);
  }
  return taken;
}

/** The parts of one UpdateItem expression, filled in by {@link windowUpdate}. */
interface UpdateParts {
  names: Record<string, string>;
  values: Record<string, AttributeValue>;
  sets: string[];
  adds: string[];
}

/**
 * The UpdateItem that adds `delta` to a window whose times and set sizes are `stored`: times SET to
 * the true min/max, counters and capped sets ADDed, the revision bumped and checked.
 */
function windowUpdate(delta: WindowStats, eventIds: readonly string[], stored: WindowSummary, expiresAt: number): UpdateParts & { condition: string } {
  const parts: UpdateParts = { names: { '#revision': 'revision' }, values: { ':one': { N: '1' } }, sets: [], adds: ['#revision :one'] };
  const { names, values, sets, adds } = parts;
  const assign = (name: string, value: AttributeValue): void => {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    sets.push(`#${name} = :${name}`);
  };
  assign('principal', { S: delta.principal });
  assign('identityType', { S: delta.identityType });
  assign(WINDOW_EXPIRY_ATTRIBUTE, { N: String(expiresAt) });
  for (const name of TIMES) {
    const time = name.startsWith('first') ? Math.min(stored[name], delta[name]) : Math.max(stored[name], delta[name]);
    if (Number.isFinite(time)) assign(name, { N: String(time) });
  }
  for (const name of COUNTER_NAMES) {
    if (delta[name] === 0) continue;
    names[`#${name}`] = name;
    values[`:${name}`] = { N: String(delta[name]) };
    adds.push(`#${name} :${name}`);
  }
  for (const name of SET_NAMES) {
    const members = takeUpTo(name === 'eventIds' ? new Set(eventIds) : delta[name], SET_LIMITS[name] - stored.sizes[name]);
    // DynamoDB rejects an empty set.
    if (members.length === 0) continue;
    names[`#${name}`] = name;
    values[`:${name}`] = { SS: members };
    adds.push(`#${name} :${name}`);
  }
  let condition = 'attribute_not_exists(#pk)';
  if (stored.revision === 0) names['#pk'] = 'pk';
  else {
    condition = '#revision = :expected';
    values[':expected'] = { N: String(stored.revision) };
  }
  return { ...parts, condition };
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
 * Windows in their own table: one item per (actor `pk`, window index `sk`) holding the counters,
 * the capped string sets (SS), the event ids counted, a `revision` and `expiresAt` (TTL).
 * `addWindow` is one UpdateItem.
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

  /**
   * One UpdateItem, conditional on the revision. DynamoDB has no MIN/MAX in update expressions and
   * cannot cap a set, so the write needs the stored window's times and set sizes: it takes them
   * from the window this container last read or wrote at `expectedRevision` (the detector always
   * reads a window before adding to it), or reads it once when it has no such copy. The revision
   * condition makes that copy exact: if the item changed since, the write fails and the caller
   * re-reads. So `firstEventTime`/`lastEventTime` are SET to the true min/max, and each set gets at
   * most `cap - storedSize` new members. Residual difference from MemoryStore: near a cap, members
   * of the delta already in the stored set still use up room, so the set may stop a little short
   * of its cap; it never exceeds it (which is what keeps the item under 400 KB).
   */
  async addWindow(delta: WindowStats, eventIds: readonly string[], expectedRevision: number): Promise<StoredWindow | 'conflict'> {
    const cacheKey = `${delta.actor}\u0000${delta.window}`;
    let stored = expectedRevision === 0 ? EMPTY_WINDOW : this.windowSummaries.get(cacheKey);
    if (stored?.revision !== expectedRevision) {
      const [current] = await this.getWindows(delta.actor, delta.window, delta.window);
      if (current?.revision !== expectedRevision) return 'conflict';
      stored = summarizeWindow(current);
    }
    const update = windowUpdate(delta, eventIds, stored, this.expiresAt());
    try {
      const { Attributes } = await this.table.send(
        new UpdateItemCommand({
          TableName: this.options.windowsTable,
          Key: { pk: { S: delta.actor }, sk: { N: String(delta.window) } },
          UpdateExpression: `SET ${update.sets.join(', ')} ADD ${update.adds.join(', ')}`,
          ConditionExpression: update.condition,
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: update.values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      const window = windowFromItem(Attributes ?? {});
      remember(this.windowSummaries, cacheKey, summarizeWindow(window));
      return window;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      this.windowSummaries.delete(cacheKey);
      return 'conflict';
    }
  }

  /** One consistent Query over the actor's windows (paged: a window item may be up to 400 KB). */
  async getWindows(actor: string, fromWindow: number, toWindow: number): Promise<StoredWindow[]> {
    const found: StoredWindow[] = [];
    const items = this.table.query({
      TableName: this.options.windowsTable,
      KeyConditionExpression: 'pk = :actor AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':actor': { S: actor }, ':from': { N: String(fromWindow) }, ':to': { N: String(toWindow) } },
      ConsistentRead: true,
    });
    for await (const item of items) {
      const window = windowFromItem(item);
      remember(this.windowSummaries, `${actor}\u0000${window.window}`, summarizeWindow(window));
      found.push(window);
    }
    return found;
  }

  /** A paged Scan of the windows table filtered on the window index: the weekly tuning's read. */
  async *scanWindows(fromWindow: number, toWindow: number): AsyncIterable<WindowStats> {
    const items = this.table.scan({
      TableName: this.options.windowsTable,
      FilterExpression: 'sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':from': { N: String(fromWindow) }, ':to': { N: String(toWindow) } },
    });
    for await (const item of items) yield windowFromItem(item);
  }

  /**
   * Nothing to do: windows expire by TTL `windowTtlDays` after their last write, which deletes
   * them without consuming write capacity, whereas deleting here would cost a full scan and one
   * write per window. Until TTL removes them (typically within days of expiry), the readers'
   * window ranges already leave them out.
   */
  async pruneWindows(_beforeWindow: number): Promise<void> {}
}
