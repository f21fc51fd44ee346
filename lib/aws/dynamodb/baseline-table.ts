import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { convertToAttr, marshall } from '@aws-sdk/util-dynamodb';
import { appendTo } from '../../domain/collections.ts';
import { applySighting, type Baseline, type Sighting, type VolumeBaseline } from '../../domain/baseline.ts';
import { StoreError } from '../../domain/errors.ts';
import type { TunedFields } from '../../domain/tuning-run.ts';
import type { BaselineStore } from '../../store/store.ts';
import {
  backoff,
  forEachConcurrently,
  fromStateItem,
  MAX_ATTEMPTS,
  remember,
  SINGLE_ITEM,
  stateKey,
  WRITE_CONCURRENCY,
  type Item,
  type TableAccess,
} from './table-access.ts';

const BASELINE_PREFIX = 'BASELINE#';
const BATCH_GET_LIMIT = 100;

interface CachedBaseline {
  baseline: Baseline | undefined;
  /** The stored item's revision; 0 when there is none. */
  revision: number;
  fetchedAt: number;
}

/** The condition of a write computed from the item at `revision` (0: no item). */
function revisionCondition(revision: number): {
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

/** The UpdateItem expression that sets `volume` and `vouchedAt` as given and removes them when absent. */
function tunedFieldsUpdate({ volume, vouchedAt }: TunedFields): { expression: string; values: Record<string, AttributeValue> } {
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
  return { expression: expression.filter(Boolean).join(' '), values };
}

/** What a {@link DynamoDbBaselineStore} is built from. */
export interface BaselineTableOptions {
  stateTable: string;
  /** Clock for the cache. */
  now: () => number;
  /** How long a container trusts its copy of a baseline before reading it again. */
  baselineCacheMs: number;
}

/**
 * Baselines in the state table, one item `BASELINE#<id>` each, read through a per-container cache.
 * `recordSightings` writes only the baselines that learned something: routine traffic writes
 * nothing.
 */
export class DynamoDbBaselineStore implements BaselineStore {
  private readonly baselineCache = new Map<string, CachedBaseline>();

  constructor(
    private readonly table: TableAccess,
    private readonly options: BaselineTableOptions,
  ) {}

  private isFresh(fetchedAt: number): boolean {
    return this.options.now() - fetchedAt < this.options.baselineCacheMs;
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
      const fetchedAt = this.options.now();
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
  private async batchGetState(keys: Item[]): Promise<Item[]> {
    const { stateTable } = this.options;
    const items: Item[] = [];
    let pending = keys;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === MAX_ATTEMPTS) {
        throw new StoreError(`DynamoDB left ${pending.length} baseline reads unprocessed after ${MAX_ATTEMPTS} attempts`);
      }
      if (attempt > 0) await backoff(attempt);
      const { Responses, UnprocessedKeys } = await this.table.send(new BatchGetItemCommand({ RequestItems: { [stateTable]: { Keys: pending } } }));
      items.push(...(Responses?.[stateTable] ?? []));
      pending = UnprocessedKeys?.[stateTable]?.Keys ?? [];
    }
    return items;
  }

  private async readBaseline(id: string): Promise<CachedBaseline> {
    const fetchedAt = this.options.now();
    const { Item } = await this.table.send(
      new GetItemCommand({ TableName: this.options.stateTable, Key: stateKey(BASELINE_PREFIX + id), ConsistentRead: true }),
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
        await this.table.send(
          new PutItemCommand({
            TableName: this.options.stateTable,
            Item: marshall({ ...baseline, pk: BASELINE_PREFIX + sighting.id, sk: SINGLE_ITEM, revision: entry.revision + 1 }, {
              removeUndefinedValues: true,
            }),
            ...revisionCondition(entry.revision),
          }),
        );
        remember(this.baselineCache, sighting.id, { baseline, revision: entry.revision + 1, fetchedAt: this.options.now() });
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        entry = await this.readBaseline(sighting.id);
      }
    }
    throw new StoreError(`baseline ${sighting.id} kept changing under ${MAX_ATTEMPTS} attempts`);
  }

  /**
   * One conditional UpdateItem per existing baseline (`attribute_exists`): like the in-memory store,
   * the tuning only completes baselines that sightings created. The revision bump makes
   * concurrent sightings re-read; the cached copy is dropped either way.
   */
  private async updateExisting(id: string, update: { expression: string; names: Record<string, string>; values: Record<string, AttributeValue> }): Promise<void> {
    try {
      await this.table.send(
        new UpdateItemCommand({
          TableName: this.options.stateTable,
          Key: stateKey(BASELINE_PREFIX + id),
          UpdateExpression: update.expression,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: update.values,
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    } finally {
      this.baselineCache.delete(id);
    }
  }

  /** One UpdateItem per existing baseline; bumping the revision makes concurrent sightings re-read. */
  async setVolumeBaselines(volumes: ReadonlyMap<string, VolumeBaseline>): Promise<void> {
    await forEachConcurrently([...volumes], WRITE_CONCURRENCY, ([id, volume]) =>
      this.updateExisting(id, {
        expression: 'SET #volume = :volume ADD #revision :one',
        names: { '#volume': 'volume', '#revision': 'revision' },
        values: { ':volume': convertToAttr(volume), ':one': { N: '1' } },
      }),
    );
  }

  /** Paged Scan of the baseline items (a few thousand; weekly). */
  async *listBaselines(): AsyncIterable<Baseline> {
    const items = this.table.scan({
      TableName: this.options.stateTable,
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': { S: BASELINE_PREFIX } },
      ConsistentRead: true,
    });
    for await (const item of items) yield fromStateItem<Baseline>(item).value;
  }

  /** One UpdateItem per existing baseline, SET or REMOVE per field; the revision bump makes concurrent sightings re-read. */
  async setTunedFields(fields: ReadonlyMap<string, TunedFields>): Promise<void> {
    await forEachConcurrently([...fields], WRITE_CONCURRENCY, ([id, tuned]) => {
      const { expression, values } = tunedFieldsUpdate(tuned);
      return this.updateExisting(id, { expression, names: { '#volume': 'volume', '#vouchedAt': 'vouchedAt', '#revision': 'revision' }, values });
    });
  }

  async deleteBaselines(ids: readonly string[]): Promise<void> {
    await forEachConcurrently(ids, WRITE_CONCURRENCY, async (id) => {
      await this.table.send(new DeleteItemCommand({ TableName: this.options.stateTable, Key: stateKey(BASELINE_PREFIX + id) }));
      this.baselineCache.delete(id);
    });
  }

  async restoreBaselines(baselines: readonly Baseline[]): Promise<void> {
    await forEachConcurrently(baselines, WRITE_CONCURRENCY, async (baseline) => {
      try {
        await this.table.send(
          new PutItemCommand({
            TableName: this.options.stateTable,
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
}
