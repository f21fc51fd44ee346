import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AccessEvent } from '../lib/domain/access-event.ts';
import { normalizeRecord, type RecordOutcome } from '../lib/domain/cloudtrail-record.ts';
import {
  cloneRecord,
  EXFILTRATION_LOG,
  loadRecords,
  loadRepairedRecords,
  pickRecord,
  withoutField,
  type CloudTrailRecord,
} from './events/load-events.ts';

const raw = loadRecords();
const repaired = loadRepairedRecords();
const getObject = pickRecord(repaired, 'GetObject', (r) => r.eventName === 'GetObject');
const listObjects = pickRecord(repaired, 'ListObjects', (r) => r.eventName === 'ListObjects');

function eventOf(outcome: RecordOutcome): AccessEvent {
  if (outcome.kind !== 'event') throw new Error(`expected an event, got ${outcome.kind} ${outcome.reason}`);
  return outcome.event;
}

function outcomeLabel(outcome: RecordOutcome): string {
  return outcome.kind === 'event' ? 'event' : `${outcome.kind}:${outcome.reason}`;
}

function tally(labels: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

describe('normalizeRecord on the OTRF exfiltration recording', () => {
  it('rejects every record of the Logstash copy as missing-eventTime', () => {
    const lines = readFileSync(EXFILTRATION_LOG, 'utf8').split('\n').filter((line) => line.trim() !== '');
    const outcomes = raw.map((record) => outcomeLabel(normalizeRecord(record)));

    expect(outcomes).toHaveLength(lines.length);
    expect(tally(outcomes)).toEqual({ 'rejected:missing-eventTime': lines.length });
  });

  it('normalises the 7 ListObjects and 2 GetObject data events once eventTime is restored', () => {
    const dataEventIds = repaired.filter((r) => r.eventCategory === 'Data').map((r) => r.eventID);
    const events = repaired.map((r) => normalizeRecord(r)).filter((o) => o.kind === 'event').map(eventOf);

    expect(events.map((e) => e.eventId).sort()).toEqual(dataEventIds.sort());
    expect(tally(events.map((e) => `${e.eventName}:${e.operation}`))).toEqual({
      'ListObjects:list': 7,
      'GetObject:get': 2,
    });
  });

  it('normalises a GetObject to a get of its bucket and key by the role session', () => {
    const event = eventOf(normalizeRecord(getObject));
    const identity = getObject.userIdentity;

    expect(event).toMatchObject({
      eventId: getObject.eventID,
      eventTime: Date.parse(getObject.eventTime as string),
      operation: 'get',
      bucket: getObject.requestParameters?.bucketName,
      objectKey: 'ring.txt',
      sourceIp: '1.2.3.4',
      toolFamily: 'aws-cli',
      requestId: getObject.requestID,
      recipientAccountId: '123456789123',
      region: 'us-east-1',
    });
    expect(event.identity).toMatchObject({
      type: 'assumed-role',
      principal: identity?.sessionContext?.sessionIssuer?.arn,
      actor: identity?.arn,
      accessKeyId: identity?.accessKeyId,
      sessionName: 'i-0317f6c6b66ae9c40',
    });
    expect(event.identity.accessKeyId).toMatch(/^ASIA/);
    expect(event.identity.principal).toMatch(/^arn:aws:iam::\d{12}:role\//);
  });

  it('turns the float byte counts of the Logstash copy into integers', () => {
    expect(readFileSync(EXFILTRATION_LOG, 'utf8')).toContain('"bytesTransferredOut":500.0');
    const event = eventOf(normalizeRecord(listObjects));

    expect(event.bytesOut).toBe(500);
    expect(Number.isInteger(event.bytesOut)).toBe(true);
    expect(event.bytesIn).toBe(0);
    expect(eventOf(normalizeRecord(getObject)).bytesOut).toBe(89);
  });

  it('rounds a fractional byte count and reads one written as a string', () => {
    const fractional = cloneRecord(getObject, (r) => {
      r.additionalEventData = { ...r.additionalEventData, bytesTransferredOut: 89.6, bytesTransferredIn: '12' };
    });
    const event = eventOf(normalizeRecord(fractional));

    expect(event.bytesOut).toBe(90);
    expect(event.bytesIn).toBe(12);
  });

  it('normalises a ListObjects (list-type 2) to a list of its bucket without a key', () => {
    const event = eventOf(normalizeRecord(listObjects));

    expect(event.operation).toBe('list');
    expect(event.bucket).toBe(listObjects.requestParameters?.bucketName);
    expect(event.objectKey).toBeUndefined();
  });

  it('skips the EC2, STS and other non-S3 calls as non-s3-source', () => {
    const nonS3 = repaired.filter((r) => r.eventSource !== 's3.amazonaws.com');
    const outcomes = nonS3.map((r) => outcomeLabel(normalizeRecord(r)));

    expect(nonS3.length).toBeGreaterThan(0);
    expect(tally(outcomes)).toEqual({ 'skipped:non-s3-source': nonS3.length });
  });

  it('skips ListBuckets, an S3 management event without eventCategory, as management-event', () => {
    const listBuckets = repaired.filter((r) => r.eventName === 'ListBuckets');
    const outcomes = listBuckets.map((r) => outcomeLabel(normalizeRecord(r)));

    expect(listBuckets.length).toBe(2);
    expect(listBuckets.every((r) => r.eventCategory === undefined && r.eventVersion === '1.05')).toBe(true);
    expect(tally(outcomes)).toEqual({ 'skipped:management-event': 2 });
  });

  it('skips an S3 record marked eventCategory Management', () => {
    const management = cloneRecord(getObject, (r) => {
      r.eventCategory = 'Management';
      r.managementEvent = true;
    });

    expect(normalizeRecord(management)).toEqual({ kind: 'skipped', reason: 'management-event' });
  });

  it('accounts for every record of the recording: events, skips and rejects add up to the total', () => {
    const counts = tally(repaired.map((r) => outcomeLabel(normalizeRecord(r))));
    const s3 = repaired.filter((r) => r.eventSource === 's3.amazonaws.com');

    expect(counts).toEqual({
      event: s3.filter((r) => r.eventCategory === 'Data').length,
      'skipped:management-event': s3.filter((r) => r.eventCategory === undefined).length,
      'skipped:non-s3-source': repaired.length - s3.length,
    });
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(repaired.length);
  });
});

describe('normalizeRecord on a damaged record', () => {
  it.each([
    { field: 'eventTime', reason: 'missing-eventTime' },
    { field: 'eventID', reason: 'missing-eventID' },
    { field: 'eventName', reason: 'missing-eventName' },
    { field: 'eventSource', reason: 'missing-eventSource' },
    { field: 'userIdentity', reason: 'missing-userIdentity' },
    { field: 'eventVersion', reason: 'missing-eventVersion' },
  ])('rejects a record without $field', ({ field, reason }) => {
    expect(normalizeRecord(getObject).kind).toBe('event');
    expect(normalizeRecord(withoutField(getObject, field))).toEqual({ kind: 'rejected', reason });
  });

  it('rejects an unknown major eventVersion 2.0', () => {
    const future = cloneRecord(getObject, (r) => {
      r.eventVersion = '2.0';
    });

    expect(normalizeRecord(future)).toEqual({ kind: 'rejected', reason: 'unknown-eventVersion' });
  });

  it('accepts a later minor eventVersion 1.11', () => {
    const later = cloneRecord(getObject, (r) => {
      r.eventVersion = '1.11';
    });

    expect(eventOf(normalizeRecord(later)).operation).toBe('get');
  });

  it('rejects an eventTime that is not a time', () => {
    const garbled = cloneRecord(getObject, (r) => {
      r.eventTime = 'yesterday-ish';
    });

    expect(normalizeRecord(garbled)).toEqual({ kind: 'rejected', reason: 'invalid-eventTime' });
  });

  it('rejects a userIdentity that is not an object', () => {
    const flat = cloneRecord(getObject, (r) => {
      (r as Record<string, unknown>).userIdentity = 'AssumedRole';
    });

    expect(normalizeRecord(flat)).toEqual({ kind: 'rejected', reason: 'missing-userIdentity' });
  });

  it.each([
    { label: 'null', value: null },
    { label: 'a string', value: JSON.stringify(getObject) },
    { label: 'a number', value: 42 },
    { label: 'an array of the record', value: [getObject] },
  ])('rejects $label as not-an-object', ({ value }) => {
    expect(normalizeRecord(value)).toEqual({ kind: 'rejected', reason: 'not-an-object' });
  });

  it('skips an S3 data event it does not count as unsupported-s3-event', () => {
    const objectLambda = cloneRecord(getObject, (r) => {
      r.eventName = 'WriteGetObjectResponse';
    });

    expect(normalizeRecord(objectLambda)).toEqual({ kind: 'skipped', reason: 'unsupported-s3-event' });
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'does not take the Object.prototype member %s for an S3 operation',
    (eventName) => {
      const hostile = cloneRecord(getObject, (r) => {
        r.eventName = eventName;
      });

      expect(normalizeRecord(hostile)).toEqual({ kind: 'skipped', reason: 'unsupported-s3-event' });
    },
  );

  it('takes the bucket from resources when requestParameters has none', () => {
    const bare = cloneRecord(getObject, (r) => {
      r.requestParameters = null;
    });
    const event = eventOf(normalizeRecord(bare));

    expect(event.bucket).toBe(getObject.requestParameters?.bucketName);
    expect(event.objectKey).toBeUndefined();
  });
});

describe('normalizeRecord on an EventBridge envelope', () => {
  const envelope = (detailType: string, detail: unknown) => ({
    version: '0',
    id: 'a1b2c3d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d',
    'detail-type': detailType,
    source: 'aws.s3',
    account: getObject.recipientAccountId,
    time: getObject.eventTime,
    region: 'us-east-1',
    resources: [],
    detail,
  });

  it('normalises the record wrapped in an "AWS API Call via CloudTrail" envelope identically', () => {
    const direct = normalizeRecord(getObject);
    const wrapped = normalizeRecord(envelope('AWS API Call via CloudTrail', getObject));

    expect(direct.kind).toBe('event');
    expect(wrapped).toEqual(direct);
  });

  it('rejects an envelope of another detail-type as unsupported-envelope', () => {
    const objectCreated = envelope('Object Created', {
      version: '0',
      bucket: { name: getObject.requestParameters?.bucketName },
      object: { key: 'ring.txt', size: 89, etag: 'b1946ac92492d2347c6235b4d2611184', sequencer: '00617F08299329D189' },
      'request-id': getObject.requestID,
      requester: getObject.recipientAccountId,
      'source-ip-address': getObject.sourceIPAddress,
      reason: 'PutObject',
    });

    expect(normalizeRecord(objectCreated)).toEqual({ kind: 'rejected', reason: 'unsupported-envelope' });
  });

  it('rejects a CloudTrail envelope whose detail is not a record as unsupported-envelope', () => {
    expect(normalizeRecord(envelope('AWS API Call via CloudTrail', JSON.stringify(getObject)))).toEqual({
      kind: 'rejected',
      reason: 'unsupported-envelope',
    });
  });

  it('still rejects the damaged record inside a CloudTrail envelope with its own reason', () => {
    const wrapped = envelope('AWS API Call via CloudTrail', withoutField(getObject, 'eventID'));

    expect(normalizeRecord(wrapped)).toEqual({ kind: 'rejected', reason: 'missing-eventID' });
  });
});

describe('normalizeRecord on calls AWS services make themselves', () => {
  // CloudTrail delivering a log file into a bucket that has data events on.
  const cloudTrailDelivery: CloudTrailRecord = cloneRecord(getObject, (r) => {
    r.eventName = 'PutObject';
    r.userIdentity = { type: 'AWSService', invokedBy: 'cloudtrail.amazonaws.com' };
    r.sourceIPAddress = 'cloudtrail.amazonaws.com';
    r.userAgent = 'cloudtrail.amazonaws.com';
    r.requestParameters = {
      ...r.requestParameters,
      key:
        'AWSLogs/123456789123/CloudTrail/us-east-1/2020/09/14/' +
        '123456789123_CloudTrail_us-east-1_20200914T0105Z_7sMHaTrUJDDm3LG4.json.gz',
    };
    r.additionalEventData = { ...r.additionalEventData, bytesTransferredIn: 2114, bytesTransferredOut: 0 };
  });

  it('skips an AWS service call by default', () => {
    expect(normalizeRecord(cloudTrailDelivery)).toEqual({ kind: 'skipped', reason: 'aws-service-call' });
  });

  it('includes an AWS service call with includeServiceCalls', () => {
    const event = eventOf(normalizeRecord(cloudTrailDelivery, { includeServiceCalls: true }));

    expect(event.operation).toBe('put');
    expect(event.bytesIn).toBe(2114);
    expect(event.identity).toMatchObject({
      type: 'aws-service',
      principal: 'service:cloudtrail.amazonaws.com',
      actor: 'service:cloudtrail.amazonaws.com',
      invokedBy: 'cloudtrail.amazonaws.com',
    });
    expect(event.toolFamily).toBe('aws-service');
  });
});

describe('normalizeRecord on deletes and failures', () => {
  it('normalises a DeleteObject with a versionId as delete-version', () => {
    const versionDelete = cloneRecord(getObject, (r) => {
      r.eventName = 'DeleteObject';
      r.requestParameters = { ...r.requestParameters, versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' };
    });
    const event = eventOf(normalizeRecord(versionDelete));

    expect(event.operation).toBe('delete-version');
    expect(event.versionId).toBe('3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY');
    expect(event.objectKey).toBe('ring.txt');
  });

  it('normalises a DeleteObject without a versionId as delete', () => {
    const plainDelete = cloneRecord(getObject, (r) => {
      r.eventName = 'DeleteObject';
    });
    const event = eventOf(normalizeRecord(plainDelete));

    expect(event.operation).toBe('delete');
    expect(event.versionId).toBeUndefined();
  });

  it('normalises a DeleteObjects as delete-batch of the bucket', () => {
    const batch = cloneRecord(getObject, (r) => {
      r.eventName = 'DeleteObjects';
      const { bucketName, Host } = r.requestParameters ?? {};
      r.requestParameters = { bucketName, Host, delete: '' };
    });
    const event = eventOf(normalizeRecord(batch));

    expect(event.operation).toBe('delete-batch');
    expect(event.bucket).toBe(getObject.requestParameters?.bucketName);
    expect(event.objectKey).toBeUndefined();
  });

  it('keeps the errorCode of a failed GetObject', () => {
    const denied = cloneRecord(getObject, (r) => {
      r.errorCode = 'AccessDenied';
      r.errorMessage = 'Access Denied';
      r.additionalEventData = { ...r.additionalEventData, bytesTransferredOut: 243 };
    });
    const event = eventOf(normalizeRecord(denied));

    expect(event.operation).toBe('get');
    expect(event.errorCode).toBe('AccessDenied');
    expect(eventOf(normalizeRecord(getObject)).errorCode).toBeUndefined();
  });
});
