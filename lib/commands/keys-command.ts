import { parseArgs } from 'node:util';
import type { CliIo } from './cli-io.ts';
import type { CliCommand } from './command.ts';
import type { OpsDependencies } from './aws-connection.ts';
import { DynamoDbStore } from '../aws/dynamodb-store.ts';
import { UsageError } from '../domain/errors.ts';
import { buildKeyInventory, formatKeyInventory } from '../ops/key-inventory.ts';

export { createOpsClients, OPS_DEPENDENCIES, type AwsConnection, type OpsClients, type OpsDependencies } from './aws-connection.ts';

/** IAM is global: CloudTrail records its calls in us-east-1 (aws partition), whatever the trail's region. */
const IAM_EVENTS_REGION = 'us-east-1';

/** The usage text of `keysentry keys`. */
export const KEYS_USAGE = `keysentry keys — every IAM user's access keys, the ones that should not exist first

Usage:
  keysentry keys [--table PREFIX] [--json] [--region R] [--endpoint URL] [--iam-events-region R]

  --table PREFIX            the deployment (keysentry-STAGE): flags active keys keysentry never saw
                            touch S3, from its baselines; without it that flag is not checked
  --iam-events-region R     where CloudTrail records IAM's calls (default us-east-1)
  --json                    the report as JSON
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


/** `keysentry keys`. */
export const KEYS_COMMAND: CliCommand = {
  name: 'keys',
  summary: 'every access key; the ones that should not exist first',
  usage: KEYS_USAGE,
  run: (args, io, deps) => runKeysCommand(args, io, deps.ops),
};
