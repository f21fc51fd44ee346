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

const utf8Bytes = (text: string): number => {
  // Most keys are ASCII: the character count bounds the byte count from below, the exact count only when needed.
  if (text.length > S3_LIMITS.objectKeyBytes) return text.length;
  return new TextEncoder().encode(text).length;
};

/** A byte count as the record gives it (number or numeric string) outside `[0, requestBytes]`; absent counts are fine. */
function outOfRange(raw: unknown): boolean {
  if (raw === undefined || raw === null || raw === '') return false;
  const bytes = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof bytes !== 'number') return false;
  return Number.isNaN(bytes) ? typeof raw === 'number' : !Number.isFinite(bytes) || bytes < 0 || bytes > S3_LIMITS.requestBytes;
}

/** The first of S3's limits a record's fields exceed, if any; the byte counts as the record has them. */
export function checkS3Limits(fields: { bucket?: string; objectKey?: string; bytesOut: unknown; bytesIn: unknown }): LimitViolation | undefined {
  if (fields.objectKey !== undefined && utf8Bytes(fields.objectKey) > S3_LIMITS.objectKeyBytes) return 'object-key-too-long';
  if (fields.bucket !== undefined && fields.bucket.length > S3_LIMITS.bucketNameChars) return 'bucket-name-too-long';
  if (outOfRange(fields.bytesOut) || outOfRange(fields.bytesIn)) return 'bytes-out-of-range';
  return undefined;
}
