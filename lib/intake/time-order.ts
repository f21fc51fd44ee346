import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AccessEvent, Identity } from '../domain/access-event.ts';

/**
 * The order every path of the intake scores events in: event time, then eventID. The second key
 * makes the order total, so the same records give the same batches, and the same last identity
 * per actor, whatever order they were read in.
 */
export function compareEvents(a: AccessEvent, b: AccessEvent): number {
  return a.eventTime - b.eventTime || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

export interface TimeOrderOptions {
  /** Events held in memory before a sorted run is written to disk (default 40,000: with more, the 200 MB file of the bench peaked at 268–277 MB of RSS instead of 238–249). */
  maxInMemory?: number;
  /** Where runs are written (default: a new folder in the OS's temporary folder, removed after). */
  tmpDir?: string;
}

/**
 * Puts any number of events in event-time order in bounded memory, whatever order they arrive in
 * (newest first, shuffled, files whose names sort attacker-last): an external merge sort. Events
 * are held up to `maxInMemory`, then sorted and written to a temporary file as one run; `drain`
 * merges the runs (k-way, one event per run in memory) with what is still held. Input that fits
 * in memory never touches the disk. Identities are written once per run as an index: the same
 * caller is in thousands of events.
 */
export class TimeOrderSpool {
  private held: AccessEvent[] = [];
  private readonly runs: string[] = [];
  private dir: string | undefined;
  private readonly maxInMemory: number;

  constructor(private readonly options: TimeOrderOptions = {}) {
    this.maxInMemory = Math.max(1, options.maxInMemory ?? 40_000);
  }

  /** Events added so far that are held in memory. */
  get size(): number {
    return this.held.length;
  }

  /** Sorted runs written to disk so far. */
  get spilledRuns(): number {
    return this.runs.length;
  }

  /** True when the next `add` should be preceded by `spill()`. */
  get full(): boolean {
    return this.held.length >= this.maxInMemory;
  }

  add(event: AccessEvent): void {
    this.held.push(event);
  }

  /** Sorts the held events and writes them to disk as one run. */
  async spill(): Promise<void> {
    if (this.held.length === 0) return;
    const events = this.held.sort(compareEvents);
    this.held = [];
    this.dir ??= await mkdtemp(join(this.options.tmpDir ?? tmpdir(), 'keysentry-order-'));
    const path = join(this.dir, `run-${this.runs.length}.ndjson`);
    await writeRun(path, events);
    this.runs.push(path);
  }

  /**
   * Every event added, in `compareEvents` order, in slices of up to `sliceSize` events (one await
   * per slice, not per event); the temporary files are removed at the end.
   */
  async *drain(sliceSize = 4096): AsyncGenerator<AccessEvent[]> {
    const memory = this.held.sort(compareEvents);
    this.held = [];
    try {
      if (this.runs.length === 0) {
        for (let start = 0; start < memory.length; start += sliceSize) yield memory.slice(start, start + sliceSize);
        return;
      }
      const sources = [...this.runs.map((path) => new RunReader(path)), new RunReader(undefined, memory)];
      yield* mergeRuns(sources, sliceSize);
    } finally {
      if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
      this.dir = undefined;
      this.runs.length = 0;
    }
  }
}

/** One run: a line per new identity (`["i", identity]`), a line per event (`[identityIndex, rest]`). */
async function writeRun(path: string, events: readonly AccessEvent[]): Promise<void> {
  const out = createWriteStream(path);
  const indexes = new Map<Identity, number>();
  let chunk = '';
  for (const event of events) {
    const { identity, ...rest } = event;
    let index = indexes.get(identity);
    if (index === undefined) {
      index = indexes.size;
      indexes.set(identity, index);
      chunk += `${JSON.stringify(['i', identity])}\n`;
    }
    chunk += `${JSON.stringify([index, rest])}\n`;
    if (chunk.length >= 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/**
 * Reads one sorted run back a chunk of the file at a time: `head` and `shift` are synchronous, and
 * `fill` (awaited only when the buffered events run out) parses the next chunk's whole lines.
 */
class RunReader {
  private buffer: AccessEvent[];
  private position = 0;
  private readonly identities: Identity[] = [];
  private readonly chunks: AsyncIterator<Buffer> | undefined;
  private partial = '';
  private ended: boolean;

  constructor(path: string | undefined, events: AccessEvent[] = []) {
    this.buffer = events;
    this.chunks = path === undefined ? undefined : createReadStream(path, { highWaterMark: 1 << 20 })[Symbol.asyncIterator]();
    this.ended = path === undefined;
  }

  get head(): AccessEvent | undefined {
    return this.buffer[this.position];
  }

  shift(): void {
    this.position++;
  }

  get empty(): boolean {
    return this.position >= this.buffer.length;
  }

  /** Buffers the next events; false when the run is read to its end. */
  async fill(): Promise<boolean> {
    this.buffer = [];
    this.position = 0;
    while (this.buffer.length === 0 && !this.ended) {
      const next = this.chunks === undefined ? { done: true as const, value: undefined } : await this.chunks.next();
      const text = next.done ? this.partial : this.partial + next.value.toString('utf8');
      const lines = text.split('\n');
      this.partial = next.done ? '' : (lines.pop() ?? '');
      for (const line of lines) if (line !== '') this.parse(line);
      this.ended = next.done === true;
    }
    return this.buffer.length > 0;
  }

  private parse(line: string): void {
    const [index, value] = JSON.parse(line) as [number | 'i', unknown];
    if (index === 'i') this.identities.push(value as Identity);
    else this.buffer.push({ ...(value as Omit<AccessEvent, 'identity'>), identity: this.identities[index] as Identity });
  }
}

/** K-way merge of sorted runs: a min-heap of each run's next event. */
async function* mergeRuns(sources: RunReader[], sliceSize: number): AsyncGenerator<AccessEvent[]> {
  const heap: RunReader[] = [];
  for (const source of sources) if (!source.empty || (await source.fill())) heap.push(source);
  const less = (a: number, b: number): boolean =>
    compareEvents((heap[a] as RunReader).head as AccessEvent, (heap[b] as RunReader).head as AccessEvent) < 0;
  const siftDown = (start: number): void => {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      let smallest = i;
      if (left < heap.length && less(left, smallest)) smallest = left;
      if (left + 1 < heap.length && less(left + 1, smallest)) smallest = left + 1;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest] as RunReader, heap[i] as RunReader];
      i = smallest;
    }
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(i);
  let slice: AccessEvent[] = [];
  while (heap.length > 0) {
    const top = heap[0] as RunReader;
    slice.push(top.head as AccessEvent);
    top.shift();
    if (top.empty && !(await top.fill())) {
      const last = heap.pop() as RunReader;
      if (heap.length > 0) heap[0] = last;
    }
    siftDown(0);
    if (slice.length >= sliceSize) {
      yield slice;
      slice = [];
    }
  }
  if (slice.length > 0) yield slice;
}
