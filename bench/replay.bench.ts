// npm run bench: on two differently shaped worlds, replay throughput on one thread and with
// reader threads against a bare gunzip + JSON.parse pass over the same files, measured side by
// side (alternating, each in its own process) in one run; peak RSS on each world, on one 200 MB
// log file and on a decompression bomb; the store's writes and write units per 1,000 events;
// and what that costs per million events.
// BENCH_SCALE, BENCH_DAYS (the simulated world), BENCH_WORLD2_SCALE, BENCH_WORLD2_DAYS,
// BENCH_ROUNDS and BENCH_WORKERS scale it down while iterating.
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { simulateScenario, type ScenarioName } from '../lib/simulator/index.ts';
import { kinesisBreakEvenEventsPerMonth, kinesisIngestCost, logFileCost, PRICES, realTimeCost, totalOf, type CostLine } from './cost-model.ts';
import type { Measurement } from './measure.ts';
import { writeSecondWorld } from './second-world.ts';

const SCALE = Number(process.env.BENCH_SCALE ?? 20);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const WORLD2_SCALE = Number(process.env.BENCH_WORLD2_SCALE ?? 2);
const WORLD2_DAYS = Number(process.env.BENCH_WORLD2_DAYS ?? 7);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const MB = 1024 * 1024;

/**
 * The node flags of the installed command (on its `#!/usr/bin/env -S node …` line, if any): every side of
 * the comparison runs with them, so the replay is measured as users run it.
 */
const COMMAND_FLAGS = (/^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync(join(import.meta.dirname, '../bin/keysentry.mjs'), 'utf8'))?.[1] ?? '')
  .trim()
  .split(/\s+/)
  .filter(Boolean);

function measure(args: string[]): Measurement {
  const output = execFileSync(process.execPath, [...COMMAND_FLAGS, '--import', 'tsx', join(import.meta.dirname, 'measure.ts'), ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(output.trim().split('\n').pop() as string) as Measurement;
}

async function simulated(scenario: ScenarioName, days: number, scale: number): Promise<string> {
  const dir = join(tmpdir(), `keysentry-bench-${scenario}-${days}d-x${scale}`);
  if (!existsSync(join(dir, 'manifest.json'))) {
    const manifest = await simulateScenario(scenario, dir, { days, scale });
    console.log(`simulated ${scenario}: ${manifest.records.toLocaleString('en-US')} records in ${manifest.files.toLocaleString('en-US')} files`);
  }
  return join(dir, 'AWSLogs');
}

async function secondWorld(): Promise<string> {
  const dir = join(tmpdir(), `keysentry-bench-imaging-${WORLD2_DAYS}d-x${WORLD2_SCALE}`);
  if (!existsSync(join(dir, 'done'))) {
    const world = await writeSecondWorld(dir, { days: WORLD2_DAYS, scale: WORLD2_SCALE });
    await writeFile(join(dir, 'done'), '');
    console.log(`wrote the imaging world: ${world.records.toLocaleString('en-US')} records in ${world.files.toLocaleString('en-US')} files`);
  }
  return join(dir, 'AWSLogs');
}

/** One gzipped log file whose text is 200 MB: 100,000+ distinct reads from one world's records. */
async function bigLogFile(source: string): Promise<string> {
  const path = join(tmpdir(), 'keysentry-bench-200mb', 'big.json.gz');
  if (existsSync(path)) return path;
  await mkdir(join(tmpdir(), 'keysentry-bench-200mb'), { recursive: true });
  const { readLogFiles, listLogFiles } = await import('../lib/intake/log-reader.ts');
  const templates: unknown[] = [];
  const ignore = { count: () => undefined, skip: () => undefined };
  for await (const batch of readLogFiles((await listLogFiles([source])).slice(0, 5), ignore)) templates.push(...batch.records);
  async function* text(): AsyncGenerator<string> {
    yield '{"Records":[';
    let size = 0;
    for (let i = 0; size < 200 * MB; i++) {
      const record = { ...(templates[i % templates.length] as Record<string, unknown>), eventID: `big-${i}` };
      const part = `${i === 0 ? '' : ','}${JSON.stringify(record)}`;
      size += part.length;
      yield part;
    }
    yield ']}';
  }
  await pipeline(text, createGzip(), createWriteStream(path));
  return path;
}

/** A 600 MB text of spaces behind one record, in about 600 KB of gzip members. */
async function bomb(): Promise<string> {
  const path = join(tmpdir(), 'keysentry-bench-bomb', 'bomb.json.gz');
  await mkdir(join(tmpdir(), 'keysentry-bench-bomb'), { recursive: true });
  const padding = gzipSync(Buffer.alloc(16 * MB, 0x20), { level: 9 });
  await writeFile(path, Buffer.concat([gzipSync('{"Records":['), ...Array.from({ length: 600 / 16 }, () => padding), gzipSync(']}')]));
  return path;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return Number.isInteger(middle) ? ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2 : (sorted[Math.floor(middle)] as number);
};
const rate = (count: number, ms: number): string => Math.round(count / (ms / 1000)).toLocaleString('en-US');

/** Rounds of baseline, one-thread replay and threaded replay over one world; returns the one-thread replays. */
function compare(name: string, dir: string): Measurement[] {
  console.log(`\n${name}`);
  const ratios: Record<string, number[]> = { single: [], threaded: [] };
  const singles: Measurement[] = [];
  const rss: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const baseline = measure(['baseline', dir]);
    const single = measure(['replay', dir, '0']);
    const threaded = measure(['replay', dir, String(WORKERS)]);
    singles.push(single);
    ratios.single?.push(baseline.elapsedMs / single.elapsedMs);
    ratios.threaded?.push(baseline.elapsedMs / threaded.elapsedMs);
    rss.push(single.maxRssMb, threaded.maxRssMb);
    console.log(
      `  round ${round}: gunzip+JSON.parse ${rate(baseline.records, baseline.elapsedMs)} records/s | ` +
        `replay 1 thread ${rate(single.records, single.elapsedMs)} records/s (${single.maxRssMb.toFixed(0)} MB), ratio ${(baseline.elapsedMs / single.elapsedMs).toFixed(2)} | ` +
        `replay + ${WORKERS} reader threads ${rate(threaded.records, threaded.elapsedMs)} records/s (${threaded.maxRssMb.toFixed(0)} MB), ratio ${(baseline.elapsedMs / threaded.elapsedMs).toFixed(2)}` +
        (threaded.incidents === single.incidents && threaded.events === single.events ? '' : ' — DIFFERENT RESULT'),
    );
  }
  const last = singles[singles.length - 1] as Measurement;
  console.log(`  ${last.records.toLocaleString('en-US')} records, ${last.events.toLocaleString('en-US')} S3 data events, ${last.incidents} incidents`);
  console.log(`  ratio to gunzip + JSON.parse, median: 1 thread ${median(ratios.single ?? []).toFixed(2)}, with ${WORKERS} reader threads ${median(ratios.threaded ?? []).toFixed(2)} (goal ≥ 0.8; stretch ≥ 1.2)`);
  console.log(`  peak RSS of replay: ${Math.max(...rss).toFixed(0)} MB (goal ≤ 256 MB)`);
  return singles;
}

const COST_ONLY = process.env.BENCH_ONLY === 'cost';
console.log(`node flags of the keysentry command, used on every side: ${COMMAND_FLAGS.join(' ') || '(none)'}`);
const imagingDir = await secondWorld();
let imaging: Measurement[];
if (COST_ONLY) {
  imaging = [measure(['replay', imagingDir, '0'])];
} else {
  const simulatedDir = await simulated('benign', DAYS, SCALE);
  compare(`simulate benign ${DAYS} days ×${SCALE}`, simulatedDir);
  imaging = compare(`imaging world ${WORLD2_DAYS} days ×${WORLD2_SCALE} (hourly task-role sessions, presigned downloads, nightly exports, files of 800–1,000 records)`, imagingDir);

  console.log('\nextreme files');
  const big = await bigLogFile(imagingDir);
  for (const workers of [0, WORKERS]) {
    const run = measure(['replay', big, String(workers)]);
    console.log(`  one ${(statSync(big).size / MB).toFixed(0)} MB gzip file of 200 MB text, ${workers} reader threads: ${run.records.toLocaleString('en-US')} records, peak RSS ${run.maxRssMb.toFixed(0)} MB (goal ≤ 256 MB)`);
  }
  const bombPath = await bomb();
  const blown = measure(['replay', bombPath, '0']);
  console.log(`  a ${(statSync(bombPath).size / 1024).toFixed(0)} KB gzip that inflates to 600 MB: rejected ${JSON.stringify(blown.rejected)}, peak RSS ${blown.maxRssMb.toFixed(0)} MB (goal < 300 MB)`);
}

console.log('\nstore writes, write units and read units per 1,000 events (from item sizes, as DynamoDB bills them):');
const perThousand = (run: Measurement, n: number | null): string => (n === null ? 'n/a' : ((1000 * n) / run.events).toFixed(1));
const units = (run: Measurement): string => `${perThousand(run, run.writes)} writes, ${perThousand(run, run.writeUnits)} write units, ${perThousand(run, run.readUnits)} read units`;
const benignRun = measure(['replay', await simulated('benign', 30, 1), '0']);
const replays: Array<[string, Measurement]> = [
  ['benign 30 days ×1', benignRun],
  ['breach 21 days ×1', measure(['replay', await simulated('breach', 21, 1), '0'])],
  [`imaging world ${WORLD2_DAYS} days ×${WORLD2_SCALE}`, imaging[imaging.length - 1] as Measurement],
];
console.log('  replay, one detector on the store (the score function\'s traffic):');
for (const [name, run] of replays) console.log(`    ${name}: ${units(run)}${run === benignRun ? ' (goal ≤ 25 write units)' : ''}`);
const logFiles: Array<[string, Measurement]> = [
  ['benign 30 days ×1', measure(['logfile', await simulated('benign', 30, 1)])],
  [`imaging world ${WORLD2_DAYS} days ×${WORLD2_SCALE}`, measure(['logfile', imagingDir])],
];
console.log('  log files scored one by one as score-logfile does, its container\'s detector keeping held counts across files:');
for (const [name, run] of logFiles) console.log(`    ${name} (${(run.files ?? 0).toLocaleString('en-US')} files): ${units(run)}, ${run.incidents} incidents`);

const traffic = (run: Measurement) => ({
  writesPerEvent: run.writes / run.events,
  writeUnitsPerEvent: (run.writeUnits ?? run.writes) / run.events,
  readUnitsPerEvent: (run.readUnits ?? 0) / run.events,
  cpuMsPerEvent: run.cpuMs / run.events,
});
const dollars = (lines: CostLine[]): string => `${lines.map((line) => `${line.item} $${line.dollarsPerMillion.toFixed(4)}`).join(', ')} — total $${totalOf(lines).toFixed(3)}`;
console.log(`\ndollars per million S3 data events (us-east-1 list prices, cited in bench/cost-model.ts), next to GuardDuty S3 Protection's $${(1e6 * PRICES.guardDutyS3Event).toFixed(2)}; goal ≤ $0.05:`);
console.log('  near real time, EventBridge → SQS → score:');
for (const [name, run] of replays) console.log(`    ${name}: ${dollars(realTimeCost(traffic(run)))}`);
const sqsAlone = 1e6 * 1.2 * PRICES.sqsRequest;
console.log(`    SQS's requests alone are $${sqsAlone.toFixed(2)} a million (one send per event, a receive and a delete per ten): ≤ $0.05 is out of reach on this path.`);
const breakEven = kinesisBreakEvenEventsPerMonth();
const kinesis = [1e7, 1e8, 1e9, 1e10].map((volume) => {
  const { shards, dollarsPerMillion } = kinesisIngestCost(volume);
  return `${(volume / 1e6).toLocaleString('en-US')}M events/month ${shards} shard(s) $${dollarsPerMillion.toFixed(3)}`;
});
console.log(`    with a Kinesis stream in place of SQS, ingestion alone per million: ${kinesis.join(', ')}; it beats SQS above ${(breakEven / 1e6).toFixed(1)}M events a month.`);
const benignRest = totalOf(realTimeCost(traffic(benignRun))) - sqsAlone;
console.log(`    benign traffic behind a Kinesis stream: the store and Lambda $${benignRest.toFixed(3)} + ingestion, e.g. $${(benignRest + kinesisIngestCost(1e9).dollarsPerMillion).toFixed(3)} at a billion events a month.`);
console.log('  log files, S3 notification → score-logfile:');
for (const [name, run] of logFiles) console.log(`    ${name}, one file at a time as score-logfile runs: ${dollars(logFileCost(traffic(run)))}`);
for (const [name, run] of replays) console.log(`    ${name}, held counts kept across files (replay's traffic): ${dollars(logFileCost(traffic(run)))}`);
console.log(`  for scale: the trail's S3 data events themselves cost $${(1e6 * PRICES.cloudTrailDataEvent).toFixed(2)} a million; GuardDuty needs no trail.`);
