// The bench's second world, shaped unlike `keysentry simulate`: a week of an imaging service's
// S3 data events with its own ids, rates and layout. Most traffic comes from ECS task-role
// sessions whose credentials rotate every hour (many short-lived actors), browsers download
// presigned links from residential addresses, a nightly export reads thousands of objects in
// minutes, and CloudTrail delivers big files of 800–1,000 records.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const ACCOUNT = '444455556666';
const REGION = 'us-east-1';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** mulberry32: seeded, so a world is the same on every machine. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Caller {
  userIdentity: Record<string, unknown>;
  sourceIPAddress: string;
  userAgent: string;
}

export interface SecondWorldOptions {
  days?: number;
  /** Multiplies the task fleet and the browser traffic (default 1: about 80,000 events a day). */
  scale?: number;
  seed?: number;
}

export interface SecondWorld {
  dir: string;
  files: number;
  records: number;
}

/** Writes the world under `dir` as CloudTrail lays out its log files. */
export async function writeSecondWorld(dir: string, options: SecondWorldOptions = {}): Promise<SecondWorld> {
  const days = options.days ?? 7;
  const scale = options.scale ?? 1;
  const next = random(options.seed ?? 4242);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const hex = (length: number): string => Array.from({ length }, () => Math.floor(next() * 16).toString(16)).join('');
  const keyId = (prefix: string): string => prefix + Array.from({ length: 16 }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[Math.floor(next() * 32)]).join('');
  const start = Date.UTC(2026, 10, 2);

  const tasks = Array.from({ length: 24 * scale }, (_, i) => ({ id: hex(32), ip: `10.20.${i % 250}.${10 + (i % 200)}` }));
  const sessionKeys = new Map<string, string>();
  const taskCaller = (task: { id: string; ip: string }, at: number): Caller => {
    // ECS hands each task fresh credentials every hour: a new ASIA key, the same session name.
    const slot = `${task.id}:${Math.floor(at / HOUR)}`;
    let key = sessionKeys.get(slot);
    if (key === undefined) sessionKeys.set(slot, (key = keyId('ASIA')));
    return {
      userIdentity: {
        type: 'AssumedRole',
        principalId: `AROAEXAMPLEINGEST01:${task.id}`,
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/imaging-ingest-task/${task.id}`,
        accountId: ACCOUNT,
        accessKeyId: key,
        sessionContext: {
          sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLEINGEST01', arn: `arn:aws:iam::${ACCOUNT}:role/imaging-ingest-task`, accountId: ACCOUNT, userName: 'imaging-ingest-task' },
          attributes: { creationDate: new Date(Math.floor(at / HOUR) * HOUR).toISOString().replace('.000Z', 'Z'), mfaAuthenticated: 'false' },
        },
      },
      sourceIPAddress: task.ip,
      userAgent: 'aws-sdk-java/2.25.60 Linux/5.10.219 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. exec-env/AWS_ECS_FARGATE',
    };
  };
  const signer = keyId('AKIA');
  const browsers = [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  ];
  const browserCaller = (): Caller => ({
    userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLEPRESIGN01', arn: `arn:aws:iam::${ACCOUNT}:user/portal-presigner`, accountId: ACCOUNT, accessKeyId: signer, userName: 'portal-presigner' },
    sourceIPAddress: `${Math.floor(next() * 200) + 20}.${Math.floor(next() * 255)}.${Math.floor(next() * 255)}.${Math.floor(next() * 254) + 1}`,
    userAgent: pick(browsers),
  });
  const exporter = (at: number): Caller => ({
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLEEXPORT01:nightly',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/warehouse-export/nightly-${Math.floor(at / DAY)}`,
      accountId: ACCOUNT,
      accessKeyId: keyId('ASIA'),
      sessionContext: { sessionIssuer: { type: 'Role', principalId: 'AROAEXAMPLEEXPORT01', arn: `arn:aws:iam::${ACCOUNT}:role/warehouse-export`, accountId: ACCOUNT, userName: 'warehouse-export' } },
    },
    sourceIPAddress: '10.30.4.17',
    userAgent: 'aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#s3.cp',
  });

  const record = (at: number, caller: Caller, eventName: string, bucket: string, key: string | undefined, bytesOut: number): Record<string, unknown> => ({
    eventVersion: '1.10',
    userIdentity: caller.userIdentity,
    eventTime: new Date(Math.floor(at / 1000) * 1000).toISOString().replace('.000Z', 'Z'),
    eventSource: 's3.amazonaws.com',
    eventName,
    awsRegion: REGION,
    sourceIPAddress: caller.sourceIPAddress,
    userAgent: caller.userAgent,
    requestParameters: key === undefined ? { bucketName: bucket, Host: `${bucket}.s3.${REGION}.amazonaws.com`, 'list-type': '2' } : { bucketName: bucket, Host: `${bucket}.s3.${REGION}.amazonaws.com`, key },
    responseElements: null,
    additionalEventData: { SignatureVersion: 'SigV4', CipherSuite: 'TLS_AES_128_GCM_SHA256', bytesTransferredIn: 0, AuthenticationMethod: caller.userAgent.startsWith('Mozilla') ? 'QueryString' : 'AuthHeader', 'x-amz-id-2': hex(60), bytesTransferredOut: bytesOut },
    requestID: hex(16).toUpperCase(),
    eventID: `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)}`,
    readOnly: eventName !== 'PutObject',
    resources: [
      ...(key === undefined ? [] : [{ type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` }]),
      { accountId: ACCOUNT, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` },
    ],
    eventType: 'AwsApiCall',
    managementEvent: false,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Data',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: `${bucket}.s3.${REGION}.amazonaws.com` },
  });

  let files = 0;
  let records = 0;
  let pending: Array<Record<string, unknown>> = [];
  let cutAt = 800 + Math.floor(next() * 201);
  const flush = async (at: number): Promise<void> => {
    if (pending.length === 0) return;
    const stamp = new Date(at + 5 * MINUTE).toISOString().replace(/[-:]/g, '').slice(0, 13);
    const day = new Date(at);
    const folder = join(dir, 'AWSLogs', ACCOUNT, 'CloudTrail', REGION, String(day.getUTCFullYear()), String(day.getUTCMonth() + 1).padStart(2, '0'), String(day.getUTCDate()).padStart(2, '0'));
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, `${ACCOUNT}_CloudTrail_${REGION}_${stamp}Z_${hex(16)}.json.gz`), gzipSync(JSON.stringify({ Records: pending })));
    files++;
    records += pending.length;
    pending = [];
    cutAt = 800 + Math.floor(next() * 201);
  };

  for (let minute = start; minute < start + days * DAY; minute += MINUTE) {
    const hourOfDay = new Date(minute).getUTCHours();
    const daytime = hourOfDay >= 7 && hourOfDay < 22;
    for (const task of tasks) {
      for (let n = Math.floor(next() * (daytime ? 6 : 3)); n > 0; n--) {
        const at = minute + Math.floor(next() * MINUTE);
        const op = next();
        const study = `studies/${hex(2)}/${hex(12)}/series-${Math.floor(next() * 9)}.dcm`;
        pending.push(record(at, taskCaller(task, at), op < 0.55 ? 'GetObject' : op < 0.8 ? 'PutObject' : 'HeadObject', 'imaging-archive', study, op < 0.55 ? 200_000 + Math.floor(next() * 4_000_000) : 0));
      }
    }
    for (let n = Math.floor(next() * (daytime ? 20 : 4) * scale); n > 0; n--) {
      const at = minute + Math.floor(next() * MINUTE);
      pending.push(record(at, browserCaller(), 'GetObject', 'web-assets', `reports/${hex(10)}.pdf`, 80_000 + Math.floor(next() * 900_000)));
    }
    if (hourOfDay === 2 && minute % HOUR === 0) {
      const caller = exporter(minute);
      pending.push(record(minute, caller, 'ListObjectsV2', 'imaging-archive', undefined, 0));
      for (let i = 0; i < 5_000; i++) {
        pending.push(record(minute + Math.floor((i / 5_000) * 20 * MINUTE), caller, 'GetObject', 'imaging-archive', `studies/export/${i}.dcm`, 1_000_000 + Math.floor(next() * 9_000_000)));
        if (pending.length >= cutAt) await flush(minute);
      }
    }
    if (pending.length >= cutAt) await flush(minute);
  }
  await flush(start + days * DAY);
  return { dir, files, records };
}
