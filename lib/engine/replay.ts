import type { AccessEvent, IdentityType } from '../domain/access-event.ts';
import { CallerCache, type NormalizeOptions } from '../domain/cloudtrail-record.ts';
import { createDetector, DEFAULT_WINDOW_MS, type IncidentChange } from './score-engine.ts';
import { admitOutcome, DEFAULT_BATCH_WINDOW_MS, EventStream, type IntakeBatch } from '../intake/event-intake.ts';
import type { Incident } from '../domain/incident.ts';
import { IntakeReport } from '../intake/intake-report.ts';
import { listLogFiles, readLogOutcomes } from '../intake/log-reader.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { Policy } from '../domain/policy.ts';
import { ReorderBuffer } from '../intake/reorder-buffer.ts';
import type { Reason, ScoringSettings } from '../domain/scoring.ts';
import type { DetectorStore } from '../store/store.ts';
import { tuneBaselines } from '../tuning/tuning.ts';
import { DAY_MS } from '../domain/duration.ts';


export interface ReplayOptions {
  paths: readonly string[];
  /** Event time collected into one intake batch, as the SQS batching window does (default 10 s). */
  batchWindowMs?: number;
  /** Event time at the start during which keysentry only learns (default 14 days). */
  warmupMs?: number;
  /** How long records wait to be put back in time order (default 15 min). */
  reorderMs?: number;
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
}

/** One incident as `keysentry replay --json` prints it. */
export interface ReplayIncident {
  incidentId: string;
  actor: string;
  principal: string;
  accessKeyId: string | null;
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
  late: number;
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

/**
 * Replays CloudTrail log files through the same detector the Lambdas run, as production would
 * have seen them: records put back in event-time order (a reorder buffer), deduplicated by
 * eventID, cut into intake batches of `batchWindowMs` of event time and decided at each batch's
 * end, learning only during the warm-up, with the weekly tuning at every 7-day boundary.
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
  const detector = createDetector({ store, policy: options.policy, scoring: options.scoring, windowMs });
  const report = new IntakeReport();
  const stream = new EventStream(report, batchWindowMs);
  const buffer = new ReorderBuffer<AccessEvent>(options.reorderMs ?? 15 * 60_000);

  const intake = { normalize: { ...options.normalize, callerCache: new CallerCache() }, protectedBuckets: options.protectedBuckets };
  const files = await listLogFiles(options.paths, report);
  const bytesTotal = files.reduce((total, file) => total + file.bytes, 0);
  let bytesDone = 0;
  const sizes = new Map(files.map((file) => [file.path, file.bytes]));

  const tallies = new Map<string, ActorTally>();
  const snapshots = new Map<string, { decisionTime: number; tally: ActorTally }>();
  const latestSnapshot = new Map<string, { decisionTime: number; tally: ActorTally }>();
  const incidents = new Map<string, Incident>();
  let origin: number | undefined;
  let nextTune = 0;
  let warmupEnd = 0;
  let batches = 0;
  let tunings = 0;
  let firstEventTime: number | undefined;
  let lastEventTime: number | undefined;

  const tuneUpTo = async (time: number): Promise<void> => {
    while (origin !== undefined && nextTune <= time) {
      await tuneBaselines(store, nextTune, { windowMs });
      tunings++;
      nextTune = nextWeekly(nextTune);
    }
  };
  const nextWeekly = (after: number): number => {
    const weekly = (origin as number) + (Math.floor((after - (origin as number)) / tuneEveryMs) + 1) * tuneEveryMs;
    return after < warmupEnd && warmupEnd < weekly ? warmupEnd : weekly;
  };

  const decide = async (batch: IntakeBatch | undefined): Promise<void> => {
    if (batch === undefined) return;
    const { decisionTime } = batch;
    await tuneUpTo(decisionTime - batchWindowMs);
    for (const event of batch.events) countTowardsDecisions(event);
    const outcome = await detector.processBatch(batch.events, decisionTime, { learnOnly: decisionTime <= warmupEnd });
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
  // A record later than the reorder buffer still counts towards a decision it preceded.
  const countTowardsDecisions = (event: AccessEvent): void => {
    const counted = isRead(event) ? 'gets' : isDelete(event) ? 'deletes' : undefined;
    let tally = tallies.get(event.identity.actor);
    if (tally === undefined) tallies.set(event.identity.actor, (tally = { gets: 0, deletes: 0 }));
    if (counted === undefined) return;
    tally[counted]++;
    const snapshot = latestSnapshot.get(event.identity.actor);
    if (snapshot !== undefined && event.eventTime <= snapshot.decisionTime) snapshot.tally[counted]++;
  };

  const onFile = (path: string): void => {
    bytesDone += sizes.get(path) ?? 0;
    options.onProgress?.({ bytesDone, bytesTotal, events: report.events });
  };
  for await (const batch of readLogOutcomes(files, report, { workers: options.workers, normalize: intake.normalize, onFile })) {
    const vouchedFor = options.trustSource?.(batch.source) ?? true;
    for (const [index, outcome] of batch.outcomes.entries()) {
      const event = admitOutcome(outcome, () => batch.locate(index), report, intake);
      if (event === undefined) continue;
      if (!vouchedFor) event.unverified = true;
      if (origin === undefined) {
        origin = Math.floor(event.eventTime / DAY_MS) * DAY_MS;
        warmupEnd = origin + warmupMs;
        nextTune = nextWeekly(origin);
      }
      if (firstEventTime === undefined || event.eventTime < firstEventTime) firstEventTime = event.eventTime;
      if (lastEventTime === undefined || event.eventTime > lastEventTime) lastEventTime = event.eventTime;
      buffer.push(event.eventTime, event);
      for (const ready of buffer.release()) await decide(stream.push(ready));
    }
  }
  for (const ready of buffer.release(true)) await decide(stream.push(ready));
  await decide(stream.close());
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
      late: counted.late,
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
