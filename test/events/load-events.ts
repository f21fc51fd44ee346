import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Real CloudTrail records (OTRF SDAWS-200914011940), NDJSON as published; see otrf/README.md. */
export const EXFILTRATION_LOG = fileURLToPath(
  new URL('./otrf/ec2_proxy_s3_exfiltration_2020-09-14011940.json', import.meta.url),
);
/** Real honey-bucket alerts (OTRF SDAWS-2202181000), CSV as published. */
export const HONEY_BUCKET_CSV = fileURLToPath(new URL('./otrf/AWS_S3_HoneyBucketLogs.csv', import.meta.url));

export interface UserIdentity {
  type?: string;
  arn?: string;
  accountId?: string;
  principalId?: string;
  accessKeyId?: string;
  userName?: string;
  invokedBy?: string;
  sessionContext?: {
    sessionIssuer?: { type?: string; arn?: string; userName?: string; accountId?: string; principalId?: string };
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

/** A CloudTrail record as found in the corpus; every field may be missing in a damaged copy. */
export interface CloudTrailRecord {
  eventVersion?: string;
  eventTime?: string;
  '@timestamp'?: string;
  '@version'?: string;
  eventSource?: string;
  eventName?: string;
  eventID?: string;
  eventCategory?: string;
  requestID?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  recipientAccountId?: string;
  errorCode?: string;
  errorMessage?: string;
  userIdentity?: UserIdentity;
  requestParameters?: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown>;
  [field: string]: unknown;
}

/** Loads an NDJSON file of CloudTrail records; a line that is not JSON fails the test run. */
export function loadRecords(path: string = EXFILTRATION_LOG): CloudTrailRecord[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CloudTrailRecord);
}

/**
 * Undoes the Logstash post-processing of the OTRF copy: puts `@timestamp` back as `eventTime`
 * in CloudTrail's own format (UTC, second resolution) and drops `@timestamp` and `@version`.
 */
export function withEventTime(record: CloudTrailRecord): CloudTrailRecord {
  const { '@timestamp': timestamp, '@version': _version, ...rest } = structuredClone(record);
  if (timestamp === undefined) throw new Error(`record ${record.eventID} has no @timestamp to restore`);
  return { ...rest, eventTime: new Date(timestamp).toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

/** The corpus records with `eventTime` restored: what CloudTrail itself delivered. */
export function loadRepairedRecords(path: string = EXFILTRATION_LOG): CloudTrailRecord[] {
  return loadRecords(path).map(withEventTime);
}

/** A deep copy of a real record, changed by `change`; the original is left alone. */
export function cloneRecord(record: CloudTrailRecord, change: (copy: CloudTrailRecord) => void): CloudTrailRecord {
  const copy = structuredClone(record);
  change(copy);
  return copy;
}

/** A deep copy of a real record without one field: the negative case of that field. */
export function withoutField(record: CloudTrailRecord, field: string): CloudTrailRecord {
  if (!(field in record)) throw new Error(`record ${record.eventID} has no ${field} to remove`);
  return cloneRecord(record, (copy) => {
    delete copy[field];
  });
}

/** The first record that matches, or a failed test run that says which one was missing. */
export function pickRecord(
  records: readonly CloudTrailRecord[],
  description: string,
  matches: (record: CloudTrailRecord) => boolean,
): CloudTrailRecord {
  const found = records.find(matches);
  if (found === undefined) throw new Error(`no ${description} record in the corpus`);
  return found;
}

/** A time as CloudTrail writes `eventTime`: ISO 8601 to the second (`2026-10-05T00:00:00Z`). */
export const eventTimeText = (time: number): string => new Date(time).toISOString().replace('.000Z', 'Z');

let getObject: CloudTrailRecord | undefined;
/** A copy of the corpus's first real `GetObject` record under another eventID, at another time. */
export function getObjectRecord(eventId: string, eventTime: number | string): CloudTrailRecord {
  getObject ??= pickRecord(loadRepairedRecords(), 'GetObject', (r) => r.eventName === 'GetObject');
  return cloneRecord(getObject, (r) => {
    r.eventID = eventId;
    r.eventTime = typeof eventTime === 'string' ? eventTime : eventTimeText(eventTime);
  });
}

/** One row of the honey-bucket CSV, by column header. */
export type HoneyBucketRow = Record<string, string>;

/** Loads the honey-bucket CSV as rows keyed by the header's column names. */
export function loadHoneyBucketRows(path: string = HONEY_BUCKET_CSV): HoneyBucketRow[] {
  const [header, ...rows] = parseCsv(readFileSync(path, 'utf8'));
  if (header === undefined) throw new Error(`${path} has no header`);
  return rows.map((fields, index) => {
    if (fields.length !== header.length) {
      throw new Error(`${path} row ${index + 2} has ${fields.length} fields, the header ${header.length}`);
    }
    return Object.fromEntries(header.map((name, i) => [name, fields[i] ?? '']));
  });
}

/** RFC 4180 CSV: quoted fields may hold commas, quotes (doubled) and line breaks; CRLF or LF rows. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += ch;
    }
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

/**
 * Parses the Python dict literal the honey-bucket export wrote for `userIdentity`
 * (`{'type': 'AWSAccount', 'principalId': '', 'accountId': 'ANONYMOUS_PRINCIPAL'}`): string keys,
 * string or `None` values, either quote. Anything else throws, so a row that cannot be read
 * fails the test instead of being skipped.
 */
export function parsePythonDict(text: string): Record<string, string | undefined> {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`expected ${what} at ${i} in ${text}`);
  };
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const consume = (ch: string): void => {
    skipSpace();
    if (text[i] !== ch) fail(`'${ch}'`);
    i++;
  };
  const readString = (): string => {
    skipSpace();
    const quote = text[i];
    if (quote !== "'" && quote !== '"') return fail('a quoted string');
    let value = '';
    for (i++; i < text.length && text[i] !== quote; i++) {
      if (text[i] === '\\') i++;
      value += text[i] ?? '';
    }
    if (text[i] !== quote) fail('a closing quote');
    i++;
    return value;
  };
  const readValue = (): string | undefined => {
    skipSpace();
    if (text.startsWith('None', i)) {
      i += 4;
      return undefined;
    }
    return readString();
  };

  const result: Record<string, string | undefined> = {};
  consume('{');
  skipSpace();
  if (text[i] === '}') {
    i++;
  } else {
    for (;;) {
      const key = readString();
      consume(':');
      result[key] = readValue();
      skipSpace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      consume('}');
      break;
    }
  }
  skipSpace();
  if (i !== text.length) fail('the end');
  return result;
}
