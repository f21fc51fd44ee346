import { StoreError } from '../domain/errors.ts';

/** What a store failure says about retrying the batch that met it (`transient`: retry it; `data`: find the message). */
export type StoreFailureKind = 'transient' | 'data';

/**
 * DynamoDB's answers (and SDK and socket failures) that may pass on a later attempt, and those that
 * are the deployment's fault rather than a message's (a table gone, a permission missing): the
 * batch waits in the queue, then in the dead-letter queue under its alarm, and is not dropped.
 */
const TRANSIENT = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'ExpiredTokenException',
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionInProgressException',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  CancellationReasons?: Array<{ Code?: unknown }>;
}

/**
 * Sorts a failure of the store into what retrying the batch can fix and what it cannot. Transient:
 * throttling, timeouts, the service's own 5xx, a dropped connection, a transaction that lost a
 * race, a write that kept losing to other writers (a `StoreError` with no SDK cause), and the
 * deployment's faults above. Data:
 * everything else — DynamoDB's `ValidationException` for a key or item too large, a transaction
 * cancelled for a `ValidationError`, an error of keysentry's own code on odd input — which would
 * fail the same way on every delivery until SQS gave the whole batch to the dead-letter queue.
 */
export function classifyStoreFailure(error: unknown): StoreFailureKind {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const shape = current as ErrorShape;
    const codes = (shape.CancellationReasons ?? []).map((reason) => reason.Code);
    if (codes.length > 0) return codes.every((code) => code === 'None' || code === 'ThrottlingError' || code === 'TransactionConflict') ? 'transient' : 'data';
    if (TRANSIENT.has(String(shape.name)) || TRANSIENT.has(String(shape.code)) || shape.$retryable !== undefined) return 'transient';
    const status = shape.$metadata?.httpStatusCode;
    if (typeof status === 'number' && status >= 500) return 'transient';
    if (shape.cause === undefined) return current instanceof StoreError ? 'transient' : 'data';
    current = shape.cause;
  }
  return 'data';
}
