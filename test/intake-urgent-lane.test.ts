import { describe, expect, it } from 'vitest';
import type { AccessEvent } from '../lib/domain/access-event.ts';
import { EventStream, type IntakeBatch } from '../lib/intake/event-intake.ts';
import { IntakeReport } from '../lib/intake/intake-report.ts';
import { eventOf, NOW, SECOND } from './scoring-inputs.ts';

// Calls that destroy data for good in one request travel on the urgent lane (their own queue,
// without a batching window): replay and the log-file path cut them out of the open batch and
// decide them at the end of their own second, before any later event.

const BATCH_MS = 10_000;
const start = Math.floor(NOW / BATCH_MS) * BATCH_MS - 10 * BATCH_MS;
const at = (seconds: number, eventName: string, extra: { versionId?: string } = {}): AccessEvent => ({
  ...eventOf({ ago: NOW - (start + seconds * SECOND), eventName, key: `results/report-${seconds}-${eventName}.pdf`, ...extra }),
});

function batchesOf(events: AccessEvent[], urgentLane: boolean): IntakeBatch[] {
  const stream = new EventStream(new IntakeReport(), BATCH_MS, { urgentLane });
  return [...events.flatMap((event) => stream.push(event)), ...stream.close()];
}
const shape = (batches: IntakeBatch[]) => batches.map((batch) => ({ at: (batch.decisionTime - start) / SECOND, events: batch.events.map((e) => e.eventName) }));

describe('the urgent lane', () => {
  const events = [at(1, 'ListObjectVersions'), at(2, 'GetObject'), at(3, 'DeleteObjects'), at(3, 'DeleteObject', { versionId: 'v1' }), at(4, 'GetObject'), at(12, 'GetObject')];

  it('decides a multi-object delete and a version delete at the end of their second, before the later events of their batch', () => {
    expect(shape(batchesOf(events, true))).toEqual([
      { at: 4, events: ['DeleteObjects', 'DeleteObject'] },
      { at: 10, events: ['ListObjectVersions', 'GetObject', 'GetObject'] },
      { at: 20, events: ['GetObject'] },
    ]);
  });

  it('leaves a plain delete (a delete marker, or an unversioned object) in its batch', () => {
    const plain = [at(1, 'GetObject'), at(3, 'DeleteObject'), at(4, 'GetObject')];
    expect(shape(batchesOf(plain, true))).toEqual([{ at: 10, events: ['GetObject', 'DeleteObject', 'GetObject'] }]);
  });

  it('keeps one batch per window without the lane (the SQS path, whose queues are the lanes)', () => {
    expect(shape(batchesOf(events, false))).toEqual([
      { at: 10, events: ['ListObjectVersions', 'GetObject', 'DeleteObjects', 'DeleteObject', 'GetObject'] },
      { at: 20, events: ['GetObject'] },
    ]);
  });
});
