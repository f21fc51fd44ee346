import { ListTargetsByRuleCommand, type EventBridgeClient, type Target } from '@aws-sdk/client-eventbridge';
import { shellQuote } from '../../domain/shell-quote.ts';
import { failed, passed, type DoctorCheckUnit, type DoctorContext } from './check.ts';

type Pattern = { detail?: { requestParameters?: { bucketName?: unknown } } } & Record<string, unknown>;

function parsePattern(eventPattern: string | undefined): Pattern | undefined {
  if (eventPattern === undefined) return undefined;
  try {
    return JSON.parse(eventPattern) as Pattern;
  } catch {
    return undefined;
  }
}

/** The bucket names an event pattern filters on (`detail.requestParameters.bucketName`), when it lists plain names. */
export function patternBuckets(eventPattern: string | undefined): string[] | undefined {
  const names = parsePattern(eventPattern)?.detail?.requestParameters?.bucketName;
  return Array.isArray(names) && names.every((name) => typeof name === 'string') ? names : undefined;
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

/** The `put-rule` command that adds `leftOut` to the pattern's bucket names, keeping the rest of the pattern. */
function widenedPatternFix(context: DoctorContext, eventPattern: string, leftOut: readonly string[], bus: string): string {
  const pattern = parsePattern(eventPattern) as Pattern;
  const listed = patternBuckets(eventPattern) ?? [];
  const widened = { ...pattern, detail: { ...pattern.detail, requestParameters: { ...pattern.detail?.requestParameters, bucketName: [...listed, ...leftOut] } } };
  return `aws events put-rule --region ${context.region} --name ${shellQuote(context.config.rule)}${bus} --event-pattern ${shellQuote(JSON.stringify(widened))}`;
}

/** The EventBridge rule exists, is enabled, targets the intake queue, and its pattern names every protected bucket. */
export const intakeRuleCheck: DoctorCheckUnit = {
  id: 'intake-rule',
  name: 'EventBridge rule is enabled and targets the intake queue',
  async run(context) {
    const { config, region } = context;
    const bus = config.eventBusName === undefined ? '' : ` --event-bus-name ${shellQuote(config.eventBusName)}`;
    const rule = await context.rule();
    if (rule === undefined) {
      return failed(this, `there is no rule ${config.rule} in ${region}: check --rule against the rules listed`, [
        `aws events list-rules --region ${region}${bus} --query 'Rules[].[Name,State]' --output text`,
      ]);
    }
    const queueArn = (await context.queue())?.arn;
    if (queueArn === undefined) return failed(this, `the intake queue ${config.queueUrl} does not exist, so nothing can be delivered to it (see the queue check)`);
    const problems: string[] = [];
    const fix: string[] = [];
    if (rule.state !== 'ENABLED') {
      problems.push(`rule ${config.rule} is ${rule.state ?? 'in an unknown state'}`);
      fix.push(`aws events enable-rule --region ${region} --name ${shellQuote(config.rule)}${bus}`);
    }
    const targets = await listTargets(context.events, config.rule, config.eventBusName);
    if (!targets.some((target) => target.Arn === queueArn)) {
      const others = targets.map((target) => target.Arn).join(', ');
      problems.push(`it does not target the intake queue ${queueArn}${others ? ` (targets: ${others})` : ' (no targets)'}`);
      fix.push(`aws events put-targets --region ${region} --rule ${shellQuote(config.rule)}${bus} --targets Id=intake-queue,Arn=${queueArn}`);
    }
    const listed = patternBuckets(rule.eventPattern);
    const leftOut = listed === undefined ? [] : config.protectedBuckets.filter((bucket) => !listed.includes(bucket));
    if (leftOut.length > 0) {
      problems.push(`its event pattern leaves out ${leftOut.join(', ')}`);
      fix.push(widenedPatternFix(context, rule.eventPattern as string, leftOut, bus));
    }
    if (problems.length > 0) return failed(this, problems.join('; '), fix);
    return passed(this, `rule ${config.rule} is enabled and targets ${queueArn}`);
  },
};
