import type { AccessEvent } from '../domain/access-event.ts';
import type { ActorVerdict, BatchOutcome, Detector, IncidentChange } from './score-engine.ts';
import { admitRecord, EventStream, sortByEventTime, type IntakeBatch, type IntakeOptions } from '../intake/event-intake.ts';
import { IntakeReport } from '../intake/intake-report.ts';
import { readLogContent } from '../intake/log-reader.ts';
import type { IncidentNotifier } from './responder-dispatch.ts';
import { decidePieceByPiece, type PoisonMessage } from './poison-isolation.ts';
import { classifyStoreFailure } from '../aws/store-errors.ts';
import { appendTo } from '../domain/collections.ts';

/** One SQS message as the score function receives it: an EventBridge envelope in its body. */
export interface QueuedMessage {
  messageId: string;
  body: string;
  /** When SQS received the message (its `SentTimestamp`): no genuine record is dated far after it. */
  sentAt?: number;
}

/** What the SQS and log-file paths share; the intake options are replay's too. */
export interface PipelineDependencies extends IntakeOptions {
  /**
   * Hands each batch's incident changes to the responder (the contain function). Its failure is
   * reported, not thrown: the batch is scored, and a redelivery would not dispatch it again.
   */
  notify?: IncidentNotifier;
}

export interface SqsPipelineDependencies extends PipelineDependencies {
  detector: Pick<Detector, 'processBatch'>;
  /** The clock: a batch is decided when it is scored. */
  now: () => number;
}

export interface LogFilePipelineDependencies extends PipelineDependencies {
  detector: Pick<Detector, 'processBatch' | 'flush'>;
  /** Event time decided as one batch (the replay's `batchWindowMs`). */
  batchWindowMs: number;
  /** When the log file was delivered (the object's creation time): no genuine record is dated far after it. */
  deliveredAt?: number;
  /**
   * Write the detector's held calm counts when the file is done (default). A container's detector
   * that scores file after file keeps them, as the SQS path does, and writes a calm actor's hour
   * once instead of once per file; a detector made for one file must write them.
   */
  flushAfterFile?: boolean;
}

/** The result of one SQS batch. */
export interface ScoredMessages {
  /** Messages SQS must deliver again (the Lambda's `batchItemFailures`). */
  batchItemFailures: Array<{ itemIdentifier: string }>;
  report: IntakeReport;
  decisionTime: number;
  /** The detector's outcome; absent when nothing was scored or the scoring failed. */
  outcome?: BatchOutcome;
  /** Why the scoring failed (the store, AWS); every message with an event is then retried. */
  error?: unknown;
  /** The earliest `eventTime` of the batch, for the delivery latency. */
  oldestEventTime?: number;
  /** Why the responder could not be told of the batch's incidents (see `PipelineDependencies.notify`). */
  dispatchError?: unknown;
  /** Messages the store refused for what they carry: counted as `store-rejected`, acknowledged, not retried. */
  poison?: PoisonMessage[];
}

/** The result of one log file. */
export interface ScoredLogFile {
  report: IntakeReport;
  batches: number;
  verdicts: ActorVerdict[];
  changes: IncidentChange[];
  oldestEventTime?: number;
  /** Batches whose incidents the responder could not be told of. */
  dispatchErrors: unknown[];
}

/**
 * Scores one SQS batch of EventBridge "AWS API Call via CloudTrail" envelopes: each body is
 * parsed and normalised, the batch's events go to `detector.processBatch(events, now())` at once,
 * and the incidents it opened or changed to `notify`.
 *
 * Three kinds of failure, three answers. A message that is not JSON, or whose record is rejected
 * (damaged, beyond S3's limits, or dated more than 15 minutes after SQS received it) or skipped
 * (not an S3 data event of a protected bucket), can never succeed: it is counted in the report
 * under its reason, with its message id as the example, and acknowledged — retrying it would only
 * carry it to the dead-letter queue. A transient failure of the store (throttling, a timeout, a
 * 5xx; see `classifyStoreFailure`) returns every message that carried an event in
 * `batchItemFailures`, so SQS delivers it again. Any other store failure is about some message's
 * content: the batch is decided again piece by piece (`decidePieceByPiece`), the messages the store
 * refuses alone are poison (counted as `store-rejected`, acknowledged) and the rest are written.
 * Redelivery and the second pass are harmless because the window write counts an eventID once.
 *
 * Not Powertools' `BatchProcessor`: it hands each record to a handler of its own and retries the
 * records whose handler threw, while a batch here is decided as a whole (one window write per
 * actor, one decision at its end); the failure is known only for the batch, and finding the
 * message behind it is the isolation above.
 */
export async function scoreSqsRecords(messages: readonly QueuedMessage[], deps: SqsPipelineDependencies): Promise<ScoredMessages> {
  const report = new IntakeReport();
  const decisionTime = deps.now();
  const admitted: AccessEvent[] = [];
  const carriers: string[] = [];
  const carriedBy = new Map<string, string[]>();
  for (const message of messages) {
    const source = `sqs:${message.messageId}`;
    let record: unknown;
    try {
      record = JSON.parse(message.body);
    } catch {
      report.records++;
      report.count('not-json', source);
      continue;
    }
    const event = admitRecord(record, source, report, deps, message.sentAt ?? decisionTime);
    if (event === undefined) continue;
    admitted.push(event);
    carriers.push(message.messageId);
    appendTo(carriedBy, event.eventId, message.messageId);
  }
  // SQS and EventBridge both deliver at least once: a repeat within the batch counts once, and
  // the window write drops the repeats across batches.
  const stream = new EventStream(report, Number.POSITIVE_INFINITY);
  const events = sortByEventTime(admitted).filter((event) => stream.unique(event));
  const oldestEventTime = events[0]?.eventTime;
  if (events.length === 0) return { batchItemFailures: [], report, decisionTime };
  let outcome: BatchOutcome;
  let retried: string[] = [];
  let poison: PoisonMessage[] | undefined;
  try {
    outcome = await deps.detector.processBatch(events, decisionTime);
  } catch (error) {
    if (classifyStoreFailure(error) === 'transient') {
      return { batchItemFailures: carriers.map((itemIdentifier) => ({ itemIdentifier })), report, decisionTime, error, oldestEventTime };
    }
    const isolated = await decidePieceByPiece(events, carriedBy, decisionTime, deps.detector);
    for (const message of isolated.poison) report.count(POISON, `sqs:${message.messageId}`);
    ({ outcome, retry: retried, poison } = isolated);
  }
  const dispatchError = await dispatch(outcome.changes, deps);
  return {
    batchItemFailures: retried.map((itemIdentifier) => ({ itemIdentifier })),
    report,
    decisionTime,
    outcome,
    oldestEventTime,
    ...(poison === undefined || poison.length === 0 ? {} : { poison }),
    ...(dispatchError === undefined ? {} : { dispatchError }),
  };
}

/** The reason a message the store refused for what it carries is counted under. */
const POISON = 'store-rejected';

/** Tells the responder of a batch's incident changes; returns the failure instead of throwing it. */
async function dispatch(changes: readonly IncidentChange[], deps: PipelineDependencies): Promise<unknown> {
  if (deps.notify === undefined || changes.length === 0) return undefined;
  try {
    await deps.notify(changes);
    return undefined;
  } catch (error) {
    return error;
  }
}

/**
 * Scores one CloudTrail log file (`{"Records":[…]}`, NDJSON or envelopes; text, or bytes that
 * may be gzip) as `keysentry replay` would: its events, deduplicated by eventID, in event-time
 * order, cut into batches of `batchWindowMs` of event time, each decided at its end; then the
 * detector's held calm counts are written, because the file is the complete record and its
 * container may not run again soon. Events EventBridge already delivered count once (the window
 * write keeps their ids). Damaged content is counted in the report, never thrown: a file that
 * cannot be read will not read better on a retry. Store failures are thrown.
 */
export async function scoreLogFile(content: string | Uint8Array, source: string, deps: LogFilePipelineDependencies): Promise<ScoredLogFile> {
  const report = new IntakeReport();
  const result: ScoredLogFile = { report, batches: 0, verdicts: [], changes: [], dispatchErrors: [] };
  const admitted: AccessEvent[] = [];
  for await (const batch of readLogContent(content, source, report)) {
    batch.records.forEach((record, index) => {
      const event = admitRecord(record, batch.locate(index), report, deps, deps.deliveredAt);
      if (event !== undefined) admitted.push(event);
    });
  }
  sortByEventTime(admitted);
  result.oldestEventTime = admitted[0]?.eventTime;
  const stream = new EventStream(report, deps.batchWindowMs, { urgentLane: true });
  for (const event of admitted) {
    for (const closed of stream.push(event)) await decideBatch(closed, result, deps);
  }
  for (const closed of stream.close()) await decideBatch(closed, result, deps);
  if (result.batches > 0 && deps.flushAfterFile !== false) await deps.detector.flush();
  return result;
}

/** Decides one batch of a log file and hands its incidents to the responder at once: a log file can span minutes of attack. */
async function decideBatch(batch: IntakeBatch, result: ScoredLogFile, deps: LogFilePipelineDependencies): Promise<void> {
  const outcome = await deps.detector.processBatch(batch.events, batch.decisionTime);
  result.batches++;
  for (const verdict of outcome.verdicts) result.verdicts.push(verdict);
  for (const change of outcome.changes) result.changes.push(change);
  const dispatchError = await dispatch(outcome.changes, deps);
  if (dispatchError !== undefined) result.dispatchErrors.push(dispatchError);
}
