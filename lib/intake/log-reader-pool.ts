import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { NormalizeOptions } from '../domain/cloudtrail-record.ts';
import { InputError } from '../domain/errors.ts';
import { locateRecord, type LogReadOptions } from './log-file-reader.ts';
import type { LogFile, OutcomeBatch, ReadProblems } from './read-types.ts';
import type { OutcomeItem, WorkerMessage } from './log-reader-protocol.ts';

type Item = Extract<WorkerMessage, { type: 'item' }>['item'];
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
 * A worker running log-reader-worker. From TypeScript sources (tsx, vitest) the thread first
 * registers tsx itself: loader hooks registered in the main thread do not reach worker threads.
 */
function startWorker(settings: { normalize?: NormalizeOptions; read?: LogReadOptions }): Worker {
  const url = new URL(import.meta.url.endsWith('.ts') ? './log-reader-worker.ts' : './log-reader-worker.js', import.meta.url);
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData: settings });
  // The package's ESM entry (its `import` condition), next to the CommonJS one require resolves.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: settings });
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
 * Reads, gunzips, parses and normalises files on `workers` threads, each taking the next file as
 * it finishes one, at most two files per thread ahead of the file being consumed, and each at
 * most a few batches ahead (credits): memory stays bounded however fast the threads are. Batches
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
  const idle = [...workers];
  let assigned = 0;
  let consuming = 0;
  const assign = (): void => {
    while (idle.length > 0 && assigned < files.length && assigned < consuming + 2 * count) {
      const worker = idle.shift() as Worker;
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
        idle.push(worker);
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
  return { source, outcomes: item.outcomes, locate: (index) => locateRecord(source, lines[index] ?? -1, members[index] ?? -1) };
}
