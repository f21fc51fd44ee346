import { DeleteItemCommand, GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { gunzipSync, gzipSync } from 'node:zlib';
import { StoreError } from '../../domain/errors.ts';
import type { TuningRun, TuningRunSummary } from '../../domain/tuning-run.ts';
import type { TuningState, TuningStore } from '../../store/store.ts';
import { fromStateItem, SINGLE_ITEM, stateKey, type Item, type TableAccess } from './table-access.ts';

const TUNING_KEY = 'TUNING';
const TUNING_RUN_PREFIX = 'TUNINGRUN#';
const CHUNK_PREFIX = 'CHUNK#';
/** Bytes of gzipped run per chunk item: well under DynamoDB's 400 KB item limit, keys included. */
const RUN_CHUNK_BYTES = 300_000;
const runKey = (version: number): string => TUNING_RUN_PREFIX + String(version).padStart(10, '0');

/** What a {@link DynamoDbTuningStore} is built from. */
export interface TuningTableOptions {
  stateTable: string;
  /** Clock for the cache. */
  now: () => number;
  /** How long a container trusts its copy of the tuning before reading it again. */
  cacheMs: number;
}

/**
 * The tuning in the state table: the state in force is the item `TUNING`; a tuning run (one
 * version) is `TUNINGRUN#<version>`: a header item (`sk = '-'`) and its JSON, gzipped, cut into
 * `CHUNK#<n>` items of at most 300 KB, because a run holds every principal's volume baseline and
 * the report and would outgrow one 400 KB item with a few thousand principals.
 */
export class DynamoDbTuningStore implements TuningStore {
  private tuningCache: { state: TuningState | undefined; fetchedAt: number } | undefined;

  constructor(
    private readonly table: TableAccess,
    private readonly options: TuningTableOptions,
  ) {}

  /** The tuning, cached like the baselines: every batch reads it, the weekly tuning changes it. */
  async getTuning(): Promise<TuningState | undefined> {
    const { now, cacheMs, stateTable } = this.options;
    if (this.tuningCache === undefined || now() - this.tuningCache.fetchedAt >= cacheMs) {
      const fetchedAt = now();
      const { Item } = await this.table.send(new GetItemCommand({ TableName: stateTable, Key: stateKey(TUNING_KEY) }));
      this.tuningCache = { state: Item === undefined ? undefined : fromStateItem<TuningState>(Item).value, fetchedAt };
    }
    return structuredClone(this.tuningCache.state);
  }

  async saveTuning(state: TuningState): Promise<void> {
    await this.table.send(
      new PutItemCommand({
        TableName: this.options.stateTable,
        Item: marshall({ ...state, pk: TUNING_KEY, sk: SINGLE_ITEM }, { removeUndefinedValues: true }),
      }),
    );
    this.tuningCache = { state: structuredClone(state), fetchedAt: this.options.now() };
  }

  /** Chunks first, header last: a run whose header is missing was never completely written and is not listed. */
  async saveTuningRun(run: TuningRun): Promise<void> {
    const data = gzipSync(JSON.stringify(run));
    const pk = runKey(run.version);
    const chunks = Math.max(1, Math.ceil(data.length / RUN_CHUNK_BYTES));
    for (let index = 0; index < chunks; index++) {
      await this.table.send(
        new PutItemCommand({
          TableName: this.options.stateTable,
          Item: {
            pk: { S: pk },
            sk: { S: CHUNK_PREFIX + String(index).padStart(4, '0') },
            data: { B: data.subarray(index * RUN_CHUNK_BYTES, (index + 1) * RUN_CHUNK_BYTES) },
          },
        }),
      );
    }
    const header = { pk, sk: SINGLE_ITEM, version: run.version, tunedAt: run.tunedAt, previousVersion: run.previousVersion, chunks, bytes: data.length };
    await this.table.send(new PutItemCommand({ TableName: this.options.stateTable, Item: marshall(header, { removeUndefinedValues: true }) }));
  }

  private async queryRunItems(version: number): Promise<Item[]> {
    const items: Item[] = [];
    const pages = this.table.query({
      TableName: this.options.stateTable,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: runKey(version) } },
      ConsistentRead: true,
    });
    for await (const item of pages) items.push(item);
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
    const headers = this.table.scan({
      TableName: this.options.stateTable,
      FilterExpression: 'begins_with(pk, :prefix) AND sk = :header',
      ProjectionExpression: 'version, tunedAt, previousVersion',
      ExpressionAttributeValues: { ':prefix': { S: TUNING_RUN_PREFIX }, ':header': { S: SINGLE_ITEM } },
      ConsistentRead: true,
    });
    for await (const item of headers) {
      const { version, tunedAt, previousVersion } = unmarshall(item) as TuningRunSummary;
      runs.push({ version, tunedAt, ...(previousVersion === undefined ? {} : { previousVersion }) });
    }
    return runs.sort((a, b) => a.version - b.version);
  }

  /** Header first, so that a run half deleted is no longer listed. */
  async deleteTuningRun(version: number): Promise<void> {
    const items = await this.queryRunItems(version);
    const ordered = [...items].sort((a, b) => Number(b.sk?.S === SINGLE_ITEM) - Number(a.sk?.S === SINGLE_ITEM));
    for (const item of ordered) {
      await this.table.send(
        new DeleteItemCommand({ TableName: this.options.stateTable, Key: { pk: item.pk as AttributeValue, sk: item.sk as AttributeValue } }),
      );
    }
  }
}
