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

/** Every record of the attacker's key in the simulated trail, moved `shift` later with fresh event ids, as one log file. */
async function writeRepeatedAttack(from: string, to: string, key: string, shift: number): Promise<number> {
  const records: Array<Record<string, unknown>> = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.json.gz') && !path.includes('CloudTrail-Digest')) {
        const file = JSON.parse(gunzipSync(await readFile(path)).toString('utf8')) as { Records: Array<Record<string, unknown>> };
        for (const record of file.Records) {
          if ((record.userIdentity as { accessKeyId?: string } | undefined)?.accessKeyId !== key) continue;
          const time = Date.parse(record.eventTime as string) + shift;
          records.push({ ...record, eventTime: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'), eventID: `${record.eventID as string}-again` });
        }
      }
    }
  };
  await walk(from);
  records.sort((a, b) => Date.parse(a.eventTime as string) - Date.parse(b.eventTime as string));
  await mkdir(to, { recursive: true });
  await writeFile(join(to, 'attack-again.json'), JSON.stringify({ Records: records }));
  return records.length;
}

const attackerIncident = (incidents: readonly ReplayIncident[]): ReplayIncident | undefined =>
  incidents.find((incident) => incident.accessKeyId === attackerKey);

/** Replays the breach into `store`, tunes on the Monday after, optionally after a verdict, and replays the attack again. */
async function attackTwice(store: DetectorStore, verdict?: 'confirmed' | 'benign', batchWindowMs?: number) {
  const first = await replayLogs({ paths: [join(dir, 'AWSLogs')], store, warmupMs: WARMUP_MS, batchWindowMs });
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
  const records = await writeRepeatedAttack(join(dir, 'AWSLogs'), join(dir, 'again'), attackerKey, SECOND_ATTACK_SHIFT);
  expect(records).toBeGreaterThan(1_000);
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
    // Nor of the fleet's: no actor's window ever read what the attacker read in one.
    expect(tuning.run.fleet?.metrics.objects.max ?? 0).toBeLessThan(first.getsBeforeDecision);
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
      // Minute-long batches keep the emulator's round trips few, for both attacks alike.
      outcomes.push(await attackTwice(new DynamoDbStore({ client, ...names }), verdict, 60_000));
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
    const expected = await runWeeklyTuning(onTheDay, tuneAt, { windowMs: WINDOW_MS });

    const monthsLater = tuneAt + 60 * DAY;
    await expect(runWeeklyTuning(later, monthsLater, { windowMs: WINDOW_MS })).rejects.toThrow(StaleDataError);
    await expect(runWeeklyTuning(later, monthsLater, { windowMs: WINDOW_MS })).rejects.toThrow(/keysentry tune --as-of \d{4}-\d\d-\d\d/);
    expect(await later.listTuningRuns()).toEqual([]);

    const out: string[] = [];
    const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: () => true } };
    const asOf = new Date(tuneAt).toISOString();
    expect(await runTuneCommand(['--as-of', asOf, '--json'], io, { store: later, now: () => monthsLater })).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual(JSON.parse(JSON.stringify(expected.report)));
  });
});
