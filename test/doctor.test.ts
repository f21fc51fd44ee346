import {
  CloudTrailClient,
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  type AdvancedEventSelector,
  type EventSelector,
} from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DisableRuleCommand, EnableRuleCommand, EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { AttachRolePolicyCommand, CreatePolicyCommand, CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, ListSubscriptionsByTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTAINMENT_PERMISSIONS } from '../lib/aws/containment.ts';
import { CHECK_NAMES, formatDoctorReport, runDoctorChecks, type DoctorCheck, type DoctorConfig } from '../lib/ops/doctor.ts';
import { runDoctorCommand } from '../lib/commands/ops-cli.ts';
import { emulatorClientConfig, TEST_REGION, uniqueName } from './support/aws-clients.ts';

// `keysentry doctor` against the AWS emulator: a trail with S3 data event selectors, the EventBridge
// rule targeting the intake queue, the queue's dead-letter queue, the pages topic's subscription
// and the contain function's role are all built in moto, then broken one at a time. moto confirms
// every SNS subscription at once (e-mail too), so the one case of a subscription still pending
// confirmation mocks ListSubscriptionsByTopic; moto lacks iam:SimulatePrincipalPolicy, so the role
// is checked by reading its policies.

const ASSUME_LAMBDA = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

let clients: { cloudtrail: CloudTrailClient; events: EventBridgeClient; sqs: SQSClient; sns: SNSClient; iam: IAMClient };
let config: DoctorConfig;
let logBucket: string;
const buckets = [uniqueName('health-checkups'), uniqueName('invoices')];

/** A trail writing to the log bucket, logging, with `selectors` (basic or advanced) in place. */
async function createTrail(selectors: { EventSelectors?: EventSelector[]; AdvancedEventSelectors?: AdvancedEventSelector[] }, logging = true): Promise<string> {
  const name = uniqueName('keysentry-trail');
  await clients.cloudtrail.send(new CreateTrailCommand({ Name: name, S3BucketName: logBucket }));
  await clients.cloudtrail.send(new PutEventSelectorsCommand({ TrailName: name, ...selectors }));
  if (logging) await clients.cloudtrail.send(new StartLoggingCommand({ Name: name }));
  return name;
}

/** The usual basic selector of a trail: management events, plus S3 object data events of `values`. */
const basicSelector = (values: string[], readWriteType: EventSelector['ReadWriteType'] = 'All'): EventSelector => ({
  ReadWriteType: readWriteType,
  IncludeManagementEvents: true,
  DataResources: [{ Type: 'AWS::S3::Object', Values: values }],
});

const objectsOf = (bucket: string): string => `arn:aws:s3:::${bucket}/`;

async function createQueue(redriveTo?: string): Promise<{ url: string; arn: string }> {
  const attributes = redriveTo === undefined ? undefined : { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: redriveTo, maxReceiveCount: 5 }) };
  const { QueueUrl: url = '' } = await clients.sqs.send(new CreateQueueCommand({ QueueName: uniqueName('keysentry-intake'), Attributes: attributes }));
  const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return { url, arn: Attributes?.QueueArn ?? '' };
}

async function createRule(queueArn: string): Promise<string> {
  const name = uniqueName('keysentry-intake-rule');
  const pattern = {
    source: ['aws.s3'],
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: { eventSource: ['s3.amazonaws.com'], requestParameters: { bucketName: buckets } },
  };
  await clients.events.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify(pattern), State: 'ENABLED' }));
  await clients.events.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'intake-queue', Arn: queueArn }] }));
  return name;
}

/** A role like the one serverless.yml gives the contain function: the declared actions, and a deny on the stack's own roles. */
async function createContainRole(actions: readonly string[]): Promise<string> {
  const name = uniqueName('keysentry-test-contain');
  await clients.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: ASSUME_LAMBDA }));
  const document = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: actions, Resource: ['arn:aws:iam::123456789012:user/*', 'arn:aws:iam::123456789012:role/*'] },
      { Effect: 'Deny', Action: ['iam:PutRolePolicy'], Resource: ['arn:aws:iam::123456789012:role/keysentry-test-*'] },
    ],
  };
  await clients.iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'contain', PolicyDocument: JSON.stringify(document) }));
  const { Policy } = await clients.iam.send(
    new CreatePolicyCommand({
      PolicyName: uniqueName('keysentry-pages'),
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sns:Publish', Resource: '*' }] }),
    }),
  );
  await clients.iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: Policy?.Arn }));
  return name;
}

beforeAll(async () => {
  const aws = emulatorClientConfig();
  clients = {
    cloudtrail: new CloudTrailClient(aws),
    events: new EventBridgeClient(aws),
    sqs: new SQSClient(aws),
    sns: new SNSClient(aws),
    iam: new IAMClient(aws),
  };
  logBucket = uniqueName('keysentry-trail-logs');
  const s3 = new S3Client({ ...aws, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: logBucket, CreateBucketConfiguration: { LocationConstraint: TEST_REGION } }));

  const deadLetters = await createQueue();
  const intake = await createQueue(deadLetters.arn);
  const { TopicArn: topicArn = '' } = await clients.sns.send(new CreateTopicCommand({ Name: uniqueName('keysentry-pages') }));
  await clients.sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: deadLetters.arn }));
  config = {
    trail: await createTrail({ EventSelectors: [basicSelector(buckets.map(objectsOf))] }),
    rule: await createRule(intake.arn),
    queueUrl: intake.url,
    topicArn,
    containRole: await createContainRole(CONTAINMENT_PERMISSIONS),
    protectedBuckets: buckets,
  };
});

const checkNamed = (checks: DoctorCheck[], name: string): DoctorCheck => {
  const check = checks.find((candidate) => candidate.name === name);
  expect(check, name).toBeDefined();
  return check as DoctorCheck;
};

/** The JSON argument of the fix command (`--event-selectors '…'` or `--advanced-event-selectors '…'`). */
function selectorsOfFix(fix: string): { EventSelectors?: EventSelector[]; AdvancedEventSelectors?: AdvancedEventSelector[] } {
  const match = /--(advanced-event-selectors|event-selectors) '([^']*)'/.exec(fix);
  expect(match, fix).not.toBeNull();
  const [, option, json] = match as RegExpExecArray;
  const selectors = JSON.parse(json as string) as unknown[];
  return option === 'event-selectors' ? { EventSelectors: selectors as EventSelector[] } : { AdvancedEventSelectors: selectors as AdvancedEventSelector[] };
}

describe('keysentry doctor', () => {
  it('passes every check on a deployment that can see and stop an attack', async () => {
    const checks = await runDoctorChecks({ ...clients, config });

    expect(checks.map((check) => check.name)).toEqual(Object.values(CHECK_NAMES));
    for (const check of checks) expect(check.ok, `${check.name}: ${check.detail}`).toBe(true);
    expect(checkNamed(checks, CHECK_NAMES.queue).detail).toMatch(/after 5 receives/);
    expect(checkNamed(checks, CHECK_NAMES.containPermissions).detail).toContain('inline contain');
    const report = formatDoctorReport(checks);
    expect(report.match(/✔/g)).toHaveLength(6);
    expect(report).toContain('All 6 checks passed.');
  });

  it('fails the data-event check for a bucket the selectors leave out, and its fix (which keeps the other selectors) makes it pass', async () => {
    const [covered, leftOut] = buckets as [string, string];
    const trail = await createTrail({ EventSelectors: [basicSelector([objectsOf(covered)])] });
    const checks = await runDoctorChecks({ ...clients, config: { ...config, trail } });

    const check = checkNamed(checks, CHECK_NAMES.dataEvents);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`${leftOut}: not recorded`);
    expect(check.detail).not.toContain(`${covered}:`);
    expect(check.fix).toMatch(new RegExp(`^aws cloudtrail put-event-selectors --region ${TEST_REGION} --trail-name ${trail} --event-selectors '`));
    const fixed = selectorsOfFix(check.fix ?? '');
    expect(fixed.EventSelectors?.[0]).toEqual(basicSelector([objectsOf(covered)]));
    expect(fixed.EventSelectors?.[1]?.DataResources?.[0]?.Values).toEqual([objectsOf(leftOut)]);

    await clients.cloudtrail.send(new PutEventSelectorsCommand({ TrailName: trail, ...fixed }));
    const after = await runDoctorChecks({ ...clients, config: { ...config, trail } });
    expect(checkNamed(after, CHECK_NAMES.dataEvents)).toMatchObject({ ok: true });
  });

  it('does not count a selector that records reads only: a deleting attacker would go unseen', async () => {
    const trail = await createTrail({ EventSelectors: [basicSelector(['arn:aws:s3'], 'ReadOnly')] });
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, trail } }), CHECK_NAMES.dataEvents);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`${buckets[0]}: writes not recorded`);
  });

  it('fails a stopped trail, with the command that starts it, and the doctor command exits 1', async () => {
    const trail = await createTrail({ EventSelectors: [basicSelector(['arn:aws:s3'])] });
    await clients.cloudtrail.send(new StopLoggingCommand({ Name: trail }));
    const output: string[] = [];
    const io = { stdout: { write: (text: string) => output.push(text) }, stderr: { write: (text: string) => output.push(text) } };
    const deps = {
      connect: () => ({ ...clients, lambda: new LambdaClient(emulatorClientConfig()), dynamodb: new DynamoDBClient(emulatorClientConfig()) }),
      now: Date.now,
    };
    const args = ['--trail', trail, '--rule', config.rule, '--queue-url', config.queueUrl, '--topic-arn', config.topicArn];
    const code = await runDoctorCommand([...args, '--contain-role', config.containRole ?? '', '--protected-buckets', buckets.join(',')], io, deps);

    expect(code).toBe(1);
    const report = output.join('');
    expect(report).toContain(`✘ ${CHECK_NAMES.trailLogging}`);
    expect(report).toContain(`fix: aws cloudtrail start-logging --region ${TEST_REGION} --name ${trail}`);
    expect(report).toContain(`✔ ${CHECK_NAMES.dataEvents}`);
    expect(report).toContain('1 of 6 checks failed.');
  });

  it('fails a trail that does not exist, saying where it looked', async () => {
    const trail = uniqueName('no-such-trail');
    const checks = await runDoctorChecks({ ...clients, config: { ...config, trail } });
    expect(checkNamed(checks, CHECK_NAMES.trailLogging)).toMatchObject({ ok: false, detail: `there is no trail ${trail} in ${TEST_REGION}` });
    expect(checkNamed(checks, CHECK_NAMES.dataEvents)).toMatchObject({ ok: false, detail: expect.stringContaining('TrailNotFoundException') });
  });

  it('passes a trail on advanced selectors that cover the buckets, and fails one whose selector also filters on event names', async () => {
    const advanced = (extra: AdvancedEventSelector['FieldSelectors'] = []): AdvancedEventSelector => ({
      Name: 'S3 data events of the protected buckets',
      FieldSelectors: [
        { Field: 'eventCategory', Equals: ['Data'] },
        { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
        { Field: 'resources.ARN', StartsWith: buckets.map(objectsOf) },
        ...extra,
      ],
    });
    const management: AdvancedEventSelector = { Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] };
    const covering = await createTrail({ AdvancedEventSelectors: [management, advanced()] });
    expect(checkNamed(await runDoctorChecks({ ...clients, config: { ...config, trail: covering } }), CHECK_NAMES.dataEvents)).toMatchObject({ ok: true });

    const filtering = await createTrail({ AdvancedEventSelectors: [management, advanced([{ Field: 'eventName', Equals: ['GetObject'] }])] });
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, trail: filtering } }), CHECK_NAMES.dataEvents);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('also filters on eventName');
    // The fix adds one advanced selector and keeps the trail's own.
    const fixed = selectorsOfFix(check.fix ?? '');
    expect(fixed.AdvancedEventSelectors?.slice(0, 2)).toEqual([management, advanced([{ Field: 'eventName', Equals: ['GetObject'] }])]);
    await clients.cloudtrail.send(new PutEventSelectorsCommand({ TrailName: filtering, ...fixed }));
    expect(checkNamed(await runDoctorChecks({ ...clients, config: { ...config, trail: filtering } }), CHECK_NAMES.dataEvents)).toMatchObject({ ok: true });
  });

  it('fails a disabled rule, and a rule that targets another queue', async () => {
    await clients.events.send(new DisableRuleCommand({ Name: config.rule }));
    try {
      const check = checkNamed(await runDoctorChecks({ ...clients, config }), CHECK_NAMES.rule);
      expect(check.ok).toBe(false);
      expect(check.detail).toContain('is DISABLED');
      expect(check.fix).toBe(`aws events enable-rule --region ${TEST_REGION} --name ${config.rule}`);
    } finally {
      await clients.events.send(new EnableRuleCommand({ Name: config.rule }));
    }
    const other = await createQueue();
    const rule = await createRule(other.arn);
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, rule } }), CHECK_NAMES.rule);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`(targets: ${other.arn})`);
    expect(check.fix).toContain(`aws events put-targets --region ${TEST_REGION} --rule ${rule} --targets Id=intake-queue,Arn=`);
  });

  it('fails an intake queue without a dead-letter queue, and one that does not exist', async () => {
    const bare = await createQueue();
    const checks = await runDoctorChecks({ ...clients, config: { ...config, queueUrl: bare.url } });
    expect(checkNamed(checks, CHECK_NAMES.queue)).toMatchObject({ ok: false, detail: expect.stringContaining('has no redrive policy') });
    expect(checkNamed(checks, CHECK_NAMES.queue).fix).toContain(`aws sqs set-queue-attributes --region ${TEST_REGION} --queue-url ${bare.url}`);

    const gone = `${bare.url}-deleted`;
    const missing = await runDoctorChecks({ ...clients, config: { ...config, queueUrl: gone } });
    expect(checkNamed(missing, CHECK_NAMES.queue)).toMatchObject({ ok: false, detail: `there is no queue ${gone}` });
    expect(checkNamed(missing, CHECK_NAMES.rule).ok).toBe(false);
  });

  it('fails a topic nobody subscribed to', async () => {
    const { TopicArn: topicArn = '' } = await clients.sns.send(new CreateTopicCommand({ Name: uniqueName('keysentry-pages') }));
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, topicArn } }), CHECK_NAMES.subscription);
    expect(check).toMatchObject({ ok: false, detail: 'no confirmed subscription: pages reach nobody' });
    expect(check.fix).toContain(`aws sns subscribe --region ${TEST_REGION} --topic-arn ${topicArn} --protocol email`);
  });

  it('does not count an e-mail subscription still waiting for its confirmation', async () => {
    const sns = new SNSClient(emulatorClientConfig());
    mockClient(sns)
      .on(ListSubscriptionsByTopicCommand)
      .resolves({
        Subscriptions: [
          { SubscriptionArn: 'PendingConfirmation', Owner: '123456789012', Protocol: 'email', Endpoint: 'on-call@example.com', TopicArn: config.topicArn },
        ],
      });
    const check = checkNamed(await runDoctorChecks({ ...clients, sns, config }), CHECK_NAMES.subscription);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('waiting for confirmation: email on-call@example.com');
    expect(check.fix).toContain('open the confirmation link SNS sent to on-call@example.com');
  });

  it('fails a contain role that lacks one of the permissions containment declares, and names it', async () => {
    const lacking = CONTAINMENT_PERMISSIONS.filter((action) => action !== 'iam:UpdateAccessKey');
    const containRole = await createContainRole(lacking);
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, containRole } }), CHECK_NAMES.containPermissions);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`role ${containRole} lacks iam:UpdateAccessKey`);
    expect(check.fix).toContain(`aws iam put-role-policy --role-name ${containRole} --policy-name keysentry-contain-permissions`);

    const wildcard = await createContainRole(['iam:*AccessKey*', 'iam:Put*Policy']);
    expect(checkNamed(await runDoctorChecks({ ...clients, config: { ...config, containRole: wildcard } }), CHECK_NAMES.containPermissions).ok).toBe(true);
  });
});
