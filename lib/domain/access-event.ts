/** How a caller authenticated; containment depends on it. */
export type IdentityType =
  | 'iam-user-key'
  | 'iam-user-temporary'
  | 'assumed-role'
  | 'anonymous'
  | 'cross-account'
  | 'aws-service'
  | 'root'
  | 'federated'
  | 'unknown';

/** What an S3 data event did, reduced to the operations the detector counts. */
export type Operation =
  | 'get'
  | 'head'
  | 'list'
  | 'put'
  | 'delete'
  | 'delete-version'
  | 'delete-batch'
  | 'other';

/**
 * Who made a call. `principal` is what familiarity is learned on (the IAM user, or the role for a
 * role session, whose keys rotate hourly); `actor` is what containment acts on (a long-term key, or
 * the session that did it across the temporary keys it rotates through; `accessKeyId` is the key
 * of this one call).
 */
export interface Identity {
  type: IdentityType;
  principal: string;
  actor: string;
  /** The IAM user's long-term key, learned on its own: a user's key never seen before is a signal. */
  longTermKey?: string;
  accessKeyId?: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  userName?: string;
  /** The IAM user's ARN: the caller's own, or that of the user whose GetFederationToken issued the session. */
  userArn?: string;
  roleArn?: string;
  roleName?: string;
  sessionName?: string;
  /** The session's source identity (`sessionContext.sourceIdentity`), set when it was assumed. */
  sourceIdentity?: string;
  /** The Identity Center user the session acts for (`onBehalfOf.userId`). */
  onBehalfOf?: string;
  /** The AWS service that made the call on the caller's behalf (`invokedBy`). */
  invokedBy?: string;
  /**
   * The console issued the session's credentials (the record's `sessionCredentialFromConsole`):
   * its calls come from the console's own tools (the browser, CloudShell), whoever holds it.
   */
  consoleSession?: true;
}

/** One S3 data event, validated and normalised from a CloudTrail record. */
export interface AccessEvent {
  eventId: string;
  /** Short hash of `eventId`, kept in a window to recognise a redelivered event. */
  idHash: string;
  /** Milliseconds since the epoch (CloudTrail's `eventTime`, second resolution). */
  eventTime: number;
  eventName: string;
  operation: Operation;
  identity: Identity;
  bucket?: string;
  objectKey?: string;
  /** Short hash of bucket and key of a read or delete, for the distinct-object sets. */
  objectHash?: string;
  versionId?: string;
  bytesOut: number;
  bytesIn: number;
  errorCode?: string;
  sourceIp: string;
  userAgent: string;
  toolFamily: string;
  requestId?: string;
  recipientAccountId?: string;
  region?: string;
  /** The record came from a log file no CloudTrail digest vouched for (`replay --verify-digests`): it may page, never contain. */
  unverified?: true;
}
