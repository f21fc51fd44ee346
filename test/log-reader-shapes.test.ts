import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { normalizeRecord, type RecordOutcome } from '../lib/domain/cloudtrail-record.ts';
import { replayLogs } from '../lib/engine/replay.ts';
import { IntakeReport } from '../lib/intake/intake-report.ts';
import { listLogFiles, readLogOutcomes } from '../lib/intake/log-reader.ts';
import { simulateScenario } from '../lib/simulator/index.ts';
import { cloneRecord, loadRepairedRecords, pickRecord, withoutField, type CloudTrailRecord } from './events/load-events.ts';
import { useTempDir } from './support/test-hooks.ts';

// Real S3 data and management events (OTRF), in the containers real tools write them in.
const repaired = loadRepairedRecords();
const s3Records = repaired.filter((record) => normalizeRecord(record).kind === 'event');
const getObject = pickRecord(repaired, 'GetObject', (r) => r.eventName === 'GetObject');
const management = pickRecord(repaired, 'a management event', (r) => r.eventSource === 'ec2.amazonaws.com');

const tempDir = useTempDir('keysentry-shapes-');
const put = tempDir.put;

/** Lists and reads the paths as replay does, each record normalised. */
async function outcomesOf(paths: readonly string[], report = new IntakeReport()): Promise<RecordOutcome[]> {
  const outcomes: RecordOutcome[] = [];
  for await (const batch of readLogOutcomes(await listLogFiles(paths, report), report)) outcomes.push(...batch.outcomes);
  return outcomes;
}

const eventIds = (outcomes: readonly RecordOutcome[]): string[] => outcomes.flatMap((o) => (o.kind === 'event' ? [o.event.eventId] : []));
const reasons = (outcomes: readonly RecordOutcome[]): string[] => outcomes.map((o) => (o.kind === 'event' ? 'event' : o.reason));
const ndjson = (records: readonly unknown[]): string => records.map((r) => `${JSON.stringify(r)}\n`).join('');

/**
 * An Insights record with the fields CloudTrail documents for trails
 * (docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-insights-fields-trails.html).
 */
const insight = {
  eventVersion: '1.07',
  eventTime: '2023-07-10T12:16:00Z',
  awsRegion: 'us-east-1',
  eventID: 'a9edc959-9488-4790-be0f-05d60e56b547',
  eventType: 'AwsCloudTrailInsight',
  recipientAccountId: '218007301253',
  sharedEventID: '12edc982-3348-4794-83d3-a3db26525049',
  insightDetails: {
    state: 'Start',
    eventSource: 's3.amazonaws.com',
    eventName: 'GetObject',
    insightType: 'ApiCallRateInsight',
    insightContext: { statistics: { baseline: { average: 0.08 }, insight: { average: 5 }, insightDuration: 1 } },
  },
  eventCategory: 'Insight',
};

const envelope = (detailType: string, detail: unknown): unknown => ({
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': detailType,
  source: detailType === 'AWS API Call via CloudTrail' ? 'aws.s3' : 'aws.signin',
  account: '218007301253',
  time: '2023-07-10T12:16:00Z',
  region: 'us-east-1',
  resources: [],
  detail,
});

describe('the reader reads every CloudTrail shape, or skips it with a reason', () => {
  it('skips CloudTrail Insights records in a CloudTrail-Insight/ folder as insight-event', async () => {
    await put('AWSLogs/218007301253/CloudTrail-Insight/us-east-1/2023/07/10/x.json.gz', gzipSync(JSON.stringify({ Records: [insight] })));
    await put('AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/y.json.gz', gzipSync(JSON.stringify({ Records: [getObject] })));
    const report = new IntakeReport();

    const outcomes = await outcomesOf([tempDir.path()], report);

    expect(reasons(outcomes).sort()).toEqual(['event', 'insight-event']);
    expect(report.rejectedTotal).toBe(0);
  });

  it('skips EventBridge sign-in, service-event and Insight envelopes with their reasons, and reads API calls', async () => {
    const lines = [
      envelope('AWS Console Sign In via CloudTrail', management),
      envelope('AWS Service Event via CloudTrail', management),
      envelope('AWS Insight via CloudTrail', insight),
      envelope('AWS API Call via CloudTrail', getObject),
      envelope('Object Created', { bucket: { name: 'b' } }),
    ];
    const outcomes = await outcomesOf([await put('envelopes.ndjson', ndjson(lines))]);

    expect(reasons(outcomes)).toEqual(['console-sign-in', 'aws-service-event', 'insight-event', 'event', 'unsupported-envelope']);
  });

  it.each([
    { form: 'a log file', content: (records: unknown[]) => JSON.stringify({ Records: records }) },
    { form: 'NDJSON', content: (records: unknown[]) => ndjson(records) },
  ])('reads $form that starts with a UTF-8 byte-order mark', async ({ content }) => {
    const report = new IntakeReport();
    const path = await put('bom.json', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(content(s3Records))]));

    const outcomes = await outcomesOf([path], report);

    expect(eventIds(outcomes)).toEqual(s3Records.map((r) => r.eventID));
    expect(report.rejectedTotal).toBe(0);
  });

  it('reads aws cloudtrail lookup-events output, as the CLI prints it and as JSON lines', async () => {
    const items = s3Records.map((record) => ({
      EventId: record.eventID,
      EventName: record.eventName,
      ReadOnly: 'true',
      EventTime: record.eventTime,
      EventSource: record.eventSource,
      Resources: [],
      CloudTrailEvent: JSON.stringify(record),
    }));
    const printed = await put('lookup.json', JSON.stringify({ Events: items, NextToken: 'eyJ2IjoiMiJ9' }, null, 4));
    const lines = await put('lookup.jsonl', ndjson(items));
    const report = new IntakeReport();

    const outcomes = await outcomesOf([printed, lines], report);

    expect(eventIds(outcomes)).toEqual([...s3Records, ...s3Records].map((r) => r.eventID));
    expect(report.rejectedTotal).toBe(0);
  });

  it("reads jq '.Records[]' output: pretty-printed records one after another", async () => {
    const path = await put('jq.json', s3Records.map((record) => JSON.stringify(record, null, 2)).join('\n'));

    expect(eventIds(await outcomesOf([path]))).toEqual(s3Records.map((r) => r.eventID));
  });

  it('finds .log exports and CloudWatch Logs exports (000000.gz) in a folder by their content', async () => {
    const [first, ...rest] = s3Records as [CloudTrailRecord, ...CloudTrailRecord[]];
    await put('splunk/cloudtrail.log', ndjson([first]));
    const exported = rest.map((record) => `${record.eventTime?.replace('Z', '.000Z')} ${JSON.stringify(record)}\n`).join('');
    await put('exportedlogs/a1b2c3/ec2/000000.gz', gzipSync(exported));
    const report = new IntakeReport();

    const outcomes = await outcomesOf([tempDir.path()], report);

    expect(eventIds(outcomes).sort()).toEqual(s3Records.map((r) => r.eventID as string).sort());
    expect(report.rejectedTotal).toBe(0);
  });

  it('names the file and line, or the record index, of each rejected record', async () => {
    const broken = withoutField(getObject, 'eventTime');
    const lines = await put('lines.ndjson', ndjson([nth(0), nth(1), broken]));
    const array = await put('array.json', JSON.stringify({ Records: [nth(2), nth(3), broken] }));

    const { summary } = await replayLogs({ paths: [lines, array] });

    expect(summary.rejected).toEqual({ 'missing-eventTime': 2 });
    expect(summary.rejectedExamples['missing-eventTime']).toEqual([`${array}:1 #2`, `${lines}:3`]);
  });

  it("does not count simulate's manifest.json as a rejected record", async () => {
    await simulateScenario('benign', tempDir.path(), { days: 1, scale: 1 });
    const { summary } = await replayLogs({ paths: [tempDir.path()] });

    expect(summary.events).toBeGreaterThan(100);
    expect(summary.rejected).toEqual({});
    expect(summary.skipped['not-cloudtrail']).toBe(1);
  });
});

function nth(i: number): CloudTrailRecord {
  return cloneRecord(getObject, (r) => {
    r.eventID = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  });
}

describe('the reader over damaged folders and files', () => {
  it('counts a symbolic link loop with its path and reads the rest', async () => {
    const log = await put('logs/a.json', JSON.stringify({ Records: [getObject] }));
    await symlink('..', join(tempDir.path(), 'logs', 'up'));
    await symlink('self', join(tempDir.path(), 'logs', 'self'));
    const report = new IntakeReport();

    const files = await listLogFiles([tempDir.path()], report);

    expect(files.map((file) => file.path)).toEqual([log]);
    expect(report.rejected).toEqual({ 'symlink-loop': 2 });
    expect(report.examples['symlink-loop']?.sort()).toEqual([join(tempDir.path(), 'logs', 'self'), join(tempDir.path(), 'logs', 'up')]);
  });

  // Root reads every folder whatever its mode; the test means something only for other users.
  it.skipIf(process.getuid?.() === 0)('counts an unreadable folder with its path and reads the rest', async () => {
    const { chmod } = await import('node:fs/promises');
    const log = await put('ok/a.json', JSON.stringify({ Records: [getObject] }));
    await put('locked/b.json', JSON.stringify({ Records: [getObject] }));
    await chmod(join(tempDir.path(), 'locked'), 0o000);
    const report = new IntakeReport();
    try {
      expect((await listLogFiles([tempDir.path()], report)).map((file) => file.path)).toEqual([log]);
      expect(report.examples['unreadable-folder']).toEqual([join(tempDir.path(), 'locked')]);
    } finally {
      await chmod(join(tempDir.path(), 'locked'), 0o755);
    }
  });

  it('counts a file that inflates beyond the cap as oversized, keeping what came before', async () => {
    // 40 gzip members of 4 MiB of spaces each: 160 MiB of text from about 160 KB.
    const padding = gzipSync(Buffer.alloc(4 * 1024 * 1024, 0x20));
    const bomb = Buffer.concat([gzipSync(`${JSON.stringify(getObject)}\n`), ...Array.from({ length: 40 }, () => padding)]);
    const path = await put('bomb.json.gz', bomb);
    const report = new IntakeReport();

    const outcomes = await outcomesOf([path], report);

    expect(bomb.length).toBeLessThan(1024 * 1024);
    expect(eventIds(outcomes)).toEqual([getObject.eventID]);
    expect(report.rejected).toEqual({ oversized: 1 });
    expect(report.examples.oversized).toEqual([path]);
  });
});
