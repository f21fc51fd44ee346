import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../domain/errors.ts';
import { planBreach, planRansomware, type AttackPlan } from './attack-scenarios.ts';
import { DAY, HOUR, MINUTE, createActor, createBenignWorld, type WorldSettings } from './benign-world.ts';
import { DELIVERY_PERIOD, LogDelivery } from './log-delivery.ts';
import { ObjectCatalog } from './object-catalog.ts';
import { ACCOUNT_ID, REGION, formatEventTime } from './record-factory.ts';
import type {
  Activity,
  ScenarioName,
  SimulateOptions,
  SimulatedActor,
  SimulatedEvent,
  SimulationManifest,
} from './simulation-types.ts';
import { PROTECTED_BUCKET, drawWorldIdentities } from './world-identities.ts';

export type { ScenarioName, SimulateOptions, SimulatedActor, SimulationManifest } from './simulation-types.ts';

export const SCENARIO_NAMES: readonly ScenarioName[] = ['breach', 'month-end-surge', 'ransomware-versions', 'benign'];

const DEFAULT_START = '2026-10-05T00:00:00Z';
const DEFAULT_DAYS = 21;
/** Attacks start after the 14-day warm-up, so the baseline learns from benign traffic only. */
const ATTACK_DAY = 15;
const WARMUP_DAYS = 14;
const ATTACK_TIME_OF_DAY = 3 * HOUR + 12 * MINUTE;

interface ResolvedOptions {
  seed: number;
  start: number;
  firstDay: number;
  days: number;
  scale: number;
  attackerRate: number;
  surgeDay?: number;
}

/**
 * Writes a simulated CloudTrail trail for one scenario under `outDir`: gzip log files laid out
 * exactly as CloudTrail lays them out (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/…`), a
 * daily digest file beside them, and `manifest.json` naming every actor and the attack, if any. The
 * benign world (an application role, a nightly export, a weekly backup, developers, scanners, a
 * partner account) is the same in every scenario for a given seed; the attack is added on top, after
 * the 14-day warm-up. Files are written as their five-minute delivery period closes, so memory
 * stays flat however many records the run writes. Refuses to write into an existing `AWSLogs/`.
 */
export async function simulateScenario(
  name: ScenarioName,
  outDir: string,
  options: SimulateOptions = {},
): Promise<SimulationManifest> {
  if (!SCENARIO_NAMES.includes(name)) {
    throw new UsageError(`unknown scenario "${String(name)}"; one of: ${SCENARIO_NAMES.join(', ')}`);
  }
  const resolved = resolveOptions(name, options);
  if (existsSync(join(outDir, 'AWSLogs'))) {
    throw new UsageError(`${join(outDir, 'AWSLogs')} already exists; simulate into an empty directory`);
  }
  mkdirSync(outDir, { recursive: true });

  const end = resolved.start + resolved.days * DAY;
  const settings: WorldSettings = {
    seed: resolved.seed,
    start: resolved.start,
    end,
    firstDay: resolved.firstDay,
    scale: resolved.scale,
    catalog: new ObjectCatalog(PROTECTED_BUCKET, resolved.seed),
    identities: drawWorldIdentities(resolved.seed),
    surgeDay: resolved.surgeDay,
  };
  const world = createBenignWorld(settings);
  const attack = planAttack(name, settings, resolved);
  const activities = attack ? [...world.activities, attack.activity] : world.activities;

  const delivery = new LogDelivery(outDir, resolved.start, end, resolved.seed);
  const seen = new Set<SimulatedActor>();
  await playActivities(activities, resolved.start, end, (event) => {
    if (event.actor) seen.add(event.actor);
    delivery.deliver(event);
  }, (bound) => delivery.flushThrough(bound));
  const totals = await delivery.finish();

  const cloudTrail = createActor('CloudTrail log delivery', 'cloudtrail.amazonaws.com', 'aws-service');
  if (totals.trailPuts > 0) seen.add(cloudTrail);
  const candidates = attack ? [...world.actors, cloudTrail, attack.actor] : [...world.actors, cloudTrail];
  const manifest: SimulationManifest = {
    scenario: name,
    seed: resolved.seed,
    start: formatEventTime(resolved.start),
    end: formatEventTime(end),
    accountId: ACCOUNT_ID,
    region: REGION,
    files: totals.files,
    records: totals.records,
    attack: attack?.summarize(),
    actors: candidates.filter((actor) => seen.has(actor)),
  };
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function resolveOptions(name: ScenarioName, options: SimulateOptions): ResolvedOptions {
  const seed = options.seed ?? 1;
  const start = Date.parse(options.start ?? DEFAULT_START);
  const days = options.days ?? DEFAULT_DAYS;
  const scale = options.scale ?? 1;
  const attackerRate = options.attackerRate ?? 3;
  if (!Number.isSafeInteger(seed)) throw new UsageError(`seed must be an integer, got ${seed}`);
  if (Number.isNaN(start)) throw new UsageError(`start must be an ISO date, got "${options.start}"`);
  if (!Number.isInteger(days) || days < 1) throw new UsageError(`days must be a whole number ≥ 1, got ${days}`);
  if (!(scale > 0) || !Number.isFinite(scale)) throw new UsageError(`scale must be a positive number, got ${scale}`);
  if (!(attackerRate > 0) || !Number.isFinite(attackerRate)) {
    throw new UsageError(`attackerRate must be a positive number, got ${attackerRate}`);
  }
  const firstDay = Math.floor(start / DAY) * DAY;
  const resolved: ResolvedOptions = { seed, start, firstDay, days, scale, attackerRate };
  if (name === 'month-end-surge') Object.assign(resolved, placeMonthEnd(firstDay, days));
  return resolved;
}

/**
 * The surge falls on the first last-day-of-a-month after the warm-up (or on the last day of a short
 * run); when the run ends before that day, the run is extended to it rather than moved, so `start`
 * keeps its meaning.
 */
function placeMonthEnd(firstDay: number, days: number): { days: number; surgeDay: number } {
  for (let day = Math.min(WARMUP_DAYS, days - 1); ; day++) {
    if (new Date(firstDay + (day + 1) * DAY).getUTCDate() === 1) return { days: Math.max(days, day + 1), surgeDay: day };
  }
}

function planAttack(name: ScenarioName, settings: WorldSettings, options: ResolvedOptions): AttackPlan | undefined {
  // Short runs have no room for the warm-up; the attack then takes their last day.
  const day = Math.min(ATTACK_DAY, options.days - 1);
  const at = Math.max(settings.start, settings.firstDay + day * DAY + ATTACK_TIME_OF_DAY);
  if (name === 'breach') return planBreach(settings, at, options.attackerRate);
  if (name === 'ransomware-versions') return planRansomware(settings, at);
  return undefined;
}

/**
 * Plays every activity in five-minute steps: each step drains the events that happened before its
 * end, then lets delivery write the files that can no longer receive a record. Activities yield in
 * time order, so nothing drained later can belong to a file already written.
 */
async function playActivities(
  activities: readonly Activity[],
  start: number,
  end: number,
  deliver: (event: SimulatedEvent) => void,
  flushThrough: (bound: number) => Promise<void>,
): Promise<void> {
  const heads = activities.map(({ startsAt, events }) => ({
    startsAt,
    events,
    step: undefined as IteratorResult<SimulatedEvent> | undefined,
  }));
  for (let bound = start + DELIVERY_PERIOD; ; bound += DELIVERY_PERIOD) {
    const limit = Math.min(bound, end);
    for (const head of heads) {
      if (head.startsAt >= limit) continue;
      head.step ??= head.events.next();
      while (!head.step.done && head.step.value.at < limit) {
        if (head.step.value.at >= start) deliver(head.step.value);
        head.step = head.events.next();
      }
    }
    await flushThrough(limit);
    if (limit >= end) return;
  }
}
