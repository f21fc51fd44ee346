// npm run bench: replay throughput against a bare gunzip + JSON.parse pass over the same files,
// measured side by side (alternating, in separate processes) in one run; plus the store write
// budget on a benign month and on the breach.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateScenario, type ScenarioName } from '../lib/simulator/index.ts';

const SCALE = Number(process.env.BENCH_SCALE ?? 20);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Measurement {
  mode: string;
  records: number;
  events: number;
  incidents: number;
  writes: number;
  elapsedMs: number;
  maxRssMb: number;
}

async function dataset(scenario: ScenarioName, days: number, scale: number): Promise<string> {
  const dir = join(tmpdir(), `keysentry-bench-${scenario}-${days}d-x${scale}`);
  if (!existsSync(join(dir, 'manifest.json'))) {
    const started = performance.now();
    const manifest = await simulateScenario(scenario, dir, { days, scale });
    console.log(`simulated ${scenario}: ${manifest.records.toLocaleString('en-US')} records in ${manifest.files} files (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  return join(dir, 'AWSLogs');
}

/**
 * The node flags of the installed command (its `#!/usr/bin/env -S node …` line): both sides of
 * the comparison run with them, so the replay is measured as users run it and the baseline on
 * the same terms.
 */
const COMMAND_FLAGS = (/^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync(join(import.meta.dirname, '../bin/keysentry.mjs'), 'utf8'))?.[1] ?? '')
  .trim()
  .split(/\s+/)
  .filter(Boolean);

function measure(mode: 'baseline' | 'replay', dir: string): Measurement {
  const output = execFileSync(process.execPath, [...COMMAND_FLAGS, '--import', 'tsx', join(import.meta.dirname, 'measure.ts'), mode, dir], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output.trim().split('\n').pop() as string) as Measurement;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return Number.isInteger(middle) ? ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2 : (sorted[Math.floor(middle)] as number);
};

const dir = await dataset('benign', DAYS, SCALE);
console.log(`node flags of the keysentry command, used on both sides: ${COMMAND_FLAGS.join(' ') || '(none)'}`);
const ratios: number[] = [];
const replays: Measurement[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const baseline = measure('baseline', dir);
  const replay = measure('replay', dir);
  replays.push(replay);
  const ratio = baseline.elapsedMs / replay.elapsedMs;
  ratios.push(ratio);
  console.log(
    `round ${round}: gunzip+JSON.parse ${Math.round(baseline.records / (baseline.elapsedMs / 1000)).toLocaleString('en-US')} records/s (${baseline.maxRssMb.toFixed(0)} MB) | ` +
      `replay ${Math.round(replay.records / (replay.elapsedMs / 1000)).toLocaleString('en-US')} records/s, ` +
      `${Math.round(replay.events / (replay.elapsedMs / 1000)).toLocaleString('en-US')} events/s (${replay.maxRssMb.toFixed(0)} MB peak RSS) | ratio ${ratio.toFixed(2)}`,
  );
}
const last = replays[replays.length - 1] as Measurement;
console.log(`\nbenign ${DAYS} days ×${SCALE}: ${last.records.toLocaleString('en-US')} records, ${last.events.toLocaleString('en-US')} S3 data events replayed, ${last.incidents} incidents`);
console.log(`throughput ratio replay / (gunzip + JSON.parse): median ${median(ratios).toFixed(2)} (goal ≥ 0.5)`);
console.log(`peak RSS of replay: ${Math.max(...replays.map((r) => r.maxRssMb)).toFixed(0)} MB (goal ≤ 512 MB)`);

console.log('\nstore writes per 1,000 events (as the DynamoDB store makes them):');
const budgetRuns: Array<[ScenarioName, number, number]> = [['benign', 30, 1], ['breach', 21, 1]];
for (const [scenario, days, scale] of budgetRuns) {
  const run = measure('replay', await dataset(scenario, days, scale));
  console.log(`  ${scenario} ${days} days ×${scale}: ${run.writes.toLocaleString('en-US')} writes for ${run.events.toLocaleString('en-US')} events = ${((1000 * run.writes) / run.events).toFixed(1)} per 1,000 (goal ≤ 25 on benign traffic)`);
}
