import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { S3Client } from '@aws-sdk/client-s3';
import type { ContainConfig, InventoryConfig, KeysentryConfig, LogFileConfig, ScoreConfig, TuneConfig } from '../lib/config.ts';
import { cloudTrailPublicKeys, readVerifiedDigest } from '../lib/aws/cloudtrail-digests.ts';
import { unverifiedView } from '../lib/store/unverified-view.ts';
import type { DetectorStore } from '../lib/store/store.ts';
import type { LogFileTrust } from './score-logfile-handler.ts';
import { createIamClient } from '../lib/aws/containment.ts';
import { IamKeyAges } from '../lib/aws/key-age.ts';
import { CallerCache } from '../lib/domain/cloudtrail-record.ts';
import { createDetector } from '../lib/engine/score-engine.ts';
import { createDynamoDbClient, DynamoDbStore } from '../lib/aws/dynamodb-store.ts';
import { createResponderDispatch } from '../lib/engine/responder-dispatch.ts';
import { DynamoDbResponseMarkers } from '../lib/aws/response-markers.ts';

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
  const telemetry = createTelemetry(config, functionName);
  // The creation date of an unfamiliar IAM user key, asked once per key per container.
  const keyAges = new IamKeyAges({
    client: createIamClient({ region: config.region }),
    onError: (error, accessKeyId) => telemetry.logger.warn('key creation date unavailable: scored without it', { accessKeyId, error: error as Error }),
  });
  return {
    store,
    detector: createDetector({ store, policy: config.policy, windowMs: config.windowMs, keyCreatedAt: keyAges.lookup }),
    protectedBuckets: config.protectedBuckets,
    normalize: { callerCache: new CallerCache() },
    notify: createResponderDispatch({
      lambda: new LambdaClient({ region: config.region }),
      functionName: config.responderFunction,
      markers,
      now: Date.now,
    }),
    ...telemetry,
    now: Date.now,
  };
}

/**
 * What the log-file function needs to tell CloudTrail's log files from anything else in the
 * bucket: the trail's layout, digest validation (S3 and `cloudtrail:ListPublicKeys` in each
 * digest's region), and a detector for files no digest vouched for yet, which sees the store
 * through `unverifiedView` and never contains.
 */
export function createLogFileTrust(
  config: LogFileConfig,
  store: DetectorStore,
  clients: { s3?: S3Client; cloudTrail?: (region: string) => CloudTrailClient } = {},
): LogFileTrust {
  const s3 = clients.s3 ?? new S3Client({ region: config.region });
  const byRegion = new Map<string, CloudTrailClient>();
  const clientFor =
    clients.cloudTrail ??
    ((region: string): CloudTrailClient => {
      let client = byRegion.get(region);
      if (client === undefined) byRegion.set(region, (client = new CloudTrailClient({ region, maxAttempts: 5 })));
      return client;
    });
  const publicKeys = cloudTrailPublicKeys(clientFor);
  return {
    layout: { prefix: config.trailPrefix, accounts: config.trailAccounts, organizationId: config.organizationId },
    readDigest: (object) => readVerifiedDigest({ s3, publicKeys }, object),
    createUnverifiedDetector: () =>
      createDetector({ store: unverifiedView(store), policy: { ...config.policy, unverifiedEvidence: true }, windowMs: config.windowMs }),
  };
}

/** What the contain function builds once per container: store, markers, IAM and SNS clients, its guard. */
export function createResponderRuntime(config: ContainConfig) {
  return {
    ...createState(config),
    iam: createIamClient({ region: config.region }),
    sns: new SNSClient({ region: config.region, maxAttempts: 5 }),
    topicArn: config.pagesTopicArn,
    guard: { protectedPrincipals: config.policy.protectedPrincipals, ownRoleArns: config.policy.ownRoleArns, accounts: config.policy.accounts },
    dryRun: config.policy.dryRun,
    revokeAllRoleSessions: config.revokeAllRoleSessions,
    commands: { cliOptions: config.cliOptions },
    ...createTelemetry(config, 'contain'),
    now: Date.now,
  };
}

/**
 * What the inventory function builds at cold start: IAM, a CloudTrail client in the region that
 * records IAM's calls (LookupEvents allows two calls a second: the standard retries wait out its
 * throttling), SNS, and the store it reads key baselines from.
 */
export function createInventoryRuntime(config: InventoryConfig) {
  const client = createDynamoDbClient({ endpoint: config.dynamoDbEndpoint, region: config.region });
  return {
    iam: createIamClient({ region: config.region }),
    cloudtrail: new CloudTrailClient({ region: config.iamEventsRegion, retryMode: 'standard', maxAttempts: 8 }),
    sns: new SNSClient({ region: config.region, maxAttempts: 5 }),
    store: new DynamoDbStore({ client, windowsTable: config.windowsTable, stateTable: config.stateTable }),
    topicArn: config.pagesTopicArn,
    logger: new Logger({ serviceName: 'keysentry' }),
    now: Date.now,
  };
}

/** What the weekly tune function builds once per container: the store, the SNS client, its logger. */
export function createTuneRuntime(config: TuneConfig) {
  return {
    store: createState(config).store,
    sns: new SNSClient({ region: config.region, maxAttempts: 5 }),
    topicArn: config.pagesTopicArn,
    windowMs: config.windowMs,
    policy: config.policy,
    targetPagesPerWeek: config.targetPagesPerWeek,
    rollbackCommand: `keysentry tune --rollback ${config.cliOptions}`.trim(),
    logger: createTelemetry(config, 'tune').logger,
    now: Date.now,
  };
}
