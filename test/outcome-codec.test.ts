import { describe, expect, it } from 'vitest';
import { CallerCache, normalizeRecord, type RecordOutcome } from '../lib/domain/cloudtrail-record.ts';
import { decodeOutcomes, encodeOutcomes, transferablesOf } from '../lib/intake/outcome-codec.ts';
import { cloneRecord, loadRepairedRecords, pickRecord, withoutField } from './events/load-events.ts';

/** A batch as a reader thread sends it: encoded, posted (cloned, arrays transferred), decoded. */
function acrossThreads(outcomes: RecordOutcome[]): RecordOutcome[] {
  const encoded = encodeOutcomes(outcomes);
  return decodeOutcomes(structuredClone(encoded, { transfer: transferablesOf(encoded) }));
}

const records = loadRepairedRecords();
const getObject = pickRecord(records, 'GetObject', (r) => r.eventName === 'GetObject');
const versionedDelete = (eventId: string) =>
  cloneRecord(getObject, (r) => {
    r.eventName = 'DeleteObject';
    r.eventID = eventId;
    r.errorCode = 'AccessDenied';
    r.sessionCredentialFromConsole = 'true';
    (r.requestParameters as Record<string, unknown>).versionId = 'v1';
    (r.requestParameters as Record<string, unknown>).key = 'reports/"q3"\\\n\u2028\ud800.csv';
  });

describe('a batch of outcomes between threads', () => {
  it('arrives as the normaliser made it: every event, field, key order and skipped or rejected record', () => {
    const cache = new CallerCache();
    const batch = [
      ...records,
      // A rejected record and a skipped one between the events keep their places.
      withoutField(getObject, 'eventID'),
      cloneRecord(getObject, (r) => (r.eventSource = 'ec2.amazonaws.com')),
      // A versioned delete, an error, a console session and a key with characters JSON escapes,
      // twice, with a record without them and a rejected one between: values repeat across gaps.
      versionedDelete('versioned-delete'),
      getObject,
      withoutField(getObject, 'eventTime'),
      versionedDelete('versioned-delete-again'),
    ].map((record) => normalizeRecord(record, { callerCache: cache }));
    expect(new Set(batch.map((outcome) => outcome.kind))).toEqual(new Set(['event', 'skipped', 'rejected']));

    const arrived = acrossThreads(batch);

    expect(arrived).toStrictEqual(batch);
    // The same keys in the same order: what is printed or stored from an event does not depend on the thread count.
    expect(arrived.map((outcome) => JSON.stringify(outcome))).toEqual(batch.map((outcome) => JSON.stringify(outcome)));
    expect(arrived.map((outcome) => (outcome.kind === 'event' ? Object.keys(outcome.event) : []))).toEqual(
      batch.map((outcome) => (outcome.kind === 'event' ? Object.keys(outcome.event) : [])),
    );
  });

  it("shares one caller among a batch's events, as the caller cache does in one thread", () => {
    const cache = new CallerCache();
    const batch = [getObject, cloneRecord(getObject, (r) => (r.eventID = 'second'))].map((record) => normalizeRecord(record, { callerCache: cache }));
    const [first, second] = acrossThreads(batch);
    if (first?.kind !== 'event' || second?.kind !== 'event') throw new Error('both records are events');
    expect(second.event.identity).toBe(first.event.identity);
    expect(second.event.eventId).toBe('second');
  });

  it('refuses an event already marked unverified: that mark is made after reading, never in a reader thread', () => {
    const outcome = normalizeRecord(getObject);
    if (outcome.kind !== 'event') throw new Error('the GetObject record is an event');
    outcome.event.unverified = true;
    expect(() => encodeOutcomes([outcome])).toThrow(/unverified/);
  });
});
