import { Dice } from './dice.ts';
import {
  consoleSessionSweep,
  crossAccountExfiltration,
  dormantKeyAwakening,
  familiarKeyNewContext,
  individualVersionDeletion,
  roleRansomware,
  slowExfiltration,
  type StagedAttack,
} from './attack-scenarios.ts';
import { backupSurge, developerBulkDownload, monthEndSurge, newHireFirstDay, partnerBigDay, presignedBurst } from './benign-scenarios.ts';
import { writeBackground } from './clinic-background.ts';
import { DAY, Trail, drawClinicWorld, type Stage } from './clinic-world.ts';
import type { BenignFocus, Decision, RecordOrder, Scenario, ScenarioOptions } from './scenario-types.ts';

export type { Scenario, ScenarioOptions } from './scenario-types.ts';
export { progressAt } from './attack-log.ts';
export { writeScenarioLogs } from './scenario-logs.ts';

interface ScenarioDefinition {
  title: string;
  expected: Decision;
  /** 00:00 UTC of the day the scenario is about. */
  day: string;
  order?: RecordOrder;
  stage: (stage: Stage) => StagedAttack | BenignFocus;
}

const WEDNESDAY = '2026-11-25';

/** The independent scenario matrix: each with the decision keysentry is expected to take. */
export const SCENARIOS: Readonly<Record<string, ScenarioDefinition>> = {
  'new-hire-first-day': { title: "new hire's first day (24 light requests)", expected: 'none', day: WEDNESDAY, stage: newHireFirstDay },
  'dormant-key-awakening': { title: 'dormant 2023 key: list, bulk get, delete', expected: 'contain', day: WEDNESDAY, stage: dormantKeyAwakening },
  'familiar-key-new-network-and-tool': { title: 'developer key from abroad with rclone', expected: 'contain', day: WEDNESDAY, stage: familiarKeyNewContext },
  'role-ransomware-itemized': { title: 'CI role: versions listed, 8 DeleteObjects ×1,000 (per-object records)', expected: 'contain', day: WEDNESDAY, stage: (s) => roleRansomware(s, true) },
  'role-ransomware-unitemized': { title: 'CI role: versions listed, 8 DeleteObjects ×1,000 (batch records only)', expected: 'contain', day: WEDNESDAY, stage: (s) => roleRansomware(s, false) },
  'key-ransomware-individual': { title: 'developer key from a VPS: versions listed, 2,000 versions deleted one by one', expected: 'contain', day: WEDNESDAY, stage: individualVersionDeletion },
  'console-session-sweep': { title: 'hijacked console session: CloudShell list + sweep, key renewed every 3 min', expected: 'contain', day: WEDNESDAY, stage: consoleSessionSweep },
  'slow-exfiltration': { title: 'unfamiliar key: 1 report per 20–60 s for 10 h', expected: 'page', day: WEDNESDAY, stage: slowExfiltration },
  'presigned-url-downloads': { title: 'patients opening presigned links (browsers, many IPs)', expected: 'none', day: WEDNESDAY, stage: presignedBurst },
  'month-end-surge': { title: 'month-end export of 2,500 reports', expected: 'none', day: '2026-11-30', stage: monthEndSurge },
  'backup-surge': { title: 'unscheduled full backup (3,200 objects)', expected: 'none', day: WEDNESDAY, stage: backupSurge },
  'cross-account-partner': { title: "partner account's quarter-end sync (400 files)", expected: 'none', day: '2026-11-30', stage: partnerBigDay },
  'cross-account-exfiltration': { title: 'third-account role downloads 700 reports', expected: 'page', day: WEDNESDAY, stage: crossAccountExfiltration },
  'developer-bulk-download': { title: 'developer syncs 450 reports (familiar key, network, tool)', expected: 'none', day: WEDNESDAY, stage: developerBulkDownload },
  'dormant-key-newest-first': { title: 'dormant key, logs exported newest first', expected: 'contain', day: WEDNESDAY, order: 'newest-first', stage: dormantKeyAwakening },
  'dormant-key-shuffled': { title: 'dormant key, records shuffled across files', expected: 'contain', day: WEDNESDAY, order: 'shuffled', stage: dormantKeyAwakening },
};

export const SCENARIO_NAMES = Object.keys(SCENARIOS);

/**
 * Generates one scenario: `warmupDays` of the world's benign traffic before the day the scenario
 * is about, that day, and `afterDays` more, with the scenario's own actors on top. Deterministic
 * for a seed; the variants of a scenario that differ only in record order draw the same records.
 */
export function buildScenario(name: string, options: ScenarioOptions = {}): Scenario {
  const definition = SCENARIOS[name];
  if (definition === undefined) throw new Error(`unknown scenario ${name}; one of ${SCENARIO_NAMES.join(', ')}`);
  const warmupDays = options.warmupDays ?? 9;
  const days = warmupDays + 1 + (options.afterDays ?? 1);
  const day = Date.parse(`${definition.day}T00:00:00Z`);
  const start = day - warmupDays * DAY;
  const world = drawClinicWorld(options.seed ?? 1, start, days);
  const trail = new Trail(world.ctx);
  const dice = new Dice(options.seed ?? 1);
  writeBackground(world, trail, dice.fork('background'));
  const staged = definition.stage({ world, trail, dice: dice.fork(`scenario-${definition.stage.name}`), day });
  trail.records.sort((a, b) => (a.eventTime === b.eventTime ? 0 : (a.eventTime as string) < (b.eventTime as string) ? -1 : 1));
  const attack = 'attack' in staged ? staged : undefined;
  return {
    name,
    title: definition.title,
    expected: definition.expected,
    start,
    days,
    warmupDays,
    order: definition.order ?? 'time',
    records: trail.records,
    attackEventIds: trail.attackEventIds,
    attack: attack?.attack,
    focus: attack === undefined ? (staged as BenignFocus) : undefined,
    keyInventory: attack?.keyInventory ?? [],
  };
}
