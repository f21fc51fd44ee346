import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '../lib/domain/cloudtrail-record.ts';
import { buildScenario, SCENARIO_NAMES } from '../lib/scenarios/index.ts';
import type { TrailRecord } from '../lib/scenarios/trail-records.ts';
import { ACCOUNT_ID, REGION } from '../lib/simulator/record-factory.ts';
import { APP_ROLE, BACKUP_ROLE, EXPORT_USER, PARTNER_ACCOUNT, PROTECTED_BUCKET } from '../lib/simulator/world-identities.ts';

// The scenario family must be independent of lib/simulator and shaped like real CloudTrail.
const SMALL = { warmupDays: 1, afterDays: 0 };
const attackRecords = (name: string): TrailRecord[] => {
  const scenario = buildScenario(name, SMALL);
  return scenario.records.filter((r) => scenario.attackEventIds.has(r.eventID as string));
};
const field = (record: TrailRecord, ...path: string[]): unknown =>
  path.reduce<unknown>((value, step) => (value as Record<string, unknown> | undefined)?.[step], record);

describe('the independent scenario family', () => {
  it('has at least twelve scenarios, each with an expected decision', () => {
    expect(SCENARIO_NAMES.length).toBeGreaterThanOrEqual(12);
  });

  it('writes records keysentry reads without a rejection, every data event an S3 data event', { timeout: 120_000 }, () => {
    const scenario = buildScenario('role-ransomware-itemized', SMALL);
    const outcomes = scenario.records.map((record) => normalizeRecord(record));
    expect(outcomes.filter((o) => o.kind === 'rejected')).toEqual([]);
    const skipped = outcomes.filter((o) => o.kind === 'skipped').map((o) => (o.kind === 'skipped' ? o.reason : ''));
    expect(new Set(skipped)).toEqual(new Set());
    expect(scenario.records.every((r) => r.eventCategory === 'Data' && r.eventSource === 's3.amazonaws.com')).toBe(true);
  });

  it('shares no account, region, bucket or actor name with the simulator', { timeout: 120_000 }, () => {
    const text = JSON.stringify(buildScenario('cross-account-partner', SMALL).records.slice(0, 5000));
    for (const name of [ACCOUNT_ID, REGION, PROTECTED_BUCKET, APP_ROLE, BACKUP_ROLE, EXPORT_USER, PARTNER_ACCOUNT]) {
      expect(text.includes(name), name).toBe(false);
    }
  });

  it('is deterministic for a seed and different for another', { timeout: 120_000 }, () => {
    const a = buildScenario('new-hire-first-day', { ...SMALL, seed: 3 }).records.slice(-50);
    const b = buildScenario('new-hire-first-day', { ...SMALL, seed: 3 }).records.slice(-50);
    const c = buildScenario('new-hire-first-day', { ...SMALL, seed: 4 }).records.slice(-50);
    expect(a).toEqual(b);
    expect(JSON.stringify(a)).not.toEqual(JSON.stringify(c));
  });

  it("writes the new hire's key creation and two dozen light requests within half an hour", { timeout: 120_000 }, () => {
    const scenario = buildScenario('new-hire-first-day', SMALL);
    const key = scenario.focus?.accessKeyIds[0];
    const created = scenario.records.filter((r) => r.eventName === 'CreateAccessKey');
    expect(created.map((r) => field(r, 'responseElements', 'accessKey', 'accessKeyId'))).toEqual([key]);
    const requests = scenario.records.filter((r) => field(r, 'userIdentity', 'accessKeyId') === key);
    expect(requests).toHaveLength(24);
    const times = requests.map((r) => Date.parse(r.eventTime as string));
    expect(Math.max(...times) - Math.min(...times)).toBeLessThan(30 * 60_000);
    expect(requests.filter((r) => r.eventName === 'GetObject').length).toBeGreaterThanOrEqual(10);
  });

  it('ransomware lists versions, then sends eight DeleteObjects of 1,000 versions, with or without per-object records', { timeout: 120_000 }, () => {
    const itemized = attackRecords('role-ransomware-itemized');
    const unitemized = attackRecords('role-ransomware-unitemized');
    for (const records of [itemized, unitemized]) {
      const batches = records.filter((r) => r.eventName === 'DeleteObjects');
      expect(batches).toHaveLength(8);
      expect(batches.every((r) => (field(r, 'additionalEventData', 'bytesTransferredIn') as number) > 50_000)).toBe(true);
      expect(records.findIndex((r) => r.eventName === 'ListObjectVersions')).toBeLessThan(records.findIndex((r) => r.eventName === 'DeleteObjects'));
      expect(field(records[0] as TrailRecord, 'userIdentity', 'sessionContext', 'webIdFederationData', 'federatedProvider')).toMatch(/token\.actions\.githubusercontent\.com$/);
    }
    expect(itemized.filter((r) => r.eventName === 'DeleteObject' && field(r, 'requestParameters', 'versionId'))).toHaveLength(8000);
    expect(unitemized.filter((r) => r.eventName === 'DeleteObject')).toHaveLength(0);
  });

  it("the hijacked console session renews its key every few minutes but stays one user's session", { timeout: 120_000 }, () => {
    const records = attackRecords('console-session-sweep');
    const keys = new Set(records.map((r) => field(r, 'userIdentity', 'accessKeyId')));
    expect(keys.size).toBeGreaterThanOrEqual(3);
    expect([...keys].every((k) => String(k).startsWith('ASIA'))).toBe(true);
    expect(new Set(records.map((r) => field(r, 'userIdentity', 'arn'))).size).toBe(1);
    expect(records.every((r) => r.sessionCredentialFromConsole === 'true')).toBe(true);
  });

  it('presigned downloads carry the signer key, query-string authentication, browsers and many addresses', { timeout: 120_000 }, () => {
    const scenario = buildScenario('presigned-url-downloads', SMALL);
    const key = scenario.focus?.accessKeyIds[0];
    const gets = scenario.records.filter((r) => field(r, 'userIdentity', 'accessKeyId') === key);
    expect(gets.every((r) => field(r, 'additionalEventData', 'AuthenticationMethod') === 'QueryString')).toBe(true);
    expect(gets.every((r) => String(r.userAgent).startsWith('Mozilla/5.0'))).toBe(true);
    expect(new Set(gets.map((r) => r.sourceIPAddress)).size).toBeGreaterThan(gets.length * 0.9);
  });

  it('the slow reader keeps under three objects a minute for hours', { timeout: 120_000 }, () => {
    const scenario = buildScenario('slow-exfiltration', SMALL);
    const attack = scenario.attack;
    expect(attack?.kind).toBe('slow');
    const hours = ((attack?.end ?? 0) - (attack?.start ?? 0)) / 3_600_000;
    expect(hours).toBeGreaterThan(8);
    expect((attack?.objects ?? 0) / (hours * 60)).toBeLessThan(3);
  });
});
