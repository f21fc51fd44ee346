import { shellQuote } from '../../domain/shell-quote.ts';
import { accountOf, failed, partitionOf, passed, type DoctorCheckUnit, type DoctorContext, type QueueFacts } from './check.ts';
import { asList, parsePolicy, patternMatches, statementCovers, type PolicyStatement } from './iam-policy.ts';

const EVENTS_SERVICE = 'events.amazonaws.com';

const namesEventBridge = (statement: PolicyStatement): boolean => {
  const principal = statement.Principal;
  if (principal === '*') return true;
  if (principal === undefined || typeof principal === 'string') return false;
  return asList(principal.Service).includes(EVENTS_SERVICE) || asList(principal.AWS).includes('*');
};

/** Whether a statement's `aws:SourceArn` condition, if any, takes in `ruleArn` (`…Like` operators match wildcards). */
function sourceArnAllows(statement: PolicyStatement, ruleArn: string): boolean {
  const limits = Object.entries(statement.Condition ?? {}).flatMap(([operator, keys]) =>
    Object.entries(keys)
      .filter(([key]) => key.toLowerCase() === 'aws:sourcearn')
      .map(([, values]) => ({ like: /Like$/.test(operator), values: asList(values) })),
  );
  return limits.every((limit) => limit.values.some((value) => (limit.like ? patternMatches(value, ruleArn, false) : value === ruleArn)));
}

const hasCondition = (statement: PolicyStatement): boolean => Object.keys(statement.Condition ?? {}).length > 0;

/**
 * Whether the queue's access policy lets EventBridge send the rule's events: an Allow of
 * `sqs:SendMessage` to `events.amazonaws.com` on the queue, and a condition on `aws:SourceArn`, if
 * any, that takes in the rule. Without one, EventBridge's deliveries fail and no event is ever scored.
 */
export function allowsRuleToSend(statements: readonly PolicyStatement[], queueArn: string, ruleArn: string): boolean {
  const matches = (statement: PolicyStatement): boolean =>
    namesEventBridge(statement) &&
    statementCovers(statement, 'sqs:SendMessage') &&
    asList(statement.Resource ?? '*').some((resource) => patternMatches(resource, queueArn, false)) &&
    sourceArnAllows(statement, ruleArn);
  const denied = statements.some(
    (statement) => statement.Effect === 'Deny' && namesEventBridge(statement) && statementCovers(statement, 'sqs:SendMessage') && !hasCondition(statement),
  );
  return !denied && statements.some((statement) => statement.Effect === 'Allow' && matches(statement));
}

/** The rule's ARN, or the one EventBridge gives a rule of that name on the queue's account and region. */
function ruleArnOf(context: DoctorContext, queue: QueueFacts, described: string | undefined): string {
  if (described !== undefined) return described;
  const bus = context.config.eventBusName === undefined || context.config.eventBusName === 'default' ? '' : `${context.config.eventBusName}/`;
  return `arn:${partitionOf(queue.arn)}:events:${context.region}:${accountOf(queue.arn)}:rule/${bus}${context.config.rule}`;
}

/** The command that adds the statement to the queue's policy, keeping the statements it has. */
function queuePolicyFix(context: DoctorContext, queue: QueueFacts, ruleArn: string): string {
  const statement: PolicyStatement = {
    Sid: 'KeysentryIntakeRule',
    Effect: 'Allow',
    Principal: { Service: EVENTS_SERVICE },
    Action: 'sqs:SendMessage',
    Resource: queue.arn,
    Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
  };
  const policy = { Version: '2012-10-17', Statement: [...parsePolicy(queue.policy).filter((kept) => kept.Sid !== statement.Sid), statement] };
  const attributes = JSON.stringify({ Policy: JSON.stringify(policy) });
  return `aws sqs set-queue-attributes --region ${context.region} --queue-url ${queue.url} --attributes ${shellQuote(attributes)}`;
}

/** The intake queue's policy lets the EventBridge rule send to it. */
export const queuePolicyCheck: DoctorCheckUnit = {
  id: 'queue-policy',
  name: 'intake queue lets the EventBridge rule send to it',
  async run(context) {
    const queue = await context.queue();
    if (queue === undefined) return failed(this, `the intake queue ${context.config.queueUrl} does not exist (see the queue check)`);
    const ruleArn = ruleArnOf(context, queue, (await context.rule())?.arn);
    let statements: PolicyStatement[];
    try {
      statements = parsePolicy(queue.policy);
    } catch {
      statements = [];
    }
    if (allowsRuleToSend(statements, queue.arn, ruleArn)) return passed(this, `queue ${queue.arn} accepts messages from ${ruleArn}`);
    const what = queue.policy === undefined ? 'has no access policy' : 'has a policy that does not let it';
    return failed(this, `queue ${queue.arn} ${what}: EventBridge cannot deliver the rule's events and none is ever scored`, [
      queuePolicyFix(context, queue, ruleArn),
    ]);
  },
};
