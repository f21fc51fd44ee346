import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { createIamClient } from '../aws/containment.ts';
import { createDynamoDbClient } from '../aws/dynamodb-store.ts';
import { S3Client } from '@aws-sdk/client-s3';

/** Which account and region a command talks to: an emulator's endpoint, or AWS's default for the region. */
export interface AwsConnection {
  endpoint?: string;
  region?: string;
}

/** The AWS clients the commands use, for one connection. */
export interface OpsClients {
  iam: IAMClient;
  cloudtrail: CloudTrailClient;
  events: EventBridgeClient;
  sqs: SQSClient;
  sns: SNSClient;
  lambda: LambdaClient;
  dynamodb: DynamoDBClient;
  sts?: STSClient;
  /** Reads the trail bucket's policy (`doctor`). */
  s3?: S3Client;
}

/** What the commands are given: how to build clients (tests point them at the emulator or mock them) and a clock. */
export interface OpsDependencies {
  connect(connection: AwsConnection): OpsClients;
  now: () => number;
}

/**
 * Builds SDK clients for a connection, with the SDK's standard retries (CloudTrail's LookupEvents
 * allows two calls a second; its throttling is retried) and the user's own credentials.
 */
export function createOpsClients(connection: AwsConnection): OpsClients {
  const common = {
    ...(connection.endpoint === undefined ? {} : { endpoint: connection.endpoint }),
    ...(connection.region === undefined ? {} : { region: connection.region }),
  };
  return {
    iam: createIamClient(connection),
    cloudtrail: new CloudTrailClient({ ...common, retryMode: 'standard', maxAttempts: 8 }),
    events: new EventBridgeClient(common),
    sqs: new SQSClient(common),
    sns: new SNSClient(common),
    lambda: new LambdaClient(common),
    dynamodb: createDynamoDbClient(connection),
    sts: new STSClient(common),
    // An emulator serves buckets by path, not by host name.
    s3: new S3Client({ ...common, forcePathStyle: connection.endpoint !== undefined }),
  };
}

/** The dependencies `keysentry` runs the commands with: real SDK clients, the system clock. */
export const OPS_DEPENDENCIES: OpsDependencies = { connect: createOpsClients, now: Date.now };
