// One measurement of the benchmark, run in its own process so that its peak RSS is its own.
// Usage: tsx bench/measure.ts baseline|replay DIR
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { listLogFiles } from '../lib/intake/log-reader.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { replayLogs } from '../lib/engine/replay.ts';

const [mode, dir] = process.argv.slice(2);
if ((mode !== 'baseline' && mode !== 'replay') || dir === undefined) {
  console.error('usage: measure.ts baseline|replay DIR');
  process.exit(2);
}

const started = performance.now();
let records = 0;
let events = 0;
let writes = 0;
let incidents = 0;
if (mode === 'baseline') {
  // The floor no reader can beat: decompress and parse every file, nothing else.
  for (const file of await listLogFiles([dir])) {
    const parsed = JSON.parse(gunzipSync(await readFile(file.path)).toString('utf8')) as { Records: unknown[] };
    records += parsed.Records.length;
  }
} else {
  const store = new MemoryStore();
  const result = await replayLogs({ paths: [dir], store });
  records = result.summary.records;
  events = result.summary.events;
  incidents = result.summary.incidents;
  writes = store.writes;
}
const elapsedMs = performance.now() - started;
console.log(JSON.stringify({ mode, records, events, incidents, writes, elapsedMs, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
