import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CloudTrailClient, ListPublicKeysCommand } from '@aws-sdk/client-cloudtrail';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand, ListUserPoliciesCommand } from '@aws-sdk/client-iam';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import type { S3Event } from 'aws-lambda';
import { createHash, createSign, generateKeyPairSync } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { silenceStdout } from './support/test-hooks.ts';
import { makeContainHandler } from '../functions/contain-handler.ts';
import { makeS3ObjectReader, makeScoreLogFileHandler } from '../functions/score-logfile-handler.ts';
import { createLogFileTrust } from '../functions/wiring.ts';
import { cloudTrailPublicKeys, readVerifiedDigest } from '../lib/aws/cloudtrail-digests.ts';
import { MemoryResponseMarkers } from '../lib/aws/response-markers.ts';
import { loadLogFileConfig } from '../lib/config.ts';
import { verifyDigest } from '../lib/domain/digest.ts';
import type { IncidentChange } from '../lib/engine/score-engine.ts';
import { createDetector } from '../lib/engine/score-engine.ts';
import { selectIncidentsToRespond } from '../lib/engine/responder-dispatch.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { cloneRecord, loadRepairedRecords, pickRecord, type CloudTrailRecord } from './events/load-events.ts';
import { emulatorClientConfig, inMotoAccount, TEST_REGION, uniqueName } from './support/aws-clients.ts';

// A log file is evidence enough to contain only once CloudTrail's signed digest vouches for it.
// Against moto_server (S3, IAM, SNS): a log file of a bulk read by a stolen key, put in the trail
// bucket; the digest that lists it, signed in this test with a key pair of its own. The only mock
// is CloudTrail's ListPublicKeys (moto does not serve it), which hands out the test public key.

/** This file's moto account. */
const ACCOUNT = '246813579135';
const START = Date.parse('2026-03-02T10:00:00Z');
const FINGERPRINT = '5f3ab2c4d6e8f0a1b2c3d4e5f6a7b8c9';

const cloudTrailKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const forgerKey = generateKeyPairSync('rsa', { modulusLength: 2048 });

let s3: S3Client;
let iam: IAMClient;
let sns: SNSClient;
let topicArn: string;

beforeAll(async () => {
  s3 = inMotoAccount(new S3Client({ ...emulatorClientConfig(), forcePathStyle: true }), ACCOUNT);
  iam = inMotoAccount(new IAMClient(emulatorClientConfig()), ACCOUNT);
  sns = inMotoAccount(new SNSClient(emulatorClientConfig()), ACCOUNT);
  ({ TopicArn: topicArn = '' } = await sns.send(new CreateTopicCommand({ Name: uniqueName('pages') })));
});
silenceStdout();

/** A real S3 read record (OTRF), made the stolen key of an IAM user of `account`. */
function stolenKeyRead(account: string, userName: string, accessKeyId: string, bucket: string): CloudTrailRecord {
  const read = pickRecord(loadRepairedRecords(), 'GetObject', (record) => record.eventName === 'GetObject');
  return cloneRecord(read, (copy) => {
    copy.recipientAccountId = account;
    copy.userIdentity = {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLESTOLENKEY',
      arn: `arn:aws:iam::${account}:user/${userName}`,
      accountId: account,
      accessKeyId,
      userName,
    };
    copy.requestParameters = { ...copy.requestParameters, bucketName: bucket };
  });
}

/** A list and 300 distinct reads, one a second: the `{"Records":[…]}` content of a log file. */
function bulkRead(template: CloudTrailRecord): string {
  const Records = Array.from({ length: 301 }, (_, i) =>
    cloneRecord(template, (copy) => {
      copy.eventID = `${uniqueName('evt')}-${i}`;
      copy.eventTime = new Date(START + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      if (i === 0) copy.eventName = 'ListObjects';
      else copy.requestParameters = { ...copy.requestParameters, key: `results/patient-${i}.pdf` };
    }),
  );
  return JSON.stringify({ Records });
}

const logKey = (account: string, name: string) => `AWSLogs/${account}/CloudTrail/${TEST_REGION}/2026/03/02/${account}_CloudTrail_${TEST_REGION}_20260302T1005Z_${name}.json.gz`;
const digestKey = (account: string) =>
  `AWSLogs/${account}/CloudTrail-Digest/${TEST_REGION}/2026/03/02/${account}_CloudTrail-Digest_${TEST_REGION}_org-trail_${TEST_REGION}_20260302T110000Z.json.gz`;

/** A digest listing `files` ({ key, content }), signed as CloudTrail signs (or with `signer`). */
function signedDigest(bucket: string, key: string, files: Array<{ key: string; content: string }>, signer = cloudTrailKey.privateKey) {
  const digest = {
    awsAccountId: ACCOUNT,
    digestStartTime: '2026-03-02T10:00:00Z',
    digestEndTime: '2026-03-02T11:00:00Z',
    digestS3Bucket: bucket,
    digestS3Object: key,
    digestPublicKeyFingerprint: FINGERPRINT,
    digestSignatureAlgorithm: 'SHA256withRSA',
    newestEventTime: '2026-03-02T10:05:00Z',
    oldestEventTime: '2026-03-02T10:00:00Z',
    previousDigestS3Bucket: null,
    previousDigestS3Object: null,
    previousDigestHashValue: null,
    previousDigestHashAlgorithm: null,
    previousDigestSignature: null,
    logFiles: files.map((file) => ({
      s3Bucket: bucket,
      s3Object: file.key,
      hashValue: createHash('sha256').update(file.content).digest('hex'),
      hashAlgorithm: 'SHA-256',
      newestEventTime: '2026-03-02T10:05:00Z',
      oldestEventTime: '2026-03-02T10:00:00Z',
    })),
  };
  const text = JSON.stringify(digest);
  const signing = ['2026-03-02T11:00:00Z', `${bucket}/${key}`, createHash('sha256').update(text).digest('hex'), 'null'].join('\n');
  const signature = createSign('sha256').update(signing).sign(signer).toString('hex');
  return { body: gzipSync(text), signature };
}

const notification = (bucket: string, key: string): S3Event =>
  ({
    Records: [
      {
        eventTime: new Date(START + 600_000).toISOString(),
        s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/'), eTag: uniqueName('etag') } },
      },
    ],
  }) as unknown as S3Event;

/** A deployment on moto: the trail bucket, a user with its key, the score-logfile and contain handlers. */
async function deployment() {
  const bucket = uniqueName('trail-logs');
  await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: TEST_REGION } }));
  const userName = uniqueName('lab-export');
  await iam.send(new CreateUserCommand({ UserName: userName }));
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  const accessKeyId = AccessKey?.AccessKeyId as string;

  const config = loadLogFileConfig({
    WINDOWS_TABLE: 'unused',
    STATE_TABLE: 'unused',
    IDEMPOTENCY_TABLE: 'unused',
    RESPONDER_FUNCTION: 'contain',
    ACCOUNT_ID: ACCOUNT,
    PAGE_THRESHOLD: '50',
    CONTAIN_THRESHOLD: '75',
    DRY_RUN: 'false',
  });
  const store = new MemoryStore();
  const cloudTrail = new CloudTrailClient({ region: TEST_REGION });
  // moto does not serve ListPublicKeys: the test key pair's public half is CloudTrail's here.
  const listPublicKeys = mockClient(cloudTrail).on(ListPublicKeysCommand).resolves({
    PublicKeyList: [{ Fingerprint: FINGERPRINT, Value: cloudTrailKey.publicKey.export({ format: 'der', type: 'pkcs1' }) }],
  });
  const contain = makeContainHandler({
    store,
    markers: new MemoryResponseMarkers(),
    iam,
    sns,
    topicArn,
    guard: config.policy,
    dryRun: false,
    logger: new Logger({ serviceName: 'keysentry', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'keysentry-test', serviceName: 'keysentry' }),
  });
  const pages: string[] = [];
  const handler = makeScoreLogFileHandler({
    store,
    detector: createDetector({ store, policy: config.policy, windowMs: config.windowMs }),
    readObject: makeS3ObjectReader(s3),
    trust: createLogFileTrust(config, store, { s3, cloudTrail: () => cloudTrail }),
    notify: async (changes: readonly IncidentChange[]) => {
      const run = await contain({ incidentIds: selectIncidentsToRespond(changes) });
      pages.push(...run.responses.flatMap((response) => (response.page === undefined ? [] : [response.page.sms])));
    },
    logger: new Logger({ serviceName: 'keysentry', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'keysentry-test', serviceName: 'keysentry' }),
  });
  const keyStatus = async () => (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata?.[0]?.Status;
  const userPolicies = async () => (await iam.send(new ListUserPoliciesCommand({ UserName: userName }))).PolicyNames ?? [];
  const put = (key: string, body: string | Uint8Array, signature?: string) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...(signature ? { Metadata: { signature, 'signature-algorithm': 'SHA256withRSA' } } : {}) }));
  return { bucket, userName, accessKeyId, store, handler, pages, keyStatus, userPolicies, put, listPublicKeys };
}

describe('score-logfile: containment only on log files CloudTrail vouched for', () => {
  it('pages "unverified evidence" for a log file no digest lists, and contains once its signed digest arrives', { timeout: 60_000 }, async () => {
    const world = await deployment();
    const key = logKey(ACCOUNT, 'Ab12Cd34Ef56Gh78');
    const content = bulkRead(stolenKeyRead(ACCOUNT, world.userName, world.accessKeyId, 'checkup-results'));
    await world.put(key, gzipSync(content));

    await world.handler(notification(world.bucket, key));

    expect(await world.keyStatus()).toBe('Active');
    expect(await world.userPolicies()).toEqual([]);
    const [incident] = await world.store.listIncidents();
    expect([incident?.action, incident?.blockedBy]).toEqual(['page', 'unverified-evidence']);
    expect(world.pages).toEqual([expect.stringMatching(/NOT CONTAINED \(unverified evidence\)/)]);

    const digest = signedDigest(world.bucket, digestKey(ACCOUNT), [{ key, content }]);
    await world.put(digestKey(ACCOUNT), digest.body, digest.signature);
    await world.handler(notification(world.bucket, digestKey(ACCOUNT)));

    expect(await world.keyStatus()).toBe('Inactive');
    expect(await world.userPolicies()).toEqual([`keysentry-deny-${incident?.incidentId}`]);
    expect((await world.store.getIncident(incident?.incidentId as string))?.status).toBe('contained');
    expect(world.pages.at(-1)).toMatch(new RegExp(`^${incident?.incidentId} CONTAINED`));
  });

  it('changes nothing in IAM for a forged log file, even with a digest signed by another key', { timeout: 60_000 }, async () => {
    const world = await deployment();
    const key = logKey(ACCOUNT, 'Zz99Yy88Xx77Ww66');
    const content = bulkRead(stolenKeyRead(ACCOUNT, world.userName, world.accessKeyId, 'checkup-results'));
    await world.put(key, gzipSync(content));
    const forged = signedDigest(world.bucket, digestKey(ACCOUNT), [{ key, content }], forgerKey.privateKey);
    await world.put(digestKey(ACCOUNT), forged.body, forged.signature);

    await world.handler(notification(world.bucket, key));
    await world.handler(notification(world.bucket, digestKey(ACCOUNT)));

    expect(await world.keyStatus()).toBe('Active');
    expect(await world.userPolicies()).toEqual([]);
    expect((await world.store.listIncidents()).map((incident) => incident.blockedBy)).toEqual(['unverified-evidence']);
    expect(world.listPublicKeys.commandCalls(ListPublicKeysCommand)).toHaveLength(1);
  });

  it('does not take a log file whose content differs from the hash its genuine digest lists', { timeout: 60_000 }, async () => {
    const world = await deployment();
    const key = logKey(ACCOUNT, 'Qq11Rr22Ss33Tt44');
    const genuine = JSON.stringify({ Records: [] });
    const digest = signedDigest(world.bucket, digestKey(ACCOUNT), [{ key, content: genuine }]);
    await world.put(key, gzipSync(bulkRead(stolenKeyRead(ACCOUNT, world.userName, world.accessKeyId, 'checkup-results'))));
    await world.put(digestKey(ACCOUNT), digest.body, digest.signature);

    await world.handler(notification(world.bucket, digestKey(ACCOUNT)));

    expect(await world.keyStatus()).toBe('Active');
    expect(await world.store.listIncidents()).toEqual([]);
  });

  it('ignores log files of another account, or outside the trail layout', { timeout: 60_000 }, async () => {
    const world = await deployment();
    const content = gzipSync(bulkRead(stolenKeyRead('999988887777', world.userName, world.accessKeyId, 'checkup-results')));
    for (const key of [logKey('999988887777', 'Mm55Nn66Oo77Pp88'), `uploads/${logKey(ACCOUNT, 'Mm55Nn66Oo77Pp88')}`]) {
      await world.put(key, content);
      await world.handler(notification(world.bucket, key));
    }
    expect(await world.keyStatus()).toBe('Active');
    expect(await world.store.listIncidents()).toEqual([]);
  });
});

describe('digest validation (lib/domain/digest.ts)', () => {
  const bucket = 'trail-logs';
  const key = digestKey(ACCOUNT);
  const files = [{ key: logKey(ACCOUNT, 'Ab12Cd34Ef56Gh78'), content: '{"Records":[]}' }];
  const publicKeys = [{ fingerprint: FINGERPRINT, value: cloudTrailKey.publicKey.export({ format: 'der', type: 'pkcs1' }) }];
  const inflate = (body: Uint8Array) => new Uint8Array(gunzipSync(body));

  it('accepts a digest signed with the key of its fingerprint, read from where it says it was delivered', () => {
    const { body, signature } = signedDigest(bucket, key, files);
    expect(verifyDigest({ uncompressed: inflate(body), bucket, key, signatureHex: signature, publicKeys }).ok).toBe(true);
  });

  it('refuses a moved, unsigned, foreign-signed or unknown-key digest, each with its reason', () => {
    const { body, signature } = signedDigest(bucket, key, files);
    const forged = signedDigest(bucket, key, files, forgerKey.privateKey);
    const check = (input: Partial<Parameters<typeof verifyDigest>[0]>) =>
      verifyDigest({ uncompressed: inflate(body), bucket, key, signatureHex: signature, publicKeys, ...input });
    expect(check({ key: key.replace('T110000Z', 'T120000Z') })).toEqual({ ok: false, reason: 'digest-moved' });
    expect(check({ signatureHex: undefined })).toEqual({ ok: false, reason: 'digest-unsigned' });
    expect(check({ signatureHex: forged.signature })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(check({ publicKeys: [] })).toEqual({ ok: false, reason: 'unknown-public-key' });
    expect(check({ uncompressed: new TextEncoder().encode('{"awsAccountId":') })).toEqual({ ok: false, reason: 'digest-not-json' });
  });

  it('reads the signature from the digest object\'s metadata and the key from ListPublicKeys', { timeout: 30_000 }, async () => {
    const world = await deployment();
    const { body, signature } = signedDigest(world.bucket, key, files);
    await world.put(key, body, signature);
    const cloudTrail = new CloudTrailClient({ region: TEST_REGION });
    mockClient(cloudTrail).on(ListPublicKeysCommand).resolves({ PublicKeyList: [{ Fingerprint: FINGERPRINT, Value: publicKeys[0]?.value }] });
    const check = await readVerifiedDigest({ s3, publicKeys: cloudTrailPublicKeys(() => cloudTrail) }, { bucket: world.bucket, key, region: TEST_REGION });
    expect(check.ok).toBe(true);
  });
});
