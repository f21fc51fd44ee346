import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '../lib/domain/cloudtrail-record.ts';
import { replayLogs } from '../lib/engine/replay.ts';
import { cloneRecord, loadRepairedRecords, pickRecord, type CloudTrailRecord } from './events/load-events.ts';
import { useTempDir } from './support/test-hooks.ts';

// A replay knows how old a long-term key is from IAM's `CreateAccessKey` records in the logs
// themselves, as it knows it from a `keysentry keys --json` snapshot (`--keys`).

const created = JSON.parse(readFileSync(new URL('./events/invictus/create-access-key.json', import.meta.url), 'utf8')) as CloudTrailRecord & {
  responseElements: { accessKey: { accessKeyId: string; userName: string } };
};
const KEY = created.responseElements.accessKey.accessKeyId;
const USER = created.responseElements.accessKey.userName;
const getObject = pickRecord(loadRepairedRecords(), 'GetObject', (r) => r.eventName === 'GetObject');
const READS_START = Date.parse('2026-11-20T02:10:00Z');
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Five reports read 40 s apart by the created key, from a residential address. */
const reads = (): CloudTrailRecord[] =>
  Array.from({ length: 5 }, (_, i) =>
    cloneRecord(getObject, (r) => {
      r.eventID = `5f0c1d2e-0000-4000-8000-${String(i).padStart(12, '0')}`;
      r.eventTime = iso(READS_START + i * 40_000);
      r.userIdentity = {
        type: 'IAMUser',
        principalId: 'AIDATFQR7NSCEXAMPLE01',
        arn: `arn:aws:iam::${created.recipientAccountId}:user/${USER}`,
        accountId: created.recipientAccountId,
        accessKeyId: KEY,
        userName: USER,
      };
      r.recipientAccountId = created.recipientAccountId;
      r.sourceIPAddress = '73.41.200.17';
      r.requestParameters = { bucketName: 'checkup-results', key: `results/2026/11/report-${i}.pdf` };
    }),
  );
const createdDaysBefore = (days: number): CloudTrailRecord => cloneRecord(created, (r) => (r.eventTime = iso(READS_START - days * 86_400_000)));

describe('key creation dates from the logs', () => {
  const dir = useTempDir('keysentry-key-creation-');

  async function replay(files: Record<string, CloudTrailRecord[]>, trusted: (file: string) => boolean = () => true) {
    const root = dir.path();
    for (const [name, records] of Object.entries(files)) await dir.put(name, JSON.stringify({ Records: records }));
    const result = await replayLogs({ paths: [root], warmupMs: 0, trustSource: (source) => trusted(source) });
    return result.incidents.filter((incident) => incident.actor === KEY);
  }

  it('reads the key a successful CreateAccessKey made, at the event’s time', () => {
    const outcome = normalizeRecord(created);
    expect(outcome).toEqual({ kind: 'skipped', reason: 'non-s3-source', keyCreated: { accessKeyId: KEY, createdAt: Date.parse(created.eventTime ?? "") } });
    const failed = normalizeRecord(cloneRecord(created, (r) => Object.assign(r, { errorCode: 'LimitExceeded', responseElements: null })));
    expect(failed).toEqual({ kind: 'skipped', reason: 'non-s3-source' });
  });

  it('pages a key created 200 days earlier and never used when it starts reading: dormant', async () => {
    const incidents = await replay({ 'iam.json': [createdDaysBefore(200)], 's3.json': reads() });
    expect(incidents).toHaveLength(1);
    const codes = incidents[0]?.reasons.map((reason) => reason.code);
    expect(codes).toEqual(expect.arrayContaining(['dormant-key', 'dormant-key-read']));
    expect(incidents[0]?.action).toBe('page');
  });

  it('leaves the same reads alone without the creation record: five slow reads by a key never seen are not bulk', async () => {
    expect(await replay({ 's3.json': reads() })).toEqual([]);
  });

  it('does not take a creation from a file no digest vouched for', async () => {
    const incidents = await replay({ 'iam.json': [createdDaysBefore(200)], 's3.json': reads() }, (source) => !source.endsWith('iam.json'));
    expect(incidents).toEqual([]);
  });
});
