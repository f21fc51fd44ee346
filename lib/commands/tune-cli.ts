import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { CliIo } from './cli-io.ts';
import { parseDuration } from '../domain/duration.ts';
import { KeysentryError, UsageError } from '../domain/errors.ts';
import type { Policy } from '../domain/policy.ts';
import type { DetectorStore } from '../store/store.ts';
import { publishTuningReport } from '../tuning/tuning-publish.ts';
import { formatTuningReport, renderVolumeChart } from '../tuning/tuning-report.ts';
import { getLatestTuningRun, rollbackTuning, runWeeklyTuning, type TuningReport } from '../tuning/tuning.ts';

export interface TuneCliDependencies {
  store: DetectorStore;
  /** When given with `topicArn`, a run's report is published to the pages topic, as the weekly Lambda does. */
  sns?: SNSClient;
  topicArn?: string;
  now: () => number;
  /** The deployment's policy (cool-down, protected principals, thresholds before any tuning). */
  policy?: Partial<Policy>;
  /** How `keysentry tune --rollback` is spelled for this deployment, quoted in the report. */
  rollbackCommand?: string;
}

/** The usage text of `keysentry tune`, for `lib/cli.ts` to show. */
export const TUNE_USAGE = `keysentry tune — relearn the baselines now, or look at / undo the last weekly run

Usage:
  keysentry tune [--window 15m] [--target N]   run the weekly tuning now and print its report
  keysentry tune --report                      print the report of the version in force
  keysentry tune --rollback                    put back the version before the one in force
  --chart FILE                                 also write the week's volume chart (SVG)
  --json                                       the report as JSON instead of text
`;

/**
 * `keysentry tune`: runs the weekly tuning (and publishes its report when a topic is given),
 * prints the report of the version in force (`--report`), or rolls back to the previous
 * version (`--rollback`). `--chart FILE` writes the report's SVG chart. Returns the exit code.
 */
export async function runTuneCommand(args: readonly string[], io: CliIo, deps: TuneCliDependencies): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      rollback: { type: 'boolean', default: false },
      report: { type: 'boolean', default: false },
      chart: { type: 'string' },
      json: { type: 'boolean', default: false },
      window: { type: 'string', default: '15m' },
      target: { type: 'string' },
    },
  });
  if (values.rollback && values.report) throw new UsageError('--rollback and --report do not go together');

  if (values.rollback) {
    const rolled = await rollbackTuning(deps.store);
    io.stdout.write(
      `Rolled back version ${rolled.from} to version ${rolled.to}: ${rolled.principals} principals' volume baselines, ` +
        `thresholds and fleet baseline restored${rolled.restored > 0 ? `, ${rolled.restored} forgotten baselines back` : ''}.\n`,
    );
    return 0;
  }

  let report: TuningReport;
  if (values.report) {
    const run = await getLatestTuningRun(deps.store);
    if (run === undefined) throw new KeysentryError('no tuning report yet: keysentry tune runs one');
    report = run.report;
  } else {
    const target = values.target === undefined ? undefined : Number(values.target);
    if (target !== undefined && !(Number.isInteger(target) && target >= 0)) throw new UsageError(`--target ${values.target}: a whole number of pages a week`);
    const windowMs = parseDuration(values.window, '--window');
    ({ report } = await runWeeklyTuning(deps.store, deps.now(), { windowMs, policy: deps.policy, targetPagesPerWeek: target }));
    if (deps.sns !== undefined && deps.topicArn !== undefined) {
      await publishTuningReport(deps.sns, deps.topicArn, report, { rollbackCommand: deps.rollbackCommand });
    }
  }
  io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatTuningReport(report, { rollbackCommand: deps.rollbackCommand }));
  if (values.chart !== undefined) {
    await writeFile(values.chart, renderVolumeChart(report));
    io.stderr.write(`chart written to ${values.chart}\n`);
  }
  return 0;
}
