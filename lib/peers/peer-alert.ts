/** A CloudTrail record as a SIEM ingests it: every field lookup has a default. */
export type RawRecord = Record<string, unknown>;

/** One alert of a peer rule: when the rule raised it, about what, and on which records. */
export interface PeerAlert {
  rule: string;
  /** When the alert exists: the scheduled run that found it, or the event that crossed a streaming threshold. */
  at: number;
  /** What the alert names (key and address, user and bucket, ARN and address). */
  entity: string;
  /** eventIDs of the records behind the alert. */
  eventIds: string[];
}

/** Options shared by every peer: how long after `eventTime` the SIEM has a record (0: at once). */
export interface PeerTiming {
  ingestDelayMs?: number;
}

/** `record.a.b…`, or undefined when any step is missing or not an object. */
export function deepGet(record: RawRecord, ...path: string[]): unknown {
  let value: unknown = record;
  for (const step of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/** A string field, or `fallback`. */
export function textAt(record: RawRecord, fallback: string, ...path: string[]): string {
  const value = deepGet(record, ...path);
  return typeof value === 'string' ? value : fallback;
}

/** Milliseconds of a record's `eventTime`, or NaN. */
export function eventTimeOf(record: RawRecord): number {
  return Date.parse(textAt(record, '', 'eventTime'));
}

/** An IPv4 or IPv6 literal (CloudTrail also writes service names such as `s3.amazonaws.com`). */
export function isIpAddress(value: string): boolean {
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(value)) return value.split('.').every((octet) => Number(octet) <= 255);
  return /^[0-9a-f:]+$/i.test(value) && value.includes(':');
}
