import type { SeededRandom } from './seeded-random.ts';
import { DAY_MS } from '../domain/duration.ts';

/** A CloudTrail record, serialized as it appears in a log file's `Records` array. */
export interface SerializedRecord {
  eventId: string;
  json: string;
}

/** Who makes a call and from where: the parts of a record that stay the same across its calls. */
export interface Caller {
  userIdentity: Record<string, unknown>;
  sourceIPAddress: string;
  userAgent: string;
  /** Set when the call came through an S3 gateway endpoint; the source IP is then private. */
  vpcEndpointId?: string;
  /** Anonymous requests carry no signature, so CloudTrail has no signature fields for them. */
  anonymous?: boolean;
}

/** One S3 data-plane call. */
export interface S3Call {
  eventName: string;
  bucket: string;
  /** Object key; `arn` is its precomputed ARN when the caller has one at hand. */
  key?: string;
  arn?: string;
  /** For list calls: the ARN prefix the call covers. */
  prefix?: string;
  readOnly: boolean;
  requestParameters?: Record<string, unknown>;
  responseElements?: Record<string, unknown>;
  bytesIn?: number;
  bytesOut?: number;
  errorCode?: string;
  /** Shared by the records CloudTrail writes for one multi-object delete. */
  requestId?: string;
}

/** One management-plane call (STS, sign-in, S3 bucket configuration). */
export interface ManagementCall {
  eventSource: string;
  eventName: string;
  readOnly: boolean;
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown>;
  resources?: Array<Record<string, unknown>>;
}

export const ACCOUNT_ID = '111122223333';
export const REGION = 'eu-west-1';

const TLS_CIPHER = 'TLS_AES_128_GCM_SHA256';
const ERROR_MESSAGES: Record<string, string> = {
  AccessDenied: 'Access Denied',
  NoSuchKey: 'The specified key does not exist.',
};

const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
let cachedDay = Number.NaN;
let cachedDate = '';

/** Renders epoch milliseconds as CloudTrail's `eventTime`: UTC, second resolution. */
export function formatEventTime(at: number): string {
  const day = Math.floor(at / DAY_MS);
  // Date#toISOString per record showed up in profiles; the date part changes once a day.
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDate = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  const seconds = Math.floor((at - day * DAY_MS) / 1000);
  const hours = TWO_DIGITS[Math.floor(seconds / 3600)] ?? '';
  const minutes = TWO_DIGITS[Math.floor(seconds / 60) % 60] ?? '';
  return `${cachedDate}${hours}:${minutes}:${TWO_DIGITS[seconds % 60] ?? ''}Z`;
}

/** The virtual-hosted endpoint an SDK in this region talks to. */
export function formatHost(bucket: string): string {
  return `${bucket}.s3.${REGION}.amazonaws.com`;
}

interface CallerFragments {
  head: string;
  origin: string;
  tail: string;
}

// A scale-20 month is millions of records: serializing each record object with JSON.stringify
// was most of the run time, so the parts that repeat (the caller, the bucket) are serialized once
// and each record is concatenated in CloudTrail's field order.
const callerFragments = new WeakMap<Caller, CallerFragments>();
function serializeCaller(caller: Caller): CallerFragments {
  let fragments = callerFragments.get(caller);
  if (!fragments) {
    const vpc =
      caller.vpcEndpointId === undefined
        ? ''
        : `,"vpcEndpointId":${JSON.stringify(caller.vpcEndpointId)},"vpcEndpointAccountId":"${ACCOUNT_ID}"`;
    fragments = {
      head: `{"eventVersion":"1.08","userIdentity":${JSON.stringify(caller.userIdentity)},"eventTime":"`,
      origin: `,"sourceIPAddress":${JSON.stringify(caller.sourceIPAddress)},"userAgent":${JSON.stringify(caller.userAgent)}`,
      tail:
        `,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"${ACCOUNT_ID}"` +
        `${vpc},"eventCategory":"Data"`,
    };
    callerFragments.set(caller, fragments);
  }
  return fragments;
}

interface BucketFragments {
  name: string;
  host: string;
  resource: string;
}

const bucketFragments = new Map<string, BucketFragments>();
function serializeBucket(bucket: string): BucketFragments {
  let fragments = bucketFragments.get(bucket);
  if (fragments === undefined) {
    fragments = {
      name: JSON.stringify(bucket),
      host: JSON.stringify(formatHost(bucket)),
      resource: JSON.stringify({ accountId: ACCOUNT_ID, type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}` }),
    };
    bucketFragments.set(bucket, fragments);
  }
  return fragments;
}

/**
 * Builds an S3 data event the way CloudTrail writes it (eventVersion 1.08, field order as in real
 * files, integer byte counts). Object calls name the object and the bucket in `resources`; list
 * calls name an ARN prefix instead, and bucket calls only the bucket. Failed calls carry
 * `errorCode`/`errorMessage` and no `responseElements`; anonymous calls carry no signature fields.
 */
export function buildDataEvent(random: SeededRandom, at: number, caller: Caller, call: S3Call): SerializedRecord {
  const fragments = serializeCaller(caller);
  const bucket = serializeBucket(call.bucket);
  const extra = call.requestParameters;
  const host = typeof extra?.Host === 'string' ? JSON.stringify(extra.Host) : bucket.host;
  let json =
    `${fragments.head}${formatEventTime(at)}","eventSource":"s3.amazonaws.com",` +
    `"eventName":"${call.eventName}","awsRegion":"${REGION}"${fragments.origin}`;
  if (call.errorCode !== undefined) {
    const message = ERROR_MESSAGES[call.errorCode] ?? call.errorCode;
    json += `,"errorCode":${JSON.stringify(call.errorCode)},"errorMessage":${JSON.stringify(message)}`;
  }
  json += `,"requestParameters":{"bucketName":${bucket.name},"Host":${host}`;
  if (call.key !== undefined) json += `,"key":${JSON.stringify(call.key)}`;
  if (extra) {
    for (const [name, value] of Object.entries(extra)) {
      if (name !== 'Host') json += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
    }
  }
  const response = call.errorCode === undefined && call.responseElements ? JSON.stringify(call.responseElements) : 'null';
  const signature = caller.anonymous ? '' : '"SignatureVersion":"SigV4",';
  const authentication = caller.anonymous ? '' : ',"AuthenticationMethod":"AuthHeader"';
  json +=
    `},"responseElements":${response},"additionalEventData":{${signature}"CipherSuite":"${TLS_CIPHER}",` +
    `"bytesTransferredIn":${call.bytesIn ?? 0}${authentication},"x-amz-id-2":"${random.extendedRequestId()}",` +
    `"bytesTransferredOut":${call.bytesOut ?? 0}}`;
  const requestId = call.requestId ?? random.requestId();
  const eventId = random.uuid();
  json += `,"requestID":"${requestId}","eventID":"${eventId}","readOnly":${call.readOnly},"resources":[`;
  if (call.key !== undefined) {
    json += `{"type":"AWS::S3::Object","ARN":${JSON.stringify(call.arn ?? `arn:aws:s3:::${call.bucket}/${call.key}`)}},`;
  } else if (call.prefix !== undefined) {
    json += `{"type":"AWS::S3::Object","ARNPrefix":${JSON.stringify(`arn:aws:s3:::${call.bucket}/${call.prefix}`)}},`;
  }
  json +=
    `${bucket.resource}]${fragments.tail},"tlsDetails":{"tlsVersion":"TLSv1.3",` +
    `"cipherSuite":"${TLS_CIPHER}","clientProvidedHostHeader":${host}}}`;
  return { eventId, json };
}

/**
 * Builds a management event (STS, console sign-in, S3 bucket configuration reads). These are not
 * S3 data events; they are mixed into the files because a real trail delivers both, and a reader
 * must pass over them.
 */
export function buildManagementEvent(
  random: SeededRandom,
  at: number,
  caller: Caller,
  call: ManagementCall,
): SerializedRecord {
  const record: Record<string, unknown> = {
    eventVersion: '1.08',
    userIdentity: caller.userIdentity,
    eventTime: formatEventTime(at),
    eventSource: call.eventSource,
    eventName: call.eventName,
    awsRegion: call.eventSource === 'signin.amazonaws.com' ? 'us-east-1' : REGION,
    sourceIPAddress: caller.sourceIPAddress,
    userAgent: caller.userAgent,
    requestParameters: call.requestParameters,
    responseElements: call.responseElements,
  };
  if (call.additionalEventData) record.additionalEventData = call.additionalEventData;
  record.requestID = random.uuid();
  const eventId = random.uuid();
  record.eventID = eventId;
  record.readOnly = call.readOnly;
  if (call.resources) record.resources = call.resources;
  record.eventType = call.eventName === 'ConsoleLogin' ? 'AwsConsoleSignIn' : 'AwsApiCall';
  record.managementEvent = true;
  record.recipientAccountId = ACCOUNT_ID;
  record.eventCategory = 'Management';
  return { eventId, json: JSON.stringify(record) };
}

/** `userIdentity` of an IAM user signing with a long-term `AKIA…` key. */
export function describeIamUser(userName: string, userId: string, accessKeyId?: string): Record<string, unknown> {
  const identity: Record<string, unknown> = {
    type: 'IAMUser',
    principalId: userId,
    arn: `arn:aws:iam::${ACCOUNT_ID}:user/${userName}`,
    accountId: ACCOUNT_ID,
  };
  if (accessKeyId !== undefined) identity.accessKeyId = accessKeyId;
  identity.userName = userName;
  return identity;
}

/**
 * `userIdentity` of an IAM user in the console: the console signs with a temporary `ASIA…` key,
 * yet the type stays `IAMUser`, which is why the key prefix alone never decides the identity type.
 */
export function describeConsoleUser(
  userName: string,
  userId: string,
  accessKeyId: string,
  creationDate: string,
): Record<string, unknown> {
  return {
    type: 'IAMUser',
    principalId: userId,
    arn: `arn:aws:iam::${ACCOUNT_ID}:user/${userName}`,
    accountId: ACCOUNT_ID,
    accessKeyId,
    userName,
    sessionContext: {
      sessionIssuer: {},
      webIdFederationData: {},
      attributes: { creationDate, mfaAuthenticated: 'true' },
    },
    sessionCredentialFromConsole: 'true',
  };
}

/**
 * `userIdentity` of a role session (`AssumedRole`). A service-linked role lives under a path, which
 * shows in the role's ARN but not in the session's, and its calls name the service in `invokedBy`.
 */
export function describeRoleSession(
  roleName: string,
  roleId: string,
  sessionName: string,
  accessKeyId: string,
  creationDate: string,
  service?: { path: string; invokedBy: string },
): Record<string, unknown> {
  const identity: Record<string, unknown> = {
    type: 'AssumedRole',
    principalId: `${roleId}:${sessionName}`,
    arn: formatSessionArn(roleName, sessionName),
    accountId: ACCOUNT_ID,
    accessKeyId,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: roleId,
        arn: formatRoleArn(roleName, service?.path),
        accountId: ACCOUNT_ID,
        userName: roleName,
      },
      webIdFederationData: {},
      attributes: { creationDate, mfaAuthenticated: 'false' },
    },
  };
  if (service) identity.invokedBy = service.invokedBy;
  return identity;
}

/** The ARN of a role of the simulated account. */
export function formatRoleArn(roleName: string, path = ''): string {
  return `arn:aws:iam::${ACCOUNT_ID}:role/${path}${roleName}`;
}

/** The ARN CloudTrail shows for a session of a role of the simulated account. */
export function formatSessionArn(roleName: string, sessionName: string): string {
  return `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${roleName}/${sessionName}`;
}

/** A caller that is an AWS service acting on the account's behalf (CloudTrail, ECS, EC2). */
export function describeServiceCaller(service: string): Caller {
  return {
    userIdentity: { type: 'AWSService', invokedBy: service },
    sourceIPAddress: service,
    userAgent: service,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// STS writes expirations as "Oct 5, 2026, 1:00:00 AM". Formatted by hand because Intl output
// changes between ICU versions (a narrow no-break space before AM), which would break byte-identical
// output across Node builds.
function formatExpiration(at: number): string {
  const d = new Date(at);
  const hour = d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const time = `${hour}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${time}`;
}

/**
 * Builds the `AssumeRole` management event by which a service minted a role session; its
 * `responseElements` name the session's new `ASIA…` key, which ties later data events to the role.
 */
export function buildAssumeRoleEvent(
  random: SeededRandom,
  at: number,
  service: string,
  roleName: string,
  roleId: string,
  sessionName: string,
  accessKeyId: string,
): SerializedRecord {
  const expiration = formatExpiration(at + 3_600_000);
  return buildManagementEvent(random, at, describeServiceCaller(service), {
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    readOnly: true,
    requestParameters: { roleArn: formatRoleArn(roleName), roleSessionName: sessionName, durationSeconds: 3600 },
    responseElements: {
      credentials: { accessKeyId, expiration },
      assumedRoleUser: { assumedRoleId: `${roleId}:${sessionName}`, arn: formatSessionArn(roleName, sessionName) },
    },
    resources: [{ accountId: ACCOUNT_ID, type: 'AWS::IAM::Role', ARN: formatRoleArn(roleName) }],
  });
}
