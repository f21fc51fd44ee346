/**
 * Remembers recently seen event ids in bounded memory: two generations of at most `capacity` ids
 * each, the older dropped when the newer fills. CloudTrail redelivers within minutes, so the last
 * `capacity` ids (at least) are what matters; a month of ids is never held.
 */
export class EventDeduplicator {
  private current = new Set<string>();
  private previous = new Set<string>();

  constructor(private readonly capacity = 500_000) {}

  /** True the first time an id is seen (within memory), false for a repeat. */
  firstSeen(eventId: string): boolean {
    if (this.current.has(eventId) || this.previous.has(eventId)) return false;
    if (this.current.size >= this.capacity) {
      this.previous = this.current;
      this.current = new Set();
    }
    this.current.add(eventId);
    return true;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}
