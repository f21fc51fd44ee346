import { paginateListSubscriptionsByTopic, type Subscription } from '@aws-sdk/client-sns';
import { errorName, failed, passed, regionOf, type DoctorCheckUnit } from './check.ts';

const MISSING_TOPIC_ERRORS = new Set(['NotFoundException', 'NotFound']);

const describe = (list: Subscription[]): string => list.map((subscription) => `${subscription.Protocol} ${subscription.Endpoint}`).join(', ');

/**
 * The pages topic has a confirmed subscription. One waiting for its confirmation link has no ARN
 * yet (SNS lists it as `PendingConfirmation`) and does not count: subscribing it again sends a new link.
 */
export const subscriptionCheck: DoctorCheckUnit = {
  id: 'subscription',
  name: 'pages topic has a confirmed subscription',
  async run({ sns, config }) {
    const topicArn = config.topicArn;
    const region = regionOf(topicArn) ?? (await sns.config.region());
    const subscriptions: Subscription[] = [];
    try {
      for await (const page of paginateListSubscriptionsByTopic({ client: sns }, { TopicArn: topicArn })) subscriptions.push(...(page.Subscriptions ?? []));
    } catch (error) {
      if (!MISSING_TOPIC_ERRORS.has(errorName(error) ?? '')) throw error;
      return failed(this, `there is no topic ${topicArn}: check --topic-arn against the topics listed`, [
        `aws sns list-topics --region ${region} --query 'Topics[].TopicArn' --output text`,
      ]);
    }
    const confirmed = subscriptions.filter((subscription) => subscription.SubscriptionArn?.startsWith('arn:'));
    const pending = subscriptions.filter((subscription) => subscription.SubscriptionArn === 'PendingConfirmation');
    const waiting = pending.length === 0 ? '' : `; waiting for confirmation: ${describe(pending)}`;
    if (confirmed.length > 0) return passed(this, `confirmed: ${describe(confirmed)}${waiting}`);
    const subscribe = (protocol: string, endpoint: string): string =>
      `aws sns subscribe --region ${region} --topic-arn ${topicArn} --protocol ${protocol} --notification-endpoint ${endpoint}`;
    if (pending.length > 0) {
      return failed(
        this,
        `no confirmed subscription: pages reach nobody${waiting} (a confirmation link expires after 3 days; subscribing again sends a new one, which someone must open)`,
        pending.map((subscription) => subscribe(subscription.Protocol ?? 'email', subscription.Endpoint ?? '')),
      );
    }
    return failed(this, 'no confirmed subscription: pages reach nobody (set ONCALL_EMAIL to the on-call address, run the command, open the link it sends)', [
      subscribe('email', '"$ONCALL_EMAIL"'),
    ]);
  },
};
