import { GetBucketPolicyCommand } from '@aws-sdk/client-s3';
import { shellQuote } from '../../domain/shell-quote.ts';
import { describeTrail } from './log-file-validation.ts';
import { errorName, failed, partitionOf, passed, type DoctorCheckUnit } from './check.ts';

interface PolicyStatement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const CLOUDTRAIL = 'cloudtrail.amazonaws.com';
const SID = 'KeysentryOnlyCloudTrailWritesLogs';
const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const globMatches = (pattern: string, text: string): boolean =>
  new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(text);

/** Whether a statement's actions include writing an object (`s3:PutObject`, `s3:*`, `*`). */
const writesObjects = (statement: PolicyStatement): boolean =>
  statement.NotAction !== undefined || asList(statement.Action).some((action) => globMatches(action.toLowerCase(), 's3:putobject'));

/** Whether a statement's resources reach a log file key under `logs` (`arn:…:s3:::bucket/AWSLogs/`). */
const reachesLogs = (statement: PolicyStatement, logs: string): boolean =>
  asList(statement.Resource).some((resource) => globMatches(resource, `${logs}123456789012/CloudTrail/x`));

const onlyCloudTrail = (principal: unknown): boolean => {
  const services = asList((principal as { Service?: string | string[] } | undefined)?.Service);
  return typeof principal === 'object' && principal !== null && Object.keys(principal).length === 1 && services.length > 0 && services.every((s) => s === CLOUDTRAIL);
};

/** The deny statement that keeps every principal but CloudTrail from writing under AWSLogs/. */
function denyOthers(logs: string): PolicyStatement {
  return {
    Sid: SID,
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:PutObject',
    Resource: `${logs}*`,
    Condition: { StringNotEquals: { 'aws:PrincipalServiceName': CLOUDTRAIL } },
  };
}

const deniesOthers = (statement: PolicyStatement, logs: string): boolean =>
  statement.Effect === 'Deny' &&
  statement.Principal === '*' &&
  writesObjects(statement) &&
  asList(statement.Resource).some((resource) => resource === `${logs}*` || resource === `${logs.replace(/AWSLogs\/$/, '')}*`) &&
  statement.Condition?.StringNotEquals?.['aws:PrincipalServiceName'] === CLOUDTRAIL;

/**
 * Only CloudTrail writes under the trail bucket's `AWSLogs/`: the bucket policy denies
 * `s3:PutObject` there to every principal that is not CloudTrail (`aws:PrincipalServiceName`).
 * Without that deny, an Allow to someone else in the bucket policy — or an IAM policy of the
 * account, which the bucket policy cannot see — lets a user write a log file that names anyone.
 * A forged log file only pages while no digest vouches for it, but it should not be writable at all.
 */
export const trailBucketPolicyCheck: DoctorCheckUnit = {
  id: 'trail-bucket-policy',
  name: 'only CloudTrail can write log files in the trail bucket',
  async run({ cloudtrail, s3, config, region }) {
    const trail = await describeTrail(cloudtrail, config.trail);
    const bucket = trail?.S3BucketName;
    if (bucket === undefined) return failed(this, `there is no trail ${config.trail} in ${region} (see the trail check)`);
    if (s3 === undefined) return failed(this, 'no S3 client to read the bucket policy with');
    const prefix = trail?.S3KeyPrefix ? `${trail.S3KeyPrefix.replace(/\/$/, '')}/` : '';
    const logs = `arn:${partitionOf(trail?.TrailARN)}:s3:::${bucket}/${prefix}AWSLogs/`;
    let statements: PolicyStatement[] = [];
    let document: { Version?: string; Statement?: PolicyStatement[] } = { Version: '2012-10-17', Statement: [] };
    try {
      const { Policy } = await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }));
      document = JSON.parse(Policy ?? '{}') as typeof document;
      statements = asList(document.Statement);
    } catch (error) {
      if (errorName(error) !== 'NoSuchBucketPolicy') throw error;
    }
    const others = statements.filter(
      (statement) => statement.Effect === 'Allow' && writesObjects(statement) && reachesLogs(statement, logs) && !onlyCloudTrail(statement.Principal),
    );
    const named = others.map((statement) => statement.Sid ?? JSON.stringify(statement.Principal)).join(', ');
    if (statements.some((statement) => deniesOthers(statement, logs))) {
      const overridden = others.length > 0 ? ` (its deny overrides ${named})` : '';
      return passed(this, `bucket ${bucket} lets only ${CLOUDTRAIL} write under ${prefix}AWSLogs/${overridden}`);
    }
    // The other statements stay: the deny overrides what they allow under AWSLogs/ and nothing else.
    const fixed = { Version: document.Version ?? '2012-10-17', Statement: [...statements.filter((statement) => statement.Sid !== SID), denyOthers(logs)] };
    const found =
      others.length > 0
        ? `bucket ${bucket} lets ${named} write under ${prefix}AWSLogs/`
        : `bucket ${bucket} has no statement denying writes under ${prefix}AWSLogs/ to all but CloudTrail (an IAM policy of the account could grant them)`;
    return failed(this, `${found}: whoever may write there can put a forged log file`, [
      `aws s3api put-bucket-policy --bucket ${bucket} --policy ${shellQuote(JSON.stringify(fixed))}`,
    ]);
  },
};
