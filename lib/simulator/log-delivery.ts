import { createHash } from 'node:crypto';
import { mkdirSync, writeFile } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import {
  ACCOUNT_ID,
  REGION,
  buildDataEvent,
  describeServiceCaller,
  formatEventTime,
  type SerializedRecord,
} from './record-factory.ts';
import { SeededRandom, hashString } from './seeded-random.ts';
import type { SimulatedEvent } from './simulation-types.ts';

const compress = promisify(gzip);
// The callback API: fs/promises opens a FileHandle per file, which costs more than the write.
const store = promisify(writeFile);

export const TRAIL_BUCKET = 'org-cloudtrail-logs';
const TRAIL_NAME = 's3-data-events';
const MINUTE = 60_000;
/** CloudTrail delivers a log file about every five minutes. */
export const DELIVERY_PERIOD = 5 * MINUTE;
const DIGEST_INTERVAL = 24 * 60 * MINUTE;
const LATE_SHARE = 0.03;
const DUPLICATE_SHARE = 0.001;
const MAX_STORING = 16;

/** What was written. */
export interface DeliveryTotals {
  files: number;
  /** Record entries in the log files, a record delivered twice counted twice. */
  records: number;
  digests: number;
  /** CloudTrail's own `PutObject` records of the files it delivered. */
  trailPuts: number;
}

const OPEN = Buffer.from('{"Records":[');
const CLOSE = Buffer.from(']}');
const COMMA = 0x2c;

/**
 * The records of one delivery period, encoded as they arrive. Encoding straight into large chunks
 * (instead of keeping each record's string until the file is written) keeps garbage collection
 * out of the profile: a record string built by concatenation is a tree of pieces, and keeping
 * thousands of those alive for minutes dominated the run time.
 */
class PeriodContent {
  count = 0;
  oldest = Infinity;
  newest = -Infinity;
  private readonly chunks: Buffer[] = [];
  private chunk = Buffer.allocUnsafe(16_384);
  private offset = 0;

  append(json: string, at: number): void {
    // UTF-8 needs at most three bytes per UTF-16 unit, plus one for the separator.
    const room = json.length * 3 + 1;
    if (this.offset + room > this.chunk.length) {
      this.chunks.push(this.chunk.subarray(0, this.offset));
      this.chunk = Buffer.allocUnsafe(Math.max(room, Math.min(this.chunk.length * 2, 4 << 20)));
      this.offset = 0;
    }
    if (this.count > 0) this.chunk[this.offset++] = COMMA;
    this.offset += this.chunk.write(json, this.offset);
    this.count++;
    if (at < this.oldest) this.oldest = at;
    if (at > this.newest) this.newest = at;
  }

  /** The log file's JSON: `{"Records":[…]}`. */
  serialize(): Buffer {
    return Buffer.concat([OPEN, ...this.chunks, this.chunk.subarray(0, this.offset), CLOSE]);
  }
}

interface DeliveredFile {
  s3Object: string;
  hashValue: string;
  oldest: number;
  newest: number;
}

/**
 * Lays records out in CloudTrail log files the way CloudTrail delivers them: each record lands in
 * the file of the five-minute period in which it is delivered, one to five minutes after it
 * happened, a few percent much later and one in a thousand twice; inside a file records keep their
 * arrival order, which is close to but not strictly eventTime order. A file is written as soon as no
 * record can still arrive for its period, so memory holds only the records of the next few
 * minutes. CloudTrail's own `PutObject` of every file to the trail bucket is a data event of that
 * bucket and is delivered like any other record.
 */
export class LogDelivery {
  private readonly periods = new Map<number, PeriodContent>();
  private nextPeriod: number;
  private lastPeriod: number;
  private readonly random: SeededRandom;
  private readonly madeDirectories = new Set<string>();
  private readonly cloudTrail = describeServiceCaller('cloudtrail.amazonaws.com');
  private digestStart: number;
  private digestFiles: DeliveredFile[] = [];
  private previousDigest: { s3Object: string; hashValue: string; signature: string } | undefined;
  private readonly totals: DeliveryTotals = { files: 0, records: 0, digests: 0, trailPuts: 0 };
  /** The file being compressed and written while the caller generates the next records. */
  private writing: Promise<void> = Promise.resolve();
  /** Disk writes still in flight. */
  private readonly storing = new Set<Promise<void>>();

  constructor(
    private readonly outDir: string,
    start: number,
    private readonly end: number,
    seed: number,
  ) {
    this.random = SeededRandom.derive(seed, 'delivery');
    this.nextPeriod = Math.floor(start / DELIVERY_PERIOD);
    this.lastPeriod = this.nextPeriod;
    this.digestStart = start;
  }

  /** Schedules a record's delivery (and, rarely, its second delivery). */
  deliver(event: SimulatedEvent): void {
    const { eventId, json } = event.record;
    // Delays come from the eventID, not from a shared stream, so a record is delivered the same
    // way whatever else the scenario adds around it.
    const draw = new SeededRandom(hashString(eventId));
    const delay = draw.chance(LATE_SHARE) ? draw.between(6 * MINUTE, 20 * MINUTE) : draw.between(MINUTE, 5 * MINUTE);
    const due = event.at + Math.round(delay);
    this.enqueue(due, event, eventId);
    if (draw.chance(DUPLICATE_SHARE)) {
      this.enqueue(due + Math.round(draw.between(5 * MINUTE, 15 * MINUTE)), event, eventId);
    }
  }

  /** Writes every file whose period ends at or before `bound`; no record may arrive for them later. */
  async flushThrough(bound: number): Promise<void> {
    while ((this.nextPeriod + 1) * DELIVERY_PERIOD <= bound) await this.writePeriod();
  }

  /** Writes the remaining files and the last digest. */
  async finish(): Promise<DeliveryTotals> {
    for (;;) {
      while (this.nextPeriod <= this.lastPeriod) await this.writePeriod();
      await this.writing;
      // The last file's or digest's own PutObject may still need a file.
      if (this.nextPeriod <= this.lastPeriod) continue;
      if (this.digestFiles.length === 0) {
        await Promise.all(this.storing);
        return { ...this.totals };
      }
      await this.writeDigest(this.nextPeriod * DELIVERY_PERIOD);
    }
  }

  private enqueue(due: number, event: SimulatedEvent, eventId: string): void {
    const period = Math.floor(due / DELIVERY_PERIOD);
    if (period < this.nextPeriod) {
      throw new Error(`record ${eventId} scheduled into an already written log file`);
    }
    let content = this.periods.get(period);
    if (!content) {
      content = new PeriodContent();
      this.periods.set(period, content);
    }
    content.append(event.record.json, event.at);
    if (period > this.lastPeriod) this.lastPeriod = period;
  }

  private async writePeriod(): Promise<void> {
    // The previous file's PutObject may belong in this period: wait until it is scheduled.
    await this.writing;
    const period = this.nextPeriod++;
    const fileTime = (period + 1) * DELIVERY_PERIOD;
    if (fileTime >= this.digestStart + DIGEST_INTERVAL) await this.writeDigest(this.digestStart + DIGEST_INTERVAL);
    const content = this.periods.get(period);
    if (!content) return;
    this.periods.delete(period);
    const stamp = formatStamp(fileTime, false);
    const name = `${ACCOUNT_ID}_CloudTrail_${REGION}_${stamp}_${this.random.alphanumeric(16)}.json.gz`;
    this.totals.files++;
    this.totals.records += content.count;
    const written = this.writeObject('CloudTrail', fileTime, name, content.serialize());
    this.writing = written.then((file) => {
      this.digestFiles.push({ ...file, oldest: content.oldest, newest: content.newest });
    });
    // Failures surface at the next await of `writing`; until then the rejection is expected.
    this.writing.catch(() => undefined);
  }

  /**
   * Compresses and writes one file under `AWSLogs/` off the main thread, then schedules CloudTrail's
   * PutObject of it, whose size is known only then. Its random draws come from a seed taken now, so
   * the output does not depend on when the compression finishes.
   */
  private async writeObject(
    kind: 'CloudTrail' | 'CloudTrail-Digest',
    time: number,
    name: string,
    content: Buffer,
  ): Promise<{ s3Object: string; hashValue: string }> {
    const random = new SeededRandom(this.random.nextUint32());
    const folder = ['AWSLogs', ACCOUNT_ID, kind, REGION, ...formatDatePath(time)];
    const directory = join(this.outDir, ...folder);
    if (!this.madeDirectories.has(directory)) {
      mkdirSync(directory, { recursive: true });
      this.madeDirectories.add(directory);
    }
    // Level 1: the files are read back by tests and replays, not archived; speed wins. One output
    // chunk big enough for the whole result (these logs compress to under a tenth): with the
    // default 16 KB chunks every step of the compression waits for the main thread, which is busy
    // generating the next records.
    const chunkSize = Math.max(65_536, Math.ceil(content.length / 4));
    const zipped = await compress(content, { level: 1, chunkSize });
    // The disk write overlaps with what follows; only its completion is awaited, at the end.
    const path = join(directory, name);
    const stored = store(path, zipped);
    this.storing.add(stored);
    stored.then(() => this.storing.delete(stored), () => undefined);
    // A slow disk must not turn into unbounded memory.
    if (this.storing.size > MAX_STORING) await Promise.race(this.storing);
    const s3Object = [...folder, name].join('/');
    const putAt = time + random.integer(1_000, 30_000);
    if (putAt < this.end) {
      this.deliver({ at: putAt, record: this.buildTrailPut(random, putAt, s3Object, zipped.length) });
      this.totals.trailPuts++;
    }
    return { s3Object, hashValue: createHash('sha256').update(zipped).digest('hex') };
  }

  private buildTrailPut(random: SeededRandom, at: number, s3Object: string, size: number): SerializedRecord {
    return buildDataEvent(random, at, this.cloudTrail, {
      eventName: 'PutObject',
      bucket: TRAIL_BUCKET,
      key: s3Object,
      readOnly: false,
      requestParameters: { 'x-amz-acl': 'bucket-owner-full-control', 'x-amz-server-side-encryption': 'AES256' },
      responseElements: { 'x-amz-server-side-encryption': 'AES256' },
      bytesIn: size,
    });
  }

  private async writeDigest(digestEnd: number): Promise<void> {
    await this.writing;
    const files = this.digestFiles;
    // Never earlier than the file being written: its PutObject must still find an open period.
    const time = Math.max(digestEnd, this.nextPeriod * DELIVERY_PERIOD) + this.random.integer(MINUTE, 10 * MINUTE);
    const name = `${ACCOUNT_ID}_CloudTrail-Digest_${REGION}_${TRAIL_NAME}_${REGION}_${formatStamp(time, true)}.json.gz`;
    const digestObject = ['AWSLogs', ACCOUNT_ID, 'CloudTrail-Digest', REGION, ...formatDatePath(time), name].join('/');
    const times = files.flatMap((file) => [file.oldest, file.newest]);
    const signature = this.random.hex(512);
    const digest = {
      awsAccountId: ACCOUNT_ID,
      digestStartTime: formatEventTime(this.digestStart),
      digestEndTime: formatEventTime(digestEnd),
      digestS3Bucket: TRAIL_BUCKET,
      digestS3Object: digestObject,
      digestPublicKeyFingerprint: this.random.hex(32),
      digestSignatureAlgorithm: 'SHA256withRSA',
      newestEventTime: times.length > 0 ? formatEventTime(Math.max(...times)) : null,
      oldestEventTime: times.length > 0 ? formatEventTime(Math.min(...times)) : null,
      previousDigestS3Bucket: this.previousDigest ? TRAIL_BUCKET : null,
      previousDigestS3Object: this.previousDigest?.s3Object ?? null,
      previousDigestHashValue: this.previousDigest?.hashValue ?? null,
      previousDigestHashAlgorithm: this.previousDigest ? 'SHA-256' : null,
      previousDigestSignature: this.previousDigest?.signature ?? null,
      logFiles: files.map((file) => ({
        s3Bucket: TRAIL_BUCKET,
        s3Object: file.s3Object,
        hashValue: file.hashValue,
        hashAlgorithm: 'SHA-256',
        newestEventTime: formatEventTime(file.newest),
        oldestEventTime: formatEventTime(file.oldest),
      })),
    };
    this.digestStart = digestEnd;
    this.digestFiles = [];
    const written = await this.writeObject('CloudTrail-Digest', time, name, Buffer.from(JSON.stringify(digest)));
    this.previousDigest = { ...written, signature };
    this.totals.digests++;
  }
}

function formatDatePath(time: number): string[] {
  const date = new Date(time).toISOString();
  return [date.slice(0, 4), date.slice(5, 7), date.slice(8, 10)];
}

/** `YYYYMMDDTHHmmZ` for log files, `YYYYMMDDTHHmmssZ` for digests, as CloudTrail names them. */
function formatStamp(time: number, withSeconds: boolean): string {
  const iso = new Date(time).toISOString();
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}`;
  return withSeconds ? `${stamp}${iso.slice(17, 19)}Z` : `${stamp}Z`;
}
