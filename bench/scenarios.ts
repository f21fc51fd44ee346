// npm run bench:scenarios — the independent scenario matrix (lib/scenarios) replayed through
// keysentry and through the public peer rules (lib/peers), one table.
//   SCENARIOS=a,b  WARMUP_DAYS=9  AFTER_DAYS=1  SEED=1  PEER_INGEST_DELAY_S=0
//   DETAIL=1 prints each of keysentry's decisions (score and reasons) under its scenario.
import { PEER_RULES } from '../lib/peers/index.ts';
import { SCENARIO_NAMES } from '../lib/scenarios/index.ts';
import { evaluateScenario, type DetectorOutcome, type MatrixRow } from './scenario-matrix.ts';

const names = process.env.SCENARIOS ? process.env.SCENARIOS.split(',') : SCENARIO_NAMES;
const options = {
  seed: Number(process.env.SEED ?? 1),
  warmupDays: Number(process.env.WARMUP_DAYS ?? 9),
  afterDays: Number(process.env.AFTER_DAYS ?? 1),
  peerIngestDelayMs: Number(process.env.PEER_INGEST_DELAY_S ?? 0) * 1000,
};

const SHORT: Record<string, string> = Object.fromEntries(
  PEER_RULES.map((rule) => [rule.name, rule.name.split(':')[0] + (rule.name.includes('DeleteObjects') ? ' (objects)' : rule.name.includes('DeleteObject') ? ' (object)' : '')]),
);

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (Math.abs(s) < 120) return `${s}s`;
  if (Math.abs(s) < 7200) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

function cell(row: MatrixRow, outcome: DetectorOutcome): string {
  const attack = row.scenario.attack;
  let text = outcome.decision;
  if (attack !== undefined && outcome.firstAt !== undefined) {
    text += ` +${duration(outcome.firstAt - attack.start)} r${outcome.readsBefore} d${outcome.deletesBefore}`;
    if (outcome.containAt !== undefined && outcome.containAt !== outcome.firstAt) {
      text += ` → contain +${duration(outcome.containAt - attack.start)} r${outcome.readsBeforeContain} d${outcome.deletesBeforeContain}`;
    }
  }
  text += ` | b ${outcome.benignPages}p/${outcome.benignContains}c`;
  return text;
}

const rows: MatrixRow[] = [];
console.log(`scenario matrix: seed ${options.seed}, ${options.warmupDays} days warm-up, the scenario's day, ${options.afterDays} day(s) after; peers ingest ${options.peerIngestDelayMs / 1000}s after eventTime`);
console.log('cell: decision on the attacker, +time from attack start, r objects read / d deleted before it | b benign pages/containments after warm-up\n');
const header = ['scenario', 'expected', 'attack', 'keysentry', ...PEER_RULES.map((r) => SHORT[r.name] ?? r.name)];
console.log(header.join('\t'));
for (const name of names) {
  const started = performance.now();
  const row = await evaluateScenario(name, options);
  rows.push(row);
  const attack = row.scenario.attack;
  const attackText = attack ? `${attack.kind} ${attack.objects} obj ${duration(attack.end - attack.start)}` : '-';
  console.log([name, row.scenario.expected, attackText, cell(row, row.keysentry), ...PEER_RULES.map((r) => cell(row, row.peers[r.name] as DetectorOutcome))].join('\t'));
  console.error(`  (${row.replaySummary.events} events, ${row.replaySummary.duplicates} duplicates, ${Math.round(performance.now() - started)} ms)`);
  if (process.env.DETAIL) {
    for (const action of row.keysentryActions) {
      const when = attack ? `+${duration(action.at - attack.start)}` : new Date(action.at).toISOString().slice(11, 19);
      console.log(`    ${action.attack ? 'attack' : 'benign'} ${action.action} ${when} ${action.principal} (${action.actor}) score ${action.score}: ${action.reasons}`);
    }
  }
}
const weeks = rows.reduce((n, r) => n + r.evaluatedDays, 0) / 7;
const total = (pick: (row: MatrixRow) => DetectorOutcome) => rows.reduce((n, r) => n + pick(r).benignPages + pick(r).benignContains, 0);
console.log(`\nbenign actions per evaluated week (${(weeks * 7).toFixed(0)} days): keysentry ${(total((r) => r.keysentry) / weeks).toFixed(2)}; ` +
  PEER_RULES.map((rule) => `${SHORT[rule.name]} ${(total((r) => r.peers[rule.name] as DetectorOutcome) / weeks).toFixed(2)}`).join('; '));
