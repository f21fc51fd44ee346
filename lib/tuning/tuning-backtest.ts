import type { Baseline, VolumeBaseline } from '../domain/baseline.ts';
import type { Incident } from '../domain/incident.ts';
import { decideAction, type Action, type Policy } from '../domain/policy.ts';
import { scoreAgainstBaseline, type ScoringSettings } from '../domain/scoring.ts';
import type { Backtest, BacktestCounts, ThresholdChange, TuningThresholds } from '../domain/tuning-run.ts';
import {
  countDistinctObjects,
  countReadThenDeleted,
  createWindowStats,
  mergeWindowStats,
  windowsInHorizon,
  type WindowStats,
} from '../domain/window-counter.ts';

/** The baselines a backtest scores against. */
export interface ScoringParameters {
  principals: ReadonlyMap<string, Baseline>;
  keys: ReadonlyMap<string, Baseline>;
  fleet?: VolumeBaseline;
}

export interface ScoredWindow {
  window: number;
  score: number;
  action: Action;
  span: WindowStats;
}

/**
 * The span of a window and its predecessor. A window whose object set was compacted (the
 * in-memory store keeps only the count of older windows) contributes placeholders, so that the
 * span's distinct count is the sum: an upper bound of the union the detector saw.
 */
export function spanOf(current: WindowStats, previous: WindowStats | undefined): WindowStats {
  const span = createWindowStats(current.actor, current.principal, current.identityType, current.window);
  for (const stats of previous === undefined ? [current] : [previous, current]) {
    mergeWindowStats(span, stats);
    const missing = countDistinctObjects(stats) - stats.readObjects.size;
    for (let i = 0; i < missing; i++) span.readObjects.add(`compacted:${stats.window}:${i}`);
  }
  return span;
}

/**
 * Scores each window of an actor with the previous one as its span, as the detector scores an
 * actor at a batch's end, against the given baselines. `now` is the window's end, so that an actor
 * first seen during the week is as unfamiliar in the backtest as it was then.
 */
export function scoreActorWeek(
  windows: readonly WindowStats[],
  parameters: ScoringParameters,
  policy: Policy,
  settings: ScoringSettings,
  windowMs: number,
): ScoredWindow[] {
  const byWindow = new Map(windows.map((w) => [w.window, w]));
  const horizon = windowsInHorizon(windowMs);
  return windows.map((current) => {
    const span = spanOf(current, byWindow.get(current.window - 1));
    const reads = new Set<string>();
    for (let w = current.window - horizon + 1; w <= current.window; w++) for (const hash of byWindow.get(w)?.readObjects ?? []) reads.add(hash);
    const readThenDeleted = countReadThenDeleted(span, reads);
    const longTermKey = current.identityType === 'iam-user-key' && current.actor.startsWith('AKIA') ? current.actor : undefined;
    const identity = { type: current.identityType, principal: current.principal, actor: current.actor, longTermKey };
    const score = scoreAgainstBaseline({
      identity,
      span,
      readThenDeleted,
      principal: parameters.principals.get(current.principal),
      key: longTermKey === undefined ? undefined : parameters.keys.get(longTermKey),
      fleet: parameters.fleet,
      now: (current.window + 1) * windowMs,
      settings,
    });
    return { window: current.window, score: score.score, action: decideAction(score, identity, policy).action, span };
  });
}

/** The action at a page threshold: the policy's verdict above it (page, contain, or a blocked contain) stands. */
export const actionAt = (window: ScoredWindow, thresholds: TuningThresholds): Action => {
  if (window.score < thresholds.pageThreshold) return 'none';
  return window.action === 'none' ? 'page' : window.action;
};

/** Incidents the detector would have opened: repeats within the cool-down update the open one (and may escalate it). */
export function countIncidents(scored: readonly ScoredWindow[], windowMs: number, cooldownMs: number, thresholds: TuningThresholds): BacktestCounts {
  const counts: BacktestCounts = { paged: 0, contained: 0 };
  let open: { action: Action; updated: number } | undefined;
  const close = (): void => {
    if (open === undefined) return;
    if (open.action === 'contain') counts.contained++;
    else counts.paged++;
    open = undefined;
  };
  for (const window of scored) {
    const action = actionAt(window, thresholds);
    if (action === 'none') continue;
    const time = (window.window + 1) * windowMs;
    if (open !== undefined && time - open.updated < cooldownMs) {
      open.updated = time;
      if (action === 'contain') open.action = 'contain';
      continue;
    }
    close();
    open = { action, updated: time };
  }
  close();
  return counts;
}

/** Every actor's incidents at the given thresholds, summed. */
export function tally(scored: ReadonlyMap<string, readonly ScoredWindow[]>, windowMs: number, cooldownMs: number, thresholds: TuningThresholds): BacktestCounts {
  const total: BacktestCounts = { paged: 0, contained: 0 };
  for (const windows of scored.values()) {
    const counts = countIncidents(windows, windowMs, cooldownMs, thresholds);
    total.paged += counts.paged;
    total.contained += counts.contained;
  }
  return total;
}

/** Scores last week's windows of every actor under the given parameters. */
export function scoreWeek(lastWeek: ReadonlyMap<string, WindowStats[]>, parameters: ScoringParameters, policy: Policy, settings: ScoringSettings, windowMs: number): Map<string, ScoredWindow[]> {
  const scored = new Map<string, ScoredWindow[]>();
  for (const [actor, windows] of lastWeek) {
    const sorted = [...windows].sort((a, b) => a.window - b.window);
    scored.set(actor, scoreActorWeek(sorted, parameters, policy, settings, windowMs));
  }
  return scored;
}

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

/**
 * The page threshold one step towards the target number of pages a week, judged on last week
 * under the new baselines; within its bounds and at least 10 below the contain threshold.
 * Ties keep the threshold in force, then the higher one.
 */
export function choosePageThreshold(
  scoredNew: ReadonlyMap<string, readonly ScoredWindow[]>,
  old: TuningThresholds,
  tuning: { target: number; step: number; bounds: { min: number; max: number }; windowMs: number; cooldownMs: number },
): ThresholdChange {
  const upper = Math.min(tuning.bounds.max, old.containThreshold - 10);
  const candidates = [...new Set([old.pageThreshold - tuning.step, old.pageThreshold, old.pageThreshold + tuning.step].map((t) => clamp(t, tuning.bounds.min, upper)))];
  const tried = candidates.map((pageThreshold) => {
    const counts = tally(scoredNew, tuning.windowMs, tuning.cooldownMs, { ...old, pageThreshold });
    return { pageThreshold, incidents: counts.paged + counts.contained };
  });
  const best = [...tried].sort(
    (a, b) =>
      Math.abs(a.incidents - tuning.target) - Math.abs(b.incidents - tuning.target) ||
      Number(b.pageThreshold === old.pageThreshold) - Number(a.pageThreshold === old.pageThreshold) ||
      b.pageThreshold - a.pageThreshold,
  )[0];
  return { old, new: { ...old, pageThreshold: best?.pageThreshold ?? old.pageThreshold }, targetPagesPerWeek: tuning.target, tried };
}

const worst = (scored: readonly ScoredWindow[], thresholds: TuningThresholds): Action =>
  scored.reduce<Action>((acc, window) => {
    const action = actionAt(window, thresholds);
    return action === 'contain' || acc === 'contain' ? 'contain' : action === 'page' || acc === 'page' ? 'page' : 'none';
  }, 'none');

/** The backtest of last week: what happened, what the old and the new parameters would have done, and who changes. */
export function backtestWeek(input: {
  scoredOld: ReadonlyMap<string, readonly ScoredWindow[]>;
  scoredNew: ReadonlyMap<string, readonly ScoredWindow[]>;
  lastWeek: ReadonlyMap<string, WindowStats[]>;
  thresholds: ThresholdChange;
  incidents: readonly Incident[];
  from: number;
  to: number;
  windowMs: number;
  cooldownMs: number;
}): Backtest {
  const weekIncidents = input.incidents.filter((i) => i.firstDecisionTime >= input.from && i.firstDecisionTime < input.to);
  const changedActors: Backtest['changedActors'] = [];
  for (const [actor, oldScored] of input.scoredOld) {
    const before = worst(oldScored, input.thresholds.old);
    const after = worst(input.scoredNew.get(actor) ?? [], input.thresholds.new);
    if (before !== after) changedActors.push({ actor, principal: input.lastWeek.get(actor)?.[0]?.principal ?? actor, old: before, new: after });
  }
  return {
    from: input.from,
    to: input.to,
    windows: [...input.lastWeek.values()].reduce((sum, windows) => sum + windows.length, 0),
    actors: input.lastWeek.size,
    actual: {
      paged: weekIncidents.filter((i) => i.action === 'page').length,
      contained: weekIncidents.filter((i) => i.action === 'contain').length,
      benign: weekIncidents.filter((i) => i.verdict === 'benign').length,
      confirmed: weekIncidents.filter((i) => i.verdict === 'confirmed').length,
    },
    old: tally(input.scoredOld, input.windowMs, input.cooldownMs, input.thresholds.old),
    new: tally(input.scoredNew, input.windowMs, input.cooldownMs, input.thresholds.new),
    changedActors,
  };
}
