import type { ReadProblems } from './log-reader.ts';

const EXAMPLES_PER_REASON = 3;

/**
 * Counts what the intake read, skipped and rejected, by reason, with the first places each
 * problem happened: the end-of-run report that makes sure no record disappears silently.
 */
export class IntakeReport implements ReadProblems {
  records = 0;
  events = 0;
  duplicates = 0;
  readonly skipped: Record<string, number> = {};
  readonly rejected: Record<string, number> = {};
  readonly examples: Record<string, string[]> = {};

  count(reason: string, source: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    const examples = (this.examples[reason] ??= []);
    if (examples.length < EXAMPLES_PER_REASON && !examples.includes(source)) examples.push(source);
  }

  skip(reason: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
  }

  get rejectedTotal(): number {
    return Object.values(this.rejected).reduce((a, b) => a + b, 0);
  }

  toJSON() {
    return {
      records: this.records,
      events: this.events,
      duplicates: this.duplicates,
      skipped: this.skipped,
      rejected: this.rejected,
      rejectedExamples: this.examples,
    };
  }
}
