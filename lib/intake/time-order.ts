import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
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
  /** Events held in memory before a sorted run is written to disk (default 100,000). */
  maxInMemory?: number;
  /** Where runs are written (default: a new folder in the OS's temporary folder, removed after). */
  tmpDir?: string;
}

/** A spilled run being read back: its next event, and the rest. */
interface RunReader {
  head: AccessEvent;
  rest: AsyncIterator<AccessEvent>;
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
    this.maxInMemory = Math.max(1, options.maxInMemory ?? 100_000);
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

  /** Every event added, in `compareEvents` order; the temporary files are removed at the end. */
  async *drain(): AsyncGenerator<AccessEvent> {
    const memory = this.held.sort(compareEvents);
    this.held = [];
    try {
      if (this.runs.length === 0) {
        yield* memory;
        return;
      }
      yield* mergeRuns([...this.runs.map((path) => readRun(path)), listIterator(memory)]);
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

async function* readRun(path: string): AsyncGenerator<AccessEvent> {
  const identities: Identity[] = [];
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    const [index, value] = JSON.parse(line) as [number | 'i', unknown];
    if (index === 'i') identities.push(value as Identity);
    else yield { ...(value as Omit<AccessEvent, 'identity'>), identity: identities[index] as Identity };
  }
}

async function* listIterator<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** K-way merge of sorted runs: a min-heap of each run's next event. */
async function* mergeRuns(sources: Array<AsyncIterator<AccessEvent>>): AsyncGenerator<AccessEvent> {
  const heap: RunReader[] = [];
  for (const rest of sources) {
    const first = await rest.next();
    if (!first.done) heap.push({ head: first.value, rest });
  }
  const less = (a: number, b: number): boolean => compareEvents((heap[a] as RunReader).head, (heap[b] as RunReader).head) < 0;
  const swap = (a: number, b: number): void => {
    [heap[a], heap[b]] = [heap[b] as RunReader, heap[a] as RunReader];
  };
  const siftDown = (start: number): void => {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      let smallest = i;
      if (left < heap.length && less(left, smallest)) smallest = left;
      if (left + 1 < heap.length && less(left + 1, smallest)) smallest = left + 1;
      if (smallest === i) return;
      swap(i, smallest);
      i = smallest;
    }
  };
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(i);
  while (heap.length > 0) {
    const top = heap[0] as RunReader;
    yield top.head;
    const next = await top.rest.next();
    if (next.done) {
      const last = heap.pop() as RunReader;
      if (heap.length > 0) heap[0] = last;
    } else {
      top.head = next.value;
    }
    siftDown(0);
  }
}
