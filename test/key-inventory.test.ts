import { Logger } from '@aws-lambda-powertools/logger';
import { CloudTrailClient, LookupEventsCommand, type Event as TrailEvent, type LookupEventsCommandInput } from '@aws-sdk/client-cloudtrail';
import { CreateAccessKeyCommand, CreateUserCommand, DeleteUserCommand, GetUserCommand, IAMClient, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeInventoryHandler } from '../functions/inventory-handler.ts';
import { runKeysCommand, type OpsClients } from '../lib/commands/keys-command.ts';
import type { Sighting } from '../lib/domain/baseline.ts';
import { buildKeyInventory, formatKeyInventory, NEW_KEY_GRACE_DAYS, type InventoryKey, type KeyInventory } from '../lib/ops/key-inventory.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { DynamoDbStore, ensureTables } from '../lib/aws/dynamodb-store.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { emulatorClientConfig, inMotoAccount, TEST_REGION, uniqueName } from './support/aws-clients.ts';

// The access-key inventory against the AWS emulator: users, keys, last use and creators' existence
// come from moto's IAM; a key is "used" by signing a real S3 request with it, which moto records in
// GetAccessKeyLastUsed as AWS does. moto has no CloudTrail event history (LookupEvents answers 500),
// so that one call is mocked, with records shaped like CloudTrail's real CreateAccessKey events.

/** This file's moto account: the inventory lists every user of an account, and other files create users too. */
const ACCOUNT = '444455556666';
const DAY = 86_400_000;

const inAccount = <T extends Parameters<typeof inMotoAccount>[0]>(client: T): T => inMotoAccount(client, ACCOUNT);

let iam: IAMClient;
let cloudtrail: CloudTrailClient;
let trailMock: AwsClientStub<CloudTrailClient>;

/** The people and keys of the account, created once. */
const names = { contractor: uniqueName('contractor'), app: uniqueName('app'), admin: uniqueName('admin'), jane: uniqueName('jane') };
let contractorKey: string;
let appKey: string;
let janeId: string;
let adminArn: string;
let adminId: string;

async function createKey(userName: string): Promise<{ id: string; secret: string }> {
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return { id: AccessKey?.AccessKeyId ?? '', secret: AccessKey?.SecretAccessKey ?? '' };
}

beforeAll(async () => {
  iam = inAccount(new IAMClient(emulatorClientConfig()));
  for (const userName of Object.values(names)) await iam.send(new CreateUserCommand({ UserName: userName }));
  ({ User: { UserId: janeId = '' } = {} } = await iam.send(new GetUserCommand({ UserName: names.jane })));
  ({ User: { Arn: adminArn = '', UserId: adminId = '' } = {} } = await iam.send(new GetUserCommand({ UserName: names.admin })));
  contractorKey = (await createKey(names.contractor)).id;
  const app = await createKey(names.app);
  appKey = app.id;
  // The application uses its key: an S3 request signed with it, which IAM (and moto) record as its last use.
  const s3 = new S3Client({ ...emulatorClientConfig(), credentials: { accessKeyId: app.id, secretAccessKey: app.secret }, forcePathStyle: true });
  await s3.send(new ListBucketsCommand({}));
});

afterEach(() => {
  trailMock?.restore();
});

/**
 * A `CreateAccessKey` management event as CloudTrail records it (IAM's calls are in us-east-1):
 * the creator in `userIdentity`, the new key in `responseElements.accessKey`.
 */
function createAccessKeyEvent(options: { creatorName: string; creatorId: string; userName: string; accessKeyId: string; at: number }): TrailEvent {
  const { creatorName, creatorId, userName, accessKeyId, at } = options;
  const eventTime = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const eventID = randomUUID();
  const record = {
    eventVersion: '1.09',
    userIdentity: {
      type: 'IAMUser',
      principalId: creatorId,
      arn: `arn:aws:iam::${ACCOUNT}:user/${creatorName}`,
      accountId: ACCOUNT,
      accessKeyId: 'ASIAEXAMPLECONSOLE01',
      userName: creatorName,
      sessionContext: { attributes: { creationDate: eventTime, mfaAuthenticated: 'true' } },
    },
    eventTime,
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateAccessKey',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.24',
    userAgent: 'AWS Internal',
    requestParameters: { userName },
    responseElements: {
      accessKey: { accessKeyId, status: 'Active', userName, createDate: 'Nov 28, 2026 9:04:11 AM' },
    },
    requestID: randomUUID(),
    eventID,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: 'iam.amazonaws.com' },
    sessionCredentialFromConsole: 'true',
  };
  return {
    EventId: eventID,
    EventName: 'CreateAccessKey',
    ReadOnly: 'false',
    AccessKeyId: 'ASIAEXAMPLECONSOLE01',
    EventTime: new Date(at),
    EventSource: 'iam.amazonaws.com',
    Username: creatorName,
    Resources: [
      { ResourceType: 'AWS::IAM::AccessKey', ResourceName: accessKeyId },
      { ResourceType: 'AWS::IAM::User', ResourceName: userName },
    ],
    CloudTrailEvent: JSON.stringify(record),
  };
}

/**
 * CloudTrail's event history holding `events`: LookupEvents answers those of the asked event name
 * within `[StartTime, EndTime]`, newest first, one per page, so that every lookup paginates.
 */
function mockEventHistory(events: TrailEvent[]): void {
  cloudtrail = new CloudTrailClient({ ...emulatorClientConfig(), region: 'us-east-1' });
  trailMock = mockClient(cloudtrail);
  trailMock.on(LookupEventsCommand).callsFake((input: LookupEventsCommandInput) => {
    const name = input.LookupAttributes?.[0]?.AttributeValue;
    const within = (time: Date | undefined): boolean =>
      time !== undefined && time >= (input.StartTime ?? new Date(0)) && time <= (input.EndTime ?? new Date(8.64e15));
    const matching = events
      .filter((event) => event.EventName === name && within(event.EventTime))
      .sort((a, b) => (b.EventTime?.getTime() ?? 0) - (a.EventTime?.getTime() ?? 0));
    const start = Number(input.NextToken ?? 0);
    return { Events: matching.slice(start, start + 1), NextToken: start + 1 < matching.length ? String(start + 1) : undefined };
  });
}

const keyOf = (report: KeyInventory, accessKeyId: string): InventoryKey => {
  const key = report.keys.find((candidate) => candidate.accessKeyId === accessKeyId);
  expect(key, accessKeyId).toBeDefined();
  return key as InventoryKey;
};
const codes = (key: InventoryKey): string[] => key.flags.map((flag) => flag.code);

/** What keysentry learned from a day of the application's S3 traffic with its key. */
function appSighting(at: number): Sighting {
  return {
    id: appKey,
    kind: 'key',
    firstSeen: at,
    lastSeen: at,
    days: new Set([Math.floor(at / DAY)]),
    networks: new Map([['198.51.100.0/24', at]]),
    addresses: new Map([['198.51.100.7', at]]),
    tools: new Map([['aws-sdk-js', at]]),
    buckets: new Map([['health-checkups', at]]),
  };
}

describe('the access-key inventory', () => {
  it('flags a key created long ago and never used, and says its creator is beyond the event history', async () => {
    mockEventHistory([]);
    // moto dates a key at its creation, now: the clock is moved 400 days on instead, which is the
    // same age to the inventory (it only ever compares the key's dates with `now`).
    const now = Date.now() + 400 * DAY;
    const report = await buildKeyInventory({ iam, cloudtrail, now: () => now });

    const contractor = keyOf(report, contractorKey);
    expect(contractor).toMatchObject({ userName: names.contractor, status: 'Active', ageDays: 400, creator: { known: false, reason: 'older-than-90-days' } });
    expect(contractor.lastUsed).toBeUndefined();
    expect(codes(contractor)).toEqual(['active-never-used', 'old-key']);
    expect(contractor.flags[0]?.message).toContain('active for 400 days and never used');
    expect(contractor.deactivateCommand).toBe(`aws iam update-access-key --user-name ${names.contractor} --access-key-id ${contractorKey} --status Inactive`);
    // Used once, 400 days ago as this clock sees it: unused, not never used.
    expect(codes(keyOf(report, appKey))).toEqual(['unused-90-days', 'old-key']);

    const text = formatKeyInventory(report);
    expect(text).toContain(`${names.contractor}`);
    expect(text).toContain('unknown (older than 90 days)');
    expect(text).toContain(`to disable it: aws iam update-access-key --user-name ${names.contractor} --access-key-id ${contractorKey} --status Inactive`);
    expect(report.users).toBe(4);
  });

  it('does not call a key that was used today unused, and takes last use from IAM (service and region)', async () => {
    mockEventHistory([]);
    const now = Date.now() + 60_000;
    const report = await buildKeyInventory({ iam, cloudtrail, now: () => now });

    const app = keyOf(report, appKey);
    expect(app.lastUsed).toMatchObject({ daysAgo: 0, service: 's3', region: TEST_REGION });
    expect(app.flags).toEqual([]);
    // Created today and not used yet: a new key's grace period, not a key nobody needs.
    expect(codes(keyOf(report, contractorKey))).toEqual([]);
    // No state table given: the baseline flag is not decided rather than guessed.
    expect(report.baselinesRead).toBe(false);

    const weekLater = await buildKeyInventory({ iam, cloudtrail, now: () => now + NEW_KEY_GRACE_DAYS * DAY });
    expect(codes(keyOf(weekLater, contractorKey))).toEqual(['active-never-used']);
    // Flagged keys come first.
    expect(weekLater.keys[0]?.accessKeyId).toBe(contractorKey);
  });

  it('names the creator from CloudTrail, across pages of event history, and flags a key whose creator was deleted', async () => {
    const now = Date.now() + 8 * DAY;
    mockEventHistory([
      createAccessKeyEvent({ creatorName: names.admin, creatorId: adminId, userName: names.app, accessKeyId: appKey, at: now - 30 * DAY }),
      createAccessKeyEvent({ creatorName: names.jane, creatorId: janeId, userName: names.contractor, accessKeyId: contractorKey, at: now - 80 * DAY }),
    ]);
    await iam.send(new DeleteUserCommand({ UserName: names.jane }));
    try {
      const report = await buildKeyInventory({ iam, cloudtrail, now: () => now });

      const app = keyOf(report, appKey);
      expect(app.creator).toMatchObject({ known: true, arn: adminArn, type: 'IAMUser', exists: true, sourceIp: '203.0.113.24' });
      expect(codes(app)).not.toContain('creator-gone');

      const contractor = keyOf(report, contractorKey);
      expect(contractor.creator).toMatchObject({ known: true, principal: { kind: 'user', name: names.jane }, exists: false });
      expect(codes(contractor)).toEqual(['active-never-used', 'creator-gone']);
      expect(contractor.flags[1]?.message).toMatch(new RegExp(`by user ${names.jane}; that user no longer exists in IAM`));
      expect(formatKeyInventory(report)).toContain(`${names.jane} (gone)`);
    } finally {
      await iam.send(new CreateUserCommand({ UserName: names.jane }));
    }
  });

  it('counts a creator deleted and re-created under the same name as gone (another user id)', async () => {
    const now = Date.now() + 8 * DAY;
    const formerId = 'AIDAFORMERJANE000001';
    mockEventHistory([createAccessKeyEvent({ creatorName: names.jane, creatorId: formerId, userName: names.contractor, accessKeyId: contractorKey, at: now - 10 * DAY })]);
    const report = await buildKeyInventory({ iam, cloudtrail, now: () => now });

    const contractor = keyOf(report, contractorKey);
    expect(codes(contractor)).toContain('creator-gone');
    expect(contractor.flags.find((flag) => flag.code === 'creator-gone')?.message).toContain(`deleted and re-created under the same name (id ${formerId}`);
  });

  it('does not flag a key keysentry has seen touch S3 as not in its baseline, and flags the one it never saw', async () => {
    mockEventHistory([]);
    const now = Date.now() + 8 * DAY;
    const store = new MemoryStore();
    await store.recordSightings([appSighting(now - 3 * DAY)]);
    const report = await buildKeyInventory({ iam, cloudtrail, store, now: () => now });

    const app = keyOf(report, appKey);
    expect(codes(app)).not.toContain('not-in-baseline');
    expect(app.seenByKeysentry).toMatchObject({ activeDays: 1, buckets: ['health-checkups'] });
    expect(codes(keyOf(report, contractorKey))).toEqual(['active-never-used', 'not-in-baseline']);
  });

  it('lists the last day\'s IAM changes from CloudTrail, failed attempts included, and counts unreadable events', async () => {
    const now = Date.now();
    const attempt = JSON.parse(
      createAccessKeyEvent({ creatorName: names.contractor, creatorId: 'AIDACONTRACTOR000001', userName: names.contractor, accessKeyId: contractorKey, at: now - DAY / 2 })
        .CloudTrailEvent ?? '{}',
    ) as Record<string, unknown>;
    Object.assign(attempt, {
      eventName: 'AttachUserPolicy',
      requestParameters: { userName: names.contractor, policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
      responseElements: null,
      errorCode: 'AccessDenied',
      errorMessage: `User: arn:aws:iam::${ACCOUNT}:user/${names.contractor} is not authorized to perform: iam:AttachUserPolicy`,
    });
    mockEventHistory([
      { EventName: 'AttachUserPolicy', EventTime: new Date(now - DAY / 2), CloudTrailEvent: JSON.stringify(attempt) },
      { EventName: 'CreateUser', EventTime: new Date(now - DAY / 3), CloudTrailEvent: '{"eventName": "CreateUs' },
      // Two days ago: outside the last day.
      createAccessKeyEvent({ creatorName: names.admin, creatorId: adminId, userName: names.app, accessKeyId: appKey, at: now - 2 * DAY }),
    ]);

    const report = await buildKeyInventory({ iam, cloudtrail, now: () => now });
    expect(report.changes.events).toEqual([
      expect.objectContaining({
        eventName: 'AttachUserPolicy',
        userName: names.contractor,
        policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
        errorCode: 'AccessDenied',
        actor: `arn:aws:iam::${ACCOUNT}:user/${names.contractor}`,
      }),
    ]);
    expect(report.unreadableEvents).toBe(1);
    const asked = trailMock.commandCalls(LookupEventsCommand).map((call) => call.args[0].input.LookupAttributes?.[0]?.AttributeValue);
    expect(new Set(asked)).toEqual(
      new Set(['CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey', 'CreateUser', 'AttachUserPolicy', 'AttachRolePolicy', 'PutUserPolicy', 'PutRolePolicy']),
    );
    expect(formatKeyInventory(report)).toMatch(/AttachUserPolicy\s+user \S+ arn:aws:iam::aws:policy\/AdministratorAccess\s+by \S+ from 203\.0\.113\.24\s+FAILED \(AccessDenied\)/);
  });
});

describe('keysentry keys', () => {
  it('prints the table, or the report as JSON with --json', async () => {
    mockEventHistory([]);
    const output: string[] = [];
    const io = { stdout: { write: (text: string) => output.push(text) }, stderr: { write: (text: string) => output.push(text) } };
    const deps = { connect: () => ({ iam, cloudtrail }) as OpsClients, now: () => Date.now() + 8 * DAY };

    expect(await runKeysCommand(['--region', TEST_REGION], io, deps)).toBe(0);
    expect(output.join('')).toMatch(/^keysentry access keys, .*: 2 keys of 4 users, 1 flagged\n/);

    output.length = 0;
    expect(await runKeysCommand(['--json'], io, deps)).toBe(0);
    const report = JSON.parse(output.join('')) as KeyInventory;
    expect(report.keys.map((key) => key.accessKeyId)).toEqual([contractorKey, appKey]);
    expect(report.keys[0]?.flags.map((flag) => flag.code)).toEqual(['active-never-used']);
  });

  it('with --table, reads the deployment\'s key baselines from DynamoDB and flags the key it never saw', async () => {
    mockEventHistory([]);
    const prefix = uniqueName('keysentry-keys');
    const dynamodb = new DynamoDBClient(emulatorClientConfig());
    const names = { windowsTable: `${prefix}-windows`, stateTable: `${prefix}-state` };
    await ensureTables(dynamodb, names);
    const now = Date.now() + 8 * DAY;
    await new DynamoDbStore({ client: dynamodb, ...names }).recordSightings([appSighting(now - 3 * DAY)]);
    const output: string[] = [];
    const io = { stdout: { write: (text: string) => output.push(text) }, stderr: { write: (text: string) => output.push(text) } };
    const deps = { connect: () => ({ iam, cloudtrail, dynamodb }) as OpsClients, now: () => now };

    expect(await runKeysCommand(['--json', '--table', prefix], io, deps)).toBe(0);
    const report = JSON.parse(output.join('')) as KeyInventory;
    const flagsOf = (id: string) => report.keys.find((key) => key.accessKeyId === id)?.flags.map((flag) => flag.code);
    expect(flagsOf(appKey)).toEqual([]);
    expect(flagsOf(contractorKey)).toEqual(['active-never-used', 'not-in-baseline']);
  });
});

describe('the daily inventory function', () => {
  let sns: SNSClient;
  let sqs: SQSClient;
  let topicArn: string;
  let queueUrl: string;

  beforeAll(async () => {
    sns = inAccount(new SNSClient(emulatorClientConfig()));
    sqs = inAccount(new SQSClient(emulatorClientConfig()));
    ({ TopicArn: topicArn = '' } = await sns.send(new CreateTopicCommand({ Name: uniqueName('keysentry-pages') })));
    ({ QueueUrl: queueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('on-call-mailbox') })));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: Attributes?.QueueArn }));
  });

  /** The page as the on-call's queue receives it: SNS's envelope, removed from the queue. */
  async function receivePage() {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages).toHaveLength(1);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: Messages[0]?.ReceiptHandle }));
    return JSON.parse(Messages[0]?.Body ?? '{}') as { Message: string; Subject: string; MessageAttributes: Record<string, { Value: string }> };
  }

  async function runHandler(now: number) {
    const store = new MemoryStore();
    await store.recordSightings([appSighting(now - DAY)]);
    const logger = new Logger({ serviceName: 'keysentry', logLevel: 'SILENT' });
    return makeInventoryHandler({ iam, cloudtrail, sns, store, topicArn, now: () => now, logger })({});
  }

  it('publishes the report to the pages topic: a high page when a key is active and never used', async () => {
    const now = Date.now() + 8 * DAY;
    mockEventHistory([createAccessKeyEvent({ creatorName: names.admin, creatorId: adminId, userName: names.app, accessKeyId: appKey, at: now - DAY / 2 })]);
    const run = await runHandler(now);

    expect(run).toMatchObject({ severity: 'high', flagged: 1 });
    expect(run.sms).toBe('keysentry keys: 1 flagged (1 active never used, 1 not in baseline); 1 IAM change in the last day');
    const envelope = await receivePage();
    expect(envelope.MessageAttributes.severity?.Value).toBe('high');
    expect(envelope.MessageAttributes.action?.Value).toBe('inventory');
    expect(envelope.Subject).toBe('[keysentry] access keys: 1 flagged');
    // The queue gets the long form: the table, the flagged key first with the command that disables it.
    expect(envelope.Message).toContain(`to disable it: aws iam update-access-key --user-name ${names.contractor} --access-key-id ${contractorKey} --status Inactive`);
    expect(envelope.Message.indexOf(contractorKey)).toBeLessThan(envelope.Message.indexOf(appKey));
  });

  it('pages at info severity once the unused key is disabled: an inactive key signs nothing and is not flagged', async () => {
    const now = Date.now() + 60_000;
    mockEventHistory([]);
    await iam.send(new UpdateAccessKeyCommand({ UserName: names.contractor, AccessKeyId: contractorKey, Status: 'Inactive' }));
    try {
      const run = await runHandler(now);
      expect(run).toMatchObject({ severity: 'info', flagged: 0, keys: 2, sms: 'keysentry keys: 2 keys, none flagged' });
      const envelope = await receivePage();
      expect(envelope.MessageAttributes.severity?.Value).toBe('info');
      expect(envelope.Subject).toBe('[keysentry] access keys: none flagged');
    } finally {
      await iam.send(new UpdateAccessKeyCommand({ UserName: names.contractor, AccessKeyId: contractorKey, Status: 'Active' }));
    }
  });
});

describe('the access-key inventory on a real account on day one', () => {
  // Another moto account, so that the keys made here do not change the counts above.
  const OTHER = '777788889999';
  let other: IAMClient;
  let twoKeys: string[];
  let userName: string;

  beforeAll(async () => {
    other = inMotoAccount(new IAMClient(emulatorClientConfig()), OTHER);
    userName = uniqueName('rotating');
    await other.send(new CreateUserCommand({ UserName: userName }));
    twoKeys = [];
    for (let i = 0; i < 2; i++) twoKeys.push((await other.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey?.AccessKeyId ?? '');
  });

  it('lists every key without CloudTrail (moto has no LookupEvents): creators unknown with the reason, exit 0', async () => {
    // A plain client on the emulator: LookupEvents fails there, as it does for a role without cloudtrail:LookupEvents.
    const bare = inMotoAccount(new CloudTrailClient({ ...emulatorClientConfig(), region: 'us-east-1' }), OTHER);
    const report = await buildKeyInventory({ iam: other, cloudtrail: bare, now: () => Date.now() + 8 * DAY });
    expect(report.keys.map((key) => key.accessKeyId).sort()).toEqual([...twoKeys].sort());
    expect(report.cloudTrail).toMatchObject({ available: false, reason: expect.any(String) });
    for (const key of report.keys) expect(key.creator).toEqual({ known: false, reason: 'lookup-failed' });

    const output: string[] = [];
    const io = { stdout: { write: (text: string) => output.push(text) }, stderr: { write: (text: string) => output.push(text) } };
    const deps = { connect: () => ({ iam: other, cloudtrail: bare }) as OpsClients, now: () => Date.now() + 8 * DAY };
    expect(await runKeysCommand([], io, deps)).toBe(0);
    const text = output.join('');
    for (const key of twoKeys) expect(text).toContain(key);
    expect(text).toContain('unknown (CloudTrail not read)');
    expect(text).toMatch(/CloudTrail's event history not read \(.+\): creators unknown/);
  });

  it('flags both keys of a user with two active keys, and not once one is disabled', async () => {
    mockEventHistory([]);
    const report = await buildKeyInventory({ iam: other, cloudtrail, now: () => Date.now() + 60_000 });
    for (const key of twoKeys) expect(codes(keyOf(report, key))).toEqual(['two-active-keys']);
    expect(keyOf(report, twoKeys[0] as string).flags[0]?.message).toContain(`${userName} has 2 active keys`);

    await other.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: twoKeys[0], Status: 'Inactive' }));
    try {
      const after = await buildKeyInventory({ iam: other, cloudtrail, now: () => Date.now() + 60_000 });
      expect(codes(keyOf(after, twoKeys[1] as string))).toEqual([]);
    } finally {
      await other.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: twoKeys[0], Status: 'Active' }));
    }
  });

  it('reads last use from the credential report and asks IAM key by key only where the report lacks it', async () => {
    mockEventHistory([]);
    const asked: string[] = [];
    const counted = inMotoAccount(new IAMClient(emulatorClientConfig()), OTHER);
    counted.middlewareStack.add(
      (next, context) => (args) => {
        asked.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    const report = await buildKeyInventory({ iam: counted, cloudtrail, now: () => Date.now() + 60_000 });
    expect(report.lastUseFrom).toBe('credential-report');
    expect(asked).toContain('GetCredentialReportCommand');
    // Neither key was ever used: the report says so, and no GetAccessKeyLastUsed is needed.
    expect(asked.filter((name) => name === 'GetAccessKeyLastUsedCommand')).toEqual([]);
  });

  it('flags the root user\'s access key from the credential report', async () => {
    mockEventHistory([]);
    // moto's credential report has no <root_account> row (its root user has no keys to list):
    // this middleware appends the row AWS writes when root holds an active key.
    const withRoot = inMotoAccount(new IAMClient(emulatorClientConfig()), OTHER);
    const rootRow = `<root_account>,arn:aws:iam::${OTHER}:root,2019-03-01T10:00:00+00:00,not_supported,2026-11-30T08:00:00+00:00,not_supported,not_supported,false,true,2019-03-02T10:00:00+00:00,2026-12-01T09:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A`;
    withRoot.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'GetCredentialReportCommand') {
          const output = result.output as { Content?: Uint8Array };
          const csv = new TextDecoder().decode(output.Content);
          const [header, ...rows] = csv.trim().split('\n');
          output.Content = new TextEncoder().encode([header, rootRow, ...rows].join('\n'));
        }
        return result;
      },
      { step: 'initialize', name: 'rootRow' },
    );
    const now = Date.parse('2026-12-05T00:00:00Z');
    const report = await buildKeyInventory({ iam: withRoot, cloudtrail, now: () => now });
    const root = report.keys.find((key) => key.isRoot);
    expect(root).toMatchObject({ userName: '<root_account>', status: 'Active', lastUsed: { service: 's3', region: 'us-east-1', daysAgo: 3 } });
    expect(codes(root as InventoryKey)).toEqual(['root-access-key', 'old-key']);
    // Root's key pages high and comes first.
    expect(report.keys[0]?.isRoot).toBe(true);
    expect(formatKeyInventory(report)).toContain('root-access-key');
  });
});
