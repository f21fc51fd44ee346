import { eventTimeOf, textAt, type PeerAlert, type PeerTiming, type RawRecord } from './peer-alert.ts';

/**
 * Panther's S3 delete rules, as published in panther-labs/panther-analysis (commit
 * 200db1918c6489c70659ddec54eeafc73378986d):
 * - rules/aws_cloudtrail_rules/aws_s3_delete_object.{py,yml} — `AWS.S3.DeleteObject`: a successful
 *   `DeleteObject` (no `errorCode`/`errorMessage`, `aws_cloudtrail_success`), Threshold 50,
 *   DedupPeriodMinutes 60;
 * - rules/aws_cloudtrail_rules/aws_s3_delete_objects.{py,yml} — `AWS.S3.DeleteObjects`: a successful
 *   `DeleteObjects` or `DeleteObjectVersion`, Threshold 1, DedupPeriodMinutes 60.
 * Neither defines `dedup()`, so Panther groups by the title — the actor (`get_actor_user` in
 * global_helpers/panther_aws_helpers.py) and the bucket. Panther evaluates streaming: the alert
 * exists when the event that reaches the threshold within the group's dedup period arrives.
 */
export const PANTHER_DELETE_OBJECT = 'panther: AWS.S3.DeleteObject (≥ 50 / 60 min)';
export const PANTHER_DELETE_OBJECTS = 'panther: AWS.S3.DeleteObjects';

/** `get_actor_user` of panther_aws_helpers: the user name, or the issuing role's name for a session. */
export function pantherActorUser(record: RawRecord): string {
  const type = textAt(record, '', 'userIdentity', 'type');
  if (type === 'Root') return textAt(record, textAt(record, 'UnknownRootUser', 'userIdentity', 'accountId'), 'userIdentity', 'userName');
  if (['IAMUser', 'Directory', 'Unknown', 'SAMLUser', 'WebIdentityUser'].includes(type)) {
    return textAt(record, `Unknown${type}`, 'userIdentity', 'userName');
  }
  if (['AssumedRole', 'Role', 'FederatedUser'].includes(type)) {
    const actor = textAt(record, `Unknown${type}`, 'userIdentity', 'sessionContext', 'sessionIssuer', 'userName');
    return actor.startsWith('AWSReservedSSO_') ? textAt(record, `Unknown${type}`, 'userIdentity', 'principalId') : actor;
  }
  return `Unknown${type || 'None'}`;
}

const succeeded = (record: RawRecord): boolean => textAt(record, '', 'errorCode') === '' && textAt(record, '', 'errorMessage') === '';

interface ThresholdRule {
  name: string;
  threshold: number;
  dedupMs: number;
  matches: (record: RawRecord) => boolean;
}

function runThresholdRule(rule: ThresholdRule, records: readonly RawRecord[], delay: number): PeerAlert[] {
  const matched = records
    .filter((record) => textAt(record, '', 'eventSource') === 's3.amazonaws.com' && succeeded(record) && rule.matches(record))
    .map((record) => ({ record, at: eventTimeOf(record) + delay }))
    .filter((entry) => Number.isFinite(entry.at))
    .sort((a, b) => a.at - b.at);
  const groups = new Map<string, { opened: number; ids: string[]; alerted: boolean }>();
  const alerts: PeerAlert[] = [];
  for (const { record, at } of matched) {
    const title = `${pantherActorUser(record)} [${textAt(record, 'None', 'requestParameters', 'bucketName')}]`;
    let group = groups.get(title);
    if (group === undefined || at >= group.opened + rule.dedupMs) groups.set(title, (group = { opened: at, ids: [], alerted: false }));
    if (group.alerted) continue;
    group.ids.push(textAt(record, '', 'eventID'));
    if (group.ids.length >= rule.threshold) {
      group.alerted = true;
      alerts.push({ rule: rule.name, at, entity: title, eventIds: group.ids });
    }
  }
  return alerts;
}

export function pantherDeleteObject(records: readonly RawRecord[], options: PeerTiming = {}): PeerAlert[] {
  return runThresholdRule(
    { name: PANTHER_DELETE_OBJECT, threshold: 50, dedupMs: 3_600_000, matches: (r) => textAt(r, '', 'eventName') === 'DeleteObject' },
    records,
    options.ingestDelayMs ?? 0,
  );
}

export function pantherDeleteObjects(records: readonly RawRecord[], options: PeerTiming = {}): PeerAlert[] {
  return runThresholdRule(
    { name: PANTHER_DELETE_OBJECTS, threshold: 1, dedupMs: 3_600_000, matches: (r) => ['DeleteObjects', 'DeleteObjectVersion'].includes(textAt(r, '', 'eventName')) },
    records,
    options.ingestDelayMs ?? 0,
  );
}
