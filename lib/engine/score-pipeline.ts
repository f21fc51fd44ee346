import type { AccessEvent } from '../domain/access-event.ts';
import { normalizeRecord, type NormalizeOptions } from '../domain/cloudtrail-record.ts';
import type { ActorVerdict, BatchOutcome, Detector, IncidentChange } from './score-engine.ts';
import { IntakeReport } from '../intake/intake-report.ts';
import { decodeLogFile, splitRecords } from '../intake/log-reader.ts';
import type { IncidentNotifier } from './responder-dispatch.ts';

/** One SQS message as the score function receives it: an EventBridge envelope in its body. */
export interface QueuedMessage {
  messageId: string;
  body: string;
}

/** What the SQS and log-file paths share. */
export interface PipelineDependencies {
  /** Only events on these buckets are scored; empty or absent: every bucket. */
  protectedBuckets?: readonly string[];
  normalize?: NormalizeOptions;
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

/** The skip reason of an event on a bucket the deployment does not protect (next to `normalizeRecord`'s). */
const UNPROTECTED_BUCKET = 'unprotected-bucket';

/**
 * Validates one raw record into the batch: rejected and skipped records are counted under their
 * reason, an eventID already in the batch is counted as a duplicate (SQS and EventBridge both
 * deliver at least once; the store drops the repeats across batches).
 */
function admitRecord(
  record: unknown,
  source: string,
  report: IntakeReport,
  seen: Set<string>,
  deps: PipelineDependencies,
): { event?: AccessEvent; duplicate: boolean } {
  report.records++;
  const outcome = normalizeRecord(record, deps.normalize);
  if (outcome.kind === 'rejected') {
    report.count(outcome.reason, source);
    return { duplicate: false };
  }
  if (outcome.kind === 'skipped') {
    report.skip(outcome.reason);
    return { duplicate: false };
  }
  const { event } = outcome;
  const buckets = deps.protectedBuckets ?? [];
  if (buckets.length > 0 && (event.bucket === undefined || !buckets.includes(event.bucket))) {
    report.skip(UNPROTECTED_BUCKET);
    return { duplicate: false };
  }
  if (seen.has(event.eventId)) {
    report.duplicates++;
    return { duplicate: true };
  }
  seen.add(event.eventId);
  report.events++;
  return { event, duplicate: false };
}

const earliest = (events: readonly AccessEvent[]): number | undefined =>
  events.length === 0 ? undefined : events.reduce((min, event) => Math.min(min, event.eventTime), Number.POSITIVE_INFINITY);

/**
 * Scores one SQS batch of EventBridge "AWS API Call via CloudTrail" envelopes: each body is
 * parsed and normalised, the batch's events go to `detector.processBatch(events, now())` at once,
 * and the incidents it opened or changed to `notify`.
 *
 * Two kinds of failure, two answers. A message that is not JSON, or whose record is rejected
 * (damaged) or skipped (not an S3 data event of a protected bucket), can never succeed: it is
 * counted in the report under its reason, with its message id as the example, and acknowledged —
 * retrying it would only carry it to the dead-letter queue. A failure of the store or of AWS is
 * transient: every message that carried an event is returned in `batchItemFailures`, so SQS
 * delivers it again. Redelivery is harmless because the window write counts an eventID once:
 * whatever part of the batch was written before the failure is not counted twice.
 */
export async function scoreSqsRecords(messages: readonly QueuedMessage[], deps: SqsPipelineDependencies): Promise<ScoredMessages> {
  const report = new IntakeReport();
  const seen = new Set<string>();
  const events: AccessEvent[] = [];
  const carriers: string[] = [];
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
    const { event, duplicate } = admitRecord(record, source, report, seen, deps);
    if (event !== undefined) events.push(event);
    if (event !== undefined || duplicate) carriers.push(message.messageId);
  }
  const decisionTime = deps.now();
  const oldestEventTime = earliest(events);
  if (events.length === 0) return { batchItemFailures: [], report, decisionTime };
  let outcome: BatchOutcome;
  try {
    outcome = await deps.detector.processBatch(events, decisionTime);
  } catch (error) {
    return {
      batchItemFailures: carriers.map((itemIdentifier) => ({ itemIdentifier })),
      report,
      decisionTime,
      error,
      oldestEventTime,
    };
  }
  const dispatchError = await dispatch(outcome.changes, deps);
  return { batchItemFailures: [], report, decisionTime, outcome, oldestEventTime, ...(dispatchError === undefined ? {} : { dispatchError }) };
}

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
  const text = typeof content === 'string' ? content : decodeLogFile(content, source, report);
  if (text === undefined) return result;
  const seen = new Set<string>();
  const events: AccessEvent[] = [];
  for (const { record } of splitRecords(text, source, report)) {
    const { event } = admitRecord(record, source, report, seen, deps);
    if (event !== undefined) events.push(event);
  }
  events.sort((a, b) => a.eventTime - b.eventTime);
  result.oldestEventTime = earliest(events);

  let start = 0;
  while (start < events.length) {
    const batchEnd = (Math.floor((events[start] as AccessEvent).eventTime / deps.batchWindowMs) + 1) * deps.batchWindowMs;
    let end = start;
    while (end < events.length && (events[end] as AccessEvent).eventTime < batchEnd) end++;
    const outcome = await deps.detector.processBatch(events.slice(start, end), batchEnd);
    result.batches++;
    result.verdicts.push(...outcome.verdicts);
    result.changes.push(...outcome.changes);
    // Each batch's incidents go to the responder at once: a log file can span minutes of attack.
    const dispatchError = await dispatch(outcome.changes, deps);
    if (dispatchError !== undefined) result.dispatchErrors.push(dispatchError);
    start = end;
  }
  if (events.length > 0) await deps.detector.flush();
  return result;
}
