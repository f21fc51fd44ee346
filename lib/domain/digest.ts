import { createHash, createPublicKey, verify } from 'node:crypto';

/**
 * CloudTrail log file integrity validation, as AWS documents it ("CloudTrail digest file
 * structure", "Validating CloudTrail log file integrity with custom implementations"; the AWS
 * CLI's `cloudtrail validate-logs` does the same):
 * - every hour CloudTrail delivers a digest file (`…/CloudTrail-Digest/…json.gz`) listing the log
 *   files it delivered, each with the SHA-256 of its **uncompressed** content;
 * - the digest is signed SHA256withRSA over the string
 *   `digestEndTime \n digestS3Bucket/digestS3Object \n hex(SHA-256(uncompressed digest)) \n
 *   previousDigestSignature` (the literal `null` for the first digest of a trail); the signature,
 *   hex, is the digest object's `x-amz-meta-signature`;
 * - the public key is the one `cloudtrail:ListPublicKeys` returns (per region) whose fingerprint
 *   is the digest's `digestPublicKeyFingerprint`; its value is a DER-encoded PKCS#1 RSA key.
 */

/** One log file a digest vouches for. */
export interface DigestLogFile {
  s3Bucket: string;
  s3Object: string;
  hashValue: string;
  hashAlgorithm: string;
}

/** The fields of a digest file that validation reads. */
export interface DigestFile {
  awsAccountId: string;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  digestSignatureAlgorithm: string;
  previousDigestSignature: string | null;
  logFiles: DigestLogFile[];
}

/** A CloudTrail public key as `ListPublicKeys` returns it. */
export interface TrailPublicKey {
  fingerprint: string;
  /** DER-encoded PKCS#1 RSA public key. */
  value: Uint8Array;
}

/** Why a digest or a log file is not vouched for. */
export type DigestFailure =
  | 'digest-not-json'
  | 'digest-incomplete'
  | 'digest-moved'
  | 'unsupported-signature-algorithm'
  | 'digest-unsigned'
  | 'unknown-public-key'
  | 'bad-signature'
  | 'not-listed'
  | 'hash-mismatch';

export type DigestCheck = { ok: true; digest: DigestFile } | { ok: false; reason: DigestFailure };

const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** Reads a digest file's JSON, or says why it cannot: not JSON, or a field validation needs missing or mistyped. */
export function parseDigest(text: string): DigestFile | 'digest-not-json' | 'digest-incomplete' {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'digest-not-json';
  }
  const digest = parsed as Partial<Record<keyof DigestFile, unknown>> | null;
  if (digest === null || typeof digest !== 'object') return 'digest-incomplete';
  const fields = ['awsAccountId', 'digestEndTime', 'digestS3Bucket', 'digestS3Object', 'digestPublicKeyFingerprint', 'digestSignatureAlgorithm'] as const;
  if (!fields.every((field) => isText(digest[field]))) return 'digest-incomplete';
  if (digest.previousDigestSignature !== null && !isText(digest.previousDigestSignature)) return 'digest-incomplete';
  if (!Array.isArray(digest.logFiles)) return 'digest-incomplete';
  const logFiles = digest.logFiles as Array<Partial<Record<keyof DigestLogFile, unknown>>>;
  const listed = ['s3Bucket', 's3Object', 'hashValue', 'hashAlgorithm'] as const;
  if (!logFiles.every((file) => file !== null && typeof file === 'object' && listed.every((field) => isText(file[field])))) {
    return 'digest-incomplete';
  }
  return digest as unknown as DigestFile;
}

/** SHA-256, hex: what a digest lists for a log file (of its uncompressed content) and signs for itself. */
export const sha256Hex = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** The string CloudTrail signs for a digest, from the digest and its uncompressed bytes. */
export function signingStringOf(digest: DigestFile, uncompressedDigest: Uint8Array): string {
  return [
    digest.digestEndTime,
    `${digest.digestS3Bucket}/${digest.digestS3Object}`,
    sha256Hex(uncompressedDigest),
    digest.previousDigestSignature ?? 'null',
  ].join('\n');
}

/**
 * Validates a digest file: read from where it says it was delivered (`bucket`, `key`), signed
 * SHA256withRSA with the CloudTrail key of its fingerprint over its signing string. `signatureHex`
 * is the object's `x-amz-meta-signature`; `publicKeys` those of the digest's region and time.
 */
export function verifyDigest(input: {
  uncompressed: Uint8Array;
  bucket: string;
  key: string;
  signatureHex: string | undefined;
  publicKeys: readonly TrailPublicKey[];
}): DigestCheck {
  const digest = parseDigest(new TextDecoder().decode(input.uncompressed));
  if (typeof digest === 'string') return { ok: false, reason: digest };
  if (digest.digestS3Bucket !== input.bucket || digest.digestS3Object !== input.key) return { ok: false, reason: 'digest-moved' };
  if (digest.digestSignatureAlgorithm !== 'SHA256withRSA') return { ok: false, reason: 'unsupported-signature-algorithm' };
  if (input.signatureHex === undefined || !/^([0-9a-f]{2})+$/i.test(input.signatureHex)) return { ok: false, reason: 'digest-unsigned' };
  const publicKey = input.publicKeys.find((candidate) => candidate.fingerprint === digest.digestPublicKeyFingerprint);
  if (publicKey === undefined) return { ok: false, reason: 'unknown-public-key' };
  let valid: boolean;
  try {
    const key = createPublicKey({ key: Buffer.from(publicKey.value), format: 'der', type: 'pkcs1' });
    valid = verify('sha256', Buffer.from(signingStringOf(digest, input.uncompressed), 'utf8'), key, Buffer.from(input.signatureHex, 'hex'));
  } catch {
    valid = false;
  }
  return valid ? { ok: true, digest } : { ok: false, reason: 'bad-signature' };
}

/**
 * Whether a verified digest vouches for a log file: it lists the file (bucket and key) with
 * `uncompressedSha256`, the SHA-256 (hex) of the file's uncompressed content.
 */
export function checkLogFile(digest: DigestFile, bucket: string, key: string, uncompressedSha256: string): 'verified' | DigestFailure {
  const entry = digest.logFiles.find((file) => file.s3Bucket === bucket && file.s3Object === key);
  if (entry === undefined || entry.hashAlgorithm !== 'SHA-256') return 'not-listed';
  return entry.hashValue.toLowerCase() === uncompressedSha256.toLowerCase() ? 'verified' : 'hash-mismatch';
}
