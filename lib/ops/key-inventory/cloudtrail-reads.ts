import { paginateLookupEvents, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { reading, iso } from './iam-reads.ts';
import { EVENT_HISTORY_DAYS, type CreatingPrincipal, type IamChange, type KnownCreator } from './inventory-types.ts';
import { DAY_MS } from '../../domain/duration.ts';


/** The IAM calls that create, enable, remove or empower credentials: the last day's are reported. */
export const IAM_CHANGE_EVENTS = [
  'CreateAccessKey',
  'UpdateAccessKey',
  'DeleteAccessKey',
  'CreateUser',
  'AttachUserPolicy',
  'AttachRolePolicy',
  'PutUserPolicy',
  'PutRolePolicy',
] as const;

/** A string at `path` in parsed JSON, or undefined. */
function text(value: unknown, ...path: string[]): string | undefined {
  let node = value;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'string' && node !== '' ? node : undefined;
}

interface TrailRecord {
  record: Record<string, unknown>;
  eventTime: number;
}

/** Every event named `eventName` in `[since, until]`, parsed; `unreadable` counts those without usable JSON. */
async function lookUpEvents(
  cloudtrail: CloudTrailClient,
  eventName: string,
  since: number,
  until: number,
): Promise<{ records: TrailRecord[]; unreadable: number }> {
  const records: TrailRecord[] = [];
  let unreadable = 0;
  await reading(`CloudTrail LookupEvents for ${eventName}`, async () => {
    const pages = paginateLookupEvents(
      { client: cloudtrail },
      {
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }],
        StartTime: new Date(since),
        EndTime: new Date(until),
        MaxResults: 50,
      },
    );
    for await (const page of pages) {
      for (const event of page.Events ?? []) {
        try {
          const record = JSON.parse(event.CloudTrailEvent ?? '') as unknown;
          if (typeof record !== 'object' || record === null) throw new TypeError('not an object');
          const eventTime = event.EventTime?.getTime() ?? Date.parse(text(record, 'eventTime') ?? '');
          if (!Number.isFinite(eventTime)) throw new TypeError('no event time');
          records.push({ record: record as Record<string, unknown>, eventTime });
        } catch {
          unreadable++;
        }
      }
    }
  });
  return { records, unreadable };
}

/** The caller of a CloudTrail record: its ARN (or type), and the IAM user or role to look up. */
function callerOf(record: Record<string, unknown>): { arn: string; type: string; principal?: CreatingPrincipal } {
  const identity = record.userIdentity;
  const type = text(identity, 'type') ?? 'Unknown';
  const arn = text(identity, 'arn') ?? type;
  // Only principals of this account exist in its IAM: another account's are not ours to look up.
  const account = text(identity, 'accountId');
  const recipient = text(record, 'recipientAccountId');
  if (account !== undefined && recipient !== undefined && account !== recipient) return { arn, type };
  if (type === 'IAMUser') {
    const name = text(identity, 'userName') ?? arn.split('/').pop();
    return { arn, type, principal: name === undefined ? undefined : { kind: 'user', name, id: text(identity, 'principalId') } };
  }
  // A role session or a federated user: what exists in IAM is the role or user that issued the session.
  const issuerType = text(identity, 'sessionContext', 'sessionIssuer', 'type');
  const issuerName = text(identity, 'sessionContext', 'sessionIssuer', 'userName');
  if (issuerName !== undefined && (issuerType === 'Role' || issuerType === 'IAMUser')) {
    const id = text(identity, 'sessionContext', 'sessionIssuer', 'principalId');
    return { arn, type, principal: { kind: issuerType === 'Role' ? 'role' : 'user', name: issuerName, id } };
  }
  return { arn, type };
}

/**
 * Who created each access key in CloudTrail's event history (`CreateAccessKey` events of the last
 * 90 days, LookupEvents' limit), by access key id from the event's `responseElements`. Failed
 * calls (no response elements) create nothing and are skipped.
 */
export async function lookUpKeyCreators(
  cloudtrail: CloudTrailClient,
  now: number,
): Promise<{ creators: Map<string, KnownCreator>; unreadable: number }> {
  const { records, unreadable } = await lookUpEvents(cloudtrail, 'CreateAccessKey', now - EVENT_HISTORY_DAYS * DAY_MS, now);
  const creators = new Map<string, KnownCreator>();
  for (const { record, eventTime } of records) {
    const accessKeyId = text(record, 'responseElements', 'accessKey', 'accessKeyId');
    if (accessKeyId === undefined) continue;
    const caller = callerOf(record);
    creators.set(accessKeyId, {
      known: true,
      ...caller,
      at: iso(eventTime),
      sourceIp: text(record, 'sourceIPAddress'),
      userAgent: text(record, 'userAgent'),
      eventId: text(record, 'eventID'),
    });
  }
  return { creators, unreadable };
}

/**
 * The IAM changes CloudTrail recorded from `since` to `until` (default now): key creation, status
 * changes and deletion, new users, and policies attached to or put on users and roles
 * (`IAM_CHANGE_EVENTS`), failed attempts included, oldest first. One `LookupEvents` per event name
 * (it filters on one attribute), one after another: the API allows two calls a second per account
 * and region, and the client's retries absorb its throttling. The client must be in the region
 * where IAM's events are recorded (us-east-1 for the aws partition).
 */
export async function recentChanges(
  cloudtrail: CloudTrailClient,
  since: number,
  until: number = Date.now(),
): Promise<{ events: IamChange[]; unreadable: number }> {
  const events: IamChange[] = [];
  let unreadable = 0;
  for (const eventName of IAM_CHANGE_EVENTS) {
    const found = await lookUpEvents(cloudtrail, eventName, since, until);
    unreadable += found.unreadable;
    for (const { record, eventTime } of found.records) {
      const parameter = (name: string): string | undefined => text(record, 'requestParameters', name);
      events.push({
        eventName,
        at: iso(eventTime),
        actor: callerOf(record).arn,
        sourceIp: text(record, 'sourceIPAddress'),
        errorCode: text(record, 'errorCode'),
        eventId: text(record, 'eventID'),
        userName: parameter('userName') ?? text(record, 'responseElements', 'accessKey', 'userName'),
        roleName: parameter('roleName'),
        accessKeyId: parameter('accessKeyId') ?? text(record, 'responseElements', 'accessKey', 'accessKeyId'),
        status: parameter('status'),
        policyArn: parameter('policyArn'),
        policyName: parameter('policyName'),
      });
    }
  }
  events.sort((a, b) => a.at.localeCompare(b.at) || a.eventName.localeCompare(b.eventName));
  return { events, unreadable };
}

