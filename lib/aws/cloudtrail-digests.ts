import { ListPublicKeysCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createGunzip, gunzipSync } from 'node:zlib';
import { parseDigest, verifyDigest, type DigestCheck, type TrailPublicKey } from '../domain/digest.ts';

/** CloudTrail's public keys of one region that were in use at `at` (the digest's end time). */
export type PublicKeySource = (region: string, at: Date) => Promise<TrailPublicKey[]>;

/**
 * Public keys from `cloudtrail:ListPublicKeys` in the digest's region (CloudTrail signs each
 * region's digests with that region's key), every page of them.
 */
export function cloudTrailPublicKeys(clientFor: (region: string) => CloudTrailClient): PublicKeySource {
  return async (region, at) => {
    const client = clientFor(region);
    const keys: TrailPublicKey[] = [];
    let NextToken: string | undefined;
    do {
      const page = await client.send(new ListPublicKeysCommand({ StartTime: at, EndTime: at, NextToken }));
      for (const key of page.PublicKeyList ?? []) {
        if (key.Value !== undefined && key.Fingerprint !== undefined) keys.push({ fingerprint: key.Fingerprint, value: key.Value });
      }
      NextToken = page.NextToken;
    } while (NextToken !== undefined && NextToken !== '');
    return keys;
  };
}

/**
 * Public keys saved from `aws cloudtrail list-public-keys --output json` (`PublicKeyList` of
 * `{ Fingerprint, Value }`, the value base64), for validating offline: every region's keys in one
 * list, told apart by fingerprint.
 */
export function publicKeysFromJson(text: string): PublicKeySource {
  const parsed = JSON.parse(text) as { PublicKeyList?: Array<{ Fingerprint?: unknown; Value?: unknown }> };
  const keys = (parsed.PublicKeyList ?? []).flatMap((entry) =>
    typeof entry.Fingerprint === 'string' && typeof entry.Value === 'string'
      ? [{ fingerprint: entry.Fingerprint, value: new Uint8Array(Buffer.from(entry.Value, 'base64')) }]
      : [],
  );
  return async () => keys;
}

const isGzip = (bytes: Uint8Array): boolean => bytes[0] === 0x1f && bytes[1] === 0x8b;

/**
 * SHA-256 (hex) of a log file's uncompressed content — what a digest lists for it — inflated as a
 * stream, so that a large file costs no more memory than its compressed bytes.
 */
export async function hashUncompressed(bytes: Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  if (!isGzip(bytes)) return hash.update(bytes).digest('hex');
  const gunzip = createGunzip();
  const done = new Promise<void>((resolve, reject) => {
    gunzip.on('data', (chunk: Buffer) => hash.update(chunk));
    gunzip.on('end', resolve);
    gunzip.on('error', reject);
  });
  gunzip.end(bytes);
  await done;
  return hash.digest('hex');
}

/** A digest file is a few kilobytes per hour of log files: more than this is not one. */
const MAX_DIGEST_BYTES = 16 * 1024 * 1024;

/** Why a digest object could not be checked at all. */
export type DigestReadFailure = 'digest-missing' | 'digest-not-gzip';

/**
 * Reads a digest object from S3 and validates it: its signature (`x-amz-meta-signature`) with the
 * CloudTrail public key of its fingerprint, from `publicKeys` in its region at its end time. A
 * digest deleted before it was read is `digest-missing`; any other S3 or CloudTrail failure throws
 * (the notification is retried).
 */
export async function readVerifiedDigest(
  deps: { s3: S3Client; publicKeys: PublicKeySource },
  object: { bucket: string; key: string; region: string },
): Promise<DigestCheck | { ok: false; reason: DigestReadFailure }> {
  let response;
  try {
    response = await deps.s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }));
  } catch (error) {
    if (error instanceof NoSuchKey) return { ok: false, reason: 'digest-missing' };
    throw error;
  }
  const body = response.Body === undefined ? new Uint8Array() : await response.Body.transformToByteArray();
  let uncompressed: Uint8Array;
  try {
    uncompressed = gunzipSync(body, { maxOutputLength: MAX_DIGEST_BYTES });
  } catch {
    return { ok: false, reason: 'digest-not-gzip' };
  }
  const digest = parseDigest(new TextDecoder().decode(uncompressed));
  if (typeof digest === 'string') return { ok: false, reason: digest };
  const endTime = new Date(digest.digestEndTime);
  const publicKeys = Number.isNaN(endTime.getTime()) ? [] : await deps.publicKeys(object.region, endTime);
  return verifyDigest({ uncompressed, bucket: object.bucket, key: object.key, signatureHex: response.Metadata?.signature, publicKeys });
}
