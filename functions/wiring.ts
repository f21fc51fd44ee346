import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createDetector } from '../lib/detector.ts';
import type { KeysentryConfig } from '../lib/config.ts';
import { createDynamoDbClient, DynamoDbStore } from '../lib/dynamodb-store.ts';

/**
 * Everything a score function builds once per container, from its configuration: the DynamoDB
 * store, the detector on it (whose held calm counts must outlive one invocation), the Powertools
 * logger and metrics. Only the handler modules call this, at cold start.
 */
export function createScoringRuntime(config: KeysentryConfig, functionName: string) {
  const client = createDynamoDbClient({ endpoint: config.dynamoDbEndpoint, region: config.region });
  const store = new DynamoDbStore({ client, windowsTable: config.windowsTable, stateTable: config.stateTable });
  return {
    store,
    detector: createDetector({ store, policy: config.policy, windowMs: config.windowMs }),
    protectedBuckets: config.protectedBuckets,
    logger: new Logger({ serviceName: config.serviceName }),
    metrics: new Metrics({
      namespace: config.metricsNamespace,
      serviceName: config.serviceName,
      defaultDimensions: { function: functionName },
    }),
    now: Date.now,
  };
}
