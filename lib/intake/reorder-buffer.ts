/**
 * Puts items back in time order with a bounded delay: an item is released once the newest time
 * seen is `delayMs` past it. Log files hold records minutes out of order; an item later than the
 * delay is released at once and reported as late by the caller. A binary min-heap by time.
 */
export class ReorderBuffer<T> {
  private readonly heap: Array<{ time: number; seq: number; item: T }> = [];
  private newest = Number.NEGATIVE_INFINITY;
  private seq = 0;

  constructor(private readonly delayMs: number) {}

  get size(): number {
    return this.heap.length;
  }

  /** The time before which everything has been released. */
  get watermark(): number {
    return this.newest - this.delayMs;
  }

  push(time: number, item: T): void {
    if (time > this.newest) this.newest = time;
    const heap = this.heap;
    heap.push({ time, seq: this.seq++, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Releases, oldest first, every item at or before the watermark (or all with `flush`). */
  *release(flush = false): Generator<T> {
    const limit = flush ? Number.POSITIVE_INFINITY : this.watermark;
    while (this.heap.length > 0 && (this.heap[0] as { time: number }).time <= limit) {
      yield this.pop();
    }
  }

  private pop(): T {
    const heap = this.heap;
    const top = heap[0] as { item: T };
    const last = heap.pop() as { time: number; seq: number; item: T };
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.less(left, smallest)) smallest = left;
        if (right < heap.length && this.less(right, smallest)) smallest = right;
        if (smallest === i) break;
        this.swap(i, smallest);
        i = smallest;
      }
    }
    return top.item;
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a] as { time: number; seq: number };
    const y = this.heap[b] as { time: number; seq: number };
    return x.time < y.time || (x.time === y.time && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const tmp = this.heap[a] as { time: number; seq: number; item: T };
    this.heap[a] = this.heap[b] as { time: number; seq: number; item: T };
    this.heap[b] = tmp;
  }
}
