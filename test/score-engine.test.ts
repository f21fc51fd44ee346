import { describe, expect, it } from 'vitest';
import type { AccessEvent } from '../lib/domain/access-event.ts';
import { normalizeRecord } from '../lib/domain/cloudtrail-record.ts';
import { createDetector } from '../lib/engine/score-engine.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { itemStartOf, WINDOWS_PER_ITEM } from '../lib/store/window-item.ts';
import { loadRepairedRecords } from './events/load-events.ts';

// How the detector batches its window writes. Calm events (nothing to score: here the replay's
// warm-up, which only counts and learns) wait in memory and are written once per actor and hour
// (the four windows one stored item holds) when the window after the hour's last has begun; an
// actor with something to score is written at once. The events are the OTRF breach's S3 data events: stolen role credentials listing and
// downloading one bucket between 01:00:33 and 01:13:20.

const EVENTS: AccessEvent[] = loadRepairedRecords()
  .filter((record) => record.eventSource === 's3.amazonaws.com' && typeof record.requestParameters?.bucketName === 'string')
  .map((record) => {
    const outcome = normalizeRecord(record);
    if (outcome.kind !== 'event') throw new Error(`record ${record.eventID} not admitted: ${outcome.kind}`);
    return outcome.event;
  });
/** A role session is one actor across its rotating keys: the session's ARN, not its ASIA key. */
const THIEF = 'arn:aws:sts::123456789123:assumed-role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0/i-0317f6c6b66ae9c40';
const WINDOW_MS = 900_000;
const WINDOW = Math.floor((EVENTS[0] as AccessEvent).eventTime / WINDOW_MS);
/** The first window of the hour after WINDOW's: the hour's item is still held while it is current. */
const NEXT_HOUR = itemStartOf(WINDOW) + WINDOWS_PER_ITEM;
/** A decision time 10 s into window `window`. */
const inWindow = (window: number): number => window * WINDOW_MS + 10_000;
const LAST_EVENT_TIME = Math.max(...EVENTS.map((event) => event.eventTime));

async function storedWindow(store: MemoryStore) {
  const [window] = await store.getWindows(THIEF, WINDOW, WINDOW);
  return window === undefined ? undefined : { events: window.events, gets: window.gets, lists: window.lists, revision: window.revision };
}

describe('the detector batching window writes', () => {
  it('the breach events are one actor in one 15-minute window', () => {
    expect(EVENTS.length).toBe(9);
    expect(new Set(EVENTS.map((event) => event.identity.actor))).toEqual(new Set([THIEF]));
    expect(new Set(EVENTS.map((event) => Math.floor(event.eventTime / WINDOW_MS)))).toEqual(new Set([WINDOW]));
  });

  it('holds calm events through their hour and the window after it, and writes the hour once when the one after that begins', async () => {
    const store = new MemoryStore();
    const detector = createDetector({ store, windowMs: WINDOW_MS });
    await detector.processBatch(EVENTS.slice(0, 4), EVENTS[3]!.eventTime + 10_000, { learnOnly: true });
    await detector.processBatch(EVENTS.slice(4), LAST_EVENT_TIME + 10_000, { learnOnly: true });
    expect(await storedWindow(store)).toBeUndefined();

    // The hour's last window is scored while the next hour's first is current: it waits for that.
    await detector.processBatch([], inWindow(NEXT_HOUR), { learnOnly: true });
    expect(await storedWindow(store)).toBeUndefined();

    await detector.processBatch([], inWindow(NEXT_HOUR + 1), { learnOnly: true });
    expect(await storedWindow(store)).toEqual({ events: 9, gets: 2, lists: 7, revision: 1 });
  });

  it('writes the held windows of one hour in one write', async () => {
    const store = new MemoryStore();
    const itemWrites: number[] = [];
    const addWindows = store.addWindows.bind(store);
    store.addWindows = async (writes) => {
      itemWrites.push(writes.length);
      return addWindows(writes);
    };
    const detector = createDetector({ store, windowMs: WINDOW_MS });
    // The same reads again one window later (or earlier, when WINDOW ends its hour), still in WINDOW's hour.
    const shift = WINDOW % WINDOWS_PER_ITEM < WINDOWS_PER_ITEM - 1 ? WINDOW_MS : -WINDOW_MS;
    const again = EVENTS.map((event) => ({ ...event, eventId: `${event.eventId}-again`, idHash: `${event.idHash}0`, eventTime: event.eventTime + shift }));
    await detector.processBatch([...EVENTS, ...again].sort((a, b) => a.eventTime - b.eventTime), Math.max(LAST_EVENT_TIME, LAST_EVENT_TIME + shift) + 10_000, { learnOnly: true });
    await detector.processBatch([], inWindow(NEXT_HOUR + 1), { learnOnly: true });

    expect(itemWrites).toEqual([2]);
    const stored = await store.getWindows(THIEF, itemStartOf(WINDOW), NEXT_HOUR - 1);
    expect(stored.map((window) => window.events)).toEqual([9, 9]);
  });

  it('counts a redelivered event once, whether it is still held or already written', async () => {
    const store = new MemoryStore();
    const detector = createDetector({ store, windowMs: WINDOW_MS });
    await detector.processBatch(EVENTS, LAST_EVENT_TIME + 10_000, { learnOnly: true });
    const redelivered = await detector.processBatch(EVENTS, LAST_EVENT_TIME + 20_000, { learnOnly: true });
    expect(redelivered.fresh).toBe(0);

    await detector.processBatch([], inWindow(NEXT_HOUR + 1), { learnOnly: true });
    expect(await storedWindow(store)).toEqual({ events: 9, gets: 2, lists: 7, revision: 1 });
    const again = await detector.processBatch(EVENTS, inWindow(NEXT_HOUR + 1) + 10_000, { learnOnly: true });
    expect(again.fresh).toBe(0);
    await detector.flush();
    expect(await storedWindow(store)).toEqual({ events: 9, gets: 2, lists: 7, revision: 1 });
  });

  it('adds an event arriving after its window was written in a second write', async () => {
    const store = new MemoryStore();
    const detector = createDetector({ store, windowMs: WINDOW_MS });
    const late = EVENTS.at(-1) as AccessEvent;
    await detector.processBatch(EVENTS.slice(0, -1), LAST_EVENT_TIME + 10_000, { learnOnly: true });
    await detector.processBatch([], inWindow(NEXT_HOUR + 1), { learnOnly: true });
    expect((await storedWindow(store))?.events).toBe(8);

    const outcome = await detector.processBatch([late], inWindow(NEXT_HOUR + 1) + 10_000, { learnOnly: true });
    expect(outcome.fresh).toBe(1);
    expect((await storedWindow(store))?.events).toBe(9);
    expect((await storedWindow(store))?.revision).toBe(2);
  });

  it('writes everything held at once on flush, as a container shutting down does', async () => {
    const store = new MemoryStore();
    const detector = createDetector({ store, windowMs: WINDOW_MS });
    await detector.processBatch(EVENTS, LAST_EVENT_TIME + 10_000, { learnOnly: true });
    expect(await storedWindow(store)).toBeUndefined();
    await detector.flush();
    expect(await storedWindow(store)).toEqual({ events: 9, gets: 2, lists: 7, revision: 1 });
  });

  it('writes an actor with something to score at once, together with the events it had held', async () => {
    const store = new MemoryStore();
    const detector = createDetector({ store, windowMs: WINDOW_MS });
    await detector.processBatch(EVENTS.slice(0, 4), EVENTS[3]!.eventTime + 10_000, { learnOnly: true });
    const outcome = await detector.processBatch(EVENTS.slice(4), LAST_EVENT_TIME + 10_000);
    // Never seen before: the score has reasons, so nothing of this actor waits.
    expect(outcome.verdicts.map((verdict) => verdict.score.reasons.length > 0)).toEqual([true]);
    expect(await storedWindow(store)).toEqual({ events: 9, gets: 2, lists: 7, revision: 1 });
  });

  it('reads a calm actor\'s windows once in five minutes, and an actor with something to score in every batch', async () => {
    const count = (store: MemoryStore): { reads: () => number } => {
      let reads = 0;
      const getWindows = store.getWindows.bind(store);
      store.getWindows = async (...args) => {
        reads++;
        return getWindows(...args);
      };
      return { reads: () => reads };
    };
    const calmStore = new MemoryStore();
    const calm = count(calmStore);
    const calmDetector = createDetector({ store: calmStore, windowMs: WINDOW_MS });
    for (const [index, event] of EVENTS.entries()) await calmDetector.processBatch([event], EVENTS[0]!.eventTime + 10_000 * (index + 1), { learnOnly: true });

    const scoredStore = new MemoryStore();
    const scored = count(scoredStore);
    const scoredDetector = createDetector({ store: scoredStore, windowMs: WINDOW_MS });
    for (const [index, event] of EVENTS.entries()) await scoredDetector.processBatch([event], EVENTS[0]!.eventTime + 10_000 * (index + 1));

    // Nine batches within 90 s: the calm actor's first read serves the other eight.
    expect(calm.reads()).toBe(1);
    expect(scored.reads()).toBeGreaterThanOrEqual(EVENTS.length);
  });
});

