import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { checkLogFile, parseDigest, verifyDigest, type DigestFile, type TrailPublicKey } from '../domain/digest.ts';

/** CloudTrail's public keys of one region in use at a time (`cloudtrail:ListPublicKeys`, or a saved list). */
export type PublicKeyLookup = (region: string, at: Date) => Promise<TrailPublicKey[]>;

/** What validating the digests of local copies came to. */
export interface LocalDigestCheck {
  /** Local paths (resolved) of the log files a valid digest lists with their content's hash. */
  verified: Set<string>;
  digests: { verified: number; failed: Array<{ path: string; reason: string }> };
  /** Log files a valid digest lists whose copy is missing or differs. */
  logFiles: { failed: Array<{ path: string; reason: string }> };
}

const DIGEST_FOLDER = /\/CloudTrail-Digest\/([a-z]{2}(?:-[a-z]+)+-\d)\//;
/** Digest files hold at most a few kilobytes per hour of log files; log files are capped as a reader would. */
const MAX_INFLATED = 512 * 1024 * 1024;

async function walk(path: string, files: string[], problems: Array<{ path: string; reason: string }>): Promise<void> {
  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOTDIR') files.push(path);
    else problems.push({ path, reason: code ?? 'unreadable' });
    return;
  }
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await walk(child, files, problems);
    else if (entry.isFile()) files.push(child);
  }
}

const inflate = (bytes: Buffer): Buffer => (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes, { maxOutputLength: MAX_INFLATED }) : bytes);

/**
 * Validates the CloudTrail digests found under `paths` (`…/CloudTrail-Digest/<region>/…`) as
 * `aws cloudtrail validate-logs` does, offline: a digest's signature is taken from the next digest
 * of its trail (its `previousDigestSignature`) or from a `<digest>.signature` file beside it (the
 * hex of the object's `x-amz-meta-signature`, which a copy without metadata loses); the digest must
 * sit under the key it names; the public key is the one of its fingerprint from `publicKeys`. Each
 * log file a valid digest lists is found by its key at the end of a local path, and vouched for
 * when the SHA-256 of its uncompressed content is the listed one.
 */
export async function verifyLocalDigests(paths: readonly string[], publicKeys: PublicKeyLookup): Promise<LocalDigestCheck> {
  const files: string[] = [];
  const result: LocalDigestCheck = { verified: new Set(), digests: { verified: 0, failed: [] }, logFiles: { failed: [] } };
  for (const path of paths) await walk(path, files, result.digests.failed);
  const digests: Array<{ path: string; uncompressed: Buffer; digest: DigestFile; region: string }> = [];
  for (const path of files) {
    const region = DIGEST_FOLDER.exec(path)?.[1];
    if (region === undefined || path.endsWith('.signature')) continue;
    try {
      const uncompressed = inflate(await readFile(path));
      const digest = parseDigest(uncompressed.toString('utf8'));
      if (typeof digest === 'string') result.digests.failed.push({ path, reason: digest });
      else digests.push({ path, uncompressed, digest, region });
    } catch (error) {
      result.digests.failed.push({ path, reason: (error as { code?: string }).code ?? 'unreadable' });
    }
  }
  const signatureFromNext = new Map<string, string>();
  for (const { digest } of digests) {
    const previous = (digest as DigestFile & { previousDigestS3Object?: string | null }).previousDigestS3Object;
    if (previous && digest.previousDigestSignature) signatureFromNext.set(previous, digest.previousDigestSignature);
  }
  const logs = files.filter((path) => !DIGEST_FOLDER.test(path));
  for (const { path, uncompressed, digest, region } of digests) {
    if (!path.endsWith(`/${digest.digestS3Object}`)) {
      result.digests.failed.push({ path, reason: 'digest-moved' });
      continue;
    }
    const beside = await readFile(`${path}.signature`, 'utf8').then((text) => text.trim(), () => undefined);
    const signatureHex = beside ?? signatureFromNext.get(digest.digestS3Object);
    const check = verifyDigest({
      uncompressed,
      bucket: digest.digestS3Bucket,
      key: digest.digestS3Object,
      signatureHex,
      publicKeys: await publicKeys(region, new Date(digest.digestEndTime)),
    });
    if (!check.ok) {
      result.digests.failed.push({ path, reason: check.reason });
      continue;
    }
    result.digests.verified++;
    for (const listed of digest.logFiles) {
      const local = logs.find((candidate) => candidate.endsWith(`/${listed.s3Object}`));
      if (local === undefined) continue;
      const hash = createHash('sha256').update(inflate(await readFile(local))).digest('hex');
      const verdict = checkLogFile(digest, listed.s3Bucket, listed.s3Object, hash);
      if (verdict === 'verified') result.verified.add(resolve(local));
      else result.logFiles.failed.push({ path: local, reason: verdict });
    }
  }
  return result;
}
