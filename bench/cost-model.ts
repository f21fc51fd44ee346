// What keysentry costs per million S3 data events, per ingestion path, from the bench's measured
// store traffic and CPU time, at AWS list prices (us-east-1; checked December 2026):
// - DynamoDB on demand: $0.625 per million write request units (1 KB each), $0.125 per million
//   read request units (4 KB strongly consistent, 8 KB eventually consistent), after the November
//   2024 price cut (aws.amazon.com/dynamodb/pricing/on-demand/). A read of an absent item still
//   costs its unit (docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
// - Lambda arm64: $0.0000133334 per GB-second, $0.20 per million requests (aws.amazon.com/lambda/pricing/).
// - SQS standard queue: $0.40 per million requests, each 64 KB of payload one request, the first
//   million a month free (aws.amazon.com/sqs/pricing/). EventBridge sends each event alone:
//   one SendMessage per event; Lambda's poller receives and deletes up to ten per request.
// - EventBridge: events AWS services put on the default bus, CloudTrail's included, are free, and
//   so is delivery to an SQS or Kinesis target (aws.amazon.com/eventbridge/pricing/,
//   repost.aws/knowledge-center/eventbridge-reduce-charges).
// - Kinesis Data Streams, provisioned: $0.015 per shard-hour, $0.014 per million PUT payload
//   units of 25 KB (a CloudTrail event is one); a shard takes 1,000 records or 1 MB a second;
//   Lambda's reads of a shard are free (aws.amazon.com/kinesis/data-streams/pricing/).
// - S3: event notifications are free; a GET of a log file $0.0004 per 1,000 (aws.amazon.com/s3/pricing/).
// - CloudTrail S3 data events: $0.10 per 100,000 events (aws.amazon.com/cloudtrail/pricing/):
//   the trail keysentry needs; GuardDuty reads S3 data events without one.
// - GuardDuty S3 Protection: $0.80 per million events for the first 500 million a month
//   (aws.amazon.com/guardduty/pricing/).

export const PRICES = {
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  lambdaGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  sqsRequest: 0.4 / 1e6,
  eventBridgeAwsEvent: 0,
  kinesisShardHour: 0.015,
  kinesisPutUnit: 0.014 / 1e6,
  s3Get: 0.0004 / 1000,
  cloudTrailDataEvent: 0.1 / 100_000,
  guardDutyS3Event: 0.8 / 1e6,
} as const;

const MILLION = 1e6;
const HOURS_PER_MONTH = 730;

/** What the bench measured of one path over one world, per event. */
export interface MeasuredTraffic {
  writesPerEvent: number;
  writeUnitsPerEvent: number;
  readUnitsPerEvent: number;
  /** CPU time the detector spent per event (one thread). */
  cpuMsPerEvent: number;
}

/** How the deployment runs (serverless.yml). */
export interface Deployment {
  scoreMemoryMb: number;
  logFileMemoryMb: number;
  /** Messages per score invocation (the SQS batch). */
  sqsBatch: number;
  /** Records per CloudTrail log file: one score-logfile invocation and one S3 GET each. */
  recordsPerFile: number;
  /**
   * Wall time a function waits per store request. Read requests are counted as read units, an
   * upper bound (a request costs at least half a unit), so this overstates the wait a little.
   */
  storeLatencyMs: number;
}

export const DEPLOYMENT: Deployment = { scoreMemoryMb: 512, logFileMemoryMb: 1024, sqsBatch: 1000, recordsPerFile: 900, storeLatencyMs: 8 };

export interface CostLine {
  item: string;
  dollarsPerMillion: number;
}

const dynamoLines = (traffic: MeasuredTraffic): CostLine[] => [
  { item: 'DynamoDB writes', dollarsPerMillion: traffic.writeUnitsPerEvent * MILLION * PRICES.dynamoWriteUnit },
  { item: 'DynamoDB reads', dollarsPerMillion: traffic.readUnitsPerEvent * MILLION * PRICES.dynamoReadUnit },
];

/** Lambda GB-seconds of a million events: the detector's CPU plus its waits on the store, at `memoryMb`. */
function lambdaSeconds(traffic: MeasuredTraffic, deployment: Deployment, memoryMb: number): number {
  const seconds = (traffic.cpuMsPerEvent + (traffic.writesPerEvent + traffic.readUnitsPerEvent) * deployment.storeLatencyMs) * MILLION / 1000;
  return (seconds * memoryMb) / 1024;
}

/**
 * The near-real-time path, EventBridge → SQS → `score`, per million events. SQS takes one
 * SendMessage per event (EventBridge does not batch its sends) and a ReceiveMessage and a
 * DeleteMessageBatch per ten: 1.2 requests an event, $0.48 a million, which alone is nearly ten
 * times a $0.05 budget.
 */
export function realTimeCost(traffic: MeasuredTraffic, deployment: Deployment = DEPLOYMENT): CostLine[] {
  return [
    ...dynamoLines(traffic),
    { item: 'EventBridge', dollarsPerMillion: MILLION * PRICES.eventBridgeAwsEvent },
    { item: 'SQS requests', dollarsPerMillion: MILLION * 1.2 * PRICES.sqsRequest },
    {
      item: 'Lambda score',
      dollarsPerMillion: lambdaSeconds(traffic, deployment, deployment.scoreMemoryMb) * PRICES.lambdaGbSecond + (MILLION / deployment.sqsBatch) * PRICES.lambdaRequest,
    },
  ];
}

/** The log-file path, S3 notification → `score-logfile`, per million events: an invocation and a GET per file. */
export function logFileCost(traffic: MeasuredTraffic, deployment: Deployment = DEPLOYMENT): CostLine[] {
  const files = MILLION / deployment.recordsPerFile;
  return [
    ...dynamoLines(traffic),
    { item: 'S3 notifications', dollarsPerMillion: 0 },
    { item: 'S3 GET', dollarsPerMillion: files * PRICES.s3Get },
    {
      item: 'Lambda score-logfile',
      dollarsPerMillion: lambdaSeconds(traffic, deployment, deployment.logFileMemoryMb) * PRICES.lambdaGbSecond + files * PRICES.lambdaRequest,
    },
  ];
}

/**
 * What a Kinesis data stream costs per million events in place of the SQS queue (EventBridge →
 * Kinesis target → `score`), at `eventsPerMonth` spread evenly: one PUT payload unit per event and
 * the shard-hours of enough shards for the rate (at least one). Unlike SQS it has a floor:
 * $10.95 a month per shard whatever the traffic.
 */
export function kinesisIngestCost(eventsPerMonth: number, eventBytes = 2_000): { shards: number; dollarsPerMillion: number } {
  const perSecond = eventsPerMonth / (HOURS_PER_MONTH * 3600);
  const shards = Math.max(1, Math.ceil(perSecond / 1000), Math.ceil((perSecond * eventBytes) / (1024 * 1024)));
  const monthly = shards * HOURS_PER_MONTH * PRICES.kinesisShardHour + eventsPerMonth * PRICES.kinesisPutUnit;
  return { shards, dollarsPerMillion: (monthly / eventsPerMonth) * MILLION };
}

/** The monthly volume above which one Kinesis shard costs less than SQS's requests for the same events. */
export function kinesisBreakEvenEventsPerMonth(): number {
  const sqsPerEvent = 1.2 * PRICES.sqsRequest;
  return (HOURS_PER_MONTH * PRICES.kinesisShardHour) / (sqsPerEvent - PRICES.kinesisPutUnit);
}

export const totalOf = (lines: readonly CostLine[]): number => lines.reduce((sum, line) => sum + line.dollarsPerMillion, 0);
