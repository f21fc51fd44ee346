import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { CliIo } from './cli-io.ts';
import type { CliCommand, CliDependencies } from './command.ts';
import { deploymentArguments, deploymentStore, takeDeploymentOptions, withDeploymentTables } from './deployment-options.ts';
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
  keysentry tune --table PREFIX [options]            run the weekly tuning now and print its report
  keysentry tune --table PREFIX --report             print the report of the version in force
  keysentry tune --table PREFIX --rollback           put back the version before the one in force

Options:
  --table PREFIX       the deployment's tables (PREFIX-windows, PREFIX-state), e.g. keysentry-prod
  --region R           the deployment's region; --endpoint URL: another endpoint (an emulator)
  --as-of DATE         tune as the weekly run would have on DATE (ISO date or time), e.g. after
                       warming the tables from last month's logs; without it, now. A tuning with
                       no stored windows in the 5 weeks before it refuses (exit 1) and says why
  --target N           pages a week the page threshold moves toward (default 2)
  --window DURATION    the windows' length, as the detector stores them (default 15m)
  --chart FILE         also write the week's volume chart (SVG)
  --json               the report as JSON instead of text
  --topic-arn ARN      also publish the report to the pages topic, as the weekly function does
`;

/** `--as-of`: an ISO date (midnight UTC) or time, not in the future. */
function parseAsOf(text: string, now: number): number {
  const time = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(time)) throw new UsageError(`--as-of ${text}: not a date (e.g. 2026-11-02 or 2026-11-02T06:00:00Z)`);
  if (time > now) throw new UsageError(`--as-of ${text}: in the future`);
  return time;
}

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
      'as-of': { type: 'string' },
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
    const now = values['as-of'] === undefined ? deps.now() : parseAsOf(values['as-of'], deps.now());
    ({ report } = await runWeeklyTuning(deps.store, now, { windowMs, policy: deps.policy, targetPagesPerWeek: target }));
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

/** `keysentry tune …` against a deployment's tables: the weekly tuning by hand, its last report, or a rollback. */
export async function runTuneOnDeployment(args: readonly string[], io: CliIo, deps: CliDependencies): Promise<number> {
  const { options, rest } = takeDeploymentOptions(args);
  const store = deploymentStore(options, 'tune');
  const clients = deps.ops.connect({ endpoint: options.endpoint, region: options.region });
  const topicArn = options['topic-arn'];
  return withDeploymentTables(options, () => clients.dynamodb.config.region(), () =>
    runTuneCommand(rest, io, {
      store,
      now: deps.ops.now,
      topicArn,
      sns: topicArn === undefined ? undefined : clients.sns,
      rollbackCommand: `keysentry tune --rollback ${deploymentArguments(options)}`,
    }),
  );
}

/** `keysentry tune`. */
export const TUNE_COMMAND: CliCommand = {
  name: 'tune',
  summary: 'the weekly tuning now, its last report, or undo it',
  usage: TUNE_USAGE,
  run: runTuneOnDeployment,
};
