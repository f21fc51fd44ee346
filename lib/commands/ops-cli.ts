import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliIo } from './cli-io.ts';
import { createIamClient } from '../aws/containment.ts';
import { formatDoctorReport, runDoctorChecks, type DoctorConfig } from '../ops/doctor.ts';
import { createDynamoDbClient, DynamoDbStore } from '../aws/dynamodb-store.ts';
import { UsageError } from '../domain/errors.ts';
import { buildKeyInventory, formatKeyInventory } from '../ops/key-inventory.ts';

/** Which account and region a command talks to: an emulator's endpoint, or AWS's default for the region. */
export interface AwsConnection {
  endpoint?: string;
  region?: string;
}

/** The AWS clients `keys` and `doctor` use, for one connection. */
export interface OpsClients {
  iam: IAMClient;
  cloudtrail: CloudTrailClient;
  events: EventBridgeClient;
  sqs: SQSClient;
  sns: SNSClient;
  lambda: LambdaClient;
  dynamodb: DynamoDBClient;
}

/** What the commands are given: how to build clients (tests point them at the emulator or mock them) and a clock. */
export interface OpsDependencies {
  connect(connection: AwsConnection): OpsClients;
  now: () => number;
}

/** IAM is global: CloudTrail records its calls in us-east-1 (aws partition), whatever the trail's region. */
const IAM_EVENTS_REGION = 'us-east-1';

/**
 * Builds SDK clients for a connection, with the SDK's standard retries (CloudTrail's LookupEvents
 * allows two calls a second; its throttling is retried) and the user's own credentials.
 */
export function createOpsClients(connection: AwsConnection): OpsClients {
  const common = {
    ...(connection.endpoint === undefined ? {} : { endpoint: connection.endpoint }),
    ...(connection.region === undefined ? {} : { region: connection.region }),
  };
  return {
    iam: createIamClient(connection),
    cloudtrail: new CloudTrailClient({ ...common, retryMode: 'standard', maxAttempts: 8 }),
    events: new EventBridgeClient(common),
    sqs: new SQSClient(common),
    sns: new SNSClient(common),
    lambda: new LambdaClient(common),
    dynamodb: createDynamoDbClient(connection),
  };
}

/** The dependencies `lib/cli.ts` runs the commands with: real SDK clients, the system clock. */
export const OPS_DEPENDENCIES: OpsDependencies = { connect: createOpsClients, now: Date.now };

/** The usage text of `keysentry keys`. */
export const KEYS_USAGE = `keysentry keys — every IAM user's access keys, the ones that should not exist first

Usage:
  keysentry keys [--table PREFIX] [--json] [--region R] [--endpoint URL] [--iam-events-region R]

  --table PREFIX            the deployment (keysentry-STAGE): flags active keys keysentry never saw
                            touch S3, from its baselines; without it that flag is not checked
  --iam-events-region R     where CloudTrail records IAM's calls (default us-east-1)
  --json                    the report as JSON
`;

/** The usage text of `keysentry doctor`. */
export const DOCTOR_USAGE = `keysentry doctor — checks that a deployment can see and stop an attack

Usage:
  keysentry doctor --trail NAME --rule NAME --queue-url URL --topic-arn ARN
                   --contain-role NAME|ARN (or --contain-function NAME) --protected-buckets a,b
                   [--event-bus NAME] [--json] [--region R] [--endpoint URL]

Exits 1 when a check fails; each failure comes with the command that fixes it.
`;

/**
 * `keysentry keys`: builds the access-key inventory of the account the credentials belong to and
 * prints it as a table (flagged keys first, with reasons and the command that disables each) or,
 * with `--json`, as the report object. Exit code 0; AWS failures throw `InventoryError`, bad
 * options `UsageError`, as `runCli` expects.
 */
export async function runKeysCommand(args: readonly string[], io: CliIo, deps: OpsDependencies): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      table: { type: 'string' },
      'iam-events-region': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || positionals[0] === 'help') {
    io.stdout.write(KEYS_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`keys takes no arguments (got ${positionals.join(' ')})`);
  const connection = { endpoint: values.endpoint, region: values.region };
  const clients = deps.connect(connection);
  // An emulator is one endpoint for every region; AWS keeps IAM's events in one region.
  const iamEventsRegion = values['iam-events-region'] ?? (values.endpoint === undefined ? IAM_EVENTS_REGION : values.region);
  const cloudtrail = iamEventsRegion === values.region ? clients.cloudtrail : deps.connect({ ...connection, region: iamEventsRegion }).cloudtrail;
  const prefix = values.table;
  const store =
    prefix === undefined
      ? undefined
      : // Only the state table is read (key baselines); the windows table is never touched.
        new DynamoDbStore({ client: clients.dynamodb, stateTable: `${prefix}-state`, windowsTable: `${prefix}-windows` });
  const report = await buildKeyInventory({ iam: clients.iam, cloudtrail, store, now: deps.now });
  io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatKeyInventory(report));
  return 0;
}

/** The options of `keysentry doctor` (the stack's `DoctorCommand` output uses them; a test checks). */
export const DOCTOR_OPTIONS = {
  json: { type: 'boolean', default: false },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  trail: { type: 'string' },
  rule: { type: 'string' },
  'event-bus': { type: 'string' },
  'queue-url': { type: 'string' },
  'topic-arn': { type: 'string' },
  'contain-role': { type: 'string' },
  'contain-function': { type: 'string' },
  'score-function': { type: 'string' },
  'protected-buckets': { type: 'string' },
  help: { type: 'boolean', default: false },
} as const satisfies ParseArgsConfig['options'];

/**
 * `keysentry doctor`: runs the deployment checks (`runDoctorChecks`) and prints the checklist, or
 * the checks as JSON with `--json`. Exit code 1 when any check fails, 0 when all pass; missing
 * options throw `UsageError`.
 */
export async function runDoctorCommand(args: readonly string[], io: CliIo, deps: OpsDependencies): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: DOCTOR_OPTIONS });
  if (values.help || positionals[0] === 'help') {
    io.stdout.write(DOCTOR_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`doctor takes no arguments (got ${positionals.join(' ')})`);
  const { trail, rule } = values;
  const queueUrl = values['queue-url'];
  const topicArn = values['topic-arn'];
  const protectedBuckets = (values['protected-buckets'] ?? '').split(',').map((bucket) => bucket.trim()).filter(Boolean);
  const missing = [
    trail === undefined ? '--trail' : undefined,
    rule === undefined ? '--rule' : undefined,
    queueUrl === undefined ? '--queue-url' : undefined,
    topicArn === undefined ? '--topic-arn' : undefined,
    values['contain-role'] === undefined && values['contain-function'] === undefined ? '--contain-role' : undefined,
    protectedBuckets.length === 0 ? '--protected-buckets' : undefined,
  ].filter((option): option is string => option !== undefined);
  if (missing.length > 0) throw new UsageError(`doctor needs ${missing.join(', ')}`);
  const config: DoctorConfig = {
    trail: trail as string,
    rule: rule as string,
    eventBusName: values['event-bus'],
    queueUrl: queueUrl as string,
    topicArn: topicArn as string,
    containRole: values['contain-role'],
    containFunction: values['contain-function'],
    scoreFunction: values['score-function'],
    protectedBuckets,
  };
  const clients = deps.connect({ endpoint: values.endpoint, region: values.region });
  const checks = await runDoctorChecks({ ...clients, config });
  io.stdout.write(values.json ? `${JSON.stringify(checks, null, 2)}\n` : formatDoctorReport(checks));
  return checks.every((check) => check.ok) ? 0 : 1;
}
