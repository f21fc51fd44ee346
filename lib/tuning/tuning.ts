import type { Baseline } from '../domain/baseline.ts';
import { KeysentryError } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import { DEFAULT_POLICY, type Policy } from '../domain/policy.ts';
import { DEFAULT_SCORING, type ScoringSettings } from '../domain/scoring.ts';
import type { BaselineChange, TunedFields, TuningOptions, TuningOutcome, TuningReport, TuningRun, TuningSummary, TuningThresholds } from '../domain/tuning-run.ts';
import type { DetectorStore, TuningState } from '../store/store.ts';
import { backtestWeek, choosePageThreshold, scoreWeek, type ScoringParameters } from './tuning-backtest.ts';
import { ChangeLog, familiarMsOf, forgetAndPromote, logChanges, tuneFields } from './tuning-baselines.ts';
import { chartPrincipals, findNoisiest } from './tuning-chart-data.ts';
import { sampleWindows, summarize, type WindowSample } from './tuning-samples.ts';
import { judgeIncidents, unlearnSuspects, type Unlearning } from './tuning-suspicion.ts';
import { DAY_MS, WEEK_MS } from '../domain/duration.ts';

export type { TuningThresholds, TuningOptions, TunedFields, ChangeReason, BaselineChange, BacktestCounts, Backtest, ThresholdChange, NoisyActor, ChartSeries, ChartData, TuningReport, TuningRun, TuningRunSummary, TuningSummary, TuningOutcome } from '../domain/tuning-run.ts';


/** The tuning has no stored windows to learn from in its weeks: it refuses rather than learn nothing and write a version. */
export class StaleDataError extends KeysentryError {}

/** A run's time frame and settings, worked out once from `now` and the options. */
export interface TuningPlan {
  now: number;
  windowMs: number;
  weeks: number;
  fromWindow: number;
  toWindow: number;
  weekFrom: number;
  learnedFrom: number;
  forgetBefore: number;
  policy: Policy;
  settings: ScoringSettings;
  cooldownMs: number;
}

/** Step 1: the run's time frame (the kept weeks, last week) and its policy and scoring settings. */
export function planTuning(now: number, options: TuningOptions): TuningPlan {
  const { windowMs } = options;
  const weeks = Math.max(5, options.weeks ?? 5);
  const policy: Policy = { ...DEFAULT_POLICY, ...options.policy };
  return {
    now,
    windowMs,
    weeks,
    fromWindow: Math.floor((now - weeks * WEEK_MS) / windowMs),
    toWindow: Math.floor(now / windowMs),
    weekFrom: Math.floor((now - WEEK_MS) / windowMs),
    learnedFrom: now - weeks * WEEK_MS,
    forgetBefore: now - (options.forgetAfterDays ?? 90) * DAY_MS,
    policy,
    settings: { ...DEFAULT_SCORING, ...options.scoring },
    cooldownMs: policy.cooldownMinutes * 60_000,
  };
}

/** What the store holds that a run reads besides the windows. */
export interface TuningInputs {
  state?: TuningState;
  runVersions: number[];
  baselines: Map<string, Baseline>;
  incidents: Incident[];
}

/** Step 2: the tuning in force, the kept versions, every baseline and every incident. */
export async function loadTuningInputs(store: DetectorStore): Promise<TuningInputs> {
  const [state, runs, incidents] = await Promise.all([store.getTuning(), store.listTuningRuns(), store.listIncidents()]);
  const baselines = new Map<string, Baseline>();
  for await (const baseline of store.listBaselines()) baselines.set(baseline.id, baseline);
  return { state, runVersions: runs.map((run) => run.version), baselines, incidents };
}

const isoDay = (time: number): string => new Date(time).toISOString().slice(0, 10);

/**
 * Step 4: refuses a run with no stored window in its weeks (data older than the kept weeks, or
 * none yet): it would learn nothing and still write a version. Says what the newest activity is
 * and the `--as-of` that tunes on it.
 */
export function refuseStaleData(sample: WindowSample, baselines: ReadonlyMap<string, Baseline>, plan: TuningPlan): void {
  if (sample.windowsInRange > 0) return;
  const newest = Math.max(0, ...[...baselines.values()].map((baseline) => baseline.lastSeen));
  const span = `the ${plan.weeks} weeks before ${isoDay(plan.now)}`;
  if (newest === 0) {
    throw new StaleDataError(`no stored windows in ${span}, nor any baseline: nothing to learn from, nothing written. Replay logs into the tables first (keysentry replay --store dynamodb …)`);
  }
  throw new StaleDataError(
    `no stored windows in ${span}; the newest activity is from ${isoDay(newest)}: nothing to learn from, nothing written. ` +
      `To tune on that data as the weekly run would have: keysentry tune --as-of ${isoDay(newest + DAY_MS)}`,
  );
}

/** The baselines as the run leaves them: unlearned suspects taken out or stripped, tuned fields applied. */
function tunedBaselines(baselines: ReadonlyMap<string, Baseline>, next: ReadonlyMap<string, TunedFields>, unlearning: Unlearning): Map<string, Baseline> {
  const result = new Map(baselines);
  for (const baseline of unlearning.deleted) result.delete(baseline.id);
  for (const baseline of unlearning.stripped) result.set(baseline.id, baseline);
  for (const [id, fields] of next) {
    const baseline = result.get(id);
    if (baseline === undefined) continue;
    const { volume: _volume, vouchedAt: _vouchedAt, ...rest } = baseline;
    result.set(id, { ...rest, ...fields });
  }
  return result;
}

const splitByKind = (baselines: ReadonlyMap<string, Baseline>, fleet: ScoringParameters['fleet']): ScoringParameters => ({
  principals: new Map([...baselines].filter(([, baseline]) => baseline.kind === 'principal')),
  keys: new Map([...baselines].filter(([, baseline]) => baseline.kind === 'key')),
  fleet,
});

const relativeChange = (change: BaselineChange): number =>
  change.reasons.includes('widened-by-verdict') || change.reasons.includes('attack-excluded') || change.reasons.includes('unlearned')
    ? Number.POSITIVE_INFINITY
    : Math.abs((change.newP99 ?? 0) - (change.oldP99 ?? 0)) / Math.max(1, change.oldP99 ?? 0);

/**
 * Step 8: writes the run: the version first (so a rollback can undo the rest), the tuned fields,
 * the forgotten and unlearned baselines deleted (stripped ones put back without what the
 * incident taught), the tuning state; then drops versions beyond `keepRuns` and windows older
 * than the kept weeks.
 */
async function saveRun(store: DetectorStore, run: TuningRun, next: Map<string, TunedFields>, unlearning: Unlearning, plan: TuningPlan, keepRuns: number, runVersions: readonly number[]): Promise<void> {
  await store.saveTuningRun(run);
  const deleted = new Set(unlearning.deleted.map((baseline) => baseline.id));
  await store.setTunedFields(new Map([...next].filter(([id]) => !deleted.has(id))));
  const removed = [...run.forgotten, ...unlearning.deleted, ...unlearning.stripped].map((baseline) => baseline.id);
  if (removed.length > 0) await store.deleteBaselines(removed);
  if (unlearning.stripped.length > 0) {
    await store.restoreBaselines(unlearning.stripped.map((baseline) => ({ ...baseline, ...next.get(baseline.id) })));
  }
  const state: TuningState = { version: run.version, tunedAt: run.tunedAt, ...(run.fleet === undefined ? {} : { fleet: run.fleet }), thresholds: run.thresholds };
  await store.saveTuning(state);
  const stale = [...runVersions, run.version].sort((a, b) => b - a).slice(keepRuns);
  for (const version of stale) await store.deleteTuningRun(version);
  await store.pruneWindows(plan.fromWindow);
}

/**
 * The weekly tuning run, as named steps: (1) plan the time frame; (2) load the tuning in force,
 * baselines and incidents; (3) judge the incidents — any incident without a `benign` verdict
 * leaves its actor's windows out of every baseline and the fleet's, a `confirmed` one all of the
 * actor's windows, and neither is ever promoted, widened or vouched for; (4) sample the stored
 * windows of the kept weeks (at least 5), refusing with `StaleDataError` when there are none;
 * (5) forget baselines gone `forgetAfterDays`, promote the newly familiar, and unlearn what the
 * suspects' first minutes taught (a baseline born in an unresolved incident is deleted, so the
 * same key a week later is as unfamiliar as the first time); (6) relearn each principal's volume
 * quantiles and widen it for each benign verdict; (7) backtest last week under the old and the
 * new parameters, move the page threshold one step towards `targetPagesPerWeek`, and chart the
 * week per principal; (8) save the run as a new version (the previous one stays, for
 * `rollbackTuning`).
 */
export async function runWeeklyTuning(store: DetectorStore, now: number, options: TuningOptions): Promise<TuningOutcome> {
  const plan = planTuning(now, options);
  const { state, runVersions, baselines, incidents } = await loadTuningInputs(store);
  const suspicion = judgeIncidents(incidents, plan.windowMs, plan.learnedFrom);
  const sample = await sampleWindows(store, plan, suspicion);
  refuseStaleData(sample, baselines, plan);

  const { forgotten, promoted } = forgetAndPromote(baselines, sample, suspicion, {
    now,
    forgetBefore: plan.forgetBefore,
    lastRunAt: state?.tunedAt ?? now - WEEK_MS,
    familiarMs: familiarMsOf(plan.settings.unfamiliarDays),
  });
  const forgottenIds = new Set(forgotten.map((baseline) => baseline.id));
  const kept = new Map([...baselines].filter(([id]) => !forgottenIds.has(id)));
  const unlearning = unlearnSuspects(kept, suspicion, plan.windowMs);
  const log = new ChangeLog(baselines);
  const next = tuneFields(kept, sample, suspicion, forgottenIds, log, promoted);
  logChanges(log, baselines, next, sample, { promoted, forgotten, unlearned: [...unlearning.deleted, ...unlearning.stripped] });
  const fleet = sample.windows > 0 ? summarize(sample.fleet, sample.windows) : state?.fleet;

  const oldThresholds: TuningThresholds = state?.thresholds ?? { pageThreshold: plan.policy.pageThreshold, containThreshold: plan.policy.containThreshold };
  const oldPolicy: Policy = { ...plan.policy, ...oldThresholds };
  const after = tunedBaselines(kept, next, unlearning);
  const scoredOld = scoreWeek(sample.lastWeek, splitByKind(baselines, state?.fleet), oldPolicy, plan.settings, plan.windowMs);
  const scoredNew = scoreWeek(sample.lastWeek, splitByKind(after, fleet), oldPolicy, plan.settings, plan.windowMs);
  const thresholds = choosePageThreshold(scoredNew, oldThresholds, {
    target: options.targetPagesPerWeek ?? 2,
    step: options.pageThresholdStep ?? 5,
    bounds: options.pageThresholdBounds ?? { min: 40, max: 70 },
    windowMs: plan.windowMs,
    cooldownMs: plan.cooldownMs,
  });
  const backtest = backtestWeek({ scoredOld, scoredNew, lastWeek: sample.lastWeek, thresholds, incidents, from: now - WEEK_MS, to: now, windowMs: plan.windowMs, cooldownMs: plan.cooldownMs });
  const chartInput = {
    scoredNew,
    principalOf: (actor: string) => sample.lastWeek.get(actor)?.[0]?.principal ?? actor,
    oldBaselines: baselines,
    newBaselines: after,
    incidents: incidents.filter((incident) => incident.decisionTime > now - WEEK_MS && incident.decisionTime <= now),
    settings: plan.settings,
    windowMs: plan.windowMs,
    fromWindow: plan.weekFrom,
    toWindow: plan.toWindow,
  };

  const version = Math.max(state?.version ?? 0, ...runVersions) + 1;
  const previous = state === undefined ? {} : { previousVersion: state.version };
  const report: TuningReport = {
    version,
    ...previous,
    tunedAt: now,
    principals: sample.perPrincipal.size,
    windows: sample.windows,
    changes: [...log.changes.values()].sort((a, b) => relativeChange(b) - relativeChange(a)),
    promoted: [...promoted].sort(),
    unlearned: [...unlearning.deleted, ...unlearning.stripped].map((baseline) => baseline.id).sort(),
    forgotten: forgotten.map((baseline) => baseline.id),
    thresholds,
    backtest,
    noisiest: findNoisiest(chartInput),
    chart: chartPrincipals(chartInput),
  };
  const run: TuningRun = {
    version,
    tunedAt: now,
    ...previous,
    thresholds: thresholds.new,
    ...(fleet === undefined ? {} : { fleet }),
    principals: Object.fromEntries([...next].filter(([id]) => after.has(id))),
    forgotten,
    unlearned: unlearning.originals,
    report,
  };
  await saveRun(store, run, next, unlearning, plan, options.keepRuns ?? 8, runVersions);
  return { run, report };
}

/**
 * The weekly relearning as `keysentry replay` runs it at every 7-day boundary of event time: the
 * full {@link runWeeklyTuning}, summarized; a boundary with no stored windows in its weeks (a gap
 * in the logs) is skipped.
 */
export async function tuneBaselines(store: DetectorStore, now: number, options: TuningOptions): Promise<TuningSummary | undefined> {
  try {
    const { report } = await runWeeklyTuning(store, now, options);
    return { version: report.version, tunedAt: now, principals: report.principals, windows: report.windows };
  } catch (error) {
    if (error instanceof StaleDataError) return undefined;
    throw error;
  }
}

/** The latest stored run, whose report `keysentry tune --report` prints. */
export async function getLatestTuningRun(store: DetectorStore): Promise<TuningRun | undefined> {
  const state = await store.getTuning();
  return state === undefined ? undefined : store.getTuningRun(state.version);
}

/**
 * Puts back the version that was in force before the current one: its volume baselines and
 * `vouchedAt` per principal (principals the current version added lose theirs), its thresholds
 * and fleet baseline, and the baselines the current version forgot. The current run is kept, so
 * the rollback itself can be looked at; the next weekly run computes from the windows again.
 */
export async function rollbackTuning(store: DetectorStore): Promise<{ from: number; to: number; principals: number; restored: number }> {
  const state = await store.getTuning();
  if (state === undefined) throw new KeysentryError('nothing to roll back: no tuning has run');
  const current = await store.getTuningRun(state.version);
  if (current?.previousVersion === undefined) throw new KeysentryError(`nothing to roll back to: version ${state.version} is the first kept`);
  const previous = await store.getTuningRun(current.previousVersion);
  if (previous === undefined) throw new KeysentryError(`version ${current.previousVersion} is no longer kept; cannot roll back`);
  const fields = new Map<string, TunedFields>();
  for (const principal of new Set([...Object.keys(current.principals), ...Object.keys(previous.principals)])) {
    fields.set(principal, previous.principals[principal] ?? {});
  }
  const unlearned = current.unlearned ?? [];
  // Unlearned baselines may have been stripped or re-created since: the originals replace them.
  if (unlearned.length > 0) await store.deleteBaselines(unlearned.map((baseline) => baseline.id));
  await store.restoreBaselines([...current.forgotten, ...unlearned]);
  await store.setTunedFields(fields);
  await store.saveTuning({
    version: previous.version,
    tunedAt: previous.tunedAt,
    ...(previous.fleet === undefined ? {} : { fleet: previous.fleet }),
    thresholds: previous.thresholds,
    rolledBackFrom: current.version,
  });
  return { from: current.version, to: previous.version, principals: fields.size, restored: current.forgotten.length };
}
