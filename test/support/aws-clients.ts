import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';

/** The region every emulator test runs in. */
export const TEST_REGION = 'eu-west-1';

/**
 * The configuration shared by every SDK client of an integration test: the emulator started by
 * test/support/moto-server.ts, a fixed region, and fake static credentials so that the SDK never
 * looks for real ones (environment, profile files, instance metadata). Spread it into any client:
 * `new IAMClient(emulatorClientConfig())`.
 */
export function emulatorClientConfig() {
  return {
    endpoint: inject('awsEndpoint'),
    region: TEST_REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    // The emulator is local: a failed call is a bug to see at once, not a throttle to wait out.
    maxAttempts: 1,
  };
}

/**
 * Sends every request of `client` to one moto account (`x-moto-account-id`): moto keeps state
 * per account, so a test file that lists "every user of the account" sees only its own users.
 */
export function inMotoAccount<T extends { middlewareStack: { add: (...args: never[]) => unknown } }>(client: T, account: string): T {
  const toAccount =
    <Args extends { request: unknown }, Result>(next: (args: Args) => Promise<Result>) =>
    (args: Args): Promise<Result> => {
      (args.request as { headers: Record<string, string> }).headers['x-moto-account-id'] = account;
      return next(args);
    };
  (client.middlewareStack as unknown as { add: (middleware: unknown, options: unknown) => void }).add(toAccount, {
    step: 'build',
    name: 'motoAccount',
  });
  return client;
}

/** The tail of the requests this test file has sent to the emulator. */
let emulatorQueue: Promise<unknown> = Promise.resolve();

/**
 * A DynamoDB client on the emulator that sends one request at a time. moto evaluates a
 * condition and then writes without a lock, so two concurrent conditional writes to one item can
 * both succeed there (seen in about a third of the runs of the concurrency tests); DynamoDB makes
 * each conditional write atomic per item. Serializing the requests gives back that guarantee while
 * the callers still race: both read before either writes.
 */
export function createEmulatorDynamoDbClient(): DynamoDBClient {
  const client = new DynamoDBClient(emulatorClientConfig());
  client.middlewareStack.add(
    (next) => (args) => {
      const turn = emulatorQueue.then(() => next(args));
      emulatorQueue = turn.catch(() => undefined);
      return turn;
    },
    { step: 'initialize', name: 'emulatorOneRequestAtATime' },
  );
  return client;
}

/**
 * A name no other test file or run will use (`<prefix>-<random>`), valid for DynamoDB tables, SNS
 * topics, IAM users and S3 buckets alike: test files share one emulator and run in parallel.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 13).replace('-', '')}`.toLowerCase();
}
