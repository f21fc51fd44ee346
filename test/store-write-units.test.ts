import { describe, expect, it } from 'vitest';
import type { Sighting } from '../lib/domain/baseline.ts';
import { DynamoDbStore, ensureTables } from '../lib/aws/dynamodb-store.ts';
import { createWindowStats, hashObject, type WindowStats } from '../lib/domain/window-counter.ts';
import { itemBytes, readUnits, valueBytes, writeUnits } from '../lib/store/item-size.ts';
import { packHash, unpackHash, windowItemBytes } from '../lib/store/window-item.ts';
import { hash53, setHash } from '../lib/domain/hash.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { createEmulatorDynamoDbClient, uniqueName } from './support/aws-clients.ts';

/** A window delta of `reads` distinct objects read by one actor, and the ids of its events. */
function readsDelta(reads: number, from = 0): { delta: WindowStats; eventIds: string[] } {
  const delta = createWindowStats('AKIAEXAMPLEKEY000001', 'arn:aws:iam::111122223333:user/etl', 'iam-user-key', 1_000);
  const eventIds: string[] = [];
  for (let i = from; i < from + reads; i++) {
    delta.events++;
    delta.gets++;
    delta.readObjects.add(hashObject('health-checkups', `results/${i}.pdf`));
    eventIds.push(`event-${i}`);
  }
  delta.firstEventTime = 1_000 * 900_000;
  delta.lastEventTime = delta.firstEventTime + 60_000;
  return { delta, eventIds };
}

describe('DynamoDB item sizes', () => {
  it('sizes attribute names and values as DynamoDB documents them', () => {
    expect(itemBytes({ pk: 'abc' })).toBe(5);
    expect(valueBytes('鍵')).toBe(3);
    expect(valueBytes(12_345)).toBe(4);
    expect(valueBytes(new Set(['ab', 'cde']))).toBe(5);
    expect(valueBytes({ a: 1 })).toBe(3 + 1 + 1 + 2);
    expect(valueBytes([true, null])).toBe(3 + 2 + 2);
  });

  it('sizes a number by its significant digits, whole or not', () => {
    expect(valueBytes(0)).toBe(2);
    expect(valueBytes(1_762_041_604_000)).toBe(6);
    expect(valueBytes(-1_200)).toBe(2);
    expect(valueBytes(123.456)).toBe(4);
    expect(valueBytes(0.0015)).toBe(2);
    expect(valueBytes(1e21)).toBe(2);
    expect(valueBytes(Number.MAX_SAFE_INTEGER)).toBe(9);
  });

  it('writes a set hash as 47 bits of hash53 in base 36, short ones and those with inner zeros alike', () => {
    const inputs = Array.from({ length: 2_000 }, (_, i) => `event-${i}`);
    for (const input of inputs) expect(setHash(input)).toBe((hash53(input) % 2 ** 47).toString(36));
    expect(inputs.some((input) => setHash(input).length < 9)).toBe(true);
  });

  it('packs a set hash in six bytes and keeps any other member whole', () => {
    for (const member of [setHash('event-1'), '0', 'zzzzzzzz']) {
      expect(packHash(member)).toHaveLength(6);
      expect(unpackHash(packHash(member))).toBe(member);
    }
    for (const member of ['01', 'Obj-1', '', (2 ** 47).toString(36)]) {
      expect(packHash(member)[0]).toBe(0xff);
      expect(unpackHash(packHash(member))).toBe(member);
    }
  });

  it('bills a write by the larger item of before and after, per started KB, and at least one unit', () => {
    expect(writeUnits(0, 10)).toBe(1);
    expect(writeUnits(1024, 1025)).toBe(2);
    expect(writeUnits(5_000, 100)).toBe(5);
    expect(readUnits(4_097)).toBe(2);
  });
});

describe('the memory store counts the units DynamoDB would bill', () => {
  it('bills a small window one unit a write', async () => {
    const store = new MemoryStore();
    const first = readsDelta(3);
    const stored = await store.addWindow(first.delta, first.eventIds, 0);
    const second = readsDelta(3, 3);
    await store.addWindow(second.delta, second.eventIds, 1);

    expect(stored).not.toBe('conflict');
    expect(store.writes).toBe(2);
    expect(store.writeUnits).toBe(2);
  });

  it('bills every write to a busy window by the whole item, not by what the write added', async () => {
    const store = new MemoryStore();
    const bulk = readsDelta(2_000);
    const stored = await store.addWindow(bulk.delta, bulk.eventIds, 0);
    if (stored === 'conflict') throw new Error('unexpected conflict');
    const bigUnits = Math.ceil(windowItemBytes([stored]) / 1024);
    const one = readsDelta(1, 2_000);
    await store.addWindow(one.delta, one.eventIds, 1);

    expect(bigUnits).toBeGreaterThan(20);
    expect(store.writes).toBe(2);
    // The one-event write still rewrites the whole item.
    expect(store.writeUnits).toBeGreaterThanOrEqual(2 * bigUnits);
  });

  it('bills the windows of one hour, written together, as one write of their item', async () => {
    const store = new MemoryStore();
    const writes = [0, 1, 2, 3].map((offset) => {
      const { delta, eventIds } = readsDelta(20, 20 * offset);
      return { delta: { ...delta, window: delta.window + offset }, eventIds, expectedRevision: 0 };
    });
    const stored = await store.addWindows(writes);
    if (stored === 'conflict') throw new Error('unexpected conflict');

    expect(store.writes).toBe(1);
    expect(store.writeUnits).toBe(Math.ceil(windowItemBytes(stored) / 1024));
    // 80 object hashes of six bytes and 80 event ids kept whole (they are not hashes): two units.
    expect(store.writeUnits).toBe(2);
  });

  it('bills a strongly consistent read of a window per 4 KB', async () => {
    const store = new MemoryStore();
    const bulk = readsDelta(2_000);
    const stored = await store.addWindow(bulk.delta, bulk.eventIds, 0);
    if (stored === 'conflict') throw new Error('unexpected conflict');

    await store.getWindows(bulk.delta.actor, 999, 1_000);

    expect(store.readUnits).toBe(Math.ceil(windowItemBytes([stored]) / 4096));
  });
});

describe('the memory store counts baseline reads as the DynamoDB store\'s 60 s cache makes them', () => {
  const PRINCIPAL = 'arn:aws:iam::111122223333:user/etl';
  const seen = (time: number): Sighting => ({
    id: PRINCIPAL,
    kind: 'principal',
    firstSeen: time,
    lastSeen: time,
    days: new Set([Math.floor(time / 86_400_000)]),
    networks: new Map([['198.51.100.0/24', time]]),
    addresses: new Map(),
    tools: new Map(),
    buckets: new Map(),
  });

  it('bills a read, present or absent, once per minute of event time', async () => {
    const store = new MemoryStore();
    const t0 = Date.parse('2026-10-05T09:00:00Z');
    await store.getBaselines([PRINCIPAL]);
    // An absent item costs its half unit, as an eventually consistent read of nothing does.
    expect(store.readUnits).toBe(0.5);
    await store.recordSightings([seen(t0)]);
    await store.getBaselines([PRINCIPAL]);
    await store.recordSightings([seen(t0 + 59_000)]);
    await store.getBaselines([PRINCIPAL]);
    expect(store.readUnits).toBe(1);
    await store.recordSightings([seen(t0 + 60_000)]);
    await store.getBaselines([PRINCIPAL]);
    expect(store.readUnits).toBe(1.5);
  });
});

describe('the DynamoDB store counts the units DynamoDB reports', () => {
  // moto answers ReturnConsumedCapacity with a flat figure per request, not by item size: this
  // shows the units are asked for and summed; their sizes are the memory store's model above.
  it('sums ConsumedCapacity of its writes and of its reads', async () => {
    const client = createEmulatorDynamoDbClient();
    const tables = { windowsTable: uniqueName('windows'), stateTable: uniqueName('state') };
    await ensureTables(client, tables);
    const store = new DynamoDbStore({ client, ...tables, now: () => Date.parse('2026-10-05T00:00:00Z') });
    const { delta, eventIds } = readsDelta(50);

    await store.addWindow(delta, eventIds, 0);
    const afterWrite = { writeUnits: store.writeUnits, readUnits: store.readUnits };
    await store.getWindows(delta.actor, 999, 1_000);

    expect(store.writes).toBe(1);
    expect(afterWrite.writeUnits).toBeGreaterThan(0);
    expect(afterWrite.readUnits).toBe(0);
    expect(store.readUnits).toBeGreaterThan(0);
    expect(store.writeUnits).toBe(afterWrite.writeUnits);
  });
});
