import { appendTo } from '../domain/collections.ts';
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type AttributeValue,
  type CreateTableCommandInput,
  type PutItemCommandInput,
  type ServiceInputTypes,
} from '@aws-sdk/client-dynamodb';
import { convertToAttr, marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { IdentityType } from '../domain/access-event.ts';
import { applySighting, type Baseline, type Sighting, type VolumeBaseline } from '../domain/baseline.ts';
import { StoreError } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import type { DetectorStore, StoredWindow, TuningState } from '../store/store.ts';
import type { TunedFields, TuningRun, TuningRunSummary } from '../domain/tuning-run.ts';
import { createWindowStats, SET_CAPS, type WindowStats } from '../domain/window-counter.ts';

/** The two tables of the store. */
export interface TableNames {
  /** Per (actor, window) totals; expire by TTL. */
  windowsTable: string;
  /** Baselines, tuning, incidents and the actors' latest incident. */
  stateTable: string;
}

/** What a {@link DynamoDbStore} is built from; only the client and the table names are required. */
export interface DynamoDbStoreOptions extends TableNames {
  /** Build it with {@link createDynamoDbClient}: the store relies on the client's throttling retries. */
  client: DynamoDBClient;
  /** Clock for the caches and the windows' expiry. */
  now?: () => number;
  /** How long a container trusts its copy of a baseline (and of the tuning) before reading it again. */
  baselineCacheMs?: number;
  /** Days after its last write that a window expires. */
  windowTtlDays?: number;
}

/** The windows table's TTL attribute (epoch seconds), as serverless.yml declares it. */
export const WINDOW_EXPIRY_ATTRIBUTE = 'expiresAt';

/**
 * The CreateTable inputs of the two tables, with the key schema serverless.yml deploys: windows
 * `pk` (S, actor) + `sk` (N, window index), state `pk` (S) + `sk` (S); both on demand. TTL on
 * `expiresAt` (windows) and point-in-time recovery (state, in production) are not part of
 * CreateTable: {@link ensureTables} enables the TTL, serverless.yml both.
 */
export function defineTables(names: TableNames): { windows: CreateTableCommandInput; state: CreateTableCommandInput } {
  const table = (TableName: string, sortKeyType: 'S' | 'N'): CreateTableCommandInput => ({
    TableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: sortKeyType },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
  });
  return { windows: table(names.windowsTable, 'N'), state: table(names.stateTable, 'S') };
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function createTableIfAbsent(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: input.TableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    try {
      await client.send(new CreateTableCommand(input));
    } catch (createError) {
      // Another process (a parallel test file, a second replay) created it first: the same table.
      if (!(createError instanceof ResourceInUseException)) throw createError;
    }
  }
  await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: input.TableName });
}

/**
 * Creates the two tables when absent, waits until they are ACTIVE and enables the windows' TTL:
 * for the integration tests and `keysentry replay --store dynamodb`. Deployed tables come from
 * serverless.yml, which also turns on point-in-time recovery for the state table.
 */
export async function ensureTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  const tables = defineTables(names);
  try {
    await Promise.all([createTableIfAbsent(client, tables.windows), createTableIfAbsent(client, tables.state)]);
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: names.windowsTable }));
    const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
    if (status !== 'ENABLED' && status !== 'ENABLING') {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: names.windowsTable,
          TimeToLiveSpecification: { AttributeName: WINDOW_EXPIRY_ATTRIBUTE, Enabled: true },
        }),
      );
    }
  } catch (error) {
    throw new StoreError(`could not create the tables ${names.windowsTable} and ${names.stateTable}: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/**
 * The DynamoDB client the store expects: the SDK's standard retry mode with 8 attempts, whose
 * backoff retries throttling (`ProvisionedThroughputExceededException`, `ThrottlingException`) and
 * 5xx errors, so that the store itself configures no retries for them. `endpoint` points it at an
 * emulator.
 */
export function createDynamoDbClient(options: { endpoint?: string; region?: string } = {}): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: 8,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.region === undefined ? {} : { region: options.region }),
  });
}

type NumericField = { [K in keyof WindowStats]-?: WindowStats[K] extends number ? K : never }[keyof WindowStats];
type SetField = { [K in keyof WindowStats]-?: WindowStats[K] extends Set<string> ? K : never }[keyof WindowStats];
type StoredSet = SetField | 'eventIds';

// Typed as records over the WindowStats fields so that a counter or set added there fails to
// compile here instead of being silently dropped by the store.
// distinctObjects is the in-memory store's compaction; DynamoDB keeps the set until the TTL.
const COUNTERS: Record<Exclude<NumericField, 'window' | 'firstEventTime' | 'lastEventTime' | 'distinctObjects'>, true> = {
  events: true,
  gets: true,
  heads: true,
  lists: true,
  puts: true,
  deletes: true,
  versionDeletes: true,
  deleteBatches: true,
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
interface WindowSummary {
  revision: number;
  firstEventTime: number;
  lastEventTime: number;
  sizes: Record<StoredSet, number>;
}

const EMPTY_WINDOW: WindowSummary = {
  revision: 0,
  firstEventTime: Number.POSITIVE_INFINITY,
  lastEventTime: Number.NEGATIVE_INFINITY,
  sizes: { readObjects: 0, deletedObjects: 0, buckets: 0, networks: 0, tools: 0, eventIds: 0 },
};

function summarizeWindow(window: StoredWindow): WindowSummary {
  const sizes = { ...EMPTY_WINDOW.sizes };
  for (const name of SET_NAMES) sizes[name] = window[name].size;
  return { revision: window.revision, firstEventTime: window.firstEventTime, lastEventTime: window.lastEventTime, sizes };
}

function windowFromItem(item: Record<string, AttributeValue>): StoredWindow {
  const raw = unmarshall(item);
  const window: StoredWindow = {
    ...createWindowStats(String(raw.pk), String(raw.principal), raw.identityType as IdentityType, Number(raw.sk)),
    revision: Number(raw.revision ?? 0),
    eventIds: new Set(),
  };
  for (const name of COUNTER_NAMES) window[name] = Number(raw[name] ?? 0);
  for (const name of SET_NAMES) if (raw[name] instanceof Set) window[name] = raw[name] as Set<string>;
  if (typeof raw.firstEventTime === 'number') window.firstEventTime = raw.firstEventTime;
  if (typeof raw.lastEventTime === 'number') window.lastEventTime = raw.lastEventTime;
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

const SINGLE_ITEM = '-';
const BASELINE_PREFIX = 'BASELINE#';
const INCIDENT_PREFIX = 'INCIDENT#';
const ACTOR_PREFIX = 'ACTOR#';
const TUNING_KEY = 'TUNING';
const TUNING_RUN_PREFIX = 'TUNINGRUN#';
const CHUNK_PREFIX = 'CHUNK#';
/** Bytes of gzipped run per chunk item: well under DynamoDB's 400 KB item limit, keys included. */
const RUN_CHUNK_BYTES = 300_000;
const runKey = (version: number): string => TUNING_RUN_PREFIX + String(version).padStart(10, '0');
const stateKey = (pk: string): Record<string, AttributeValue> => ({ pk: { S: pk }, sk: { S: SINGLE_ITEM } });

/** Drops the key and the lock counter of a state item, leaving the stored object. */
function fromStateItem<T>(item: Record<string, AttributeValue>): { value: T; revision: number } {
  const { pk: _pk, sk: _sk, revision, ...value } = unmarshall(item);
  return { value: value as T, revision: Number(revision ?? 0) };
}

interface CachedBaseline {
  baseline: Baseline | undefined;
  /** The stored item's revision; 0 when there is none. */
  revision: number;
  fetchedAt: number;
}

interface ActorPointer {
  incidentId: string;
  updatedTime: number;
}

/** The response type of an SDK command, recovered from the command class. */
type OutputOf<C> = C extends { resolveMiddleware(...args: never[]): (...args: never[]) => Promise<{ output: infer O }> } ? O : never;

const MAX_ATTEMPTS = 6;
const BATCH_GET_LIMIT = 100;
/** Concurrent writes of one bulk call (sightings of a batch, the weekly volumes). */
const WRITE_CONCURRENCY = 8;
/** Bounds the per-container caches; a container sees a few thousand actors at most. */
const MAX_CACHED = 10_000;

/** Full-jitter exponential backoff: 25 ms, 50 ms, … up to 1.6 s. */
const backoff = (attempt: number): Promise<void> => sleep(Math.random() * Math.min(1_600, 25 * 2 ** attempt));

function remember<K, V>(cache: Map<K, V>, key: K, value: V): void {
  cache.delete(key);
  cache.set(key, value);
  // Maps iterate in insertion order: the first key is the one written longest ago.
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as K);
}

async function forEachConcurrently<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The production store, on two DynamoDB tables.
 *
 * Windows table: one item per (actor `pk`, window index `sk`) holding the counters, the capped
 * string sets (SS), the event ids counted, a `revision` and `expiresAt` (TTL). State table, keyed
 * `pk` + `sk = '-'`: `BASELINE#<id>`, `TUNING`, `INCIDENT#<id>` and `ACTOR#<actor>` (the actor's
 * latest incident and its `updatedTime`, what the cool-down is decided on). A tuning run (one
 * version) is `TUNINGRUN#<version>`: a header item (`sk = '-'`) and its JSON, gzipped, cut into
 * `CHUNK#<n>` items of at most 300 KB, because a run holds every principal's volume baseline and
 * the report and would outgrow one 400 KB item with a few thousand principals.
 *
 * Writes: `addWindow` is one UpdateItem; `recordSightings` writes only the baselines that learned
 * something (routine traffic writes nothing); `openIncident` and `updateIncident` are a
 * two-item transaction (incident + actor pointer). `writes` counts the write requests sent, failed
 * conditions included (DynamoDB bills those too). Throttling is retried by the client (see
 * {@link createDynamoDbClient}); any other SDK failure surfaces as a `StoreError` with the SDK error
 * as `cause`.
 */
export class DynamoDbStore implements DetectorStore {
  private readonly client: DynamoDBClient;
  private readonly windowsTable: string;
  private readonly stateTable: string;
  private readonly now: () => number;
  private readonly baselineCacheMs: number;
  private readonly windowTtlSeconds: number;
  /** The windows this container last read or wrote, by `actor\0window`: what caps and min/max need. */
  private readonly windowSummaries = new Map<string, WindowSummary>();
  private readonly baselineCache = new Map<string, CachedBaseline>();
  private tuningCache: { state: TuningState | undefined; fetchedAt: number } | undefined;

  /** Write requests sent so far (each item of a transaction counts): the write budget. */
  writes = 0;

  constructor(options: DynamoDbStoreOptions) {
    this.client = options.client;
    this.windowsTable = options.windowsTable;
    this.stateTable = options.stateTable;
    this.now = options.now ?? Date.now;
    this.baselineCacheMs = options.baselineCacheMs ?? 60_000;
    this.windowTtlSeconds = (options.windowTtlDays ?? 40) * 86_400;
  }

  /** The one place the client is called: counts writes and translates SDK errors. */
  private async send<C extends { readonly input: ServiceInputTypes }>(command: C): Promise<OutputOf<C>> {
    if (command instanceof PutItemCommand || command instanceof UpdateItemCommand || command instanceof DeleteItemCommand) this.writes++;
    else if (command instanceof TransactWriteItemsCommand) this.writes += command.input.TransactItems?.length ?? 0;
    try {
      // The client's send() is typed per command class; OutputOf<C> recovers what it returns.
      return (await this.client.send(command as never)) as OutputOf<C>;
    } catch (error) {
      // Lost conditions are answers the callers handle, not failures.
      if (error instanceof ConditionalCheckFailedException || error instanceof TransactionCanceledException) throw error;
      const operation = command.constructor.name.replace(/Command$/, '');
      throw new StoreError(`DynamoDB ${operation} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  private expiresAt(): number {
    return Math.floor(this.now() / 1000) + this.windowTtlSeconds;
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

    const names: Record<string, string> = { '#revision': 'revision' };
    const values: Record<string, AttributeValue> = { ':one': { N: '1' } };
    const sets: string[] = [];
    const adds = ['#revision :one'];
    const assign = (name: string, value: AttributeValue): void => {
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      sets.push(`#${name} = :${name}`);
    };
    assign('principal', { S: delta.principal });
    assign('identityType', { S: delta.identityType });
    assign(WINDOW_EXPIRY_ATTRIBUTE, { N: String(this.expiresAt()) });
    const first = Math.min(stored.firstEventTime, delta.firstEventTime);
    const last = Math.max(stored.lastEventTime, delta.lastEventTime);
    if (Number.isFinite(first)) assign('firstEventTime', { N: String(first) });
    if (Number.isFinite(last)) assign('lastEventTime', { N: String(last) });
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
    if (expectedRevision === 0) names['#pk'] = 'pk';
    else {
      condition = '#revision = :expected';
      values[':expected'] = { N: String(expectedRevision) };
    }

    try {
      const { Attributes } = await this.send(
        new UpdateItemCommand({
          TableName: this.windowsTable,
          Key: { pk: { S: delta.actor }, sk: { N: String(delta.window) } },
          UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
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
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.send(
        new QueryCommand({
          TableName: this.windowsTable,
          KeyConditionExpression: 'pk = :actor AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':actor': { S: actor }, ':from': { N: String(fromWindow) }, ':to': { N: String(toWindow) } },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const window = windowFromItem(item);
        remember(this.windowSummaries, `${actor}\u0000${window.window}`, summarizeWindow(window));
        found.push(window);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return found;
  }

  /** A paged Scan of the windows table filtered on the window index: the weekly tuning's read. */
  async *scanWindows(fromWindow: number, toWindow: number): AsyncIterable<WindowStats> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.send(
        new ScanCommand({
          TableName: this.windowsTable,
          FilterExpression: 'sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':from': { N: String(fromWindow) }, ':to': { N: String(toWindow) } },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) yield windowFromItem(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  /**
   * Nothing to do: windows expire by TTL `windowTtlDays` after their last write, which deletes
   * them without consuming write capacity, whereas deleting here would cost a full scan and one
   * write per window. Until TTL removes them (typically within days of expiry), the readers'
   * window ranges already leave them out.
   */
  async pruneWindows(_beforeWindow: number): Promise<void> {}

  private isFresh(fetchedAt: number): boolean {
    return this.now() - fetchedAt < this.baselineCacheMs;
  }

  /** The cached entries of `ids`, reading the missing and stale ones in BatchGetItem calls. */
  private async loadBaselines(ids: readonly string[]): Promise<Map<string, CachedBaseline>> {
    const entries = new Map<string, CachedBaseline>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const cached = this.baselineCache.get(id);
      if (cached !== undefined && this.isFresh(cached.fetchedAt)) entries.set(id, cached);
      else missing.push(id);
    }
    for (let start = 0; start < missing.length; start += BATCH_GET_LIMIT) {
      const chunk = missing.slice(start, start + BATCH_GET_LIMIT);
      const fetchedAt = this.now();
      const items = await this.batchGetState(chunk.map((id) => stateKey(BASELINE_PREFIX + id)));
      const byId = new Map(items.map((item) => fromStateItem<Baseline>(item)).map((read) => [read.value.id, read]));
      for (const id of chunk) {
        const read = byId.get(id);
        const entry: CachedBaseline = { baseline: read?.value, revision: read?.revision ?? 0, fetchedAt };
        remember(this.baselineCache, id, entry);
        entries.set(id, entry);
      }
    }
    return entries;
  }

  /** BatchGetItem on the state table, retrying what DynamoDB left unprocessed with backoff. */
  private async batchGetState(keys: Record<string, AttributeValue>[]): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let pending = keys;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === MAX_ATTEMPTS) {
        throw new StoreError(`DynamoDB left ${pending.length} baseline reads unprocessed after ${MAX_ATTEMPTS} attempts`);
      }
      if (attempt > 0) await backoff(attempt);
      const { Responses, UnprocessedKeys } = await this.send(
        new BatchGetItemCommand({ RequestItems: { [this.stateTable]: { Keys: pending } } }),
      );
      items.push(...(Responses?.[this.stateTable] ?? []));
      pending = UnprocessedKeys?.[this.stateTable]?.Keys ?? [];
    }
    return items;
  }

  private async readBaseline(id: string): Promise<CachedBaseline> {
    const fetchedAt = this.now();
    const { Item } = await this.send(
      new GetItemCommand({ TableName: this.stateTable, Key: stateKey(BASELINE_PREFIX + id), ConsistentRead: true }),
    );
    const read = Item === undefined ? undefined : fromStateItem<Baseline>(Item);
    const entry: CachedBaseline = { baseline: read?.value, revision: read?.revision ?? 0, fetchedAt };
    remember(this.baselineCache, id, entry);
    return entry;
  }

  /** Baselines through the container's cache: at most `baselineCacheMs` old, absent ones included. */
  async getBaselines(ids: readonly string[]): Promise<Map<string, Baseline>> {
    const found = new Map<string, Baseline>();
    for (const [id, entry] of await this.loadBaselines(ids)) {
      if (entry.baseline !== undefined) found.set(id, structuredClone(entry.baseline));
    }
    return found;
  }

  /**
   * Applies each sighting to the cached baseline and writes only those that learned something:
   * routine traffic costs no write. A cached copy up to `baselineCacheMs` old is safe to judge
   * "nothing new" on, because baselines only grow. A write is conditional on the revision it was
   * computed from; when another container wrote first, the baseline is re-read and the sighting
   * applied again. `lastSeen` alone is not worth a write: it is stored with the next change, at
   * the latest the first sighting of each active day.
   */
  async recordSightings(sightings: readonly Sighting[]): Promise<void> {
    await this.loadBaselines(sightings.map((sighting) => sighting.id));
    const byId = new Map<string, Sighting[]>();
    for (const sighting of sightings) appendTo(byId, sighting.id, sighting);
    await forEachConcurrently([...byId.values()], WRITE_CONCURRENCY, async (group) => {
      for (const sighting of group) await this.recordSighting(sighting);
    });
  }

  private async recordSighting(sighting: Sighting): Promise<void> {
    let entry = this.baselineCache.get(sighting.id) ?? (await this.readBaseline(sighting.id));
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cached = entry.baseline;
      const { baseline, changed } = applySighting(cached === undefined ? undefined : structuredClone(cached), sighting);
      if (!changed) {
        if (cached !== undefined) cached.lastSeen = baseline.lastSeen;
        return;
      }
      try {
        await this.send(
          new PutItemCommand({
            TableName: this.stateTable,
            Item: marshall({ ...baseline, pk: BASELINE_PREFIX + sighting.id, sk: SINGLE_ITEM, revision: entry.revision + 1 }, {
              removeUndefinedValues: true,
            }),
            ...this.revisionCondition(entry.revision),
          }),
        );
        remember(this.baselineCache, sighting.id, { baseline, revision: entry.revision + 1, fetchedAt: this.now() });
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        entry = await this.readBaseline(sighting.id);
      }
    }
    throw new StoreError(`baseline ${sighting.id} kept changing under ${MAX_ATTEMPTS} attempts`);
  }

  /** The condition of a write computed from the item at `revision` (0: no item). */
  private revisionCondition(revision: number): {
    ConditionExpression: string;
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  } {
    return revision === 0
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : {
          ConditionExpression: '#revision = :expected',
          ExpressionAttributeNames: { '#revision': 'revision' },
          ExpressionAttributeValues: { ':expected': { N: String(revision) } },
        };
  }

  /** One UpdateItem per existing baseline; bumping the revision makes concurrent sightings re-read. */
  async setVolumeBaselines(volumes: ReadonlyMap<string, VolumeBaseline>): Promise<void> {
    await forEachConcurrently([...volumes], WRITE_CONCURRENCY, async ([id, volume]) => {
      try {
        await this.send(
          new UpdateItemCommand({
            TableName: this.stateTable,
            Key: stateKey(BASELINE_PREFIX + id),
            UpdateExpression: 'SET #volume = :volume ADD #revision :one',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#volume': 'volume', '#revision': 'revision' },
            ExpressionAttributeValues: { ':volume': convertToAttr(volume), ':one': { N: '1' } },
          }),
        );
      } catch (error) {
        // Like the in-memory store: volumes only complete baselines that sightings created.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      } finally {
        this.baselineCache.delete(id);
      }
    });
  }

  /** Paged Scan of the baseline items (a few thousand; weekly). */
  async *listBaselines(): AsyncIterable<Baseline> {
    for await (const item of this.scanState(BASELINE_PREFIX)) yield fromStateItem<Baseline>(item).value;
  }

  private async *scanState(prefix: string): AsyncIterable<Record<string, AttributeValue>> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.send(
        new ScanCommand({
          TableName: this.stateTable,
          FilterExpression: 'begins_with(pk, :prefix)',
          ExpressionAttributeValues: { ':prefix': { S: prefix } },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  /** The tuning, cached like the baselines: every batch reads it, the weekly tuning changes it. */
  async getTuning(): Promise<TuningState | undefined> {
    if (this.tuningCache === undefined || !this.isFresh(this.tuningCache.fetchedAt)) {
      const fetchedAt = this.now();
      const { Item } = await this.send(new GetItemCommand({ TableName: this.stateTable, Key: stateKey(TUNING_KEY) }));
      this.tuningCache = { state: Item === undefined ? undefined : fromStateItem<TuningState>(Item).value, fetchedAt };
    }
    return structuredClone(this.tuningCache.state);
  }

  async saveTuning(state: TuningState): Promise<void> {
    await this.send(
      new PutItemCommand({
        TableName: this.stateTable,
        Item: marshall({ ...state, pk: TUNING_KEY, sk: SINGLE_ITEM }, { removeUndefinedValues: true }),
      }),
    );
    this.tuningCache = { state: structuredClone(state), fetchedAt: this.now() };
  }

  /** One UpdateItem per existing baseline, SET or REMOVE per field; the revision bump makes concurrent sightings re-read. */
  async setTunedFields(fields: ReadonlyMap<string, TunedFields>): Promise<void> {
    await forEachConcurrently([...fields], WRITE_CONCURRENCY, async ([id, { volume, vouchedAt }]) => {
      const sets: string[] = [];
      const removes: string[] = [];
      const values: Record<string, AttributeValue> = { ':one': { N: '1' } };
      if (volume === undefined) removes.push('#volume');
      else {
        sets.push('#volume = :volume');
        values[':volume'] = convertToAttr(volume);
      }
      if (vouchedAt === undefined) removes.push('#vouchedAt');
      else {
        sets.push('#vouchedAt = :vouchedAt');
        values[':vouchedAt'] = { N: String(vouchedAt) };
      }
      const expression = [sets.length > 0 ? `SET ${sets.join(', ')}` : '', removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '', 'ADD #revision :one'];
      try {
        await this.send(
          new UpdateItemCommand({
            TableName: this.stateTable,
            Key: stateKey(BASELINE_PREFIX + id),
            UpdateExpression: expression.filter(Boolean).join(' '),
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#volume': 'volume', '#vouchedAt': 'vouchedAt', '#revision': 'revision' },
            ExpressionAttributeValues: values,
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      } finally {
        this.baselineCache.delete(id);
      }
    });
  }

  async deleteBaselines(ids: readonly string[]): Promise<void> {
    await forEachConcurrently(ids, WRITE_CONCURRENCY, async (id) => {
      await this.send(new DeleteItemCommand({ TableName: this.stateTable, Key: stateKey(BASELINE_PREFIX + id) }));
      this.baselineCache.delete(id);
    });
  }

  async restoreBaselines(baselines: readonly Baseline[]): Promise<void> {
    await forEachConcurrently(baselines, WRITE_CONCURRENCY, async (baseline) => {
      try {
        await this.send(
          new PutItemCommand({
            TableName: this.stateTable,
            Item: marshall({ ...baseline, pk: BASELINE_PREFIX + baseline.id, sk: SINGLE_ITEM, revision: 1 }, { removeUndefinedValues: true }),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        // Sightings recreated it since it was forgotten: what they learned is newer.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      } finally {
        this.baselineCache.delete(baseline.id);
      }
    });
  }

  /** Chunks first, header last: a run whose header is missing was never completely written and is not listed. */
  async saveTuningRun(run: TuningRun): Promise<void> {
    const data = gzipSync(JSON.stringify(run));
    const pk = runKey(run.version);
    const chunks = Math.max(1, Math.ceil(data.length / RUN_CHUNK_BYTES));
    for (let index = 0; index < chunks; index++) {
      await this.send(
        new PutItemCommand({
          TableName: this.stateTable,
          Item: {
            pk: { S: pk },
            sk: { S: CHUNK_PREFIX + String(index).padStart(4, '0') },
            data: { B: data.subarray(index * RUN_CHUNK_BYTES, (index + 1) * RUN_CHUNK_BYTES) },
          },
        }),
      );
    }
    const header = { pk, sk: SINGLE_ITEM, version: run.version, tunedAt: run.tunedAt, previousVersion: run.previousVersion, chunks, bytes: data.length };
    await this.send(new PutItemCommand({ TableName: this.stateTable, Item: marshall(header, { removeUndefinedValues: true }) }));
  }

  private async queryRunItems(version: number): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.send(
        new QueryCommand({
          TableName: this.stateTable,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: runKey(version) } },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  async getTuningRun(version: number): Promise<TuningRun | undefined> {
    const items = await this.queryRunItems(version);
    const header = items.find((item) => item.sk?.S === SINGLE_ITEM);
    if (header === undefined) return undefined;
    const chunks = items
      .filter((item) => item.sk?.S?.startsWith(CHUNK_PREFIX))
      .sort((a, b) => (a.sk?.S ?? '').localeCompare(b.sk?.S ?? ''))
      .map((item) => item.data?.B ?? new Uint8Array());
    const expected = Number(header.chunks?.N ?? 0);
    if (chunks.length !== expected) throw new StoreError(`tuning run ${version} has ${chunks.length} of its ${expected} chunks`);
    return JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as TuningRun;
  }

  /** A Scan for the run headers (a handful: runs beyond the kept ones are deleted). */
  async listTuningRuns(): Promise<TuningRunSummary[]> {
    const runs: TuningRunSummary[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.send(
        new ScanCommand({
          TableName: this.stateTable,
          FilterExpression: 'begins_with(pk, :prefix) AND sk = :header',
          ProjectionExpression: 'version, tunedAt, previousVersion',
          ExpressionAttributeValues: { ':prefix': { S: TUNING_RUN_PREFIX }, ':header': { S: SINGLE_ITEM } },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const { version, tunedAt, previousVersion } = unmarshall(item) as TuningRunSummary;
        runs.push({ version, tunedAt, ...(previousVersion === undefined ? {} : { previousVersion }) });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return runs.sort((a, b) => a.version - b.version);
  }

  /** Header first, so that a run half deleted is no longer listed. */
  async deleteTuningRun(version: number): Promise<void> {
    const items = await this.queryRunItems(version);
    const ordered = [...items].sort((a, b) => Number(b.sk?.S === SINGLE_ITEM) - Number(a.sk?.S === SINGLE_ITEM));
    for (const item of ordered) {
      await this.send(new DeleteItemCommand({ TableName: this.stateTable, Key: { pk: item.pk as AttributeValue, sk: item.sk as AttributeValue } }));
    }
  }

  private async getActorPointer(actor: string): Promise<ActorPointer | undefined> {
    const { Item } = await this.send(
      new GetItemCommand({ TableName: this.stateTable, Key: stateKey(ACTOR_PREFIX + actor), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : fromStateItem<ActorPointer>(Item).value;
  }

  /**
   * Reads the actor's pointer to its latest incident; within the cool-down that incident is the
   * answer. Otherwise one transaction puts the candidate (absent) and moves the pointer, on
   * condition that the pointer is still what was read, so of two invocations deciding on the same
   * burst exactly one creates; the other finds the winner on its next look, or, since incident ids
   * derive from actor and decision time, finds its own id already taken.
   */
  async openIncident(candidate: Incident, cooldownMs: number): Promise<{ incident: Incident; created: boolean }> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const pointer = await this.getActorPointer(candidate.actor);
      if (pointer !== undefined && candidate.decisionTime - pointer.updatedTime < cooldownMs) {
        const latest = await this.getIncident(pointer.incidentId);
        if (latest !== undefined) return { incident: latest, created: false };
      }
      const pointerCondition =
        pointer === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: 'incidentId = :previousId AND updatedTime = :previousTime',
              ExpressionAttributeValues: {
                ':previousId': { S: pointer.incidentId },
                ':previousTime': { N: String(pointer.updatedTime) },
              },
            };
      try {
        await this.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: this.stateTable, Item: this.incidentItem(candidate), ConditionExpression: 'attribute_not_exists(pk)' } },
              { Put: { TableName: this.stateTable, Item: this.pointerItem(candidate), ...pointerCondition } },
            ],
          }),
        );
        return { incident: candidate, created: true };
      } catch (error) {
        const [incidentCode] = this.cancellationCodes(error);
        if (incidentCode === 'ConditionalCheckFailed') {
          const existing = await this.getIncident(candidate.incidentId);
          if (existing !== undefined) return { incident: existing, created: false };
        }
        // The pointer moved (another incident, or an update inside the cool-down): decide again.
        await backoff(attempt);
      }
    }
    throw new StoreError(`incident of ${candidate.actor} kept changing under ${MAX_ATTEMPTS} attempts`);
  }

  /**
   * Writes the incident if its stored revision is `incident.revision - 1`, and in the same
   * transaction moves the actor pointer's `updatedTime` (the cool-down runs from the last update)
   * when the pointer still designates this incident; an older incident is written alone.
   */
  async updateIncident(incident: Incident): Promise<boolean> {
    const incidentCondition = {
      ConditionExpression: '#revision = :previous',
      ExpressionAttributeNames: { '#revision': 'revision' },
      ExpressionAttributeValues: { ':previous': { N: String(incident.revision - 1) } },
    };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        await this.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: this.stateTable, Item: this.incidentItem(incident), ...incidentCondition } },
              {
                Update: {
                  TableName: this.stateTable,
                  Key: stateKey(ACTOR_PREFIX + incident.actor),
                  UpdateExpression: 'SET updatedTime = :updated',
                  ConditionExpression: 'incidentId = :id',
                  ExpressionAttributeValues: { ':updated': { N: String(incident.updatedTime) }, ':id': { S: incident.incidentId } },
                },
              },
            ],
          }),
        );
        return true;
      } catch (error) {
        const [incidentCode, pointerCode] = this.cancellationCodes(error);
        if (incidentCode === 'ConditionalCheckFailed') return false;
        if (pointerCode === 'ConditionalCheckFailed') return this.putIncidentAlone(incident, incidentCondition);
        await backoff(attempt);
      }
    }
    throw new StoreError(`incident ${incident.incidentId} kept changing under ${MAX_ATTEMPTS} attempts`);
  }

  private async putIncidentAlone(
    incident: Incident,
    condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>,
  ): Promise<boolean> {
    try {
      await this.send(new PutItemCommand({ TableName: this.stateTable, Item: this.incidentItem(incident), ...condition }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * The per-item codes of a cancelled transaction (`'None'`, `'ConditionalCheckFailed'`,
   * `'TransactionConflict'`…). Lost conditions and conflicts with another transaction are
   * answers; any other cause (throttling past the retries, validation) is a StoreError.
   */
  private cancellationCodes(error: unknown): (string | undefined)[] {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code);
    if (codes.every((code) => code === undefined || code === 'None' || code === 'ConditionalCheckFailed' || code === 'TransactionConflict')) {
      return codes;
    }
    throw new StoreError(`DynamoDB TransactWriteItems was cancelled: ${codes.join(', ')}`, { cause: error });
  }

  private incidentItem(incident: Incident): Record<string, AttributeValue> {
    return marshall({ ...incident, pk: INCIDENT_PREFIX + incident.incidentId, sk: SINGLE_ITEM }, { removeUndefinedValues: true });
  }

  private pointerItem(incident: Incident): Record<string, AttributeValue> {
    return marshall({ pk: ACTOR_PREFIX + incident.actor, sk: SINGLE_ITEM, incidentId: incident.incidentId, updatedTime: incident.updatedTime });
  }

  async getIncident(incidentId: string): Promise<Incident | undefined> {
    const { Item } = await this.send(
      new GetItemCommand({ TableName: this.stateTable, Key: stateKey(INCIDENT_PREFIX + incidentId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : this.incidentFromItem(Item);
  }

  /** A Scan of the incident items; fine while incidents number in the hundreds. */
  async listIncidents(): Promise<Incident[]> {
    const incidents: Incident[] = [];
    for await (const item of this.scanState(INCIDENT_PREFIX)) incidents.push(this.incidentFromItem(item));
    return incidents;
  }

  private incidentFromItem(item: Record<string, AttributeValue>): Incident {
    const { value, revision } = fromStateItem<Omit<Incident, 'revision'>>(item);
    return { ...value, revision };
  }
}
