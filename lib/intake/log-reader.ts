import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { InputError } from '../domain/errors.ts';

/** Why a whole file could not be read. */
export type FileRejectReason = 'unreadable-file' | 'truncated-gzip' | 'corrupt-gzip' | 'not-json' | 'bad-json-line';

/** One raw record and where it came from. */
export interface RawRecord {
  record: unknown;
  source: string;
}

/** What the reader could not use, by reason, with the first few places it happened. */
export interface ReadProblems {
  count(reason: string, source: string): void;
}

const LOG_FILE = /\.(json|jsonl|ndjson)(\.gz)?$/i;
const CLOUDTRAIL_STAMP = /_(\d{8}T\d{4}Z)_/;

/**
 * Lists the log files under the given files and folders (walked recursively), in delivery
 * order: CloudTrail file names carry their delivery time, other names sort by path. Digest files
 * (`CloudTrail-Digest/`) hold signatures, not events, and are left out; a path given explicitly is
 * always read.
 */
export async function listLogFiles(paths: readonly string[]): Promise<Array<{ path: string; bytes: number }>> {
  const found: Array<{ path: string; bytes: number }> = [];
  const walk = async (path: string, explicit: boolean): Promise<void> => {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new InputError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
    if (info.isDirectory()) {
      if (!explicit && basename(path) === 'CloudTrail-Digest') return;
      const entries = await readdir(path);
      for (const entry of entries) await walk(join(path, entry), false);
    } else if (explicit || LOG_FILE.test(path)) {
      found.push({ path, bytes: info.size });
    }
  };
  for (const path of paths) await walk(path, true);
  const sortKey = (path: string): string => `${CLOUDTRAIL_STAMP.exec(basename(path))?.[1] ?? ''}\u0000${path}`;
  return found
    .map((file) => ({ file, key: sortKey(file.path) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ file }) => file);
}

/**
 * The text of a log file's bytes, gunzipped when they are gzip. A damaged gzip is counted under
 * `truncated-gzip` or `corrupt-gzip`; of a truncated one, the text up to the cut is returned.
 */
export function decodeLogFile(bytes: Uint8Array, path: string, problems: ReadProblems): string | undefined {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!(data[0] === 0x1f && data[1] === 0x8b)) return data.toString('utf8');
  try {
    return gunzipSync(data).toString('utf8');
  } catch (error) {
    const truncated = (error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR';
    problems.count(truncated ? 'truncated-gzip' : 'corrupt-gzip', path);
    if (!truncated) return undefined;
    // A file cut short still holds whole records up to the cut; keep what can be read.
    try {
      return gunzipSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/**
 * Splits one file's text into records: a CloudTrail log file (`{"Records":[…]}`), a JSON array
 * of records, a single record or EventBridge envelope, or NDJSON (one record per line). Lines that
 * are not JSON objects are counted one by one; a file with no readable line at all is counted once.
 */
export function* splitRecords(text: string, source: string, problems: ReadProblems): Generator<RawRecord> {
  for (const record of parseLogText(text, source, problems)) yield { record, source };
}

/** {@link splitRecords} as one array: a log file's `Records` array is returned as parsed, uncopied. */
export function parseLogText(text: string, source: string, problems: ReadProblems): unknown[] {
  const start = text.search(/\S/);
  if (start < 0) return [];
  const first = text[start];
  if (first === '{' || first === '[') {
    let parsed: unknown;
    let whole = true;
    try {
      parsed = JSON.parse(text);
    } catch {
      whole = false;
    }
    if (whole) {
      return Array.isArray(parsed)
        ? parsed
        : typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { Records?: unknown }).Records)
          ? (parsed as { Records: unknown[] }).Records
          : [parsed];
    }
  }
  const records: unknown[] = [];
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const record = parseObjectLine(line);
    if (record === undefined) bad++;
    else records.push(record);
  }
  if (records.length === 0) problems.count('not-json', source);
  else for (let i = 0; i < bad; i++) problems.count('bad-json-line', source);
  return records;
}

/**
 * A line of text or random bytes can happen to be valid JSON (`7`, `null`, `"x"`): only an object
 * is a record, so anything else counts as a bad line and a file of noise stays `not-json`.
 */
function parseObjectLine(line: string): object | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Streams the given log files one at a time, each as the array of its records, so a month of
 * logs is never held in memory. Unreadable, truncated or non-JSON input is counted under its
 * reason and skipped; whatever part of a damaged file can be read is still returned.
 */
export async function* readLogFiles(
  files: ReadonlyArray<{ path: string }>,
  problems: ReadProblems,
  onFile?: (path: string) => void,
): AsyncGenerator<{ source: string; records: unknown[] }> {
  // Read one file ahead: the disk works while the previous file's records are scored.
  const load = (index: number): Promise<Buffer | undefined> | undefined => {
    const file = files[index];
    return file === undefined ? undefined : readFile(file.path).catch(() => undefined);
  };
  let next = load(0);
  for (let index = 0; index < files.length; index++) {
    const path = (files[index] as { path: string }).path;
    const data = await next;
    next = load(index + 1);
    onFile?.(path);
    if (data === undefined) {
      problems.count('unreadable-file', path);
      continue;
    }
    const text = decodeLogFile(data, path, problems);
    if (text !== undefined) yield { source: path, records: parseLogText(text, path, problems) };
  }
}

/** {@link readLogFiles}, one record at a time with its source. */
export async function* readLogRecords(
  files: ReadonlyArray<{ path: string }>,
  problems: ReadProblems,
  onFile?: (path: string) => void,
): AsyncGenerator<RawRecord> {
  for await (const { source, records } of readLogFiles(files, problems, onFile)) {
    for (const record of records) yield { record, source };
  }
}
