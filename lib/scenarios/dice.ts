/**
 * The scenario family's own deterministic random source (xoshiro128**, seeded through splitmix32),
 * independent of the simulator's: a seed reproduces a scenario byte for byte, and a named child
 * stream (`fork`) keeps one actor's draws from shifting another's when a scenario changes.
 */
export class Dice {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** A child stream named by `label`: the same seed and label give the same stream. */
  fork(label: string): Dice {
    let h = this.a ^ 0x2545f491;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    return new Dice(h >>> 0);
  }

  /** A float in [0, 1). */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result / 4_294_967_296;
  }

  /** An integer in [low, high], both included. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** An exponentially distributed wait with the given mean (a Poisson process's gaps). */
  wait(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Characters drawn from `alphabet`. */
  text(length: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'): string {
    // Five characters from each 32-bit draw (6 bits each): ids are long and records many.
    let out = '';
    let bits = 0;
    let pool = 0;
    for (let i = 0; i < length; i++) {
      if (bits < 6) {
        pool = Math.floor(this.next() * 4_294_967_296);
        bits = 30;
      }
      out += alphabet[(pool & 63) % alphabet.length];
      pool >>>= 6;
      bits -= 6;
    }
    return out;
  }

  hex(length: number): string {
    return this.text(length, '0123456789abcdef');
  }

  uuid(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${this.pick(['8', '9', 'a', 'b'])}${this.hex(3)}-${this.hex(12)}`;
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
