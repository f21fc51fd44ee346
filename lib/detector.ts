import type { AccessEvent } from './access-event.ts';
import { collectSightings, type Baseline } from './baseline.ts';
import { makeIncidentId, type Evidence, type Incident } from './incident.ts';
import { decideAction, DEFAULT_POLICY, type Decision, type Policy } from './policy.ts';
import { DEFAULT_SCORING, scoreAgainstBaseline, type Score, type ScoringSettings } from './scoring.ts';
import type { DetectorStore } from './store.ts';
import { aggregateBatch, createWindowStats, mergeWindowStats, type WindowStats } from './window-counter.ts';

export interface DetectorOptions {
  store: DetectorStore;
  policy?: Partial<Policy>;
  scoring?: Partial<ScoringSettings>;
  /** Length of a counting window; the score looks at the current and the previous window. */
  windowMs?: number;
  /** How far back a delete is matched against the actor's reads (the extortion pattern). */
  readThenDeleteHorizonMs?: number;
}

/** The verdict on one actor of a batch. */
export interface ActorVerdict {
  actor: string;
  score: Score;
  decision: Decision;
}

/** An incident the batch created or changed; `escalated` means a page became a containment. */
export interface IncidentChange {
  kind: 'created' | 'escalated' | 'updated';
  incident: Incident;
}

export interface BatchOutcome {
  events: number;
  actors: number;
  verdicts: ActorVerdict[];
  changes: IncidentChange[];
}

export const DEFAULT_WINDOW_MS = 300_000;
const MAX_EVIDENCE_ITEMS = 5;

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
  const horizonWindows = Math.max(2, Math.ceil((options.readThenDeleteHorizonMs ?? 3_600_000) / windowMs));

  async function learn(events: readonly AccessEvent[]): Promise<void> {
    await store.recordSightings([...collectSightings(events).values()]);
  }

  async function recentActivity(
    actor: string,
    nowWindow: number,
    touched: ReadonlyMap<number, WindowStats>,
    template: WindowStats,
  ): Promise<{ span: WindowStats; readThenDeleted: number }> {
    const hasDeletes = [...touched.values()].some((w) => w.deletedObjects.size > 0);
    const from = nowWindow - (hasDeletes ? horizonWindows : 2) + 1;
    const windows = new Map<number, WindowStats>();
    const missing = [...Array(nowWindow - from + 1).keys()].some((i) => !touched.has(from + i));
    if (missing) for (const w of await store.getWindows(actor, from, nowWindow)) windows.set(w.window, w);
    for (const [window, stats] of touched) if (window >= from) windows.set(window, stats);

    const span = createWindowStats(actor, template.principal, template.identityType, nowWindow);
    const reads = new Set<string>();
    for (const [window, stats] of windows) {
      if (window > nowWindow - 2) mergeWindowStats(span, stats);
      if (hasDeletes) for (const hash of stats.readObjects) reads.add(hash);
    }
    let readThenDeleted = 0;
    for (const hash of span.deletedObjects) if (reads.has(hash)) readThenDeleted++;
    return { span, readThenDeleted };
  }

  function buildEvidence(span: WindowStats, events: readonly AccessEvent[]): Evidence {
    const pick = (values: Iterable<string | undefined>): string[] => {
      const unique = new Set<string>();
      for (const value of values) {
        if (value !== undefined && unique.size < MAX_EVIDENCE_ITEMS) unique.add(value);
      }
      return [...unique];
    };
    return {
      gets: span.gets,
      deletes: span.deletes + span.versionDeletes,
      lists: span.lists,
      errors: span.errors,
      bytesOut: span.bytesOut,
      distinctObjects: span.readObjects.size,
      buckets: [...span.buckets].slice(0, MAX_EVIDENCE_ITEMS),
      sampleObjects: pick(events.map((e) => (e.objectKey ? `${e.bucket}/${e.objectKey}` : undefined))),
      sourceIps: pick(events.map((e) => e.sourceIp)),
      userAgents: pick(events.map((e) => e.userAgent)),
    };
  }

  async function recordDecision(
    actorEvents: readonly AccessEvent[],
    span: WindowStats,
    score: Score,
    decision: Decision,
    decisionTime: number,
  ): Promise<IncidentChange | undefined> {
    if (decision.action === 'none') return undefined;
    const last = actorEvents[actorEvents.length - 1] as AccessEvent;
    const identity = last.identity;
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
      decisionTime,
      firstDecisionTime: decisionTime,
      updatedTime: decisionTime,
      evidence,
      revision: 1,
    };
    const cooldownMs = policy.cooldownMinutes * 60_000;
    for (let attempt = 0; attempt < 5; attempt++) {
      const { incident, created } = await store.openIncident(candidate, cooldownMs);
      if (created) return { kind: 'created', incident };
      const escalated = incident.action === 'page' && decision.action === 'contain';
      const next: Incident = {
        ...incident,
        score: Math.max(incident.score, score.score),
        reasons: score.score >= incident.score ? score.reasons : incident.reasons,
        firstEventTime: Math.min(incident.firstEventTime, span.firstEventTime),
        updatedTime: decisionTime,
        evidence: mergeEvidence(incident.evidence, evidence),
        revision: incident.revision + 1,
        ...(escalated ? { action: 'contain' as const, blockedBy: undefined, decisionTime } : {}),
      };
      if (await store.updateIncident(next)) return { kind: escalated ? 'escalated' : 'updated', incident: next };
    }
    return undefined;
  }

  return {
    policy,
    settings,
    windowMs,

    /**
     * Counts, scores and decides one batch whose decision is taken at `decisionTime` (the end of
     * the batch window). With `learnOnly` it only counts and learns (the replay warm-up).
     */
    async processBatch(
      events: readonly AccessEvent[],
      decisionTime: number,
      mode: { learnOnly?: boolean } = {},
    ): Promise<BatchOutcome> {
      const outcome: BatchOutcome = { events: events.length, actors: 0, verdicts: [], changes: [] };
      if (events.length === 0) return outcome;
      const deltas = aggregateBatch(events, windowMs);
      const totals = await store.addWindows([...deltas.values()]);
      if (mode.learnOnly) {
        await learn(events);
        return outcome;
      }

      const byActor = new Map<string, AccessEvent[]>();
      for (const event of events) {
        const list = byActor.get(event.identity.actor);
        if (list === undefined) byActor.set(event.identity.actor, [event]);
        else list.push(event);
      }
      const touchedByActor = new Map<string, Map<number, WindowStats>>();
      for (const stats of totals) {
        let touched = touchedByActor.get(stats.actor);
        if (touched === undefined) touchedByActor.set(stats.actor, (touched = new Map()));
        touched.set(stats.window, stats);
      }
      const baselineIds = new Set<string>();
      for (const actorEvents of byActor.values()) {
        const identity = (actorEvents[0] as AccessEvent).identity;
        baselineIds.add(identity.principal);
        if (identity.longTermKey !== undefined) baselineIds.add(identity.longTermKey);
      }
      const [baselines, tuning] = await Promise.all([store.getBaselines([...baselineIds]), store.getTuning()]);

      const nowWindow = Math.floor((decisionTime - 1) / windowMs);
      const calm: AccessEvent[] = [];
      outcome.actors = byActor.size;
      for (const [actor, actorEvents] of byActor) {
        const identity = (actorEvents[actorEvents.length - 1] as AccessEvent).identity;
        const touched = touchedByActor.get(actor) ?? new Map<number, WindowStats>();
        const template = touched.values().next().value as WindowStats;
        const { span, readThenDeleted } = await recentActivity(actor, nowWindow, touched, template);
        const score = scoreAgainstBaseline({
          identity,
          span,
          readThenDeleted,
          principal: baselines.get(identity.principal) as Baseline | undefined,
          key: identity.longTermKey === undefined ? undefined : baselines.get(identity.longTermKey),
          fleet: tuning?.fleet,
          now: decisionTime,
          settings,
        });
        const decision = decideAction(score, identity, policy);
        outcome.verdicts.push({ actor, score, decision });
        const change = await recordDecision(actorEvents, span, score, decision, decisionTime);
        if (change !== undefined) outcome.changes.push(change);
        if (decision.action === 'none') calm.push(...actorEvents);
      }
      if (calm.length > 0) await learn(calm);
      return outcome;
    },
  };
}

export type Detector = ReturnType<typeof createDetector>;

function mergeEvidence(previous: Evidence, current: Evidence): Evidence {
  const union = (a: string[], b: string[]): string[] => [...new Set([...a, ...b])].slice(0, MAX_EVIDENCE_ITEMS);
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
  };
}
