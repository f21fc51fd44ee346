import {
  CONTAINMENT_ACTIONS,
  denyPolicyName,
  describeAction,
  planContainment,
  policyDocumentOf,
  undoCommandsOf,
  type ContainmentRecord,
  type ContainmentTarget,
} from './containment.ts';
import type { Incident } from '../domain/incident.ts';
import { formatReason } from '../domain/reason-format.ts';
import { formatBytes, formatIsoTime } from '../domain/text-format.ts';

// The e-mail form of a page: the whole story of an incident, section by section, with the
// commands the on-call pastes.

/** What a page reports; the `action` message attribute, for subscription filter policies. */
export type PageKind =
  | 'contained'
  | 'containment-failed'
  | 'would-contain'
  | 'not-contained'
  | 'page'
  | 'active-after-containment'
  | 'acknowledged'
  | 'released';

/** How the on-call runs the CLI against this deployment: appended to every `keysentry incidents` command. */
export interface PageCommands {
  /** e.g. `--region eu-west-1 --table keysentry-prod` */
  cliOptions?: string;
}


/**
 * Activity this long after containment is activity the containment did not stop. IAM changes take
 * a few seconds to apply everywhere and CloudTrail times have one-second resolution, so calls
 * right after containment are not news.
 */
export const STILL_ACTIVE_GRACE_MS = 60_000;


function adviceFor(incident: Incident): string[] {
  const bucket = incident.evidence.buckets[0] ?? 'BUCKET';
  switch (incident.identityType) {
    case 'anonymous':
      return [
        'Anonymous callers reach the bucket through a public bucket policy or ACL; no key can be disabled.',
        `Block public access: aws s3api put-public-access-block --bucket ${bucket} --public-access-block-configuration ` +
          'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true',
        `Then review the bucket policy: aws s3api get-bucket-policy --bucket ${bucket}`,
      ];
    case 'cross-account':
      return [
        `Account ${incident.identity.accountId ?? '(unknown)'} reads through your bucket policy or an ACL; ` +
          'its keys are not yours to disable.',
        `Remove its grant: aws s3api get-bucket-policy --bucket ${bucket} (edit, then put-bucket-policy)`,
        'Tell the owner of that account that their credentials are in use.',
      ];
    case 'aws-service':
      return [
        `An AWS service (${incident.identity.invokedBy ?? incident.principal}) made the calls on someone's behalf.`,
        'Find the resource that drives it (replication rule, Athena workgroup, function) and who changed it.',
      ];
    case 'root':
      return [
        'The calls were made as the account root user; IAM cannot disable root credentials.',
        'Sign in as root, delete its access keys (Security credentials), enable MFA and change the password.',
      ];
    case 'federated':
      return [
        'A federated user: disable them in the identity provider; their session lasts until it expires.',
        'To cut it now, deny the sessions of the role they assumed (aws iam put-role-policy with aws:TokenIssueTime).',
      ];
    default:
      return ['Investigate the caller in CloudTrail; keysentry has no containment for this identity.'];
  }
}

/** The commands that would contain the actor, for a page that did not contain it (protected, dry run). */
function manualContainment(incident: Incident, record: ContainmentRecord | undefined): string[] {
  const targets: ContainmentTarget[] =
    record !== undefined && record.actions.length > 0
      ? record.actions.map((action) => action.target)
      : planContainment(incident, { guard: { protectedPrincipals: [], ownRoleArns: [], accounts: [] }, now: incident.decisionTime }).targets;
  return targets.map((target) => CONTAINMENT_ACTIONS[target.kind].manualCommand(target));
}

const count = (n: number): string => n.toLocaleString('en-US');

/** Who: the identity as CloudTrail named it. */
function whoSection(incident: Incident): string[] {
  const { identity } = incident;
  const lines = ['WHO', `  ${identity.type}: ${incident.principal}`];
  if (incident.accessKeyId ?? identity.accessKeyId) lines.push(`  access key: ${incident.accessKeyId ?? identity.accessKeyId}`);
  if (identity.userName) lines.push(`  IAM user: ${identity.userName}`);
  if (identity.roleName) lines.push(`  role: ${identity.roleName}${identity.sessionName ? `, session ${identity.sessionName}` : ''}`);
  if (identity.principalId) lines.push(`  principal id: ${identity.principalId}`);
  return [...lines, ''];
}

/** Why: the score, the decision and each reason. */
function whySection(incident: Incident): string[] {
  const blocked = incident.blockedBy ? `, not contained: ${incident.blockedBy}` : '';
  return [
    `WHY (score ${incident.score} of 100, decision: ${incident.action}${blocked})`,
    ...incident.reasons.map((reason) => `  ${formatReason(reason)}`),
    '',
  ];
}

/** What the actor did: the evidence. */
function evidenceSection(incident: Incident): string[] {
  const { evidence } = incident;
  return [
    'WHAT IT DID',
    `  ${count(evidence.gets)} reads (${count(evidence.distinctObjects)} distinct objects), ${count(evidence.deletes)} deletes, ` +
      `${count(evidence.lists)} lists, ${count(evidence.errors)} failed calls, ${formatBytes(evidence.bytesOut)} out`,
    `  buckets: ${evidence.buckets.join(', ') || '-'}`,
    `  sample objects: ${evidence.sampleObjects.join(', ') || '-'}`,
    `  source IPs: ${evidence.sourceIps.join(', ') || '-'}`,
    `  user agents: ${evidence.userAgents.join(' | ') || '-'}`,
    '',
  ];
}

/** What keysentry did: each containment action, or why there was none. */
function responseSection(incident: Incident, record: ContainmentRecord | undefined): string[] {
  const lines = ['WHAT KEYSENTRY DID'];
  if (record === undefined) {
    lines.push(incident.action === 'contain' ? '  containment pending' : '  paged only: below the contain threshold, or not to contain');
  } else if (record.blockedBy !== undefined) {
    lines.push(`  nothing: containment refused (${record.blockedBy})`);
  } else {
    for (const action of record.actions) lines.push(`  ${describeAction(action)}`);
  }
  return [...lines, ''];
}

/** After one role session was denied: how to cut every session of the role, should it come back. */
function comeBackSection(incident: Incident, record: ContainmentRecord | undefined): string[] {
  const session = record?.actions.find((action) => action.kind === 'deny-role-session' && action.ok && !action.dryRun);
  if (session === undefined) return [];
  // The cut-off must be the moment the command runs, not the containment: the shell fills it in.
  const document = policyDocumentOf({ ...session.target, kind: 'deny-role-sessions', issuedBefore: '%s' });
  return [
    'IF IT COMES BACK',
    `  Whoever started this session can assume ${session.target.roleName} again under another name (a new incident).`,
    '  To cut every session of the role issued until now (the application re-assumes it; check it recovers):',
    `  aws iam put-role-policy --role-name ${session.target.roleName} --policy-name ${denyPolicyName(incident.incidentId)} ` +
      `--policy-document "$(printf '${document}' "$(date -u +%Y-%m-%dT%H:%M:%SZ)")"`,
    '',
  ];
}

/** The timeline: events, decisions, containment and the on-call's steps, in time order. */
function timelineSection(incident: Incident, record: ContainmentRecord | undefined): string[] {
  const timeline: Array<[number, string]> = [
    [incident.firstEventTime, 'first event of the actor'],
    [incident.firstDecisionTime, `decision: ${incident.action} (score ${incident.score})`],
  ];
  if (incident.decisionTime !== incident.firstDecisionTime) timeline.push([incident.decisionTime, `escalated to ${incident.action}`]);
  if (record !== undefined) {
    const outcome = record.blockedBy ? 'containment refused' : record.ok ? 'contained' : 'containment failed';
    timeline.push([record.at, record.dryRun ? 'would have contained (dry run)' : outcome]);
  }
  if (incident.lastEventTime !== undefined) timeline.push([incident.lastEventTime, 'last event seen']);
  for (const entry of incident.history ?? []) {
    if (entry.by === 'keysentry') continue;
    timeline.push([entry.at, `${entry.status} by ${entry.by}${entry.note ? `: ${entry.note}` : ''}`]);
  }
  return ['TIMELINE (UTC)', ...timeline.sort((a, b) => a[0] - b[0]).map(([at, what]) => `  ${formatIsoTime(at)}  ${what}`), ''];
}

/** What the on-call must do by hand: the failed actions, or the containment keysentry did not do. */
function byHandSections(incident: Incident, kind: PageKind, record: ContainmentRecord | undefined): string[] {
  const lines: string[] = [];
  if (kind === 'active-after-containment') {
    lines.push(
      'STILL ACTIVE',
      `  The actor made calls until ${formatIsoTime(incident.lastEventTime ?? 0)}, ` +
        `more than ${STILL_ACTIVE_GRACE_MS / 1000} s after containment at ${formatIsoTime(record?.at ?? 0)}.`,
      '  Denied calls (errors) mean the containment holds; successful ones mean other credentials: check CloudTrail.',
      '',
    );
  }
  const failed = record?.actions.filter((action) => !action.ok) ?? [];
  if (failed.length > 0) {
    lines.push('DO THIS BY HAND NOW (containment failed)');
    for (const action of failed) lines.push(`  ${action.ok ? '' : action.manualCommand}`);
    lines.push('');
  }
  if (kind === 'not-contained' || kind === 'would-contain' || kind === 'page') {
    const block = record?.blockedBy ?? incident.blockedBy;
    if (block === 'not-containable') {
      lines.push('WHAT TO DO', ...adviceFor(incident).map((line) => `  ${line}`), '');
    } else {
      lines.push('TO CONTAIN BY HAND', ...manualContainment(incident, record).map((command) => `  ${command}`), '');
    }
  }
  return lines;
}

/** The CLI steps that follow, and the commands that undo the containment by hand. */
function nextStepsSection(incident: Incident, record: ContainmentRecord | undefined, commands: PageCommands | undefined): string[] {
  const cli = (verb: string, extra = ''): string =>
    `keysentry incidents ${verb} ${incident.incidentId}${extra}${commands?.cliOptions ? ` ${commands.cliOptions}` : ''}`;
  const lines = ['NEXT STEPS', `  ${cli('ack')}`, `  ${cli('show')}`];
  const undo = undoCommandsOf(record);
  if (undo.length > 0) lines.push(`  ${cli('release', ' --note "why"')}   (re-enables what was disabled)`);
  else lines.push(`  ${cli('release', ' --note "why"')}`);
  lines.push(`  ${cli('benign', ' --note "why"')}   (a false positive)`, '');
  if (undo.length > 0) lines.push('UNDO BY HAND (what release does)', ...undo.map((command) => `  ${command}`), '');
  return lines;
}

/**
 * The e-mail of a page: the SMS line, then who, why, what it did, what keysentry did, the
 * timeline, what to do by hand and the next steps.
 */
export function composeEmail(
  incident: Incident,
  kind: PageKind,
  record: ContainmentRecord | undefined,
  commands: PageCommands | undefined,
  sms: string,
): string {
  return [
    sms,
    '',
    ...whoSection(incident),
    ...whySection(incident),
    ...evidenceSection(incident),
    ...responseSection(incident, record),
    ...comeBackSection(incident, record),
    ...timelineSection(incident, record),
    ...byHandSections(incident, kind, record),
    ...nextStepsSection(incident, record, commands),
  ].join('\n');
}
