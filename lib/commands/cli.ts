import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../domain/duration.ts';
import { KeysentryError, UsageError } from '../domain/errors.ts';
import { isPrincipalPattern } from '../domain/policy.ts';
import { SNSClient } from '@aws-sdk/client-sns';
import { createIamClient } from '../aws/containment.ts';
import { createDynamoDbClient, DynamoDbStore, ensureTables } from '../aws/dynamodb-store.ts';
import { INCIDENTS_USAGE, runIncidentsCommand } from './incident-cli.ts';
import { OPS_DEPENDENCIES, runDoctorCommand, runKeysCommand, type OpsDependencies } from './ops-cli.ts';
import { runTuneCommand } from './tune-cli.ts';
import { replayLogs, type ReplayOptions } from '../engine/replay.ts';
import { formatIncidentTable, formatSummary } from './replay-format.ts';
import { SCENARIO_NAMES, simulateScenario, type ScenarioName } from '../simulator/index.ts';
import type { DetectorStore } from '../store/store.ts';

import type { CliIo } from './cli-io.ts';

export type { CliIo };

export const USAGE = `keysentry — stops a stolen S3 access key in the first minute of an attack

Usage:
  keysentry replay [options] PATH...     replay CloudTrail log files (.json, .json.gz, NDJSON, folders)
  keysentry simulate SCENARIO OUTDIR     write simulated CloudTrail logs (${SCENARIO_NAMES.join(', ')})
  keysentry demo                         simulate the breach and replay it (no AWS account needed)
  keysentry incidents list|show|ack|release|benign|confirm [ID] --table PREFIX [--region R]
                                         the incidents of a deployment (see: keysentry incidents help)
  keysentry tune [--rollback|--report] [--chart FILE] --table PREFIX
                                         the weekly tuning now, its last report, or undo it
  keysentry keys [--table PREFIX] [--json]
                                         every access key; the ones that should not exist first
  keysentry doctor --trail NAME --rule NAME --queue-url URL --topic-arn ARN ...
                                         checks a deployment (see: keysentry doctor --help)

Replay options:
  --json                      one JSON object per incident per line, then {"summary":…}
  --batch-window DURATION     event time per intake batch (default 10s)
  --warmup DURATION           learn only, for this long from the first event (default 14d)
  --reorder DURATION          wait this long for late records (default 15m)
  --page-threshold N          score that pages (default 50)
  --contain-threshold N       score that contains (default 75)
  --protect PATTERN           never contain this user/role ARN or key id (repeatable, * wildcard)
  --protected-buckets a,b     score only these buckets' events, as the deployment's protectedBuckets
  --dry-run                   page "would have contained" instead of containing
  --include-service-calls     also score calls AWS services make themselves
  --workers N                 read, gunzip and parse on N threads while one scores (default 0)
  --store memory|dynamodb     where windows, baselines and incidents live (default memory)
  --table PREFIX              with dynamodb: tables PREFIX-windows and PREFIX-state
  --endpoint URL --region R   with dynamodb: an emulator or another region
  --create-tables             with dynamodb: create the tables when absent

Simulate options:
  --seed N  --days N  --scale N  --start ISO-DATE  --attacker-rate N (objects/s)
`;

async function runReplay(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      'batch-window': { type: 'string' },
      warmup: { type: 'string' },
      reorder: { type: 'string' },
      'page-threshold': { type: 'string' },
      'contain-threshold': { type: 'string' },
      protect: { type: 'string', multiple: true },
      'protected-buckets': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'include-service-calls': { type: 'boolean', default: false },
      workers: { type: 'string', default: '0' },
      store: { type: 'string', default: 'memory' },
      table: { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      'create-tables': { type: 'boolean', default: false },
    },
  });
  if (positionals.length === 0) throw new UsageError('replay needs at least one PATH');
  const store = await openStore(values);
  const number = (text: string | undefined, option: string): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0 || value > 100) throw new UsageError(`${option}: "${text}" is not a score 0–100`);
    return value;
  };
  const policy: ReplayOptions['policy'] = { dryRun: values['dry-run'] };
  const pageThreshold = number(values['page-threshold'], '--page-threshold');
  const containThreshold = number(values['contain-threshold'], '--contain-threshold');
  if (pageThreshold !== undefined) policy.pageThreshold = pageThreshold;
  if (containThreshold !== undefined) policy.containThreshold = containThreshold;
  if (values.protect) {
    const names = values.protect.filter((pattern) => !isPrincipalPattern(pattern));
    if (names.length > 0) throw new UsageError(`--protect: "${names[0]}" is not a user or role ARN or an access key id`);
    policy.protectedPrincipals = values.protect;
  }
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0 || workers > 16) throw new UsageError(`--workers: "${values.workers}" is not a thread count 0–16`);
  const progress = makeProgress(io, !values.json || io.stderr.isTTY === true);
  const result = await replayLogs({
    paths: positionals,
    batchWindowMs: values['batch-window'] ? parseDuration(values['batch-window'], '--batch-window') : undefined,
    warmupMs: values.warmup ? parseDuration(values.warmup, '--warmup') : undefined,
    reorderMs: values.reorder ? parseDuration(values.reorder, '--reorder') : undefined,
    policy,
    normalize: { includeServiceCalls: values['include-service-calls'] },
    protectedBuckets: values['protected-buckets']?.split(',').map((name) => name.trim()).filter((name) => name !== ''),
    onProgress: progress.update,
    workers,
    store,
  });
  progress.done();
  if (values.json) {
    for (const incident of result.incidents) io.stdout.write(`${JSON.stringify(incident)}\n`);
    io.stdout.write(`${JSON.stringify({ summary: result.summary })}\n`);
  } else {
    io.stdout.write(formatIncidentTable(result.incidents));
    io.stdout.write(formatSummary(result.summary));
  }
  return 0;
}

/**
 * The store a replay runs on: in memory (a backtest), or the DynamoDB tables of a deployment
 * (`--table keysentry-prod` names `keysentry-prod-windows` and `keysentry-prod-state`, as
 * serverless.yml does), so that last month's logs can warm a fresh deployment's baselines.
 */
async function openStore(values: { store?: string; table?: string; endpoint?: string; region?: string; 'create-tables'?: boolean }): Promise<DetectorStore | undefined> {
  if (values.store === 'memory') {
    if (values.table !== undefined || values.endpoint !== undefined) throw new UsageError('--table and --endpoint need --store dynamodb');
    return undefined;
  }
  if (values.store !== 'dynamodb') throw new UsageError(`--store: "${values.store}" is not memory or dynamodb`);
  if (values.table === undefined) throw new UsageError('--store dynamodb needs --table PREFIX (e.g. keysentry-prod)');
  const client = createDynamoDbClient({ endpoint: values.endpoint, region: values.region });
  const names = { windowsTable: `${values.table}-windows`, stateTable: `${values.table}-state` };
  if (values['create-tables']) await ensureTables(client, names);
  return new DynamoDbStore({ client, ...names });
}

/** A progress bar on stderr, drawn only when stderr is a terminal. */
function makeProgress(io: CliIo, wanted: boolean) {
  const active = wanted && io.stderr.isTTY === true;
  let lastDraw = 0;
  return {
    update: ({ bytesDone, bytesTotal, events }: { bytesDone: number; bytesTotal: number; events: number }) => {
      if (!active) return;
      const now = Date.now();
      if (now - lastDraw < 100 && bytesDone < bytesTotal) return;
      lastDraw = now;
      const fraction = bytesTotal === 0 ? 1 : bytesDone / bytesTotal;
      const filled = Math.round(fraction * 30);
      io.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(30 - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${events.toLocaleString('en-US')} events`);
    },
    done: () => {
      if (active) io.stderr.write('\n');
    },
  };
}

async function runSimulate(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      seed: { type: 'string' },
      days: { type: 'string' },
      scale: { type: 'string' },
      start: { type: 'string' },
      'attacker-rate': { type: 'string' },
    },
  });
  const [scenario, outDir] = positionals;
  if (scenario === undefined || outDir === undefined || positionals.length !== 2) {
    throw new UsageError('simulate needs SCENARIO and OUTDIR');
  }
  if (!SCENARIO_NAMES.includes(scenario as ScenarioName)) {
    throw new UsageError(`unknown scenario "${scenario}"; one of: ${SCENARIO_NAMES.join(', ')}`);
  }
  const positive = (text: string | undefined, option: string): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${option}: "${text}" must be a positive number`);
    return value;
  };
  const manifest = await simulateScenario(scenario as ScenarioName, outDir, {
    seed: positive(values.seed, '--seed'),
    days: positive(values.days, '--days'),
    scale: positive(values.scale, '--scale'),
    start: values.start,
    attackerRate: positive(values['attacker-rate'], '--attacker-rate'),
  });
  io.stdout.write(
    `Wrote ${manifest.records.toLocaleString('en-US')} records in ${manifest.files.toLocaleString('en-US')} files to ${outDir} (${manifest.start} .. ${manifest.end})\n` +
      (manifest.attack ? `Attack: ${manifest.attack.label} from ${manifest.attack.start}: ${manifest.attack.description}\n` : 'No attack in this scenario.\n'),
  );
  return 0;
}

async function runDemo(io: CliIo): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'keysentry-demo-'));
  try {
    io.stdout.write('Simulating three weeks of CloudTrail logs with the breach on day 15…\n');
    await runSimulate(['breach', dir], io);
    io.stdout.write('\nReplaying them through keysentry (14 days of warm-up, then detection):\n\n');
    return await runReplay([join(dir, 'AWSLogs')], io);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const DEPLOYMENT_OPTIONS = ['table', 'region', 'endpoint', 'topic-arn', 'by'] as const;
type DeploymentOptions = Partial<Record<(typeof DEPLOYMENT_OPTIONS)[number], string>>;

/** Takes the options that name a deployment (`--table`, `--region`…) out of a subcommand's arguments. */
function takeDeploymentOptions(args: readonly string[]): { options: DeploymentOptions; rest: string[] } {
  const options: DeploymentOptions = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const [flag, inline] = arg.startsWith('--') ? arg.slice(2).split(/=(.*)/s, 2) : [undefined, undefined];
    const name = DEPLOYMENT_OPTIONS.find((option) => option === flag);
    if (name === undefined) {
      rest.push(arg);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
    options[name] = value;
  }
  return { options, rest };
}

/** The DynamoDB store of the deployment `--table PREFIX` names. */
function deploymentStore(options: DeploymentOptions, command: string): DynamoDbStore {
  if (options.table === undefined) throw new UsageError(`${command} needs --table PREFIX (the deployment, e.g. keysentry-prod)`);
  return new DynamoDbStore({
    client: createDynamoDbClient({ endpoint: options.endpoint, region: options.region }),
    windowsTable: `${options.table}-windows`,
    stateTable: `${options.table}-state`,
  });
}

/** `keysentry tune …`: the weekly tuning by hand, its last report, or a rollback. */
async function runTune(args: readonly string[], io: CliIo): Promise<number> {
  const { options, rest } = takeDeploymentOptions(args);
  const store = deploymentStore(options, 'tune');
  const { endpoint, region } = options;
  const topicArn = options['topic-arn'];
  return runTuneCommand(rest, io, {
    store,
    now: Date.now,
    topicArn,
    sns: topicArn === undefined ? undefined : new SNSClient({ endpoint, region }),
    rollbackCommand: `keysentry tune --rollback --table ${options.table}${region ? ` --region ${region}` : ''}`,
  });
}

/** `keysentry incidents …` against a deployment's DynamoDB tables, with the on-call's own credentials. */
async function runIncidents(args: readonly string[], io: CliIo): Promise<number> {
  const { options, rest } = takeDeploymentOptions(args);
  if (rest.length === 0 || rest[0] === 'help' || rest[0] === '--help') {
    io.stdout.write(INCIDENTS_USAGE);
    return rest.length === 0 ? 2 : 0;
  }
  const store = deploymentStore(options, 'incidents');
  const { endpoint, region } = options;
  const topicArn = options['topic-arn'];
  return runIncidentsCommand(rest, io, {
    store,
    iam: createIamClient({ endpoint, region }),
    sns: topicArn === undefined ? undefined : { client: new SNSClient({ endpoint, region }), topicArn },
    now: Date.now,
    user: options.by ?? io.user ?? 'unknown',
  });
}

/** Runs one keysentry command; returns the process exit code (2 for usage errors). */
export async function runCli(argv: readonly string[], io: CliIo, deps: { ops?: OpsDependencies } = {}): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'replay':
        return await runReplay(rest, io);
      case 'simulate':
        return await runSimulate(rest, io);
      case 'demo':
        return await runDemo(io);
      case 'incidents':
        return await runIncidents(rest, io);
      case 'tune':
        return await runTune(rest, io);
      case 'keys':
        return await runKeysCommand(rest, io, deps.ops ?? OPS_DEPENDENCIES);
      case 'doctor':
        return await runDoctorCommand(rest, io, deps.ops ?? OPS_DEPENDENCIES);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`keysentry: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof KeysentryError) {
      io.stderr.write(`keysentry: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
