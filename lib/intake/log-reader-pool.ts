import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { NormalizeOptions } from '../domain/cloudtrail-record.ts';
import { InputError } from '../domain/errors.ts';
import { locateRecord, type LogReadOptions } from './log-file-reader.ts';
import type { LogFile, OutcomeBatch, ReadProblems } from './read-types.ts';
import type { OutcomeItem, WorkerMessage } from './log-reader-protocol.ts';
import { decodeOutcomes } from './outcome-codec.ts';

type Item = Extract<WorkerMessage, { type: 'item' }>['item'];
/** Files a thread holds at once: the one it reads and the next, opened ahead. */
const FILES_PER_THREAD = 2;
/** Files read ahead of the one being consumed, per thread: small files keep the threads busy. */
const LOOKAHEAD_PER_THREAD = 8;
const DONE = Symbol('done');

/** The messages of one file, taken in order by the scoring thread. */
class FileQueue {
  private readonly items: Array<Item | typeof DONE> = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;

  push(item: Item | typeof DONE): void {
    this.items.push(item);
    this.waiter?.();
  }

  fail(error: Error): void {
    this.failure = error;
    this.waiter?.();
  }

  async take(): Promise<Item | typeof DONE> {
    for (;;) {
      if (this.items.length > 0) return this.items.shift() as Item | typeof DONE;
      if (this.failure !== undefined) throw this.failure;
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
  }
}

/**
 * A reader thread's garbage is a parsed batch at a time: a small young generation keeps its RSS
 * low. 8 MB instead of 16 took 25–35 MB off a replay with two threads but cost the benign ×20
 * world about 9 % of its speed (two full bench runs of two rounds each: 24.0k against 25.9k–27.0k
 * records a second), so it stays at 16.
 */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 16 };

/**
 * A worker running log-reader-worker. Built JavaScript runs the file beside this one. From the
 * TypeScript sources (tsx, vitest) the worker is bundled once with esbuild and run from memory:
 * loader hooks registered in the main thread do not reach worker threads, and registering tsx in
 * each thread would cost each a loader thread of its own. Without esbuild (a production install),
 * each thread registers tsx itself.
 */
function startWorker(settings: { normalize?: NormalizeOptions; read?: LogReadOptions }): Worker {
  const options = { workerData: settings, resourceLimits: THREAD_LIMITS };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./log-reader-worker.js', import.meta.url), options);
  const source = new URL('./log-reader-worker.ts', import.meta.url);
  const bundled = bundleWorker(fileURLToPath(source));
  if (bundled !== undefined) return new Worker(bundled, { ...options, eval: true });
  const tsx = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source.href)}); });`, { ...options, eval: true });
}

const require = createRequire(import.meta.url);
let bundle: string | undefined | null;

/** The worker and what it imports as one CommonJS script, or undefined without esbuild. */
function bundleWorker(entry: string): string | undefined {
  if (bundle === undefined) {
    try {
      const esbuild = require('esbuild') as typeof import('esbuild');
      const built = esbuild.buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false, logLevel: 'silent' });
      bundle = built.outputFiles[0]?.text ?? null;
    } catch {
      bundle = null;
    }
  }
  return bundle ?? undefined;
}

/** Options a thread can receive: the caller's cache stays in the caller's thread. */
function threadSettings(normalize: NormalizeOptions | undefined, read: LogReadOptions | undefined): { normalize?: NormalizeOptions; read?: LogReadOptions } {
  const { callerCache: _cache, ...rest } = normalize ?? {};
  try {
    return structuredClone({ normalize: rest, read });
  } catch (error) {
    throw new InputError('normalisation options cannot be sent to reader threads', { cause: error });
  }
}

/**
 * Reads, gunzips, parses and normalises files on `workers` threads, each taking the next file
 * as it finishes one, at most eight files per thread ahead of the file being consumed, and each
 * at most a few batches ahead (credits): memory stays bounded however fast the threads are. Batches
 * and problems are handed on in file order, so the outcome does not depend on the thread count.
 */
export async function* readOutcomesInWorkers(
  files: readonly LogFile[],
  problems: ReadProblems,
  options: { workers: number; normalize?: NormalizeOptions; read?: LogReadOptions; onFile?: (path: string) => void },
): AsyncGenerator<OutcomeBatch> {
  const settings = threadSettings(options.normalize, options.read);
  const count = Math.max(1, Math.min(options.workers, files.length));
  const workers = Array.from({ length: count }, () => startWorker(settings));
  const queues = new Map<number, FileQueue>();
  const owner = new Map<number, Worker>();
  const inFlight = new Map<Worker, number>(workers.map((worker) => [worker, 0]));
  let assigned = 0;
  let consuming = 0;
  // The least busy thread takes the next file; each holds at most two (one read, one opening).
  const leastBusy = (): Worker | undefined => {
    let best: Worker | undefined;
    for (const [worker, files] of inFlight) if (files < FILES_PER_THREAD && (best === undefined || files < (inFlight.get(best) as number))) best = worker;
    return best;
  };
  const assign = (): void => {
    for (let worker = leastBusy(); worker !== undefined && assigned < files.length && assigned < consuming + LOOKAHEAD_PER_THREAD * count; worker = leastBusy()) {
      inFlight.set(worker, (inFlight.get(worker) as number) + 1);
      const file = files[assigned] as LogFile;
      queues.set(assigned, new FileQueue());
      owner.set(assigned, worker);
      worker.postMessage({ type: 'read', id: assigned, path: file.path, explicit: file.explicit ?? false });
      assigned++;
    }
  };
  const failAll = (error: Error): void => {
    for (const queue of queues.values()) queue.fail(error);
  };
  for (const worker of workers) {
    worker.on('message', (message: WorkerMessage) => {
      const queue = queues.get(message.id);
      if (message.type === 'item') queue?.push(message.item);
      else if (message.type === 'failed') failAll(new InputError(`reader thread failed: ${message.message}`));
      else {
        queue?.push(DONE);
        inFlight.set(worker, (inFlight.get(worker) as number) - 1);
        assign();
      }
    });
    worker.on('error', (error) => failAll(new InputError('reader thread failed', { cause: error })));
  }
  try {
    for (; consuming < files.length; consuming++) {
      assign();
      const file = files[consuming] as LogFile;
      options.onFile?.(file.path);
      const queue = queues.get(consuming) as FileQueue;
      for (let item = await queue.take(); item !== DONE; item = await queue.take()) {
        if (item.kind === 'outcomes') {
          owner.get(consuming)?.postMessage({ type: 'credit', id: consuming });
          // The caller's awaits resolve at once (an in-memory store): without a turn of the event
          // loop now and then, the threads' messages wait and the threads sit idle.
          await new Promise<void>((resolve) => setImmediate(resolve));
          yield outcomeBatch(file.path, item);
        } else if (item.kind === 'count') problems.count(item.reason, item.location);
        else problems.skip(item.reason);
      }
      queues.delete(consuming);
      owner.delete(consuming);
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

function outcomeBatch(source: string, item: OutcomeItem): OutcomeBatch {
  const { lines, members } = item;
  return { source, outcomes: decodeOutcomes(item.outcomes), locate: (index) => locateRecord(source, lines[index] ?? -1, members[index] ?? -1) };
}
