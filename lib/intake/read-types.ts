import type { RecordOutcome } from '../domain/cloudtrail-record.ts';

/** What the reader could not use, by reason and place, and what it passed over, by reason. */
export interface ReadProblems {
  count(reason: string, source: string): void;
  skip(reason: string): void;
}

/** A file to read; `explicit` when it was named on the command line, so it is read whatever its content. */
export interface LogFile {
  path: string;
  bytes: number;
  explicit?: boolean;
}

/** Records of one file, in file order; `locate(i)` is the place of the i-th (`file:line #index`). */
export interface LogBatch {
  source: string;
  records: unknown[];
  locate(index: number): string;
}

/** {@link LogBatch} with each record already validated and normalised. */
export interface OutcomeBatch {
  source: string;
  outcomes: RecordOutcome[];
  locate(index: number): string;
}
