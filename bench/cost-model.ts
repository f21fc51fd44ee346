// What keysentry costs per million S3 data events, from the bench's measured store traffic and
// CPU time, at AWS list prices (us-east-1, on-demand; checked December 2026):
// - DynamoDB on-demand: $0.625 per million write request units (1 KB each), $0.125 per million
//   read request units (4 KB strongly consistent) — after the November 2024 price cut
//   (aws.amazon.com/dynamodb/pricing/on-demand/).
// - Lambda arm64: $0.0000133334 per GB-second, $0.20 per million requests (aws.amazon.com/lambda/pricing/).
// - SQS standard queue: $0.40 per million requests, each 64 KB of payload one request
//   (aws.amazon.com/sqs/pricing/).
// - EventBridge: events AWS services put on the default bus, CloudTrail's included, are free
//   (repost.aws/knowledge-center/eventbridge-reduce-charges).
// - S3 GET of a log file: $0.0004 per 1,000 requests (aws.amazon.com/s3/pricing/).
// - CloudTrail S3 data events: $0.10 per 100,000 events (aws.amazon.com/cloudtrail/pricing/):
//   the trail keysentry needs; GuardDuty reads S3 data events without one.
// - GuardDuty S3 Protection: $0.80 per million events for the first 500 million a month.

export const PRICES = {
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  sqsRequest: 0.4 / 1e6,
  eventBridgeAwsEvent: 0,
  s3Get: 0.0004 / 1000,
  cloudTrailDataEvent: 0.1 / 100_000,
  guardDutyS3Event: 0.8 / 1e6,
} as const;

/** What the bench measured of one world, per event. */
export interface MeasuredTraffic {
  writesPerEvent: number;
  writeUnitsPerEvent: number;
  readUnitsPerEvent: number;
  /** CPU time the detector spent per event (the replay on one thread). */
  cpuMsPerEvent: number;
  /** Records per log file, for the log-file path's invocations and GETs. */
  recordsPerFile: number;
}

/** How the deployment runs (serverless.yml). */
export interface Deployment {
  scoreMemoryMb: number;
  logFileMemoryMb: number;
  /** Messages per score invocation (the SQS batch). */
  sqsBatch: number;
  /** Wall time a Lambda waits per store write request (the reads before it included). */
  storeLatencyMs: number;
}

export const DEPLOYMENT: Deployment = { scoreMemoryMb: 512, logFileMemoryMb: 1024, sqsBatch: 1000, storeLatencyMs: 8 };

export interface CostLine {
  item: string;
  dollarsPerMillion: number;
}

/**
 * Dollars per million S3 data events, line by line. Each event arrives twice — through
 * EventBridge and SQS to `score`, and in its log file to `score-logfile` — and the store writes
 * of both are what the replay measured (the window write counts an event once). SQS takes one
 * SendMessage per event and one ReceiveMessage and DeleteMessageBatch per ten.
 */
export function costPerMillion(traffic: MeasuredTraffic, deployment: Deployment = DEPLOYMENT): CostLine[] {
  const million = 1e6;
  const lambdaSeconds = (traffic.cpuMsPerEvent * million + traffic.writesPerEvent * million * deployment.storeLatencyMs) / 1000;
  const files = million / traffic.recordsPerFile;
  return [
    { item: 'DynamoDB writes', dollarsPerMillion: traffic.writeUnitsPerEvent * million * PRICES.dynamoWriteUnit },
    { item: 'DynamoDB reads', dollarsPerMillion: traffic.readUnitsPerEvent * million * PRICES.dynamoReadUnit },
    { item: 'EventBridge (AWS service events)', dollarsPerMillion: million * PRICES.eventBridgeAwsEvent },
    { item: 'SQS requests', dollarsPerMillion: million * 1.2 * PRICES.sqsRequest },
    {
      item: 'Lambda score (GB-s + requests)',
      dollarsPerMillion: (lambdaSeconds * deployment.scoreMemoryMb) / 1024 * PRICES.lambdaGbSecond + (million / deployment.sqsBatch) * PRICES.lambdaRequest,
    },
    {
      item: 'Lambda score-logfile + S3 GET',
      dollarsPerMillion: (lambdaSeconds * deployment.logFileMemoryMb) / 1024 * PRICES.lambdaGbSecond + files * (PRICES.lambdaRequest + PRICES.s3Get),
    },
  ];
}
