import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTAINMENT_PERMISSIONS } from '../lib/aws/containment.ts';
import { INVENTORY_PERMISSIONS } from '../lib/ops/key-inventory.ts';
import { DOCTOR_OPTIONS } from '../lib/commands/doctor-command.ts';
import { KEY_AGE_PERMISSIONS } from '../lib/aws/key-age.ts';
import { parseArgs } from 'node:util';

/**
 * Checks the CloudFormation template `serverless package` compiles from serverless.yml: per-function
 * roles, who may write DynamoDB, that only the contain function writes IAM and exactly with the
 * permissions its actions declare, the intake queue's batching, DLQ and alarm, the tables' TTL and
 * PITR, and no account id baked in. CI packages before the tests;
 * a missing or stale template is packaged here (offline: packaging needs no AWS credentials).
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVERLESS_YML = `${ROOT}serverless.yml`;
const TEMPLATE = `${ROOT}.serverless/cloudformation-template-update-stack.json`;

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
  Condition?: string;
  DependsOn?: unknown;
}
interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
}

let resources: Record<string, Resource>;
let templateText: string;
let params: Record<string, unknown>;

beforeAll(() => {
  const stale = !existsSync(TEMPLATE) || statSync(TEMPLATE).mtimeMs < statSync(SERVERLESS_YML).mtimeMs;
  if (stale) {
    execFileSync(`${ROOT}node_modules/.bin/serverless`, ['package'], {
      cwd: ROOT,
      stdio: 'pipe',
      timeout: 280_000,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
  }
  templateText = readFileSync(TEMPLATE, 'utf8');
  resources = (JSON.parse(templateText) as { Resources: Record<string, Resource> }).Resources;
  params = (parse(readFileSync(SERVERLESS_YML, 'utf8'), { logLevel: 'silent' }) as { params: { default: Json } }).params.default;
}, 300_000);

const ofType = (type: string): Array<[string, Resource]> => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const getAtt = (value: unknown): [string, string] | undefined => (value as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt'];

/** The logical id of the function compiled from a serverless.yml function name. */
function functionId(name: string): string {
  const id = `${name.replace(/-/g, 'Dash').replace(/^./, (c) => c.toUpperCase())}LambdaFunction`;
  expect(resources[id]?.Type, id).toBe('AWS::Lambda::Function');
  return id;
}

const roleOf = (functionLogicalId: string): string => {
  const role = getAtt(resources[functionLogicalId]?.Properties.Role);
  expect(role?.[1]).toBe('Arn');
  return (role as [string, string])[0];
};

function statementsOfRole(roleId: string): Statement[] {
  const policies = (resources[roleId]?.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Statement[] } }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

/** Every policy statement anywhere in the template: role policies, queue and bucket policies. */
function allStatements(node: unknown = resources): Statement[] {
  if (Array.isArray(node)) return node.flatMap((item) => allStatements(item));
  if (typeof node !== 'object' || node === null) return [];
  const found: Statement[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === 'Statement' && Array.isArray(value)) found.push(...(value as Statement[]));
    else found.push(...allStatements(value));
  }
  return found;
}

/** Whether an action pattern (IAM wildcards `*` and `?`) covers any of the given actions. */
function covers(pattern: string, actions: readonly string[]): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return actions.some((action) => regex.test(action));
}

const IAM_WRITE_VERBS = ['Create', 'Put', 'Update', 'Delete', 'Attach', 'Detach', 'Add', 'Remove'];
/** A sample of each IAM write verb, so that `iam:*`, `iam:Put*` or `*` are caught as well as names. */
const IAM_WRITE_SAMPLES = [
  'iam:CreateAccessKey',
  'iam:CreatePolicyVersion',
  'iam:PutUserPolicy',
  'iam:PutRolePolicy',
  'iam:UpdateAccessKey',
  'iam:UpdateAssumeRolePolicy',
  'iam:DeleteAccessKey',
  'iam:DeleteRolePolicy',
  'iam:AttachUserPolicy',
  'iam:AttachRolePolicy',
  'iam:DetachRolePolicy',
  'iam:AddUserToGroup',
  'iam:RemoveUserFromGroup',
];
const grantsIamWrite = (action: string): boolean =>
  covers(action, IAM_WRITE_SAMPLES) || IAM_WRITE_VERBS.some((verb) => action.toLowerCase().startsWith(`iam:${verb.toLowerCase()}`));

const DYNAMODB_WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:TransactWriteItems'];
const TABLES = ['WindowsTable', 'StateTable', 'IdempotencyTable'];

/** The table a policy resource names (`!GetAtt T.Arn` or `!Sub '${T.Arn}/index/*'`), if any. */
function tableOf(resource: unknown): string | undefined {
  const att = getAtt(resource);
  if (att !== undefined) return att[0];
  const sub = (resource as { 'Fn::Sub'?: unknown })?.['Fn::Sub'];
  return typeof sub === 'string' ? /^\$\{(\w+)\.Arn\}/.exec(sub)?.[1] : undefined;
}

describe('serverless package: the CloudFormation template', () => {
  it('gives every function its own role', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.map(([id]) => id)).toEqual(
      expect.arrayContaining([functionId('score'), functionId('score-logfile'), functionId('contain'), functionId('tune'), functionId('inventory')]),
    );
    const roles = functions.map(([id]) => roleOf(id));
    expect(new Set(roles).size).toBe(functions.length);
    for (const role of roles) {
      expect(resources[role]?.Type).toBe('AWS::IAM::Role');
      expect(role).not.toBe('IamRoleLambdaExecution');
    }
  });

  it('lets only score, score-logfile, contain and tune write DynamoDB, and only on the stack tables', () => {
    const writers = ofType('AWS::IAM::Role')
      .filter(([id]) =>
        statementsOfRole(id).some(
          (statement) => statement.Effect === 'Allow' && asList(statement.Action).some((action) => covers(action, DYNAMODB_WRITES)),
        ),
      )
      .map(([id]) => id);
    expect(writers.sort()).toEqual(
      [roleOf(functionId('score')), roleOf(functionId('score-logfile')), roleOf(functionId('contain')), roleOf(functionId('tune'))].sort(),
    );

    for (const role of writers) {
      for (const statement of statementsOfRole(role)) {
        if (!asList(statement.Action).some((action) => covers(action, DYNAMODB_WRITES))) continue;
        for (const resource of asList(statement.Resource)) expect(TABLES).toContain(tableOf(resource));
      }
    }
  });

  it('grants the score function exactly the two detector tables', () => {
    const tables = statementsOfRole(roleOf(functionId('score')))
      .filter((statement) => asList(statement.Action).some((action) => action.startsWith('dynamodb:')))
      .flatMap((statement) => asList(statement.Resource).map(tableOf));
    expect(new Set(tables)).toEqual(new Set(['WindowsTable', 'StateTable']));
  });

  it('grants the contain function exactly the IAM actions its containment actions declare', () => {
    const granted = statementsOfRole(roleOf(functionId('contain')))
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap((statement) => asList(statement.Action))
      .filter((action) => action.toLowerCase().startsWith('iam:'));
    // Equal as sets and without duplicates: a permission missing fails containment at 3 a.m., an extra one is a hole.
    expect([...granted].sort()).toEqual([...CONTAINMENT_PERMISSIONS].sort());
    expect(new Set(granted).size).toBe(granted.length);
    for (const action of granted) expect(action, 'no wildcard').not.toMatch(/[*?]/);
  });

  it('lets the contain function change only the account\'s users and roles, never the stack\'s own roles', () => {
    const statements = statementsOfRole(roleOf(functionId('contain')));
    const iamAllows = statements.filter((statement) => statement.Effect === 'Allow' && asList(statement.Action).some((a) => a.startsWith('iam:')));
    expect(iamAllows.flatMap((statement) => asList(statement.Resource))).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*' },
    ]);
    const denies = statements.filter((statement) => statement.Effect === 'Deny');
    expect(denies).toContainEqual(
      expect.objectContaining({
        Action: ['iam:PutRolePolicy'],
        Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/keysentry-dev-*' }],
      }),
    );
  });

  it('grants no IAM write action to anything but the contain function', () => {
    const containRole = roleOf(functionId('contain'));
    const containStatements = new Set(statementsOfRole(containRole));
    const statements = allStatements().filter((statement) => !containStatements.has(statement));
    expect(statements.length).toBeGreaterThan(5);
    for (const statement of statements) {
      if (statement.Effect !== 'Allow') continue;
      // An Allow with NotAction grants everything it does not name, IAM writes included.
      expect(statement.NotAction, JSON.stringify(statement)).toBeUndefined();
      for (const action of asList(statement.Action)) {
        expect(grantsIamWrite(action), `${action} in ${JSON.stringify(statement)}`).toBe(false);
      }
    }
    for (const statement of containStatements) expect(statement.NotAction, JSON.stringify(statement)).toBeUndefined();
  });

  it('gives the contain function the pages topic, the state table and nothing else of the stack', () => {
    const statements = statementsOfRole(roleOf(functionId('contain'))).filter((statement) => statement.Effect === 'Allow');
    const actionsOn = (prefix: string): string[] =>
      statements.flatMap((statement) => asList(statement.Action)).filter((action) => action.startsWith(prefix));
    expect(actionsOn('sns:')).toEqual(['sns:Publish']);
    expect(statements.filter((statement) => asList(statement.Action).includes('sns:Publish')).flatMap((s) => asList(s.Resource))).toEqual([
      { Ref: 'PagesTopic' },
    ]);
    const tables = statements
      .filter((statement) => asList(statement.Action).some((action) => action.startsWith('dynamodb:')))
      .flatMap((statement) => asList(statement.Resource).map(tableOf));
    expect(tables).toEqual(['StateTable']);
    expect(actionsOn('lambda:')).toEqual([]);
  });

  it('lets score and score-logfile invoke exactly the contain function, and tells them its name', () => {
    for (const name of ['score', 'score-logfile']) {
      const invokes = statementsOfRole(roleOf(functionId(name))).filter((statement) =>
        asList(statement.Action).some((action) => action.startsWith('lambda:')),
      );
      expect(invokes.flatMap((statement) => asList(statement.Action))).toEqual(['lambda:InvokeFunction']);
      expect(invokes.flatMap((statement) => asList(statement.Resource))).toEqual([{ 'Fn::GetAtt': [functionId('contain'), 'Arn'] }]);
      const variables = (resources[functionId(name)]?.Properties.Environment as { Variables: Json }).Variables;
      expect(variables.RESPONDER_FUNCTION).toEqual({ Ref: functionId('contain') });
    }
  });

  it('sweeps for unfinished responses every minute and queues the invocations contain failed', () => {
    const rule = ofType('AWS::Events::Rule').find(([, r]) => getAtt((r.Properties.Targets as Json[])[0]?.Arn)?.[0] === functionId('contain'));
    expect(rule?.[1].Properties).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
    expect(JSON.parse(String((rule?.[1].Properties.Targets as Json[])[0]?.Input))).toEqual({ sweep: true });
    const config = ofType('AWS::Lambda::EventInvokeConfig').find(([, c]) => (c.Properties.FunctionName as Json).Ref === functionId('contain'));
    expect(config?.[1].Properties).toMatchObject({
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['ContainFailureQueue', 'Arn'] } } },
    });
    const variables = (resources[functionId('contain')]?.Properties.Environment as { Variables: Json }).Variables;
    expect(variables.PAGES_TOPIC_ARN).toEqual({ Ref: 'PagesTopic' });
  });

  it('reads the log files only under the trail prefix', () => {
    const reads = statementsOfRole(roleOf(functionId('score-logfile'))).filter((statement) =>
      asList(statement.Action).some((action) => action.startsWith('s3:')),
    );
    expect(reads.flatMap((statement) => asList(statement.Action))).toEqual(['s3:GetObject']);
    expect(reads.flatMap((statement) => asList(statement.Resource))).toEqual([
      { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${String(params.trailBucket)}/${String(params.trailPrefix)}*` },
    ]);
  });

  it('lets score-logfile read CloudTrail\'s public keys, to validate digests, and tells it the trail\'s layout', () => {
    const actions = statementsOfRole(roleOf(functionId('score-logfile'))).flatMap((statement) => asList(statement.Action));
    expect(actions.filter((action) => action.startsWith('cloudtrail:'))).toEqual(['cloudtrail:ListPublicKeys']);
    const variables = (resources[functionId('score-logfile')]?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({ TRAIL_PREFIX: params.trailPrefix, ACCOUNT_ID: { Ref: 'AWS::AccountId' } });
  });

  it('feeds score from the intake queue in batches that report partial failures', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(2);
    const [, mapping] = mappings.find(([, m]) => getAtt(m.Properties.EventSourceArn)?.[0] === 'IntakeQueue') as [string, Resource];
    expect(getAtt(mapping.Properties.EventSourceArn)?.[0]).toBe('IntakeQueue');
    expect(getAtt(mapping.Properties.FunctionName)?.[0]).toBe(functionId('score'));
    expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBe(params.scoreBatchWindowSeconds);
    expect(mapping.Properties.BatchSize).toBe(params.scoreBatchSize);
    // The poller never runs more invocations than the function may: throttled batches would count
    // as receives and drift into the DLQ.
    expect(mapping.Properties.ScalingConfig).toEqual({ MaximumConcurrency: params.scoreReservedConcurrency });
    expect(resources[functionId('score')]?.Properties.ReservedConcurrentExecutions).toBe(params.scoreReservedConcurrency);
  });

  it('routes S3 data events on the protected buckets from EventBridge to the intake queue', () => {
    const rule = resources.IntakeRule as Resource;
    expect(rule.Type).toBe('AWS::Events::Rule');
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['s3.amazonaws.com'],
        requestParameters: { bucketName: { 'Fn::Split': [',', params.protectedBuckets] } },
      },
    });
    const [target] = rule.Properties.Targets as Json[];
    expect(getAtt(target?.Arn)?.[0]).toBe('IntakeQueue');

    const policy = ofType('AWS::SQS::QueuePolicy').map(([, resource]) => resource)[0] as Resource;
    const statements = (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['IntakeRule', 'Arn'] } } },
      }),
    );
  });

  it('decides multi-object and version deletes as they land: the urgent lane, without a batching window', () => {
    const urgent = ofType('AWS::Lambda::EventSourceMapping').find(([, m]) => getAtt(m.Properties.EventSourceArn)?.[0] === 'UrgentQueue')?.[1];
    expect(getAtt(urgent?.Properties.FunctionName)?.[0]).toBe(functionId('score'));
    expect(urgent?.Properties.MaximumBatchingWindowInSeconds).toBe(0);
    expect(urgent?.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const buckets = { 'Fn::Split': [',', params.protectedBuckets] };
    const patterns = ['UrgentBatchDeleteRule', 'UrgentVersionDeleteRule'].map((id) => (resources[id] as Resource).Properties.EventPattern as { detail: Json });
    expect(patterns.map((pattern) => pattern.detail)).toEqual([
      { eventSource: ['s3.amazonaws.com'], eventName: ['DeleteObjects'], requestParameters: { bucketName: buckets } },
      { eventSource: ['s3.amazonaws.com'], eventName: ['DeleteObject'], requestParameters: { bucketName: buckets, versionId: [{ exists: true }] } },
    ]);
    for (const id of ['UrgentBatchDeleteRule', 'UrgentVersionDeleteRule']) {
      const [target] = (resources[id] as Resource).Properties.Targets as Json[];
      expect(getAtt(target?.Arn)?.[0]).toBe('UrgentQueue');
    }
    const statements = (ofType('AWS::SQS::QueuePolicy')[0]?.[1].Properties.PolicyDocument as { Statement: Json[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Condition: { ArnEquals: { 'aws:SourceArn': [{ 'Fn::GetAtt': ['UrgentBatchDeleteRule', 'Arn'] }, { 'Fn::GetAtt': ['UrgentVersionDeleteRule', 'Arn'] }] } },
      }),
    );
    const receives = statementsOfRole(roleOf(functionId('score'))).filter((statement) => asList(statement.Action).includes('sqs:ReceiveMessage'));
    expect(JSON.stringify(receives.map((statement) => statement.Resource))).toContain('UrgentQueue');
    expect((resources.UrgentQueue as Resource).Properties.RedrivePolicy).toMatchObject({ deadLetterTargetArn: { 'Fn::GetAtt': ['IntakeDeadLetterQueue', 'Arn'] } });
  });

  it('redrives the intake queue to a DLQ that pages when a message lands there', () => {
    const queue = resources.IntakeQueue as Resource;
    expect(queue.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': ['IntakeDeadLetterQueue', 'Arn'] },
      maxReceiveCount: 5,
    });
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['IntakeDeadLetterQueue', 'QueueName'] } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: 'AlarmsTopic' }],
      }),
    );
  });

  it('sends log-file notifications that failed their retries to a queue under an alarm', () => {
    const [, config] = ofType('AWS::Lambda::EventInvokeConfig').find(
      ([, c]) => (c.Properties.FunctionName as Json).Ref === functionId('score-logfile'),
    ) as [string, Resource];
    expect(config.Properties).toMatchObject({
      FunctionName: { Ref: functionId('score-logfile') },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['LogFileFailureQueue', 'Arn'] } } },
    });
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['LogFileFailureQueue', 'QueueName'] } }],
        AlarmActions: [{ Ref: 'AlarmsTopic' }],
      }),
    );
  });

  it('grants score and score-logfile exactly the IAM reads of the key-age look-up, on the account\'s users', () => {
    for (const name of ['score', 'score-logfile']) {
      const statements = statementsOfRole(roleOf(functionId(name))).filter((statement) => asList(statement.Action).some((a) => /^iam:/i.test(a)));
      expect(statements.flatMap((statement) => asList(statement.Action)).sort()).toEqual([...KEY_AGE_PERMISSIONS].sort());
      expect(statements.flatMap((statement) => asList(statement.Resource))).toEqual([
        { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*' },
      ]);
    }
  });

  it('grants the inventory function exactly the reads it calls, and the state table only to read', () => {
    const statements = statementsOfRole(roleOf(functionId('inventory'))).filter((statement) => statement.Effect === 'Allow');
    const actions = statements.flatMap((statement) => asList(statement.Action));
    const outside = actions.filter((action) => /^(iam|cloudtrail):/i.test(action));
    expect([...outside].sort()).toEqual([...INVENTORY_PERMISSIONS].sort());
    expect(actions.filter((action) => action.startsWith('dynamodb:')).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem']);
  });

  it('sends phones only the pages that need someone now, not the inventory or tuning reports', () => {
    const [, sms] = ofType('AWS::SNS::Subscription').find(
      ([, s]) => s.Properties.Protocol === 'sms' && (s.Properties.TopicArn as Json).Ref === 'PagesTopic',
    ) as [string, Resource];
    expect(sms.Properties.FilterPolicy).toEqual({
      severity: ['critical', 'high'],
      action: [{ 'anything-but': ['inventory', 'tuning-report'] }],
    });
  });

  it('quotes a doctor command in the outputs that the doctor accepts, with every option it needs', () => {
    const outputs = (JSON.parse(templateText) as { Outputs: Record<string, { Value: Json }> }).Outputs;
    const template = outputs.DoctorCommand?.Value['Fn::Sub'] as string;
    // Each ${Logical} or ${AWS::Region} becomes one word, as CloudFormation's substitution would.
    const words = template.replace(/\$\{[^}]+\}/g, 'x').trim().split(/\s+/);
    expect(words.slice(0, 2)).toEqual(['keysentry', 'doctor']);
    const { values } = parseArgs({ args: words.slice(2), options: DOCTOR_OPTIONS, strict: true });
    expect(Object.keys(values)).toEqual(
      expect.arrayContaining(['region', 'trail', 'rule', 'queue-url', 'topic-arn', 'contain-function', 'score-function', 'protected-buckets']),
    );
    for (const logical of ['IntakeRule', 'IntakeQueue', 'PagesTopic', 'ContainLambdaFunction', 'ScoreLambdaFunction']) {
      expect(template).toContain(`\${${logical}}`);
      expect(resources[logical], logical).toBeDefined();
    }
    expect(template).toContain(`--protected-buckets ${params.protectedBuckets as string}`);
  });

  it('notifies score-logfile of new .json.gz files under the trail prefix of the existing bucket', () => {
    const [, notification] = ofType('Custom::S3')[0] as [string, Resource];
    expect(notification.Properties).toMatchObject({
      BucketName: params.trailBucket,
      BucketConfigs: [{ Event: 's3:ObjectCreated:*', Rules: [{ Prefix: params.trailPrefix }, { Suffix: '.json.gz' }] }],
    });
  });

  it('expires windows and idempotency records by TTL and keeps the state table recoverable', () => {
    const windows = resources.WindowsTable as Resource;
    const state = resources.StateTable as Resource;
    const idempotency = resources.IdempotencyTable as Resource;
    for (const table of [windows, state, idempotency]) expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');

    expect(windows.Properties.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(windows.Properties.AttributeDefinitions).toEqual([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'N' },
    ]);
    expect(windows.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });

    expect(state.Properties.AttributeDefinitions).toEqual([
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ]);
    expect(state.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });

    expect(idempotency.Properties.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    expect(idempotency.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiration', Enabled: true });
  });

  it('subscribes e-mail and SMS to the pages and alarms topics only when they are given', () => {
    const subscriptions = ofType('AWS::SNS::Subscription').map(([, subscription]) => subscription);
    const byTopic = subscriptions.map((subscription) => `${(subscription.Properties.TopicArn as Json).Ref}:${subscription.Condition}`);
    expect(byTopic.sort()).toEqual(['AlarmsTopic:HasAlertEmail', 'AlarmsTopic:HasAlertPhone', 'PagesTopic:HasAlertEmail', 'PagesTopic:HasAlertPhone']);
  });

  it('encrypts the pages topic, with the AWS managed key unless a customer key is given', () => {
    expect(params.pagesKmsKey).toBe('alias/aws/sns');
    expect(resources.PagesTopic?.Properties.KmsMasterKeyId).toBe(params.pagesKmsKey);
  });

  it('keeps no role that no function uses', () => {
    const roles = ofType('AWS::IAM::Role').map(([id]) => id);
    const used = new Set(ofType('AWS::Lambda::Function').map(([, fn]) => getAtt(fn.Properties.Role)?.[0]));
    expect(roles.filter((role) => !used.has(role))).toEqual([]);
    expect(roles).not.toContain('IamRoleLambdaExecution');
  });

  it('names every function role in OWN_ROLE_ARNS, the only exemption of the detector\'s own roles', () => {
    const variables = (resources[functionId('score')]?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const [text, values] = (variables.OWN_ROLE_ARNS as { 'Fn::Sub': [string, Record<string, string>] })['Fn::Sub'];
    const ownArns = text.replaceAll('${Prefix}', values.Prefix ?? '').trim().split(',');
    const functionRoles = ofType('AWS::Lambda::Function')
      .map(([, fn]) => getAtt(fn.Properties.Role)?.[0] as string)
      .filter((role) => resources[role]?.Properties.RoleName !== undefined);
    expect(functionRoles).toHaveLength(5);
    const roleArns = functionRoles.map((role) => {
      const [separator, parts] = (resources[role]?.Properties.RoleName as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
      const name = parts.map((part) => (typeof part === 'string' ? part : '${AWS::Region}')).join(separator);
      return 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/' + name;
    });
    expect([...ownArns].sort()).toEqual([...roleArns].sort());
  });

  it('has no account id written into it', () => {
    expect(templateText).not.toMatch(/(?<!\d)\d{12}(?!\d)/);
    expect(templateText).not.toMatch(/arn:aws:[a-z0-9-]+:[a-z0-9-]*:\d/);
  });
});
