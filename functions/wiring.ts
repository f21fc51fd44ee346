import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import type { ContainConfig, KeysentryConfig, ScoreConfig } from '../lib/config.ts';
import { createIamClient } from '../lib/containment.ts';
import { CallerCache } from '../lib/cloudtrail-record.ts';
import { createDetector } from '../lib/detector.ts';
import { createDynamoDbClient, DynamoDbStore } from '../lib/dynamodb-store.ts';
import { createResponderDispatch } from '../lib/responder-dispatch.ts';
import { DynamoDbResponseMarkers } from '../lib/response-markers.ts';

function createTelemetry(config: KeysentryConfig, functionName: string) {
  return {
    logger: new Logger({ serviceName: config.serviceName }),
    metrics: new Metrics({
      namespace: config.metricsNamespace,
      serviceName: config.serviceName,
      defaultDimensions: { function: functionName },
    }),
  };
}

function createState(config: KeysentryConfig) {
  const client = createDynamoDbClient({ endpoint: config.dynamoDbEndpoint, region: config.region });
  return {
    store: new DynamoDbStore({ client, windowsTable: config.windowsTable, stateTable: config.stateTable }),
    markers: new DynamoDbResponseMarkers({ client, stateTable: config.stateTable }),
  };
}

/**
 * Everything a score function builds once per container, from its configuration: the DynamoDB
 * store, the detector on it (whose held calm counts must outlive one invocation), the notifier
 * that hands incidents to the contain function, the Powertools logger and metrics. Only the
 * handler modules call this, at cold start.
 */
export function createScoringRuntime(config: ScoreConfig, functionName: string) {
  const { store, markers } = createState(config);
  return {
    store,
    detector: createDetector({ store, policy: config.policy, windowMs: config.windowMs }),
    protectedBuckets: config.protectedBuckets,
    normalize: { callerCache: new CallerCache() },
    notify: createResponderDispatch({
      lambda: new LambdaClient({ region: config.region }),
      functionName: config.responderFunction,
      markers,
      now: Date.now,
    }),
    ...createTelemetry(config, functionName),
    now: Date.now,
  };
}

/** What the contain function builds once per container: store, markers, IAM and SNS clients, its guard. */
export function createResponderRuntime(config: ContainConfig) {
  return {
    ...createState(config),
    iam: createIamClient({ region: config.region }),
    sns: new SNSClient({ region: config.region, maxAttempts: 5 }),
    topicArn: config.pagesTopicArn,
    guard: { protectedPrincipals: config.policy.protectedPrincipals, ownRoles: config.policy.ownRoles },
    dryRun: config.policy.dryRun,
    revokeAllRoleSessions: config.revokeAllRoleSessions,
    commands: { cliOptions: config.cliOptions },
    ...createTelemetry(config, 'contain'),
    now: Date.now,
  };
}
