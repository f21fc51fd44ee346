import { appendTo } from '../domain/collections.ts';
import { computeQuantiles, VOLUME_METRICS, type Baseline, type Quantiles, type VolumeBaseline, type VolumeMetric } from '../domain/baseline.ts';
import { KeysentryError } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import { decideAction, DEFAULT_POLICY, type Action, type Policy } from '../domain/policy.ts';
import { DEFAULT_SCORING, scoreAgainstBaseline, type ScoringSettings } from '../domain/scoring.ts';
import type { DetectorStore, TuningState } from '../store/store.ts';
import { countDistinctObjects, createWindowStats, mergeWindowStats, type WindowStats } from '../domain/window-counter.ts';

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

export type { TuningThresholds, TuningOptions, TunedFields, ChangeReason, BaselineChange, BacktestCounts, Backtest, ThresholdChange, NoisyActor, ChartSeries, ChartData, TuningReport, TuningRun, TuningRunSummary, TuningSummary, TuningOutcome } from '../domain/tuning-run.ts';
import type { TuningThresholds, TuningOptions, TunedFields, ChangeReason, BaselineChange, BacktestCounts, Backtest, ThresholdChange, NoisyActor, ChartSeries, ChartData, TuningReport, TuningRun, TuningRunSummary, TuningSummary, TuningOutcome } from '../domain/tuning-run.ts';

const metricOf = (stats: WindowStats, metric: VolumeMetric): number => {
  switch (metric) {
    case 'objects':
      return countDistinctObjects(stats);
    case 'deletes':
      return stats.deletes + stats.versionDeletes;
    default:
      return stats[metric];
  }
};

const incidentValueOf = (incident: Incident, metric: VolumeMetric): number => {
  const { evidence } = incident;
  switch (metric) {
    case 'objects':
      return evidence.distinctObjects;
    case 'gets':
      return evidence.gets;
    case 'lists':
      return evidence.lists;
    case 'deletes':
      return evidence.deletes;
    case 'bytesOut':
      return evidence.bytesOut;
    case 'errors':
      return evidence.errors;
  }
};

function summarize(samples: Record<VolumeMetric, number[]>, windows: number): VolumeBaseline {
  const metrics = {} as VolumeBaseline['metrics'];
  for (const metric of VOLUME_METRICS) metrics[metric] = computeQuantiles(samples[metric]);
  return { windows, metrics };
}

const emptySamples = (): Record<VolumeMetric, number[]> =>
  Object.fromEntries(VOLUME_METRICS.map((m) => [m, [] as number[]])) as Record<VolumeMetric, number[]>;

/** The time the on-call gave the verdict (its history entry), or the incident's last update. */
function verdictTime(incident: Incident): number {
  const entry = [...(incident.history ?? [])].reverse().find((e) => e.note?.startsWith(`verdict ${incident.verdict}`));
  return entry?.at ?? incident.updatedTime;
}

/** The window range an incident covers: from its first event to its last update or event. */
function incidentWindows(incident: Incident, windowMs: number): [number, number] {
  // updatedTime is a batch's end, exclusive: the window it starts is not the incident's.
  const end = Math.max(incident.updatedTime - 1, incident.lastEventTime ?? incident.firstEventTime);
  return [Math.floor(incident.firstEventTime / windowMs), Math.floor(end / windowMs)];
}

/**
 * Raises a volume baseline so that the incident's activity counts as normal: every metric's p99
 * and max at least the incident's span values. A span is two windows, so this widens by more than
 * the burst's own windows would: a benign verdict is the on-call saying "this is normal".
 */
function widen(volume: VolumeBaseline, incident: Incident): VolumeBaseline {
  const metrics = structuredClone(volume.metrics);
  for (const metric of VOLUME_METRICS) {
    const value = incidentValueOf(incident, metric);
    const q: Quantiles = metrics[metric];
    q.p99 = Math.max(q.p99, value);
    q.max = Math.max(q.max, value);
  }
  return { windows: volume.windows, metrics };
}

const readThresholdOf = (volume: VolumeBaseline | undefined, settings: ScoringSettings): number =>
  Math.max(settings.familiarReadFloor, Math.ceil(settings.volumeMultiplier * (volume?.metrics.objects.p99 ?? 0)));

interface ScoringParameters {
  principals: ReadonlyMap<string, Baseline>;
  fleet?: VolumeBaseline;
}

interface ScoredWindow {
  window: number;
  score: number;
  action: Action;
}

/**
 * Scores each window of an actor with the previous one as its span, as the detector scores an
 * actor at a batch's end, against the given baselines. `now` is the window's end, so that an actor
 * first seen during the week is as unfamiliar in the backtest as it was then.
 */
function scoreActorWeek(
  windows: readonly WindowStats[],
  parameters: ScoringParameters,
  keyBaselines: ReadonlyMap<string, Baseline>,
  policy: Policy,
  settings: ScoringSettings,
  windowMs: number,
): Array<ScoredWindow & { span: WindowStats }> {
  const byWindow = new Map(windows.map((w) => [w.window, w]));
  const horizon = Math.max(2, Math.ceil(3_600_000 / windowMs));
  return windows.map((current) => {
    const previous = byWindow.get(current.window - 1);
    const span = spanOf(current, previous);
    const reads = new Set<string>();
    for (let w = current.window - horizon + 1; w <= current.window; w++) for (const hash of byWindow.get(w)?.readObjects ?? []) reads.add(hash);
    let readThenDeleted = 0;
    for (const hash of span.deletedObjects) if (reads.has(hash)) readThenDeleted++;
    const identity = { type: current.identityType, principal: current.principal, actor: current.actor, longTermKey: current.identityType === 'iam-user-key' && current.actor.startsWith('AKIA') ? current.actor : undefined };
    const score = scoreAgainstBaseline({
      identity,
      span,
      readThenDeleted,
      principal: parameters.principals.get(current.principal),
      key: identity.longTermKey === undefined ? undefined : keyBaselines.get(identity.longTermKey),
      fleet: parameters.fleet,
      now: (current.window + 1) * windowMs,
      settings,
    });
    return { window: current.window, score: score.score, action: decideAction(score, identity, policy).action, span };
  });
}

/**
 * The span of a window and its predecessor. A window whose object set was compacted (the
 * in-memory store keeps only the count of older windows) contributes placeholders, so that the
 * span's distinct count is the sum: an upper bound of the union the detector saw.
 */
function spanOf(current: WindowStats, previous: WindowStats | undefined): WindowStats {
  const span = createWindowStats(current.actor, current.principal, current.identityType, current.window);
  for (const stats of previous === undefined ? [current] : [previous, current]) {
    mergeWindowStats(span, stats);
    const missing = countDistinctObjects(stats) - stats.readObjects.size;
    for (let i = 0; i < missing; i++) span.readObjects.add(`compacted:${stats.window}:${i}`);
  }
  return span;
}

/** Incidents the detector would have opened: repeats within the cool-down update the open one (and may escalate it). */
function countIncidents(scored: readonly ScoredWindow[], windowMs: number, cooldownMs: number, actionOf: (w: ScoredWindow) => Action): BacktestCounts {
  const counts: BacktestCounts = { paged: 0, contained: 0 };
  let open: { action: Action; updated: number } | undefined;
  const close = (): void => {
    if (open === undefined) return;
    if (open.action === 'contain') counts.contained++;
    else counts.paged++;
    open = undefined;
  };
  for (const window of scored) {
    const action = actionOf(window);
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

const actionAt = (score: number, base: Action, thresholds: TuningThresholds): Action => {
  if (score < thresholds.pageThreshold) return 'none';
  // The policy's verdict above the page threshold (page, contain, or a blocked contain) stands.
  return base === 'none' ? 'page' : base;
};

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

/**
 * The weekly tuning run. For every principal it relearns the volume quantiles per window from the
 * stored windows of the kept weeks (at least 5), leaving out the windows of confirmed attacks
 * (an actor's windows between the incident's first event and its last update) and widening the
 * principal of each incident the on-call marked benign (its p99 and max at least the incident's
 * values, and `vouchedAt` set: it counts as familiar from then on). Baselines gone for
 * `forgetAfterDays` are deleted (kept whole in the run, for a rollback). The page threshold is
 * nudged one step towards `targetPagesPerWeek`, within its bounds, as data in the tuning state.
 *
 * Before writing anything it backtests: last week's stored windows, per actor, each with its
 * previous one as the span, scored and decided under the old and the new parameters, against
 * the incidents the store holds for that week. Then it saves the run as a new version (the
 * previous one stays, for `rollbackTuning`), applies the baselines and the tuning state, drops
 * runs beyond `keepRuns` and prunes windows older than the kept weeks.
 */
export async function runWeeklyTuning(store: DetectorStore, now: number, options: TuningOptions): Promise<TuningOutcome> {
  const { windowMs } = options;
  const weeks = Math.max(5, options.weeks ?? 5);
  const forgetBefore = now - (options.forgetAfterDays ?? 90) * DAY_MS;
  const policy: Policy = { ...DEFAULT_POLICY, ...options.policy };
  const settings: ScoringSettings = { ...DEFAULT_SCORING, ...options.scoring };
  const toWindow = Math.floor(now / windowMs);
  const fromWindow = Math.floor((now - weeks * WEEK_MS) / windowMs);
  const weekFrom = Math.floor((now - WEEK_MS) / windowMs);
  const cooldownMs = policy.cooldownMinutes * 60_000;

  const [state, runs] = await Promise.all([store.getTuning(), store.listTuningRuns()]);
  const oldThresholds: TuningThresholds = state?.thresholds ?? { pageThreshold: policy.pageThreshold, containThreshold: policy.containThreshold };
  const baselines = new Map<string, Baseline>();
  for await (const baseline of store.listBaselines()) baselines.set(baseline.id, baseline);
  const incidents = await store.listIncidents();
  const learnedFrom = now - weeks * WEEK_MS;
  const confirmed = incidents.filter((i) => i.verdict === 'confirmed');
  const benign = incidents.filter((i) => i.verdict === 'benign' && (i.lastEventTime ?? i.updatedTime) >= learnedFrom);
  const excludedWindows = new Map<string, Array<[number, number, string]>>();
  for (const incident of confirmed) {
    const [from, to] = incidentWindows(incident, windowMs);
    appendTo(excludedWindows, incident.actor, [from, to, incident.incidentId]);
  }
  const excludedBy = (stats: WindowStats): string | undefined =>
    excludedWindows.get(stats.actor)?.find(([from, to]) => stats.window >= from && stats.window <= to)?.[2];

  const perPrincipal = new Map<string, { samples: Record<VolumeMetric, number[]>; windows: number }>();
  const excludedIncidents = new Map<string, Set<string>>();
  const fleet = emptySamples();
  const lastWeek = new Map<string, WindowStats[]>();
  const lastActive = new Map<string, number>();
  let windows = 0;
  for await (const stats of store.scanWindows(fromWindow, toWindow)) {
    if (stats.identityType === 'aws-service' || stats.identityType === 'anonymous') continue;
    lastActive.set(stats.principal, Math.max(lastActive.get(stats.principal) ?? 0, stats.lastEventTime));
    lastActive.set(stats.actor, Math.max(lastActive.get(stats.actor) ?? 0, stats.lastEventTime));
    if (stats.window >= weekFrom) appendTo(lastWeek, stats.actor, stats);
    const excluded = excludedBy(stats);
    if (excluded !== undefined) {
      excludedIncidents.set(stats.principal, (excludedIncidents.get(stats.principal) ?? new Set()).add(excluded));
      continue;
    }
    windows++;
    let entry = perPrincipal.get(stats.principal);
    if (entry === undefined) perPrincipal.set(stats.principal, (entry = { samples: emptySamples(), windows: 0 }));
    entry.windows++;
    for (const metric of VOLUME_METRICS) {
      const value = metricOf(stats, metric);
      entry.samples[metric].push(value);
      fleet[metric].push(value);
    }
  }

  // Forgetting, promotion, and the new tuned fields of every principal.
  const forgotten: Baseline[] = [];
  const promoted = new Set<string>();
  const familiarMs = settings.unfamiliarDays * DAY_MS;
  const lastRunAt = state?.tunedAt ?? now - WEEK_MS;
  for (const baseline of baselines.values()) {
    if (Math.max(baseline.lastSeen, lastActive.get(baseline.id) ?? 0) < forgetBefore) {
      forgotten.push(baseline);
      continue;
    }
    const familiarAt = baseline.firstSeen + familiarMs;
    if (familiarAt > lastRunAt && familiarAt <= now) promoted.add(baseline.id);
  }
  const forgottenIds = new Set(forgotten.map((b) => b.id));
  const next = new Map<string, TunedFields>();
  const changes = new Map<string, BaselineChange>();
  const changeOf = (principal: string): BaselineChange => {
    let change = changes.get(principal);
    if (change === undefined) {
      const old = baselines.get(principal)?.volume?.metrics.objects;
      change = { principal, reasons: [], oldP99: old?.p99 ?? null, newP99: old?.p99 ?? null, oldMax: old?.max ?? null, newMax: old?.max ?? null, incidentIds: [] };
      changes.set(principal, change);
    }
    return change;
  };
  for (const baseline of baselines.values()) {
    if (baseline.kind !== 'principal' || forgottenIds.has(baseline.id)) continue;
    const entry = perPrincipal.get(baseline.id);
    next.set(baseline.id, {
      volume: entry === undefined ? baseline.volume : summarize(entry.samples, entry.windows),
      ...(baseline.vouchedAt === undefined ? {} : { vouchedAt: baseline.vouchedAt }),
    });
  }
  for (const incident of benign) {
    const fields = next.get(incident.principal);
    if (fields === undefined) continue;
    fields.volume = widen(fields.volume ?? summarize(emptySamples(), 0), incident);
    const change = changeOf(incident.principal);
    if (!change.reasons.includes('widened-by-verdict')) change.reasons.push('widened-by-verdict');
    change.incidentIds.push(incident.incidentId);
    const vouchedAt = verdictTime(incident);
    if (fields.vouchedAt === undefined || vouchedAt < fields.vouchedAt) {
      if (fields.vouchedAt === undefined) {
        change.reasons.push('vouched');
        promoted.add(incident.principal);
      }
      fields.vouchedAt = vouchedAt;
    }
  }
  for (const [principal, ids] of excludedIncidents) {
    const change = changeOf(principal);
    change.reasons.push('attack-excluded');
    change.incidentIds.push(...ids);
  }
  for (const [principal, fields] of next) {
    const old = baselines.get(principal)?.volume?.metrics.objects;
    const now99 = fields.volume?.metrics.objects;
    if (now99 === undefined) continue;
    const shifted = old === undefined || Math.abs(now99.p99 - old.p99) >= Math.max(1, 0.25 * old.p99);
    if (!shifted && !changes.has(principal)) continue;
    const change = changeOf(principal);
    change.newP99 = now99.p99;
    change.newMax = now99.max;
    if (shifted && !change.reasons.includes('widened-by-verdict')) change.reasons.push(old === undefined ? 'first-volume' : 'volume-shift');
  }
  for (const id of promoted) {
    if (!next.has(id) || changes.get(id)?.reasons.includes('vouched')) continue;
    changeOf(id).reasons.push('promoted');
  }
  for (const baseline of forgotten) {
    if (baseline.kind !== 'principal') continue;
    const change = changeOf(baseline.id);
    change.reasons.push('forgotten');
    change.newP99 = null;
    change.newMax = null;
  }
  const newFleet = windows > 0 ? summarize(fleet, windows) : state?.fleet;

  // Backtest: last week's windows under the old and the new parameters.
  const keyBaselines = new Map([...baselines].filter(([, b]) => b.kind === 'key'));
  const newPrincipals = new Map<string, Baseline>();
  for (const [id, fields] of next) {
    const baseline = baselines.get(id) as Baseline;
    const { volume: _volume, vouchedAt: _vouchedAt, ...rest } = baseline;
    newPrincipals.set(id, { ...rest, ...fields });
  }
  const oldParameters: ScoringParameters = { principals: baselines, fleet: state?.fleet };
  const newParameters: ScoringParameters = { principals: newPrincipals, fleet: newFleet };
  const oldPolicy: Policy = { ...policy, ...oldThresholds };
  const scoredOld = new Map<string, ScoredWindow[]>();
  const scoredNew = new Map<string, Array<ScoredWindow & { span: WindowStats }>>();
  let weekWindows = 0;
  for (const [actor, actorWindows] of lastWeek) {
    actorWindows.sort((a, b) => a.window - b.window);
    weekWindows += actorWindows.length;
    scoredOld.set(actor, scoreActorWeek(actorWindows, oldParameters, keyBaselines, oldPolicy, settings, windowMs));
    scoredNew.set(actor, scoreActorWeek(actorWindows, newParameters, keyBaselines, oldPolicy, settings, windowMs));
  }
  const tally = (scored: ReadonlyMap<string, ScoredWindow[]>, thresholds: TuningThresholds): BacktestCounts => {
    const total: BacktestCounts = { paged: 0, contained: 0 };
    for (const windowsOfActor of scored.values()) {
      const counts = countIncidents(windowsOfActor, windowMs, cooldownMs, (w) => actionAt(w.score, w.action, thresholds));
      total.paged += counts.paged;
      total.contained += counts.contained;
    }
    return total;
  };

  // The page threshold: one step towards the target, judged on the new baselines.
  const target = options.targetPagesPerWeek ?? 2;
  const step = options.pageThresholdStep ?? 5;
  const bounds = options.pageThresholdBounds ?? { min: 40, max: 70 };
  const upper = Math.min(bounds.max, oldThresholds.containThreshold - 10);
  const candidates = [...new Set([oldThresholds.pageThreshold - step, oldThresholds.pageThreshold, oldThresholds.pageThreshold + step].map((t) => clamp(t, bounds.min, upper)))];
  const tried = candidates.map((pageThreshold) => {
    const counts = tally(scoredNew, { ...oldThresholds, pageThreshold });
    return { pageThreshold, incidents: counts.paged + counts.contained };
  });
  const best = [...tried].sort(
    (a, b) =>
      Math.abs(a.incidents - target) - Math.abs(b.incidents - target) ||
      Number(b.pageThreshold === oldThresholds.pageThreshold) - Number(a.pageThreshold === oldThresholds.pageThreshold) ||
      b.pageThreshold - a.pageThreshold,
  )[0];
  const newThresholds: TuningThresholds = { ...oldThresholds, pageThreshold: best?.pageThreshold ?? oldThresholds.pageThreshold };

  const weekStart = now - WEEK_MS;
  const weekIncidents = incidents.filter((i) => i.firstDecisionTime >= weekStart && i.firstDecisionTime < now);
  const changedActors: Backtest['changedActors'] = [];
  for (const [actor, oldScored] of scoredOld) {
    const worst = (scored: readonly ScoredWindow[], thresholds: TuningThresholds): Action =>
      scored.reduce<Action>((acc, w) => {
        const action = actionAt(w.score, w.action, thresholds);
        return action === 'contain' || acc === 'contain' ? 'contain' : action === 'page' || acc === 'page' ? 'page' : 'none';
      }, 'none');
    const before = worst(oldScored, oldThresholds);
    const after = worst(scoredNew.get(actor) ?? [], newThresholds);
    if (before !== after) changedActors.push({ actor, principal: lastWeek.get(actor)?.[0]?.principal ?? actor, old: before, new: after });
  }
  const backtest: Backtest = {
    from: weekStart,
    to: now,
    windows: weekWindows,
    actors: lastWeek.size,
    actual: {
      paged: weekIncidents.filter((i) => i.action === 'page').length,
      contained: weekIncidents.filter((i) => i.action === 'contain').length,
      benign: weekIncidents.filter((i) => i.verdict === 'benign').length,
      confirmed: weekIncidents.filter((i) => i.verdict === 'confirmed').length,
    },
    old: tally(scoredOld, oldThresholds),
    new: tally(scoredNew, newThresholds),
    changedActors,
  };

  // Noisiest actors and the chart, on the new parameters.
  const noisy: NoisyActor[] = [];
  const series: ChartSeries[] = [];
  for (const [actor, scored] of scoredNew) {
    const principal = lastWeek.get(actor)?.[0]?.principal ?? actor;
    const threshold = readThresholdOf(newPrincipals.get(principal)?.volume, settings);
    const oldThreshold = readThresholdOf(baselines.get(principal)?.volume, settings);
    const values = new Array<number>(Math.max(0, toWindow - weekFrom + 1)).fill(0);
    let above = 0;
    let peak = 0;
    for (const { window, span } of scored) {
      const objects = span.readObjects.size;
      values[window - weekFrom] = objects;
      peak = Math.max(peak, objects);
      if (objects >= threshold / 2) above++;
    }
    noisy.push({ actor, principal, windowsAboveHalf: above, windows: scored.length, peak, threshold });
    series.push({ actor, principal, values, threshold, oldThreshold });
  }
  noisy.sort((a, b) => b.windowsAboveHalf - a.windowsAboveHalf || b.peak / b.threshold - a.peak / a.threshold);
  const changedPrincipals = new Set(changes.keys());
  const charted = series
    .map((s) => ({ s, rank: (changedPrincipals.has(s.principal) ? 1_000 : 0) + Math.max(...s.values) / s.threshold }))
    .sort((a, b) => b.rank - a.rank)
    .slice(0, 8)
    .map(({ s }) => s);

  const version = Math.max(state?.version ?? 0, ...runs.map((r) => r.version)) + 1;
  const report: TuningReport = {
    version,
    ...(state === undefined ? {} : { previousVersion: state.version }),
    tunedAt: now,
    principals: perPrincipal.size,
    windows,
    changes: [...changes.values()].sort((a, b) => relativeChange(b) - relativeChange(a)),
    promoted: [...promoted].sort(),
    forgotten: forgotten.map((b) => b.id),
    thresholds: { old: oldThresholds, new: newThresholds, targetPagesPerWeek: target, tried },
    backtest,
    noisiest: noisy.slice(0, 5),
    chart: { windowMs, fromWindow: weekFrom, toWindow, series: charted },
  };
  const run: TuningRun = {
    version,
    tunedAt: now,
    ...(state === undefined ? {} : { previousVersion: state.version }),
    thresholds: newThresholds,
    ...(newFleet === undefined ? {} : { fleet: newFleet }),
    principals: Object.fromEntries(next),
    forgotten,
    report,
  };

  await store.saveTuningRun(run);
  await store.setTunedFields(next);
  if (forgotten.length > 0) await store.deleteBaselines(forgotten.map((b) => b.id));
  const nextState: TuningState = { version, tunedAt: now, ...(newFleet === undefined ? {} : { fleet: newFleet }), thresholds: newThresholds };
  await store.saveTuning(nextState);
  const keep = options.keepRuns ?? 8;
  const stale = [...runs.map((r) => r.version), version].sort((a, b) => b - a).slice(keep);
  for (const old of stale) await store.deleteTuningRun(old);
  await store.pruneWindows(fromWindow);
  return { run, report };
}

const relativeChange = (change: BaselineChange): number =>
  change.reasons.includes('widened-by-verdict') || change.reasons.includes('attack-excluded')
    ? Number.POSITIVE_INFINITY
    : Math.abs((change.newP99 ?? 0) - (change.oldP99 ?? 0)) / Math.max(1, change.oldP99 ?? 0);

/**
 * The weekly relearning as `keysentry replay` runs it at every 7-day boundary of event time: the
 * full {@link runWeeklyTuning}, summarized.
 */
export async function tuneBaselines(store: DetectorStore, now: number, options: TuningOptions): Promise<TuningSummary> {
  const { report } = await runWeeklyTuning(store, now, options);
  return { version: report.version, tunedAt: now, principals: report.principals, windows: report.windows };
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
  await store.restoreBaselines(current.forgotten);
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
