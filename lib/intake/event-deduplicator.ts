/**
 * Remembers recently seen event ids in bounded memory: two generations of at most `capacity` ids
 * each, the older dropped when the newer fills, or, with `horizonMs`, when the newer spans that much
 * event time. CloudTrail redelivers a record with its first eventTime, so in event-time order its
 * copies meet within the same second; a month of ids is never held, and a replay holds the ids of
 * its last hours, not the last 400,000 (about 30 MB).
 */
export class EventDeduplicator {
  private current = new Set<string>();
  private previous = new Set<string>();
  private generationStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly capacity = 500_000,
    private readonly horizonMs = Number.POSITIVE_INFINITY,
  ) {}

  /** True the first time an id is seen (within memory), false for a repeat. */
  firstSeen(eventId: string, eventTime = Number.NEGATIVE_INFINITY): boolean {
    if (this.current.has(eventId) || this.previous.has(eventId)) return false;
    if (this.current.size >= this.capacity || eventTime - this.generationStart >= this.horizonMs) {
      this.previous = this.current;
      this.current = new Set();
      this.generationStart = eventTime;
    }
    this.current.add(eventId);
    return true;
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}
