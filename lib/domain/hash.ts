/**
 * cyrb53: a fast, well-distributed 53-bit string hash. Used for the distinct-object sets (a
 * collision among 5,000 objects has odds near 1e-9) and for incident ids; not for security.
 */
export function hash53(input: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < input.length; i++) {
    const ch = input.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The range of {@link setHash}: 47 bits, which six bytes hold with their top bit clear. */
export const SET_HASH_RANGE = 2 ** 47;

/**
 * The hash of an event id or an object in a window's sets, in base 36: 47 bits of `hash53`, so
 * that a stored member takes six bytes. Two of a window's 20,000 event ids collide with odds
 * near 1e-6; two of a typical window's 50, near 1e-11.
 */
export function setHash(input: string, seed = 0): string {
  return wholeToBase36(hash53(input, seed) % SET_HASH_RANGE);
}

/** Five base-36 digits: a number below this is a small integer, which V8 writes out quickly. */
const LOW_PART = 36 ** 5;

/**
 * `value.toString(36)` for a whole number below 2^53, written as two small parts: V8 writes a
 * large number in base 36 by its general conversion of a double, three times slower, and every
 * record's event id and object are hashed.
 */
function wholeToBase36(value: number): string {
  const high = Math.floor(value / LOW_PART);
  const low = (value % LOW_PART).toString(36);
  return high === 0 ? low : high.toString(36) + low.padStart(5, '0');
}
