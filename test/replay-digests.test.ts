import { createHash, createSign, generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../lib/commands/cli.ts';
import { verifyLocalDigests } from '../lib/intake/digest-files.ts';
import { cloneRecord, loadRepairedRecords, pickRecord } from './events/load-events.ts';

// `keysentry replay --verify-digests` offline: local copies of log files and their digests, the
// digest signed in this test with a key pair of its own, whose public half stands for CloudTrail's.

const ACCOUNT = '123456789123';
const REGION = 'us-east-1';
const BUCKET = 'org-trail-logs';
const FINGERPRINT = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const cloudTrailKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicKeys = async () => [{ fingerprint: FINGERPRINT, value: cloudTrailKey.publicKey.export({ format: 'der', type: 'pkcs1' }) }];

const logKey = (name: string) => `AWSLogs/${ACCOUNT}/CloudTrail/${REGION}/2020/09/14/${ACCOUNT}_CloudTrail_${REGION}_20200914T0105Z_${name}.json.gz`;
const digestKey = (hour: string) =>
  `AWSLogs/${ACCOUNT}/CloudTrail-Digest/${REGION}/2020/09/14/${ACCOUNT}_CloudTrail-Digest_${REGION}_trail_${REGION}_20200914T${hour}0000Z.json.gz`;

/** A real log file's content: the OTRF records of the stolen session. */
const LOG = JSON.stringify({ Records: loadRepairedRecords().slice(0, 20) });
const FORGED = JSON.stringify({
  Records: [cloneRecord(pickRecord(loadRepairedRecords(), 'GetObject', (r) => r.eventName === 'GetObject'), (copy) => void (copy.eventID = 'forged'))],
});

function digestOf(key: string, files: Array<{ key: string; content: string }>, previous?: { key: string; signature: string }) {
  const text = JSON.stringify({
    awsAccountId: ACCOUNT,
    digestStartTime: '2020-09-14T00:00:00Z',
    digestEndTime: '2020-09-14T01:00:00Z',
    digestS3Bucket: BUCKET,
    digestS3Object: key,
    digestPublicKeyFingerprint: FINGERPRINT,
    digestSignatureAlgorithm: 'SHA256withRSA',
    previousDigestS3Bucket: previous ? BUCKET : null,
    previousDigestS3Object: previous?.key ?? null,
    previousDigestSignature: previous?.signature ?? null,
    logFiles: files.map((file) => ({
      s3Bucket: BUCKET,
      s3Object: file.key,
      hashValue: createHash('sha256').update(file.content).digest('hex'),
      hashAlgorithm: 'SHA-256',
    })),
  });
  const signing = ['2020-09-14T01:00:00Z', `${BUCKET}/${key}`, createHash('sha256').update(text).digest('hex'), previous?.signature ?? 'null'].join('\n');
  return { body: gzipSync(text), signature: createSign('sha256').update(signing).sign(cloudTrailKey.privateKey).toString('hex') };
}

let root: string;
const put = async (key: string, body: string | Uint8Array) => {
  const path = join(root, key);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, body);
  return path;
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keysentry-digests-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('validating local copies against their digests', () => {
  it('vouches for a listed log file whose content hashes as listed, with the signature beside the digest', async () => {
    const folder = join(root, 'one');
    const genuine = await put(`one/${logKey('Genuine0000000001')}`, gzipSync(LOG));
    const unlisted = await put(`one/${logKey('Unlisted000000001')}`, gzipSync(FORGED));
    const digest = digestOf(digestKey('01'), [{ key: logKey('Genuine0000000001'), content: LOG }]);
    const digestPath = await put(`one/${digestKey('01')}`, digest.body);
    await writeFile(`${digestPath}.signature`, digest.signature);

    const check = await verifyLocalDigests([folder], publicKeys);

    expect([...check.verified]).toEqual([resolve(genuine)]);
    expect(check.verified.has(resolve(unlisted))).toBe(false);
    expect(check.digests).toEqual({ verified: 1, failed: [] });
  });

  it('takes an older digest\'s signature from the next digest of the chain', async () => {
    const folder = join(root, 'chain');
    const first = digestOf(digestKey('01'), [{ key: logKey('Chained0000000001'), content: LOG }]);
    const second = digestOf(digestKey('02'), [], { key: digestKey('01'), signature: first.signature });
    const log = await put(`chain/${logKey('Chained0000000001')}`, gzipSync(LOG));
    await put(`chain/${digestKey('01')}`, first.body);
    const newest = await put(`chain/${digestKey('02')}`, second.body);

    const check = await verifyLocalDigests([folder], publicKeys);

    expect([...check.verified]).toEqual([resolve(log)]);
    // The newest digest's own signature lived in S3 metadata: without its .signature file it cannot be checked.
    expect(check.digests.failed).toEqual([{ path: newest, reason: 'digest-unsigned' }]);
  });

  it('does not vouch for a tampered copy, a moved digest or one signed by another key', async () => {
    const folder = join(root, 'bad');
    const tampered = await put(`bad/${logKey('Tampered000000001')}`, gzipSync(FORGED));
    const listed = digestOf(digestKey('01'), [{ key: logKey('Tampered000000001'), content: LOG }]);
    const digestPath = await put(`bad/${digestKey('01')}`, listed.body);
    await writeFile(`${digestPath}.signature`, listed.signature);
    const moved = await put(`bad/elsewhere/CloudTrail-Digest/${REGION}/x.json.gz`, listed.body);
    await writeFile(`${moved}.signature`, listed.signature);

    const check = await verifyLocalDigests([folder], async () => []);
    expect(check.verified.size).toBe(0);
    expect(check.digests.failed).toEqual(
      expect.arrayContaining([
        { path: digestPath, reason: 'unknown-public-key' },
        { path: moved, reason: 'digest-moved' },
      ]),
    );

    const withKey = await verifyLocalDigests([folder], publicKeys);
    expect(withKey.verified.size).toBe(0);
    expect(withKey.logFiles.failed).toEqual([{ path: tampered, reason: 'hash-mismatch' }]);
  });
});

describe('keysentry replay --verify-digests', () => {
  let dir: string;
  let keysFile: string;
  const captureIo = () => {
    const out: string[] = [];
    const err: string[] = [];
    return {
      io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t), isTTY: false } },
      incidents: () => out.join('').trim().split('\n').slice(0, -1).map((line) => JSON.parse(line) as { action: string; blockedBy: string | null }),
      stderr: () => err.join(''),
    };
  };

  beforeAll(async () => {
    dir = join(root, 'breach');
    expect(await runCli(['simulate', 'breach', dir, '--days', '16', '--seed', '3'], captureIo().io)).toBe(0);
    keysFile = join(root, 'public-keys.json');
    const der = cloudTrailKey.publicKey.export({ format: 'der', type: 'pkcs1' });
    await writeFile(keysFile, JSON.stringify({ PublicKeyList: [{ Fingerprint: FINGERPRINT, Value: der.toString('base64') }] }));
  }, 180_000);

  it('pages "unverified evidence" for the breach when no digest vouches for its log files', { timeout: 180_000 }, async () => {
    const capture = captureIo();
    expect(await runCli(['replay', '--json', '--verify-digests', '--public-keys', keysFile, join(dir, 'AWSLogs')], capture.io)).toBe(0);
    const incidents = capture.incidents();
    expect(incidents.length).toBeGreaterThanOrEqual(1);
    expect(incidents.every((incident) => incident.action === 'page')).toBe(true);
    expect(incidents.some((incident) => incident.blockedBy === 'unverified-evidence')).toBe(true);
    // The simulator writes digest files of its own, which no CloudTrail key signed.
    expect(capture.stderr()).toMatch(/^digests: 0 valid, \d+ not; 0 log files vouched for/);
  });

  it('contains the breach as before once a signed digest vouches for every log file', { timeout: 180_000 }, async () => {
    const logs: Array<{ key: string; content: string }> = [];
    const walk = async (folder: string): Promise<void> => {
      for (const entry of await readdir(folder, { withFileTypes: true })) {
        const path = join(folder, entry.name);
        if (entry.isDirectory() && entry.name !== 'CloudTrail-Digest') await walk(path);
        else if (entry.name.endsWith('.json.gz')) logs.push({ key: relative(dir, path), content: gunzipSync(await readFile(path)).toString('utf8') });
      }
    };
    await walk(join(dir, 'AWSLogs'));
    const account = logs[0]?.key.split('/')[1] as string;
    const key = `AWSLogs/${account}/CloudTrail-Digest/${REGION}/2020/09/14/${account}_CloudTrail-Digest_${REGION}_trail_${REGION}_20200914T010000Z.json.gz`;
    const digest = digestOf(key, logs);
    const path = join(dir, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, digest.body);
    await writeFile(`${path}.signature`, digest.signature);

    const capture = captureIo();
    expect(await runCli(['replay', '--json', '--verify-digests', '--public-keys', keysFile, join(dir, 'AWSLogs')], capture.io)).toBe(0);
    expect(capture.stderr()).toMatch(new RegExp(`^digests: 1 valid, \\d+ not; ${logs.length} log files vouched for, 0 differ`));
    expect(capture.incidents().some((incident) => incident.action === 'contain')).toBe(true);
    expect(capture.incidents().some((incident) => incident.blockedBy === 'unverified-evidence')).toBe(false);
  });
});
