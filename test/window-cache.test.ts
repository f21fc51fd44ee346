import { describe, expect, it } from 'vitest';
import { createWindowStats, type WindowStats } from '../lib/domain/window-counter.ts';
import { WindowCache } from '../lib/engine/window-cache.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import type { StoredWindow } from '../lib/store/store.ts';

const ACTOR = 'arn:aws:sts::111122223333:assumed-role/etl/job-1';
const MINUTE = 60_000;

/** A memory store that counts the Queries the cache sends it and answers copies, as DynamoDB does. */
function countingStore() {
  const store = new MemoryStore();
  const queries: Array<[number, number]> = [];
  const getWindows = store.getWindows.bind(store);
  store.getWindows = async (actor, from, to) => {
    queries.push([from, to]);
    return structuredClone(await getWindows(actor, from, to));
  };
  return { store, queries };
}

const delta = (window: number, gets: number): WindowStats => ({ ...createWindowStats(ACTOR, 'arn:aws:iam::111122223333:role/etl', 'assumed-role', window), events: gets, gets });

async function write(store: MemoryStore, window: number, gets: number, revision = 0): Promise<StoredWindow[]> {
  const written = await store.addWindows([{ delta: delta(window, gets), eventIds: [`e${window}-${gets}`], expectedRevision: revision }]);
  if (written === 'conflict') throw new Error('unexpected conflict');
  return written;
}

describe('the window cache of a detector', () => {
  it('answers a second read of the same windows within its age from memory, and reads again after', async () => {
    const { store, queries } = countingStore();
    await write(store, 100, 3);
    const cache = new WindowCache(store, 5 * MINUTE);
    cache.at(0);
    expect((await cache.read(ACTOR, 99, 100)).map((window) => window.gets)).toEqual([3]);
    cache.at(4 * MINUTE);
    expect((await cache.read(ACTOR, 100, 101)).map((window) => window.gets)).toEqual([3]);
    expect(queries).toHaveLength(1);

    cache.at(5 * MINUTE);
    await cache.read(ACTOR, 100, 101);
    expect(queries).toHaveLength(2);
  });

  it('lets go of actors not read for its age, and keeps those read since', async () => {
    const { store } = countingStore();
    const cache = new WindowCache(store, 5 * MINUTE);
    cache.at(0);
    for (let i = 0; i < 50; i++) await cache.read(`${ACTOR}-${i}`, 99, 100);
    cache.at(3 * MINUTE);
    await cache.read(`${ACTOR}-recent`, 99, 100);
    expect(cache.size).toBe(51);
    cache.at(5 * MINUTE);
    expect(cache.size).toBe(1);
    cache.at(8 * MINUTE);
    expect(cache.size).toBe(0);
  });

  it('reads again for windows older than those it read', async () => {
    const { store, queries } = countingStore();
    const cache = new WindowCache(store, 5 * MINUTE);
    cache.at(0);
    await cache.read(ACTOR, 99, 100);
    await cache.read(ACTOR, 90, 100);
    expect(queries).toEqual([
      [99, 100],
      [90, 100],
    ]);
  });

  it('answers with the windows the detector wrote since its read', async () => {
    const { store, queries } = countingStore();
    const cache = new WindowCache(store, 5 * MINUTE);
    cache.at(0);
    expect(await cache.read(ACTOR, 99, 100)).toEqual([]);
    cache.wrote(await write(store, 100, 7));
    expect((await cache.read(ACTOR, 99, 100)).map((window) => [window.window, window.gets])).toEqual([[100, 7]]);
    expect(queries).toHaveLength(1);
  });

  it('misses what another writer added until it reads afresh, and keeps the older windows it read', async () => {
    const { store, queries } = countingStore();
    await write(store, 90, 1);
    await write(store, 100, 2);
    const cache = new WindowCache(store, 5 * MINUTE);
    cache.at(0);
    await cache.read(ACTOR, 80, 100);
    // Another container adds to window 100.
    await write(store, 100, 5, 1);
    expect((await cache.read(ACTOR, 99, 100)).map((window) => window.gets)).toEqual([2]);

    cache.at(MINUTE);
    expect((await cache.readAfresh(ACTOR, 99, 100)).map((window) => window.gets)).toEqual([7]);
    expect((await cache.read(ACTOR, 80, 100)).map((window) => [window.window, window.gets])).toEqual([
      [90, 1],
      [100, 7],
    ]);
    expect(queries).toEqual([
      [80, 100],
      [99, 100],
    ]);
  });
});
