import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { KeysentryError } from '../../domain/errors.ts';

/**
 * One line of the checklist: what was checked, whether it holds, what was found, and the commands
 * that fix a failure, each one a whole command to paste (in order), never prose.
 */
export interface DoctorCheck {
  /** Stable identifier of the check (`trail-logging`, `queue-policy`…). */
  id: string;
  name: string;
  ok: boolean;
  detail: string;
  fix?: string[];
}

/** What a deployment of keysentry consists of, by name: what the doctor looks at. */
export interface DoctorConfig {
  /** The trail that records the S3 data events (name or ARN). */
  trail: string;
  /** The EventBridge rule that sends them to the intake queue. */
  rule: string;
  /** The rule's event bus; `default` unless given. */
  eventBusName?: string;
  queueUrl: string;
  /** The pages topic. */
  topicArn: string;
  /** The contain function's role (name or ARN); or `containFunction`, whose role is looked up. */
  containRole?: string;
  containFunction?: string;
  /** The score function, which the intake queue must trigger. */
  scoreFunction?: string;
  protectedBuckets: readonly string[];
  /** IAM actions the contain role must hold; `CONTAINMENT_PERMISSIONS` unless given. */
  requiredPermissions?: readonly string[];
}

/** The clients the checks call, with the on-call's credentials: read-only calls only. */
export interface DoctorClients {
  cloudtrail: CloudTrailClient;
  events: EventBridgeClient;
  sqs: SQSClient;
  sns: SNSClient;
  iam: IAMClient;
  /** Needed to find the contain role from `containFunction` and the score function's trigger. */
  lambda?: LambdaClient;
  /** Reads the trail bucket's policy (who may write log files there). */
  s3?: S3Client;
}

/** The intake queue's attributes the checks read. */
export interface QueueFacts {
  url: string;
  arn: string;
  redrivePolicy?: string;
  policy?: string;
}

/** The intake rule as EventBridge describes it. */
export interface RuleFacts {
  name: string;
  arn?: string;
  state?: string;
  eventPattern?: string;
}

/**
 * What every check is handed: the clients, the deployment's names, the region, and lookups that
 * several checks share (each made once per run; `undefined` when the resource does not exist).
 */
export interface DoctorContext extends DoctorClients {
  config: DoctorConfig;
  region: string;
  queue(): Promise<QueueFacts | undefined>;
  rule(): Promise<RuleFacts | undefined>;
  /** The deployment's account (from the intake queue's ARN), or `*` when it cannot be known. */
  account(): Promise<string>;
}

/** One named check of the doctor: a small unit that reads the account and says what it found. */
export interface DoctorCheckUnit {
  id: string;
  name: string;
  run(context: DoctorContext): Promise<DoctorCheck>;
}

/** The on-call's credentials could not be found: no check can run. */
export class MissingCredentialsError extends KeysentryError {}

export const errorName = (error: unknown): string | undefined => (error as { name?: string } | null)?.name;

/** The last segment of an ARN path (`arn:aws:iam::1:role/path/name` → `name`), or the text itself. */
export const nameOf = (nameOrArn: string): string => nameOrArn.split('/').pop() ?? nameOrArn;
export const partitionOf = (arn: string | undefined): string => arn?.split(':')[1] || 'aws';
export const regionOf = (arn: string): string | undefined => (arn.startsWith('arn:') ? arn.split(':')[3] || undefined : undefined);
export const accountOf = (arn: string | undefined): string | undefined => (arn?.startsWith('arn:') ? arn.split(':')[4] || undefined : undefined);

/** A passed check. */
export const passed = (unit: DoctorCheckUnit, detail: string): DoctorCheck => ({ id: unit.id, name: unit.name, ok: true, detail });

/** A failed check with the commands that fix it (none when the failure is reported by another check). */
export const failed = (unit: DoctorCheckUnit, detail: string, fix?: string[]): DoctorCheck => ({
  id: unit.id,
  name: unit.name,
  ok: false,
  detail,
  ...(fix === undefined || fix.length === 0 ? {} : { fix }),
});
