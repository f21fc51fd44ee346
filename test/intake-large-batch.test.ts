import { describe, expect, it } from 'vitest';
import type { AccessEvent } from '../lib/domain/access-event.ts';
import { normalizeRecord } from '../lib/domain/cloudtrail-record.ts';
import { hash53 } from '../lib/domain/hash.ts';
import { createDetector } from '../lib/engine/score-engine.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { loadRepairedRecords, pickRecord } from './events/load-events.ts';

// A newest-first export or one large log file can put hundreds of thousands of events in one
// intake batch; nothing on the way may pass them as call arguments (the stack holds ~100,000).
const BATCH = 300_000;

function manyEvents(count: number): AccessEvent[] {
  const outcome = normalizeRecord(pickRecord(loadRepairedRecords(), 'GetObject', (r) => r.eventName === 'GetObject'));
  if (outcome.kind !== 'event') throw new Error('the corpus GetObject did not normalise');
  const start = Math.floor(outcome.event.eventTime / 10_000) * 10_000;
  return Array.from({ length: count }, (_, i) => {
    const eventId = `large-${i}`;
    return { ...outcome.event, eventId, idHash: hash53(eventId).toString(36), eventTime: start + (i % 10) * 1000, objectKey: `k/${i}`, objectHash: String(i) };
  });
}

describe('a batch of 300,000 events', () => {
  it('is counted and learned from without overflowing the stack', { timeout: 120_000 }, async () => {
    const store = new MemoryStore();
    const detector = createDetector({ store });
    const events = manyEvents(BATCH);
    const decisionTime = Math.floor((events[0] as AccessEvent).eventTime / 10_000) * 10_000 + 10_000;
    const outcome = await detector.processBatch(events, decisionTime, { learnOnly: true });
    await detector.flush();
    expect(outcome).toMatchObject({ events: BATCH, fresh: BATCH, actors: 1 });
    const actor = (events[0] as AccessEvent).identity.actor;
    const windows = await store.getWindows(actor, 0, Math.floor(decisionTime / 900_000));
    expect(windows.reduce((sum, window) => sum + window.gets, 0)).toBe(BATCH);
  });
});
