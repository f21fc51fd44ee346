import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliIo } from './cli-io.ts';
import type { CliCommand } from './command.ts';
import type { OpsDependencies } from './aws-connection.ts';
import { UsageError } from '../domain/errors.ts';
import { formatDoctorReport, runDoctorChecks, type DoctorConfig } from '../ops/doctor.ts';

/** The usage text of `keysentry doctor`. */
export const DOCTOR_USAGE = `keysentry doctor — checks that a deployment can see and stop an attack

Usage:
  keysentry doctor --trail NAME --rule NAME --queue-url URL --topic-arn ARN
                   --contain-role NAME|ARN (or --contain-function NAME) --score-function NAME
                   --protected-buckets a,b [--event-bus NAME] [--json] [--region R] [--endpoint URL]

The stack's DoctorCommand output is this command with the deployment's names filled in.
Checks: the trail logs, its selectors record the buckets' reads and writes, the rule is enabled
and targets the queue, the queue has a dead-letter queue and lets the rule send, the queue
triggers the score function, the pages topic has a confirmed subscription, and the contain role
holds its permissions. Exits 1 when a check fails; each failure comes with the commands that fix it.
`;

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

/** `keysentry doctor`. */
export const DOCTOR_COMMAND: CliCommand = {
  name: 'doctor',
  summary: 'checks that a deployment can see and stop an attack',
  usage: DOCTOR_USAGE,
  run: (args, io, deps) => runDoctorCommand(args, io, deps.ops),
};
