// One measurement of the benchmark, run in its own process so that its peak RSS is its own.
// Usage: tsx bench/measure.ts baseline DIR | replay DIR WORKERS | logfile DIR
// `logfile` scores the files one by one as the score-logfile function does (one detector for the
// container, which keeps its held counts across files), for the log-file path's store traffic.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { replayLogs } from '../lib/engine/replay.ts';
import { createDetector, DEFAULT_WINDOW_MS } from '../lib/engine/score-engine.ts';
import { DAY_MS } from '../lib/domain/duration.ts';
import { tuneBaselines } from '../lib/tuning/tuning.ts';
import { scoreLogFile } from '../lib/engine/score-pipeline.ts';
import { listLogFiles } from '../lib/intake/log-reader.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';

const [mode, dir, workerArg] = process.argv.slice(2);
if ((mode !== 'baseline' && mode !== 'replay' && mode !== 'logfile') || dir === undefined) {
  console.error('usage: measure.ts baseline DIR | replay DIR WORKERS | logfile DIR');
  process.exit(2);
}

/** What one measurement prints, as one JSON line. */
export interface Measurement {
  mode: string;
  workers: number;
  /** Log files scored one by one (`logfile`). */
  files?: number;
  records: number;
  events: number;
  incidents: number;
  writes: number;
  writeUnits: number | null;
  readUnits: number | null;
  rejected: Record<string, number>;
  elapsedMs: number;
  cpuMs: number;
  /** CPU of the main (scoring) thread alone, from /proc on Linux; null elsewhere. */
  mainThreadCpuMs: number | null;
  maxRssMb: number;
}

/**
 * The main thread's CPU in milliseconds: /proc/self/task/PID/stat's utime and stime (fields 14
 * and 15, in clock ticks of 10 ms). With reader threads it is the thread that bounds a replay,
 * and unlike elapsed time it does not count the time another process held the core.
 */
function mainThreadCpuMs(): number | null {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

const started = performance.now();
const cpuBefore = process.cpuUsage();
const mainCpuBefore = mainThreadCpuMs();
const result: Measurement = { mode, workers: 0, records: 0, events: 0, incidents: 0, writes: 0, writeUnits: null, readUnits: null, rejected: {}, elapsedMs: 0, cpuMs: 0, mainThreadCpuMs: null, maxRssMb: 0 };
if (mode === 'baseline') {
  // The floor a one-thread reader cannot beat: read, decompress and parse every file, nothing else.
  for (const file of await listLogFiles([dir])) {
    const parsed = JSON.parse(gunzipSync(await readFile(file.path)).toString('utf8')) as { Records?: unknown[] };
    result.records += parsed.Records?.length ?? 0;
  }
} else if (mode === 'logfile') {
  const store = new MemoryStore();
  const detector = createDetector({ store });
  // As replay: the first 14 days only count and learn, then the tuning runs weekly.
  let learnUntil: number | undefined;
  let nextTuning = Number.POSITIVE_INFINITY;
  const container = {
    async processBatch(events: Parameters<typeof detector.processBatch>[0], decisionTime: number) {
      if (learnUntil === undefined) nextTuning = learnUntil = decisionTime + 14 * DAY_MS;
      for (; nextTuning < decisionTime; nextTuning += 7 * DAY_MS) await tuneBaselines(store, nextTuning, { windowMs: DEFAULT_WINDOW_MS });
      return detector.processBatch(events, decisionTime, { learnOnly: decisionTime <= learnUntil });
    },
    flush: () => detector.flush(),
  };
  const files = (await listLogFiles([dir])).sort((a, b) => a.path.localeCompare(b.path));
  for (const file of files) {
    // As the score-logfile handler runs its container's detector: calm counts kept across files.
    const scored = await scoreLogFile(await readFile(file.path), file.path, { detector: container, batchWindowMs: 10_000, flushAfterFile: false });
    result.records += scored.report.records;
    result.events += scored.report.events;
    result.incidents += scored.changes.filter((change) => change.kind === 'created').length;
  }
  await container.flush();
  result.files = files.length;
  result.writes = store.writes;
  result.writeUnits = store.writeUnits;
  result.readUnits = store.readUnits;
} else {
  const store = new MemoryStore();
  result.workers = Number(workerArg ?? 0);
  const replay = await replayLogs({ paths: [dir], store, workers: result.workers });
  result.records = replay.summary.records;
  result.events = replay.summary.events;
  result.incidents = replay.summary.incidents;
  result.rejected = replay.summary.rejected;
  result.writes = store.writes;
  const units = store as { writeUnits?: number; readUnits?: number };
  result.writeUnits = units.writeUnits ?? null;
  result.readUnits = units.readUnits ?? null;
}
const cpu = process.cpuUsage(cpuBefore);
result.elapsedMs = performance.now() - started;
result.cpuMs = (cpu.user + cpu.system) / 1000;
const mainCpuAfter = mainThreadCpuMs();
result.mainThreadCpuMs = mainCpuBefore === null || mainCpuAfter === null ? null : mainCpuAfter - mainCpuBefore;
result.maxRssMb = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify(result));
