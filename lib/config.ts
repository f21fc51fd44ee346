import { DEFAULT_WINDOW_MS } from './engine/score-engine.ts';
import { ConfigError } from './domain/errors.ts';
import { DEFAULT_POLICY, isPrincipalPattern, type Policy } from './domain/policy.ts';

/** What the score Lambdas run with, read once from the environment at cold start. */
export interface KeysentryConfig {
  serviceName: string;
  metricsNamespace: string;
  /** The region of the tables; the SDK's own default when unset. */
  region?: string;
  /** Another DynamoDB endpoint (an emulator); AWS when unset. */
  dynamoDbEndpoint?: string;
  windowsTable: string;
  stateTable: string;
  policy: Policy;
  /** Only events on these buckets are scored; empty: every bucket the trail records. */
  protectedBuckets: string[];
  windowMs: number;
  /** Event time decided as one batch when a log file is scored, as `keysentry replay` does. */
  logFileBatchWindowMs: number;
}

/** The score function's configuration: the common one plus the responder it hands incidents to. */
export interface ScoreConfig extends KeysentryConfig {
  /** The contain function's name, invoked asynchronously with new and escalated incidents. */
  responderFunction: string;
}

/** The log-file function's configuration: the score function's plus its idempotency table and where log files may come from. */
export interface LogFileConfig extends ScoreConfig {
  idempotencyTable: string;
  /** Accounts whose log files are read (`AWSLogs/<account>/CloudTrail/<region>/…`); the deployment's by default. */
  trailAccounts: string[];
  /** An organization trail's id: its log files are read under `AWSLogs/<org-id>/<account>/CloudTrail/<region>/…`. */
  organizationId?: string;
  /** The key prefix of the trail's files, ending in `AWSLogs/` (the trail's own S3 key prefix first, if it has one). */
  trailPrefix: string;
}

/** The contain function's configuration: the common one plus the pages topic. */
export interface ContainConfig extends KeysentryConfig {
  pagesTopicArn: string;
  /** Deny every session of a role issued before containment, instead of the one session that acted. */
  revokeAllRoleSessions: boolean;
  /** Options of `keysentry incidents` for this deployment, quoted in the pages' commands. */
  cliOptions: string;
}

/** The weekly tune function's configuration: the common one plus the topic its report goes to. */
export interface TuneConfig extends KeysentryConfig {
  pagesTopicArn: string;
  /** The page threshold is nudged towards this many pages a week. */
  targetPagesPerWeek: number;
  /** Options of `keysentry tune` for this deployment, quoted in the report's rollback command. */
  cliOptions: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads every problem of the environment before failing, so that a broken deployment says in one
 * message everything that is wrong with it.
 */
class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  /** A required 12-digit AWS account id. */
  accountId(name: string): string {
    const value = this.required(name);
    if (value !== '' && !ACCOUNT_ID.test(value)) this.problems.push(`${name}="${value}" is not a 12-digit account id`);
    return value;
  }

  required(name: string): string {
    const value = this.raw(name);
    if (value === undefined) this.problems.push(`${name} is missing`);
    return value ?? '';
  }

  optional(name: string): string | undefined {
    return this.raw(name);
  }

  list(name: string): string[] {
    return (this.raw(name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }

  number(name: string, range: { min: number; max: number }, fallback?: number): number {
    const text = this.raw(name);
    if (text === undefined) {
      if (fallback !== undefined) return fallback;
      this.problems.push(`${name} is missing`);
      return Number.NaN;
    }
    const value = Number(text);
    if (!Number.isFinite(value) || value < range.min || value > range.max) {
      this.problems.push(`${name}="${text}" is not a number from ${range.min} to ${range.max}`);
    }
    return value;
  }

  boolean(name: string): boolean {
    const text = this.raw(name)?.toLowerCase();
    if (text === undefined) this.problems.push(`${name} is missing`);
    else if (text !== 'true' && text !== 'false') this.problems.push(`${name}="${text}" is neither true nor false`);
    return text === 'true';
  }

  /** A comma list whose every item must pass `valid`; `what` says what the items should be. */
  checkedList(name: string, valid: (item: string) => boolean, what: string): string[] {
    const items = this.list(name);
    for (const item of items) if (!valid(item)) this.problems.push(`${name}: "${item}" is not ${what}`);
    return items;
  }

  url(name: string): string | undefined {
    const text = this.raw(name);
    if (text !== undefined && !URL.canParse(text)) this.problems.push(`${name}="${text}" is not a URL`);
    return text;
  }

  done(): void {
    if (this.problems.length > 0) throw new ConfigError(`keysentry configuration: ${this.problems.join('; ')}`);
  }
}

const ACCOUNT_ID = /^\d{12}$/;
const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

function readConfig(reader: EnvReader): KeysentryConfig {
  const pageThreshold = reader.number('PAGE_THRESHOLD', { min: 0, max: 100 });
  const containThreshold = reader.number('CONTAIN_THRESHOLD', { min: 0, max: 100 });
  if (containThreshold < pageThreshold) {
    reader.problems.push(`CONTAIN_THRESHOLD=${containThreshold} is below PAGE_THRESHOLD=${pageThreshold}`);
  }
  return {
    serviceName: reader.optional('POWERTOOLS_SERVICE_NAME') ?? 'keysentry',
    metricsNamespace: reader.optional('POWERTOOLS_METRICS_NAMESPACE') ?? 'keysentry',
    region: reader.optional('AWS_REGION'),
    dynamoDbEndpoint: reader.url('DYNAMODB_ENDPOINT'),
    windowsTable: reader.required('WINDOWS_TABLE'),
    stateTable: reader.required('STATE_TABLE'),
    policy: {
      pageThreshold,
      containThreshold,
      dryRun: reader.boolean('DRY_RUN'),
      protectedPrincipals: reader.checkedList(
        'PROTECTED_PRINCIPALS',
        isPrincipalPattern,
        'a user or role ARN (arn:aws:iam::ACCOUNT:user/NAME, * allowed) or an access key id',
      ),
      ownRoleArns: reader.checkedList('OWN_ROLE_ARNS', (item) => ROLE_ARN.test(item), 'a role ARN'),
      accounts: [reader.accountId('ACCOUNT_ID')],
      cooldownMinutes: reader.number('COOLDOWN_MINUTES', { min: 1, max: 10_080 }, DEFAULT_POLICY.cooldownMinutes),
    },
    protectedBuckets: reader.list('PROTECTED_BUCKETS'),
    windowMs: reader.number('WINDOW_MINUTES', { min: 1, max: 60 }, DEFAULT_WINDOW_MS / 60_000) * 60_000,
    logFileBatchWindowMs: reader.number('LOG_FILE_BATCH_SECONDS', { min: 1, max: 300 }, 10) * 1000,
  };
}

/**
 * Reads the score function's configuration from `env` once, at cold start: table names, the
 * page/contain thresholds, dry-run, protected principals (principal ARNs or key ids; a bare
 * name is refused, because nothing an attacker can choose may exempt) and buckets (comma lists),
 * the ARNs of the detector's own roles (`OWN_ROLE_ARNS`), the deployment's account (`ACCOUNT_ID`:
 * the only account containment acts in), cool-down and window lengths, and the contain function
 * to hand incidents to. `WINDOWS_TABLE`, `STATE_TABLE`, `ACCOUNT_ID`, `PAGE_THRESHOLD`,
 * `CONTAIN_THRESHOLD`, `DRY_RUN` and `RESPONDER_FUNCTION` are required, so that
 * a deployment never contains keys on a default it did not choose, nor detects without anyone
 * acting on it; a missing or invalid variable throws one `ConfigError` naming every such variable.
 */
export function loadConfig(env: Env = process.env): ScoreConfig {
  const reader = new EnvReader(env);
  const config = readConfig(reader);
  const responderFunction = reader.required('RESPONDER_FUNCTION');
  reader.done();
  return { ...config, responderFunction };
}

/**
 * `loadConfig` for the log-file function, which also needs `IDEMPOTENCY_TABLE`, and reads log files
 * only of `ACCOUNT_ID` and the accounts in `TRAIL_ACCOUNTS` (an organization trail's members, with
 * `ORGANIZATION_ID`), under `TRAIL_PREFIX` (default `AWSLogs/`).
 */
export function loadLogFileConfig(env: Env = process.env): LogFileConfig {
  const reader = new EnvReader(env);
  const config = readConfig(reader);
  const responderFunction = reader.required('RESPONDER_FUNCTION');
  const idempotencyTable = reader.required('IDEMPOTENCY_TABLE');
  const listed = reader.checkedList('TRAIL_ACCOUNTS', (item) => ACCOUNT_ID.test(item), 'a 12-digit account id');
  const organizationId = reader.optional('ORGANIZATION_ID');
  if (organizationId !== undefined && !ORGANIZATION_ID.test(organizationId)) {
    reader.problems.push(`ORGANIZATION_ID="${organizationId}" is not an organization id (o-…)`);
  }
  const trailPrefix = reader.optional('TRAIL_PREFIX') ?? 'AWSLogs/';
  if (!trailPrefix.endsWith('AWSLogs/')) reader.problems.push(`TRAIL_PREFIX="${trailPrefix}" does not end in AWSLogs/`);
  reader.done();
  const trailAccounts = [...new Set([...config.policy.accounts, ...listed])];
  return {
    ...config,
    responderFunction,
    idempotencyTable,
    trailAccounts,
    trailPrefix,
    ...(organizationId === undefined ? {} : { organizationId }),
  };
}

/**
 * The contain function's configuration: the common variables (its guard is `PROTECTED_PRINCIPALS`
 * `OWN_ROLE_ARNS` and `ACCOUNT_ID`, its dry run `DRY_RUN`, checked again here) plus `PAGES_TOPIC_ARN` (required),
 * `REVOKE_ALL_ROLE_SESSIONS` (default false) and `INCIDENT_CLI_OPTIONS` for the pages' commands.
 */
export function loadContainConfig(env: Env = process.env): ContainConfig {
  const reader = new EnvReader(env);
  const config = readConfig(reader);
  const pagesTopicArn = reader.required('PAGES_TOPIC_ARN');
  const revokeAllRoleSessions = reader.optional('REVOKE_ALL_ROLE_SESSIONS') === undefined ? false : reader.boolean('REVOKE_ALL_ROLE_SESSIONS');
  const cliOptions = reader.optional('INCIDENT_CLI_OPTIONS') ?? '';
  reader.done();
  return { ...config, pagesTopicArn, revokeAllRoleSessions, cliOptions };
}

/** The daily inventory function's configuration: where baselines are read and the report goes. */
export interface InventoryConfig {
  region?: string;
  dynamoDbEndpoint?: string;
  windowsTable: string;
  stateTable: string;
  pagesTopicArn: string;
  /**
   * Where CloudTrail's event history holds IAM's calls: IAM is global and records them in
   * us-east-1 (for the aws partition), whatever region the function runs in.
   */
  iamEventsRegion: string;
}

/**
 * The inventory function's configuration, read once at cold start: `STATE_TABLE` (the key
 * baselines; `WINDOWS_TABLE` names the store's other table) and `PAGES_TOPIC_ARN` are required;
 * `IAM_EVENTS_REGION` defaults to us-east-1. It needs none of the detector's thresholds.
 */
export function loadInventoryConfig(env: Env = process.env): InventoryConfig {
  const reader = new EnvReader(env);
  const config: InventoryConfig = {
    region: reader.optional('AWS_REGION'),
    dynamoDbEndpoint: reader.url('DYNAMODB_ENDPOINT'),
    windowsTable: reader.required('WINDOWS_TABLE'),
    stateTable: reader.required('STATE_TABLE'),
    pagesTopicArn: reader.required('PAGES_TOPIC_ARN'),
    iamEventsRegion: reader.optional('IAM_EVENTS_REGION') ?? 'us-east-1',
  };
  reader.done();
  return config;
}

/**
 * The tune function's configuration: the common variables (its thresholds are where the tuning
 * starts from) plus `PAGES_TOPIC_ARN` (required), `TARGET_PAGES_PER_WEEK` (default 2) and
 * `INCIDENT_CLI_OPTIONS` for the rollback command the report quotes.
 */
export function loadTuneConfig(env: Env = process.env): TuneConfig {
  const reader = new EnvReader(env);
  const config = readConfig(reader);
  const pagesTopicArn = reader.required('PAGES_TOPIC_ARN');
  const targetPagesPerWeek = reader.number('TARGET_PAGES_PER_WEEK', { min: 0, max: 100 }, 2);
  const cliOptions = reader.optional('INCIDENT_CLI_OPTIONS') ?? '';
  reader.done();
  return { ...config, pagesTopicArn, targetPagesPerWeek, cliOptions };
}
