import { describe, expect, it } from 'vitest';
import { createDetector } from '../lib/engine/score-engine.ts';
import { scoreLogFile } from '../lib/engine/score-pipeline.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { loadRepairedRecords } from './events/load-events.ts';

// The score-logfile container's detector scores file after file: it keeps a calm actor's counts
// until their hour leaves the scored span, as the SQS path does, instead of rewriting the hour's
// item after every file. A detector made for one (unverified) file writes them when it is done.

const content = new TextEncoder().encode(JSON.stringify({ Records: loadRepairedRecords() }));

function countingDetector() {
  const detector = createDetector({ store: new MemoryStore(), windowMs: 300_000 });
  const calls = { flushes: 0 };
  return { calls, detector: { processBatch: detector.processBatch, flush: async () => (calls.flushes++, detector.flush()) } };
}

describe('score-logfile and held counts', () => {
  it('writes the held counts when the file is done, by default', async () => {
    const { calls, detector } = countingDetector();
    const scored = await scoreLogFile(content, 'otrf.json', { detector, batchWindowMs: 10_000 });
    expect(scored.batches).toBeGreaterThan(0);
    expect(calls.flushes).toBe(1);
  });

  it('keeps them across files for a detector that lives on (the container’s)', async () => {
    const { calls, detector } = countingDetector();
    for (const name of ['a.json', 'b.json']) await scoreLogFile(content, name, { detector, batchWindowMs: 10_000, flushAfterFile: false });
    expect(calls.flushes).toBe(0);
  });
});
