// How a reader thread hands a batch of normalised records to the scoring thread. Posting the
// events as objects makes the scoring thread rebuild every string and object of every event
// (structured clone), and that was a sixth of its time. Here a batch travels as one table of its
// strings, each repeated value once (as JSON text), one array of string numbers and one of numbers (both
// transferred without a copy) and the batch's distinct callers. The user agent, address, bucket,
// event name and region that a thousand records repeat cross once, and the scoring thread
// rebuilds each event as one object literal.
import type { RecordOutcome } from '../domain/cloudtrail-record.ts';
import type { AccessEvent, Identity, Operation } from '../domain/access-event.ts';

/** The string fields of an event, in the order of its slots. */
const STRING_FIELDS = [
  'eventId',
  'idHash',
  'eventName',
  'operation',
  'bucket',
  'objectKey',
  'objectHash',
  'versionId',
  'errorCode',
  'sourceIp',
  'userAgent',
  'toolFamily',
  'requestId',
  'recipientAccountId',
  'region',
] as const satisfies ReadonlyArray<keyof AccessEvent>;
const NUMBER_FIELDS = ['eventTime', 'bytesOut', 'bytesIn'] as const satisfies ReadonlyArray<keyof AccessEvent>;

/**
 * An event's strings in the order of {@link STRING_FIELDS}, each read by its name: reading them
 * through the list's names makes every read a look-up by a name not known in advance.
 */
const stringsOf = (event: AccessEvent): Array<string | undefined> => [
  event.eventId,
  event.idHash,
  event.eventName,
  event.operation,
  event.bucket,
  event.objectKey,
  event.objectHash,
  event.versionId,
  event.errorCode,
  event.sourceIp,
  event.userAgent,
  event.toolFamily,
  event.requestId,
  event.recipientAccountId,
  event.region,
];

// Every field of an event travels: a field added to AccessEvent and not here fails to compile.
type Carried = (typeof STRING_FIELDS)[number] | (typeof NUMBER_FIELDS)[number] | 'identity' | 'unverified';
const everyFieldCarried: [Exclude<keyof AccessEvent, Carried>] extends [never] ? true : never = true;
void everyFieldCarried;

/**
 * The fields that nearly every record has a value of its own for: they are appended as they come,
 * without looking for an equal string already in the table.
 */
const OWN_FIELDS: ReadonlySet<string> = new Set<(typeof STRING_FIELDS)[number]>(['eventId', 'idHash', 'objectKey', 'objectHash', 'versionId', 'requestId']);
const SHARED_SLOT = STRING_FIELDS.map((field) => !OWN_FIELDS.has(field));
/** Each string field's slot. */
const SLOT = Object.fromEntries(STRING_FIELDS.map((field, slot) => [field, slot])) as Record<(typeof STRING_FIELDS)[number], number>;
/** Slots per event: its strings, then its caller. */
const SLOTS = STRING_FIELDS.length + 1;
const IDENTITY_SLOT = STRING_FIELDS.length;
/** A field that is absent (undefined). */
const NONE = -1;

/** A batch of outcomes as it crosses between threads. */
export interface EncodedOutcomes {
  count: number;
  /**
   * The batch's strings, a repeated value once, as JSON text: one string crosses at the cost of a copy, and parsing it
   * costs the scoring thread a third of what rebuilding the strings one by one does.
   */
  strings: string;
  /** `SLOTS` per event, in order: string numbers (or `NONE`), then the caller's number. */
  slots: Int32Array;
  /** {@link NUMBER_FIELDS} per event: `eventTime`, `bytesOut`, `bytesIn`. */
  numbers: Float64Array;
  identities: Identity[];
  /** The outcomes that are not events (skipped, rejected), by their place in the batch. */
  others: Array<[number, Exclude<RecordOutcome, { kind: 'event' }>]>;
}

/** The typed arrays of a batch, to post as transferred rather than copied. */
export function transferablesOf(encoded: EncodedOutcomes): ArrayBuffer[] {
  return [encoded.slots.buffer as ArrayBuffer, encoded.numbers.buffer as ArrayBuffer];
}

export function encodeOutcomes(outcomes: readonly RecordOutcome[]): EncodedOutcomes {
  const strings: string[] = [];
  const stringNumbers = new Map<string, number>();
  const identities: Identity[] = [];
  const identityNumbers = new Map<Identity, number>();
  const slots = new Int32Array(outcomes.length * SLOTS);
  const numbers = new Float64Array(outcomes.length * NUMBER_FIELDS.length);
  const others: EncodedOutcomes['others'] = [];
  /** The last value numbered in each slot, and its number. */
  const previous: Array<string | undefined> = [];
  const previousNumber: number[] = [];
  const numberOf = (value: string): number => {
    let number = stringNumbers.get(value);
    if (number === undefined) {
      number = strings.push(value) - 1;
      stringNumbers.set(value, number);
    }
    return number;
  };
  for (let index = 0; index < outcomes.length; index++) {
    const outcome = outcomes[index] as RecordOutcome;
    if (outcome.kind !== 'event') {
      others.push([index, outcome]);
      continue;
    }
    const event = outcome.event;
    if (event.unverified !== undefined) throw new Error('an event is marked unverified after it is read, never in a reader thread');
    const base = index * SLOTS;
    const values = stringsOf(event);
    for (let slot = 0; slot < values.length; slot++) {
      const value = values[slot];
      if (value === undefined) slots[base + slot] = NONE;
      else if (!SHARED_SLOT[slot]) slots[base + slot] = strings.push(value) - 1;
      // The record before had the same caller, bucket and tool, mostly: equal strings compare
      // faster than a long user agent hashes.
      else if (value === previous[slot]) slots[base + slot] = previousNumber[slot] as number;
      else {
        previous[slot] = value;
        slots[base + slot] = previousNumber[slot] = numberOf(value);
      }
    }
    let identity = identityNumbers.get(event.identity);
    if (identity === undefined) {
      identity = identities.push(event.identity) - 1;
      identityNumbers.set(event.identity, identity);
    }
    slots[base + IDENTITY_SLOT] = identity;
    const at = index * NUMBER_FIELDS.length;
    numbers[at] = event.eventTime;
    numbers[at + 1] = event.bytesOut;
    numbers[at + 2] = event.bytesIn;
  }
  return { count: outcomes.length, strings: JSON.stringify(strings), slots, numbers, identities, others };
}

export function decodeOutcomes(encoded: EncodedOutcomes): RecordOutcome[] {
  const { slots, numbers, identities } = encoded;
  const strings = JSON.parse(encoded.strings) as string[];
  const text = (at: number): string | undefined => {
    const number = slots[at] as number;
    return number === NONE ? undefined : strings[number];
  };
  const outcomes: RecordOutcome[] = new Array(encoded.count);
  let other = 0;
  for (let index = 0; index < encoded.count; index++) {
    const next = encoded.others[other];
    if (next !== undefined && next[0] === index) {
      outcomes[index] = next[1];
      other++;
      continue;
    }
    const s = index * SLOTS;
    const n = index * NUMBER_FIELDS.length;
    // The same keys in the same order as normalizeRecord builds them: one shape for every event.
    const event: AccessEvent = {
      eventId: text(s + SLOT.eventId) as string,
      idHash: text(s + SLOT.idHash) as string,
      eventTime: numbers[n] as number,
      eventName: text(s + SLOT.eventName) as string,
      operation: text(s + SLOT.operation) as Operation,
      identity: identities[slots[s + IDENTITY_SLOT] as number] as Identity,
      bucket: text(s + SLOT.bucket),
      objectKey: text(s + SLOT.objectKey),
      objectHash: text(s + SLOT.objectHash),
      versionId: text(s + SLOT.versionId),
      bytesOut: numbers[n + 1] as number,
      bytesIn: numbers[n + 2] as number,
      errorCode: text(s + SLOT.errorCode),
      sourceIp: text(s + SLOT.sourceIp) as string,
      userAgent: text(s + SLOT.userAgent) as string,
      toolFamily: text(s + SLOT.toolFamily) as string,
      requestId: text(s + SLOT.requestId),
      recipientAccountId: text(s + SLOT.recipientAccountId),
      region: text(s + SLOT.region),
    };
    outcomes[index] = { kind: 'event', event };
  }
  return outcomes;
}
