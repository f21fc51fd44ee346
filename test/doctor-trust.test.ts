import { CloudTrailClient, CreateTrailCommand, UpdateTrailCommand } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, DeleteBucketPolicyCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDoctorChecks, type DoctorCheck, type DoctorConfig } from '../lib/ops/doctor.ts';
import { logFileValidationCheck } from '../lib/ops/doctor/log-file-validation.ts';
import { trailBucketPolicyCheck } from '../lib/ops/doctor/trail-bucket-policy.ts';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { emulatorClientConfig, TEST_REGION, uniqueName } from './support/aws-clients.ts';

// The doctor's two checks of where log files come from, against moto_server: the trail signs its
// log files (digest files), and only CloudTrail may write under the trail bucket's AWSLogs/. Each
// failing case prints the command that fixes it, and running that command makes the check pass.

const CLOUDTRAIL_WRITES = (bucket: string) => ({
  Sid: 'AWSCloudTrailWrite',
  Effect: 'Allow',
  Principal: { Service: 'cloudtrail.amazonaws.com' },
  Action: 's3:PutObject',
  Resource: `arn:aws:s3:::${bucket}/AWSLogs/*`,
  Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
});

let clients: { cloudtrail: CloudTrailClient; s3: S3Client; events: EventBridgeClient; sqs: SQSClient; sns: SNSClient; iam: IAMClient };

beforeAll(() => {
  const aws = emulatorClientConfig();
  clients = {
    cloudtrail: new CloudTrailClient(aws),
    s3: new S3Client({ ...aws, forcePathStyle: true }),
    events: new EventBridgeClient(aws),
    sqs: new SQSClient(aws),
    sns: new SNSClient(aws),
    iam: new IAMClient(aws),
  };
});

async function trailWithBucket(validation: boolean): Promise<{ trail: string; bucket: string }> {
  const bucket = uniqueName('trail-logs');
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: TEST_REGION } }));
  const trail = uniqueName('trail');
  await clients.cloudtrail.send(new CreateTrailCommand({ Name: trail, S3BucketName: bucket, EnableLogFileValidation: validation }));
  return { trail, bucket };
}

const configFor = (trail: string): DoctorConfig => ({ trail, rule: 'unused', queueUrl: 'unused', topicArn: 'unused', protectedBuckets: [] });
const run = async (trail: string): Promise<DoctorCheck[]> =>
  runDoctorChecks({ ...clients, config: configFor(trail), checks: [logFileValidationCheck, trailBucketPolicyCheck] });

/** Runs a printed `aws …` fix against moto, through the SDK (the CLI is not installed here). */
async function apply(fix: string): Promise<void> {
  const validation = /^aws cloudtrail update-trail --region \S+ --name (\S+) --enable-log-file-validation$/.exec(fix);
  if (validation) {
    await clients.cloudtrail.send(new UpdateTrailCommand({ Name: validation[1], EnableLogFileValidation: true }));
    return;
  }
  const policy = /^aws s3api put-bucket-policy --bucket (\S+) --policy '(.*)'$/.exec(fix);
  if (policy) {
    await clients.s3.send(new PutBucketPolicyCommand({ Bucket: policy[1], Policy: (policy[2] as string).replace(/'\\''/g, "'") }));
    return;
  }
  throw new Error(`not a fix this test can run: ${fix}`);
}

describe('keysentry doctor: where log files come from', () => {
  it('fails a trail without log file validation, and passes once the printed command ran', async () => {
    const { trail } = await trailWithBucket(false);
    const [before] = await run(trail);
    expect(before).toMatchObject({ id: 'log-file-validation', ok: false });
    expect(before?.fix).toEqual([`aws cloudtrail update-trail --region ${TEST_REGION} --name ${trail} --enable-log-file-validation`]);
    await apply(before?.fix?.[0] as string);
    expect((await run(trail))[0]).toMatchObject({ id: 'log-file-validation', ok: true });
  });

  it('fails a bucket policy that lets anyone but CloudTrail write under AWSLogs/, and passes after the printed policy', async () => {
    const { trail, bucket } = await trailWithBucket(true);
    const partner = { Sid: 'PartnerUploads', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999988887777:root' }, Action: 's3:*', Resource: `arn:aws:s3:::${bucket}/*` };
    await clients.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [CLOUDTRAIL_WRITES(bucket), partner] }) }));

    const [, before] = await run(trail);
    expect(before).toMatchObject({ id: 'trail-bucket-policy', ok: false });
    expect(before?.detail).toContain('PartnerUploads');
    await apply(before?.fix?.[0] as string);

    const [, after] = await run(trail);
    expect(after).toMatchObject({ id: 'trail-bucket-policy', ok: true });
    expect(after?.detail).toContain('its deny overrides PartnerUploads');
  });

  it('fails a bucket with CloudTrail\'s usual policy but no deny for everyone else (an IAM policy could still grant writes)', async () => {
    const { trail, bucket } = await trailWithBucket(true);
    await clients.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [CLOUDTRAIL_WRITES(bucket)] }) }));
    const [, check] = await run(trail);
    expect(check).toMatchObject({ ok: false });
    expect(check?.detail).toContain('no statement denying writes');
    expect(check?.fix?.[0]).toContain('AWSCloudTrailWrite');
    await clients.s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
    const [, none] = await run(trail);
    expect(none).toMatchObject({ ok: false });
    await apply(none?.fix?.[0] as string);
    expect((await run(trail))[1]).toMatchObject({ ok: true });
  });
});
