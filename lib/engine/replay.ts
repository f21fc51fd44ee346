import type { AccessEvent, IdentityType } from '../domain/access-event.ts';
import { CallerCache, type NormalizeOptions } from '../domain/cloudtrail-record.ts';
import { createDetector, DEFAULT_WINDOW_MS, type IncidentChange } from './score-engine.ts';
import { DEFAULT_BATCH_WINDOW_MS, EventStream, type IntakeBatch } from '../intake/event-intake.ts';
import type { Incident } from '../domain/incident.ts';
import { IntakeReport } from '../intake/intake-report.ts';
import { listLogFiles } from '../intake/log-reader.ts';
import { orderedEvents, type ReplayInputStats, type ReplayOrder } from './replay-input.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { Policy } from '../domain/policy.ts';
import type { KeyCreationLookup, Reason, ScoringSettings } from '../domain/scoring.ts';
import type { DetectorStore } from '../store/store.ts';
import { tuneBaselines } from '../tuning/tuning.ts';
import { DAY_MS, HOUR_MS } from '../domain/duration.ts';
import { DEFAULT_REORDER_WINDOW_MS } from '../intake/delivery-order.ts';
import { KeyCreationBook } from '../domain/key-creation.ts';


export interface ReplayOptions {
  paths: readonly string[];
  /** Event time collected into one intake batch, as the SQS batching window does (default 10 s). */
  batchWindowMs?: number;
  /** Event time at the start during which keysentry only learns (default 14 days). */
  warmupMs?: number;
  /**
   * How the input is put in event-time order: `auto` (default) decides while reading when every
   * file carries CloudTrail's delivery stamp in its name, and sorts everything first otherwise;
   * `sorted` always sorts everything first (see `orderedEvents`).
   */
  order?: 'auto' | 'sorted';
  /** With delivery-stamped files: how long before its file's delivery a record is still put in its place (default 1 h). */
  reorderWindowMs?: number;
  /** When sorting everything first: events held in memory; more are sorted on disk (default 100,000). */
  sortMemoryEvents?: number;
  /** Weekly tuning period in event time (default 7 days). */
  tuneEveryMs?: number;
  windowMs?: number;
  policy?: Partial<Policy>;
  scoring?: Partial<ScoringSettings>;
  normalize?: NormalizeOptions;
  /** Only events on these buckets are scored, as the Lambdas' `protectedBuckets`; empty or absent: every bucket. */
  protectedBuckets?: readonly string[];
  /** Threads that read and parse the log files while this one scores (default 0: none); the result is the same. */
  workers?: number;
  store?: DetectorStore;
  /**
   * Whether a file's records are evidence enough to contain (`--verify-digests`: the files a valid
   * CloudTrail digest vouches for); other files' records page "unverified evidence". Absent: all are.
   */
  trustSource?: (source: string) => boolean;
  onProgress?: (progress: { bytesDone: number; bytesTotal: number; events: number }) => void;
  /** Called for each incident change as it happens (in event time). */
  onIncident?: (change: IncidentChange) => void;
  /** When IAM users' long-term keys were created (`--keys`, a `keysentry keys --json` snapshot). */
  keyCreatedAt?: KeyCreationLookup;
}

/** One incident as `keysentry replay --json` prints it. */
export interface ReplayIncident {
  incidentId: string;
  actor: string;
  principal: string;
  accessKeyId: string | null;
  /** Every key the actor used up to the incident (a session rotates through several). */
  accessKeyIds: string[];
  identityType: IdentityType;
  action: 'contain' | 'page';
  blockedBy: string | null;
  score: number;
  reasons: Reason[];
  firstEventTime: string;
  decisionTime: string;
  getsBeforeDecision: number;
  deletesBeforeDecision: number;
}

export interface ReplaySummary {
  files: number;
  records: number;
  events: number;
  skipped: Record<string, number>;
  rejected: Record<string, number>;
  rejectedExamples: Record<string, string[]>;
  duplicates: number;
  /** `delivery`: decided while reading files in the order of their delivery stamps; `sorted`: all sorted first. */
  order: ReplayOrder;
  /** Sorted runs written to disk to put the input in time order (0: it fitted in memory, or `delivery` order). */
  sortRuns: number;
  /** `delivery` order: events dated before one already decided (delivered over an hour late), decided as they came. */
  lateEvents: number;
  /** `delivery` order: the most events held at once to put them in order (memory's measure). */
  heldToReorder: number;
  actors: number;
  batches: number;
  tunings: number;
  incidents: number;
  contained: number;
  /** Store writes of the replay, and per 1,000 events scored. */
  storeWrites: number;
  storeWritesPerThousandEvents: number;
  paged: number;
  firstEventTime: string | null;
  lastEventTime: string | null;
  elapsedMs: number;
  eventsPerSecond: number;
}

export interface ReplayResult {
  incidents: ReplayIncident[];
  summary: ReplaySummary;
}

interface ActorTally {
  gets: number;
  deletes: number;
}

const isRead = (event: AccessEvent): boolean => event.operation === 'get' && event.errorCode === undefined;
const isDelete = (event: AccessEvent): boolean =>
  (event.operation === 'delete' || event.operation === 'delete-version') && event.errorCode === undefined;

/** A look-up that answers the earlier of two creation dates (a key is created once). */
function earliestOf(first: KeyCreationLookup | undefined, second: KeyCreationLookup): KeyCreationLookup {
  if (first === undefined) return second;
  return async (identity) => {
    const dates = (await Promise.all([first(identity), second(identity)])).filter((date): date is number => date !== undefined);
    return dates.length === 0 ? undefined : Math.min(...dates);
  };
}

/**
 * Replays CloudTrail log files through the same intake and detector the Lambdas run, as production
 * would have seen them, whatever order the records and files come in (newest first, shuffled, split
 * across files whose names sort the attacker last). The events reach the detector in event-time
 * order ({@link orderedEvents}): files that carry CloudTrail's delivery stamps are decided while
 * the next ones are read, anything else is sorted on disk first. They are deduplicated by eventID,
 * cut into intake batches of `batchWindowMs` of event time and decided at each batch's end.
 * Implausible event times are rejected as `implausible-time`. The warm-up (learning only) runs
 * from the earliest event decided; the weekly tuning runs at every 7-day boundary after a span that
 * held events, and once more at the last boundary before events resume after a quiet span.
 * `getsBeforeDecision`/`deletesBeforeDecision` count the actor's object reads/deletes whose
 * eventTime is at or before the decision.
 */
export async function replayLogs(options: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const batchWindowMs = options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS;
  const warmupMs = options.warmupMs ?? 14 * DAY_MS;
  const tuneEveryMs = options.tuneEveryMs ?? 7 * DAY_MS;
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const store = options.store ?? new MemoryStore();
  const writesBefore = store.writes;
  // Keys created in the logs (`CreateAccessKey`), beside those of a `--keys` snapshot: the earlier date wins.
  const loggedKeys = new KeyCreationBook();
  const keyCreatedAt = earliestOf(options.keyCreatedAt, loggedKeys.lookup);
  const detector = createDetector({ store, policy: options.policy, scoring: options.scoring, windowMs, keyCreatedAt });
  const report = new IntakeReport();
  // Copies of a record meet within its second in time order; a late one within the reorder window.
  const dedupHorizonMs = 2 * Math.max(options.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS, HOUR_MS);
  const stream = new EventStream(report, batchWindowMs, { urgentLane: true, dedupHorizonMs });

  const normalize = { ...options.normalize, callerCache: new CallerCache() };
  const files = await listLogFiles(options.paths, report);
  const bytesTotal = files.reduce((total, file) => total + file.bytes, 0);
  let bytesDone = 0;
  const sizes = new Map(files.map((file) => [file.path, file.bytes]));

  const tallies = new Map<string, ActorTally>();
  const snapshots = new Map<string, { decisionTime: number; tally: ActorTally }>();
  const latestSnapshot = new Map<string, { decisionTime: number; tally: ActorTally }>();
  const incidents = new Map<string, Incident>();
  let batches = 0;
  let tunings = 0;
  // The warm-up and the weekly tuning run from the earliest event decided.
  let schedule: TuningSchedule | undefined;
  let firstEventTime: number | undefined;
  let lastEventTime: number | undefined;

  const decide = async (batch: IntakeBatch | undefined): Promise<void> => {
    if (batch === undefined) return;
    const { decisionTime } = batch;
    const plan = schedule as TuningSchedule;
    for (const at of plan.due(decisionTime - batchWindowMs)) {
      await tuneBaselines(store, at, { windowMs });
      tunings++;
    }
    for (const event of batch.events) countTowardsDecisions(event);
    const outcome = await detector.processBatch(batch.events, decisionTime, { learnOnly: decisionTime <= plan.warmupEnd });
    batches++;
    for (const change of outcome.changes) {
      const { incident } = change;
      incidents.set(incident.incidentId, incident);
      if (change.kind !== 'updated') {
        const snapshot = { decisionTime, tally: { ...(tallies.get(incident.actor) ?? { gets: 0, deletes: 0 }) } };
        snapshots.set(incident.incidentId, snapshot);
        latestSnapshot.set(incident.actor, snapshot);
      }
      options.onIncident?.(change);
    }
  };
  // An event at the decision's own second is decided in the next batch but preceded the decision.
  const countTowardsDecisions = (event: AccessEvent): void => {
    const counted = isRead(event) ? 'gets' : isDelete(event) ? 'deletes' : undefined;
    let tally = tallies.get(event.identity.actor);
    if (tally === undefined) tallies.set(event.identity.actor, (tally = { gets: 0, deletes: 0 }));
    if (counted === undefined) return;
    tally[counted]++;
    const snapshot = latestSnapshot.get(event.identity.actor);
    if (snapshot !== undefined && event.eventTime <= snapshot.decisionTime) snapshot.tally[counted]++;
  };

  const input: ReplayInputStats = { order: 'sorted', sortRuns: 0, lateEvents: 0, heldAtMost: 0 };
  const ordered = orderedEvents(files, report, {
    order: options.order,
    reorderWindowMs: options.reorderWindowMs,
    sortMemoryEvents: options.sortMemoryEvents,
    workers: options.workers,
    normalize,
    intake: { protectedBuckets: options.protectedBuckets },
    trustSource: options.trustSource,
    onKeyCreated: (accessKeyId, createdAt) => loggedKeys.note(accessKeyId, createdAt),
    onFile: (path) => {
      bytesDone += sizes.get(path) ?? 0;
      options.onProgress?.({ bytesDone, bytesTotal, events: report.events });
    },
  }, input);
  for await (const slice of ordered) {
    for (const event of slice) {
      schedule ??= new TuningSchedule(event.eventTime, warmupMs, tuneEveryMs);
      if (firstEventTime === undefined || event.eventTime < firstEventTime) firstEventTime = event.eventTime;
      if (lastEventTime === undefined || event.eventTime > lastEventTime) lastEventTime = event.eventTime;
      for (const closed of stream.push(event)) await decide(closed);
    }
  }
  for (const closed of stream.close()) await decide(closed);
  await detector.flush();

  const replayIncidents = [...incidents.values()]
    .sort((a, b) => a.decisionTime - b.decisionTime)
    .map((incident): ReplayIncident => {
      const snapshot = snapshots.get(incident.incidentId);
      return {
        incidentId: incident.incidentId,
        actor: incident.actor,
        principal: incident.principal,
        accessKeyId: incident.accessKeyId ?? null,
        accessKeyIds: incident.evidence.accessKeyIds ?? (incident.accessKeyId === undefined ? [] : [incident.accessKeyId]),
        identityType: incident.identityType,
        action: incident.action,
        blockedBy: incident.blockedBy ?? null,
        score: incident.score,
        reasons: incident.reasons,
        firstEventTime: new Date(incident.firstEventTime).toISOString(),
        decisionTime: new Date(incident.decisionTime).toISOString(),
        getsBeforeDecision: snapshot?.tally.gets ?? 0,
        deletesBeforeDecision: snapshot?.tally.deletes ?? 0,
      };
    });
  const elapsedMs = Math.round(performance.now() - started);
  const counted = report.toJSON();
  return {
    incidents: replayIncidents,
    summary: {
      files: files.length,
      records: counted.records,
      events: counted.events,
      skipped: counted.skipped,
      rejected: counted.rejected,
      rejectedExamples: counted.rejectedExamples,
      duplicates: counted.duplicates,
      order: input.order,
      sortRuns: input.sortRuns,
      lateEvents: input.lateEvents,
      heldToReorder: input.heldAtMost,
      actors: tallies.size,
      batches,
      tunings,
      incidents: replayIncidents.length,
      contained: replayIncidents.filter((i) => i.action === 'contain').length,
      storeWrites: store.writes - writesBefore,
      storeWritesPerThousandEvents: Math.round((10_000 * (store.writes - writesBefore)) / Math.max(1, counted.events)) / 10,
      paged: replayIncidents.filter((i) => i.action === 'page').length,
      firstEventTime: firstEventTime === undefined ? null : new Date(firstEventTime).toISOString(),
      lastEventTime: lastEventTime === undefined ? null : new Date(lastEventTime).toISOString(),
      elapsedMs,
      eventsPerSecond: Math.round(counted.events / Math.max(0.001, elapsedMs / 1000)),
    },
  };
}

/**
 * When the weekly tuning runs in event time: every `tuneEveryMs` from the day of the earliest
 * event, and at the end of the warm-up. After a span without events only two of the boundaries it
 * crossed run: the first (the tuning of the events before the span) and the last (the state the
 * next events meet); those in between would tune the same windows again. A stray date far in the
 * future therefore costs two tunings, not one per week up to it.
 */
class TuningSchedule {
  readonly warmupEnd: number;
  private readonly origin: number;
  private next: number;

  constructor(
    firstEventTime: number,
    warmupMs: number,
    private readonly tuneEveryMs: number,
  ) {
    this.origin = Math.floor(firstEventTime / DAY_MS) * DAY_MS;
    this.warmupEnd = this.origin + warmupMs;
    this.next = this.after(this.origin);
  }

  /** The boundaries to tune at before events at `time` are decided, oldest first. */
  due(time: number): number[] {
    if (this.next > time) return [];
    const first = this.next;
    const weekly = this.origin + Math.floor((time - this.origin) / this.tuneEveryMs) * this.tuneEveryMs;
    const last = this.warmupEnd <= time && this.warmupEnd > weekly ? this.warmupEnd : weekly;
    this.next = this.after(last);
    return last > first ? [first, last] : [first];
  }

  private after(time: number): number {
    const weekly = this.origin + (Math.floor((time - this.origin) / this.tuneEveryMs) + 1) * this.tuneEveryMs;
    return time < this.warmupEnd && this.warmupEnd < weekly ? this.warmupEnd : weekly;
  }
}
