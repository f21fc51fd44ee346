import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { cloudTrailPublicKeys, publicKeysFromJson } from '../aws/cloudtrail-digests.ts';
import { verifyLocalDigests } from '../intake/digest-files.ts';
import type { CliIo } from './cli-io.ts';
import type { CliCommand } from './command.ts';
import { formatIncidentTable, formatSummary } from './replay-format.ts';
import { createDynamoDbClient, DynamoDbStore, ensureTables } from '../aws/dynamodb-store.ts';
import { parseDuration } from '../domain/duration.ts';
import { UsageError } from '../domain/errors.ts';
import { KeyCreationBook } from '../domain/key-creation.ts';
import { isPrincipalPattern } from '../domain/policy.ts';
import { replayLogs, type ReplayOptions } from '../engine/replay.ts';
import type { DetectorStore } from '../store/store.ts';

/** The usage text of `keysentry replay`. */
export const REPLAY_USAGE = `keysentry replay — replay CloudTrail log files through the detector the Lambdas run

Usage:
  keysentry replay [options] PATH...     (.json, .json.gz, NDJSON, EventBridge envelopes; folders walked)

Options:
  --json                      one JSON object per incident per line, then {"summary":…}
  --batch-window DURATION     event time per intake batch (default 10s)
  --warmup DURATION           learn only, for this long from the first event (default 14d)
  --page-threshold N          score that pages (default 50)
  --contain-threshold N       score that contains (default 75)
  --protect PATTERN           never contain this user/role ARN or key id (repeatable, * wildcard)
  --keys FILE                 key creation dates from \`keysentry keys --json\` (dormant and fresh keys)
  --protected-buckets a,b     score only these buckets' events, as the deployment's protectedBuckets
  --dry-run                   page "would have contained" instead of containing
  --verify-digests            contain only on log files a valid CloudTrail digest (among PATHs) vouches for
  --public-keys FILE          CloudTrail's public keys for --verify-digests (aws cloudtrail list-public-keys
                              output); without it, cloudtrail:ListPublicKeys in each digest's region
  --include-service-calls     also score calls AWS services make themselves
  --workers N                 read, gunzip and parse on N threads while one scores (default 0)
  --reorder-window DURATION   with CloudTrail-named files, decided while reading: how late after its
                              time a record may be delivered and still be put in order (default 1h)
  --sort-all                  sort every record on disk before deciding, whatever the file names
  --store memory|dynamodb     where windows, baselines and incidents live (default memory)
  --table PREFIX              with dynamodb: tables PREFIX-windows and PREFIX-state
  --endpoint URL --region R   with dynamodb: an emulator or another region
  --create-tables             with dynamodb: create the tables when absent
`;

/** Every option of `keysentry replay`, in one place: add an option here, then read it in `runReplayCommand`. */
export const REPLAY_OPTIONS = {
  json: { type: 'boolean', default: false },
  'batch-window': { type: 'string' },
  warmup: { type: 'string' },
  'page-threshold': { type: 'string' },
  'contain-threshold': { type: 'string' },
  protect: { type: 'string', multiple: true },
  'protected-buckets': { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  'verify-digests': { type: 'boolean', default: false },
  'public-keys': { type: 'string' },
  'include-service-calls': { type: 'boolean', default: false },
  workers: { type: 'string', default: '0' },
  'reorder-window': { type: 'string' },
  'sort-all': { type: 'boolean', default: false },
  store: { type: 'string', default: 'memory' },
  table: { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  'create-tables': { type: 'boolean', default: false },
  keys: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** The key creation dates of a `keysentry keys --json` file; a file that is not one is a usage error. */
async function readKeyInventory(path: string): Promise<KeyCreationBook> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--keys: cannot read ${path} as JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const book = new KeyCreationBook();
  book.addInventory(json);
  if (book.problems['not-an-inventory'] !== undefined) throw new UsageError(`--keys: ${path} is not the output of keysentry keys --json`);
  return book;
}

export async function runReplayCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: REPLAY_OPTIONS,
  });
  if (positionals.length === 0) throw new UsageError('replay needs at least one PATH');
  const keyBook = values.keys === undefined ? undefined : await readKeyInventory(values.keys);
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
  const trustSource = values['verify-digests'] ? await vouchedFor(positionals, values, io) : undefined;
  const progress = makeProgress(io, !values.json || io.stderr.isTTY === true);
  const result = await replayLogs({
    trustSource,
    paths: positionals,
    batchWindowMs: values['batch-window'] ? parseDuration(values['batch-window'], '--batch-window') : undefined,
    warmupMs: values.warmup ? parseDuration(values.warmup, '--warmup') : undefined,
    policy,
    normalize: { includeServiceCalls: values['include-service-calls'] },
    protectedBuckets: values['protected-buckets']?.split(',').map((name) => name.trim()).filter((name) => name !== ''),
    onProgress: progress.update,
    workers,
    order: values['sort-all'] ? 'sorted' : 'auto',
    reorderWindowMs: values['reorder-window'] ? parseDuration(values['reorder-window'], '--reorder-window') : undefined,
    store,
    keyCreatedAt: keyBook?.lookup,
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
 * `--verify-digests`: validates the CloudTrail digests among the replayed files, offline, with the
 * public keys of `--public-keys FILE` (saved from `aws cloudtrail list-public-keys`) or else from
 * `cloudtrail:ListPublicKeys` in each digest's region, and says on stderr what it found. Only the
 * log files a valid digest vouches for may contain; the others page "unverified evidence", as in
 * score-logfile.
 */
async function vouchedFor(
  paths: readonly string[],
  values: { 'public-keys'?: string; endpoint?: string },
  io: CliIo,
): Promise<(source: string) => boolean> {
  const file = values['public-keys'];
  const keys =
    file === undefined
      ? cloudTrailPublicKeys((region) => new CloudTrailClient({ region, ...(values.endpoint === undefined ? {} : { endpoint: values.endpoint }) }))
      : publicKeysFromJson(await readFile(file, 'utf8'));
  const check = await verifyLocalDigests(paths, keys);
  io.stderr.write(
    `digests: ${check.digests.verified} valid, ${check.digests.failed.length} not; ${check.verified.size} log files vouched for, ${check.logFiles.failed.length} differ from their digest\n`,
  );
  for (const { path, reason } of [...check.digests.failed, ...check.logFiles.failed]) io.stderr.write(`  ${reason}: ${path}\n`);
  return (source) => check.verified.has(resolve(source));
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

/** `keysentry replay`. */
export const REPLAY_COMMAND: CliCommand = {
  name: 'replay',
  summary: 'replay CloudTrail log files (.json, .json.gz, NDJSON, folders)',
  usage: REPLAY_USAGE,
  run: (args, io) => runReplayCommand(args, io),
};
