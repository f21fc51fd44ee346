import { createDynamoDbClient, DynamoDbStore } from '../aws/dynamodb-store.ts';
import { KeysentryError, UsageError } from '../domain/errors.ts';

/** The options that name a deployment, shared by `incidents` and `tune`. */
export const DEPLOYMENT_OPTIONS = ['table', 'region', 'endpoint', 'topic-arn', 'by'] as const;
export type DeploymentOptions = Partial<Record<(typeof DEPLOYMENT_OPTIONS)[number], string>>;

/** Takes the options that name a deployment (`--table`, `--region`…) out of a subcommand's arguments, wherever they stand. */
export function takeDeploymentOptions(args: readonly string[]): { options: DeploymentOptions; rest: string[] } {
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

/** How the deployment is named on a command line (`--table P --region R --endpoint E`), for the commands a report quotes. */
export function deploymentArguments(options: DeploymentOptions): string {
  return [
    options.table === undefined ? undefined : `--table ${options.table}`,
    options.region === undefined ? undefined : `--region ${options.region}`,
    options.endpoint === undefined ? undefined : `--endpoint ${options.endpoint}`,
  ]
    .filter(Boolean)
    .join(' ');
}

/** The DynamoDB store of the deployment `--table PREFIX` names. */
export function deploymentStore(options: DeploymentOptions, command: string): DynamoDbStore {
  if (options.table === undefined) throw new UsageError(`${command} needs --table PREFIX (the deployment, e.g. keysentry-prod)`);
  return new DynamoDbStore({
    client: createDynamoDbClient({ endpoint: options.endpoint, region: options.region }),
    windowsTable: `${options.table}-windows`,
    stateTable: `${options.table}-state`,
  });
}

const causes = function* (error: unknown): Generator<unknown> {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    yield current;
  }
};

/**
 * Runs a command against a deployment's tables, and turns DynamoDB's "Requested resource not
 * found" into a sentence naming the tables and the region it looked in.
 */
export async function withDeploymentTables<T>(options: DeploymentOptions, region: () => Promise<string>, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (![...causes(error)].some((cause) => (cause as { name?: string }).name === 'ResourceNotFoundException')) throw error;
    const where = await region().catch(() => 'the default region');
    throw new KeysentryError(
      `no table ${options.table}-state / ${options.table}-windows in ${where}: check --table (the deployment, keysentry-STAGE) and --region ` +
        `(the tables there: aws dynamodb list-tables --region ${where})`,
      { cause: error },
    );
  }
}
