import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStore, ensureTables } from '../lib/aws/dynamodb-store.ts';
import { runTuneCommand } from '../lib/commands/tune-command.ts';
import { setVerdict } from '../lib/engine/incident-lifecycle.ts';
import { replayLogs, type ReplayIncident } from '../lib/engine/replay.ts';
import { simulateScenario, type SimulationManifest } from '../lib/simulator/index.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import type { DetectorStore } from '../lib/store/store.ts';
import { runWeeklyTuning, StaleDataError } from '../lib/tuning/tuning.ts';
import { createEmulatorDynamoDbClient, uniqueName } from './support/aws-clients.ts';

// The tuning must not learn from an attack. The breach world of `npm start`, four days of it (two
// of warm-up; the contractor's dormant key on day 3, as on day 15 of the full run), is replayed; the
// weekly run on day 5 at 06:00 tunes, with or without the on-call's verdict in between; then the
// same attacker, with the same key, does the same again — its records moved 8 days later. The
// second attack must be contained as fast as the first.
const DAY = 86_400_000;
const WINDOW_MS = 900_000;
const SECOND_ATTACK_SHIFT = 8 * DAY;
const WARMUP_MS = 2 * DAY;

let dir: string;
let manifest: SimulationManifest;
let attackerKey: string;
let tuneAt: number;
let attackStart: number;

/**
 * Records of the simulated trail that `keep` selects, moved `shift` later (with fresh event ids when
 * moved), written as one log file in `to`.
 */
async function writeRecords(from: string, to: string, keep: (record: Record<string, unknown>) => boolean, shift: number): Promise<number> {
  const records: Array<Record<string, unknown>> = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.json.gz') && !path.includes('CloudTrail-Digest')) {
        const file = JSON.parse(gunzipSync(await readFile(path)).toString('utf8')) as { Records: Array<Record<string, unknown>> };
        for (const record of file.Records) {
          if (!keep(record)) continue;
          if (shift === 0) records.push(record);
          else {
            const time = Date.parse(record.eventTime as string) + shift;
            records.push({ ...record, eventTime: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'), eventID: `${record.eventID as string}-again` });
          }
        }
      }
    }
  };
  await walk(from);
  records.sort((a, b) => Date.parse(a.eventTime as string) - Date.parse(b.eventTime as string));
  await mkdir(to, { recursive: true });
  await writeFile(join(to, 'records.json'), JSON.stringify({ Records: records }));
  return records.length;
}

const attackerIncident = (incidents: readonly ReplayIncident[]): ReplayIncident | undefined =>
  incidents.find((incident) => incident.accessKeyId === attackerKey);

/** What the first replay reads: the whole trail, or (on the emulator) the hours around the attack. */
interface FirstReplay {
  paths: string[];
  warmupMs: number;
  batchWindowMs?: number;
}

/** Replays the breach into `store`, tunes on the Monday after, optionally after a verdict, and replays the attack again. */
async function attackTwice(store: DetectorStore, verdict?: 'confirmed' | 'benign', replay: FirstReplay = { paths: [join(dir, 'AWSLogs')], warmupMs: WARMUP_MS }) {
  const { batchWindowMs } = replay;
  const first = await replayLogs({ paths: replay.paths, store, warmupMs: replay.warmupMs, batchWindowMs });
  const firstIncident = attackerIncident(first.incidents);
  if (firstIncident === undefined) throw new Error('the first attack made no incident');
  if (verdict !== undefined) await setVerdict(store, firstIncident.incidentId, verdict, { by: 'oncall', at: tuneAt - DAY, note: 'test' });
  const tuning = await runWeeklyTuning(store, tuneAt, { windowMs: WINDOW_MS });
  const second = await replayLogs({ paths: [join(dir, 'again')], store, warmupMs: 0, batchWindowMs });
  return { first: firstIncident, second: attackerIncident(second.incidents), tuning };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keysentry-poisoning-'));
  manifest = await simulateScenario('breach', dir, { days: 4 });
  attackerKey = manifest.actors.find((actor) => !actor.benign && actor.identityType === 'iam-user-key')?.accessKeyIds[0] as string;
  tuneAt = Date.parse(manifest.start) + 5 * DAY + 6 * 3_600_000;
  const byAttacker = (record: Record<string, unknown>): boolean => (record.userIdentity as { accessKeyId?: string } | undefined)?.accessKeyId === attackerKey;
  const records = await writeRecords(join(dir, 'AWSLogs'), join(dir, 'again'), byAttacker, SECOND_ATTACK_SHIFT);
  expect(records).toBeGreaterThan(1_000);
  // For the emulator: everyone's records from two hours before the attack to its end.
  attackStart = Date.parse(manifest.attack?.start ?? '');
  const attackEnd = Date.parse(manifest.attack?.end ?? '');
  const around = (record: Record<string, unknown>): boolean => {
    const time = Date.parse(record.eventTime as string);
    return time >= attackStart - 2 * 3_600_000 && time <= attackEnd;
  };
  expect(await writeRecords(join(dir, 'AWSLogs'), join(dir, 'around'), around, 0)).toBeGreaterThan(records);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a weekly tuning after an attack, in memory', () => {
  it('contains the same attack a week later as fast as the first time, with no verdict in between', { timeout: 120_000 }, async () => {
    const store = new MemoryStore();
    const { first, second, tuning } = await attackTwice(store);
    expect(first).toMatchObject({ action: 'contain', deletesBeforeDecision: 0 });
    expect(second).toMatchObject({ action: 'contain', deletesBeforeDecision: 0 });
    expect(second?.getsBeforeDecision).toBeLessThanOrEqual(first.getsBeforeDecision);
    expect(second?.reasons.map((reason) => reason.code)).toContain('never-seen');
    // What the attack's first minutes taught is taken back; nothing of it is a baseline.
    expect(tuning.report.unlearned).toEqual(expect.arrayContaining([first.principal, attackerKey]));
    expect(tuning.run.principals[first.principal]).toBeUndefined();
    expect(tuning.report.promoted).not.toContain(first.principal);
    expect(tuning.report.changes.find((change) => change.principal === first.principal)?.reasons).toEqual(expect.arrayContaining(['attack-excluded', 'unlearned']));
    // Nor of the fleet's: the run learned from every window but those of an incident without a
    // benign verdict (the attacker's, and any other actor paged and not yet judged).
    const incidents = (await store.listIncidents()).filter((incident) => incident.firstDecisionTime < tuneAt);
    const underSuspicion = (actor: string, window: number): boolean =>
      incidents.some(
        (incident) =>
          incident.actor === actor &&
          window >= Math.floor(incident.firstEventTime / WINDOW_MS) &&
          window <= Math.floor(Math.max(incident.updatedTime - 1, incident.lastEventTime ?? 0) / WINDOW_MS),
      );
    const weeks = { from: Math.floor((tuneAt - 35 * DAY) / WINDOW_MS), to: Math.floor(tuneAt / WINDOW_MS) };
    let learnable = 0;
    let attackers = 0;
    for await (const window of store.scanWindows(weeks.from, weeks.to)) {
      if (window.identityType === 'aws-service' || window.identityType === 'anonymous' || window.lastEventTime > tuneAt) continue;
      if (window.actor === first.actor) attackers++;
      else if (!underSuspicion(window.actor, window.window)) learnable++;
    }
    expect(attackers).toBeGreaterThan(0);
    expect(tuning.report.windows).toBe(learnable);
  });

  it('contains it as fast with a confirmed verdict in between, and never promotes or widens the attacker', { timeout: 120_000 }, async () => {
    const store = new MemoryStore();
    const { first, second, tuning } = await attackTwice(store, 'confirmed');
    expect(second).toMatchObject({ action: 'contain', deletesBeforeDecision: 0 });
    expect(second?.getsBeforeDecision).toBeLessThanOrEqual(first.getsBeforeDecision);
    expect(tuning.report.promoted).not.toContain(first.principal);
    expect(tuning.report.changes.find((change) => change.principal === first.principal)?.reasons).not.toContain('widened-by-verdict');
    // A tuning a week later still keeps the confirmed actor out.
    const later = await runWeeklyTuning(store, tuneAt + 7 * DAY, { windowMs: WINDOW_MS });
    expect(later.report.promoted).not.toContain(first.principal);
    expect(later.run.principals[first.principal]?.vouchedAt).toBeUndefined();
  });

  it('learns the activity once the on-call calls it benign: the same reads then are not contained', { timeout: 120_000 }, async () => {
    const store = new MemoryStore();
    const { first, second, tuning } = await attackTwice(store, 'benign');
    expect(tuning.report.changes.find((change) => change.principal === first.principal)?.reasons).toEqual(expect.arrayContaining(['widened-by-verdict', 'vouched']));
    expect(second?.action).not.toBe('contain');
  });
});

describe('a weekly tuning after an attack, on DynamoDB (moto_server)', () => {
  it('contains the same attack a week later as fast as the first time, with and without a verdict', { timeout: 600_000 }, async () => {
    const client = createEmulatorDynamoDbClient();
    const outcomes = [];
    for (const verdict of [undefined, 'confirmed'] as const) {
      const table = uniqueName('ks-poison');
      const names = { windowsTable: `${table}-windows`, stateTable: `${table}-state` };
      await ensureTables(client, names);
      // The two hours before the attack (learned) and the attack; minute-long batches keep the
      // emulator's round trips few, for both attacks alike.
      const replay = { paths: [join(dir, 'around')], warmupMs: 90 * 60_000, batchWindowMs: 60_000 };
      outcomes.push(await attackTwice(new DynamoDbStore({ client, ...names }), verdict, replay));
    }
    for (const { first, second, tuning } of outcomes) {
      expect(first).toMatchObject({ action: 'contain', deletesBeforeDecision: 0 });
      expect(second).toMatchObject({ action: 'contain', deletesBeforeDecision: 0 });
      expect(second?.getsBeforeDecision).toBeLessThanOrEqual(first.getsBeforeDecision);
      expect(tuning.report.promoted).not.toContain(first.principal);
    }
  });
});

describe('keysentry tune on data older than the kept weeks', () => {
  it('refuses without --as-of, and with it gives the report a tune on the day gave', { timeout: 120_000 }, async () => {
    const onTheDay = new MemoryStore();
    const later = new MemoryStore();
    await replayLogs({ paths: [join(dir, 'AWSLogs')], store: onTheDay, warmupMs: WARMUP_MS });
    await replayLogs({ paths: [join(dir, 'AWSLogs')], store: later, warmupMs: WARMUP_MS });
    const runsBefore = await later.listTuningRuns();
    const expected = await runWeeklyTuning(onTheDay, tuneAt, { windowMs: WINDOW_MS });

    const monthsLater = tuneAt + 60 * DAY;
    await expect(runWeeklyTuning(later, monthsLater, { windowMs: WINDOW_MS })).rejects.toThrow(StaleDataError);
    await expect(runWeeklyTuning(later, monthsLater, { windowMs: WINDOW_MS })).rejects.toThrow(/keysentry tune --as-of \d{4}-\d\d-\d\d/);
    expect(await later.listTuningRuns()).toEqual(runsBefore);

    const out: string[] = [];
    const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: () => true } };
    const asOf = new Date(tuneAt).toISOString();
    expect(await runTuneCommand(['--as-of', asOf, '--json'], io, { store: later, now: () => monthsLater })).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual(JSON.parse(JSON.stringify(expected.report)));
  });
});
