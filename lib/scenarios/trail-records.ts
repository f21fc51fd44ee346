import type { Dice } from './dice.ts';

/** One CloudTrail record as a log file carries it. */
export type TrailRecord = Record<string, unknown>;

/** Who makes a call and from where, as CloudTrail records it. */
export interface Caller {
  userIdentity: Record<string, unknown>;
  sourceIp: string;
  userAgent: string;
  /** A presigned URL is authenticated by its query string, a signed request by its header. */
  auth?: 'AuthHeader' | 'QueryString';
  vpcEndpointId?: string;
  /** Console and CloudShell credentials: CloudTrail marks their records `sessionCredentialFromConsole`. */
  fromConsole?: boolean;
}

/** One S3 data-plane call. */
export interface S3Call {
  eventName: string;
  bucket: string;
  key?: string;
  versionId?: string;
  bytesOut?: number;
  bytesIn?: number;
  errorCode?: string;
  params?: Record<string, unknown>;
}

/** The account and region a scenario's trail records, and the dice its ids come from. */
export interface TrailContext {
  account: string;
  region: string;
  dice: Dice;
}

/** `2026-11-30T09:05:12Z`: CloudTrail's second-resolution UTC time. */
export function formatTrailTime(at: number): string {
  return `${new Date(Math.floor(at / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** An IAM user calling with a long-term (AKIA) key. */
export function iamUserKey(account: string, userName: string, userId: string, accessKeyId: string): Record<string, unknown> {
  return { type: 'IAMUser', principalId: userId, arn: `arn:aws:iam::${account}:user/${userName}`, accountId: account, accessKeyId, userName };
}

/**
 * An IAM user's console or CloudShell session: type IAMUser with a temporary (ASIA) key that the
 * console renews every few minutes, and the session's creation date.
 */
export function consoleSession(account: string, userName: string, userId: string, accessKeyId: string, createdAt: number): Record<string, unknown> {
  return {
    ...iamUserKey(account, userName, userId, accessKeyId),
    sessionContext: { attributes: { creationDate: formatTrailTime(createdAt), mfaAuthenticated: 'true' } },
  };
}

/** How a role session was obtained. */
export interface RoleSessionOrigin {
  /** OIDC provider of `AssumeRoleWithWebIdentity` (CI systems). */
  webIdentityProvider?: string;
  sourceIdentity?: string;
  /** An EC2 instance profile delivers its credentials through IMDS. */
  ec2?: boolean;
}

/** A session of an IAM role (ASIA key), with the issuing role in `sessionContext`. */
export function roleSession(
  account: string,
  role: { name: string; id: string },
  sessionName: string,
  accessKeyId: string,
  createdAt: number,
  origin: RoleSessionOrigin = {},
): Record<string, unknown> {
  const sessionContext: Record<string, unknown> = {
    sessionIssuer: { type: 'Role', principalId: role.id, arn: `arn:aws:iam::${account}:role/${role.name}`, accountId: account, userName: role.name },
    attributes: { creationDate: formatTrailTime(createdAt), mfaAuthenticated: 'false' },
  };
  if (origin.webIdentityProvider) {
    sessionContext.webIdFederationData = { federatedProvider: `arn:aws:iam::${account}:oidc-provider/${origin.webIdentityProvider}`, attributes: {} };
  }
  if (origin.sourceIdentity) sessionContext.sourceIdentity = origin.sourceIdentity;
  if (origin.ec2) sessionContext.ec2RoleDelivery = '2.0';
  return {
    type: 'AssumedRole',
    principalId: `${role.id}:${sessionName}`,
    arn: `arn:aws:sts::${account}:assumed-role/${role.name}/${sessionName}`,
    accountId: account,
    accessKeyId,
    sessionContext,
  };
}

/** A principal of another account, as the bucket owner's trail records it. */
export function crossAccountCaller(callerAccount: string, principalId: string): Record<string, unknown> {
  return { type: 'AWSAccount', principalId, accountId: callerAccount };
}

/** An unauthenticated caller. */
export function anonymousCaller(): Record<string, unknown> {
  return { type: 'AWSAccount', principalId: '', accountId: 'ANONYMOUS_PRINCIPAL' };
}

const READ_ONLY = new Set(['GetObject', 'HeadObject', 'ListObjects', 'ListObjectsV2', 'ListObjectVersions', 'GetObjectTagging']);
const BUCKET_LEVEL = new Set(['ListObjects', 'ListObjectsV2', 'ListObjectVersions', 'DeleteObjects']);
const CIPHERS = ['ECDHE-RSA-AES128-GCM-SHA256', 'TLS_AES_128_GCM_SHA256'];

/** An S3 data event record, shaped as the real ones in ../shared/corpus. */
export function s3Record(ctx: TrailContext, at: number, caller: Caller, call: S3Call): TrailRecord {
  const { account, region, dice } = ctx;
  const host = `${call.bucket}.s3.${region}.amazonaws.com`;
  const requestParameters: Record<string, unknown> = { bucketName: call.bucket, Host: host, ...call.params };
  if (call.key !== undefined) requestParameters.key = call.key;
  if (call.versionId !== undefined) requestParameters.versionId = call.versionId;
  const bucketArn = `arn:aws:s3:::${call.bucket}`;
  const resources: Record<string, unknown>[] = BUCKET_LEVEL.has(call.eventName)
    ? call.eventName === 'DeleteObjects'
      ? []
      : [{ type: 'AWS::S3::Object', ARNPrefix: `${bucketArn}/${String(call.params?.prefix ?? '')}` }]
    : [{ type: 'AWS::S3::Object', ARN: `${bucketArn}/${call.key ?? ''}` }];
  resources.push({ type: 'AWS::S3::Bucket', ARN: bucketArn, accountId: account });
  const record: TrailRecord = {
    eventVersion: '1.10',
    userIdentity: caller.userIdentity,
    eventTime: formatTrailTime(at),
    eventSource: 's3.amazonaws.com',
    eventName: call.eventName,
    awsRegion: region,
    sourceIPAddress: caller.sourceIp,
    userAgent: caller.userAgent,
    requestParameters,
    responseElements: null,
    additionalEventData: {
      SignatureVersion: 'SigV4',
      CipherSuite: dice.pick(CIPHERS),
      bytesTransferredIn: call.bytesIn ?? 0,
      AuthenticationMethod: caller.auth ?? 'AuthHeader',
      'x-amz-id-2': dice.text(76, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'),
      bytesTransferredOut: call.bytesOut ?? 0,
    },
    requestID: dice.text(16, '0123456789ABCDEF'),
    eventID: dice.uuid(),
    readOnly: READ_ONLY.has(call.eventName),
    resources,
    eventType: 'AwsApiCall',
    managementEvent: false,
    recipientAccountId: account,
    eventCategory: 'Data',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: host },
  };
  if (call.errorCode !== undefined) {
    record.errorCode = call.errorCode;
    record.errorMessage = call.errorCode === 'AccessDenied' ? 'Access Denied' : 'The specified key does not exist.';
  }
  if (caller.vpcEndpointId) record.vpcEndpointId = caller.vpcEndpointId;
  if (caller.fromConsole) record.sessionCredentialFromConsole = 'true';
  return record;
}

/** IAM's `CreateAccessKey` management event (recorded in us-east-1), naming the new key. */
export function createAccessKeyRecord(ctx: TrailContext, at: number, admin: Caller, userName: string, accessKeyId: string): TrailRecord {
  return {
    eventVersion: '1.09',
    userIdentity: admin.userIdentity,
    eventTime: formatTrailTime(at),
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateAccessKey',
    awsRegion: 'us-east-1',
    sourceIPAddress: admin.sourceIp,
    userAgent: admin.userAgent,
    requestParameters: { userName },
    responseElements: {
      accessKey: { userName, accessKeyId, status: 'Active', createDate: formatIamDate(at) },
    },
    requestID: ctx.dice.uuid(),
    eventID: ctx.dice.uuid(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ctx.account,
    eventCategory: 'Management',
    tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: 'iam.amazonaws.com' },
  };
}

/** IAM's response date format in CloudTrail: `Nov 30, 2026 9:05:12 AM`. */
function formatIamDate(at: number): string {
  const d = new Date(at);
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const hours = d.getUTCHours();
  const h12 = hours % 12 === 0 ? 12 : hours % 12;
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  const ss = String(d.getUTCSeconds()).padStart(2, '0');
  return `${month} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${h12}:${mm}:${ss} ${hours < 12 ? 'AM' : 'PM'}`;
}
