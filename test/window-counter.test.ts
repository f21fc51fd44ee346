import { describe, expect, it } from 'vitest';
import type { AccessEvent } from '../lib/domain/access-event.ts';
import { normalizeRecord } from '../lib/domain/cloudtrail-record.ts';
import { EventDeduplicator } from '../lib/intake/event-deduplicator.ts';
import { aggregateBatch, countDistinctMembers, countEvent, createWindowStats, mergeWindowStats, type WindowStats } from '../lib/domain/window-counter.ts';
import {
  cloneRecord,
  loadRecords,
  loadRepairedRecords,
  pickRecord,
  type CloudTrailRecord,
} from './events/load-events.ts';

const MINUTE = 60_000;
const repaired = loadRepairedRecords();
const getObject = pickRecord(repaired, 'GetObject', (r) => r.eventName === 'GetObject');
const bucket = getObject.requestParameters?.bucketName as string;

let serial = 0;
/** The real GetObject record changed by `change`, with a fresh eventID, normalised. */
function eventFrom(change: (record: CloudTrailRecord) => void = () => {}): AccessEvent {
  const record = cloneRecord(getObject, (r) => {
    r.eventID = `00000000-0000-4000-8000-${(serial++).toString(16).padStart(12, '0')}`;
    change(r);
  });
  const outcome = normalizeRecord(record);
  if (outcome.kind !== 'event') throw new Error(`expected an event, got ${outcome.kind} ${outcome.reason}`);
  return outcome.event;
}

const deleteOf = (key: string, requestID: string): AccessEvent =>
  eventFrom((r) => {
    r.eventName = 'DeleteObject';
    r.requestID = requestID;
    r.requestParameters = { ...r.requestParameters, key };
  });

const deleteObjects = (requestID: string): AccessEvent =>
  eventFrom((r) => {
    r.eventName = 'DeleteObjects';
    r.requestID = requestID;
    r.requestParameters = { bucketName: r.requestParameters?.bucketName, Host: r.requestParameters?.Host, delete: '' };
  });

const getOf = (bucketName: string, key: string): AccessEvent =>
  eventFrom((r) => {
    r.requestParameters = { ...r.requestParameters, bucketName, key };
  });

function onlyDelta(events: readonly AccessEvent[]): WindowStats {
  const deltas = [...aggregateBatch(events, MINUTE).values()];
  expect(deltas).toHaveLength(1);
  return deltas[0] as WindowStats;
}

describe('window counts of deletes', () => {
  it('counts each object of a multi-object delete once: N per-object records and one batch', () => {
    const requestID = 'B7F1A6C2D3E4F5A6';
    const keys = Array.from({ length: 25 }, (_, i) => `customers/${i}/statement.pdf`);

    const stats = onlyDelta([deleteObjects(requestID), ...keys.map((key) => deleteOf(key, requestID))]);

    expect(stats.deletes).toBe(keys.length);
    expect(stats.deleteBatches).toBe(1);
    expect(stats.deletedObjects.size).toBe(keys.length);
    expect(stats.events).toBe(keys.length + 1);
  });

  it('counts a DeleteObjects record alone as one batch and no deleted objects', () => {
    const stats = onlyDelta([deleteObjects('C0FFEE0123456789')]);

    expect(stats.deletes).toBe(0);
    expect(stats.deleteBatches).toBe(1);
    expect(stats.deletedObjects.size).toBe(0);
  });

  it('counts version deletes apart from deletes', () => {
    const versionDelete = eventFrom((r) => {
      r.eventName = 'DeleteObject';
      r.requestParameters = { ...r.requestParameters, versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' };
    });
    const plainDelete = deleteOf('ring.txt', 'D1E2F3A4B5C6D7E8');

    const stats = onlyDelta([versionDelete, plainDelete]);

    expect(versionDelete.operation).toBe('delete-version');
    expect(stats.versionDeletes).toBe(1);
    expect(stats.deletes).toBe(1);
    expect(stats.deleteBatches).toBe(0);
  });
});

describe('window counts of reads', () => {
  it('counts a failed GetObject as an error, not a read', () => {
    const denied = eventFrom((r) => {
      r.errorCode = 'AccessDenied';
      r.errorMessage = 'Access Denied';
    });

    const stats = onlyDelta([denied]);

    expect(stats.errors).toBe(1);
    expect(stats.gets).toBe(0);
    expect(stats.bytesOut).toBe(0);
    expect(stats.readObjects.size).toBe(0);
    expect(stats.events).toBe(1);
  });

  it('counts distinct objects once per (bucket, key)', () => {
    const other = `${bucket}-replica`;
    const events = [
      getOf(bucket, 'ring.txt'),
      getOf(bucket, 'ring.txt'),
      getOf(bucket, 'ring.txt'),
      getOf(bucket, 'vault/keys.txt'),
      getOf(other, 'ring.txt'),
    ];

    const stats = onlyDelta(events);

    expect(stats.gets).toBe(5);
    expect(stats.readObjects.size).toBe(3);
    expect(stats.buckets).toEqual(new Set([bucket, other]));
  });

  it('counts the recorded exfiltration: its lists, its gets and the bytes the gets sent out', () => {
    const events = repaired.flatMap((record) => {
      const outcome = normalizeRecord(record);
      return outcome.kind === 'event' ? [outcome.event] : [];
    });
    const gets = repaired.filter((r) => r.eventName === 'GetObject');
    const getBytes = gets.reduce((sum, r) => sum + Number(r.additionalEventData?.bytesTransferredOut), 0);
    const stats = createWindowStats('ASIA5FLZVX4OPVKKVBMX', 'role', 'assumed-role', 0);

    for (const event of events) countEvent(stats, event);

    expect(stats.lists).toBe(repaired.filter((r) => r.eventName === 'ListObjects').length);
    expect(stats.gets).toBe(gets.length);
    expect(stats.bytesOut).toBe(getBytes);
    expect(stats.readObjects.size).toBe(1);
    expect(stats.networks).toEqual(new Set(['1.2.3.0/24']));
    expect(stats.tools).toEqual(new Set(['aws-cli']));
    expect(stats.firstEventTime).toBe(Math.min(...events.map((e) => e.eventTime)));
    expect(stats.lastEventTime).toBe(Math.max(...events.map((e) => e.eventTime)));
  });
});

describe('distinct objects over several windows', () => {
  const window = (objects: number[]): WindowStats => {
    const stats = createWindowStats('actor', 'principal', 'assumed-role', 1);
    for (const object of objects) stats.readObjects.add(`object-${object}`);
    return stats;
  };
  const merged = (windows: WindowStats[]): number => windows.reduce((span, stats) => mergeWindowStats(span, stats), window([])).readObjects.size;

  it('counts an object read in two windows once, as merging the windows does', () => {
    const windows = [window([1, 2, 3]), window([3, 4]), window([]), window([4, 5, 1])];
    expect(countDistinctMembers(windows.map((w) => w.readObjects), 5_000)).toBe(5);
    expect(merged(windows)).toBe(5);
  });

  it('stops at the cap a merged set stops at, whichever window is largest', () => {
    const windows = [window([1, 2]), window([3, 4, 5, 6]), window([7, 1])];
    expect(countDistinctMembers(windows.map((w) => w.readObjects), 6)).toBe(6);
    expect(countDistinctMembers(windows.map((w) => w.readObjects), 100)).toBe(7);
    expect(countDistinctMembers([], 100)).toBe(0);
  });
});

describe('aggregateBatch', () => {
  it('writes one delta per (actor, window) across many events', () => {
    const start = Date.parse(getObject.eventTime as string);
    const actors = ['ASIA5FLZVX4OPVKKVBMX', 'AKIA5FLZVX4OI4ZDQJOL'];
    const events: AccessEvent[] = [];
    for (let i = 0; i < 600; i++) {
      const actor = actors[i % 2] as string;
      const time = new Date(start + i * 500).toISOString().replace(/\.\d{3}Z$/, 'Z');
      events.push(
        eventFrom((r) => {
          r.eventTime = time;
          r.userIdentity = { ...r.userIdentity, accessKeyId: actor };
        }),
      );
    }
    const expected = new Set(events.map((e) => `${e.identity.actor}/${Math.floor(e.eventTime / MINUTE)}`));

    const deltas = aggregateBatch(events, MINUTE);

    expect(deltas.size).toBe(expected.size);
    expect(expected.size).toBeGreaterThan(actors.length);
    const seen = new Set([...deltas.values()].map((d) => `${d.actor}/${d.window}`));
    expect(seen).toEqual(expected);
    for (const delta of deltas.values()) {
      const mine = events.filter(
        (e) => e.identity.actor === delta.actor && Math.floor(e.eventTime / MINUTE) === delta.window,
      );
      expect(delta.events).toBe(mine.length);
      expect(delta.gets).toBe(mine.length);
      expect(delta.principal).toBe(getObject.userIdentity?.sessionContext?.sessionIssuer?.arn);
    }
    expect([...deltas.values()].reduce((sum, d) => sum + d.events, 0)).toBe(events.length);
  });
});

describe('EventDeduplicator', () => {
  const eventIds = loadRecords().map((r) => r.eventID as string);

  it('drops a repeated eventID and lets every first one through', () => {
    const dedup = new EventDeduplicator();

    const first = eventIds.map((id) => dedup.firstSeen(id));
    const again = eventIds.map((id) => dedup.firstSeen(id));

    expect(new Set(eventIds).size).toBe(eventIds.length);
    expect(first.every(Boolean)).toBe(true);
    expect(again.some(Boolean)).toBe(false);
  });

  it('stays within two generations of its capacity', () => {
    const capacity = 10;
    const dedup = new EventDeduplicator(capacity);
    let largest = 0;

    for (let i = 0; i < 1_000; i++) {
      dedup.firstSeen(`event-${i}`);
      largest = Math.max(largest, dedup.size);
    }

    expect(largest).toBeLessThanOrEqual(2 * capacity);
    expect(largest).toBeGreaterThan(capacity);
  });

  it('remembers at least the last capacity ids and forgets old ones', () => {
    const capacity = 10;
    const dedup = new EventDeduplicator(capacity);
    for (let i = 0; i < 1_000; i++) dedup.firstSeen(`event-${i}`);

    const recent = Array.from({ length: capacity }, (_, i) => dedup.firstSeen(`event-${999 - i}`));

    expect(recent.some(Boolean)).toBe(false);
    expect(dedup.firstSeen('event-0')).toBe(true);
  });

  it('with a horizon, remembers at least that much event time and holds no more', () => {
    const minute = 60_000;
    const dedup = new EventDeduplicator(1_000_000, 60 * minute);
    let largest = 0;
    // A day of one event a second: 86,400 ids, of which the last two hours at most are held.
    for (let s = 0; s < 86_400; s++) {
      dedup.firstSeen(`event-${s}`, s * 1000);
      largest = Math.max(largest, dedup.size);
    }
    expect(largest).toBeLessThanOrEqual(2 * 3_600 + 1);
    const lastHour = Array.from({ length: 3_600 }, (_, i) => dedup.firstSeen(`event-${86_399 - i}`, 86_399_000));
    expect(lastHour.some(Boolean)).toBe(false);
    expect(dedup.firstSeen('event-0', 86_399_000)).toBe(true);
  });
});
