import {
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  type AdvancedEventSelector,
  type AdvancedFieldSelector,
  type CloudTrailClient,
  type EventSelector,
} from '@aws-sdk/client-cloudtrail';
import { DescribeRuleCommand, ListTargetsByRuleCommand, type EventBridgeClient, type Target } from '@aws-sdk/client-eventbridge';
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  paginateListAttachedRolePolicies,
  paginateListRolePolicies,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { paginateListSubscriptionsByTopic, type SNSClient, type Subscription } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { CONTAINMENT_PERMISSIONS } from '../aws/containment.ts';

/** One line of the checklist: what was checked, whether it holds, what was found, and how to fix it. */
export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** A command (or the step) that fixes a failed check. */
  fix?: string;
}

/** What a deployment of keysentry consists of, by name: what the doctor looks at. */
export interface DoctorConfig {
  /** The trail that records the S3 data events (name or ARN). */
  trail: string;
  /** The EventBridge rule that sends them to the intake queue. */
  rule: string;
  /** The rule's event bus; `default` unless given. */
  eventBusName?: string;
  queueUrl: string;
  /** The pages topic. */
  topicArn: string;
  /** The contain function's role (name or ARN); or `containFunction`, whose role is looked up. */
  containRole?: string;
  containFunction?: string;
  protectedBuckets: readonly string[];
  /** IAM actions the contain role must hold; `CONTAINMENT_PERMISSIONS` unless given. */
  requiredPermissions?: readonly string[];
}

/** The clients the checks call (with the on-call's credentials: read-only calls only) and what to check. */
export interface DoctorOptions {
  cloudtrail: CloudTrailClient;
  events: EventBridgeClient;
  sqs: SQSClient;
  sns: SNSClient;
  iam: IAMClient;
  /** Needed only to find the contain role from `containFunction`. */
  lambda?: LambdaClient;
  config: DoctorConfig;
}

/** The checks, in the order the checklist lists them. */
export const CHECK_NAMES = {
  trailLogging: 'CloudTrail trail is logging',
  dataEvents: 'trail records S3 data events (read and write) for every protected bucket',
  rule: 'EventBridge rule is enabled and targets the intake queue',
  queue: 'intake queue exists and has a dead-letter queue',
  subscription: 'pages topic has a confirmed subscription',
  containPermissions: 'contain role holds the permissions its actions declare',
} as const;

const messageOf = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
const errorName = (error: unknown): string | undefined => (error as { name?: string } | null)?.name;

/** Quotes a word for a POSIX shell when it needs it (JSON documents always do). */
const shellQuote = (text: string): string => (/^[\w+=,.@:/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

/** The last segment of an ARN path (`arn:aws:iam::1:role/path/name` → `name`), or the text itself. */
const nameOf = (nameOrArn: string): string => nameOrArn.split('/').pop() ?? nameOrArn;

const partitionOf = (arn: string | undefined): string => arn?.split(':')[1] || 'aws';
const regionOf = (arn: string): string | undefined => (arn.startsWith('arn:') ? arn.split(':')[3] || undefined : undefined);

/** A check that threw: failed, with the error as its detail (missing credentials and permissions show here). */
async function guarded(name: string, check: () => Promise<DoctorCheck>): Promise<DoctorCheck> {
  try {
    return await check();
  } catch (error) {
    return { name, ok: false, detail: `could not check: ${messageOf(error)}` };
  }
}

// --- (a) trail logging -------------------------------------------------------------------------

async function checkTrailLogging(cloudtrail: CloudTrailClient, trail: string, region: string): Promise<DoctorCheck> {
  const name = CHECK_NAMES.trailLogging;
  try {
    const status = await cloudtrail.send(new GetTrailStatusCommand({ Name: trail }));
    const delivery = status.LatestDeliveryError ? `; its last log file delivery failed: ${status.LatestDeliveryError}` : '';
    if (status.IsLogging) return { name, ok: true, detail: `trail ${trail} is logging${delivery}` };
    return {
      name,
      ok: false,
      detail: `trail ${trail} is not logging: no event reaches EventBridge or the log files${delivery}`,
      fix: `aws cloudtrail start-logging --region ${region} --name ${shellQuote(trail)}`,
    };
  } catch (error) {
    if (errorName(error) !== 'TrailNotFoundException') throw error;
    return {
      name,
      ok: false,
      detail: `there is no trail ${trail} in ${region}`,
      fix: `check --trail and --region: aws cloudtrail describe-trails --region ${region} --query 'trailList[].[Name,HomeRegion]'`,
    };
  }
}

// --- (b) data event selectors ------------------------------------------------------------------

/** How much of a bucket's objects a selector takes in. */
type Extent = 'all' | 'some' | 'none';

/** What the trail records of one bucket's object data events. */
export interface BucketCoverage {
  bucket: string;
  read: boolean;
  write: boolean;
  /** Why it is not (fully) covered, when a selector takes in only part of it. */
  notes: string[];
}

const narrower = (a: Extent, b: Extent): Extent => (a === 'none' || b === 'none' ? 'none' : a === 'some' || b === 'some' ? 'some' : 'all');

/**
 * How much of bucket `objects` (its object ARN prefix, `arn:aws:s3:::bucket/`) a `resources.ARN`
 * field selector takes in. Positive operators (Equals, StartsWith, EndsWith) include events when
 * any of their values matches; negative ones exclude events matching any of theirs. Only a
 * StartsWith value that is a prefix of the bucket's prefix takes in every object of the bucket.
 */
function arnExtent(field: AdvancedFieldSelector, objects: string): Extent {
  const starts = field.StartsWith ?? [];
  const positives = [...(field.Equals ?? []), ...starts, ...(field.EndsWith ?? [])];
  let extent: Extent = 'all';
  if (positives.length > 0) {
    if (starts.some((value) => objects.startsWith(value))) extent = 'all';
    else if ([...starts, ...(field.Equals ?? [])].some((value) => value.startsWith(objects)) || (field.EndsWith ?? []).length > 0) extent = 'some';
    else extent = 'none';
  }
  if ((field.NotStartsWith ?? []).some((value) => objects.startsWith(value))) return 'none';
  const excludesSome =
    (field.NotStartsWith ?? []).some((value) => value.startsWith(objects)) ||
    (field.NotEquals ?? []).some((value) => value.startsWith(objects)) ||
    (field.NotEndsWith ?? []).length > 0;
  return excludesSome ? narrower(extent, 'some') : extent;
}

/** Fields whose usual values filter nothing out of S3 object data events. */
const NEUTRAL_FIELDS: Readonly<Record<string, (field: AdvancedFieldSelector) => boolean>> = {
  eventSource: (field) => Object.keys(field).every((key) => key === 'Field' || key === 'Equals') && (field.Equals ?? []).includes('s3.amazonaws.com'),
  eventType: (field) => Object.keys(field).every((key) => key === 'Field' || key === 'Equals') && (field.Equals ?? []).includes('AwsApiCall'),
};

function advancedCoverage(selector: AdvancedEventSelector, objects: string): { read: boolean; write: boolean; note?: string } {
  const fields = selector.FieldSelectors ?? [];
  const equals = (name: string): string[] | undefined => {
    const found = fields.filter((field) => field.Field === name);
    return found.length === 0 ? undefined : found.flatMap((field) => field.Equals ?? []);
  };
  const none = { read: false, write: false };
  if (!(equals('eventCategory') ?? []).includes('Data')) return none;
  if (!(equals('resources.type') ?? []).includes('AWS::S3::Object')) return none;
  const readOnly = equals('readOnly');
  const read = readOnly === undefined || readOnly.includes('true');
  const write = readOnly === undefined || readOnly.includes('false');
  const label = selector.Name ? `selector "${selector.Name}"` : 'an advanced selector';

  let extent: Extent = 'all';
  for (const field of fields.filter((candidate) => candidate.Field === 'resources.ARN')) extent = narrower(extent, arnExtent(field, objects));
  if (extent === 'none') return none;
  if (extent === 'some') return { ...none, note: `${label} takes in only some of its objects (resources.ARN)` };
  const filtering = fields.filter(
    (field) =>
      !['eventCategory', 'resources.type', 'resources.ARN', 'readOnly'].includes(field.Field ?? '') &&
      !(NEUTRAL_FIELDS[field.Field ?? '']?.(field) ?? false),
  );
  if (filtering.length > 0) {
    return { ...none, note: `${label} also filters on ${filtering.map((field) => field.Field).join(', ')}: some calls on it are not recorded` };
  }
  return { read, write };
}

function basicCoverage(selector: EventSelector, partition: string, bucket: string): { read: boolean; write: boolean; note?: string } {
  const objects = `arn:${partition}:s3:::${bucket}/`;
  // Basic selectors' values are ARN prefixes: "arn:aws:s3" (or "arn:aws:s3:::") is every bucket.
  const whole = new Set([`arn:${partition}:s3`, `arn:${partition}:s3:::`, `arn:${partition}:s3:::${bucket}`, objects]);
  const values = (selector.DataResources ?? []).filter((resource) => resource.Type === 'AWS::S3::Object').flatMap((resource) => resource.Values ?? []);
  const type = selector.ReadWriteType ?? 'All';
  if (values.some((value) => whole.has(value))) return { read: type !== 'WriteOnly', write: type !== 'ReadOnly' };
  const prefixes = values.filter((value) => value.startsWith(objects));
  if (prefixes.length > 0) return { read: false, write: false, note: `an event selector takes in only the prefixes ${prefixes.join(', ')}` };
  return { read: false, write: false };
}

/**
 * What the trail's event selectors record of each bucket's object data events, read and write
 * apart. Basic selectors (`DataResources` of type `AWS::S3::Object`, values `arn:aws:s3` for every
 * bucket or `arn:aws:s3:::bucket/`; `ReadWriteType`) and advanced ones (`eventCategory = Data`,
 * `resources.type = AWS::S3::Object`, optional `resources.ARN` and `readOnly`) are both read; a
 * selector counts only when it takes in every object of the bucket, and one that filters on
 * anything else (event names, callers) does not count, with a note saying why.
 */
export function coverageOfBuckets(
  selectors: { EventSelectors?: EventSelector[]; AdvancedEventSelectors?: AdvancedEventSelector[] },
  partition: string,
  buckets: readonly string[],
): BucketCoverage[] {
  return buckets.map((bucket) => {
    const objects = `arn:${partition}:s3:::${bucket}/`;
    const results = [
      ...(selectors.EventSelectors ?? []).map((selector) => basicCoverage(selector, partition, bucket)),
      ...(selectors.AdvancedEventSelectors ?? []).map((selector) => advancedCoverage(selector, objects)),
    ];
    return {
      bucket,
      read: results.some((result) => result.read),
      write: results.some((result) => result.write),
      notes: results.flatMap((result) => (result.note === undefined ? [] : [result.note])),
    };
  });
}

/**
 * The `put-event-selectors` command that adds the buckets' object data events (read and write) to
 * what the trail records. The call replaces every selector of the trail, so the command carries the
 * existing ones too: a trail on basic selectors gets one more basic selector, any other trail one
 * more advanced selector.
 */
export function eventSelectorsFix(
  trail: string,
  region: string,
  partition: string,
  current: { EventSelectors?: EventSelector[]; AdvancedEventSelectors?: AdvancedEventSelector[] },
  buckets: readonly string[],
): string {
  const prefixes = buckets.map((bucket) => `arn:${partition}:s3:::${bucket}/`);
  const command = `aws cloudtrail put-event-selectors --region ${region} --trail-name ${shellQuote(trail)}`;
  const basic = current.EventSelectors ?? [];
  if (basic.length > 0 && (current.AdvancedEventSelectors ?? []).length === 0) {
    const added: EventSelector = {
      ReadWriteType: 'All',
      IncludeManagementEvents: false,
      DataResources: [{ Type: 'AWS::S3::Object', Values: prefixes }],
    };
    return `${command} --event-selectors ${shellQuote(JSON.stringify([...basic, added]))}`;
  }
  const added: AdvancedEventSelector = {
    Name: 'keysentry: S3 object data events of the protected buckets',
    FieldSelectors: [
      { Field: 'eventCategory', Equals: ['Data'] },
      { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
      { Field: 'resources.ARN', StartsWith: prefixes },
    ],
  };
  return `${command} --advanced-event-selectors ${shellQuote(JSON.stringify([...(current.AdvancedEventSelectors ?? []), added]))}`;
}

async function checkDataEvents(cloudtrail: CloudTrailClient, config: DoctorConfig, region: string): Promise<DoctorCheck> {
  const name = CHECK_NAMES.dataEvents;
  if (config.protectedBuckets.length === 0) {
    return { name, ok: false, detail: 'no protected buckets named: nothing to check', fix: 'name them: --protected-buckets a,b' };
  }
  const selectors = await cloudtrail.send(new GetEventSelectorsCommand({ TrailName: config.trail }));
  const partition = partitionOf(selectors.TrailARN);
  const coverage = coverageOfBuckets(selectors, partition, config.protectedBuckets);
  const missing = coverage.filter((bucket) => !bucket.read || !bucket.write);
  if (missing.length === 0) {
    return { name, ok: true, detail: `reads and writes recorded on ${config.protectedBuckets.join(', ')}` };
  }
  const describe = (bucket: BucketCoverage): string => {
    const what = bucket.read ? 'writes not recorded' : bucket.write ? 'reads not recorded' : 'not recorded';
    return `${bucket.bucket}: ${what}${bucket.notes.length > 0 ? ` (${bucket.notes.join('; ')})` : ''}`;
  };
  return {
    name,
    ok: false,
    detail: `${missing.map(describe).join('; ')}. keysentry sees nothing the trail does not record`,
    fix: eventSelectorsFix(config.trail, region, partition, selectors, missing.map((bucket) => bucket.bucket)),
  };
}

// --- (c) rule and (d) queue ----------------------------------------------------------------------

interface QueueFacts {
  arn?: string;
  redrivePolicy?: string;
}

async function readQueue(sqs: SQSClient, queueUrl: string): Promise<QueueFacts | undefined> {
  try {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn', 'RedrivePolicy'] }));
    return { arn: Attributes?.QueueArn, redrivePolicy: Attributes?.RedrivePolicy };
  } catch (error) {
    if (errorName(error) === 'QueueDoesNotExist' || errorName(error) === 'AWS.SimpleQueueService.NonExistentQueue') return undefined;
    throw error;
  }
}

/** The bucket names an event pattern filters on (`detail.requestParameters.bucketName`), when it lists plain names. */
function patternBuckets(eventPattern: string | undefined): string[] | undefined {
  if (eventPattern === undefined) return undefined;
  try {
    const names = (JSON.parse(eventPattern) as { detail?: { requestParameters?: { bucketName?: unknown } } }).detail?.requestParameters?.bucketName;
    return Array.isArray(names) && names.every((name) => typeof name === 'string') ? names : undefined;
  } catch {
    return undefined;
  }
}

async function listTargets(events: EventBridgeClient, rule: string, eventBusName: string | undefined): Promise<Target[]> {
  const targets: Target[] = [];
  let NextToken: string | undefined;
  do {
    const page = await events.send(new ListTargetsByRuleCommand({ Rule: rule, EventBusName: eventBusName, NextToken }));
    targets.push(...(page.Targets ?? []));
    NextToken = page.NextToken;
  } while (NextToken !== undefined);
  return targets;
}

async function checkRule(events: EventBridgeClient, config: DoctorConfig, queue: Promise<QueueFacts | undefined>, region: string): Promise<DoctorCheck> {
  const name = CHECK_NAMES.rule;
  const bus = config.eventBusName === undefined ? '' : ` --event-bus-name ${shellQuote(config.eventBusName)}`;
  let rule;
  try {
    rule = await events.send(new DescribeRuleCommand({ Name: config.rule, EventBusName: config.eventBusName }));
  } catch (error) {
    if (errorName(error) !== 'ResourceNotFoundException') throw error;
    return {
      name,
      ok: false,
      detail: `there is no rule ${config.rule} in ${region}`,
      fix: `check --rule (the stack's IntakeRule: aws cloudformation describe-stack-resource --region ${region} --stack-name keysentry-STAGE --logical-resource-id IntakeRule --query StackResourceDetail.PhysicalResourceId), or deploy again`,
    };
  }
  const queueArn = (await queue)?.arn;
  if (queueArn === undefined) return { name, ok: false, detail: `the intake queue ${config.queueUrl} does not exist, so nothing can be delivered to it`, fix: 'see the intake queue check' };
  const problems: string[] = [];
  const fixes: string[] = [];
  if (rule.State !== 'ENABLED') {
    problems.push(`rule ${config.rule} is ${rule.State ?? 'in an unknown state'}`);
    fixes.push(`aws events enable-rule --region ${region} --name ${shellQuote(config.rule)}${bus}`);
  }
  const targets = await listTargets(events, config.rule, config.eventBusName);
  if (!targets.some((target) => target.Arn === queueArn)) {
    const others = targets.map((target) => target.Arn).join(', ');
    problems.push(`it does not target the intake queue ${queueArn}${others ? ` (targets: ${others})` : ' (no targets)'}`);
    fixes.push(`aws events put-targets --region ${region} --rule ${shellQuote(config.rule)}${bus} --targets Id=intake-queue,Arn=${queueArn}`);
  }
  const listed = patternBuckets(rule.EventPattern);
  const leftOut = listed === undefined ? [] : config.protectedBuckets.filter((bucket) => !listed.includes(bucket));
  if (leftOut.length > 0) {
    problems.push(`its event pattern leaves out ${leftOut.join(', ')}`);
    fixes.push('add the buckets to the protectedBuckets param and deploy again');
  }
  if (problems.length > 0) return { name, ok: false, detail: problems.join('; '), fix: fixes.join(' && ') };
  return { name, ok: true, detail: `rule ${config.rule} is enabled and targets ${queueArn}` };
}

async function checkQueue(config: DoctorConfig, queue: Promise<QueueFacts | undefined>, region: string): Promise<DoctorCheck> {
  const name = CHECK_NAMES.queue;
  const facts = await queue;
  if (facts === undefined) {
    return {
      name,
      ok: false,
      detail: `there is no queue ${config.queueUrl}`,
      fix: `check --queue-url (the stack's output IntakeQueueUrl: aws cloudformation describe-stacks --region ${region} --stack-name keysentry-STAGE --query "Stacks[0].Outputs")`,
    };
  }
  let redrive: { deadLetterTargetArn?: string; maxReceiveCount?: number | string } | undefined;
  try {
    redrive = facts.redrivePolicy === undefined ? undefined : (JSON.parse(facts.redrivePolicy) as typeof redrive);
  } catch {
    redrive = undefined;
  }
  if (redrive?.deadLetterTargetArn === undefined) {
    const policy = JSON.stringify({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: `arn:aws:sqs:${region}:ACCOUNT:DLQ-NAME`, maxReceiveCount: '5' }) });
    return {
      name,
      ok: false,
      detail: `queue ${facts.arn ?? config.queueUrl} has no redrive policy: a message that fails scoring again and again is retried until it expires, unseen`,
      fix: `aws sqs set-queue-attributes --region ${region} --queue-url ${config.queueUrl} --attributes ${shellQuote(policy)}`,
    };
  }
  return { name, ok: true, detail: `queue ${facts.arn} hands a message to ${redrive.deadLetterTargetArn} after ${redrive.maxReceiveCount} receives` };
}

// --- (e) subscriptions -----------------------------------------------------------------------------

async function checkSubscriptions(sns: SNSClient, topicArn: string): Promise<DoctorCheck> {
  const name = CHECK_NAMES.subscription;
  const region = regionOf(topicArn) ?? 'REGION';
  const subscriptions: Subscription[] = [];
  try {
    for await (const page of paginateListSubscriptionsByTopic({ client: sns }, { TopicArn: topicArn })) subscriptions.push(...(page.Subscriptions ?? []));
  } catch (error) {
    if (errorName(error) !== 'NotFoundException' && errorName(error) !== 'NotFound') throw error;
    return { name, ok: false, detail: `there is no topic ${topicArn}`, fix: 'check --topic-arn (the stack\'s output PagesTopicArn)' };
  }
  // A subscription waiting for its confirmation link has no ARN yet: SNS lists it as "PendingConfirmation".
  const confirmed = subscriptions.filter((subscription) => subscription.SubscriptionArn?.startsWith('arn:'));
  const pending = subscriptions.filter((subscription) => subscription.SubscriptionArn === 'PendingConfirmation');
  const protocols = (list: Subscription[]): string => list.map((subscription) => `${subscription.Protocol} ${subscription.Endpoint}`).join(', ');
  const waiting = pending.length === 0 ? '' : `; waiting for confirmation: ${protocols(pending)}`;
  if (confirmed.length > 0) return { name, ok: true, detail: `confirmed: ${protocols(confirmed)}${waiting}` };
  return {
    name,
    ok: false,
    detail: `no confirmed subscription: pages reach nobody${waiting}`,
    fix:
      pending.length > 0
        ? `open the confirmation link SNS sent to ${pending.map((subscription) => subscription.Endpoint).join(', ')} (it expires after 3 days; subscribing again sends a new one)`
        : `aws sns subscribe --region ${region} --topic-arn ${topicArn} --protocol email --notification-endpoint ON-CALL@EXAMPLE.COM, then open the link it sends`,
  };
}

// --- (f) contain permissions ------------------------------------------------------------------------

interface PolicyStatement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
}

/** IAM answers policy documents URL-encoded (RFC 3986); the SDK hands them over as they came. */
function parsePolicy(document: string | undefined): PolicyStatement[] {
  if (document === undefined) return [];
  const json = document.trimStart().startsWith('{') ? document : decodeURIComponent(document);
  const statement = (JSON.parse(json) as { Statement?: PolicyStatement | PolicyStatement[] }).Statement;
  return statement === undefined ? [] : Array.isArray(statement) ? statement : [statement];
}

const asList = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** IAM action patterns: case-insensitive, `*` any run of characters, `?` one character. */
function actionMatches(pattern: string, action: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(action);
}

const statementCovers = (statement: PolicyStatement, action: string): boolean =>
  statement.NotAction !== undefined
    ? !asList(statement.NotAction).some((pattern) => actionMatches(pattern, action))
    : asList(statement.Action).some((pattern) => actionMatches(pattern, action));

/**
 * The required actions the statements do not allow: no Allow statement names them (wildcards
 * count), or a Deny on every resource (`*`) takes them away. Resources and conditions of the
 * Allow statements are not evaluated, nor permission boundaries: `iam:SimulatePrincipalPolicy`
 * would, but the emulator the tests run on lacks it.
 */
export function missingActions(statements: readonly PolicyStatement[], required: readonly string[]): string[] {
  return required.filter((action) => {
    const allowed = statements.some((statement) => statement.Effect === 'Allow' && statementCovers(statement, action));
    const denied = statements.some(
      (statement) => statement.Effect === 'Deny' && asList(statement.Resource).includes('*') && statementCovers(statement, action),
    );
    return !allowed || denied;
  });
}

async function roleStatements(iam: IAMClient, roleName: string): Promise<{ statements: PolicyStatement[]; policies: string[] }> {
  const statements: PolicyStatement[] = [];
  const policies: string[] = [];
  for await (const page of paginateListRolePolicies({ client: iam }, { RoleName: roleName })) {
    for (const policyName of page.PolicyNames ?? []) {
      const { PolicyDocument } = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
      statements.push(...parsePolicy(PolicyDocument));
      policies.push(`inline ${policyName}`);
    }
  }
  for await (const page of paginateListAttachedRolePolicies({ client: iam }, { RoleName: roleName })) {
    for (const attached of page.AttachedPolicies ?? []) {
      const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: attached.PolicyArn }));
      const { PolicyVersion } = await iam.send(new GetPolicyVersionCommand({ PolicyArn: attached.PolicyArn, VersionId: Policy?.DefaultVersionId }));
      statements.push(...parsePolicy(PolicyVersion?.Document));
      policies.push(`attached ${attached.PolicyName}`);
    }
  }
  return { statements, policies };
}

async function checkContainPermissions(iam: IAMClient, lambda: LambdaClient | undefined, config: DoctorConfig): Promise<DoctorCheck> {
  const name = CHECK_NAMES.containPermissions;
  const required = config.requiredPermissions ?? CONTAINMENT_PERMISSIONS;
  let roleArn = config.containRole;
  if (roleArn === undefined && config.containFunction !== undefined && lambda !== undefined) {
    roleArn = (await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: config.containFunction }))).Role;
  }
  if (roleArn === undefined) {
    const detail = config.containFunction === undefined ? 'no contain role named' : `the role of ${config.containFunction} cannot be looked up without a Lambda client`;
    return { name, ok: false, detail, fix: 'name it: --contain-role ROLE (or --contain-function FUNCTION)' };
  }
  const roleName = nameOf(roleArn);
  let found;
  try {
    found = await roleStatements(iam, roleName);
  } catch (error) {
    if (errorName(error) !== 'NoSuchEntity' && errorName(error) !== 'NoSuchEntityException') throw error;
    return { name, ok: false, detail: `there is no role ${roleName}`, fix: 'check --contain-role (keysentry-STAGE-contain-REGION-lambdaRole), or deploy again' };
  }
  const missing = missingActions(found.statements, required);
  if (missing.length === 0) {
    return { name, ok: true, detail: `role ${roleName} allows ${required.join(', ')} (${found.policies.join(', ') || 'no policies'})` };
  }
  const account = roleArn.startsWith('arn:') ? roleArn.split(':')[4] || '*' : '*';
  const partition = partitionOf(roleArn.startsWith('arn:') ? roleArn : undefined);
  const document = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: missing,
        Resource: [`arn:${partition}:iam::${account}:user/*`, `arn:${partition}:iam::${account}:role/*`],
      },
    ],
  });
  return {
    name,
    ok: false,
    detail: `role ${roleName} lacks ${missing.join(', ')}: containment fails and only pages (found ${found.policies.join(', ') || 'no policies'})`,
    fix: `deploy again (serverless.yml grants them), or: aws iam put-role-policy --role-name ${shellQuote(roleName)} --policy-name keysentry-contain-permissions --policy-document ${shellQuote(document)}`,
  };
}

// --- all of it ---------------------------------------------------------------------------------

/**
 * Checks that a deployment can see and stop an attack, and returns the checklist in order: (a) the
 * trail is logging; (b) its event selectors (basic or advanced) record S3 object data events, reads
 * and writes, for every protected bucket — the fix is the exact `put-event-selectors` command, which
 * keeps the trail's other selectors; (c) the EventBridge rule exists, is enabled, targets the
 * intake queue (and its pattern names every protected bucket); (d) the intake queue exists and has
 * a redrive policy; (e) the pages topic has a confirmed subscription (ones still pending do not
 * count); (f) the contain function's role allows `CONTAINMENT_PERMISSIONS`, read from its inline
 * and attached policies. Checks run concurrently; one that cannot run (no credentials, access
 * denied) fails with the error as its detail. Never throws.
 */
export async function runDoctorChecks(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { cloudtrail, events, sqs, sns, iam, lambda, config } = options;
  const region = regionOf(config.trail) ?? (await cloudtrail.config.region().catch(() => 'REGION'));
  const queue = readQueue(sqs, config.queueUrl);
  // Both queue checks await this; a failure is reported by each, and must not go unhandled meanwhile.
  queue.catch(() => undefined);
  return Promise.all([
    guarded(CHECK_NAMES.trailLogging, () => checkTrailLogging(cloudtrail, config.trail, region)),
    guarded(CHECK_NAMES.dataEvents, () => checkDataEvents(cloudtrail, config, region)),
    guarded(CHECK_NAMES.rule, async () => checkRule(events, config, queue, await events.config.region())),
    guarded(CHECK_NAMES.queue, async () => checkQueue(config, queue, await sqs.config.region())),
    guarded(CHECK_NAMES.subscription, () => checkSubscriptions(sns, config.topicArn)),
    guarded(CHECK_NAMES.containPermissions, () => checkContainPermissions(iam, lambda, config)),
  ]);
}

/**
 * Renders the checklist: `✔` or `✘` and the check's name, its detail indented below, and for each
 * failure the fix; then how many passed.
 */
export function formatDoctorReport(checks: readonly DoctorCheck[]): string {
  const lines = ['keysentry doctor', ''];
  for (const check of checks) {
    lines.push(`${check.ok ? '✔' : '✘'} ${check.name}`, `    ${check.detail}`);
    if (!check.ok && check.fix !== undefined) lines.push(`    fix: ${check.fix}`);
  }
  const passed = checks.filter((check) => check.ok).length;
  lines.push('', passed === checks.length ? `All ${checks.length} checks passed.` : `${checks.length - passed} of ${checks.length} checks failed.`);
  return `${lines.join('\n')}\n`;
}
