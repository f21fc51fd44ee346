import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { loadLogFileConfig } from '../lib/config.ts';
import { makeS3ObjectReader, makeScoreLogFileHandler } from './score-logfile-handler.ts';
import { createLogFileTrust, createScoringRuntime } from './wiring.ts';

const config = loadLogFileConfig();

const runtime = createScoringRuntime(config, 'score-logfile');

export const handler = makeScoreLogFileHandler({
  ...runtime,
  trust: createLogFileTrust(config, runtime.store),
  batchWindowMs: config.logFileBatchWindowMs,
  readObject: makeS3ObjectReader(new S3Client({ region: config.region })),
  idempotency: {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: config.idempotencyTable,
      awsSdkV3Client: new DynamoDBClient({ region: config.region, endpoint: config.dynamoDbEndpoint }),
    }),
  },
});
