/** What a stretch of input that yields no record is counted as. */
export type SplitProblem = 'bad-json-line' | 'truncated-record' | 'oversized-record' | 'not-an-object';

/** Receives what the splitter finds, in input order. */
export interface SplitterSink {
  /**
   * The text of one candidate record: a top-level value (`member` -1) or an object inside a
   * top-level array or a `{"Records":[…]}` / `{"Events":[…]}` container (`member` its index there).
   */
  value(text: string, line: number, member: number): void;
  problem(reason: SplitProblem, line: number, member: number): void;
}

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const SPACE = 0x20;
const CONTAINER_KEYS: ReadonlySet<string> = new Set(['Records', 'Events']);

type TopKind = 'none' | 'undecided' | 'record' | 'container' | 'array';

const isBlank = (byte: number): boolean => byte === SPACE || byte === NEWLINE || byte === 0x0d || byte === 0x09;

/**
 * Cuts a stream of JSON text (bytes, in chunks cut anywhere) into records without parsing it:
 * `{"Records":[…]}` and `{"Events":[…]}` containers and top-level arrays give their member objects
 * one by one; anything else gives each top-level value (NDJSON, `jq '.Records[]'` output,
 * pretty-printed or not, a single record). Only the record being cut is held, so memory is bounded
 * by the largest record (`maxValueBytes`, beyond which it is counted `oversized-record`), never by
 * the file. Once a file shows itself to be one value per line, each line is one record, so a
 * broken line costs that line only; a line may carry a prefix before its `{` (CloudWatch Logs
 * exports write `<timestamp> <message>`).
 */
export class JsonValueSplitter {
  private buffer: Buffer = Buffer.alloc(0);
  private pos = 0;
  private line = 1;
  private depth = 0;
  private inString = false;
  private top: TopKind = 'none';
  /** Where the value being cut starts in `buffer` (-1: none), its line, and whether it outgrew the cap. */
  private start = -1;
  private startLine = 0;
  private oversized = false;
  private member = -1;
  /** A top-level object's first key, read to tell a container from a record. */
  private keyStart = -1;
  private key: string | undefined;
  private valueStartsLine = true;
  private lineMode = false;
  private scalarMember = false;

  constructor(
    private readonly sink: SplitterSink,
    private readonly maxValueBytes = 16 * 1024 * 1024,
  ) {}

  push(chunk: Buffer): void {
    const keep = this.keepFrom();
    this.buffer = keep >= this.buffer.length ? chunk : Buffer.concat([this.buffer.subarray(keep), chunk]);
    this.pos -= keep;
    if (this.start >= 0) this.start -= keep;
    if (this.keyStart >= 0) this.keyStart -= keep;
    if (this.lineMode) this.scanLines(false);
    else this.scan(false);
  }

  /**
   * The input is complete. A record it cut short is counted `truncated-record`; returns true when
   * it was cut between records of a container, which loses no record the splitter could see.
   */
  end(): boolean {
    if (this.lineMode) {
      this.scanLines(true);
      return false;
    }
    this.scan(true);
    if (this.lineMode || this.top === 'none') return false;
    if (this.start < 0) return true;
    if (!this.oversized) this.sink.problem('truncated-record', this.startLine, this.member);
    return false;
  }

  private keepFrom(): number {
    const held = this.start >= 0 && !this.oversized ? this.start : this.pos;
    return this.keyStart >= 0 ? Math.min(held, this.keyStart) : held;
  }

  private scanLines(final: boolean): void {
    const buffer = this.buffer;
    while (this.pos < buffer.length) {
      let eol = buffer.indexOf(NEWLINE, this.pos);
      if (eol < 0) {
        if (!final && buffer.length - this.pos <= this.maxValueBytes) return;
        eol = buffer.length;
      }
      this.takeLine(this.pos, eol);
      this.pos = eol + 1;
      this.line++;
    }
  }

  private takeLine(from: number, to: number): void {
    const buffer = this.buffer;
    while (from < to && isBlank(buffer[from] as number)) from++;
    while (to > from && isBlank(buffer[to - 1] as number)) to--;
    if (from === to) return;
    const brace = buffer[from] === OPEN_OBJECT ? from : this.prefixEnd(from, to);
    if (brace < 0) this.sink.problem('bad-json-line', this.line, -1);
    else if (to - brace > this.maxValueBytes) this.sink.problem('oversized-record', this.line, -1);
    else this.sink.value(buffer.toString('utf8', brace, to), this.line, -1);
  }

  /** The `{` after a one-word prefix and a space (`2026-10-05T03:10:00.000Z {…}`), or -1. */
  private prefixEnd(from: number, to: number): number {
    const space = this.buffer.indexOf(SPACE, from);
    return space > from && space + 1 < to && this.buffer[space + 1] === OPEN_OBJECT ? space + 1 : -1;
  }

  private scan(final: boolean): void {
    const buffer = this.buffer;
    const length = buffer.length;
    while (this.pos < length) {
      if (this.inString) {
        if (!this.skipString()) return;
        continue;
      }
      const byte = buffer[this.pos] as number;
      if (byte === QUOTE) {
        if (this.depth === 0) {
          if (!this.skipJunkLine(final)) return;
          continue;
        }
        this.noteMemberScalar();
        if (this.top === 'undecided' && this.depth === 1 && this.key === undefined) this.keyStart = this.pos + 1;
        this.inString = true;
        this.pos++;
      } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        this.open(byte);
      } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
        if (this.depth === 0) {
          if (!this.skipJunkLine(final)) return;
          continue;
        }
        this.close();
        if (this.lineMode) {
          this.scanLines(final);
          return;
        }
      } else if (byte === NEWLINE) {
        this.line++;
        this.pos++;
      } else if (isBlank(byte) || byte === 0x2c || byte === 0x3a) {
        if (byte === 0x2c && this.depth === this.memberDepth()) this.scalarMember = false;
        this.pos++;
      } else if (this.depth === 0) {
        if (!this.skipJunkLine(final)) return;
      } else {
        this.noteMemberScalar();
        this.pos++;
      }
      if (this.start >= 0 && !this.oversized && this.pos - this.start > this.maxValueBytes) {
        this.oversized = true;
        this.sink.problem('oversized-record', this.startLine, this.member);
      }
    }
  }

  /** Moves past a string's closing quote; false when the chunk ends first (resume at the backslash run). */
  private skipString(): boolean {
    const buffer = this.buffer;
    const quote = buffer.indexOf(QUOTE, this.pos);
    if (quote < 0) {
      let run = buffer.length;
      while (run > this.pos && buffer[run - 1] === BACKSLASH) run--;
      this.pos = run;
      return false;
    }
    let backslashes = 0;
    for (let i = quote - 1; i >= this.pos && buffer[i] === BACKSLASH; i--) backslashes++;
    this.pos = quote + 1;
    if (backslashes % 2 === 1) return true;
    this.inString = false;
    if (this.keyStart >= 0) {
      this.key = buffer.toString('utf8', this.keyStart, quote);
      this.keyStart = -1;
    }
    return true;
  }

  /** The depth at which the members of the current container or array sit. */
  private memberDepth(): number {
    return this.top === 'container' ? 2 : this.top === 'array' ? 1 : -1;
  }

  private noteMemberScalar(): void {
    if (this.depth !== this.memberDepth() || this.start >= 0 || this.scalarMember) return;
    this.scalarMember = true;
    this.sink.problem('not-an-object', this.line, ++this.member);
  }

  private open(byte: number): void {
    if (this.depth === 0) {
      this.top = byte === OPEN_OBJECT ? 'undecided' : 'array';
      this.key = undefined;
      this.member = -1;
      this.valueStartsLine = this.pos === 0 || this.buffer[this.pos - 1] === NEWLINE || this.valueStartsLine;
      if (this.top === 'undecided') this.beginValue(-1);
    } else if (this.top === 'undecided' && this.depth === 1) {
      if (byte === OPEN_ARRAY && this.key !== undefined && CONTAINER_KEYS.has(this.key)) {
        this.top = 'container';
        this.start = -1;
        this.oversized = false;
      } else {
        this.top = 'record';
      }
    } else if (this.depth === this.memberDepth() && this.start < 0 && !this.scalarMember) {
      if (byte === OPEN_OBJECT) this.beginValue(++this.member);
      else this.noteMemberScalar();
    }
    this.depth++;
    this.pos++;
  }

  private beginValue(member: number): void {
    this.start = this.pos;
    this.startLine = this.line;
    this.oversized = false;
    this.member = member;
  }

  private close(): void {
    this.depth--;
    this.pos++;
    if (this.depth === this.memberDepth() && this.start >= 0) {
      this.emit(this.member);
    } else if (this.depth === this.memberDepth()) {
      this.scalarMember = false;
    }
    if (this.depth > 0) return;
    if (this.top === 'undecided' || this.top === 'record') {
      const oneLine = this.startLine === this.line && this.valueStartsLine;
      this.emit(-1);
      this.lineMode = oneLine;
    }
    this.top = 'none';
    this.scalarMember = false;
    this.valueStartsLine = false;
  }

  private emit(member: number): void {
    if (!this.oversized) this.sink.value(this.buffer.toString('utf8', this.start, this.pos), this.startLine, member);
    this.start = -1;
    this.oversized = false;
  }

  /**
   * Text between values that is not JSON: a line of another format, a scalar, or the prefix of a
   * CloudWatch Logs export line (`<timestamp> {…}`), after which the value is read as usual.
   */
  private skipJunkLine(final: boolean): boolean {
    const buffer = this.buffer;
    let eol = buffer.indexOf(NEWLINE, this.pos);
    if (eol < 0) {
      if (!final && buffer.length - this.pos <= this.maxValueBytes) return false;
      eol = buffer.length;
    }
    const brace = this.prefixEnd(this.pos, eol);
    const lineStart = this.pos === 0 || buffer[this.pos - 1] === NEWLINE;
    if (brace >= 0 && lineStart) {
      this.pos = brace;
      this.valueStartsLine = true;
      return true;
    }
    this.sink.problem('bad-json-line', this.line, -1);
    this.pos = eol;
    return true;
  }
}
