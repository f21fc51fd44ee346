import { describe, expect, it } from 'vitest';
import { countDistinctObjects, createWindowStats, type WindowStats } from '../lib/domain/window-counter.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';

// The in-memory store lets an old window's object and event-id sets go once replay has moved 8
// windows past it, keeping its counts: what a month's replay holds must not be a month of sets.
const delta = (actor: string, window: number, objects: string[], bucket = 'results'): WindowStats => {
  const stats = createWindowStats(actor, `arn:aws:iam::111122223333:user/${actor}`, 'iam-user-key', window);
  stats.buckets.add(bucket);
  stats.events = stats.gets = objects.length;
  for (const object of objects) stats.readObjects.add(object);
  stats.firstEventTime = stats.firstReadTime = window * 900_000;
  stats.lastEventTime = stats.lastReadTime = window * 900_000 + 1_000;
  return stats;
};
const objects = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('window compaction in the memory store', () => {
  it('keeps counts and the distinct-object count of a window once its sets are let go', async () => {
    const store = new MemoryStore();
    await store.addWindow(delta('alice', 100, objects('a', 30)), ['e1', 'e2'], 0);
    await store.addWindow(delta('bob', 101, objects('b', 5)), ['e3'], 0);
    const [before] = await store.getWindows('alice', 100, 100);
    expect(before?.readObjects.size).toBe(30);
    await store.addWindow(delta('carol', 120, objects('c', 1)), ['e4'], 0);
    const [alice] = await store.getWindows('alice', 100, 100);
    const [bob] = await store.getWindows('bob', 101, 101);
    expect(alice).toMatchObject({ events: 30, gets: 30, distinctObjects: 30, revision: 1 });
    expect(alice?.readObjects.size).toBe(0);
    expect(alice?.eventIds.size).toBe(0);
    expect(countDistinctObjects(alice as WindowStats)).toBe(30);
    expect(bob).toMatchObject({ events: 5, distinctObjects: 5 });
    const [carol] = await store.getWindows('carol', 120, 120);
    expect(carol?.readObjects.size).toBe(1);
  });

  it('takes a late write into a compacted window without touching any other window', async () => {
    const store = new MemoryStore();
    await store.addWindow(delta('alice', 100, objects('a', 30)), ['e1'], 0);
    await store.addWindow(delta('bob', 101, objects('b', 5)), ['e2'], 0);
    await store.addWindow(delta('carol', 120, objects('c', 1)), ['e3'], 0);
    const writesBefore = store.writes;
    const late = await store.addWindow(delta('alice', 100, ['late-1', 'late-2'], 'finance'), ['e9'], 1);
    expect(late).not.toBe('conflict');
    expect(store.writes).toBe(writesBefore + 1);
    const [alice] = await store.getWindows('alice', 100, 100);
    expect(alice).toMatchObject({ events: 32, revision: 2, distinctObjects: 30 });
    expect([...(alice?.readObjects ?? [])]).toEqual(['late-1', 'late-2']);
    expect(alice?.eventIds.has('e9')).toBe(true);
    const [bob] = await store.getWindows('bob', 101, 101);
    expect(bob?.readObjects.size).toBe(0);
    expect(bob?.eventIds.size).toBe(0);
    // Compacted windows that name the same buckets share one set; the late write took its own.
    expect([...(alice?.buckets ?? [])]).toEqual(['results', 'finance']);
    expect([...(bob?.buckets ?? [])]).toEqual(['results']);
    // A stale revision still conflicts, compacted or not.
    expect(await store.addWindow(delta('bob', 101, ['x']), ['e10'], 0)).toBe('conflict');
  });
});
