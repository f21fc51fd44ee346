import type { IAMClient } from '@aws-sdk/client-iam';
import type { SNSClient } from '@aws-sdk/client-sns';
import { parseArgs } from 'node:util';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { CliIo } from './cli-io.ts';
import type { CliCommand, CliDependencies } from './command.ts';
import { deploymentArguments, deploymentStore, takeDeploymentOptions, withDeploymentTables } from './deployment-options.ts';
import { describeAction, undoContainment } from '../aws/containment.ts';
import { IncidentNotFoundError, KeysentryError, messageOf, UsageError } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import { acknowledgeIncident, markReleased, recordPaged, setVerdict } from '../engine/incident-lifecycle.ts';
import { composePage, pageSignature, publishPage, type PageCommands } from '../aws/paging.ts';
import type { IncidentStore } from '../store/store.ts';
import { formatIsoTime } from '../domain/text-format.ts';

export interface IncidentCliDependencies {
  store: IncidentStore;
  /** The on-call's own credentials: a release needs `RELEASE_PERMISSIONS` (lib/containment.ts). */
  iam: IAMClient;
  /** When given, acknowledgements and releases are paged too, so that the other on-calls know. */
  sns?: { client: SNSClient; topicArn: string };
  now: () => number;
  /** Who runs the command, written into the incident's history. */
  user: string;
  commands?: PageCommands;
}

/** The usage text of `keysentry incidents`, for `lib/cli.ts` to show. */
export const INCIDENTS_USAGE = `keysentry incidents — what keysentry detected and did, and the on-call's answer

Usage: keysentry incidents COMMAND [ID] --table PREFIX [--region R] [--endpoint URL] [--topic-arn ARN] [--by WHO]

  keysentry incidents list [--all] [--json]     open incidents, newest first (--all: released ones too)
  keysentry incidents show ID [--json]          reasons, evidence, what was done, history, undo commands
  keysentry incidents ack ID [--note TEXT]      you are on it
  keysentry incidents release ID [--note TEXT]  re-enable the key / remove the deny policy (acks first)
  keysentry incidents benign ID [--note TEXT]   a false positive (the weekly tuning learns from it)
  keysentry incidents confirm ID [--note TEXT]  a real attack: release then needs --force

  --table PREFIX      the deployment's tables (PREFIX-windows, PREFIX-state), e.g. keysentry-prod
  --region R          the deployment's region (default: the AWS CLI's)
  --endpoint URL      another DynamoDB/IAM/SNS endpoint (an emulator)
  --topic-arn ARN     also page the on-call's step (ack, release) to the pages topic
  --by WHO            who you are, in the incident's history (default: your AWS caller identity,
                      sts get-caller-identity; then $USER)
`;


async function load(store: IncidentStore, id: string): Promise<Incident> {
  const incident = await store.getIncident(id);
  if (incident === undefined) throw new IncidentNotFoundError(`no incident ${id}`);
  return incident;
}

function whoOf(incident: Incident): string {
  const { identity } = incident;
  if (identity.type === 'assumed-role') return `${identity.roleName ?? incident.principal}/${identity.sessionName ?? incident.actor}`;
  if (identity.userName) return `${identity.userName} ${incident.accessKeyId ?? ''}`.trim();
  return incident.actor;
}

function formatList(incidents: readonly Incident[]): string {
  if (incidents.length === 0) return 'No incidents.\n';
  const rows = incidents.map((incident) => [
    incident.incidentId,
    incident.status,
    incident.action + (incident.blockedBy ? `(${incident.blockedBy})` : ''),
    String(incident.score),
    formatIsoTime(incident.decisionTime),
    incident.verdict ?? '-',
    whoOf(incident),
  ]);
  const header = ['ID', 'STATUS', 'ACTION', 'SCORE', 'DECIDED', 'VERDICT', 'WHO'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function formatHistory(incident: Incident): string {
  const entries = incident.history ?? [];
  if (entries.length === 0) return 'HISTORY\n  (none)\n';
  const lines = entries.map((entry) => `  ${formatIsoTime(entry.at)}  ${entry.status.padEnd(18)} by ${entry.by}${entry.note ? `: ${entry.note}` : ''}`);
  return `HISTORY\n${lines.join('\n')}\n`;
}

/** Pages the on-call's step when a topic is configured, and records the state as known either way. */
async function announce(incident: Incident, io: CliIo, deps: IncidentCliDependencies): Promise<void> {
  const signature = pageSignature(incident);
  if (deps.sns !== undefined) {
    const page = composePage(incident, { by: deps.user, commands: deps.commands });
    try {
      await publishPage(deps.sns.client, deps.sns.topicArn, page);
    } catch (error) {
      io.stderr.write(`keysentry: warning: the page to ${deps.sns.topicArn} failed (${(error as Error).message}); the step is recorded\n`);
      return;
    }
  }
  // The on-call made this state: it is not news to page them about.
  if (signature !== undefined) await recordPaged(deps.store, incident.incidentId, signature);
}

async function release(
  incident: Incident,
  note: string | undefined,
  force: boolean,
  io: CliIo,
  deps: IncidentCliDependencies,
): Promise<number> {
  const id = incident.incidentId;
  if (incident.status === 'released') {
    io.stdout.write(`${id} is already released.\n`);
    return 0;
  }
  if (incident.verdict === 'confirmed' && !force) {
    throw new KeysentryError(
      `${id} is confirmed as an attack: a release would re-enable the attacker's access; add --force if you mean it`,
    );
  }
  const step = { by: deps.user, at: deps.now(), note };
  if (incident.status !== 'acknowledged') await acknowledgeIncident(deps.store, id, { ...step, note: 'acknowledged by release' });
  const results = incident.containment === undefined ? [] : await undoContainment(deps.iam, incident.containment, { now: deps.now });
  for (const result of results) io.stdout.write(`  ${describeAction(result)}\n`);
  const failed = results.filter((result) => !result.ok);
  if (failed.length > 0) {
    io.stderr.write(`keysentry: ${id} is not released: ${failed.length} of ${results.length} undo actions failed. Do them by hand:\n`);
    for (const result of failed) if (!result.ok) io.stderr.write(`  ${result.manualCommand}\n`);
    io.stderr.write('then run the release again (it is safe to repeat).\n');
    return 1;
  }
  const undone = results.flatMap((result) => (result.ok && result.changed ? [result.detail] : []));
  const released = await markReleased(deps.store, id, {
    ...step,
    at: deps.now(),
    note: [note, undone.length > 0 ? `undone: ${undone.join('; ')}` : undefined].filter(Boolean).join(' — ') || undefined,
  });
  io.stdout.write(`${id} released by ${deps.user}.\n`);
  await announce(released, io, deps);
  return 0;
}

/**
 * `keysentry incidents list | show ID | ack ID | release ID | benign ID | confirm ID [--note TEXT]`.
 * Every step is a conditional write that records who and why in the incident's history; release
 * first undoes the containment with the caller's IAM credentials (re-enables the key unless it was
 * inactive before, removes the incident's deny policy), and records the release only when every
 * undo succeeded — otherwise it prints the commands to finish by hand and exits 1. Usage errors
 * throw `UsageError`, other failures `KeysentryError`s, as `runCli` expects.
 */
export async function runIncidentsCommand(args: readonly string[], io: CliIo, deps: IncidentCliDependencies): Promise<number> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      note: { type: 'string' },
      json: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
  });
  if (verb === undefined || verb === 'help' || verb === '--help') {
    io.stdout.write(INCIDENTS_USAGE);
    return verb === undefined ? 2 : 0;
  }
  if (verb === 'list') {
    if (positionals.length > 0) throw new UsageError('incidents list takes no ID');
    const incidents = (await deps.store.listIncidents())
      .filter((incident) => values.all || incident.status !== 'released')
      .sort((a, b) => b.decisionTime - a.decisionTime);
    if (values.json) for (const incident of incidents) io.stdout.write(`${JSON.stringify(incident)}\n`);
    else io.stdout.write(formatList(incidents));
    return 0;
  }
  const [id, ...extra] = positionals;
  if (id === undefined || extra.length > 0) throw new UsageError(`incidents ${verb} needs exactly one incident ID`);
  const note = values.note?.trim() || undefined;
  const step = { by: deps.user, at: deps.now(), note };
  switch (verb) {
    case 'show': {
      const incident = await load(deps.store, id);
      if (values.json) io.stdout.write(`${JSON.stringify(incident, null, 2)}\n`);
      else io.stdout.write(`${composePage(incident, { commands: deps.commands }).email}\n${formatHistory(incident)}`);
      return 0;
    }
    case 'ack': {
      const before = await load(deps.store, id);
      const incident = await acknowledgeIncident(deps.store, id, step);
      if (before.status === 'acknowledged') io.stdout.write(`${id} was already acknowledged.\n`);
      else {
        io.stdout.write(`${id} acknowledged by ${deps.user}.\n`);
        await announce(incident, io, deps);
      }
      return 0;
    }
    case 'release':
      return release(await load(deps.store, id), note, values.force, io, deps);
    case 'benign':
    case 'confirm': {
      const incident = await setVerdict(deps.store, id, verb === 'benign' ? 'benign' : 'confirmed', step);
      io.stdout.write(`${id} marked ${incident.verdict} by ${deps.user}.\n`);
      if (verb === 'benign' && incident.containment !== undefined && !incident.containment.dryRun && incident.status !== 'released') {
        io.stdout.write(`Its containment stays in place until: keysentry incidents release ${id}\n`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown incidents command "${verb}"`);
  }
}

/**
 * Who runs the command, for the incident's history: `--by` when given, else the AWS caller
 * identity of the credentials in use (`sts:GetCallerIdentity`, which needs no permission), else
 * the shell's user.
 */
async function whoRuns(by: string | undefined, sts: STSClient | undefined, io: CliIo): Promise<string> {
  if (by !== undefined && by.trim() !== '') return by.trim();
  try {
    const arn = sts === undefined ? undefined : (await sts.send(new GetCallerIdentityCommand({}))).Arn;
    if (arn !== undefined) return arn;
  } catch (error) {
    io.stderr.write(`keysentry: warning: could not read the AWS caller identity (${messageOf(error)}); recording ${io.user ?? 'unknown'}\n`);
  }
  return io.user ?? 'unknown';
}

const READ_ONLY_VERBS = new Set(['list', 'show']);

/** `keysentry incidents …` against a deployment's DynamoDB tables, with the on-call's own credentials. */
export async function runIncidentsOnDeployment(args: readonly string[], io: CliIo, deps: CliDependencies): Promise<number> {
  const { options, rest } = takeDeploymentOptions(args);
  if (rest.length === 0) throw new UsageError('incidents needs a command: list, show, ack, release, benign or confirm');
  const store = deploymentStore(options, 'incidents');
  const clients = deps.ops.connect({ endpoint: options.endpoint, region: options.region });
  const topicArn = options['topic-arn'];
  const user = READ_ONLY_VERBS.has(rest[0] as string) ? (options.by ?? io.user ?? 'unknown') : await whoRuns(options.by, clients.sts, io);
  return withDeploymentTables(options, () => clients.dynamodb.config.region(), () =>
    runIncidentsCommand(rest, io, {
      store,
      iam: clients.iam,
      sns: topicArn === undefined ? undefined : { client: clients.sns, topicArn },
      now: deps.ops.now,
      user,
      commands: { cliOptions: deploymentArguments(options) },
    }),
  );
}

/** `keysentry incidents`. */
export const INCIDENTS_COMMAND: CliCommand = {
  name: 'incidents',
  summary: 'the incidents of a deployment: list, show, ack, release, benign, confirm',
  usage: INCIDENTS_USAGE,
  run: runIncidentsOnDeployment,
};
