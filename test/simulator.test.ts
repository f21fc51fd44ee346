import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../lib/domain/errors.ts';
import { SCENARIO_NAMES, simulateScenario, type SimulationManifest } from '../lib/simulator/index.ts';

interface TrailRecord {
  eventTime: string;
  eventID: string;
  eventName: string;
  eventSource: string;
  eventCategory: string;
  requestID: string;
  sourceIPAddress: string;
  userAgent: string;
  userIdentity: { type: string; arn?: string; accessKeyId?: string; accountId?: string; principalId?: string };
  requestParameters: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown>;
  errorCode?: string;
}

interface LogFile {
  path: string;
  /** Delivery time from the file name, epoch milliseconds. */
  deliveredAt: number;
  records: TrailRecord[];
}

const LOG_FILE =
  /^AWSLogs\/111122223333\/CloudTrail\/eu-west-1\/(\d{4})\/(\d{2})\/(\d{2})\/111122223333_CloudTrail_eu-west-1_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_[A-Za-z0-9]{16}\.json\.gz$/;
const DIGEST_FILE =
  /^AWSLogs\/111122223333\/CloudTrail-Digest\/eu-west-1\/\d{4}\/\d{2}\/\d{2}\/111122223333_CloudTrail-Digest_eu-west-1_[\w-]+_eu-west-1_\d{8}T\d{6}Z\.json\.gz$/;
const MINUTE = 60_000;
const DAY = 86_400_000;

let root: string;
let runs = 0;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'keysentry-simulator-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function nextDirectory(): string {
  runs += 1;
  return join(root, `run-${runs}`);
}

function listFiles(directory: string): string[] {
  return readdirSync(directory)
    .flatMap((entry) => {
      const path = join(directory, entry);
      return statSync(path).isDirectory() ? listFiles(path) : [path];
    })
    .sort();
}

function toS3Path(directory: string, path: string): string {
  return relative(directory, path).split(sep).join('/');
}

function readLogFiles(directory: string): LogFile[] {
  return listFiles(join(directory, 'AWSLogs'))
    .filter((path) => !toS3Path(directory, path).includes('/CloudTrail-Digest/'))
    .map((path) => {
      const match = LOG_FILE.exec(toS3Path(directory, path));
      if (!match) throw new Error(`unexpected file ${path}`);
      const [, , , , year, month, day, hour, minute] = match;
      const parsed = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as { Records: TrailRecord[] };
      return {
        path,
        deliveredAt: Date.parse(`${year}-${month}-${day}T${hour}:${minute}:00Z`),
        records: parsed.Records,
      };
    });
}

function hashTree(directory: string): Map<string, string> {
  return new Map(
    listFiles(directory).map((path) => [
      toS3Path(directory, path),
      createHash('sha256').update(readFileSync(path)).digest('hex'),
    ]),
  );
}

describe('simulateScenario layout', () => {
  let directory: string;
  let manifest: SimulationManifest;
  let elapsed: number;

  beforeAll(async () => {
    directory = nextDirectory();
    const started = performance.now();
    manifest = await simulateScenario('benign', directory, { days: 2, seed: 3 });
    elapsed = performance.now() - started;
  });

  it('names and files every log file the way CloudTrail does', () => {
    const paths = listFiles(join(directory, 'AWSLogs')).map((path) => toS3Path(directory, path));
    const logs = paths.filter((path) => path.includes('/CloudTrail/'));
    const digests = paths.filter((path) => path.includes('/CloudTrail-Digest/'));
    expect(logs.length + digests.length).toBe(paths.length);
    expect(logs.length).toBe(manifest.files);
    expect(digests.length).toBeGreaterThanOrEqual(2);
    for (const path of logs) {
      const match = LOG_FILE.exec(path);
      expect(match, path).not.toBeNull();
      // The folder is the delivery date in the file name.
      expect(match?.slice(1, 4)).toEqual(match?.slice(4, 7));
    }
    for (const path of digests) expect(path).toMatch(DIGEST_FILE);
  });

  it('writes at most one file per five-minute delivery period, stamped at its end', () => {
    const times = readLogFiles(directory).map((file) => file.deliveredAt);
    expect(new Set(times).size).toBe(times.length);
    for (const time of times) expect(time % (5 * MINUTE)).toBe(0);
  });

  it('gunzips every log file to {"Records":[…]} of well-formed records', () => {
    let count = 0;
    for (const path of listFiles(join(directory, 'AWSLogs'))) {
      if (path.includes(`${sep}CloudTrail-Digest${sep}`)) continue;
      const parsed = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as Record<string, unknown>;
      expect(Object.keys(parsed)).toEqual(['Records']);
      const records = parsed.Records as Array<Record<string, unknown>>;
      expect(records.length).toBeGreaterThan(0);
      for (const record of records) {
        count += 1;
        expect(record.eventVersion).toBe('1.08');
        expect(record.eventTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
        expect(record.eventID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(record.recipientAccountId).toBe('111122223333');
        expect(record.eventType).toMatch(/^(AwsApiCall|AwsConsoleSignIn)$/);
        if (record.eventCategory === 'Data') {
          expect(record.managementEvent).toBe(false);
          expect(typeof record.readOnly).toBe('boolean');
          const data = record.additionalEventData as Record<string, unknown>;
          expect(Number.isInteger(data.bytesTransferredIn)).toBe(true);
          expect(Number.isInteger(data.bytesTransferredOut)).toBe(true);
          const resources = record.resources as Array<{ type: string }>;
          expect(resources.at(-1)?.type).toBe('AWS::S3::Bucket');
        } else {
          expect(record.eventCategory).toBe('Management');
          expect(record.managementEvent).toBe(true);
        }
      }
    }
    expect(count).toBe(manifest.records);
  });

  it('writes digests that list the log files they cover', () => {
    const digests = listFiles(join(directory, 'AWSLogs')).filter((path) => path.includes('CloudTrail-Digest'));
    const digest = JSON.parse(gunzipSync(readFileSync(digests[0] ?? '')).toString('utf8')) as {
      awsAccountId: string;
      logFiles: Array<{ s3Object: string; hashValue: string }>;
    };
    expect(digest.awsAccountId).toBe('111122223333');
    const first = digest.logFiles[0];
    expect(first).toBeDefined();
    const bytes = readFileSync(join(directory, ...(first?.s3Object ?? '').split('/')));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(first?.hashValue);
  });

  it('saves the manifest it returns, with every actor benign', () => {
    const saved = JSON.parse(readFileSync(join(directory, 'manifest.json'), 'utf8')) as SimulationManifest;
    expect(saved).toEqual(JSON.parse(JSON.stringify(manifest)));
    expect(manifest).toMatchObject({
      scenario: 'benign',
      seed: 3,
      start: '2026-10-05T00:00:00Z',
      end: '2026-10-07T00:00:00Z',
      accountId: '111122223333',
      region: 'eu-west-1',
    });
    expect(manifest.attack).toBeUndefined();
    expect(manifest.actors.every((actor) => actor.benign)).toBe(true);
    const app = manifest.actors.find((actor) => actor.principalArn.endsWith(':role/patient-portal-app'));
    expect(app?.accessKeyIds.length).toBe(48);
    expect(app?.accessKeyIds.every((key) => key.startsWith('ASIA'))).toBe(true);
  });

  it('keeps a two-day run small and fast', () => {
    expect(manifest.records).toBeGreaterThan(3_000);
    expect(manifest.records).toBeLessThan(30_000);
    // Generous: it takes well under a second on an idle machine, and CI machines are shared.
    expect(elapsed).toBeLessThan(10_000);
  });
});

describe('simulateScenario determinism', () => {
  it('writes byte-identical output for a seed and different output for another seed', async () => {
    const first = nextDirectory();
    const second = nextDirectory();
    const other = nextDirectory();
    await simulateScenario('breach', first, { days: 1, seed: 11 });
    await simulateScenario('breach', second, { days: 1, seed: 11 });
    await simulateScenario('breach', other, { days: 1, seed: 12 });
    const a = hashTree(first);
    expect(hashTree(second)).toEqual(a);
    const b = hashTree(other);
    const shared = [...a].filter(([path, hash]) => b.get(path) === hash);
    expect(shared.length).toBe(0);
  });
});

describe('breach at default options', () => {
  let manifest: SimulationManifest;
  let files: LogFile[];

  beforeAll(async () => {
    const directory = nextDirectory();
    manifest = await simulateScenario('breach', directory);
    files = readLogFiles(directory);
  });

  const attackerKey = (): string => {
    const actor = manifest.actors.find((candidate) => !candidate.benign);
    return actor?.accessKeyIds[0] ?? '';
  };

  it('describes the attacker in the manifest after the 14-day warm-up', () => {
    expect(manifest.attack).toMatchObject({ label: 'contractor-2019', start: '2026-10-20T03:12:00Z' });
    expect(Date.parse(manifest.attack?.start ?? '') - Date.parse(manifest.start)).toBeGreaterThan(14 * DAY);
    const attackers = manifest.actors.filter((actor) => !actor.benign);
    expect(attackers).toEqual([
      {
        label: 'contractor-2019',
        principalArn: 'arn:aws:iam::111122223333:user/contractor-2019',
        accessKeyIds: [expect.stringMatching(/^AKIA[A-Z2-7]{16}$/)],
        identityType: 'iam-user-key',
        benign: false,
      },
    ]);
  });

  it('never shows the attacker key before the attack starts', () => {
    const key = attackerKey();
    const start = Date.parse(manifest.attack?.start ?? '');
    const times = files.flatMap((file) =>
      file.records.filter((record) => record.userIdentity.accessKeyId === key).map((r) => Date.parse(r.eventTime)),
    );
    expect(times.length).toBeGreaterThan(2_000);
    expect(Math.min(...times)).toBe(start);
  });

  it('reads every object of the protected bucket once, about three a second', () => {
    const key = attackerKey();
    const gets = files
      .flatMap((file) => file.records)
      .filter((record) => record.userIdentity.accessKeyId === key && record.eventName === 'GetObject');
    const distinct = new Map(gets.map((record) => [String(record.requestParameters?.key), record]));
    expect(distinct.size).toBe(manifest.attack?.objects);
    expect(distinct.size).toBeGreaterThan(950);
    expect(distinct.size).toBeLessThan(1_100);
    const times = [...distinct.values()].map((record) => Date.parse(record.eventTime));
    const seconds = (Math.max(...times) - Math.min(...times)) / 1000;
    expect(distinct.size / seconds).toBeGreaterThan(2.5);
    expect(distinct.size / seconds).toBeLessThan(3.5);
  });

  it('writes each multi-object delete as one DeleteObjects plus one DeleteObject per key', () => {
    const key = attackerKey();
    const deletes = new Map<string, TrailRecord>();
    for (const record of files.flatMap((file) => file.records)) {
      if (record.userIdentity.accessKeyId === key && record.eventName.startsWith('Delete')) {
        deletes.set(record.eventID, record);
      }
    }
    const batches = [...deletes.values()].filter((record) => record.eventName === 'DeleteObjects');
    const perObject = [...deletes.values()].filter((record) => record.eventName === 'DeleteObject');
    expect(batches.map((batch) => batch.requestParameters)).toEqual([
      { bucketName: 'checkup-results', Host: 'checkup-results.s3.eu-west-1.amazonaws.com', delete: '' },
      { bucketName: 'checkup-results', Host: 'checkup-results.s3.eu-west-1.amazonaws.com', delete: '' },
    ]);
    const sizes = batches.map((batch) => perObject.filter((record) => record.requestID === batch.requestID).length);
    const objects = manifest.attack?.objects ?? 0;
    expect(sizes).toEqual([1_000, objects - 1_000]);
    expect(perObject.length).toBe(objects);
    for (const record of perObject) {
      expect(typeof record.requestParameters?.key).toBe('string');
      expect(record.additionalEventData).not.toHaveProperty('DeleteObjectsRequestID');
    }
  });

  it('delivers about 3% of records late and about 0.1% twice, files not strictly sorted', () => {
    const firstDelivery = new Map<string, number>();
    const copies = new Map<string, number>();
    let unsortedFiles = 0;
    for (const file of files) {
      let previous = 0;
      let unsorted = false;
      for (const record of file.records) {
        const at = Date.parse(record.eventTime);
        if (at < previous) unsorted = true;
        previous = at;
        copies.set(record.eventID, (copies.get(record.eventID) ?? 0) + 1);
        // Files are read in name order, which is delivery order: the first sighting is the first copy.
        if (!firstDelivery.has(record.eventID)) firstDelivery.set(record.eventID, file.deliveredAt - at);
      }
      if (unsorted) unsortedFiles += 1;
    }
    const delays = [...firstDelivery.values()];
    expect(delays.reduce((least, delay) => Math.min(least, delay))).toBeGreaterThanOrEqual(MINUTE);
    // On time is at most 5 minutes of delay plus 5 minutes of waiting for the period's file.
    const late = delays.filter((delay) => delay > 10 * MINUTE + 1000).length / delays.length;
    expect(late).toBeGreaterThan(0.015);
    expect(late).toBeLessThan(0.04);
    const twice = [...copies.values()].filter((count) => count === 2).length / copies.size;
    expect(twice).toBeGreaterThan(0.0004);
    expect(twice).toBeLessThan(0.0025);
    expect([...copies.values()].every((count) => count <= 2)).toBe(true);
    expect(unsortedFiles).toBeGreaterThan(files.length / 10);
  });

  it('records CloudTrail writing its own log files to the trail bucket', () => {
    const puts = files
      .flatMap((file) => file.records)
      .filter((record) => record.userIdentity.type === 'AWSService' && record.eventName === 'PutObject');
    expect(puts.length).toBeGreaterThan(files.length * 0.9);
    expect(puts[0]).toMatchObject({
      sourceIPAddress: 'cloudtrail.amazonaws.com',
      userAgent: 'cloudtrail.amazonaws.com',
      requestParameters: { bucketName: 'org-cloudtrail-logs' },
    });
  });
});

describe('ransomware-versions', () => {
  let manifest: SimulationManifest;
  let records: TrailRecord[];

  beforeAll(async () => {
    const directory = nextDirectory();
    manifest = await simulateScenario('ransomware-versions', directory, { days: 2, seed: 5 });
    records = readLogFiles(directory).flatMap((file) => file.records);
  });

  it('uses a new session of the familiar app role from a new IP and SDK', () => {
    const attacker = manifest.actors.find((actor) => !actor.benign);
    expect(attacker?.identityType).toBe('assumed-role');
    expect(attacker?.principalArn).toMatch(/^arn:aws:sts::111122223333:assumed-role\/patient-portal-app\/[\w-]+$/);
    const app = manifest.actors.find((actor) => actor.benign && actor.principalArn.endsWith(':role/patient-portal-app'));
    const key = attacker?.accessKeyIds[0] ?? '';
    expect(key).toMatch(/^ASIA/);
    expect(app?.accessKeyIds).not.toContain(key);
    const own = records.filter((record) => record.userIdentity.accessKeyId === key);
    const start = Date.parse(manifest.attack?.start ?? '');
    const appAgents = new Set(
      records.filter((r) => app?.accessKeyIds.includes(r.userIdentity.accessKeyId ?? '')).map((r) => r.userAgent),
    );
    const appIps = new Set(
      records
        .filter((r) => app?.accessKeyIds.includes(r.userIdentity.accessKeyId ?? ''))
        .map((r) => r.sourceIPAddress),
    );
    for (const record of own) {
      expect(Date.parse(record.eventTime)).toBeGreaterThanOrEqual(start);
      expect(appAgents.has(record.userAgent)).toBe(false);
      expect(appIps.has(record.sourceIPAddress)).toBe(false);
    }
  });

  it('lists object versions, then deletes every version by versionId at about 20 a second', () => {
    const key = manifest.actors.find((actor) => !actor.benign)?.accessKeyIds[0];
    const own = new Map(
      records.filter((record) => record.userIdentity.accessKeyId === key).map((record) => [record.eventID, record]),
    );
    const calls = [...own.values()].sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));
    expect(calls[0]?.eventName).toBe('ListObjectVersions');
    const deletes = calls.filter((record) => record.eventName === 'DeleteObject');
    const versions = new Set(
      deletes.map((record) => `${String(record.requestParameters?.key)} ${String(record.requestParameters?.versionId)}`),
    );
    expect(versions.size).toBe(deletes.length);
    expect(deletes.every((record) => typeof record.requestParameters?.versionId === 'string')).toBe(true);
    expect(new Set(deletes.map((record) => record.requestParameters?.key)).size).toBe(manifest.attack?.objects);
    const seconds = (Date.parse(deletes.at(-1)?.eventTime ?? '') - Date.parse(deletes[0]?.eventTime ?? '')) / 1000;
    expect(deletes.length / seconds).toBeGreaterThan(15);
    expect(deletes.length / seconds).toBeLessThan(25);
  });
});

describe('month-end-surge', () => {
  it('extends a run that ends before a month end to reach it', async () => {
    const manifest = await simulateScenario('month-end-surge', nextDirectory(), { start: '2026-10-30T00:00:00Z', days: 1 });
    expect(manifest.end).toBe('2026-11-01T00:00:00Z');
  });

  it('quadruples the export and triples the app for three hours on the last day, all benign', async () => {
    const directory = nextDirectory();
    const manifest = await simulateScenario('month-end-surge', directory, { start: '2026-10-24T00:00:00Z', days: 8 });
    expect(manifest.attack).toBeUndefined();
    expect(manifest.actors.every((actor) => actor.benign)).toBe(true);
    const records = new Map(
      readLogFiles(directory)
        .flatMap((file) => file.records)
        .map((record) => [record.eventID, record]),
    );
    const exportGets = new Map<string, number>();
    const appMorning = new Map<string, number>();
    for (const record of records.values()) {
      const day = record.eventTime.slice(0, 10);
      const hour = Number(record.eventTime.slice(11, 13));
      if (record.userIdentity.arn?.endsWith(':user/export-job') && record.eventName === 'GetObject') {
        exportGets.set(day, (exportGets.get(day) ?? 0) + 1);
      }
      if (record.userIdentity.arn?.includes(':assumed-role/patient-portal-app/') && hour >= 9 && hour < 12) {
        appMorning.set(day, (appMorning.get(day) ?? 0) + 1);
      }
    }
    const usual = Math.max(...[...exportGets].filter(([day]) => day !== '2026-10-31').map(([, count]) => count));
    expect(usual).toBeLessThanOrEqual(200);
    expect(exportGets.get('2026-10-31')).toBeGreaterThan(usual * 2);
    // Both are Saturdays: the same hours a week apart.
    expect(appMorning.get('2026-10-31')).toBeGreaterThan((appMorning.get('2026-10-24') ?? 0) * 2.2);
  });
});

describe('simulateScenario options', () => {
  it('names its four scenarios', () => {
    expect([...SCENARIO_NAMES].sort()).toEqual(['benign', 'breach', 'month-end-surge', 'ransomware-versions']);
  });

  it('rejects invalid options and a directory that already holds a trail', async () => {
    await expect(simulateScenario('benign', nextDirectory(), { days: 0 })).rejects.toThrow(UsageError);
    await expect(simulateScenario('benign', nextDirectory(), { start: 'yesterday' })).rejects.toThrow(UsageError);
    await expect(simulateScenario('benign', nextDirectory(), { scale: -1 })).rejects.toThrow(UsageError);
    const directory = nextDirectory();
    await simulateScenario('benign', directory, { days: 1 });
    await expect(simulateScenario('benign', directory, { days: 1 })).rejects.toThrow(/already exists/);
  });
});
