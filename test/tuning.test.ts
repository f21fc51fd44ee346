import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTuneHandler } from '../functions/tune-handler.ts';
import type { AccessEvent, Identity } from '../lib/domain/access-event.ts';
import { createDetector, type Detector } from '../lib/engine/score-engine.ts';
import { DynamoDbStore, ensureTables } from '../lib/aws/dynamodb-store.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { runTuneCommand } from '../lib/commands/tune-command.ts';
import { setVerdict } from '../lib/engine/incident-lifecycle.ts';
import type { Incident } from '../lib/domain/incident.ts';
import type { Policy } from '../lib/domain/policy.ts';
import type { DetectorStore } from '../lib/store/store.ts';
import { formatTuningReport, formatTuningSms, renderVolumeChart } from '../lib/tuning/tuning-report.ts';
import { rollbackTuning, runWeeklyTuning, type TuningOutcome, type TuningRun } from '../lib/tuning/tuning.ts';
import { hashObject } from '../lib/domain/window-counter.ts';
import { createEmulatorDynamoDbClient, emulatorClientConfig, uniqueName } from './support/aws-clients.ts';

// Two weeks of three IAM users, in one-hour windows, through the detector onto DynamoDB:
// - etl lists, reads 20 objects and deletes 20 others every working hour; in week 2 it doubles;
// - reporter reads 10 objects a morning hour, and one night in week 2 sweeps 600 (marked benign);
// - backup does the same as reporter, but its night sweep is a confirmed attack.
// Week 1 only learns (the warm-up); the tuning runs at the end of each week.
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const START = Date.parse('2026-10-05T00:00:00Z');
const WINDOW_MS = HOUR;
const POLICY: Partial<Policy> = { cooldownMinutes: 90 };
const ACCOUNT = '111122223333';

const userIdentity = (name: string, key: string): Identity => ({
  type: 'iam-user-key',
  principal: `arn:aws:iam::${ACCOUNT}:user/${name}`,
  actor: key,
  longTermKey: key,
  accessKeyId: key,
  arn: `arn:aws:iam::${ACCOUNT}:user/${name}`,
  accountId: ACCOUNT,
  userName: name,
});
const ETL = userIdentity('etl', 'AKIAETL0000000000001');
const REPORTER = userIdentity('reporter', 'AKIAREP0000000000001');
const BACKUP = userIdentity('backup', 'AKIABAK0000000000001');

const NIGHT_ADDRESS = '198.51.100.23';

let sequence = 0;
function event(identity: Identity, time: number, operation: AccessEvent['operation'], key?: string, sourceIp = '10.0.1.15'): AccessEvent {
  const eventId = `evt-${++sequence}`;
  const eventName = { get: 'GetObject', list: 'ListObjectsV2', delete: 'DeleteObject' }[operation as 'get'] ?? 'HeadObject';
  return {
    eventId,
    idHash: eventId,
    eventTime: time,
    eventName,
    operation,
    identity,
    bucket: 'patient-records',
    ...(key === undefined ? {} : { objectKey: key, objectHash: hashObject('patient-records', key) }),
    bytesOut: operation === 'get' ? 1_000 : 0,
    bytesIn: 0,
    sourceIp,
    userAgent: 'aws-cli/2.15.0',
    toolFamily: 'aws-cli',
  };
}

/** Lists once, reads `reads` distinct objects and deletes `deletes` others, spread over the hour starting at `hour`. */
function hourOf(identity: Identity, hour: number, reads: number, deletes = 0, sourceIp?: string): AccessEvent[] {
  const events = [event(identity, hour + 60_000, 'list', undefined, sourceIp)];
  for (let i = 0; i < reads; i++) events.push(event(identity, hour + 120_000 + i * 1_000, 'get', `${identity.userName}/in/${hour}/${i}`, sourceIp));
  for (let i = 0; i < deletes; i++) events.push(event(identity, hour + 1_800_000 + i * 1_000, 'delete', `${identity.userName}/done/${hour}/${i}`));
  return events;
}

/**
 * One day's traffic: etl 08–16 h, reporter and backup 09–13 h; `night` adds sweeps at 02–04 h from
 * an address outside the office (reads alone in a context a principal knows never page).
 */
function dayOf(day: number, etlReads: number, night: Identity[] = []): Map<number, AccessEvent[]> {
  const hours = new Map<number, AccessEvent[]>();
  const add = (hour: number, events: AccessEvent[]): void => {
    const at = START + day * DAY + hour * HOUR;
    hours.set(at, [...(hours.get(at) ?? []), ...events]);
  };
  night.forEach((identity, n) => {
    add(2 + 3 * n, hourOf(identity, START + day * DAY + (2 + 3 * n) * HOUR, 300, 0, NIGHT_ADDRESS));
    add(3 + 3 * n, hourOf(identity, START + day * DAY + (3 + 3 * n) * HOUR, 300, 0, NIGHT_ADDRESS));
  });
  for (let hour = 8; hour < 16; hour++) add(hour, hourOf(ETL, START + day * DAY + hour * HOUR, etlReads, etlReads));
  for (let hour = 9; hour < 13; hour++) {
    add(hour, hourOf(REPORTER, START + day * DAY + hour * HOUR, 10));
    add(hour, hourOf(BACKUP, START + day * DAY + hour * HOUR, 10));
  }
  return hours;
}

/** Feeds hours through the detector, one batch per hour decided at the hour's end; returns the verdicts by actor. */
async function feed(detector: Detector, hours: Map<number, AccessEvent[]>, learnOnly: boolean) {
  const verdicts: Array<{ actor: string; action: string; score: number; hour: number }> = [];
  for (const [hour, events] of [...hours].sort(([a], [b]) => a - b)) {
    const outcome = await detector.processBatch(events, hour + HOUR, { learnOnly });
    for (const v of outcome.verdicts) verdicts.push({ actor: v.actor, action: v.decision.action, score: v.score.score, hour });
  }
  await detector.flush();
  return verdicts;
}

const p99Of = async (store: DetectorStore, identity: Identity) =>
  (await store.getBaselines([identity.principal])).get(identity.principal)?.volume?.metrics.objects;

describe('weekly tuning on DynamoDB', () => {
  let store: DynamoDbStore;
  let detector: Detector;
  let first: TuningOutcome;
  let second: TuningOutcome;
  let weekTwoVerdicts: Awaited<ReturnType<typeof feed>>;
  let reporterIncident: Incident;
  let backupIncident: Incident;

  beforeAll(async () => {
    const client = createEmulatorDynamoDbClient();
    const table = uniqueName('ks-tune');
    const names = { windowsTable: `${table}-windows`, stateTable: `${table}-state` };
    await ensureTables(client, names);
    store = new DynamoDbStore({ client, ...names });
    detector = createDetector({ store, policy: POLICY, windowMs: WINDOW_MS });

    for (let day = 0; day < 7; day++) await feed(detector, dayOf(day, 20), true);
    first = await runWeeklyTuning(store, START + 7 * DAY, { windowMs: WINDOW_MS, policy: POLICY });

    weekTwoVerdicts = [];
    for (let day = 7; day < 14; day++) {
      const night = day === 9 ? [REPORTER] : day === 10 ? [BACKUP] : [];
      weekTwoVerdicts.push(...(await feed(detector, dayOf(day, 40, night), false)));
    }
    const incidents = await store.listIncidents();
    reporterIncident = incidents.find((i) => i.actor === REPORTER.actor) as Incident;
    backupIncident = incidents.find((i) => i.actor === BACKUP.actor) as Incident;
    await setVerdict(store, reporterIncident.incidentId, 'benign', { by: 'oncall', at: START + 13 * DAY, note: 'quarterly report' });
    await setVerdict(store, backupIncident.incidentId, 'confirmed', { by: 'oncall', at: START + 13 * DAY });
    // The on-call looked at etl's pages: the nightly export doubled, the new normal. Without these
    // verdicts its paged windows would stay out of its baseline (see tuning-poisoning.test.ts).
    for (const incident of incidents.filter((i) => i.actor === ETL.actor)) {
      await setVerdict(store, incident.incidentId, 'benign', { by: 'oncall', at: START + 13 * DAY, note: 'export doubled' });
    }

    second = await runWeeklyTuning(store, START + 14 * DAY, { windowMs: WINDOW_MS, policy: POLICY });
  }, 120_000);

  it('raises the p99 of an actor whose volume doubled, and the backtest pages less under the new parameters', async () => {
    expect(first.run.principals[ETL.principal]?.volume?.metrics.objects.p99).toBe(20);
    expect((await p99Of(store, ETL))?.p99).toBeGreaterThanOrEqual(40);
    // What happened: etl paged every working day of week 2; reporter and backup, from an address
    // new to them, were paged in the first hour of their sweep and contained in the second.
    expect(weekTwoVerdicts.filter((v) => v.actor === ETL.actor && v.action === 'page').length).toBeGreaterThan(0);
    const { backtest } = second.report;
    const etlIncidents = backtest.actual.benign - 1;
    expect(etlIncidents).toBeGreaterThan(0);
    expect(backtest.actual).toEqual({ paged: 7, contained: 2, benign: 1 + etlIncidents, confirmed: 1 });
    expect(backtest.old).toEqual({ paged: 7, contained: 2 });
    // Only the confirmed attack is still acted on: etl's doubling is the new normal, reporter was vouched for.
    expect(backtest.new).toEqual({ paged: 0, contained: 1 });
    expect(backtest.changedActors.map((a) => a.actor).sort()).toEqual([ETL.actor, REPORTER.actor].sort());
    expect(second.report.changes.find((c) => c.principal === ETL.principal)).toMatchObject({ oldP99: 20, reasons: expect.arrayContaining(['widened-by-verdict']) });
    expect(second.report.changes.find((c) => c.principal === ETL.principal)?.newP99).toBeGreaterThanOrEqual(40);
  });

  it('stops paging an actor on the behaviour the on-call marked benign', async () => {
    const reporter = (await store.getBaselines([REPORTER.principal])).get(REPORTER.principal);
    expect(reporter?.vouchedAt).toBe(START + 13 * DAY);
    expect(reporter?.volume?.metrics.objects.p99).toBeGreaterThanOrEqual(reporterIncident.evidence.distinctObjects);
    expect(second.report.changes.find((c) => c.principal === REPORTER.principal)).toMatchObject({
      reasons: ['widened-by-verdict', 'vouched'],
      incidentIds: [reporterIncident.incidentId],
    });

    // The same night sweeps again, the day after the tuning: reporter is quiet, backup still pages.
    const verdicts = await feed(detector, dayOf(14, 40, [REPORTER, BACKUP]), false);
    const night = (identity: Identity) => verdicts.filter((v) => v.actor === identity.actor && v.hour < START + 14 * DAY + 8 * HOUR);
    expect(night(REPORTER).map((v) => v.action)).toEqual(['none', 'none']);
    expect(night(BACKUP).map((v) => v.action)).toContain('page');
  });

  it('does not widen the baseline of an actor whose incident was confirmed', async () => {
    const before = first.run.principals[BACKUP.principal]?.volume?.metrics.objects;
    const after = second.run.principals[BACKUP.principal]?.volume?.metrics.objects;
    expect(before).toMatchObject({ p99: 10, max: 10 });
    expect(after).toEqual(before);
    expect(backupIncident.evidence.distinctObjects).toBeGreaterThan(100);
    // Confirmed: its windows left out, and never promoted to familiar.
    expect(second.report.changes.find((c) => c.principal === BACKUP.principal)).toMatchObject({ reasons: ['attack-excluded'], newP99: 10 });
    expect(second.report.promoted).not.toContain(BACKUP.principal);
    expect(second.run.principals[BACKUP.principal]?.vouchedAt).toBeUndefined();
  });

  it('renders the report: the e-mail names the actor whose threshold rose, the chart has a panel per principal with ticks and incidents', () => {
    const text = formatTuningReport(second.report, { rollbackCommand: 'keysentry tune --rollback --table ks' });
    expect(text).toMatch(new RegExp(`${ETL.principal.replace(/[/:]/g, '.')}\\s+20 -> \\d+ .*widened by a benign verdict`));
    expect(text).toContain('old parameters would: paged 7, contained 2');
    expect(text).toContain('new parameters would: paged 0, contained 1');
    expect(formatTuningSms(second.report).length).toBeLessThanOrEqual(160);

    const svg = renderVolumeChart(second.report);
    expect(svg.trimStart().startsWith('<svg')).toBe(true);
    expectWellFormed(svg);
    const panels = [...svg.matchAll(/<g class="principal" data-principal="([^"]+)">([\s\S]*?)<\/g>/g)];
    expect(panels.map((p) => p[1]).sort()).toEqual([BACKUP.principal, ETL.principal, REPORTER.principal].sort());
    // Panels with incidents first.
    expect(second.report.chart.series[0]?.incidents.length).toBeGreaterThan(0);
    for (const [, , body] of panels) {
      expect(body).toMatch(/<polyline class="volume"[^>]* points="[\d.,\s]+"/);
      expect(body).toMatch(/<line class="threshold"/);
      expect([...(body as string).matchAll(/class="tick-label"/g)].length).toBeGreaterThanOrEqual(3);
    }
    const backupPanel = panels.find((p) => p[1] === BACKUP.principal)?.[2] ?? '';
    expect(backupPanel).toContain(`<circle class="incident" data-incident="${backupIncident.incidentId}"`);
    // The attack's spike is a red dot: it is judged against the threshold in force last week.
    expect(backupPanel).toMatch(/<circle class="over"/);
  });

  it('rolls back to the previous version: volumes, vouching and thresholds', async () => {
    const rolled = await rollbackTuning(store);
    expect(rolled).toMatchObject({ from: second.run.version, to: first.run.version });
    expect(await p99Of(store, ETL)).toMatchObject({ p99: 20 });
    const reporter = (await store.getBaselines([REPORTER.principal])).get(REPORTER.principal);
    expect(reporter?.vouchedAt).toBeUndefined();
    expect(reporter?.volume).toEqual(first.run.principals[REPORTER.principal]?.volume);
    expect(await store.getTuning()).toMatchObject({ version: first.run.version, thresholds: first.run.thresholds, rolledBackFrom: second.run.version });
    expect((await store.listTuningRuns()).map((r) => r.version)).toEqual([first.run.version, second.run.version]);
    await expect(rollbackTuning(store)).rejects.toThrow(/first kept/);
  });
});

describe('tuning versions in DynamoDB', () => {
  it('stores a run larger than one item in chunks, lists it and deletes it', async () => {
    const client = createEmulatorDynamoDbClient();
    const table = uniqueName('ks-runs');
    const names = { windowsTable: `${table}-windows`, stateTable: `${table}-state` };
    await ensureTables(client, names);
    const store = new DynamoDbStore({ client, ...names });
    const q = (n: number) => ({ p50: n, p95: n * 1.7, p99: n * 2.3, max: n * 3.1 });
    let seed = 7;
    const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
    const principals: TuningRun['principals'] = {};
    for (let i = 0; i < 4_000; i++) {
      const n = () => Math.round(random() * 1e9) / 1e3;
      principals[`arn:aws:iam::${ACCOUNT}:role/app-${random().toString(36).slice(2)}`] = {
        volume: { windows: i, metrics: { objects: q(n()), gets: q(n()), lists: q(n()), deletes: q(n()), bytesOut: q(n()), errors: q(n()) } },
      };
    }
    const small = new MemoryStore();
    await feed(createDetector({ store: small, windowMs: WINDOW_MS }), dayOf(0, 20), true);
    const empty = await runWeeklyTuning(small, START + DAY, { windowMs: WINDOW_MS });
    const run: TuningRun = { ...empty.run, version: 3, previousVersion: 2, principals };
    await store.saveTuningRun(run);
    expect(await store.getTuningRun(3)).toEqual(run);
    expect(await store.listTuningRuns()).toEqual([{ version: 3, tunedAt: START + DAY, previousVersion: 2 }]);
    await store.deleteTuningRun(3);
    expect(await store.getTuningRun(3)).toBeUndefined();
    expect(await store.listTuningRuns()).toEqual([]);
  });
});

describe('keysentry tune and the weekly handler', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } } };
  };

  it('runs, prints the report, writes the chart, and rolls back', async () => {
    const store = new MemoryStore();
    const detector = createDetector({ store, windowMs: WINDOW_MS });
    for (let day = 0; day < 7; day++) await feed(detector, dayOf(day, 20), true);
    const dir = await mkdtemp(join(tmpdir(), 'keysentry-tune-'));
    try {
      const first = io();
      expect(await runTuneCommand(['--window', '1h'], first.io, { store, now: () => START + 7 * DAY })).toBe(0);
      expect(first.out.join('')).toContain('keysentry weekly tuning: version 1');
      await expect(runTuneCommand(['--rollback'], io().io, { store, now: () => START + 7 * DAY })).rejects.toThrow(/nothing to roll back/);

      for (let day = 7; day < 14; day++) await feed(detector, dayOf(day, 40), true);
      const second = io();
      const chart = join(dir, 'week.svg');
      expect(await runTuneCommand(['--window', '1h', '--chart', chart], second.io, { store, now: () => START + 14 * DAY })).toBe(0);
      expect(second.out.join('')).toMatch(/user\/etl\s+20 -> 40/);
      expect(await readFile(chart, 'utf8')).toMatch(/^<svg[\s\S]*user\/etl[\s\S]*<\/svg>\n$/);

      const shown = io();
      expect(await runTuneCommand(['--report', '--json'], shown.io, { store, now: () => START + 14 * DAY })).toBe(0);
      expect(JSON.parse(shown.out.join(''))).toMatchObject({ version: 2, previousVersion: 1 });

      const rolled = io();
      expect(await runTuneCommand(['--rollback'], rolled.io, { store, now: () => START + 14 * DAY })).toBe(0);
      expect(rolled.out.join('')).toMatch(/Rolled back version 2 to version 1/);
      expect(await p99Of(store, ETL)).toMatchObject({ p99: 20 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('publishes the weekly report to SNS, and a retry publishes it again instead of tuning twice', async () => {
    const sns = new SNSClient(emulatorClientConfig());
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: uniqueName('ks-pages') }));
    const store = new MemoryStore();
    let now = START + 7 * DAY;
    const handler = makeTuneHandler({ store, sns, topicArn: TopicArn as string, now: () => now, windowMs: WINDOW_MS });
    // An empty deployment: the weekly run says why it learned nothing, writes nothing, publishes nothing.
    expect(await handler()).toMatchObject({ version: 0, rerun: false, messageId: '', skipped: expect.stringContaining('no stored windows') });
    expect(await store.getTuning()).toBeUndefined();
    const detector = createDetector({ store, windowMs: WINDOW_MS });
    for (let day = 0; day < 7; day++) await feed(detector, dayOf(day, 20), true);
    const first = await handler();
    expect(first).toMatchObject({ version: 1, rerun: false });
    expect(first.messageId).not.toBe('');
    now += 3_600_000;
    expect(await handler()).toMatchObject({ version: 1, rerun: true });
    now += 7 * DAY;
    for (let day = 7; day < 14; day++) await feed(detector, dayOf(day, 20), true);
    expect(await handler()).toMatchObject({ version: 2, rerun: false });
  });
});

/** Tags balance and nest, attributes are quoted: enough of XML well-formedness for an SVG we write. */
function expectWellFormed(xml: string): void {
  const stack: string[] = [];
  for (const [tag, close, name, rest] of xml.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*)>/g)) {
    expect(rest ?? '', tag).toMatch(/^(\s+[\w:-]+="[^"<]*")*\s*\/?$/);
    if (close) expect(stack.pop(), tag).toBe(name);
    else if (!(rest ?? '').endsWith('/')) stack.push(name as string);
  }
  expect(stack).toEqual([]);
  expect(xml.replace(/<[^>]*>/g, '')).not.toMatch(/[<>]|&(?!(lt|gt|amp|quot|apos);)/);
}
