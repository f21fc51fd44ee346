import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silenceStdout } from './support/test-hooks.ts';
import { makeContainHandler, type ContainHandler } from '../functions/contain-handler.ts';
import type { ActionResult } from '../lib/aws/containment.ts';
import type { IncidentChange } from '../lib/engine/score-engine.ts';
import { DynamoDbStore, ensureTables } from '../lib/aws/dynamodb-store.ts';
import { makeIncidentId, type Incident } from '../lib/domain/incident.ts';
import { runIncidentsCommand } from '../lib/commands/incidents-command.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { SMS_MAX } from '../lib/aws/paging.ts';
import { replayLogs } from '../lib/engine/replay.ts';
import type { ResponderRun } from '../lib/engine/responder.ts';
import { createResponderDispatch, selectIncidentsToRespond } from '../lib/engine/responder-dispatch.ts';
import { DynamoDbResponseMarkers } from '../lib/aws/response-markers.ts';
import { simulateScenario, type ScenarioName, type SimulationManifest } from '../lib/simulator/index.ts';
import { createEmulatorDynamoDbClient, emulatorClientConfig, inMotoAccount, TEST_REGION, uniqueName } from './support/aws-clients.ts';
import { breachIncident } from './fixtures/incidents.ts';

// The containment path against the AWS emulator: the simulated breach and ransomware run are
// replayed through the detector (incidents written to DynamoDB), the score functions' dispatch
// hands them to the contain handler, which changes IAM and publishes to SNS; an SQS queue
// subscribed to the topic receives the pages as a phone or a mailbox would.

/** The simulated account. moto keeps state per account: this file's IAM users cannot meet another file's. */
const ACCOUNT = '111122223333';

let iam: IAMClient;
let sns: SNSClient;
let sqs: SQSClient;
let incidents: DynamoDbStore;
let markers: DynamoDbResponseMarkers;
let topicArn: string;
let queueUrl: string;
let root: string;
const tables = { windowsTable: uniqueName('ks-contain-windows'), stateTable: uniqueName('ks-contain-state') };

beforeAll(async () => {
  const config = emulatorClientConfig();
  iam = new IAMClient(config);
  sns = new SNSClient(config);
  sqs = new SQSClient(config);
  inMotoAccount(iam, ACCOUNT);
  inMotoAccount(sns, ACCOUNT);
  inMotoAccount(sqs, ACCOUNT);
  const dynamo = createEmulatorDynamoDbClient();
  await ensureTables(dynamo, tables);
  incidents = new DynamoDbStore({ client: dynamo, ...tables });
  markers = new DynamoDbResponseMarkers({ client: dynamo, stateTable: tables.stateTable });
  ({ TopicArn: topicArn = '' } = await sns.send(new CreateTopicCommand({ Name: uniqueName('keysentry-pages') })));
  ({ QueueUrl: queueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('on-call-phone') })));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: Attributes?.QueueArn }));
  root = await mkdtemp(join(tmpdir(), 'keysentry-containment-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// Powertools Metrics writes EMF lines to stdout; the latency lines go through console.log.
silenceStdout();

/** A page as the on-call's queue receives it: SNS's envelope around the `sqs` entry of the page. */
interface ReceivedPage {
  incidentId: string;
  kind: string;
  severity: string;
  sms: string;
  email: string;
  attributes: Record<string, string>;
}

/** Every page waiting in the queue, removed from it. */
async function drainPages(): Promise<ReceivedPage[]> {
  const pages: ReceivedPage[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) return pages;
    for (const message of Messages) {
      const envelope = JSON.parse(message.Body ?? '{}') as { Message: string; MessageAttributes?: Record<string, { Value: string }> };
      const attributes = Object.fromEntries(Object.entries(envelope.MessageAttributes ?? {}).map(([name, value]) => [name, value.Value]));
      pages.push({ ...(JSON.parse(envelope.Message) as Omit<ReceivedPage, 'attributes'>), attributes });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

function containHandler(options: { dryRun?: boolean; protectedPrincipals?: string[] } = {}): ContainHandler {
  return makeContainHandler({
    store: incidents,
    markers,
    iam,
    sns,
    topicArn,
    guard: { protectedPrincipals: options.protectedPrincipals ?? [], ownRoleArns: [`arn:aws:iam::${ACCOUNT}:role/keysentry-test-contain-${TEST_REGION}-lambdaRole`], accounts: [ACCOUNT] },
    dryRun: options.dryRun ?? false,
    commands: { cliOptions: `--table ${tables.stateTable.replace(/-state$/, '')}` },
    logger: new Logger({ serviceName: 'keysentry', logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'keysentry-test', serviceName: 'keysentry' }),
    now: Date.now,
  });
}

/**
 * Windows and baselines in memory (sixteen days of warm-up over HTTP would take minutes), incidents
 * in DynamoDB, where the responder reads them as in production.
 */
class IncidentsInDynamoDb extends MemoryStore {
  override openIncident(candidate: Incident, cooldownMs: number) {
    return incidents.openIncident(candidate, cooldownMs);
  }
  override updateIncident(incident: Incident) {
    return incidents.updateIncident(incident);
  }
  override getIncident(incidentId: string) {
    return incidents.getIncident(incidentId);
  }
  override listIncidents() {
    return incidents.listIncidents();
  }
}

interface PreparedScenario {
  manifest: SimulationManifest;
  logs: string;
  /** Simulated long-term key → the key moto created for the same user. */
  keys: Map<string, string>;
}

/** Every `.json.gz` under `dir`. */
async function logFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.json.gz')).map((entry) => join(entry.parentPath, entry.name));
}

/** The simulated world's keys (the same in every scenario of a seed) → the keys moto made for them. */
const emulatorKeys = new Map<string, string>();

/**
 * Simulates a scenario and creates its IAM users, their keys and its roles in the emulator. moto
 * makes up its own key ids, so the simulated trail is rewritten to carry them: the detector then
 * reads the keys IAM knows, exactly as it would read a real trail.
 */
async function prepareScenario(scenario: ScenarioName): Promise<PreparedScenario> {
  const dir = join(root, scenario);
  const manifest = await simulateScenario(scenario, dir, { days: 16 });
  const keys = new Map<string, string>();
  for (const actor of manifest.actors) {
    if (actor.identityType !== 'iam-user-key') continue;
    const userName = actor.principalArn.split('/').pop() as string;
    for (const simulated of actor.accessKeyIds) {
      if (!emulatorKeys.has(simulated)) {
        await iam.send(new CreateUserCommand({ UserName: userName })).catch((error: Error) => {
          if (!error.name.startsWith('EntityAlreadyExists')) throw error;
        });
        const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
        emulatorKeys.set(simulated, AccessKey?.AccessKeyId as string);
      }
      keys.set(simulated, emulatorKeys.get(simulated) as string);
    }
  }
  for (const roleName of ['patient-portal-app', 'backup-role']) {
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
    await iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: trust })).catch((error: Error) => {
      if (!error.name.startsWith('EntityAlreadyExists')) throw error;
    });
  }
  const pattern = new RegExp([...keys.keys()].join('|'), 'g');
  for (const file of await logFiles(join(dir, 'AWSLogs'))) {
    const text = gunzipSync(await readFile(file)).toString('utf8');
    await writeFile(file, gzipSync(text.replace(pattern, (simulated) => keys.get(simulated) as string), { level: 1 }));
  }
  return { manifest, logs: join(dir, 'AWSLogs'), keys };
}

/** Replays the logs; every incident change, as the score functions would hand it on. */
async function replay(logs: string): Promise<IncidentChange[]> {
  const changes: IncidentChange[] = [];
  await replayLogs({ paths: [logs], store: new IncidentsInDynamoDb(), onIncident: (change) => changes.push(structuredClone(change)) });
  return changes;
}

/**
 * Hands the changes to the responder the way the score function does: markers, then an
 * asynchronous Lambda invocation, here delivered straight to the contain handler.
 */
async function dispatch(changes: readonly IncidentChange[], handler: ContainHandler): Promise<{ run: ResponderRun; decidedAt: number }> {
  const lambda = new LambdaClient({ region: TEST_REGION });
  let invocation: Promise<ResponderRun> | undefined;
  mockClient(lambda)
    .on(InvokeCommand)
    .callsFake((input: { Payload: Uint8Array }) => {
      invocation = handler(JSON.parse(new TextDecoder().decode(input.Payload)));
      return { StatusCode: 202 };
    });
  const notify = createResponderDispatch({ lambda, functionName: 'keysentry-test-contain', markers, now: Date.now });
  const decidedAt = Date.now();
  await notify(changes);
  if (invocation === undefined) throw new Error('the responder was not invoked');
  return { run: await invocation, decidedAt };
}

async function keyStatuses(userName: string): Promise<Map<string, string>> {
  const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  return new Map(AccessKeyMetadata.map((key) => [key.AccessKeyId as string, key.Status as string]));
}

const userPolicies = async (userName: string): Promise<string[]> =>
  (await iam.send(new ListUserPoliciesCommand({ UserName: userName }))).PolicyNames ?? [];

const ioCapture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) } }, out, err };
};

function logLatency(label: string, run: ResponderRun, incidentId: string, decidedAt: number): void {
  const response = run.responses.find((r) => r.incidentId === incidentId);
  const first = (kind: ActionResult['kind']) => response?.containment?.actions.find((action) => action.kind === kind)?.at;
  const disabled = first('deactivate-access-key') ?? first('deny-role-session') ?? first('deny-user-sessions');
  console.log(
    `[latency] ${label}: decision → ${first('deactivate-access-key') ? 'key inactive' : 'deny policy in place'} ${(disabled ?? Number.NaN) - decidedAt} ms, ` +
      `decision → page published ${(response?.timings.pagedAt ?? Number.NaN) - decidedAt} ms ` +
      `(responder start ${response ? response.timings.startedAt - decidedAt : Number.NaN} ms)`,
  );
  console.log(`[page] ${response?.page?.sms}`);
}

describe('containment of the simulated breach, against the emulator', () => {
  let breach: PreparedScenario;
  let attackerKey: string;
  let incidentId: string;

  beforeAll(async () => {
    breach = await prepareScenario('breach');
    const attacker = breach.manifest.actors.find((actor) => !actor.benign);
    attackerKey = breach.keys.get(attacker?.accessKeyIds[0] ?? '') as string;
    expect(attackerKey).toMatch(/^AKIA/);
  }, 120_000);

  it('disables the attacker key, denies its sessions, leaves every benign key alone and pages once', { timeout: 120_000 }, async () => {
    const changes = await replay(breach.logs);
    const { run, decidedAt } = await dispatch(changes, containHandler());
    const attackerIncidents = changes.filter((change) => change.kind === 'created' && change.incident.accessKeyId === attackerKey);
    expect(attackerIncidents).toHaveLength(1);
    incidentId = attackerIncidents[0]?.incident.incidentId as string;
    logLatency('breach (IAM user key)', run, incidentId, decidedAt);

    expect((await keyStatuses('contractor-2019')).get(attackerKey)).toBe('Inactive');
    for (const [simulated, key] of breach.keys) {
      if (key === attackerKey) continue;
      const user = breach.manifest.actors.find((actor) => actor.accessKeyIds.includes(simulated))?.principalArn.split('/').pop() as string;
      expect((await keyStatuses(user)).get(key), `${user} ${key}`).toBe('Active');
      expect(await userPolicies(user)).toEqual([]);
    }

    const { PolicyDocument } = await iam.send(new GetUserPolicyCommand({ UserName: 'contractor-2019', PolicyName: `keysentry-deny-${incidentId}` }));
    const policy = JSON.parse(decodeURIComponent(PolicyDocument ?? '{}'));
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) } },
      }),
    ]);

    const stored = await incidents.getIncident(incidentId);
    expect(stored).toMatchObject({ status: 'contained', containment: { ok: true, dryRun: false }, pagedState: 'contained/contained' });
    expect(await markers.list()).toEqual([]);

    const pages = await drainPages();
    expect(pages.map((page) => page.incidentId)).toEqual([incidentId]);
    const [page] = pages;
    expect(page?.sms.length).toBeLessThanOrEqual(SMS_MAX);
    expect(page?.sms).toMatch(new RegExp(`^${incidentId} CONTAINED key AKIA\\.\\.\\.${attackerKey.slice(-4)} contractor-2019: .* Key disabled\\.$`));
    expect(page?.attributes).toMatchObject({ severity: 'critical', action: 'contained', incidentId });
    expect(page?.email).toContain(`aws iam update-access-key --user-name contractor-2019 --access-key-id ${attackerKey} --status Active`);
    expect(page?.email).toContain(`aws iam delete-user-policy --user-name contractor-2019 --policy-name keysentry-deny-${incidentId}`);
  });

  it('pages nothing more when the responder runs again, and contains nothing twice', { timeout: 60_000 }, async () => {
    const before = await incidents.getIncident(incidentId);
    await containHandler()({ incidentIds: [incidentId] });
    expect(await incidents.getIncident(incidentId)).toEqual(before);
    expect(await drainPages()).toEqual([]);
  });

  it('restores the key and removes the policy on release, recording who and why', { timeout: 60_000 }, async () => {
    const { io, out } = ioCapture();
    const code = await runIncidentsCommand(['release', incidentId, '--note', 'contractor confirmed it was their backup job'], io, {
      store: incidents,
      iam,
      sns: { client: sns, topicArn },
      now: Date.now,
      user: 'oncall-alice',
    });
    expect(code).toBe(0);
    expect(out.join('')).toContain(`${incidentId} released by oncall-alice.`);
    expect((await keyStatuses('contractor-2019')).get(attackerKey)).toBe('Active');
    expect(await userPolicies('contractor-2019')).toEqual([]);
    const released = await incidents.getIncident(incidentId);
    expect(released?.status).toBe('released');
    expect(released?.history?.map((entry) => [entry.status, entry.by])).toEqual([
      ['contained', 'keysentry'],
      ['acknowledged', 'oncall-alice'],
      ['released', 'oncall-alice'],
    ]);
    expect(released?.history?.at(-1)?.note).toContain('contractor confirmed it was their backup job');
    const pages = await drainPages();
    expect(pages.map((page) => [page.incidentId, page.kind, page.severity])).toEqual([[incidentId, 'released', 'info']]);
    expect(pages[0]?.sms).toMatch(new RegExp(`^${incidentId} RELEASED by oncall-alice`));

    // A second release finds nothing to do; the policy already gone is not an error.
    const again = ioCapture();
    expect(await runIncidentsCommand(['release', incidentId], again.io, { store: incidents, iam, now: Date.now, user: 'oncall-alice' })).toBe(0);
    expect(again.out.join('')).toContain('already released');
  });
});

describe('containment of the ransomware role session, against the emulator', () => {
  it('denies that one session of the role by its role id and session name, and pages once', { timeout: 120_000 }, async () => {
    const ransomware = await prepareScenario('ransomware-versions');
    const attacker = ransomware.manifest.actors.find((actor) => !actor.benign);
    const sessionKey = attacker?.accessKeyIds[0] as string;
    const changes = await replay(ransomware.logs);
    const created = changes.filter((change) => change.kind === 'created' && change.incident.accessKeyId === sessionKey);
    expect(created).toHaveLength(1);
    const incidentId = created[0]?.incident.incidentId as string;

    const { run, decidedAt } = await dispatch(changes, containHandler());
    logLatency('ransomware (role session)', run, incidentId, decidedAt);

    // The truth is in the trail: the session's principal id is `<roleId>:<sessionName>`.
    const record = (await readTrail(ransomware.logs, sessionKey)).userIdentity;
    expect(record.principalId).toMatch(/^AROA[A-Z0-9]+:botocore-session-\d+$/);
    const { PolicyDocument } = await iam.send(new GetRolePolicyCommand({ RoleName: 'patient-portal-app', PolicyName: `keysentry-deny-${incidentId}` }));
    expect(JSON.parse(decodeURIComponent(PolicyDocument ?? '{}')).Statement).toEqual([
      expect.objectContaining({ Effect: 'Deny', Action: '*', Resource: '*', Condition: { StringLike: { 'aws:userid': record.principalId } } }),
    ]);
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: 'patient-portal-app' }))).PolicyNames).toEqual([`keysentry-deny-${incidentId}`]);
    expect(await incidents.getIncident(incidentId)).toMatchObject({ status: 'contained' });

    const pages = await drainPages();
    expect(pages.map((page) => page.incidentId)).toEqual([incidentId]);
    expect(pages[0]?.sms.length).toBeLessThanOrEqual(SMS_MAX);
    expect(pages[0]?.sms).toMatch(new RegExp(`^${incidentId} CONTAINED role patient-portal-app session botocore-session-\\d+: .* Session denied\\.$`));
    expect(pages[0]?.email).toContain(`aws iam delete-role-policy --role-name patient-portal-app --policy-name keysentry-deny-${incidentId}`);
  });
});

/** The first record of `accessKeyId` in the trail. */
async function readTrail(logs: string, accessKeyId: string): Promise<{ userIdentity: { principalId?: string } }> {
  for (const file of (await logFiles(logs)).sort()) {
    const text = gunzipSync(await readFile(file)).toString('utf8');
    if (!text.includes(accessKeyId)) continue;
    const records = (JSON.parse(text) as { Records: Array<{ userIdentity: { accessKeyId?: string; principalId?: string } }> }).Records;
    const found = records.find((record) => record.userIdentity.accessKeyId === accessKeyId);
    if (found !== undefined) return found;
  }
  throw new Error(`no record of ${accessKeyId}`);
}

describe('what the responder must not change, against the emulator', () => {
  /** A user of its own with one key, and the breach incident moved onto that key. */
  async function userWithIncident(prefix: string): Promise<{ userName: string; key: string; incident: Incident }> {
    const userName = uniqueName(prefix);
    await iam.send(new CreateUserCommand({ UserName: userName }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    const key = AccessKey?.AccessKeyId as string;
    const fixture = breachIncident();
    const incidentId = makeIncidentId(key, Date.now());
    const arn = `arn:aws:iam::${ACCOUNT}:user/${userName}`;
    const incident: Incident = {
      ...fixture,
      incidentId,
      actor: key,
      accessKeyId: key,
      principal: arn,
      identity: { ...fixture.identity, accessKeyId: key, actor: key, longTermKey: key, userName, arn, principal: arn },
      decisionTime: Date.now(),
      updatedTime: Date.now(),
    };
    await incidents.openIncident(incident, 3_600_000);
    return { userName, key, incident };
  }

  it('only pages about a protected key, whatever the decision says', { timeout: 60_000 }, async () => {
    const { userName, key, incident } = await userWithIncident('break-glass');
    await containHandler({ protectedPrincipals: [`arn:aws:iam::${ACCOUNT}:user/break-glass-*`] })({ incidentIds: [incident.incidentId] });
    expect((await keyStatuses(userName)).get(key)).toBe('Active');
    expect(await userPolicies(userName)).toEqual([]);
    const pages = await drainPages();
    expect(pages.map((page) => [page.incidentId, page.kind])).toEqual([[incident.incidentId, 'not-contained']]);
    expect(pages[0]?.sms).toMatch(new RegExp(`^${incident.incidentId} NOT CONTAINED \\(protected\\) key `));
  });

  it('changes nothing in IAM in dry run and pages what it would have done', { timeout: 60_000 }, async () => {
    const { userName, key, incident } = await userWithIncident('dry-run');
    await containHandler({ dryRun: true })({ incidentIds: [incident.incidentId] });
    expect((await keyStatuses(userName)).get(key)).toBe('Active');
    expect(await userPolicies(userName)).toEqual([]);
    const pages = await drainPages();
    expect(pages.map((page) => page.kind)).toEqual(['would-contain']);
    expect(pages[0]?.sms).toMatch(new RegExp(`^${incident.incidentId} WOULD CONTAIN \\(dry-run\\) key .* Nothing changed\\.$`));
    expect(pages[0]?.email).toContain(`aws iam update-access-key --user-name ${userName} --access-key-id ${key} --status Inactive`);
  });

  it('counts a user that is gone as contained, and releases it without error (IAM answers NoSuchEntity)', { timeout: 60_000 }, async () => {
    const { incident } = await userWithIncident('departed');
    const gone = uniqueName('gone');
    const goneArn = `arn:aws:iam::${ACCOUNT}:user/${gone}`;
    const ghost: Incident = { ...incident, identity: { ...incident.identity, userName: gone, arn: goneArn, principal: goneArn }, revision: incident.revision + 1 };
    expect(await incidents.updateIncident(ghost)).toBe(true);
    await containHandler()({ incidentIds: [incident.incidentId] });
    const stored = await incidents.getIncident(incident.incidentId);
    expect(stored?.status).toBe('contained');
    expect(stored?.containment?.actions.map((action) => [action.ok, action.ok && action.changed])).toEqual([
      [true, false],
      [true, false],
    ]);
    expect((await drainPages()).map((page) => page.kind)).toEqual(['contained']);

    const { io } = ioCapture();
    expect(await runIncidentsCommand(['release', incident.incidentId], io, { store: incidents, iam, now: Date.now, user: 'oncall-bob' })).toBe(0);
    expect((await incidents.getIncident(incident.incidentId))?.status).toBe('released');
  });
});
