import { appendTo } from '../domain/collections.ts';
import type { AccessEvent, Identity } from '../domain/access-event.ts';
import { collectSightings, type Baseline } from '../domain/baseline.ts';
import { StoreError } from '../domain/errors.ts';
import { makeIncidentId, type Evidence, type Incident } from '../domain/incident.ts';
import { decideAction, DEFAULT_POLICY, type Decision, type Policy } from '../domain/policy.ts';
import { READ_HISTORY_MS, summarizeReadHistory } from '../domain/read-history.ts';
import {
  DEFAULT_SCORING,
  isUnfamiliarIdentity,
  needsKeyCreationDate,
  scoreAgainstBaseline,
  type KeyCreationLookup,
  type ReadHistory,
  type Score,
  type ScoringSettings,
} from '../domain/scoring.ts';
import type { DetectorStore, StoredWindow, WindowWrite } from '../store/store.ts';
import { itemStartOf, WINDOWS_PER_ITEM } from '../store/window-item.ts';
import { WindowCache } from './window-cache.ts';
import {
  aggregateBatch,
  countDistinctMembers,
  countDistinctObjects,
  countEvent,
  countReadThenDeleted,
  createWindowStats,
  isInScoredSpan,
  mergeWindowCounts,
  SET_CAPS,
  windowsInHorizon,
  type WindowStats,
} from '../domain/window-counter.ts';

export interface DetectorOptions {
  store: DetectorStore;
  policy?: Partial<Policy>;
  scoring?: Partial<ScoringSettings>;
  /** Length of a counting window; the score looks at the current and the previous window. */
  windowMs?: number;
  /** How far back a delete is matched against the actor's reads (the extortion pattern). */
  readThenDeleteHorizonMs?: number;
  /**
   * When an IAM user's long-term key was created, asked once per batch for a key keysentry does
   * not know well (IAM in the Lambdas, cached there; `CreateAccessKey` events or a key inventory
   * in a replay). Without it, key age plays no part.
   */
  keyCreatedAt?: KeyCreationLookup;
  /** How long the windows read of an actor are trusted before being read again (see {@link WindowCache}). */
  windowCacheMs?: number;
}

/** The verdict on one actor of a batch. */
export interface ActorVerdict {
  actor: string;
  score: Score;
  decision: Decision;
}

/** An incident the batch created or changed; `escalated` means a page became a containment, or a blocked one. */
export interface IncidentChange {
  kind: 'created' | 'escalated' | 'updated';
  incident: Incident;
}

export interface BatchOutcome {
  events: number;
  /** Events not counted before (the rest were redeliveries). */
  fresh: number;
  actors: number;
  verdicts: ActorVerdict[];
  changes: IncidentChange[];
}

export const DEFAULT_WINDOW_MS = 900_000;
const MAX_WRITE_ATTEMPTS = 8;

const MAX_EVIDENCE_ITEMS = 5;
/** A console session rotates its key every few minutes: an hour of it is a dozen keys. */
const MAX_EVIDENCE_KEYS = 20;

/**
 * Creates the detector: the code the score Lambdas and `keysentry replay` share. A batch is
 * counted into per-(actor, window) totals with one store write each, then every actor of the
 * batch is scored on its current and previous windows against its baselines; a page or contain
 * decision opens or escalates the actor's incident. Actors that decided nothing teach their
 * baselines what they saw; an actor under suspicion teaches nothing.
 */
export function createDetector(options: DetectorOptions) {
  const store = options.store;
  const policy: Policy = { ...DEFAULT_POLICY, ...options.policy };
  const settings: ScoringSettings = { ...DEFAULT_SCORING, ...options.scoring };
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const horizonWindows = windowsInHorizon(windowMs, options.readThenDeleteHorizonMs);
  /**
   * Events of calm actors (familiar, nothing to score) not yet written: held per (actor, window)
   * and written when the hour whose item holds the window (`itemStartOf`) has left the scored
   * span, the hour's windows in one write, so routine traffic costs one write per actor and hour
   * instead of one per batch or window. A lost container loses at most these calm counts.
   */
  const pending = new Map<string, Map<number, { events: Map<string, AccessEvent>; stats: WindowStats }>>();
  let flushedBefore = Number.NEGATIVE_INFINITY;
  /**
   * Where writes of single windows would have stopped holding (a window is out of the scored span
   * once the next has begun): held windows older than it count in the read-then-delete match only
   * inside its horizon, as stored ones do, so holding an hour decides nothing differently.
   */
  let spanHeldFrom = Number.NEGATIVE_INFINITY;
  /** The oldest window held during the current batch: a late one moves `spanHeldFrom` back at the batch's end. */
  let oldestHeldInBatch = Number.POSITIVE_INFINITY;
  const sessionKeys = new SessionKeys();
  const windowCache = new WindowCache(store, options.windowCacheMs);
  const windowOf = (event: AccessEvent): number => Math.floor(event.eventTime / windowMs);

  /**
   * Writes events into their stored windows, all of one item (same `itemStartOf`), in one write,
   * counting only those whose ids the windows do not hold yet (a redelivered event counts once),
   * with revision checks; on a lost race it re-reads the item and tries again.
   */
  async function writeItem(
    actor: string,
    byWindow: ReadonlyMap<number, { events: Iterable<AccessEvent>; counted?: WindowStats }>,
    known: ReadonlyMap<number, StoredWindow>,
  ): Promise<void> {
    const windows = [...byWindow].map(([window, { events, counted }]) => ({ window, all: [...events], counted }));
    let current = known;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const writes: WindowWrite[] = [];
      for (const { window, all, counted } of windows) {
        const stored = current.get(window);
        const fresh = stored === undefined ? all : all.filter((event) => !stored.eventIds.has(event.idHash));
        if (fresh.length === 0) continue;
        // `counted` already holds exactly these events' totals when none of them was written before.
        const delta = counted !== undefined && fresh.length === all.length ? counted : (aggregateBatch(fresh, windowMs).values().next().value as WindowStats);
        writes.push({ delta, eventIds: fresh.map((event) => event.idHash), expectedRevision: stored?.revision ?? 0 });
      }
      if (writes.length === 0) return;
      const written = await store.addWindows(writes);
      if (written !== 'conflict') {
        windowCache.wrote(written);
        return;
      }
      current = await storedItem(actor, writes[0]!.delta.window, true);
    }
    throw new StoreError(`windows of ${actor} from ${itemStartOf(windows[0]?.window ?? 0)} kept changing under ${MAX_WRITE_ATTEMPTS} attempts`);
  }

  /** The stored windows of the item that holds `window`, by window. */
  async function storedItem(actor: string, window: number, afresh = false): Promise<Map<number, StoredWindow>> {
    const start = itemStartOf(window);
    const read = afresh ? windowCache.readAfresh(actor, start, start + WINDOWS_PER_ITEM - 1) : windowCache.read(actor, start, start + WINDOWS_PER_ITEM - 1);
    return new Map((await read).map((stored) => [stored.window, stored]));
  }

  /** Writes the held windows older than `beforeWindow` (the first window of an item), one write per actor and item. */
  async function flushPending(beforeWindow: number): Promise<void> {
    if (beforeWindow <= flushedBefore) return;
    flushedBefore = beforeWindow;
    for (const [actor, windows] of pending) {
      const byItem = new Map<number, Map<number, { events: Iterable<AccessEvent>; counted: WindowStats }>>();
      for (const [window, held] of windows) {
        if (window >= beforeWindow) continue;
        windows.delete(window);
        let item = byItem.get(itemStartOf(window));
        if (item === undefined) byItem.set(itemStartOf(window), (item = new Map()));
        item.set(window, { events: held.events.values(), counted: held.stats });
      }
      for (const [start, item] of byItem) await writeItem(actor, item, await storedItem(actor, start));
      if (windows.size === 0) pending.delete(actor);
    }
  }

  function holdCalm(events: readonly AccessEvent[]): void {
    for (const event of events) {
      let windows = pending.get(event.identity.actor);
      if (windows === undefined) pending.set(event.identity.actor, (windows = new Map()));
      const window = windowOf(event);
      // A late event lands in a window already flushed: it waits for the next flush.
      if (window < flushedBefore) flushedBefore = window;
      oldestHeldInBatch = Math.min(oldestHeldInBatch, window);
      let held = windows.get(window);
      if (held === undefined) {
        held = { events: new Map(), stats: createWindowStats(event.identity.actor, event.identity.principal, event.identity.type, window) };
        windows.set(window, held);
      }
      if (held.events.has(event.eventId)) continue;
      held.events.set(event.eventId, event);
      countEvent(held.stats, event);
    }
  }

  /** Writes now everything of the actor: its batch events and whatever it had pending, one write per item. */
  async function writeActorNow(actor: string, events: readonly AccessEvent[], stored: ReadonlyMap<number, StoredWindow>): Promise<void> {
    const byWindow = new Map<number, AccessEvent[]>();
    for (const event of events) appendTo(byWindow, windowOf(event), event);
    for (const [window, held] of pending.get(actor) ?? []) {
      byWindow.set(window, [...held.events.values(), ...(byWindow.get(window) ?? [])]);
    }
    pending.delete(actor);
    const byItem = new Map<number, Map<number, { events: AccessEvent[] }>>();
    for (const [window, windowEvents] of byWindow) {
      let item = byItem.get(itemStartOf(window));
      if (item === undefined) byItem.set(itemStartOf(window), (item = new Map()));
      item.set(window, { events: windowEvents });
    }
    for (const [start, item] of byItem) {
      const covered = [...item.keys()].every((window) => stored.has(window));
      await writeItem(actor, item, covered ? stored : await storedItem(actor, start));
    }
  }

  /**
   * The actor's recent activity: stored windows plus its pending calm events plus the batch's
   * new events, summed over the current and previous window; and how many of the objects it
   * deleted there it had read within the horizon.
   */
  function recentActivity(
    actor: string,
    identity: Identity,
    nowWindow: number,
    stored: ReadonlyMap<number, StoredWindow>,
    fresh: readonly AccessEvent[],
    fromWindow: number,
  ): { span: WindowStats; readThenDeleted: number } {
    const span = createWindowStats(actor, identity.principal, identity.type, nowWindow);
    const held = pending.get(actor) ?? new Map<number, { stats: WindowStats }>();
    // The objects read are counted over the windows' own sets, not copied into the span's: the
    // span holds the batch's reads, and its distinct count covers them all.
    const objectsRead: Array<ReadonlySet<string>> = [span.readObjects];
    for (const [window, stats] of stored) {
      if (!isInScoredSpan(window, nowWindow)) continue;
      mergeWindowCounts(span, stats);
      objectsRead.push(stats.readObjects);
    }
    for (const [window, entry] of held) {
      if (!isInScoredSpan(window, nowWindow)) continue;
      mergeWindowCounts(span, entry.stats);
      objectsRead.push(entry.stats.readObjects);
    }
    for (const event of fresh) if (isInScoredSpan(windowOf(event), nowWindow)) countEvent(span, event);
    span.distinctObjects = countDistinctMembers(objectsRead, SET_CAPS.objects);
    if (span.deletedObjects.size === 0) return { span, readThenDeleted: 0 };

    const reads = new Set<string>();
    for (const stats of stored.values()) for (const hash of stats.readObjects) reads.add(hash);
    for (const [window, entry] of held) {
      // A held window the stored ones would have held instead is matched only within their range.
      if (window < spanHeldFrom && (window < fromWindow || window > nowWindow)) continue;
      for (const hash of entry.stats.readObjects) reads.add(hash);
    }
    for (const event of fresh) {
      if (event.operation === 'get' && event.errorCode === undefined && event.objectHash) reads.add(event.objectHash);
    }
    return { span, readThenDeleted: countReadThenDeleted(span, reads) };
  }

  /**
   * Distinct objects the actor read over the last hour and day: its stored windows, its pending
   * calm counts and the batch. Read back only for an unfamiliar actor that read in this batch.
   */
  async function readHistoryOf(actor: string, nowWindow: number, fresh: readonly AccessEvent[]): Promise<ReadHistory> {
    const stored = await windowCache.read(actor, nowWindow - Math.ceil(READ_HISTORY_MS / windowMs) + 1, nowWindow);
    const held = [...(pending.get(actor)?.values() ?? [])].map((entry) => entry.stats);
    return summarizeReadHistory([...stored, ...held], fresh, nowWindow, windowMs);
  }

  function buildEvidence(span: WindowStats, events: readonly AccessEvent[]): Evidence {
    const pick = (values: Iterable<string | undefined>, limit = MAX_EVIDENCE_ITEMS): string[] => {
      const unique = new Set<string>();
      for (const value of values) {
        if (value !== undefined && unique.size < limit) unique.add(value);
      }
      return [...unique];
    };
    return {
      gets: span.gets,
      deletes: span.deletes + span.versionDeletes,
      lists: span.lists,
      errors: span.errors,
      bytesOut: span.bytesOut,
      distinctObjects: countDistinctObjects(span),
      buckets: [...span.buckets].slice(0, MAX_EVIDENCE_ITEMS),
      sampleObjects: pick(events.map((e) => (e.objectKey ? `${e.bucket}/${e.objectKey}` : undefined))),
      sourceIps: pick(events.map((e) => e.sourceIp)),
      userAgents: pick(events.map((e) => e.userAgent)),
      accessKeyIds: sessionKeys.of(span.actor) ?? pick(events.map((e) => e.identity.accessKeyId), MAX_EVIDENCE_KEYS),
    };
  }

  async function recordDecision(
    identity: Identity,
    actorEvents: readonly AccessEvent[],
    span: WindowStats,
    score: Score,
    decision: Decision,
    decisionTime: number,
  ): Promise<IncidentChange | undefined> {
    if (decision.action === 'none') return undefined;
    const evidence = buildEvidence(span, actorEvents);
    const candidate: Incident = {
      incidentId: makeIncidentId(identity.actor, decisionTime),
      actor: identity.actor,
      principal: identity.principal,
      identityType: identity.type,
      accessKeyId: identity.accessKeyId,
      identity,
      status: 'open',
      action: decision.action,
      blockedBy: decision.blockedBy,
      score: score.score,
      reasons: score.reasons,
      firstEventTime: span.firstEventTime,
      lastEventTime: span.lastEventTime,
      decisionTime,
      firstDecisionTime: decisionTime,
      updatedTime: decisionTime,
      evidence,
      revision: 1,
    };
    const cooldownMs = policy.cooldownMinutes * 60_000;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const { incident, created } = await store.openIncident(candidate, cooldownMs);
      if (created) return { kind: 'created', incident };
      const escalated = incident.action === 'page' && decision.action === 'contain';
      // A page whose actor later reaches the contain threshold where the policy blocks containment
      // (protected, own role, dry run…) records that too, so that the next page says why.
      const blocked = incident.action === 'page' && incident.blockedBy === undefined && decision.blockedBy !== undefined;
      const raised = escalated || blocked;
      const next: Incident = {
        ...incident,
        score: raised ? score.score : incident.score,
        // The reasons stay those of the decision that set the action; later activity is evidence.
        reasons: raised ? score.reasons : incident.reasons,
        firstEventTime: Math.min(incident.firstEventTime, span.firstEventTime),
        // What the responder compares with its containment time: activity after it pages again.
        lastEventTime: Math.max(incident.lastEventTime ?? Number.NEGATIVE_INFINITY, span.lastEventTime),
        updatedTime: decisionTime,
        evidence: mergeEvidence(incident.evidence, evidence),
        revision: incident.revision + 1,
        ...(escalated ? { action: 'contain' as const, blockedBy: undefined, decisionTime } : {}),
        ...(blocked ? { blockedBy: decision.blockedBy, decisionTime } : {}),
      };
      if (await store.updateIncident(next)) return { kind: raised ? 'escalated' : 'updated', incident: next };
    }
    throw new StoreError(`incident of ${identity.actor} kept changing under ${MAX_WRITE_ATTEMPTS} attempts`);
  }

  return {
    policy,
    settings,
    windowMs,

    /**
     * Counts, scores and decides one batch whose decision is taken at `decisionTime` (the end of
     * the batch window). Events the store already counted (redeliveries) are dropped first. With
     * `learnOnly` it only counts and learns (the replay warm-up).
     */
    async processBatch(
      events: readonly AccessEvent[],
      decisionTime: number,
      mode: { learnOnly?: boolean } = {},
    ): Promise<BatchOutcome> {
      const outcome: BatchOutcome = { events: events.length, fresh: 0, actors: 0, verdicts: [], changes: [] };
      const nowWindow = Math.floor((decisionTime - 1) / windowMs);
      windowCache.at(decisionTime);
      const byActor = new Map<string, AccessEvent[]>();
      for (const event of events) appendTo(byActor, event.identity.actor, event);
      const baselineIds = new Set<string>();
      for (const actorEvents of byActor.values()) {
        const identity = (actorEvents[0] as AccessEvent).identity;
        baselineIds.add(identity.principal);
        if (identity.longTermKey !== undefined) baselineIds.add(identity.longTermKey);
      }
      const [baselines, tuning] = mode.learnOnly
        ? [new Map<string, Baseline>(), undefined]
        : await Promise.all([store.getBaselines([...baselineIds]), store.getTuning()]);

      const calm: AccessEvent[] = [];
      for (const [actor, actorEvents] of byActor) {
        const identity = (actorEvents[actorEvents.length - 1] as AccessEvent).identity;
        const hasDeletes = actorEvents.some((e) => e.operation === 'delete' || e.operation === 'delete-version');
        const oldest = actorEvents.reduce((min, event) => Math.min(min, windowOf(event)), nowWindow);
        const from = Math.min(oldest, nowWindow - (hasDeletes ? horizonWindows : 2) + 1);
        const stored = new Map<number, StoredWindow>();
        // An actor calm here (events held) is read from the cache; any other afresh, since what
        // other containers wrote of it may decide it.
        const read = pending.has(actor) ? windowCache.read(actor, from, nowWindow) : windowCache.readAfresh(actor, from, nowWindow);
        for (const window of await read) stored.set(window.window, window);
        const held = pending.get(actor);
        const fresh = actorEvents.filter(
          (event) => !stored.get(windowOf(event))?.eventIds.has(event.idHash) && held?.get(windowOf(event))?.events.has(event.eventId) !== true,
        );
        if (fresh.length === 0) continue;
        sessionKeys.note(actor, fresh);
        outcome.fresh += fresh.length;
        outcome.actors++;
        if (mode.learnOnly) {
          holdCalm(fresh);
          appendAll(calm, fresh);
          continue;
        }
        const { span, readThenDeleted } = recentActivity(actor, identity, nowWindow, stored, fresh, from);
        const who = {
          identity,
          principal: baselines.get(identity.principal),
          key: identity.longTermKey === undefined ? undefined : baselines.get(identity.longTermKey),
          now: decisionTime,
          settings,
        };
        const keyCreatedAt = options.keyCreatedAt !== undefined && needsKeyCreationDate(who) ? await options.keyCreatedAt(identity) : undefined;
        const reading = span.gets > 0 && isUnfamiliarIdentity({ ...who, keyCreatedAt });
        const history = reading ? await readHistoryOf(actor, nowWindow, fresh) : undefined;
        const score = scoreAgainstBaseline({ ...who, span, readThenDeleted, fleet: tuning?.fleet, keyCreatedAt, history });
        // The weekly tuning may have moved the page threshold toward its target page count.
        const tuned = tuning?.thresholds ? { ...policy, pageThreshold: tuning.thresholds.pageThreshold } : policy;
        // Records nobody vouched for (a log file without its digest) page, never contain.
        const decision = decideAction(score, identity, fresh.some((event) => event.unverified === true) ? { ...tuned, unverifiedEvidence: true } : tuned);
        outcome.verdicts.push({ actor, score, decision });
        // The decision is recorded before the counts: if the window write then fails, the
        // redelivered events are scored again and meet their incident, instead of being
        // recognised as counted and their decision lost.
        const change = await recordDecision(identity, fresh, span, score, decision, decisionTime);
        if (change !== undefined) outcome.changes.push(change);
        if (decision.action === 'none' && score.reasons.length === 0) {
          holdCalm(fresh);
        } else {
          await writeActorNow(actor, fresh, stored);
        }
        if (decision.action === 'none') appendAll(calm, fresh);
      }
      if (calm.length > 0) await store.recordSightings([...collectSightings(calm).values()]);
      // The window before the current one is still scored: its hour's item waits for the next.
      spanHeldFrom = Math.max(Math.min(spanHeldFrom, oldestHeldInBatch), nowWindow - 1);
      oldestHeldInBatch = Number.POSITIVE_INFINITY;
      await flushPending(itemStartOf(nowWindow - 1));
      return outcome;
    },

    /** Writes every pending calm window now (end of a replay, or a container shutting down). */
    async flush(): Promise<void> {
      spanHeldFrom = Number.POSITIVE_INFINITY;
      await flushPending(Number.POSITIVE_INFINITY);
    },
  };
}

export type Detector = ReturnType<typeof createDetector>;

/**
 * The access keys each session actor went through, in the order first used: a console session's
 * list and its reads minutes later carry different keys, and the incident names them all. Held
 * for the detector's life (a replay, a Lambda container), for the most recent `maxActors` sessions.
 */
class SessionKeys {
  private readonly keys = new Map<string, string[]>();

  constructor(private readonly maxActors = 20_000) {}

  note(actor: string, events: readonly AccessEvent[]): void {
    for (const { identity } of events) {
      const key = identity.accessKeyId;
      if (key === undefined || key === actor) continue;
      let used = this.keys.get(actor);
      if (used === undefined) {
        if (this.keys.size >= this.maxActors) this.keys.delete(this.keys.keys().next().value as string);
        this.keys.set(actor, (used = []));
      }
      if (used.length < MAX_EVIDENCE_KEYS && !used.includes(key)) used.push(key);
    }
  }

  /** The keys of a session actor; undefined for an actor that is its key. */
  of(actor: string): string[] | undefined {
    const used = this.keys.get(actor);
    return used === undefined ? undefined : [...used];
  }
}

/**
 * Appends one by one: `push(...items)` passes every item as an argument on the stack, and a batch
 * of a few hundred thousand events overflows it (`RangeError: Maximum call stack size exceeded`).
 */
function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

function mergeEvidence(previous: Evidence, current: Evidence): Evidence {
  const union = (a: string[], b: string[], limit = MAX_EVIDENCE_ITEMS): string[] => [...new Set([...a, ...b])].slice(0, limit);
  return {
    gets: Math.max(previous.gets, current.gets),
    deletes: Math.max(previous.deletes, current.deletes),
    lists: Math.max(previous.lists, current.lists),
    errors: Math.max(previous.errors, current.errors),
    bytesOut: Math.max(previous.bytesOut, current.bytesOut),
    distinctObjects: Math.max(previous.distinctObjects, current.distinctObjects),
    buckets: union(previous.buckets, current.buckets),
    sampleObjects: union(previous.sampleObjects, current.sampleObjects),
    sourceIps: union(previous.sourceIps, current.sourceIps),
    userAgents: union(previous.userAgents, current.userAgents),
    accessKeyIds: union(previous.accessKeyIds ?? [], current.accessKeyIds ?? [], MAX_EVIDENCE_KEYS),
  };
}
