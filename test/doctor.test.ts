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
import { CreateEventSourceMappingCommand, CreateFunctionCommand, LambdaClient, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, ListSubscriptionsByTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTAINMENT_PERMISSIONS } from '../lib/aws/containment.ts';
import { DOCTOR_CHECKS, formatDoctorReport, MissingCredentialsError, runDoctorChecks, type DoctorCheck, type DoctorConfig } from '../lib/ops/doctor.ts';
import { runDoctorCommand } from '../lib/commands/doctor-command.ts';
import { emulatorClientConfig, TEST_REGION, uniqueName } from './support/aws-clients.ts';

// `keysentry doctor` against the AWS emulator: a trail with S3 data event selectors, the EventBridge
// rule targeting the intake queue, the queue's dead-letter queue, the pages topic's subscription
// and the contain function's role are all built in moto, then broken one at a time. moto confirms
// every SNS subscription at once (e-mail too), so the one case of a subscription still pending
// confirmation mocks ListSubscriptionsByTopic; moto lacks iam:SimulatePrincipalPolicy, so the role
// is checked by reading its policies. The score function is created in moto (never invoked) so that
// the queue's trigger is a real event source mapping.

/** The checks by id, as the checklist names them. */
const CHECK_NAMES = Object.fromEntries(DOCTOR_CHECKS.map((unit) => [unit.id, unit.name])) as Record<string, string>;
const ID = {
  trailLogging: 'trail-logging',
  dataEvents: 'data-events',
  rule: 'intake-rule',
  queue: 'intake-queue',
  queuePolicy: 'queue-policy',
  scoreTrigger: 'score-trigger',
  subscription: 'subscription',
  containPermissions: 'contain-permissions',
} as const;

const ASSUME_LAMBDA = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

let clients: { cloudtrail: CloudTrailClient; events: EventBridgeClient; sqs: SQSClient; sns: SNSClient; iam: IAMClient; lambda: LambdaClient; s3: S3Client };
let config: DoctorConfig;
let logBucket: string;
let intakeArn: string;
const buckets = [uniqueName('health-checkups'), uniqueName('invoices')];

/** A trail writing to the log bucket, logging, with `selectors` (basic or advanced) in place. */
async function createTrail(selectors: { EventSelectors?: EventSelector[]; AdvancedEventSelectors?: AdvancedEventSelector[] }, logging = true): Promise<string> {
  const name = uniqueName('keysentry-trail');
  await clients.cloudtrail.send(new CreateTrailCommand({ Name: name, S3BucketName: logBucket, EnableLogFileValidation: true }));
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

/** The queue policy serverless.yml gives the intake queue: the rule may send to it. */
async function allowRuleToSend(queue: { url: string; arn: string }, rule: string): Promise<void> {
  const ruleArn = `arn:aws:events:${TEST_REGION}:123456789012:rule/${rule}`;
  const policy = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'FromIntakeRule', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queue.arn, Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } } },
    ],
  };
  await clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { Policy: JSON.stringify(policy) } }));
}

/** A score function in moto, triggered by `queueArn` when given. */
async function createScoreFunction(queueArn?: string): Promise<string> {
  const role = uniqueName('keysentry-test-score-role');
  await clients.iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: ASSUME_LAMBDA }));
  const name = uniqueName('keysentry-test-score');
  await clients.lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs22.x',
      Role: `arn:aws:iam::123456789012:role/${role}`,
      Handler: 'score.handler',
      Code: { ZipFile: new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)]) },
    }),
  );
  if (queueArn !== undefined) await clients.lambda.send(new CreateEventSourceMappingCommand({ FunctionName: name, EventSourceArn: queueArn, BatchSize: 10 }));
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
    lambda: new LambdaClient(aws),
    s3: new S3Client({ ...aws, forcePathStyle: true }),
  };
  logBucket = uniqueName('keysentry-trail-logs');
  const s3 = new S3Client({ ...aws, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: logBucket, CreateBucketConfiguration: { LocationConstraint: TEST_REGION } }));
  // Only CloudTrail may write log files there (the trail-bucket-policy check).
  const logs = `arn:aws:s3:::${logBucket}/AWSLogs/*`;
  const onlyCloudTrail = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'AWSCloudTrailWrite', Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:PutObject', Resource: logs },
      {
        Sid: 'KeysentryOnlyCloudTrailWritesLogs',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:PutObject',
        Resource: logs,
        Condition: { StringNotEquals: { 'aws:PrincipalServiceName': 'cloudtrail.amazonaws.com' } },
      },
    ],
  };
  await s3.send(new PutBucketPolicyCommand({ Bucket: logBucket, Policy: JSON.stringify(onlyCloudTrail) }));

  const deadLetters = await createQueue();
  const intake = await createQueue(deadLetters.arn);
  const rule = await createRule(intake.arn);
  await allowRuleToSend(intake, rule);
  intakeArn = intake.arn;
  const { TopicArn: topicArn = '' } = await clients.sns.send(new CreateTopicCommand({ Name: uniqueName('keysentry-pages') }));
  await clients.sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: deadLetters.arn }));
  config = {
    trail: await createTrail({ EventSelectors: [basicSelector(buckets.map(objectsOf))] }),
    rule,
    queueUrl: intake.url,
    scoreFunction: await createScoreFunction(intake.arn),
    topicArn,
    containRole: await createContainRole(CONTAINMENT_PERMISSIONS),
    protectedBuckets: buckets,
  };
});

const checkNamed = (checks: DoctorCheck[], id: string): DoctorCheck => {
  const check = checks.find((candidate) => candidate.id === id);
  expect(check, id).toBeDefined();
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
    expect(checkNamed(checks, ID.queue).detail).toMatch(/after 5 receives/);
    expect(checkNamed(checks, ID.containPermissions).detail).toContain('inline contain');
    const report = formatDoctorReport(checks);
    expect(report.match(/✔/g)).toHaveLength(DOCTOR_CHECKS.length);
    expect(report).toContain(`All ${DOCTOR_CHECKS.length} checks passed.`);
  });

  it('fails the data-event check for a bucket the selectors leave out, and its fix (which keeps the other selectors) makes it pass', async () => {
    const [covered, leftOut] = buckets as [string, string];
    const trail = await createTrail({ EventSelectors: [basicSelector([objectsOf(covered)])] });
    const checks = await runDoctorChecks({ ...clients, config: { ...config, trail } });

    const check = checkNamed(checks, ID.dataEvents);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`${leftOut}: not recorded`);
    expect(check.detail).not.toContain(`${covered}:`);
    expect(check.fix?.[0]).toMatch(new RegExp(`^aws cloudtrail put-event-selectors --region ${TEST_REGION} --trail-name ${trail} --event-selectors '`));
    const fixed = selectorsOfFix(check.fix?.[0] ?? '');
    expect(fixed.EventSelectors?.[0]).toEqual(basicSelector([objectsOf(covered)]));
    expect(fixed.EventSelectors?.[1]?.DataResources?.[0]?.Values).toEqual([objectsOf(leftOut)]);

    await clients.cloudtrail.send(new PutEventSelectorsCommand({ TrailName: trail, ...fixed }));
    const after = await runDoctorChecks({ ...clients, config: { ...config, trail } });
    expect(checkNamed(after, ID.dataEvents)).toMatchObject({ ok: true });
  });

  it('does not count a selector that records reads only: a deleting attacker would go unseen', async () => {
    const trail = await createTrail({ EventSelectors: [basicSelector(['arn:aws:s3'], 'ReadOnly')] });
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, trail } }), ID.dataEvents);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`${buckets[0]}: writes not recorded`);
  });

  it('fails a stopped trail, with the command that starts it, and the doctor command exits 1', async () => {
    const trail = await createTrail({ EventSelectors: [basicSelector(['arn:aws:s3'])] });
    await clients.cloudtrail.send(new StopLoggingCommand({ Name: trail }));
    const output: string[] = [];
    const io = { stdout: { write: (text: string) => output.push(text) }, stderr: { write: (text: string) => output.push(text) } };
    const deps = {
      connect: () => ({ ...clients, dynamodb: new DynamoDBClient(emulatorClientConfig()) }),
      now: Date.now,
    };
    const args = ['--trail', trail, '--rule', config.rule, '--queue-url', config.queueUrl, '--topic-arn', config.topicArn, '--score-function', config.scoreFunction ?? ''];
    const code = await runDoctorCommand([...args, '--contain-role', config.containRole ?? '', '--protected-buckets', buckets.join(',')], io, deps);

    expect(code).toBe(1);
    const report = output.join('');
    expect(report).toContain(`✘ ${CHECK_NAMES[ID.trailLogging]}`);
    expect(report).toContain(`fix:\n      aws cloudtrail start-logging --region ${TEST_REGION} --name ${trail}\n`);
    expect(report).toContain(`✔ ${CHECK_NAMES[ID.dataEvents]}`);
    expect(report).toContain(`1 of ${DOCTOR_CHECKS.length} checks failed.`);
  });

  it('fails a trail that does not exist, saying where it looked', async () => {
    const trail = uniqueName('no-such-trail');
    const checks = await runDoctorChecks({ ...clients, config: { ...config, trail } });
    expect(checkNamed(checks, ID.trailLogging)).toMatchObject({ ok: false, detail: expect.stringContaining(`there is no trail ${trail} in ${TEST_REGION}`) });
    expect(checkNamed(checks, ID.dataEvents)).toMatchObject({ ok: false, detail: expect.stringContaining('TrailNotFoundException') });
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
    expect(checkNamed(await runDoctorChecks({ ...clients, config: { ...config, trail: covering } }), ID.dataEvents)).toMatchObject({ ok: true });

    const filtering = await createTrail({ AdvancedEventSelectors: [management, advanced([{ Field: 'eventName', Equals: ['GetObject'] }])] });
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, trail: filtering } }), ID.dataEvents);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('also filters on eventName');
    // The fix adds one advanced selector and keeps the trail's own.
    const fixed = selectorsOfFix(check.fix?.[0] ?? '');
    expect(fixed.AdvancedEventSelectors?.slice(0, 2)).toEqual([management, advanced([{ Field: 'eventName', Equals: ['GetObject'] }])]);
    await clients.cloudtrail.send(new PutEventSelectorsCommand({ TrailName: filtering, ...fixed }));
    expect(checkNamed(await runDoctorChecks({ ...clients, config: { ...config, trail: filtering } }), ID.dataEvents)).toMatchObject({ ok: true });
  });

  it('fails a disabled rule, and a rule that targets another queue', async () => {
    await clients.events.send(new DisableRuleCommand({ Name: config.rule }));
    try {
      const check = checkNamed(await runDoctorChecks({ ...clients, config }), ID.rule);
      expect(check.ok).toBe(false);
      expect(check.detail).toContain('is DISABLED');
      expect(check.fix).toEqual([`aws events enable-rule --region ${TEST_REGION} --name ${config.rule}`]);
    } finally {
      await clients.events.send(new EnableRuleCommand({ Name: config.rule }));
    }
    const other = await createQueue();
    const rule = await createRule(other.arn);
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, rule } }), ID.rule);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`(targets: ${other.arn})`);
    expect(check.fix).toEqual([`aws events put-targets --region ${TEST_REGION} --rule ${rule} --targets Id=intake-queue,Arn=${intakeArn}`]);
  });

  it('fails an intake queue without a dead-letter queue, and one that does not exist', async () => {
    const bare = await createQueue();
    const checks = await runDoctorChecks({ ...clients, config: { ...config, queueUrl: bare.url } });
    expect(checkNamed(checks, ID.queue)).toMatchObject({ ok: false, detail: expect.stringContaining('has no redrive policy') });
    const fix = checkNamed(checks, ID.queue).fix ?? [];
    const name = bare.arn.split(':').pop() as string;
    expect(fix[0]).toBe(`aws sqs create-queue --region ${TEST_REGION} --queue-name ${name}-dlq --attributes MessageRetentionPeriod=1209600`);
    expect(fix[1]).toContain(`aws sqs set-queue-attributes --region ${TEST_REGION} --queue-url ${bare.url} --attributes '`);
    // The commands, run: the queue named in the redrive policy is the one the first command creates.
    await clients.sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
    const attributes = JSON.parse(/--attributes '(.*)'$/.exec(fix[1] ?? '')?.[1] ?? '{}') as Record<string, string>;
    await clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl: bare.url, Attributes: attributes }));
    const after = await runDoctorChecks({ ...clients, config: { ...config, queueUrl: bare.url } });
    expect(checkNamed(after, ID.queue)).toMatchObject({ ok: true, detail: expect.stringContaining(`${name}-dlq after 5 receives`) });

    const gone = `${bare.url}-deleted`;
    const missing = await runDoctorChecks({ ...clients, config: { ...config, queueUrl: gone } });
    expect(checkNamed(missing, ID.queue)).toMatchObject({ ok: false, detail: expect.stringContaining(`there is no queue ${gone}`) });
    expect(checkNamed(missing, ID.rule).ok).toBe(false);
  });

  it('fails a topic nobody subscribed to', async () => {
    const { TopicArn: topicArn = '' } = await clients.sns.send(new CreateTopicCommand({ Name: uniqueName('keysentry-pages') }));
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, topicArn } }), ID.subscription);
    expect(check).toMatchObject({ ok: false, detail: expect.stringContaining('no confirmed subscription: pages reach nobody') });
    expect(check.fix).toEqual([`aws sns subscribe --region ${TEST_REGION} --topic-arn ${topicArn} --protocol email --notification-endpoint "$ONCALL_EMAIL"`]);
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
    const check = checkNamed(await runDoctorChecks({ ...clients, sns, config }), ID.subscription);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('waiting for confirmation: email on-call@example.com');
    expect(check.fix).toEqual([`aws sns subscribe --region ${TEST_REGION} --topic-arn ${config.topicArn} --protocol email --notification-endpoint on-call@example.com`]);
  });

  it('fails a contain role that lacks one of the permissions containment declares, and names it', async () => {
    const lacking = CONTAINMENT_PERMISSIONS.filter((action) => action !== 'iam:UpdateAccessKey');
    const containRole = await createContainRole(lacking);
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, containRole } }), ID.containPermissions);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`role ${containRole} lacks iam:UpdateAccessKey`);
    expect(check.fix).toHaveLength(1);
    expect(check.fix?.[0]).toContain(`aws iam put-role-policy --role-name ${containRole} --policy-name keysentry-contain-permissions --policy-document '`);
    // The command, run: the role then holds every permission.
    const document = /--policy-document '(.*)'$/.exec(check.fix?.[0] ?? '')?.[1] ?? '';
    expect(document).toContain(`arn:aws:iam::123456789012:user/*`);
    await clients.iam.send(new PutRolePolicyCommand({ RoleName: containRole, PolicyName: 'keysentry-contain-permissions', PolicyDocument: document }));
    expect(checkNamed(await runDoctorChecks({ ...clients, config: { ...config, containRole } }), ID.containPermissions).ok).toBe(true);

    const wildcard = await createContainRole(['iam:*AccessKey*', 'iam:Put*Policy']);
    expect(checkNamed(await runDoctorChecks({ ...clients, config: { ...config, containRole: wildcard } }), ID.containPermissions).ok).toBe(true);
  });
  it('fails an intake queue whose policy does not let EventBridge send, and its command (which keeps the policy) makes it pass', async () => {
    const queue = await createQueue(intakeArn);
    const rule = await createRule(queue.arn);
    const own = { Sid: 'Owner', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sqs:*', Resource: queue.arn };
    await clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { Policy: JSON.stringify({ Version: '2012-10-17', Statement: [own] }) } }));
    const broken = { ...config, rule, queueUrl: queue.url };
    const check = checkNamed(await runDoctorChecks({ ...clients, config: broken }), ID.queuePolicy);
    expect(check).toMatchObject({ ok: false, detail: expect.stringContaining('EventBridge cannot deliver') });
    expect(check.fix).toHaveLength(1);
    expect(check.fix?.[0]).toMatch(new RegExp(`^aws sqs set-queue-attributes --region ${TEST_REGION} --queue-url ${queue.url} --attributes '`));
    const attributes = JSON.parse(/--attributes '(.*)'$/.exec(check.fix?.[0] ?? '')?.[1] ?? '{}') as { Policy: string };
    const statements = (JSON.parse(attributes.Policy) as { Statement: { Sid: string; Condition?: unknown }[] }).Statement;
    expect(statements.map((statement) => statement.Sid)).toEqual(['Owner', 'KeysentryIntakeRule']);
    expect(statements[1]?.Condition).toEqual({ ArnEquals: { 'aws:SourceArn': `arn:aws:events:${TEST_REGION}:123456789012:rule/${rule}` } });

    await clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: attributes }));
    expect(checkNamed(await runDoctorChecks({ ...clients, config: broken }), ID.queuePolicy).ok).toBe(true);
  });

  it('fails a queue policy that lets only another rule send', async () => {
    const queue = await createQueue(intakeArn);
    const rule = await createRule(queue.arn);
    await allowRuleToSend(queue, `${rule}-other`);
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, rule, queueUrl: queue.url } }), ID.queuePolicy);
    expect(check.ok).toBe(false);
  });

  it('fails a score function without its SQS trigger, and a disabled trigger, each with the command that fixes it', async () => {
    const queue = await createQueue(intakeArn);
    const scoreFunction = await createScoreFunction();
    const broken = { ...config, queueUrl: queue.url, scoreFunction };
    const check = checkNamed(await runDoctorChecks({ ...clients, config: broken }), ID.scoreTrigger);
    expect(check).toMatchObject({ ok: false, detail: expect.stringContaining(`nothing reads ${queue.arn}`) });
    expect(check.fix).toEqual([
      `aws lambda create-event-source-mapping --region ${TEST_REGION} --function-name ${scoreFunction} --event-source-arn ${queue.arn} ` +
        '--batch-size 1000 --maximum-batching-window-in-seconds 5 --function-response-types ReportBatchItemFailures',
    ]);

    const { UUID } = await clients.lambda.send(new CreateEventSourceMappingCommand({ FunctionName: scoreFunction, EventSourceArn: queue.arn, BatchSize: 1000 }));
    expect(checkNamed(await runDoctorChecks({ ...clients, config: broken }), ID.scoreTrigger).ok).toBe(true);

    await clients.lambda.send(new UpdateEventSourceMappingCommand({ UUID, Enabled: false }));
    const disabled = checkNamed(await runDoctorChecks({ ...clients, config: broken }), ID.scoreTrigger);
    expect(disabled.ok).toBe(false);
    expect(disabled.fix).toEqual([`aws lambda update-event-source-mapping --region ${TEST_REGION} --uuid ${UUID} --enabled`]);
  });

  it('fails a rule whose pattern leaves out a protected bucket, with the put-rule command that keeps the rest of the pattern', async () => {
    const extra = uniqueName('payroll');
    const check = checkNamed(await runDoctorChecks({ ...clients, config: { ...config, protectedBuckets: [...buckets, extra] } }), ID.rule);
    expect(check).toMatchObject({ ok: false, detail: expect.stringContaining(`leaves out ${extra}`) });
    const pattern = JSON.parse(/--event-pattern '(.*)'$/.exec(check.fix?.[0] ?? '')?.[1] ?? '{}') as { source: string[]; detail: { requestParameters: { bucketName: string[] } } };
    expect(check.fix?.[0]).toMatch(new RegExp(`^aws events put-rule --region ${TEST_REGION} --name ${config.rule} --event-pattern '`));
    expect(pattern.source).toEqual(['aws.s3']);
    expect(pattern.detail.requestParameters.bucketName).toEqual([...buckets, extra]);
  });

  it('prints only whole commands to paste: no && chains, no placeholders', async () => {
    const trail = uniqueName('no-such-trail');
    const { TopicArn: topicArn = '' } = await clients.sns.send(new CreateTopicCommand({ Name: uniqueName('keysentry-pages') }));
    const bare = await createQueue();
    const containRole = await createContainRole(['sqs:ReceiveMessage']);
    const checks = await runDoctorChecks({ ...clients, config: { ...config, trail, topicArn, queueUrl: bare.url, containRole, rule: uniqueName('no-such-rule') } });
    const fixes = checks.flatMap((check) => check.fix ?? []);
    expect(checks.filter((check) => !check.ok).length).toBeGreaterThanOrEqual(6);
    expect(fixes.length).toBeGreaterThanOrEqual(6);
    for (const command of fixes) {
      expect(command).toMatch(/^aws [a-z0-9-]+ [a-z-]+ /);
      expect(command).not.toMatch(/&&|\bACCOUNT\b|\bREGION\b|STAGE|DLQ-NAME|\bthen\b/);
    }
  });

  it('says in one line that there are no credentials, and checks nothing', async () => {
    const noCredentials = {
      credentials: () => Promise.reject(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })),
    };
    const aws = { ...emulatorClientConfig(), ...noCredentials };
    const bare = { cloudtrail: new CloudTrailClient(aws), events: new EventBridgeClient(aws), sqs: new SQSClient(aws), sns: new SNSClient(aws), iam: new IAMClient(aws), lambda: new LambdaClient(aws) };
    await expect(runDoctorChecks({ ...bare, config })).rejects.toBeInstanceOf(MissingCredentialsError);

    const output: string[] = [];
    const io = { stdout: { write: (text: string) => output.push(text) }, stderr: { write: (text: string) => output.push(text) } };
    const { runCli } = await import('../lib/commands/cli.ts');
    const args = ['doctor', '--trail', config.trail, '--rule', config.rule, '--queue-url', config.queueUrl, '--topic-arn', config.topicArn, '--contain-role', 'r', '--protected-buckets', 'b'];
    const code = await runCli(args, io, { ops: { connect: () => ({ ...bare, dynamodb: new DynamoDBClient(aws) }), now: Date.now } });
    expect(code).toBe(1);
    expect(output.join('').trim().split('\n')).toEqual([expect.stringMatching(/^keysentry: no AWS credentials found: nothing was checked/)]);
  });
});
