/**
 * Named errors of keysentry. Each carries the underlying `cause` so that a log line or a page can
 * say what really failed (an SDK error, a parse error) without string matching.
 */
export class KeysentryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is missing or invalid; raised once, at start-up. */
export class ConfigError extends KeysentryError {}

/** A log file or message could not be read as CloudTrail input. */
export class InputError extends KeysentryError {}

/** A command-line usage error: the message is shown to the user with the usage text. */
export class UsageError extends KeysentryError {}

/** The store failed after retries. */
export class StoreError extends KeysentryError {}

/** An incident id the store does not hold. */
export class IncidentNotFoundError extends KeysentryError {}

/** A move the incident lifecycle does not allow (releasing an open incident, acknowledging a released one). */
export class TransitionError extends KeysentryError {}

/** The responder could not be told of incidents; `marked` says whether the markers its next run finds were written. */
export class DispatchError extends KeysentryError {
  constructor(
    message: string,
    readonly incidentIds: readonly string[],
    readonly marked: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The responder could not finish some incidents (the store failed); the invocation is retried. */
export class ResponderError extends KeysentryError {}

/** Reading IAM, CloudTrail or the store for the access-key inventory failed; `cause` is the SDK's error. */
export class InventoryError extends KeysentryError {}

/** The message of a thrown value, whatever was thrown: what log lines and wrapping errors quote. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The error's name and message (`AccessDenied: not authorized…`): what a check or a report shows an operator. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
