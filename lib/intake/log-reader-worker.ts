// A reader thread (see log-reader-pool.ts): reads the files it is given one at a time, normalises
// their records and posts them back batch by batch, never more than CREDITS batches ahead of the
// thread that scores them.
import { parentPort, workerData } from 'node:worker_threads';
import { CallerCache, normalizeRecord, type NormalizeOptions } from '../domain/cloudtrail-record.ts';
import { openLogSourceNow, readLogSource, type LogReadOptions, type OpeningSource } from './log-file-reader.ts';
import { CREDITS, type ReadRequest, type WorkerMessage } from './log-reader-protocol.ts';
import { encodeOutcomes, transferablesOf } from './outcome-codec.ts';

const port = parentPort;
if (port === null) throw new Error('log-reader-worker runs as a worker thread');
const settings = workerData as { normalize?: NormalizeOptions; read?: LogReadOptions };
const normalize: NormalizeOptions = { ...settings.normalize, callerCache: new CallerCache() };

const requests: ReadRequest[] = [];
const opening = new Map<number, OpeningSource>();
const outstanding = new Map<number, number>();
let wake: (() => void) | undefined;
let busy = false;

const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

async function waitForCredit(id: number): Promise<void> {
  while ((outstanding.get(id) ?? 0) >= CREDITS) await new Promise<void>((resolve) => (wake = resolve));
}

async function readFile(request: ReadRequest, source: OpeningSource): Promise<void> {
  outstanding.set(request.id, 0);
  for await (const item of readLogSource(source, request.path, request.explicit, settings.read)) {
    if (item.kind !== 'batch') {
      post({ type: 'item', id: request.id, item });
      continue;
    }
    await waitForCredit(request.id);
    outstanding.set(request.id, (outstanding.get(request.id) ?? 0) + 1);
    const outcomes = encodeOutcomes(item.records.map((record) => normalizeRecord(record, normalize)));
    post({ type: 'item', id: request.id, item: { kind: 'outcomes', outcomes, lines: item.lines, members: item.members } }, transferablesOf(outcomes));
  }
  outstanding.delete(request.id);
  post({ type: 'done', id: request.id });
}

async function drain(): Promise<void> {
  if (busy) return;
  busy = true;
  try {
    for (let request = requests.shift(); request !== undefined; request = requests.shift()) {
      const source = opening.get(request.id) as OpeningSource;
      opening.delete(request.id);
      await readFile(request, source);
    }
  } finally {
    busy = false;
  }
}

port.on('message', (message: { type: 'read' } & ReadRequest | { type: 'credit'; id: number }) => {
  if (message.type === 'credit') {
    outstanding.set(message.id, Math.max(0, (outstanding.get(message.id) ?? 0) - 1));
    wake?.();
    return;
  }
  // Read at once: a file given while another is read is in memory by the time its turn comes.
  opening.set(message.id, openLogSourceNow({ path: message.path }, settings.read));
  requests.push(message);
  drain().catch((error: unknown) => post({ type: 'failed', id: message.id, message: String((error as Error)?.stack ?? error) }));
});
