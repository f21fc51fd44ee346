import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ResourceNotFoundException,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { parse } from 'yaml';
import { VOLUME_METRICS, type Sighting, type VolumeBaseline } from '../lib/domain/baseline.ts';
import {
  createDynamoDbClient,
  defineTables,
  DynamoDbStore,
  ensureTables,
  type TableNames,
} from '../lib/aws/dynamodb-store.ts';
import { WINDOW_EXPIRY_ATTRIBUTE } from '../lib/aws/dynamodb/window-table.ts';
import { StoreError } from '../lib/domain/errors.ts';
import type { Incident } from '../lib/domain/incident.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import type { DetectorStore, StoredWindow, TuningState } from '../lib/store/store.ts';
import { createWindowStats, hashObject, SET_CAPS, type WindowStats } from '../lib/domain/window-counter.ts';
import { setHash } from '../lib/domain/hash.ts';
import { itemBytes } from '../lib/store/item-size.ts';
import { itemStartOf, windowItemBytes } from '../lib/store/window-item.ts';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { createEmulatorDynamoDbClient, TEST_REGION, uniqueName } from './support/aws-clients.ts';

const T0 = Date.parse('2025-03-03T09:00:00Z');
const MINUTE = 60_000;
const DAY = 86_400_000;
const WINDOW = Math.floor(T0 / (5 * MINUTE));
const KEY = 'AKIAEXAMPLEKEY000001';
const PRINCIPAL = 'arn:aws:iam::111122223333:user/backup';

type CountingStore = DetectorStore & { writes: number };
interface Fixture {
  store: CountingStore;
  clock: { time: number };
}

let client: DynamoDBClient | undefined;
const emulator = (): DynamoDBClient => (client ??= createEmulatorDynamoDbClient());

async function freshTables(): Promise<TableNames> {
  const names = { windowsTable: uniqueName('windows'), stateTable: uniqueName('state') };
  await ensureTables(emulator(), names);
  return names;
}

async function dynamoFixture(names?: TableNames): Promise<Fixture & { names: TableNames }> {
  const tables = names ?? (await freshTables());
  const clock = { time: T0 };
  const store = new DynamoDbStore({ client: emulator(), ...tables, now: () => clock.time });
  return { store, clock, names: tables };
}

const IMPLEMENTATIONS: { name: string; make: () => Promise<Fixture> }[] = [
  { name: 'MemoryStore', make: async () => ({ store: new MemoryStore(), clock: { time: T0 } }) },
  { name: 'DynamoDbStore', make: () => dynamoFixture() },
];

/** A window delta of the backup key with `fill` applied. */
function delta(fill: Partial<WindowStats> = {}, window = WINDOW, actor = KEY): WindowStats {
  return { ...createWindowStats(actor, PRINCIPAL, 'iam-user-key', window), events: 1, firstEventTime: T0, lastEventTime: T0, ...fill };
}

function sighting(id: string, time: number, networks: string[]): Sighting {
  return {
    id,
    kind: 'principal',
    firstSeen: time,
    lastSeen: time,
    days: new Set([Math.floor(time / DAY)]),
    networks: new Map(networks.map((network) => [network, time])),
    addresses: new Map(),
    tools: new Map([['aws-cli', time]]),
    buckets: new Map([['invoices', time]]),
  };
}

function candidate(decisionTime: number, actor = KEY): Incident {
  return {
    incidentId: `KS-${actor.slice(-4)}-${decisionTime}`,
    actor,
    principal: PRINCIPAL,
    identityType: 'iam-user-key',
    accessKeyId: actor,
    identity: { type: 'iam-user-key', principal: PRINCIPAL, actor, accessKeyId: actor, userName: 'backup' },
    status: 'open',
    action: 'contain',
    score: 91,
    reasons: [{ code: 'never-seen', message: 'key never seen before', value: 1, threshold: 1, points: 40 }],
    firstEventTime: decisionTime - MINUTE,
    decisionTime,
    firstDecisionTime: decisionTime,
    updatedTime: decisionTime,
    evidence: {
      gets: 200,
      deletes: 0,
      lists: 3,
      errors: 0,
      bytesOut: 1_048_576,
      distinctObjects: 200,
      buckets: ['invoices'],
      sampleObjects: ['invoices/2025/001.pdf'],
      sourceIps: ['203.0.113.9'],
      userAgents: ['aws-cli/2.15.0'],
    },
    revision: 1,
  };
}

function volumeOf(windows: number): VolumeBaseline {
  const metrics = {} as VolumeBaseline['metrics'];
  for (const metric of VOLUME_METRICS) metrics[metric] = { p50: 1, p95: 5, p99: 9, max: windows };
  return { windows, metrics };
}

const stored = (result: StoredWindow | 'conflict'): StoredWindow => {
  if (result === 'conflict') throw new Error('expected the write to win');
  return result;
};

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

describe.each(IMPLEMENTATIONS)('$name (the store contract)', ({ make }) => {
  it('adds deltas into one window and returns the totals, times as min and max', async () => {
    const { store } = await make();
    const first = stored(
      await store.addWindow(
        delta({ gets: 3, bytesOut: 300, readObjects: new Set(['a', 'b']), networks: new Set(['198.51.100.0/24']), lastEventTime: T0 + 20_000 }),
        ['e1'],
        0,
      ),
    );
    expect(first).toMatchObject({ revision: 1, gets: 3, bytesOut: 300, events: 1 });

    // A late log file: its events are earlier than anything stored.
    const second = stored(
      await store.addWindow(delta({ gets: 2, deletes: 1, readObjects: new Set(['b', 'c']), firstEventTime: T0 - 30_000 }), ['e2'], 1),
    );
    expect(second).toMatchObject({ revision: 2, gets: 5, deletes: 1, bytesOut: 300, events: 2, firstEventTime: T0 - 30_000, lastEventTime: T0 + 20_000 });
    expect(second.readObjects).toEqual(new Set(['a', 'b', 'c']));
    expect(second.networks).toEqual(new Set(['198.51.100.0/24']));
    expect(second.deletedObjects).toEqual(new Set());
    expect(await store.getWindows(KEY, WINDOW, WINDOW)).toEqual([second]);
  });

  it('keeps read times as min and max and the batch-delete counters as sums', async () => {
    const { store } = await make();
    stored(await store.addWindow(delta({ gets: 2, firstReadTime: T0 + 5_000, lastReadTime: T0 + 9_000, versionLists: 1 }), ['e1'], 0));
    const second = stored(
      await store.addWindow(delta({ gets: 1, deleteBatches: 1, batchDeleteKeys: 800, firstReadTime: T0 + 1_000, lastReadTime: T0 + 2_000 }), ['e2'], 1),
    );
    expect(second).toMatchObject({ firstReadTime: T0 + 1_000, lastReadTime: T0 + 9_000, versionLists: 1, deleteBatches: 1, batchDeleteKeys: 800 });
    expect(await store.getWindows(KEY, WINDOW, WINDOW)).toEqual([second]);
  });

  it('refuses a write computed from a stale revision', async () => {
    const { store } = await make();
    stored(await store.addWindow(delta({ gets: 1 }), ['e1'], 0));
    stored(await store.addWindow(delta({ gets: 1 }), ['e2'], 1));

    expect(await store.addWindow(delta({ gets: 50 }), ['e3'], 1)).toBe('conflict');
    expect(await store.addWindow(delta({ gets: 50 }), ['e3'], 0)).toBe('conflict');
    const [window] = await store.getWindows(KEY, WINDOW, WINDOW);
    expect(window).toMatchObject({ revision: 2, gets: 2 });
  });

  it('lets exactly one of two concurrent writers with the same revision win', async () => {
    const { store } = await make();
    const created = await Promise.all([store.addWindow(delta({ gets: 1 }), ['a1'], 0), store.addWindow(delta({ gets: 10 }), ['b1'], 0)]);
    expect(created.filter((result) => result === 'conflict')).toHaveLength(1);

    const updated = await Promise.all([store.addWindow(delta({ gets: 100 }), ['a2'], 1), store.addWindow(delta({ gets: 1000 }), ['b2'], 1)]);
    expect(updated.filter((result) => result === 'conflict')).toHaveLength(1);
    const [window] = await store.getWindows(KEY, WINDOW, WINDOW);
    expect(window?.revision).toBe(2);
    expect(window?.events).toBe(2);
    expect([101, 1001, 110, 1010]).toContain(window?.gets);
  });

  it('stores the ids of the events it counted', async () => {
    const { store } = await make();
    stored(await store.addWindow(delta(), ['e1', 'e2'], 0));
    const window = stored(await store.addWindow(delta(), ['e3'], 1));
    expect(window.eventIds).toEqual(new Set(['e1', 'e2', 'e3']));
    expect((await store.getWindows(KEY, WINDOW, WINDOW))[0]?.eventIds).toEqual(new Set(['e1', 'e2', 'e3']));
  });

  it('never grows a set past its cap', async () => {
    const { store } = await make();
    const networks = (from: number, count: number): Set<string> =>
      new Set(Array.from({ length: count }, (_, i) => `10.${from + i}.0.0/16`));
    stored(await store.addWindow(delta({ networks: networks(0, SET_CAPS.small - 4) }), ['e1'], 0));
    const window = stored(await store.addWindow(delta({ networks: networks(100, 10) }), ['e2'], 1));
    expect(window.networks.size).toBe(SET_CAPS.small);
  });

  it('writes several windows of one hour at once, each checked against its own revision', async () => {
    const { store } = await make();
    const start = itemStartOf(WINDOW);
    const written = await store.addWindows([
      { delta: delta({ gets: 1 }, start), eventIds: ['e1'], expectedRevision: 0 },
      { delta: delta({ gets: 2 }, start + 1), eventIds: ['e2'], expectedRevision: 0 },
    ]);
    expect(written === 'conflict' ? written : written.map((window) => [window.window, window.gets, window.revision])).toEqual([
      [start, 1, 1],
      [start + 1, 2, 1],
    ]);
    const writes = store.writes;

    // One stale revision refuses the whole write: the other window is left as it was too.
    const stale = await store.addWindows([
      { delta: delta({ gets: 10 }, start), eventIds: ['e3'], expectedRevision: 1 },
      { delta: delta({ gets: 20 }, start + 1), eventIds: ['e4'], expectedRevision: 0 },
    ]);
    expect(stale).toBe('conflict');
    expect((await store.getWindows(KEY, start, start + 1)).map((window) => [window.gets, window.revision])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    expect(store.writes - writes).toBeLessThanOrEqual(1);
  });

  it('returns the windows of one actor within the range, in order', async () => {
    const { store } = await make();
    for (const window of [WINDOW - 1, WINDOW, WINDOW + 1, WINDOW + 4]) stored(await store.addWindow(delta({}, window), [`e${window}`], 0));
    stored(await store.addWindow(delta({}, WINDOW, 'AKIAOTHERKEY00000002'), ['other'], 0));

    const found = await store.getWindows(KEY, WINDOW, WINDOW + 3);
    expect(found.map((window) => [window.actor, window.window])).toEqual([
      [KEY, WINDOW],
      [KEY, WINDOW + 1],
    ]);
    expect(await store.getWindows('AKIANEVERSEEN0000003', WINDOW, WINDOW + 3)).toEqual([]);
  });

  it('scans every actor’s windows within the range', async () => {
    const { store } = await make();
    for (const window of [WINDOW - 1, WINDOW, WINDOW + 1]) stored(await store.addWindow(delta({}, window), [`e${window}`], 0));
    stored(await store.addWindow(delta({}, WINDOW + 1, 'AKIAOTHERKEY00000002'), ['other'], 0));

    const scanned = (await collect(store.scanWindows(WINDOW, WINDOW + 1))).map((window) => `${window.actor}@${window.window}`);
    expect(scanned.sort()).toEqual([`${KEY}@${WINDOW}`, `${KEY}@${WINDOW + 1}`, `AKIAOTHERKEY00000002@${WINDOW + 1}`].sort());
  });

  it('writes nothing for routine traffic and one write for a new network', async () => {
    const { store } = await make();
    await store.recordSightings([sighting(PRINCIPAL, T0, ['198.51.100.0/24'])]);
    const afterFirst = store.writes;
    expect(afterFirst).toBe(1);

    await store.recordSightings([sighting(PRINCIPAL, T0 + 10 * MINUTE, ['198.51.100.0/24'])]);
    await store.recordSightings([sighting(PRINCIPAL, T0 + 20 * MINUTE, ['198.51.100.0/24'])]);
    expect(store.writes).toBe(afterFirst);

    await store.recordSightings([sighting(PRINCIPAL, T0 + 30 * MINUTE, ['198.51.100.0/24', '203.0.113.0/24'])]);
    expect(store.writes).toBe(afterFirst + 1);
    const baseline = (await store.getBaselines([PRINCIPAL])).get(PRINCIPAL);
    expect(baseline?.networks).toEqual({ '198.51.100.0/24': T0, '203.0.113.0/24': T0 + 30 * MINUTE });
    expect(baseline?.activeDays).toBe(1);
  });

  it('returns the baselines it knows and leaves out those it does not', async () => {
    const { store } = await make();
    await store.recordSightings([sighting(PRINCIPAL, T0, ['198.51.100.0/24']), sighting(KEY, T0, ['198.51.100.0/24'])]);
    const found = await store.getBaselines([PRINCIPAL, KEY, 'arn:aws:iam::111122223333:user/never-seen', PRINCIPAL]);
    expect([...found.keys()].sort()).toEqual([KEY, PRINCIPAL].sort());
    expect(found.get(KEY)).toMatchObject({ id: KEY, firstSeen: T0, buckets: { invoices: T0 }, tools: { 'aws-cli': T0 } });

    const volume = volumeOf(12);
    await store.setVolumeBaselines(new Map([[PRINCIPAL, volume], ['arn:aws:iam::111122223333:user/never-seen', volume]]));
    const listed = await collect(store.listBaselines());
    expect(listed.map((baseline) => baseline.id).sort()).toEqual([KEY, PRINCIPAL].sort());
    expect(listed.find((baseline) => baseline.id === PRINCIPAL)?.volume).toEqual(volume);
  });

  it('creates one incident when two invocations open one at the same time', async () => {
    const { store } = await make();
    const results = await Promise.all([store.openIncident(candidate(T0), 30 * MINUTE), store.openIncident(candidate(T0 + 1_000), 30 * MINUTE)]);
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(results[0]?.incident.incidentId).toBe(results[1]?.incident.incidentId);
    expect(await store.listIncidents()).toHaveLength(1);
  });

  it('creates one incident when two invocations decide on the same burst (same incident id)', async () => {
    const { store } = await make();
    const results = await Promise.all([store.openIncident(candidate(T0), 30 * MINUTE), store.openIncident(candidate(T0), 30 * MINUTE)]);
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.incident.incidentId)).size).toBe(1);
    expect(await store.listIncidents()).toHaveLength(1);
  });

  it('reuses the incident within the cool-down, counted from its last update', async () => {
    const { store } = await make();
    const { incident: first } = await store.openIncident(candidate(T0), 30 * MINUTE);

    const again = await store.openIncident(candidate(T0 + 10 * MINUTE), 30 * MINUTE);
    expect(again).toEqual({ incident: first, created: false });

    expect(await store.updateIncident({ ...first, updatedTime: T0 + 20 * MINUTE, status: 'contained', revision: 2 })).toBe(true);
    const stillCooling = await store.openIncident(candidate(T0 + 45 * MINUTE), 30 * MINUTE);
    expect(stillCooling.created).toBe(false);
    expect(stillCooling.incident).toMatchObject({ incidentId: first.incidentId, status: 'contained', revision: 2 });

    const later = await store.openIncident(candidate(T0 + 51 * MINUTE), 30 * MINUTE);
    expect(later.created).toBe(true);
    expect(later.incident.incidentId).not.toBe(first.incidentId);
    expect((await store.listIncidents()).map((incident) => incident.incidentId).sort()).toEqual([first.incidentId, later.incident.incidentId].sort());
  });

  it('refuses an incident update computed from a stale revision', async () => {
    const { store } = await make();
    const { incident } = await store.openIncident(candidate(T0), 30 * MINUTE);
    expect(await store.updateIncident({ ...incident, status: 'contained', revision: 2 })).toBe(true);
    expect(await store.updateIncident({ ...incident, status: 'released', revision: 2 })).toBe(false);
    expect(await store.updateIncident({ ...candidate(T0 + DAY), revision: 2 })).toBe(false);

    const read = await store.getIncident(incident.incidentId);
    expect(read).toEqual({ ...incident, status: 'contained', revision: 2 });
    expect(await store.getIncident('KS-NOSUCH')).toBeUndefined();
  });

  it('keeps the tuning', async () => {
    const { store } = await make();
    expect(await store.getTuning()).toBeUndefined();
    const state: TuningState = { version: 3, tunedAt: T0, fleet: volumeOf(500) };
    await store.saveTuning(state);
    expect(await store.getTuning()).toEqual(state);
    // The store keeps its own copy: the caller changing its object afterwards changes nothing.
    state.version = 4;
    expect((await store.getTuning())?.version).toBe(3);
  });
});

describe('DynamoDbStore', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reads a baseline another container wrote once its cached copy is older than baselineCacheMs', async () => {
    const { store: reader, clock, names } = await dynamoFixture();
    const writer = new DynamoDbStore({ client: emulator(), ...names });
    expect((await reader.getBaselines([PRINCIPAL])).size).toBe(0);

    await writer.recordSightings([sighting(PRINCIPAL, T0, ['198.51.100.0/24'])]);
    clock.time += 59_000;
    expect((await reader.getBaselines([PRINCIPAL])).size).toBe(0);
    clock.time += 1_000;
    expect((await reader.getBaselines([PRINCIPAL])).get(PRINCIPAL)?.networks).toEqual({ '198.51.100.0/24': T0 });
  });

  it('re-reads and merges when another container changed the baseline first', async () => {
    const { store: mine, names } = await dynamoFixture();
    const theirs = new DynamoDbStore({ client: emulator(), ...names });
    await mine.recordSightings([sighting(PRINCIPAL, T0, ['198.51.100.0/24'])]);
    await theirs.recordSightings([sighting(PRINCIPAL, T0 + MINUTE, ['192.0.2.0/24'])]);

    const before = mine.writes;
    await mine.recordSightings([sighting(PRINCIPAL, T0 + 2 * MINUTE, ['203.0.113.0/24'])]);
    // The write from the stale copy loses its condition, the one from the re-read baseline wins.
    expect(mine.writes - before).toBe(2);
    const [baseline] = await collect(mine.listBaselines());
    expect(Object.keys(baseline?.networks ?? {}).sort()).toEqual(['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24']);
  });

  it('adds to a window another container wrote, reading it once to know its times and sets', async () => {
    const { store: first, names } = await dynamoFixture();
    const second = new DynamoDbStore({ client: emulator(), ...names, now: () => T0 });
    const written = stored(await first.addWindow(delta({ networks: new Set(['10.0.0.0/16']), lastEventTime: T0 + 90_000 }), ['e1'], 0));

    const window = stored(await second.addWindow(delta({ networks: new Set(['10.1.0.0/16']), firstEventTime: T0 + 5_000 }), ['e2'], written.revision));
    expect(window).toMatchObject({ revision: 2, events: 2, firstEventTime: T0, lastEventTime: T0 + 90_000 });
    expect(window.networks).toEqual(new Set(['10.0.0.0/16', '10.1.0.0/16']));
    expect(second.writes).toBe(1);
  });

  it('reads a window written one item per window, and adds to it in its hour’s item', async () => {
    const { store, names } = await dynamoFixture();
    const window = itemStartOf(WINDOW) + 1;
    await emulator().send(
      new PutItemCommand({
        TableName: names.windowsTable,
        Item: marshall({
          pk: KEY,
          sk: window,
          principal: PRINCIPAL,
          identityType: 'iam-user-key',
          events: 2,
          gets: 2,
          readObjects: new Set(['a']),
          eventIds: new Set(['old']),
          firstEventTime: T0,
          lastEventTime: T0 + 60_000,
          revision: 3,
        }),
      }),
    );
    const [legacy] = await store.getWindows(KEY, window, window);
    expect(legacy).toMatchObject({ window, events: 2, gets: 2, revision: 0, firstReadTime: T0, lastReadTime: T0 + 60_000 });
    expect(legacy?.eventIds).toEqual(new Set(['old']));

    stored(await store.addWindow(delta({ gets: 1, readObjects: new Set(['b']) }, window), ['new'], 0));
    const [merged] = await store.getWindows(KEY, window, window);
    expect(merged).toMatchObject({ events: 3, gets: 3, revision: 1 });
    expect(merged?.readObjects).toEqual(new Set(['a', 'b']));
    expect(merged?.eventIds).toEqual(new Set(['old', 'new']));
    const scanned = await collect(store.scanWindows(window, window));
    expect(scanned.map((stats) => [stats.window, stats.events])).toEqual([[window, 3]]);
  });

  it('stores an hour’s windows in an item of the size the memory store bills', async () => {
    const { store, names } = await dynamoFixture();
    const start = itemStartOf(WINDOW);
    const reads = (from: number, count: number): Set<string> => new Set(Array.from({ length: count }, (_, i) => hashObject('invoices', `2025/${from + i}.pdf`)));
    const written = await store.addWindows([
      { delta: delta({ gets: 300, bytesOut: 9_000_000, readObjects: reads(0, 300), networks: new Set(['198.51.100.0/24']) }, start), eventIds: Array.from({ length: 300 }, (_, i) => setHash(`event-${i}`)), expectedRevision: 0 },
      { delta: delta({ lists: 2, deletes: 1, deletedObjects: reads(0, 1) }, start + 2), eventIds: ['not-a-hash', setHash('event-x')], expectedRevision: 0 },
    ]);
    if (written === 'conflict') throw new Error('expected the write to win');
    const { Item } = await emulator().send(new GetItemCommand({ TableName: names.windowsTable, Key: { pk: { S: KEY }, sk: { N: String(start) } } }));
    const { [WINDOW_EXPIRY_ATTRIBUTE]: _expiry, ...item } = unmarshall(Item ?? {});
    // The model's TTL is a sample of ten significant digits; the stored one is the clock's.
    const modelled = windowItemBytes(written) - itemBytes({ [WINDOW_EXPIRY_ATTRIBUTE]: 1_799_999_999 });

    expect(itemBytes(item)).toBe(modelled);
    expect(itemBytes(item)).toBeGreaterThan(300 * 2 * 6);
    expect(itemBytes(item)).toBeLessThan(300 * 2 * 7 + 400);
    expect((await store.getWindows(KEY, start, start + 3)).map((window) => window.readObjects.size + window.eventIds.size)).toEqual([600, 2]);
    expect((await store.getWindows(KEY, start + 2, start + 2))[0]?.eventIds).toEqual(new Set(['not-a-hash', setHash('event-x')]));
  });

  it('sets the window to expire windowTtlDays after its last write', async () => {
    const { store, names } = await dynamoFixture();
    stored(await store.addWindow(delta(), ['e1'], 0));
    const { Item } = await emulator().send(
      new GetItemCommand({ TableName: names.windowsTable, Key: { pk: { S: KEY }, sk: { N: String(itemStartOf(WINDOW)) } } }),
    );
    expect(Number(Item?.[WINDOW_EXPIRY_ATTRIBUTE]?.N)).toBe(Math.floor(T0 / 1000) + 40 * 86_400);
  });

  it('counts a two-item transaction as two writes', async () => {
    const { store } = await dynamoFixture();
    const { incident } = await store.openIncident(candidate(T0), 30 * MINUTE);
    expect(store.writes).toBe(2);
    await store.updateIncident({ ...incident, status: 'contained', revision: 2 });
    expect(store.writes).toBe(4);
  });

  it('creates the tables with the key schema and TTL attribute serverless.yml deploys', () => {
    const template = parse(readFileSync(new URL('../serverless.yml', import.meta.url), 'utf8'), { logLevel: 'error' });
    const resources = template.resources.Resources;
    const tables = defineTables({ windowsTable: 'w', stateTable: 's' });
    for (const [resource, defined] of [
      ['WindowsTable', tables.windows],
      ['StateTable', tables.state],
    ] as const) {
      expect(resources[resource].Properties.KeySchema).toEqual(defined.KeySchema);
      expect(resources[resource].Properties.AttributeDefinitions).toEqual(defined.AttributeDefinitions);
    }
    expect(resources.WindowsTable.Properties.TimeToLiveSpecification.AttributeName).toBe(WINDOW_EXPIRY_ATTRIBUTE);
  });

  it('leaves throttling to the client, whose retries absorb a ProvisionedThroughputExceededException', async () => {
    const names = await freshTables();
    let updates = 0;
    const proxy = await throttleFirstUpdateItem(inject('awsEndpoint'), () => ++updates);
    try {
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
      const store = new DynamoDbStore({ client: createDynamoDbClient({ endpoint: proxy.endpoint, region: TEST_REGION }), ...names });
      const window = stored(await store.addWindow(delta({ gets: 4 }), ['e1'], 0));
      expect(window.gets).toBe(4);
      expect(updates).toBe(2);
      expect(store.writes).toBe(1);
    } finally {
      await new Promise((resolve) => proxy.server.close(resolve));
    }
  });

  it('translates other SDK failures into a StoreError carrying the SDK error', async () => {
    // The emulator answers a Query of a table that does not exist with ResourceNotFoundException.
    const store = new DynamoDbStore({ client: emulator(), windowsTable: uniqueName('absent-windows'), stateTable: uniqueName('absent-state') });
    const error = await store.getWindows(KEY, WINDOW, WINDOW).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).cause).toBeInstanceOf(ResourceNotFoundException);
    expect((error as StoreError).message).toContain('Query');
  });

  it('fails with a StoreError when a transaction is cancelled for another reason than a lost condition', async () => {
    const failing = new DynamoDBClient({ region: TEST_REGION, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    // A mock, because moto cannot cancel a transaction for throttling.
    const mock = mockClient(failing);
    mock.on(GetItemCommand).resolves({});
    mock.on(TransactWriteItemsCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'None' }, { Code: 'ThrottlingError' }],
      }),
    );
    const store = new DynamoDbStore({ client: failing, windowsTable: 'windows', stateTable: 'state' });
    const error = await store.openIncident(candidate(T0), MINUTE).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toMatch(/cancelled: None, ThrottlingError/);
  });
});

/**
 * An HTTP proxy to the emulator that answers the first UpdateItem with DynamoDB's throttling
 * error, so that the real client's retry (not a stub of it) is what gets tested.
 */
async function throttleFirstUpdateItem(target: string, onUpdate: () => number): Promise<{ server: Server; endpoint: string }> {
  const upstream = new URL(target);
  const server = createServer((incoming, outgoing) => {
    const isUpdate = incoming.headers['x-amz-target'] === 'DynamoDB_20120810.UpdateItem';
    if (isUpdate && onUpdate() === 1) {
      incoming.resume();
      outgoing.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      outgoing.end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
          message: 'The level of configured provisioned throughput for the table was exceeded.',
        }),
      );
      return;
    }
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
