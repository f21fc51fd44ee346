import { useTempDir } from './support/test-hooks.ts';
import { readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '../lib/domain/cloudtrail-record.ts';
import { IntakeReport } from '../lib/intake/intake-report.ts';
import { openLogSource, openLogSourceNow, readLogSource, type FileItem, type OpeningSource } from '../lib/intake/log-file-reader.ts';
import { listLogFiles, readLogFiles, type LogFile } from '../lib/intake/log-reader.ts';
import {
  cloneRecord,
  EXFILTRATION_LOG,
  HONEY_BUCKET_CSV,
  loadRepairedRecords,
  pickRecord,
  withoutField,
  type CloudTrailRecord,
} from './events/load-events.ts';

const repaired = loadRepairedRecords();
const getObject = pickRecord(repaired, 'GetObject', (r) => r.eventName === 'GetObject');

/** The real GetObject, as the `i`-th read of a distinct object. */
function nthGet(i: number): CloudTrailRecord {
  return cloneRecord(getObject, (r) => {
    r.eventID = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    r.requestParameters = { ...r.requestParameters, key: `customers/${i}/statement.pdf` };
  });
}

const logFile = (records: readonly unknown[]): string => JSON.stringify({ Records: records });
const ndjson = (records: readonly unknown[]): string => records.map((r) => `${JSON.stringify(r)}\n`).join('');

const tempDir = useTempDir('keysentry-log-reader-');
const put = tempDir.put;

interface RawRecord {
  record: unknown;
  source: string;
  location: string;
}

async function readFrom(files: readonly LogFile[], report: IntakeReport): Promise<RawRecord[]> {
  const records: RawRecord[] = [];
  for await (const batch of readLogFiles(files, report)) {
    batch.records.forEach((record, index) => records.push({ record, source: batch.source, location: batch.locate(index) }));
  }
  return records;
}

/** Reads the given paths as `keysentry replay` does: listed first, folders walked. */
async function readAll(paths: readonly string[], report = new IntakeReport()): Promise<RawRecord[]> {
  return readFrom(await listLogFiles(paths, report), report);
}

/** A deterministic stream of bytes (mulberry32), so a failure can be reproduced. */
function noise(length: number, seed: number): Buffer {
  let state = seed;
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    bytes[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return bytes;
}

describe('readLogFiles on damaged files', () => {
  it('keeps every complete record before the cut of a truncated gzipped log file', async () => {
    const originals = Array.from({ length: 300 }, (_, i) => nthGet(i));
    const whole = gzipSync(logFile(originals));
    const path = await put('cut.json.gz', whole.subarray(0, whole.length >> 1));
    const report = new IntakeReport();
    // What zlib can still inflate of the cut file holds this many whole records.
    const inflated = gunzipSync(whole.subarray(0, whole.length >> 1), { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('utf8');
    const complete = originals.filter((record) => inflated.includes(JSON.stringify(record))).length;

    const records = await readAll([path], report);

    expect(complete).toBeGreaterThan(100);
    expect(complete).toBeLessThan(300);
    expect(records.map((raw) => raw.record)).toEqual(originals.slice(0, complete));
    expect(report.rejected).toEqual({ 'truncated-gzip': 1, 'truncated-record': 1 });
    expect(report.examples['truncated-gzip']).toEqual([path]);
    expect(report.examples['truncated-record']).toEqual([`${path}:1 #${complete}`]);
  });

  it('keeps the complete lines before the cut of a truncated gzipped NDJSON file', async () => {
    const originals = Array.from({ length: 300 }, (_, i) => nthGet(i));
    const whole = gzipSync(ndjson(originals));
    const path = await put('cut.ndjson.gz', whole.subarray(0, whole.length >> 1));
    const report = new IntakeReport();

    // What zlib can still inflate of the cut file: whole lines, then the line the cut fell into.
    const inflated = gunzipSync(whole.subarray(0, whole.length >> 1), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const wholeLines = inflated.toString('utf8').split('\n').length - 1;

    const records = (await readAll([path], report)).map((raw) => raw.record);

    expect(wholeLines).toBeGreaterThan(0);
    expect(wholeLines).toBeLessThan(originals.length);
    expect(records).toEqual(originals.slice(0, wholeLines));
    expect(report.rejected).toEqual({ 'truncated-gzip': 1, 'bad-json-line': 1 });
  });

  it('counts a gzip file whose data is corrupt as corrupt-gzip', async () => {
    const whole = gzipSync(ndjson([nthGet(0), nthGet(1)]));
    const corrupt = Buffer.concat([whole.subarray(0, 10), noise(whole.length - 10, 7)]);
    const path = await put('corrupt.json.gz', corrupt);
    const report = new IntakeReport();

    expect(await readAll([path], report)).toEqual([]);
    expect(report.rejected).toEqual({ 'corrupt-gzip': 1 });
  });

  it('counts a file of random bytes as not-json once', async () => {
    const bytes = noise(256 * 1024, 20261005);
    bytes[0] = 0x00; // not the gzip magic
    const path = await put('noise.json', bytes);
    const report = new IntakeReport();

    expect(bytes.filter((b) => b === 0x0a).length).toBeGreaterThan(100);
    expect(await readAll([path], report)).toEqual([]);
    expect(report.rejected).toEqual({ 'not-json': 1 });
  });

  it('counts a text file as not-json once, not once per line', async () => {
    const csv = await readFile(HONEY_BUCKET_CSV, 'utf8');
    const path = await put('honey-bucket.json', csv);
    const report = new IntakeReport();

    expect(csv.split('\n').length).toBeGreaterThan(300);
    expect(await readAll([path], report)).toEqual([]);
    expect(report.rejected).toEqual({ 'not-json': 1 });
  });

  it('does not take a line that happens to be JSON but not an object for a record', async () => {
    const path = await put('scalars.ndjson', `7\nnull\n"GetObject"\n${JSON.stringify(getObject)}\n[1,2]\n`);
    const report = new IntakeReport();

    const records = await readAll([path], report);

    expect(records.map((raw) => raw.record)).toEqual([getObject]);
    expect(report.rejected).toEqual({ 'bad-json-line': 4 });
  });

  it('returns the good lines of an NDJSON file and counts its one bad line', async () => {
    const lines = (await readFile(EXFILTRATION_LOG, 'utf8')).split('\n').filter((line) => line !== '');
    const cutLine = (lines[50] as string).slice(0, 200);
    const damaged = [...lines.slice(0, 50), cutLine, ...lines.slice(50)].join('\n');
    const path = await put('damaged.json', damaged);
    const report = new IntakeReport();

    const records = await readAll([path], report);

    expect(records.map((raw) => raw.record)).toEqual(lines.map((line) => JSON.parse(line)));
    expect(report.rejected).toEqual({ 'bad-json-line': 1 });
    expect(records.every((raw) => raw.source === path)).toBe(true);
  });

  it('passes a record with a missing field to normalizeRecord, which rejects it with its reason', async () => {
    const path = await put('missing.json', logFile([withoutField(getObject, 'eventID'), getObject]));
    const report = new IntakeReport();

    const records = await readAll([path], report);
    const outcomes = records.map((raw) => normalizeRecord(raw.record));

    expect(report.rejectedTotal).toBe(0);
    expect(outcomes.map((o) => o.kind)).toEqual(['rejected', 'event']);
    expect(outcomes[0]).toEqual({ kind: 'rejected', reason: 'missing-eventID' });
  });

  it('counts a file that vanished after listing as unreadable-file', async () => {
    const path = await put('gone.json', logFile([getObject]));
    const files = await listLogFiles([tempDir.path()]);
    await unlink(path);
    const report = new IntakeReport();

    const records = await readFrom(files, report);

    expect(files.map((file) => file.path)).toEqual([path]);
    expect(records).toEqual([]);
    expect(report.rejected).toEqual({ 'unreadable-file': 1 });
  });

  it("reads at once in a reader thread what it reads opened ahead: a small gzip file, one over 4 MiB that is streamed, and a vanished one", async () => {
    const small = await put('small.json.gz', gzipSync(logFile([getObject, nthGet(1)])));
    const large = await put('large.ndjson', ndjson(Array.from({ length: 4000 }, (_, i) => nthGet(i))));
    const gone = join(tempDir.path(), 'gone.json');
    expect((await stat(large)).size).toBeGreaterThan(4 * 1024 * 1024);
    const itemsOf = async (path: string, open: (input: { path: string }) => OpeningSource) => {
      const items: FileItem[] = [];
      for await (const item of readLogSource(open({ path }), path, false)) items.push(item);
      return items;
    };

    for (const path of [small, large, gone]) {
      const now = await itemsOf(path, openLogSourceNow);
      expect(now).toEqual(await itemsOf(path, openLogSource));
      const records = now.flatMap((item) => (item.kind === 'batch' ? item.records : []));
      expect(records).toHaveLength(path === small ? 2 : path === large ? 4000 : 0);
    }
    expect(await itemsOf(gone, openLogSourceNow)).toEqual([{ kind: 'count', reason: 'unreadable-file', location: gone }]);
  });

  it('yields nothing and no error for an empty file', async () => {
    const paths = [
      await put('empty.json', ''),
      await put('empty.json.gz', ''),
      await put('blank.ndjson', '\n \r\n\t\n'),
      await put('gzipped-nothing.json.gz', gzipSync('')),
    ];
    const report = new IntakeReport();

    expect(await readAll(paths, report)).toEqual([]);
    expect(report.rejectedTotal).toBe(0);
  });
});

describe('readLogFiles on large and unusual content', () => {
  it('reads every record of a 50 MB log file', async () => {
    const target = 50 * 1024 * 1024;
    const parts: string[] = [];
    let size = '{"Records":[]}'.length;
    for (let i = 0; size < target; i++) {
      const part = JSON.stringify(nthGet(i));
      parts.push(part);
      size += part.length + 1;
    }
    const path = await put('big.json', `{"Records":[${parts.join(',')}]}`);
    const report = new IntakeReport();

    const records = await readAll([path], report);
    const events = records.map((raw) => normalizeRecord(raw.record));

    expect((await stat(path)).size).toBeGreaterThanOrEqual(target);
    expect(records).toHaveLength(parts.length);
    expect(report.rejectedTotal).toBe(0);
    expect(events.every((o) => o.kind === 'event' && o.event.operation === 'get')).toBe(true);
    expect(new Set(events.map((o) => (o.kind === 'event' ? o.event.eventId : ''))).size).toBe(parts.length);
    expect(records.at(-1)?.record).toEqual(nthGet(parts.length - 1));
  });

  const oneKiB = `${'鍵'.repeat(341)}x`; // 341 × 3 bytes + 1 = 1,024 bytes, S3's longest key
  const unicodeKeys = [
    '報告書/2026年/顧客データ.csv',
    '📁 backups/🔑 secrets 🚀.tar.gz',
    'مستندات/تقرير-الربع-الثالث.pdf',
    'invoice-\u202Efdp.exe',
    'cafe\u0301/Ame\u0301lie.txt',
    'café/Amélie.txt',
    oneKiB,
  ];

  it.each([
    { form: 'a gzipped log file', name: 'unicode.json.gz', encode: (r: unknown[]) => gzipSync(logFile(r)) },
    { form: 'an NDJSON file', name: 'unicode.ndjson', encode: (r: unknown[]) => Buffer.from(ndjson(r)) },
  ])('keeps Unicode object keys byte-for-byte through $form and normalisation', async ({ name, encode }) => {
    const records = unicodeKeys.map((key, i) =>
      cloneRecord(nthGet(i), (r) => {
        r.requestParameters = { ...r.requestParameters, key };
      }),
    );
    const path = await put(name, encode(records));

    const keys = (await readAll([path])).map((raw) => {
      const outcome = normalizeRecord(raw.record);
      return outcome.kind === 'event' ? outcome.event.objectKey : undefined;
    });

    expect(Buffer.byteLength(oneKiB, 'utf8')).toBe(1024);
    expect(keys).toHaveLength(unicodeKeys.length);
    keys.forEach((key, i) => {
      expect(Buffer.from(key ?? '', 'utf8').equals(Buffer.from(unicodeKeys[i] as string, 'utf8'))).toBe(true);
    });
    // Composed and decomposed "café" stay two different objects.
    expect(keys[4]).not.toBe(keys[5]);
  });
});

describe('listLogFiles', () => {
  const account = 'AWSLogs/123456789123';
  const logName = (region: string, stamp: string, suffix: string): string =>
    `123456789123_CloudTrail_${region}_${stamp}_${suffix}.json.gz`;
  const digestName = '123456789123_CloudTrail-Digest_us-east-1_keysentry_us-east-1_20261005T031500Z.json.gz';
  const digest = { awsAccountId: '123456789123', digestStartTime: '2026-10-05T02:15:00Z', logFiles: [] };

  async function layTrail(): Promise<{ log: string; digestPath: string }> {
    const log = await put(
      `${account}/CloudTrail/us-east-1/2026/10/05/${logName('us-east-1', '20261005T0310Z', 'a1B2')}`,
      gzipSync(logFile([getObject])),
    );
    const digestPath = await put(
      `${account}/CloudTrail-Digest/us-east-1/2026/10/05/${digestName}`,
      gzipSync(JSON.stringify(digest)),
    );
    await put(`${account}/CloudTrail/us-east-1/2026/10/05/README.txt`, 'not a log');
    return { log, digestPath };
  }

  it('leaves CloudTrail-Digest/ out of a folder walk and skips files that are not logs by their content', async () => {
    const { log } = await layTrail();
    const readme = join(tempDir.path(), account, 'CloudTrail/us-east-1/2026/10/05/README.txt');
    const report = new IntakeReport();

    const files = await listLogFiles([tempDir.path()], report);
    const records = await readFrom(files, report);

    expect(files.map((file) => file.path)).toEqual([readme, log]);
    expect(records.map((raw) => raw.record)).toEqual([getObject]);
    expect(report.skipped).toEqual({ 'not-a-log-file': 1 });
    expect(report.rejectedTotal).toBe(0);
  });

  it('skips a digest file named explicitly as a digest, not as a damaged record', async () => {
    const { digestPath } = await layTrail();
    const report = new IntakeReport();
    const files = await listLogFiles([digestPath], report);

    expect(files.map((file) => file.path)).toEqual([digestPath]);
    expect(await readFrom(files, report)).toEqual([]);
    expect(report.skipped).toEqual({ 'cloudtrail-digest': 1 });
    expect(report.rejectedTotal).toBe(0);
  });

  it('walks the CloudTrail-Digest folder when it is named explicitly', async () => {
    const { digestPath } = await layTrail();

    expect((await listLogFiles([join(tempDir.path(), account, 'CloudTrail-Digest')])).map((file) => file.path)).toEqual([
      digestPath,
    ]);
  });

  it('orders files by the CloudTrail delivery stamp in the name, not by folder', async () => {
    const byFolder = [
      ['eu-west-1', '20261005T0320Z'],
      ['us-east-1', '20261005T0310Z'],
      ['us-west-2', '20261005T0305Z'],
      ['us-west-2', '20261004T2355Z'],
    ] as const;
    const paths = await Promise.all(
      byFolder.map(([region, stamp], i) =>
        put(
          `${account}/CloudTrail/${region}/2026/10/05/${logName(region, stamp, `f${i}`)}`,
          gzipSync(logFile([nthGet(i)])),
        ),
      ),
    );

    const listed = (await listLogFiles([tempDir.path()])).map((file) => file.path);

    expect(listed).toEqual([paths[3], paths[2], paths[1], paths[0]]);
  });

  it('reports the size of each file', async () => {
    const content = logFile([getObject]);
    const path = await put('one.json', content);

    expect(await listLogFiles([path])).toEqual([{ path, bytes: Buffer.byteLength(content), explicit: true }]);
  });

  it('throws a named error for a path that does not exist', async () => {
    await expect(listLogFiles([join(tempDir.path(), 'nowhere')])).rejects.toThrow(/cannot read .*nowhere/);
  });
});

describe('IntakeReport as the reader problem counter', () => {
  it('counts every problem but keeps only the first three distinct places', () => {
    const report = new IntakeReport();
    for (const source of ['a.json', 'a.json', 'b.json', 'c.json', 'd.json']) report.count('bad-json-line', source);

    expect(report.rejected).toEqual({ 'bad-json-line': 5 });
    expect(report.examples['bad-json-line']).toEqual(['a.json', 'b.json', 'c.json']);
    expect(report.rejectedTotal).toBe(5);
  });
});
