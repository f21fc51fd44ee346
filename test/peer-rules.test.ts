import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { elasticKeyFirstSeenFromIp } from '../lib/peers/elastic-new-terms.ts';
import { pantherActorUser, pantherDeleteObject, pantherDeleteObjects } from '../lib/peers/panther-s3-delete.ts';
import type { RawRecord } from '../lib/peers/peer-alert.ts';
import { splunkAnomalousGetObject } from '../lib/peers/splunk-anomalous-getobject.ts';
import { EXFILTRATION_LOG } from './events/load-events.ts';

// Every record is a clone of a real one: OTRF's recorded GetObject of a role session
// (test/events/otrf), with the fields a case needs changed.
const otrfGet = readFileSync(EXFILTRATION_LOG, 'utf8')
  .split('\n')
  .filter((line) => line.includes('"eventName":"GetObject"'))
  .map((line) => JSON.parse(line) as RawRecord)[0] as RawRecord;
const ALICE = { type: 'IAMUser', principalId: 'AIDAEXAMPLEALICE', arn: 'arn:aws:iam::123456789123:user/Alice', userName: 'Alice', accessKeyId: 'AKIAIOSFODNN7EXAMPLE', sessionContext: undefined };
const asAlice = (eventName: string): RawRecord => ({ ...structuredClone(otrfGet), eventName, userIdentity: { ...(otrfGet.userIdentity as RawRecord), ...ALICE } });

let serial = 0;
function clone(base: RawRecord, at: number, changes: Record<string, unknown> = {}, identity: Record<string, unknown> = {}): RawRecord {
  const copy = structuredClone(base);
  delete copy['@timestamp'];
  return { ...copy, ...changes, eventTime: new Date(at).toISOString().replace('.000', ''), eventID: `test-${serial++}`, userIdentity: { ...(copy.userIdentity as RawRecord), ...identity } };
}

const T0 = Date.parse('2026-03-02T10:02:30Z');
const MIN = 60_000;
const DAY = 86_400_000;

describe("Elastic's long-term key first seen from source IP", () => {
  const put = asAlice('PutObject');

  it('alerts at the next five-minute run on a long-term key from an address it never used', () => {
    const alerts = elasticKeyFirstSeenFromIp([clone(put, T0)]);
    expect(alerts.map((a) => new Date(a.at).toISOString())).toEqual(['2026-03-02T10:05:00.000Z']);
  });

  it('stays quiet when the pair was seen within ten days, and alerts again after a longer silence', () => {
    expect(elasticKeyFirstSeenFromIp([clone(put, T0 - 3 * DAY), clone(put, T0)]).filter((a) => a.at > T0)).toEqual([]);
    expect(elasticKeyFirstSeenFromIp([clone(put, T0 - 11 * DAY), clone(put, T0)]).filter((a) => a.at > T0)).toHaveLength(1);
  });

  it('ignores session keys, failed calls and service addresses', () => {
    const records = [
      clone(put, T0, {}, { accessKeyId: 'ASIAIOSFODNN7EXAMPLE' }),
      clone(put, T0, { errorCode: 'AccessDenied' }),
      clone(put, T0, { sourceIPAddress: 's3.amazonaws.com' }),
    ];
    expect(elasticKeyFirstSeenFromIp(records)).toEqual([]);
  });

  it('alerts twice on a pair first seen in the minute where two runs overlap (from now-6m, every 5m)', () => {
    expect(elasticKeyFirstSeenFromIp([clone(put, Date.parse('2026-03-02T10:04:30Z'))])).toHaveLength(2);
  });
});

describe("Panther's AWS.S3.DeleteObject (threshold 50, dedup 60 minutes)", () => {
  const del = asAlice('DeleteObject');

  it('alerts at the 50th delete of one user on one bucket within the hour', () => {
    const records = Array.from({ length: 60 }, (_, i) => clone(del, T0 + i * 30_000));
    const alerts = pantherDeleteObject(records);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.at).toBe(T0 + 49 * 30_000);
  });

  it('does not alert on 49 deletes, on 50 spread over two hours, or on failed deletes', () => {
    expect(pantherDeleteObject(Array.from({ length: 49 }, (_, i) => clone(del, T0 + i * 1000)))).toEqual([]);
    expect(pantherDeleteObject(Array.from({ length: 50 }, (_, i) => clone(del, T0 + i * 2.5 * MIN)))).toEqual([]);
    expect(pantherDeleteObject(Array.from({ length: 60 }, (_, i) => clone(del, T0 + i * 1000, { errorCode: 'AccessDenied' })))).toEqual([]);
  });

  it('counts each user and bucket apart (the title is the dedup key)', () => {
    const records = Array.from({ length: 60 }, (_, i) => clone(del, T0 + i * 1000, {}, { userName: i % 2 === 0 ? 'Alice' : 'Bob' }));
    expect(pantherDeleteObject(records)).toEqual([]);
  });
});

describe("Panther's AWS.S3.DeleteObjects (threshold 1, dedup 60 minutes)", () => {
  const batch = asAlice('DeleteObjects');

  it('alerts on the first DeleteObjects, once per hour per user and bucket', () => {
    const alerts = pantherDeleteObjects([clone(batch, T0), clone(batch, T0 + 10 * MIN), clone(batch, T0 + 61 * MIN)]);
    expect(alerts.map((a) => a.at)).toEqual([T0, T0 + 61 * MIN]);
  });

  it('does not alert on a failed DeleteObjects nor on a single DeleteObject', () => {
    expect(pantherDeleteObjects([clone(batch, T0, { errorCode: 'AccessDenied' }), clone(asAlice('DeleteObject'), T0)])).toEqual([]);
  });

  it("names a role session's actor by its issuing role", () => {
    expect(pantherActorUser(otrfGet)).toBe('MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0');
    expect(pantherActorUser(asAlice('DeleteObjects'))).toBe('Alice');
  });
});

describe("Splunk's anomalous GetObject per ARN (hourly, -70m to -10m, 10-minute bins)", () => {
  const HOUR_START = Date.parse('2026-03-02T10:00:00Z');
  // Ten callers of one role reading a few objects per bin: the ordinary rows.
  const usual = (): RawRecord[] =>
    Array.from({ length: 6 }, (_, bin) =>
      Array.from({ length: 10 }, (_, caller) =>
        Array.from({ length: 3 }, (_, n) => clone(otrfGet, HOUR_START + bin * 10 * MIN + n * 1000, { sourceIPAddress: `10.0.0.${caller + 1}` })),
      ),
    ).flat(2);

  it('flags an ARN never among the rows, reading in bulk, at the next hourly run', () => {
    const intruder = Array.from({ length: 400 }, (_, n) =>
      clone(otrfGet, HOUR_START + 25 * MIN + n * 500, { sourceIPAddress: '203.0.113.9' }, { arn: 'arn:aws:iam::123456789123:user/ghost', type: 'IAMUser' }),
    );
    const alerts = splunkAnomalousGetObject([...usual(), ...intruder]);
    expect(alerts.map((a) => [a.entity, new Date(a.at).toISOString()])).toEqual([['arn:aws:iam::123456789123:user/ghost', '2026-03-02T11:00:00.000Z']]);
  });

  it('flags nothing when every row looks alike', () => {
    expect(splunkAnomalousGetObject(usual())).toEqual([]);
  });

  it('drops rows without userIdentity.arn, as stats … by does (callers of another account)', () => {
    const foreign = Array.from({ length: 400 }, (_, n) =>
      clone(otrfGet, HOUR_START + 25 * MIN + n * 500, { sourceIPAddress: '203.0.113.9' }, { arn: undefined, type: 'AWSAccount', principalId: 'AROAEXAMPLE:x' }),
    );
    expect(splunkAnomalousGetObject([...usual(), ...foreign])).toEqual([]);
  });
});
