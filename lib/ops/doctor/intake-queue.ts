import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { shellQuote } from '../../domain/shell-quote.ts';
import { errorName, failed, passed, type DoctorCheckUnit, type QueueFacts } from './check.ts';

const MISSING_QUEUE_ERRORS = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);

/** The intake queue's ARN, redrive policy and access policy; `undefined` when there is no such queue. */
export async function readQueue(sqs: SQSClient, queueUrl: string): Promise<QueueFacts | undefined> {
  try {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn', 'RedrivePolicy', 'Policy'] }),
    );
    return { url: queueUrl, arn: Attributes?.QueueArn ?? '', redrivePolicy: Attributes?.RedrivePolicy, policy: Attributes?.Policy };
  } catch (error) {
    if (MISSING_QUEUE_ERRORS.has(errorName(error) ?? '')) return undefined;
    throw error;
  }
}

type Redrive = { deadLetterTargetArn?: string; maxReceiveCount?: number | string };

function parseRedrive(text: string | undefined): Redrive | undefined {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as Redrive);
  } catch {
    return undefined;
  }
}

/**
 * The two commands that give a queue a dead-letter queue: create `<name>-dlq` beside it (14 days'
 * retention, the longest SQS keeps a message) and point the queue's redrive policy at it after 5 receives.
 */
export function deadLetterQueueFix(queue: QueueFacts, region: string): string[] {
  const [, , , , account, name] = queue.arn.split(':');
  const deadLetterName = `${name}-dlq`;
  const deadLetterArn = `${queue.arn.split(':').slice(0, 3).join(':')}:${region}:${account}:${deadLetterName}`;
  const attributes = JSON.stringify({ RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: '5' }) });
  return [
    `aws sqs create-queue --region ${region} --queue-name ${deadLetterName} --attributes MessageRetentionPeriod=1209600`,
    `aws sqs set-queue-attributes --region ${region} --queue-url ${queue.url} --attributes ${shellQuote(attributes)}`,
  ];
}

/** The intake queue exists and hands a message that keeps failing to a dead-letter queue. */
export const intakeQueueCheck: DoctorCheckUnit = {
  id: 'intake-queue',
  name: 'intake queue exists and has a dead-letter queue',
  async run(context) {
    const { config, region } = context;
    const queue = await context.queue();
    if (queue === undefined) {
      return failed(this, `there is no queue ${config.queueUrl}: check --queue-url against the queues listed`, [
        `aws sqs list-queues --region ${region} --queue-name-prefix keysentry`,
      ]);
    }
    const redrive = parseRedrive(queue.redrivePolicy);
    if (redrive?.deadLetterTargetArn === undefined) {
      return failed(
        this,
        `queue ${queue.arn} has no redrive policy: a message that fails scoring again and again is retried until it expires, unseen`,
        deadLetterQueueFix(queue, region),
      );
    }
    return passed(this, `queue ${queue.arn} hands a message to ${redrive.deadLetterTargetArn} after ${redrive.maxReceiveCount} receives`);
  },
};
