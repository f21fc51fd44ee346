import { paginateListEventSourceMappings, type EventSourceMappingConfiguration } from '@aws-sdk/client-lambda';
import { shellQuote } from '../../domain/shell-quote.ts';
import { failed, nameOf, passed, type DoctorCheckUnit } from './check.ts';

/** The SQS trigger serverless.yml gives the score function (batch size, window, partial batch responses). */
const TRIGGER_OPTIONS = '--batch-size 1000 --maximum-batching-window-in-seconds 5 --function-response-types ReportBatchItemFailures';

const isScoreFunction = (mapping: EventSourceMappingConfiguration, scoreFunction: string | undefined): boolean =>
  scoreFunction === undefined || nameOf(mapping.FunctionArn ?? '').split(':').pop() === nameOf(scoreFunction).split(':').pop();

/**
 * The intake queue triggers the score function: an enabled event source mapping from the queue to
 * it. Without one the queue fills, nothing is scored, and after the retention period the events are gone.
 */
export const scoreTriggerCheck: DoctorCheckUnit = {
  id: 'score-trigger',
  name: 'intake queue triggers the score function',
  async run(context) {
    const { config, region, lambda } = context;
    const queue = await context.queue();
    if (queue === undefined) return failed(this, `the intake queue ${config.queueUrl} does not exist (see the queue check)`);
    if (lambda === undefined) return failed(this, 'no Lambda client to look the trigger up with');
    const mappings: EventSourceMappingConfiguration[] = [];
    for await (const page of paginateListEventSourceMappings({ client: lambda }, { EventSourceArn: queue.arn })) mappings.push(...(page.EventSourceMappings ?? []));
    const own = mappings.filter((mapping) => mapping.EventSourceArn === queue.arn && isScoreFunction(mapping, config.scoreFunction));
    const enabled = own.find((mapping) => mapping.State === 'Enabled' || mapping.State === 'Enabling' || mapping.State === 'Updating');
    if (enabled !== undefined) return passed(this, `${queue.arn} triggers ${enabled.FunctionArn} (${enabled.State})`);
    const disabled = own.find((mapping) => mapping.UUID !== undefined);
    if (disabled !== undefined) {
      return failed(this, `the trigger from ${queue.arn} to ${disabled.FunctionArn} is ${disabled.State}: events wait in the queue, unscored`, [
        `aws lambda update-event-source-mapping --region ${region} --uuid ${disabled.UUID} --enabled`,
      ]);
    }
    const target = config.scoreFunction === undefined ? 'the score function' : config.scoreFunction;
    const detail = `nothing reads ${queue.arn}${mappings.length > 0 ? ` for ${target}` : ''}: events wait in the queue, unscored, until they expire`;
    if (config.scoreFunction === undefined) {
      return failed(this, `${detail}; name the score function (--score-function) for the command that adds its trigger`, [
        `aws lambda list-functions --region ${region} --query "Functions[?contains(FunctionName, 'score')].FunctionName" --output text`,
      ]);
    }
    return failed(this, detail, [
      `aws lambda create-event-source-mapping --region ${region} --function-name ${shellQuote(config.scoreFunction)} --event-source-arn ${queue.arn} ${TRIGGER_OPTIONS}`,
    ]);
  },
};
