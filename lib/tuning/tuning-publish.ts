import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { publishInput } from '../aws/paging.ts';
import { formatTuningReport, formatTuningSms } from './tuning-report.ts';
import type { TuningReport } from './tuning.ts';

/**
 * Publishes the weekly report to the pages topic with `MessageStructure: 'json'`: `sms` one line,
 * `email` the full text, `default` both. The attribute `severity=info` lets subscriptions that
 * only want incidents filter it out. Returns SNS's message id; SNS errors reach the caller.
 */
export async function publishTuningReport(
  sns: SNSClient,
  topicArn: string,
  report: TuningReport,
  options: { rollbackCommand?: string } = {},
): Promise<string> {
  const sms = formatTuningSms(report);
  const email = formatTuningReport(report, options);
  const publish = publishInput(
    `[keysentry] weekly tuning v${report.version}`,
    { default: `${sms}\n\n${email}`, sms, email },
    { severity: 'info', action: 'tuning-report' },
  );
  const { MessageId } = await sns.send(new PublishCommand({ TopicArn: topicArn, ...publish }));
  return MessageId ?? '';
}
