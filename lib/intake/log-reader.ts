import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { normalizeRecord, CallerCache, type NormalizeOptions, type RecordOutcome } from '../domain/cloudtrail-record.ts';
import { InputError } from '../domain/errors.ts';
import {
  closeLogSource,
  locateRecord,
  openLogSource,
  readLogSource,
  type FileItem,
  type LogReadOptions,
  type LogSource,
  type OpeningSource,
} from './log-file-reader.ts';
import { readOutcomesInWorkers } from './log-reader-pool.ts';
import { deliveryTimeOf } from './delivery-order.ts';
import type { LogBatch, LogFile, OutcomeBatch, ReadProblems } from './read-types.ts';

export { locateRecord, type LogReadOptions } from './log-file-reader.ts';
export type { LogBatch, LogFile, OutcomeBatch, ReadProblems } from './read-types.ts';

export interface ReadOutcomesOptions {
  /**
   * Threads that read, gunzip, parse and normalise files while the caller scores (default 0: all in
   * the caller's thread). Batches come back in file order whatever the count, so the same input
   * gives the same outcomes in the same order.
   */
  workers?: number;
  normalize?: NormalizeOptions;
  read?: LogReadOptions;
  /** Called as each file's turn comes, in order. */
  onFile?: (path: string) => void;
}

/**
 * Lists the files under the given files and folders (walked recursively, symbolic links followed
 * once), in delivery order: CloudTrail file names carry their delivery time, other names sort by
 * path. Which files hold records is decided by their content when they are read, not by their
 * name; only digest folders (`CloudTrail-Digest/`, signatures, not events) are left out of a walk.
 * A path named explicitly that does not exist throws; a folder that cannot be read or a symbolic
 * link that loops inside the walk is counted with its path (`unreadable-folder`, `symlink-loop`,
 * `unreadable-file`) and the walk goes on.
 */
export async function listLogFiles(paths: readonly string[], problems?: ReadProblems): Promise<LogFile[]> {
  const found: LogFile[] = [];
  const visited = new Set<string>();
  const report = (reason: string, path: string, error: unknown): void => {
    if (problems === undefined) throw new InputError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    problems.count(reason, path);
  };
  const walk = async (path: string, explicit: boolean): Promise<void> => {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if (explicit) throw new InputError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
      return report((error as NodeJS.ErrnoException).code === 'ELOOP' ? 'symlink-loop' : 'unreadable-file', path, error);
    }
    if (!info.isDirectory()) {
      if (info.isFile()) found.push(explicit ? { path, bytes: info.size, explicit } : { path, bytes: info.size });
      return;
    }
    if (!explicit && basename(path) === 'CloudTrail-Digest') return;
    const real = await realpath(path).catch(() => path);
    if (visited.has(real)) return report('symlink-loop', path, new Error('folder already walked (symbolic link loop)'));
    visited.add(real);
    let entries: string[];
    try {
      entries = await readdir(path);
    } catch (error) {
      return report('unreadable-folder', path, error);
    }
    for (const entry of entries.sort()) await walk(join(path, entry), false);
  };
  for (const path of paths) await walk(path, true);
  // Files without a stamp first, then by delivery time; the path breaks ties.
  return found
    .map((file) => ({ file, delivered: deliveryTimeOf(file.path) ?? Number.NEGATIVE_INFINITY }))
    .sort((a, b) => a.delivered - b.delivered || (a.file.path < b.file.path ? -1 : a.file.path > b.file.path ? 1 : 0))
    .map(({ file }) => file);
}

/** Hands one of a file's problems or skips to `problems`. */
export function applyItem(item: FileItem, problems: ReadProblems): void {
  if (item.kind === 'count') problems.count(item.reason, item.location);
  else if (item.kind === 'skip') problems.skip(item.reason);
}

const locator =
  (source: string, lines: readonly number[], members: readonly number[]) =>
  (index: number): string =>
    locateRecord(source, lines[index] ?? -1, members[index] ?? -1);

async function* batchesOf(input: LogSource | OpeningSource, source: string, explicit: boolean, problems: ReadProblems, options?: LogReadOptions): AsyncGenerator<LogBatch> {
  for await (const item of readLogSource(input, source, explicit, options)) {
    if (item.kind === 'batch') yield { source, records: item.records, locate: locator(source, item.lines, item.members) };
    else applyItem(item, problems);
  }
}

/**
 * Streams the given log files one at a time, a batch of records at a time, so neither a month of
 * logs nor one huge file is ever held in memory. Every shape of CloudTrail input is read (see
 * {@link readLogSource}); unreadable, truncated or non-JSON input is counted under its reason
 * and place, and whatever part of a damaged file can be read is still returned.
 */
export async function* readLogFiles(
  files: readonly LogFile[] | ReadonlyArray<{ path: string; explicit?: boolean }>,
  problems: ReadProblems,
  onFile?: (path: string) => void,
  options?: LogReadOptions,
): AsyncGenerator<LogBatch> {
  for (const { file, source } of openedAhead(files, options)) {
    onFile?.(file.path);
    yield* batchesOf(source, file.path, file.explicit ?? false, problems, options);
  }
}

/** The files in order, each opened while the one before it is read. */
function* openedAhead<F extends { path: string }>(files: readonly F[], options?: LogReadOptions): Generator<{ file: F; source: OpeningSource }> {
  let next = files.length > 0 ? openLogSource({ path: (files[0] as F).path }, options) : undefined;
  try {
    for (let index = 0; index < files.length; index++) {
      const source = next as OpeningSource;
      next = index + 1 < files.length ? openLogSource({ path: (files[index + 1] as F).path }, options) : undefined;
      yield { file: files[index] as F, source };
    }
  } finally {
    closeLogSource(next);
  }
}

/** {@link readLogFiles} over bytes already in memory (an S3 object), read whatever their content. */
export function readLogContent(content: Uint8Array | string, source: string, problems: ReadProblems, options?: LogReadOptions): AsyncGenerator<LogBatch> {
  return batchesOf({ bytes: content }, source, true, problems, options);
}

/**
 * {@link readLogFiles} with every record validated and normalised (`normalizeRecord`). With
 * `workers` > 0 the files are read, gunzipped, parsed and normalised on worker threads, several
 * files at once, and handed back in file order with the same outcomes as on one thread, so the
 * caller's thread is left to score.
 */
export async function* readLogOutcomes(files: readonly LogFile[], problems: ReadProblems, options: ReadOutcomesOptions = {}): AsyncGenerator<OutcomeBatch> {
  const workers = options.workers ?? 0;
  if (workers > 0) {
    yield* readOutcomesInWorkers(files, problems, { ...options, workers });
    return;
  }
  const normalize = { ...options.normalize, callerCache: options.normalize?.callerCache ?? new CallerCache() };
  for (const { file, source } of openedAhead(files, options.read)) {
    options.onFile?.(file.path);
    for await (const batch of batchesOf(source, file.path, file.explicit ?? false, problems, options.read)) {
      yield { source: batch.source, outcomes: batch.records.map((record) => normalizeRecord(record, normalize)), locate: batch.locate };
    }
  }
}
