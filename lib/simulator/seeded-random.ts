const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const VERSION_ID = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._';
const HEX_BYTES = Array.from({ length: 256 }, (_, n) => n.toString(16).padStart(2, '0'));

/**
 * Hashes a string to 32 bits (FNV-1a). Used to derive independent random streams from one seed
 * and to draw per-record delivery delays from the record's eventID, so that adding an attack to a
 * scenario does not shift the random choices of the benign world.
 */
export function hashString(text: string, basis = 0x811c9dc5): number {
  let hash = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A small deterministic PRNG (mulberry32) with the draws the simulator needs. Everything the
 * simulator writes comes from one of these, never from `Math.random` or `crypto.randomUUID`, so a
 * seed reproduces the output byte for byte.
 */
export class SeededRandom {
  private state: number;
  private readonly bytes = Buffer.alloc(56);

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A stream for one part of the world, independent of how much the other parts draw. */
  static derive(seed: number, label: string): SeededRandom {
    return new SeededRandom(hashString(label, hashString(String(seed))));
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max], both inclusive. */
  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** Number of events of a Poisson process with the given mean. */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean < 30) {
      const limit = Math.exp(-mean);
      let count = 0;
      let product = this.next();
      while (product > limit) {
        count++;
        product *= this.next();
      }
      return count;
    }
    // Normal approximation: exact enough for request counts and far cheaper for big means.
    const gauss = Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * gauss));
  }

  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.hex8();
    return out.slice(0, length);
  }

  /** A version 4 UUID (eventID, management requestID). */
  uuid(): string {
    const a = this.hex8();
    const b = this.hex8();
    const c = this.hex8();
    const d = this.hex8();
    const variant = '89ab'[this.nextUint32() & 3] ?? '8';
    return `${a}-${b.slice(0, 4)}-4${b.slice(5)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
  }

  /** S3 request ids are 16 upper-case hex digits. */
  requestId(): string {
    return (this.hex8() + this.hex8()).toUpperCase();
  }

  /** The `x-amz-id-2` extended request id: 76 base64 characters ending in `=` (56 bytes). */
  extendedRequestId(): string {
    for (let offset = 0; offset < 56; offset += 4) this.bytes.writeUInt32LE(this.nextUint32(), offset);
    return this.bytes.toString('base64', 0, 56);
  }

  /** An access key id (`AKIA…`, `ASIA…`) or unique id (`AIDA…`, `AROA…`), base32 like AWS's. */
  awsId(prefix: string, length: number): string {
    return prefix + this.chars(BASE32, length);
  }

  alphanumeric(length: number): string {
    return this.chars(ALPHANUMERIC, length);
  }

  /** S3 version ids: 32 characters of letters, digits, `.` and `_`. */
  versionId(): string {
    return this.chars(VERSION_ID, 32);
  }

  private hex8(): string {
    const n = this.nextUint32();
    // No helper closure here: this runs a few times per record, millions of times a run.
    const high = (HEX_BYTES[n >>> 24] ?? '') + (HEX_BYTES[(n >>> 16) & 255] ?? '');
    return high + (HEX_BYTES[(n >>> 8) & 255] ?? '') + (HEX_BYTES[n & 255] ?? '');
  }

  /** Draws six bits per character, five characters per 32-bit draw, because ids are hot. */
  private chars(alphabet: string, length: number): string {
    let out = '';
    let bits = 0;
    let left = 0;
    for (let i = 0; i < length; i++) {
      if (left === 0) {
        bits = this.nextUint32();
        left = 5;
      }
      out += alphabet[(bits & 63) % alphabet.length];
      bits >>>= 6;
      left--;
    }
    return out;
  }
}
