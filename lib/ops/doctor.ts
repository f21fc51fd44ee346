import { DescribeRuleCommand } from '@aws-sdk/client-eventbridge';
import { describeError } from '../domain/errors.ts';
import {
  accountOf,
  errorName,
  MissingCredentialsError,
  regionOf,
  type DoctorCheck,
  type DoctorCheckUnit,
  type DoctorClients,
  type DoctorConfig,
  type DoctorContext,
  type RuleFacts,
} from './doctor/check.ts';
import { containPermissionsCheck } from './doctor/contain-permissions.ts';
import { dataEventsCheck } from './doctor/data-events.ts';
import { intakeQueueCheck, readQueue } from './doctor/intake-queue.ts';
import { intakeRuleCheck } from './doctor/intake-rule.ts';
import { queuePolicyCheck } from './doctor/queue-policy.ts';
import { scoreTriggerCheck } from './doctor/score-trigger.ts';
import { subscriptionCheck } from './doctor/subscription.ts';
import { trailLoggingCheck } from './doctor/trail-logging.ts';
import { logFileValidationCheck } from './doctor/log-file-validation.ts';
import { trailBucketPolicyCheck } from './doctor/trail-bucket-policy.ts';

export type { DoctorCheck, DoctorCheckUnit, DoctorClients, DoctorConfig, DoctorContext } from './doctor/check.ts';
export { MissingCredentialsError } from './doctor/check.ts';
export { coverageOfBuckets, eventSelectorsFix, type BucketCoverage } from './doctor/event-selectors.ts';
export { missingActions } from './doctor/iam-policy.ts';

/**
 * The checks, in the order the checklist lists them: the trail and what it records, the way from
 * EventBridge to the score function, the pages, and containment. A new check is one more unit here.
 */
export const DOCTOR_CHECKS: readonly DoctorCheckUnit[] = [
  trailLoggingCheck,
  logFileValidationCheck,
  trailBucketPolicyCheck,
  dataEventsCheck,
  intakeRuleCheck,
  intakeQueueCheck,
  queuePolicyCheck,
  scoreTriggerCheck,
  subscriptionCheck,
  containPermissionsCheck,
];

/** The clients the checks call and what to check. */
export interface DoctorOptions extends DoctorClients {
  config: DoctorConfig;
  /** The checks to run; `DOCTOR_CHECKS` unless given. */
  checks?: readonly DoctorCheckUnit[];
}

/** Runs `lookup` once, on first use; later callers share its promise (and its failure). */
function once<T>(lookup: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= lookup());
}

async function describeRule({ events, config }: DoctorClients & { config: DoctorConfig }): Promise<RuleFacts | undefined> {
  try {
    const rule = await events.send(new DescribeRuleCommand({ Name: config.rule, EventBusName: config.eventBusName }));
    return { name: config.rule, arn: rule.Arn, state: rule.State, eventPattern: rule.EventPattern };
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/**
 * Fails with one line when the SDK finds no credentials: every check would otherwise fail with
 * the same provider error.
 */
async function requireCredentials(options: DoctorOptions): Promise<void> {
  try {
    await options.cloudtrail.config.credentials();
  } catch (error) {
    throw new MissingCredentialsError(
      'no AWS credentials found: nothing was checked (set AWS_PROFILE, or run `aws configure` or `aws sso login`, then run the doctor again)',
      { cause: error },
    );
  }
}

async function contextOf(options: DoctorOptions): Promise<DoctorContext> {
  const { config } = options;
  const region = regionOf(config.trail) ?? (await options.cloudtrail.config.region().catch(() => 'us-east-1'));
  const queue = once(() => readQueue(options.sqs, config.queueUrl));
  return {
    ...options,
    region,
    queue,
    rule: once(() => describeRule(options)),
    account: once(async () => accountOf((await queue().catch(() => undefined))?.arn) ?? '*'),
  };
}

/** A check that threw: failed, with the error as its detail (access denied shows here). */
async function runGuarded(unit: DoctorCheckUnit, context: DoctorContext): Promise<DoctorCheck> {
  try {
    return await unit.run(context);
  } catch (error) {
    return { id: unit.id, name: unit.name, ok: false, detail: `could not check: ${describeError(error)}` };
  }
}

/**
 * Checks that a deployment can see and stop an attack and returns the checklist in the order of
 * `DOCTOR_CHECKS`. Checks run concurrently and share their lookups (the queue, the rule); one
 * that cannot run (access denied) fails with the error as its detail. Throws only
 * `MissingCredentialsError`, when there are no credentials to check anything with.
 */
export async function runDoctorChecks(options: DoctorOptions): Promise<DoctorCheck[]> {
  await requireCredentials(options);
  const context = await contextOf(options);
  return Promise.all((options.checks ?? DOCTOR_CHECKS).map((unit) => runGuarded(unit, context)));
}

/**
 * Renders the checklist: `✔` or `✘` and the check's name, its detail indented below, and for each
 * failure the commands that fix it, one per line; then how many passed.
 */
export function formatDoctorReport(checks: readonly DoctorCheck[]): string {
  const lines = ['keysentry doctor', ''];
  for (const check of checks) {
    lines.push(`${check.ok ? '✔' : '✘'} ${check.name}`, `    ${check.detail}`);
    if (!check.ok && check.fix !== undefined) lines.push('    fix:', ...check.fix.map((command) => `      ${command}`));
  }
  const passedCount = checks.filter((check) => check.ok).length;
  lines.push('', passedCount === checks.length ? `All ${checks.length} checks passed.` : `${checks.length - passedCount} of ${checks.length} checks failed.`);
  return `${lines.join('\n')}\n`;
}
