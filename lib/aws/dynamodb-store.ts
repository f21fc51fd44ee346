import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { messageOf, StoreError } from '../domain/errors.ts';
import { ComposedStore } from '../store/composed-store.ts';
import { DynamoDbBaselineStore } from './dynamodb/baseline-table.ts';
import { DynamoDbIncidentStore } from './dynamodb/incident-table.ts';
import { TableAccess } from './dynamodb/table-access.ts';
import { DynamoDbTuningStore } from './dynamodb/tuning-table.ts';
import { DynamoDbWindowStore, WINDOW_EXPIRY_ATTRIBUTE } from './dynamodb/window-table.ts';

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

/**
 * The production store, on two DynamoDB tables: one store per kind of data (see lib/aws/dynamodb/),
 * sharing one {@link TableAccess} that counts their writes and translates SDK errors.
 *
 * Windows table: one item per (actor `pk`, window index `sk`). State table, keyed `pk` +
 * `sk = '-'`: `BASELINE#<id>`, `TUNING`, `INCIDENT#<id>` and `ACTOR#<actor>`; a tuning run is
 * `TUNINGRUN#<version>`, a header and its gzipped chunks.
 *
 * Writes: `addWindow` is one UpdateItem; `recordSightings` writes only the baselines that learned
 * something (routine traffic writes nothing); `openIncident` and `updateIncident` are a
 * two-item transaction (incident + actor pointer). `writes` counts the write requests sent, failed
 * conditions included (DynamoDB bills those too). Throttling is retried by the client (see
 * {@link createDynamoDbClient}); any other SDK failure surfaces as a `StoreError` with the SDK error
 * as `cause`.
 */
export class DynamoDbStore extends ComposedStore {
  constructor(options: DynamoDbStoreOptions) {
    const table = new TableAccess(options.client);
    const now = options.now ?? Date.now;
    const cacheMs = options.baselineCacheMs ?? 60_000;
    super({
      windows: new DynamoDbWindowStore(table, { windowsTable: options.windowsTable, now, windowTtlDays: options.windowTtlDays ?? 40 }),
      baselines: new DynamoDbBaselineStore(table, { stateTable: options.stateTable, now, baselineCacheMs: cacheMs }),
      tuning: new DynamoDbTuningStore(table, { stateTable: options.stateTable, now, cacheMs }),
      incidents: new DynamoDbIncidentStore(table, options.stateTable),
      counter: table,
    });
  }
}
