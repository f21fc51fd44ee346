import type { Baseline, Quantiles, VolumeBaseline, VolumeMetric } from './baseline.ts';
import type { Action, Policy } from './policy.ts';
import type { ScoringSettings } from './scoring.ts';

/** The thresholds the weekly tuning keeps as data (the detector applies them when wired to). */
export interface TuningThresholds {
  pageThreshold: number;
  containThreshold: number;
}

export interface TuningOptions {
  windowMs: number;
  /** How many weeks of windows the baselines are learned from (and kept); at least 5. */
  weeks?: number;
  /** Principals and keys not seen for this many days are forgotten (default 90). */
  forgetAfterDays?: number;
  /** What the page threshold is nudged towards (default 2 pages a week). */
  targetPagesPerWeek?: number;
  /** Bounds of the page threshold; it also stays at least 10 below the contain threshold. */
  pageThresholdBounds?: { min: number; max: number };
  /** How far the page threshold moves in one week (default 5). */
  pageThresholdStep?: number;
  /** The deployment's policy: cool-down, protected principals and the thresholds before any tuning. */
  policy?: Partial<Policy>;
  scoring?: Partial<ScoringSettings>;
  /** Tuning runs (versions, with their reports) kept for rollback and `tune --report` (default 8). */
  keepRuns?: number;
}

/** The tuned part of one principal's baseline in a version: what a rollback puts back. */
export interface TunedFields {
  volume?: VolumeBaseline;
  vouchedAt?: number;
}

/** Why a principal's baseline changed in a run. */
export type ChangeReason = 'volume-shift' | 'first-volume' | 'widened-by-verdict' | 'attack-excluded' | 'vouched' | 'promoted' | 'forgotten' | 'unlearned';

/** One principal's change, with its objects-read p99 and max per window before and after. */
export interface BaselineChange {
  principal: string;
  reasons: ChangeReason[];
  oldP99: number | null;
  newP99: number | null;
  oldMax: number | null;
  newMax: number | null;
  /** The incidents whose verdicts caused the change. */
  incidentIds: string[];
}

/** Would-have-paged counts: incidents as the detector opens them (one per actor and cool-down). */
export interface BacktestCounts {
  paged: number;
  contained: number;
}

export interface Backtest {
  from: number;
  to: number;
  windows: number;
  actors: number;
  /** The incidents the store holds for the week, by the action they ended with. */
  actual: BacktestCounts & { benign: number; confirmed: number };
  old: BacktestCounts;
  new: BacktestCounts;
  /** Actors whose outcome differs between the old and the new parameters. */
  changedActors: Array<{ actor: string; principal: string; old: Action; new: Action }>;
}

export interface ThresholdChange {
  old: TuningThresholds;
  new: TuningThresholds;
  targetPagesPerWeek: number;
  /** Incidents the new baselines would have opened last week at each page threshold tried. */
  tried: Array<{ pageThreshold: number; incidents: number }>;
}

/** An actor with many windows close to its limit: the next false positive, or a baseline to look at. */
export interface NoisyActor {
  actor: string;
  principal: string;
  /** Windows whose span read at least half the bulk-read threshold. */
  windowsAboveHalf: number;
  windows: number;
  peak: number;
  threshold: number;
}

/** One principal's objects read per window over the week, with its bulk-read thresholds and incidents: a panel of the chart. */
export interface ChartSeries {
  principal: string;
  /** Some of its actors (keys, sessions), and how many there were. */
  actors: string[];
  actorCount: number;
  /** The most objects any of its actors read in a window and the one before (what the scoring looks at), from `fromWindow` on. */
  values: number[];
  /** The bulk-read threshold after the run, and the one in force during the week. */
  threshold: number;
  oldThreshold: number;
  /** The week's incidents of the principal, at the window of their decision. */
  incidents: Array<{ index: number; incidentId: string; action: Action }>;
}

export interface ChartData {
  windowMs: number;
  fromWindow: number;
  toWindow: number;
  series: ChartSeries[];
}

/** What a weekly run changed and what it would have done, as data: e-mail, SMS and chart render it. */
export interface TuningReport {
  version: number;
  previousVersion?: number;
  tunedAt: number;
  principals: number;
  windows: number;
  changes: BaselineChange[];
  /** Principals and keys that became familiar since the last run (or were vouched for). */
  promoted: string[];
  /** Baselines of actors under suspicion (an incident without a benign verdict) deleted or stripped of what the incident taught. */
  unlearned?: string[];
  forgotten: string[];
  thresholds: ThresholdChange;
  backtest: Backtest;
  noisiest: NoisyActor[];
  chart: ChartData;
}

/** One version of the tuning: everything a rollback needs, and the run's report. */
export interface TuningRun {
  version: number;
  tunedAt: number;
  /** The version that was in force when this one was computed: what `rollbackTuning` returns to. */
  previousVersion?: number;
  thresholds: TuningThresholds;
  fleet?: VolumeBaseline;
  /** Every principal's tuned fields after the run (a complete snapshot, not a diff). */
  principals: Record<string, TunedFields>;
  /** Baselines this run deleted as gone, whole, so that a rollback can bring them back. */
  forgotten: Baseline[];
  /** Baselines of suspects as they were before this run unlearned the incidents' sightings, for a rollback. */
  unlearned?: Baseline[];
  report: TuningReport;
}

/** What `listTuningRuns` returns of a run. */
export interface TuningRunSummary {
  version: number;
  tunedAt: number;
  previousVersion?: number;
}

export interface TuningSummary {
  version: number;
  tunedAt: number;
  principals: number;
  windows: number;
}

export interface TuningOutcome {
  run: TuningRun;
  report: TuningReport;
}
