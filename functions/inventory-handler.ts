import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { buildKeyInventory, composeInventoryPage, countFlags, publishInventory } from '../lib/ops/key-inventory.ts';
import type { BaselineStore } from '../lib/store/store.ts';

/** What the inventory handler reads from and publishes to; tests pass emulator clients and their own clock. */
export interface InventoryHandlerDependencies {
  iam: IAMClient;
  /** In the region where CloudTrail records IAM's calls (us-east-1 for the aws partition). */
  cloudtrail: CloudTrailClient;
  sns: SNSClient;
  store: Pick<BaselineStore, 'getBaselines'>;
  topicArn: string;
  now?: () => number;
  logger?: Logger;
}

/** What one run published. */
export interface InventoryRun {
  messageId: string;
  severity: 'high' | 'info';
  keys: number;
  flagged: number;
  sms: string;
}

export type InventoryHandler = (event?: unknown, context?: Context) => Promise<InventoryRun>;

/**
 * Builds the daily `inventory` handler: the schedule's event carries nothing, the handler builds
 * the access-key inventory and publishes it to the pages topic (SMS line, e-mail table, attributes
 * `severity` and `action=inventory`). A failed read or publish throws, so that Lambda retries the
 * scheduled invocation; the report is read-only, so a retry is harmless.
 */
export function makeInventoryHandler(deps: InventoryHandlerDependencies): InventoryHandler {
  const logger = deps.logger ?? new Logger({ serviceName: 'keysentry' });
  const now = deps.now ?? Date.now;

  return async (_event, context) => {
    if (context !== undefined) logger.addContext(context);
    const report = await buildKeyInventory({ iam: deps.iam, cloudtrail: deps.cloudtrail, store: deps.store, now });
    const page = composeInventoryPage(report);
    const messageId = await publishInventory(deps.sns, deps.topicArn, page);
    const flagged = report.keys.filter((key) => key.flags.length > 0);
    logger.info('key inventory published', {
      messageId,
      severity: page.severity,
      keys: report.keys.length,
      users: report.users,
      flags: countFlags(report),
      flagged: flagged.map((key) => ({ userName: key.userName, accessKeyId: key.accessKeyId, flags: key.flags.map((flag) => flag.code) })),
      iamChanges: report.changes.events.length,
      unreadableEvents: report.unreadableEvents,
      cloudTrail: report.cloudTrail,
      lastUseFrom: report.lastUseFrom,
    });
    return { messageId, severity: page.severity, keys: report.keys.length, flagged: flagged.length, sms: page.sms };
  };
}
