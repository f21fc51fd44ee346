import { Logger } from '@aws-lambda-powertools/logger';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { Policy } from '../lib/domain/policy.ts';
import type { DetectorStore } from '../lib/store/store.ts';
import { publishTuningReport } from '../lib/tuning/tuning-publish.ts';
import { getLatestTuningRun, runWeeklyTuning, StaleDataError, type TuningReport } from '../lib/tuning/tuning.ts';

export interface TuneHandlerDependencies {
  store: DetectorStore;
  sns: SNSClient;
  topicArn: string;
  now: () => number;
  logger?: Logger;
  windowMs: number;
  policy?: Partial<Policy>;
  targetPagesPerWeek?: number;
  /** How `keysentry tune --rollback` is spelled for this deployment, quoted in the e-mail. */
  rollbackCommand?: string;
  /** A run younger than this is not repeated (Lambda retries an async invocation twice); its report is published again. */
  minIntervalMs?: number;
}

export interface TuneResult {
  version: number;
  rerun: boolean;
  messageId: string;
  /** Why the run learned nothing and wrote nothing (no stored windows in its weeks). */
  skipped?: string;
}

/**
 * Builds the weekly `tune` handler: runs the tuning (backtest, new version, thresholds) and
 * publishes its report to the pages topic; a deployment with no stored windows in the tuning's
 * weeks is skipped with the reason (`StaleDataError`), nothing written. Safe to run twice: a retry within `minIntervalMs` of
 * the last run publishes that run's report instead of making another version. A failed publish
 * throws after the tuning is saved, so that the retry publishes it.
 */
export function makeTuneHandler(deps: TuneHandlerDependencies): (event?: unknown) => Promise<TuneResult> {
  const logger = deps.logger ?? new Logger({ serviceName: 'keysentry' });
  const minIntervalMs = deps.minIntervalMs ?? 6 * 86_400_000;
  return async () => {
    const now = deps.now();
    const latest = await getLatestTuningRun(deps.store);
    let report: TuningReport;
    const rerun = latest !== undefined && now - latest.tunedAt < minIntervalMs;
    if (rerun) {
      report = latest.report;
      logger.warn('tuning ran recently; publishing its report again', { version: report.version, tunedAt: report.tunedAt });
    } else {
      try {
        ({ report } = await runWeeklyTuning(deps.store, now, {
          windowMs: deps.windowMs,
          policy: deps.policy,
          targetPagesPerWeek: deps.targetPagesPerWeek,
        }));
      } catch (error) {
        if (!(error instanceof StaleDataError)) throw error;
        // Retrying cannot help: nothing is stored to learn from. The warning is the alarm's to see.
        logger.warn('tuning skipped', { reason: error.message });
        return { version: latest?.version ?? 0, rerun: false, messageId: '', skipped: error.message };
      }
      logger.info('tuned', {
        version: report.version,
        changes: report.changes.length,
        promoted: report.promoted.length,
        forgotten: report.forgotten.length,
        thresholds: report.thresholds,
        backtest: { actual: report.backtest.actual, old: report.backtest.old, new: report.backtest.new },
      });
    }
    const messageId = await publishTuningReport(deps.sns, deps.topicArn, report, { rollbackCommand: deps.rollbackCommand });
    return { version: report.version, rerun, messageId };
  };
}
