import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { JsonValueSplitter, type SplitProblem } from './json-value-splitter.ts';

/** Limits on what one log file may cost. */
export interface LogReadOptions {
  /** Text a file may inflate to (default 1 GiB); beyond it the file is counted `oversized` and left. */
  maxInflatedBytes?: number;
  /**
   * Inflated size per compressed byte a gzip file may reach beyond 64 MiB (default 100; CloudTrail's
   * own files inflate about 10×): a decompression bomb is counted `oversized` early.
   */
  maxInflationRatio?: number;
  /** Text one record may take (default 16 MiB); a larger one is counted `oversized-record`. */
  maxRecordBytes?: number;
  /** Records handed on at a time (default 1,000). */
  batchRecords?: number;
}

/** Records of one file, in file order, each with the line it starts on and its index in its container (-1: none). */
export interface RawBatch {
  records: unknown[];
  lines: number[];
  members: number[];
}

/** What reading a file yields, in file order. */
export type FileItem =
  | ({ kind: 'batch' } & RawBatch)
  | { kind: 'count'; reason: string; location: string }
  | { kind: 'skip'; reason: string };

/** Where a file's bytes come from: a path, or bytes already in memory (an S3 object). */
export type LogSource = { path: string } | { bytes: Uint8Array | string };

const MiB = 1024 * 1024;
const DEFAULTS = { maxInflatedBytes: 1024 * MiB, maxInflationRatio: 100, maxRecordBytes: 16 * MiB, batchRecords: 1000 };
const RATIO_FLOOR = 64 * MiB;
const CHUNK = MiB;
/** Files up to this size are read and inflated in one call, to at most WHOLE_FILE_INFLATED of text. */
const WHOLE_FILE_BYTES = 4 * MiB;
const WHOLE_FILE_INFLATED = 64 * MiB;
/** A one-line file up to this much text is parsed in one call ({@link parsedWhole}). */
const WHOLE_PARSE_BYTES = 16 * MiB;
/** Held problems of a file that has shown no record yet; past this, the file is noise anyway. */
const HELD_PROBLEMS = 1000;
const CLOUDTRAIL_FIELDS = ['eventVersion', 'eventTime', 'eventSource', 'eventName', 'eventID', 'userIdentity', 'detail-type', 'detail'];

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `file:line`, and ` #i` for the i-th member (from 0) of a `Records`/`Events` array or top-level array. */
export function locateRecord(source: string, line: number, member: number): string {
  return member < 0 ? `${source}:${line}` : `${source}:${line} #${member}`;
}

/**
 * Reads one log file as a stream, whatever its size: gunzipped when its bytes are gzip (by
 * content, not name), a UTF-8 byte-order mark dropped, cut into records by a
 * {@link JsonValueSplitter}, `aws cloudtrail lookup-events` items unwrapped from their
 * `CloudTrailEvent` string. A file not named explicitly (found in a folder walk) that does not
 * start like JSON is skipped as `not-a-log-file`; digest files and other JSON documents that are
 * not CloudTrail (simulate's `manifest.json`) are skipped with their reason. Damage is counted by
 * reason with its place (`file:line #index`): a truncated or corrupt gzip keeps every record
 * before the damage; a file with no record at all is counted once as `not-json`.
 */
export async function* readLogSource(input: LogSource | OpeningSource, source: string, explicit: boolean, options: LogReadOptions = {}): AsyncGenerator<FileItem> {
  const limits = { ...DEFAULTS, ...options };
  const opened = await ('opening' in input ? input.opening : openSource(input, limits));
  if (opened === undefined) {
    yield { kind: 'count', reason: 'unreadable-file', location: source };
    return;
  }
  const { cap } = opened;
  const file = new FileState(source, limits.batchRecords);
  if (opened.whole !== undefined && parsedWhole(opened.whole, file, limits)) {
    yield* file.drain(true);
    return;
  }
  const splitter = new JsonValueSplitter(file, limits.maxRecordBytes);
  let inflated = 0;
  let failure: string | undefined;
  try {
    for await (const data of opened.chunks) {
      let chunk = data as Buffer;
      if (inflated === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      if (!file.sniffed && !explicit && !file.sniff(chunk)) break;
      inflated += chunk.length;
      if (inflated > cap) {
        failure = 'oversized';
        break;
      }
      splitter.push(chunk);
      yield* file.drain(false);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    failure = code === 'Z_BUF_ERROR' ? 'truncated-gzip' : code === 'Z_DATA_ERROR' || code === 'Z_NEED_DICT' ? 'corrupt-gzip' : 'unreadable-file';
  } finally {
    opened.close();
  }
  if (file.skipped) {
    yield { kind: 'skip', reason: 'not-a-log-file' };
    return;
  }
  const cutBetweenRecords = failure === 'oversized' ? false : splitter.end();
  if (failure !== undefined) yield { kind: 'count', reason: failure, location: source };
  else if (cutBetweenRecords) file.problem('truncated-file', -1, -1);
  yield* file.drain(true, failure !== undefined);
}

/** A file being opened ahead of its turn (see {@link openLogSource}). */
export interface OpeningSource {
  opening: Promise<OpenedSource | undefined>;
}

/**
 * Starts reading a file before its turn, so the disk works while the previous file is parsed;
 * hand the result to {@link readLogSource}, or to {@link closeLogSource} if its turn never comes.
 */
export function openLogSource(input: LogSource, options: LogReadOptions = {}): OpeningSource {
  const opening = openSource(input, { ...DEFAULTS, ...options });
  opening.catch(() => undefined);
  return { opening };
}

/**
 * As {@link openLogSource}, for a thread that does nothing but read: a file small enough to be
 * read whole is read at once, without the four trips through the I/O pool (open, stat, read,
 * close) that left the reader threads waiting a third of the time on a trail of small files.
 * A larger file is streamed as usual.
 */
export function openLogSourceNow(input: LogSource, options: LogReadOptions = {}): OpeningSource {
  const limits = { ...DEFAULTS, ...options };
  if ('bytes' in input) return openLogSource(input, options);
  let fd: number | undefined;
  try {
    fd = openSync(input.path, 'r');
    if (fstatSync(fd).size > WHOLE_FILE_BYTES) return openLogSource(input, options);
    return { opening: Promise.resolve(fromBytes(readFileSync(fd), limits)) };
  } catch {
    return { opening: Promise.resolve(undefined) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Lets go of a file opened ahead whose turn did not come. */
export function closeLogSource(pending: OpeningSource | undefined): void {
  pending?.opening.then((opened) => opened?.close(), () => undefined);
}

interface OpenedSource {
  chunks: AsyncIterable<unknown> | Iterable<Buffer>;
  /** The whole text, when it was read and inflated in one call. */
  whole?: Buffer;
  /** Most text the file may inflate to. */
  cap: number;
  close(): void;
}

type Limits = Required<LogReadOptions>;

const capOf = (gzip: boolean, bytes: number, limits: Limits): number =>
  gzip ? Math.min(limits.maxInflatedBytes, Math.max(RATIO_FLOOR, limits.maxInflationRatio * bytes)) : limits.maxInflatedBytes;

/**
 * A file's bytes as chunks of text. A small file (CloudTrail's are mostly) is read and gunzipped
 * in one call, which costs far less than a stream per file; a large or damaged one is streamed,
 * so memory stays bounded and a damaged gzip gives up everything before the damage.
 */
async function openSource(input: LogSource, limits: Limits): Promise<OpenedSource | undefined> {
  if ('bytes' in input) {
    const data = typeof input.bytes === 'string' ? Buffer.from(input.bytes, 'utf8') : Buffer.from(input.bytes.buffer, input.bytes.byteOffset, input.bytes.byteLength);
    return fromBytes(data, limits);
  }
  let handle;
  try {
    handle = await open(input.path, 'r');
    const { size } = await handle.stat();
    if (size <= WHOLE_FILE_BYTES) {
      const data = await handle.readFile();
      await handle.close();
      return fromBytes(data, limits);
    }
    const magic = Buffer.alloc(2);
    await handle.read(magic, 0, 2, 0);
    const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
    const raw = handle.createReadStream({ highWaterMark: CHUNK, start: 0, autoClose: true });
    return { chunks: gzip ? gunzipOf(raw) : raw, cap: capOf(gzip, size, limits), close: () => raw.destroy() };
  } catch {
    await handle?.close().catch(() => undefined);
    return undefined;
  }
}

function fromBytes(data: Buffer, limits: Limits): OpenedSource {
  const gzip = data[0] === 0x1f && data[1] === 0x8b;
  const cap = capOf(gzip, data.length, limits);
  if (!gzip) return { chunks: chunksOf(data), whole: data, cap, close: () => undefined };
  try {
    const text = gunzipSync(data, { maxOutputLength: Math.min(cap, WHOLE_FILE_INFLATED) });
    return { chunks: [text], whole: text, cap, close: () => undefined };
  } catch {
    // Too large to inflate at once, or damaged: the stream finds out which, and keeps what it can.
    const chunks = Readable.from(chunksOf(data), { objectMode: false });
    return { chunks: gunzipOf(chunks), cap, close: () => chunks.destroy() };
  }
}

/**
 * The fast path of a small file as CloudTrail writes it: one line holding one JSON object
 * (`{"Records":[…]}`), parsed in one call as a bare gunzip + `JSON.parse` would, without the
 * splitter's scan. False, with nothing read, for anything else (several lines or values, a
 * top-level array, text over the record limit, or JSON that does not parse): the splitter reads
 * it and locates what is wrong.
 */
function parsedWhole(whole: Buffer, file: FileState, limits: Limits): boolean {
  let start = whole[0] === 0xef && whole[1] === 0xbb && whole[2] === 0xbf ? 3 : 0;
  while (start < whole.length && (whole[start] === 0x20 || whole[start] === 0x09)) start++;
  if (whole[start] !== 0x7b || whole.length - start > Math.min(limits.maxRecordBytes, WHOLE_PARSE_BYTES)) return false;
  let end = whole.length;
  while (end > start && (whole[end - 1] === 0x0a || whole[end - 1] === 0x0d || whole[end - 1] === 0x20)) end--;
  const newline = whole.indexOf(0x0a, start);
  if (newline !== -1 && newline < end) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(whole.toString('utf8', start, end));
  } catch {
    return false;
  }
  file.parsed(parsed, 1);
  return true;
}

function* chunksOf(data: Buffer): Generator<Buffer> {
  for (let at = 0; at < data.length; at += CHUNK) yield data.subarray(at, at + CHUNK);
}

function gunzipOf(raw: Readable): Readable {
  return pipeline(raw, createGunzip({ chunkSize: 256 * 1024 }), () => undefined);
}

/**
 * The records and problems of one file, collected while the splitter runs. Problems are held until
 * the file shows a record: a file of another format is one `not-json`, not one problem per line.
 */
class FileState {
  sniffed = false;
  skipped = false;
  private records: unknown[] = [];
  private lines: number[] = [];
  private members: number[] = [];
  private items: FileItem[] = [];
  private held: FileItem[] | undefined = [];
  private heldOver = 0;

  constructor(
    private readonly source: string,
    private readonly batchRecords: number,
  ) {}

  /** Whether a file found in a folder walk starts like JSON (or a CloudWatch Logs export line). */
  sniff(chunk: Buffer): boolean {
    let at = 0;
    while (at < chunk.length && (chunk[at] === 0x20 || chunk[at] === 0x0a || chunk[at] === 0x0d || chunk[at] === 0x09)) at++;
    if (at === chunk.length) return true;
    this.sniffed = true;
    const first = chunk[at];
    if (first === 0x7b || first === 0x5b) return true;
    const line = chunk.toString('latin1', at, Math.min(chunk.length, at + 64));
    this.skipped = !/^\d{4}-\d\d-\d\dT\S* \{/.test(line);
    return !this.skipped;
  }

  value(text: string, line: number, member: number): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.problem(member < 0 ? 'bad-json-line' : 'bad-json-record', line, member);
      return;
    }
    if (member < 0) this.parsed(parsed, line);
    else this.member(parsed, line, member);
  }

  /** A top-level value already parsed: a container's members, a record, or a document to skip. */
  parsed(parsed: unknown, line: number): void {
    const member = -1;
    if (isObject(parsed)) {
      const container = Array.isArray(parsed.Records) ? parsed.Records : Array.isArray(parsed.Events) ? parsed.Events : undefined;
      if (container !== undefined) {
        container.forEach((item, index) => this.member(item, line, index));
        return;
      }
      if (typeof parsed.digestStartTime === 'string' && Array.isArray(parsed.logFiles)) return this.skip('cloudtrail-digest');
      if (!CLOUDTRAIL_FIELDS.some((field) => field in parsed) && typeof parsed.CloudTrailEvent !== 'string') return this.skip('not-cloudtrail');
    }
    this.member(parsed, line, member);
  }

  problem(reason: SplitProblem | 'truncated-file' | 'bad-json-record' | 'bad-CloudTrailEvent', line: number, member: number): void {
    const item: FileItem = { kind: 'count', reason, location: line < 0 ? this.source : locateRecord(this.source, line, member) };
    if (this.held === undefined) this.items.push(item);
    else if (this.held.length < HELD_PROBLEMS) this.held.push(item);
    else this.heldOver++;
  }

  *drain(final: boolean, failed = false): Generator<FileItem> {
    if (final && this.held !== undefined) {
      // No record at all: another format, or noise. A damaged gzip is already counted.
      if ((this.held.length > 0 || this.heldOver > 0) && !failed) this.items.push({ kind: 'count', reason: 'not-json', location: this.source });
      this.held = undefined;
    }
    yield* this.items;
    this.items = [];
    if (this.records.length >= this.batchRecords || (final && this.records.length > 0)) {
      yield { kind: 'batch', records: this.records, lines: this.lines, members: this.members };
      this.records = [];
      this.lines = [];
      this.members = [];
    }
  }

  private skip(reason: string): void {
    this.items.push({ kind: 'skip', reason });
  }

  /** A record, unwrapped when it is a `lookup-events` item (`{"CloudTrailEvent":"<json>"}`). */
  private member(value: unknown, line: number, member: number): void {
    let record = value;
    if (isObject(value) && typeof value.CloudTrailEvent === 'string') {
      try {
        record = JSON.parse(value.CloudTrailEvent);
      } catch {
        this.problem('bad-CloudTrailEvent', line, member);
        return;
      }
    }
    if (this.held !== undefined) {
      this.items.push(...this.held);
      if (this.heldOver > 0) this.items.push(...Array.from({ length: this.heldOver }, (): FileItem => ({ kind: 'count', reason: 'bad-json-line', location: this.source })));
      this.held = undefined;
    }
    this.records.push(record);
    this.lines.push(line);
    this.members.push(member);
  }
}
