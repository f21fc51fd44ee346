import { SET_HASH_RANGE } from '../domain/hash.ts';
import type { WindowStats } from '../domain/window-counter.ts';
import { itemBytes, valueBytes } from './item-size.ts';
import type { StoredWindow } from './store.ts';

/**
 * Consecutive windows of one actor kept in one stored item: four 15-minute windows, an hour. A
 * write is billed by the whole item, so a calm actor's hour costs one write instead of four; a
 * busy window shares its item with at most three others.
 */
export const WINDOWS_PER_ITEM = 4;

/** The first window of the item that holds `window` (the item's sort key). */
export const itemStartOf = (window: number): number => Math.floor(window / WINDOWS_PER_ITEM) * WINDOWS_PER_ITEM;

/** What a window keeps in its item: its counters, times and sets, the event ids counted, its revision. */
export type WindowField = Exclude<keyof StoredWindow, 'actor' | 'principal' | 'identityType' | 'window' | 'distinctObjects'>;

// Typed as a record over the stored fields so that a counter or set added to WindowStats fails to
// compile here instead of being silently dropped by the stores. The codes are short because an
// item is billed by its attribute names too.
const FIELD_CODES: Record<WindowField, string> = {
  events: 'e',
  gets: 'g',
  heads: 'h',
  lists: 'l',
  puts: 'p',
  deletes: 'd',
  versionDeletes: 'vd',
  deleteBatches: 'db',
  batchDeleteKeys: 'bk',
  versionLists: 'vl',
  bytesOut: 'bo',
  bytesIn: 'bi',
  errors: 'x',
  readObjects: 'ro',
  deletedObjects: 'do',
  buckets: 'b',
  networks: 'n',
  tools: 't',
  eventIds: 'id',
  firstEventTime: 'fe',
  lastEventTime: 'le',
  firstReadTime: 'fr',
  lastReadTime: 'lr',
  revision: 'r',
};

export const WINDOW_FIELDS = Object.keys(FIELD_CODES) as WindowField[];

/** The item attribute that holds `field` of the window at `offset` (0–3) in its item: `2ro`, the third window's objects read. */
export const windowAttribute = (offset: number, field: WindowField): string => `${offset}${FIELD_CODES[field]}`;

/**
 * The sets of hashes (objects read and deleted, event ids): stored as binary sets (BS) of
 * {@link packHash}ed members, 6 bytes a hash instead of its 9–10 characters.
 */
export const HASHED_SETS: ReadonlySet<WindowField> = new Set<WindowField>(['readObjects', 'deletedObjects', 'eventIds']);

/** Bytes of a set hash (`setHash`, 47 bits written in base 36): its top bit is clear. */
const PACKED_BYTES = 6;
/** The first byte of a member that is not such a hash, stored as its UTF-8 bytes after it. */
const RAW_MARK = 0xff;

/**
 * The number a set hash is written for (base 36 without leading zeros, below `SET_HASH_RANGE`);
 * undefined for any other member (a test's label). Read digit by digit: every member of a written
 * window is sized on each write of its item.
 */
function setHashNumber(value: string): number | undefined {
  if (value.length === 0 || value.length > 10 || (value.length > 1 && value[0] === '0')) return undefined;
  let number = 0;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    const digit = code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 122 ? code - 87 : -1;
    if (digit < 0) return undefined;
    number = number * 36 + digit;
  }
  return number < SET_HASH_RANGE ? number : undefined;
}

/** A hash set member as stored: a set hash in 6 bytes, anything else (a test's label) marked and kept whole. */
export function packHash(value: string): Uint8Array {
  let rest = setHashNumber(value);
  if (rest === undefined) return Uint8Array.of(RAW_MARK, ...Buffer.from(value, 'utf8'));
  const packed = new Uint8Array(PACKED_BYTES);
  for (let index = PACKED_BYTES - 1; index >= 0; index--) {
    packed[index] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return packed;
}

/** The member {@link packHash} stored. */
export function unpackHash(bytes: Uint8Array): string {
  if (bytes[0] === RAW_MARK) return Buffer.from(bytes.subarray(1)).toString('utf8');
  return bytes.reduce((value, byte) => value * 256 + byte, 0).toString(36);
}

const packedBytes = (value: string): number => (setHashNumber(value) === undefined ? 1 + Buffer.byteLength(value, 'utf8') : PACKED_BYTES);

/** A window's share of its item's size: its attributes' names and values, hash sets as packed. */
export function windowPartBytes(window: StoredWindow): number {
  let total = 0;
  for (const field of WINDOW_FIELDS) {
    const value = window[field] as number | ReadonlySet<string>;
    if (typeof value === 'number' ? value === 0 || !Number.isFinite(value) : value.size === 0) continue;
    total += Buffer.byteLength(windowAttribute(0, field), 'utf8');
    if (typeof value === 'number' || !HASHED_SETS.has(field)) total += valueBytes(value);
    else for (const member of value) total += packedBytes(member);
  }
  return total;
}

/** What an item holds besides its windows: its TTL (epoch seconds; ten significant digits, as real ones have). */
const EXPIRES_AT_SAMPLE = 1_799_999_999;

/** The size of an item's own attributes (`pk` the actor, `sk` its first window, principal, identity type, `expiresAt`). */
export function itemHeaderBytes(stats: Pick<WindowStats, 'actor' | 'principal' | 'identityType' | 'window'>): number {
  return itemBytes({ pk: stats.actor, sk: itemStartOf(stats.window), principal: stats.principal, identityType: stats.identityType, expiresAt: EXPIRES_AT_SAMPLE });
}

/** The size of the item that holds `windows` (one actor's, of one item): its own attributes and each window's. */
export function windowItemBytes(windows: readonly StoredWindow[]): number {
  const [first] = windows;
  if (first === undefined) return 0;
  return windows.reduce((total, window) => total + windowPartBytes(window), itemHeaderBytes(first));
}
