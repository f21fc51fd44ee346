import type { AccessEvent, Identity, Operation } from './access-event.ts';
import { classifyUserAgent } from './caller-origin.ts';
import { setHash } from './hash.ts';
import { identityReadsAddress, resolveIdentity, type UserIdentityRecord } from './identity.ts';
import { hashObject } from './window-counter.ts';
import { checkS3Limits, type LimitViolation } from './record-limits.ts';

/** Why a record was read but not scored: expected traffic that is simply not the detector's. */
export type SkipReason =
  | 'management-event'
  | 'non-s3-source'
  | 'aws-service-call'
  | 'unsupported-s3-event'
  | 'insight-event'
  | 'console-sign-in'
  | 'aws-service-event';

/** EventBridge detail-types CloudTrail sends besides API calls: none is an S3 data event. */
const SKIPPED_DETAIL_TYPES: Readonly<Record<string, SkipReason>> = {
  'AWS Console Sign In via CloudTrail': 'console-sign-in',
  'AWS Service Event via CloudTrail': 'aws-service-event',
  'AWS Insight via CloudTrail': 'insight-event',
};

/** Why a record could not be used: damaged or unknown input, counted and reported. */
export type RejectReason =
  | 'not-an-object'
  | 'missing-eventTime'
  | 'invalid-eventTime'
  | 'missing-eventVersion'
  | 'unknown-eventVersion'
  | 'missing-eventSource'
  | 'missing-eventName'
  | 'missing-eventID'
  | 'missing-userIdentity'
  | 'unsupported-envelope'
  | LimitViolation;

export type RecordOutcome =
  | { kind: 'event'; event: AccessEvent }
  | { kind: 'skipped'; reason: SkipReason; keyCreated?: KeyCreated }
  | { kind: 'rejected'; reason: RejectReason };

/** A long-term key's creation, read from IAM's `CreateAccessKey` management event. */
export interface KeyCreated {
  accessKeyId: string;
  /** The event's time: IAM creates the key in the call (its `createDate` is the same second). */
  createdAt: number;
}

/**
 * The key a successful `CreateAccessKey` record created (`responseElements.accessKey.accessKeyId`),
 * so a replay knows a key's age from the logs themselves, as `replay --keys` knows it from IAM.
 */
function keyCreatedBy(record: Record<string, unknown>, eventName: string, eventTime: number): KeyCreated | undefined {
  if (eventName !== 'CreateAccessKey' || record.errorCode !== undefined) return undefined;
  const response = isObject(record.responseElements) ? record.responseElements : undefined;
  const accessKey = response !== undefined && isObject(response.accessKey) ? response.accessKey : undefined;
  const accessKeyId = accessKey === undefined ? undefined : text(accessKey.accessKeyId);
  return accessKeyId === undefined ? undefined : { accessKeyId, createdAt: eventTime };
}

export interface NormalizeOptions {
  /** Score calls that AWS services make themselves (CloudTrail writing its log files); off by default. */
  includeServiceCalls?: boolean;
  /** Resolve each distinct caller and user agent once (replay and long-lived containers). */
  callerCache?: CallerCache;
}

const OPERATIONS: Readonly<Record<string, Operation>> = {
  GetObject: 'get',
  GetObjectTorrent: 'get',
  SelectObjectContent: 'get',
  HeadObject: 'head',
  GetObjectAttributes: 'head',
  GetObjectAcl: 'head',
  GetObjectTagging: 'head',
  GetObjectRetention: 'head',
  GetObjectLegalHold: 'head',
  ListObjects: 'list',
  ListObjectsV2: 'list',
  ListObjectVersions: 'list',
  ListParts: 'list',
  PutObject: 'put',
  CopyObject: 'put',
  PostObject: 'put',
  CreateMultipartUpload: 'put',
  UploadPart: 'put',
  UploadPartCopy: 'put',
  CompleteMultipartUpload: 'put',
  RestoreObject: 'other',
  PutObjectAcl: 'other',
  PutObjectTagging: 'other',
  PutObjectRetention: 'other',
  PutObjectLegalHold: 'other',
  DeleteObjectTagging: 'other',
  AbortMultipartUpload: 'other',
  DeleteObject: 'delete',
  DeleteObjects: 'delete-batch',
};

const HASHED_OPERATIONS: ReadonlySet<Operation> = new Set(['get', 'delete', 'delete-version']);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;
const byteCount = (value: unknown): number => {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
};

/**
 * Validates one CloudTrail record (a log file entry, an NDJSON line, or the `detail` of an
 * EventBridge "AWS API Call via CloudTrail" envelope, which is unwrapped here) and normalises an S3
 * data event to an `AccessEvent`. Management events, other services and AWS services writing on
 * their own behalf are skipped with a reason; damaged records are rejected with a reason. It never
 * throws on bad input.
 */
export function normalizeRecord(input: unknown, options: NormalizeOptions = {}): RecordOutcome {
  if (!isObject(input)) return { kind: 'rejected', reason: 'not-an-object' };
  let record = input;
  if ('detail-type' in input || ('detail' in input && 'source' in input)) {
    const detailType = input['detail-type'];
    if (typeof detailType === 'string' && Object.hasOwn(SKIPPED_DETAIL_TYPES, detailType)) {
      return { kind: 'skipped', reason: SKIPPED_DETAIL_TYPES[detailType] as SkipReason };
    }
    if (detailType !== 'AWS API Call via CloudTrail' || !isObject(input.detail)) {
      return { kind: 'rejected', reason: 'unsupported-envelope' };
    }
    record = input.detail;
  }

  // Insights records (CloudTrail-Insight/ files) describe unusual call rates and carry no caller.
  if (record.eventCategory === 'Insight' || record.eventType === 'AwsCloudTrailInsight') {
    return { kind: 'skipped', reason: 'insight-event' };
  }
  const eventVersion = text(record.eventVersion);
  if (!eventVersion) return { kind: 'rejected', reason: 'missing-eventVersion' };
  if (!eventVersion.startsWith('1.')) return { kind: 'rejected', reason: 'unknown-eventVersion' };
  const rawTime = text(record.eventTime);
  if (!rawTime) return { kind: 'rejected', reason: 'missing-eventTime' };
  const eventTime = Date.parse(rawTime);
  if (!Number.isFinite(eventTime)) return { kind: 'rejected', reason: 'invalid-eventTime' };
  const eventSource = text(record.eventSource);
  if (!eventSource) return { kind: 'rejected', reason: 'missing-eventSource' };
  const eventName = text(record.eventName);
  if (!eventName) return { kind: 'rejected', reason: 'missing-eventName' };
  const eventId = text(record.eventID);
  if (!eventId) return { kind: 'rejected', reason: 'missing-eventID' };
  if (!isObject(record.userIdentity)) return { kind: 'rejected', reason: 'missing-userIdentity' };

  if (eventSource === 'iam.amazonaws.com') {
    const keyCreated = keyCreatedBy(record, eventName, eventTime);
    return keyCreated === undefined ? { kind: 'skipped', reason: 'non-s3-source' } : { kind: 'skipped', reason: 'non-s3-source', keyCreated };
  }
  if (eventSource !== 's3.amazonaws.com') return { kind: 'skipped', reason: 'non-s3-source' };
  // Records before eventVersion 1.07 carry no eventCategory: the event name decides.
  const category = text(record.eventCategory);
  if (category === 'Management' || record.managementEvent === true) {
    return { kind: 'skipped', reason: 'management-event' };
  }
  // Own keys only: an eventName such as `constructor` must not find Object.prototype's members.
  const baseOperation = Object.hasOwn(OPERATIONS, eventName) ? OPERATIONS[eventName] : undefined;
  if (baseOperation === undefined) {
    return { kind: 'skipped', reason: category === 'Data' ? 'unsupported-s3-event' : 'management-event' };
  }

  const sourceIp = text(record.sourceIPAddress) ?? 'unknown';
  const recipientAccountId = text(record.recipientAccountId);
  const userIdentity = record.userIdentity as UserIdentityRecord;
  const resolved = options.callerCache
    ? options.callerCache.resolve(userIdentity, sourceIp, recipientAccountId)
    : resolveIdentity(userIdentity, sourceIp, recipientAccountId);
  const identity: Identity = record.sessionCredentialFromConsole === 'true' ? { ...resolved, consoleSession: true } : resolved;
  if (identity.type === 'aws-service' && !options.includeServiceCalls) {
    return { kind: 'skipped', reason: 'aws-service-call' };
  }

  const request = isObject(record.requestParameters) ? record.requestParameters : {};
  const extra = isObject(record.additionalEventData) ? record.additionalEventData : {};
  const versionId = text(request.versionId);
  const operation = baseOperation === 'delete' && versionId ? 'delete-version' : baseOperation;
  const userAgent = text(record.userAgent) ?? '';
  const bucket = text(request.bucketName) ?? bucketFromResources(record.resources);
  const objectKey = text(request.key);
  // Beyond S3's own limits the record is not S3's, and its key or byte count would break the store's writes.
  const beyondS3 = checkS3Limits({ bucket, objectKey, bytesOut: extra.bytesTransferredOut, bytesIn: extra.bytesTransferredIn });
  if (beyondS3 !== undefined) return { kind: 'rejected', reason: beyondS3 };
  return {
    kind: 'event',
    event: {
      eventId,
      idHash: setHash(eventId),
      eventTime,
      eventName,
      operation,
      identity,
      bucket,
      objectKey,
      // Only reads and deletes feed the distinct-object sets; hashing long keys costs.
      objectHash: objectKey !== undefined && HASHED_OPERATIONS.has(operation) ? hashObject(bucket, objectKey) : undefined,
      versionId,
      bytesOut: byteCount(extra.bytesTransferredOut),
      bytesIn: byteCount(extra.bytesTransferredIn),
      errorCode: text(record.errorCode),
      sourceIp,
      userAgent,
      toolFamily: options.callerCache ? options.callerCache.toolFamily(userAgent) : classifyUserAgent(userAgent),
      requestId: text(record.requestID),
      recipientAccountId,
      region: text(record.awsRegion),
    },
  };
}

/**
 * Remembers resolved callers: the same identity and user agent appear in thousands of records in
 * a row, and resolving each once keeps the replay's hot path cheap. Bounded; an identity is never
 * mutated, so sharing one between events is safe.
 */
export class CallerCache {
  private readonly entries = new Map<string, Identity>();
  private readonly tools = new Map<string, string>();
  /** The caller of the last record resolved through the cache, and its fields. */
  private last: Identity | undefined;
  private lastFields: unknown[] = [];

  constructor(private readonly capacity = 10_000) {}

  toolFamily(userAgent: string): string {
    let family = this.tools.get(userAgent);
    if (family === undefined) {
      if (this.tools.size >= this.capacity) this.tools.clear();
      family = classifyUserAgent(userAgent);
      this.tools.set(userAgent, family);
    }
    return family;
  }

  resolve(userIdentity: UserIdentityRecord, sourceIp: string, recipientAccountId: string | undefined): Identity {
    const u = userIdentity;
    const issuer = u.sessionContext?.sessionIssuer;
    const fields = [
      u.type, u.accessKeyId, u.arn, u.principalId, u.accountId, u.userName, u.invokedBy, issuer?.arn, issuer?.userName,
      u.sessionContext?.sourceIdentity, u.onBehalfOf?.userId, identityReadsAddress(u) ? sourceIp : undefined, recipientAccountId,
    ];
    // Records come in runs of one caller: the same fields as the record before need no key.
    if (this.last !== undefined && fields.every((field, at) => field === this.lastFields[at])) return this.last;
    // Only plain strings make a key: a damaged record with odd field types is resolved uncached.
    let key = '';
    for (const field of fields) {
      if (field === undefined) key += '\u0002';
      else if (typeof field === 'string') key += `${field}\u0001`;
      else return resolveIdentity(userIdentity, sourceIp, recipientAccountId);
    }
    let identity = this.entries.get(key);
    if (identity === undefined) {
      if (this.entries.size >= this.capacity) this.entries.clear();
      identity = resolveIdentity(userIdentity, sourceIp, recipientAccountId);
      this.entries.set(key, identity);
    }
    this.lastFields = fields;
    this.last = identity;
    return identity;
  }
}

function bucketFromResources(resources: unknown): string | undefined {
  if (!Array.isArray(resources)) return undefined;
  for (const resource of resources) {
    if (isObject(resource) && resource.type === 'AWS::S3::Bucket') {
      const arn = text(resource.ARN);
      if (arn) return arn.slice(arn.lastIndexOf(':') + 1);
    }
  }
  return undefined;
}
