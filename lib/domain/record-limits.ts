/**
 * S3's own limits, which no genuine S3 data event exceeds: an object key of at most 1,024 bytes of
 * UTF-8, a bucket name of at most 63 characters, and no request moving more bytes than the
 * largest object (10,000 parts × 5 GiB, the "50 TB" of the S3 user guide, Amazon S3 objects
 * overview). A record beyond them is damaged or made up: it is rejected with its reason at intake,
 * before it can reach the store (where a 1 MB key would make every write of its batch fail).
 */
export const S3_LIMITS = {
  objectKeyBytes: 1024,
  bucketNameChars: 63,
  requestBytes: 10_000 * 5 * 2 ** 30,
} as const;

/** Why a record is beyond what S3 can produce. */
export type LimitViolation = 'object-key-too-long' | 'bucket-name-too-long' | 'bytes-out-of-range';

/** UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair, two units, takes 4). */
const MAX_UTF8_BYTES_PER_UNIT = 3;

/** Whether a key is longer than S3 allows, encoded only when its length alone does not tell. */
function keyTooLong(key: string): boolean {
  if (key.length > S3_LIMITS.objectKeyBytes) return true;
  if (key.length * MAX_UTF8_BYTES_PER_UNIT <= S3_LIMITS.objectKeyBytes) return false;
  return new TextEncoder().encode(key).length > S3_LIMITS.objectKeyBytes;
}

/** A byte count as the record gives it (number or numeric string) outside `[0, requestBytes]`; absent counts are fine. */
function outOfRange(raw: unknown): boolean {
  if (raw === undefined || raw === null || raw === '') return false;
  const bytes = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof bytes !== 'number') return false;
  return Number.isNaN(bytes) ? typeof raw === 'number' : !Number.isFinite(bytes) || bytes < 0 || bytes > S3_LIMITS.requestBytes;
}

/** The first of S3's limits a record's fields exceed, if any; the byte counts as the record has them. */
export function checkS3Limits(fields: { bucket?: string; objectKey?: string; bytesOut: unknown; bytesIn: unknown }): LimitViolation | undefined {
  if (fields.objectKey !== undefined && keyTooLong(fields.objectKey)) return 'object-key-too-long';
  if (fields.bucket !== undefined && fields.bucket.length > S3_LIMITS.bucketNameChars) return 'bucket-name-too-long';
  if (outOfRange(fields.bytesOut) || outOfRange(fields.bytesIn)) return 'bytes-out-of-range';
  return undefined;
}
