import type { FileItem } from './log-file-reader.ts';
import type { EncodedOutcomes } from './outcome-codec.ts';

/** Batches a reader thread may post for a file before the scoring thread has taken them. */
export const CREDITS = 4;

/** A file a reader thread is asked to read; `id` is its place in the file order. */
export interface ReadRequest {
  id: number;
  path: string;
  explicit: boolean;
}

/** A batch of a file's records, normalised (encoded to cross threads), with their places. */
export interface OutcomeItem {
  kind: 'outcomes';
  outcomes: EncodedOutcomes;
  lines: number[];
  members: number[];
}

/** What a reader thread posts: a file's items in order, then `done` (or `failed`: a bug, not damaged input). */
export type WorkerMessage =
  | { type: 'item'; id: number; item: Exclude<FileItem, { kind: 'batch' }> | OutcomeItem }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; message: string };
