import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type AttributeValue,
  type ConsumedCapacity,
  type DynamoDBClient,
  type QueryCommandInput,
  type ScanCommandInput,
  type ServiceInputTypes,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf, StoreError } from '../../domain/errors.ts';

/** The response type of an SDK command, recovered from the command class. */
type OutputOf<C> = C extends { resolveMiddleware(...args: never[]): (...args: never[]) => Promise<{ output: infer O }> } ? O : never;

/** An item as the SDK reads and writes it. */
export type Item = Record<string, AttributeValue>;

/** Attempts of a conditional write that keeps losing to other writers before it is a StoreError. */
export const MAX_ATTEMPTS = 6;
/** Concurrent writes of one bulk call (sightings of a batch, the weekly volumes). */
export const WRITE_CONCURRENCY = 8;
/** Bounds the per-container caches; a container sees a few thousand actors at most. */
const MAX_CACHED = 10_000;

/** The sort key of every state item that is alone in its partition. */
export const SINGLE_ITEM = '-';

/** The key of the state item alone in partition `pk`. */
export const stateKey = (pk: string): Item => ({ pk: { S: pk }, sk: { S: SINGLE_ITEM } });

/** Drops the key and the lock counter of a state item, leaving the stored object. */
export function fromStateItem<T>(item: Item): { value: T; revision: number } {
  const { pk: _pk, sk: _sk, revision, ...value } = unmarshall(item);
  return { value: value as T, revision: Number(revision ?? 0) };
}

/** Full-jitter exponential backoff: 25 ms, 50 ms, … up to 1.6 s. */
export const backoff = (attempt: number): Promise<void> => sleep(Math.random() * Math.min(1_600, 25 * 2 ** attempt));

/** Sets `key` as the newest entry of a bounded cache, dropping the oldest past the bound. */
export function remember<K, V>(cache: Map<K, V>, key: K, value: V): void {
  cache.delete(key);
  cache.set(key, value);
  // Maps iterate in insertion order: the first key is the one written longest ago.
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as K);
}

/** Runs `run` over `items`, at most `limit` at a time. */
export async function forEachConcurrently<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await run(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The capacity units of a response: one table's, or the sum over a batch's or transaction's tables. */
function capacityUnits(consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): number {
  if (consumed === undefined) return 0;
  return (Array.isArray(consumed) ? consumed : [consumed]).reduce((total, entry) => total + (entry.CapacityUnits ?? 0), 0);
}

/**
 * The DynamoDB client as the stores of one {@link DynamoDbStore} share it: the one place it is
 * called, which counts the write requests (each item of a transaction counts, failed conditions
 * included: DynamoDB bills those too) and translates SDK failures into a `StoreError` with the SDK
 * error as `cause`. Lost conditions are answers the callers handle, not failures: those pass
 * through. Throttling is retried by the client itself.
 */
export class TableAccess {
  /** Write requests sent so far. */
  writes = 0;
  /** Write units DynamoDB reported consumed (`ReturnConsumedCapacity`): the write budget. */
  writeUnits = 0;
  /** Read units DynamoDB reported consumed. */
  readUnits = 0;

  constructor(private readonly client: DynamoDBClient) {}

  async send<C extends { readonly input: ServiceInputTypes }>(command: C): Promise<OutputOf<C>> {
    if (command instanceof PutItemCommand || command instanceof UpdateItemCommand || command instanceof DeleteItemCommand) this.writes++;
    else if (command instanceof TransactWriteItemsCommand) this.writes += command.input.TransactItems?.length ?? 0;
    const write = command instanceof PutItemCommand || command instanceof UpdateItemCommand || command instanceof DeleteItemCommand || command instanceof TransactWriteItemsCommand;
    // Every call asks DynamoDB what it billed: item sizes, not request counts, are the cost.
    (command.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity ??= 'TOTAL';
    try {
      // The client's send() is typed per command class; OutputOf<C> recovers what it returns.
      const output = (await this.client.send(command as never)) as OutputOf<C>;
      const units = capacityUnits((output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }).ConsumedCapacity);
      if (write) this.writeUnits += units;
      else this.readUnits += units;
      return output;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException || error instanceof TransactionCanceledException) throw error;
      const operation = command.constructor.name.replace(/Command$/, '');
      throw new StoreError(`DynamoDB ${operation} failed: ${messageOf(error)}`, { cause: error });
    }
  }

  /** Every item a Query answers, page after page. */
  query(input: Omit<QueryCommandInput, 'ExclusiveStartKey'>): AsyncIterable<Item> {
    return this.paged((startKey) => this.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey })));
  }

  /** Every item a Scan answers, page after page. */
  scan(input: Omit<ScanCommandInput, 'ExclusiveStartKey'>): AsyncIterable<Item> {
    return this.paged((startKey) => this.send(new ScanCommand({ ...input, ExclusiveStartKey: startKey })));
  }

  private async *paged(read: (startKey: Item | undefined) => Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>): AsyncIterable<Item> {
    let startKey: Item | undefined;
    do {
      const page = await read(startKey);
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }
}
