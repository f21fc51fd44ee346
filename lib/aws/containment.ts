import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import type { Identity } from '../domain/access-event.ts';
import type { Incident } from '../domain/incident.ts';
import { checkExempt, principalArnOf, type ContainmentBlock, type Policy } from '../domain/policy.ts';
import type {
  ContainmentKind,
  ContainmentTarget,
  ActionError,
  ActionSuccess,
  ActionFailure,
  ActionResult,
  ContainmentRecord,
} from '../domain/containment-record.ts';
import { shellQuote } from '../domain/shell-quote.ts';
import { formatIsoTime } from '../domain/text-format.ts';
import { isNoSuchEntity } from './iam-errors.ts';

export type { ContainmentKind, ContainmentTarget, ActionError, ActionSuccess, ActionFailure, ActionResult, ContainmentRecord };

export interface RunOptions {
  /** Call nothing in IAM; describe what would be done. */
  dryRun: boolean;
  now: () => number;
}

/**
 * One remediation action as data (Cloud Custodian's model): the exact IAM actions `run` and
 * `undo` call, so that a test can hold the deployment to them, and the commands that do or undo
 * it by hand. `run` and `undo` are safe to repeat, and return failures instead of throwing.
 */
export interface ContainmentAction {
  kind: ContainmentKind;
  /** IAM actions `run` calls: what the contain function is granted. */
  permissions: readonly string[];
  /** IAM actions `undo` calls: what the on-call needs to release. */
  releasePermissions: readonly string[];
  describe(target: ContainmentTarget): string;
  manualCommand(target: ContainmentTarget): string;
  undoCommand(target: ContainmentTarget): string;
  run(iam: IAMClient, target: ContainmentTarget, options: RunOptions): Promise<ActionResult>;
  undo(iam: IAMClient, target: ContainmentTarget, options: RunOptions): Promise<ActionResult>;
}

/**
 * Who is never contained, whatever the score: the detector's policy (protected principal ARNs and
 * key ids, the stack's own role ARNs, the deployment's accounts), checked again before acting.
 */
export type ContainmentGuard = Readonly<Pick<Policy, 'protectedPrincipals' | 'ownRoleArns' | 'accounts'>>;

/** The name of the inline policy an incident adds, so that its release removes exactly that one. */
export const denyPolicyName = (incidentId: string): string => `keysentry-deny-${incidentId}`;

/**
 * The IAM client the responder and the release use: the SDK's standard retry mode with
 * `maxAttempts` (default 5), whose backoff retries throttling and 5xx errors. IAM is global; the
 * region only picks the partition's endpoint.
 */
export function createIamClient(options: { endpoint?: string; region?: string; maxAttempts?: number } = {}): IAMClient {
  return new IAMClient({
    retryMode: 'standard',
    maxAttempts: options.maxAttempts ?? 5,
    region: options.region ?? 'us-east-1',
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
  });
}


function toActionError(error: unknown): ActionError {
  if (error instanceof Error) return { code: error.name || 'Error', message: error.message };
  return { code: 'Error', message: String(error) };
}


const userNameArgument = (target: ContainmentTarget): string =>
  target.userName !== undefined
    ? shellQuote(target.userName)
    : `"$(aws iam get-access-key-last-used --access-key-id ${shellQuote(target.accessKeyId ?? 'KEY')} --query UserName --output text)"`;

/** A deny-everything policy document with one condition; what every deny action writes. */
function denyDocument(sid: string, condition: Record<string, Record<string, string>>): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: sid, Effect: 'Deny', Action: '*', Resource: '*', Condition: condition }],
  });
}

/** The policy document a deny action puts, from its target. */
export function policyDocumentOf(target: ContainmentTarget): string {
  if (target.kind === 'deny-role-session') {
    return denyDocument('KeysentryDenySession', { StringLike: { 'aws:userid': target.sessionUserId ?? '' } });
  }
  return denyDocument('KeysentryDenySessionsIssuedBefore', { DateLessThan: { 'aws:TokenIssueTime': target.issuedBefore ?? '' } });
}

/** A success that changed nothing: the work was already done, or the entity is gone. */
function unchanged(kind: ContainmentKind, target: ContainmentTarget, detail: string, now: () => number): ActionSuccess {
  return { kind, target, ok: true, dryRun: false, changed: false, detail, at: now() };
}

function failure(kind: ContainmentKind, target: ContainmentTarget, error: unknown, command: string, now: () => number): ActionFailure {
  return { kind, target, ok: false, error: toActionError(error), manualCommand: command, at: now() };
}

/** What one IAM step reports when it succeeds; the skeleton adds kind, target and time. */
type StepOutcome = Omit<ActionSuccess, 'kind' | 'target' | 'ok' | 'dryRun' | 'at'>;

/** One direction (`run` or `undo`) of an action, as data: what it needs, what it does, what gone means. */
interface ActionStep {
  /** The first thing the target must name and does not (`'the role name'`), or undefined. */
  lacks(target: ContainmentTarget): string | undefined;
  /** What a dry run says it would do. */
  wouldDo(target: ContainmentTarget): string;
  /** Calls IAM; a `NoSuchEntity` it throws becomes {@link ActionStep.gone}. */
  call(iam: IAMClient, target: ContainmentTarget): Promise<StepOutcome>;
  /** The detail when IAM says the entity does not exist, which for a disable or a delete is the goal. */
  gone(target: ContainmentTarget): string;
}

/** An action's description and its two steps: what {@link defineAction} turns into a ContainmentAction. */
interface ActionDefinition extends Omit<ContainmentAction, 'run' | 'undo'> {
  run: ActionStep;
  undo: ActionStep;
}

/**
 * The one skeleton of every run and undo: a dry run describes; a target that lacks a name fails
 * with the manual command; otherwise the IAM step runs, a `NoSuchEntity` is an unchanged success
 * and any other failure a failed result carrying the command that does it by hand.
 */
async function perform(
  kind: ContainmentKind,
  step: ActionStep,
  command: string,
  iam: IAMClient,
  target: ContainmentTarget,
  options: RunOptions,
): Promise<ActionResult> {
  const now = options.now;
  if (options.dryRun) return { kind, target, ok: true, dryRun: true, changed: false, detail: `would ${step.wouldDo(target)}`, at: now() };
  const lacking = step.lacks(target);
  if (lacking !== undefined) {
    const error = { code: 'MissingTarget', message: `${lacking} is unknown: the CloudTrail identity did not name it` };
    return { kind, target, ok: false, error, manualCommand: command, at: now() };
  }
  try {
    const done = await step.call(iam, target);
    return { kind, target, ok: true, dryRun: false, at: now(), ...done };
  } catch (error) {
    if (isNoSuchEntity(error)) return unchanged(kind, target, step.gone(target), now);
    return failure(kind, target, error, command, now);
  }
}

function defineAction(definition: ActionDefinition): ContainmentAction {
  const { run, undo, ...described } = definition;
  return {
    ...described,
    run: (iam, target, options) => perform(definition.kind, run, definition.manualCommand(target), iam, target, options),
    undo: (iam, target, options) => perform(definition.kind, undo, definition.undoCommand(target), iam, target, options),
  };
}

const lacksAccessKeyId = (target: ContainmentTarget): string | undefined => (target.accessKeyId === undefined ? 'the access key id' : undefined);
const lacksUserName = (target: ContainmentTarget): string | undefined => (target.userName === undefined ? 'the user name' : undefined);
const lacksRoleName = (target: ContainmentTarget): string | undefined => (target.roleName === undefined ? 'the role name' : undefined);

/** IAM user long-term key: disabled (status Inactive), never deleted; release re-enables it. */
export const deactivateAccessKey: ContainmentAction = defineAction({
  kind: 'deactivate-access-key',
  permissions: ['iam:GetAccessKeyLastUsed', 'iam:ListAccessKeys', 'iam:UpdateAccessKey'],
  releasePermissions: ['iam:GetAccessKeyLastUsed', 'iam:UpdateAccessKey'],
  describe: (target) => `disable access key ${target.accessKeyId} of IAM user ${target.userName ?? '(looked up from the key)'}`,
  manualCommand: (target) =>
    `aws iam update-access-key --user-name ${userNameArgument(target)} --access-key-id ${target.accessKeyId} --status Inactive`,
  undoCommand: (target) =>
    `aws iam update-access-key --user-name ${userNameArgument(target)} --access-key-id ${target.accessKeyId} --status Active`,
  run: {
    lacks: (target) => lacksAccessKeyId(target) ?? (target.userName === undefined ? 'the key\'s user name' : undefined),
    wouldDo: (target) => deactivateAccessKey.describe(target),
    async call(iam, { accessKeyId, userName }) {
      const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
      const key = AccessKeyMetadata?.find((entry) => entry.AccessKeyId === accessKeyId);
      if (key === undefined) return { changed: false, detail: `key ${accessKeyId} no longer exists on user ${userName}` };
      if (key.Status === 'Inactive') return { changed: false, previousStatus: 'Inactive', detail: `key ${accessKeyId} was already inactive` };
      await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: 'Inactive' }));
      return { changed: true, previousStatus: 'Active', detail: `disabled key ${accessKeyId} of user ${userName}` };
    },
    gone: (target) => `key ${target.accessKeyId} or user ${target.userName} no longer exists`,
  },
  undo: {
    lacks: lacksAccessKeyId,
    wouldDo: (target) => `re-enable key ${target.accessKeyId}`,
    async call(iam, target) {
      const accessKeyId = target.accessKeyId as string;
      const userName = target.userName ?? (await lookUpUserName(iam, accessKeyId));
      await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: 'Active' }));
      return { changed: true, detail: `re-enabled key ${accessKeyId} of user ${userName}` };
    },
    gone: (target) => `key ${target.accessKeyId} no longer exists`,
  },
});

/** The undo of both inline-policy actions of a kind of entity: delete the incident's deny policy. */
function removeDenyPolicy(entity: 'user' | 'role', nameOf: (target: ContainmentTarget) => string | undefined, lacks: ActionStep['lacks']): ActionStep {
  return {
    lacks,
    wouldDo: (target) => `remove ${denyPolicyName(target.incidentId)}`,
    async call(iam, target) {
      const PolicyName = denyPolicyName(target.incidentId);
      const name = nameOf(target) as string;
      if (entity === 'user') await iam.send(new DeleteUserPolicyCommand({ UserName: name, PolicyName }));
      else await iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName }));
      return { changed: true, detail: `removed policy ${PolicyName} from ${entity} ${name}` };
    },
    gone: (target) => `policy ${denyPolicyName(target.incidentId)} is already gone from ${entity} ${nameOf(target)}`,
  };
}

/**
 * IAM user sessions: an inline user policy that denies everything to credentials issued before
 * containment (`aws:TokenIssueTime`). Sessions minted with a stolen key through GetSessionToken
 * outlive the key's deactivation, and console sessions carry ASIA keys; requests signed with the
 * user's long-term keys carry no token issue time, so the user's other keys keep working.
 */
export const denyUserSessions: ContainmentAction = defineAction({
  kind: 'deny-user-sessions',
  permissions: ['iam:GetAccessKeyLastUsed', 'iam:PutUserPolicy'],
  releasePermissions: ['iam:DeleteUserPolicy'],
  describe: (target) => `deny the sessions IAM user ${target.userName ?? '(unknown)'} was issued before ${target.issuedBefore}`,
  manualCommand: (target) =>
    `aws iam put-user-policy --user-name ${userNameArgument(target)} --policy-name ${denyPolicyName(target.incidentId)} ` +
    `--policy-document ${shellQuote(policyDocumentOf(target))}`,
  undoCommand: (target) =>
    `aws iam delete-user-policy --user-name ${userNameArgument(target)} --policy-name ${denyPolicyName(target.incidentId)}`,
  run: {
    lacks: lacksUserName,
    wouldDo: (target) => denyUserSessions.describe(target),
    async call(iam, target) {
      // PutUserPolicy replaces a policy of the same name: running twice leaves one policy.
      const PolicyName = denyPolicyName(target.incidentId);
      await iam.send(new PutUserPolicyCommand({ UserName: target.userName, PolicyName, PolicyDocument: policyDocumentOf(target) }));
      return { changed: true, detail: `denied sessions of user ${target.userName} issued before ${target.issuedBefore}` };
    },
    gone: (target) => `user ${target.userName} no longer exists`,
  },
  undo: removeDenyPolicy('user', (target) => target.userName, lacksUserName),
});

/**
 * A role action denies the sessions `subject` names: described as `deny <subject>`, done as
 * `denied <subject>`, one phrase for both rather than a description rewritten into a detail.
 */
function roleAction(kind: 'deny-role-session' | 'deny-role-sessions', subject: (target: ContainmentTarget) => string): ContainmentAction {
  const describe = (target: ContainmentTarget): string => `deny ${subject(target)}`;
  return defineAction({
    kind,
    permissions: ['iam:PutRolePolicy'],
    releasePermissions: ['iam:DeleteRolePolicy'],
    describe,
    manualCommand: (target) =>
      `aws iam put-role-policy --role-name ${shellQuote(target.roleName ?? 'ROLE')} --policy-name ${denyPolicyName(target.incidentId)} ` +
      `--policy-document ${shellQuote(policyDocumentOf(target))}`,
    undoCommand: (target) =>
      `aws iam delete-role-policy --role-name ${shellQuote(target.roleName ?? 'ROLE')} --policy-name ${denyPolicyName(target.incidentId)}`,
    run: {
      lacks: (target) =>
        lacksRoleName(target) ?? (kind === 'deny-role-session' && target.sessionUserId === undefined ? 'the session name' : undefined),
      wouldDo: describe,
      async call(iam, target) {
        const PolicyName = denyPolicyName(target.incidentId);
        await iam.send(new PutRolePolicyCommand({ RoleName: target.roleName, PolicyName, PolicyDocument: policyDocumentOf(target) }));
        return { changed: true, detail: `denied ${subject(target)}` };
      },
      gone: (target) => `role ${target.roleName} no longer exists`,
    },
    undo: removeDenyPolicy('role', (target) => target.roleName, lacksRoleName),
  });
}

/** One role session: an inline role policy denying everything to that session's `aws:userid`. */
export const denyRoleSession = roleAction('deny-role-session', (target) => `session ${target.sessionUserId} of role ${target.roleName}`);

/** Every session of a role issued before containment (`revokeAllRoleSessions`): what the console's "revoke sessions" does. */
export const denyRoleSessions = roleAction(
  'deny-role-sessions',
  (target) => `every session of role ${target.roleName} issued before ${target.issuedBefore}`,
);

/** Every containment action by kind: what a stored record's `kind` runs or undoes. */
export const CONTAINMENT_ACTIONS: Readonly<Record<ContainmentKind, ContainmentAction>> = {
  'deactivate-access-key': deactivateAccessKey,
  'deny-user-sessions': denyUserSessions,
  'deny-role-session': denyRoleSession,
  'deny-role-sessions': denyRoleSessions,
};

const union = (lists: Iterable<readonly string[]>): string[] => [...new Set([...lists].flat())].sort();

/** Every IAM action containment calls: exactly what serverless.yml grants the contain function. */
export const CONTAINMENT_PERMISSIONS: readonly string[] = union(Object.values(CONTAINMENT_ACTIONS).map((action) => action.permissions));

/** Every IAM action a release calls: what the on-call's role needs for `keysentry incidents release`. */
export const RELEASE_PERMISSIONS: readonly string[] = union(Object.values(CONTAINMENT_ACTIONS).map((action) => action.releasePermissions));

/** Service-linked roles belong to AWS services; IAM refuses to change them anyway. */
const isServiceLinkedRole = (identity: Identity): boolean =>
  identity.roleArn?.includes(':role/aws-service-role/') === true || identity.roleName?.startsWith('AWSServiceRoleFor') === true;

/**
 * Why the responder must not contain this identity, if it must not: the detector's own roles (by
 * role ARN), a protected principal (by principal ARN or key id), a caller of another account or
 * one whose record does not prove its account, or a caller no IAM change can stop (anonymous, an
 * AWS service or a service-linked role, root, web or SAML federation). The detector's policy
 * decided this already; the responder checks again because it holds the IAM write permissions.
 */
export function checkContainable(identity: Identity, guard: ContainmentGuard): ContainmentBlock | undefined {
  return checkExempt(identity, guard) ?? (isServiceLinkedRole(identity) ? 'not-containable' : undefined);
}

/**
 * The IAM names containment acts on, taken from the principal ARN (AWS's, with the account the
 * guard checked) rather than from the record's loose name fields: the user name is the ARN's last
 * part, the role name likewise.
 */
function entityNameOf(identity: Identity): string | undefined {
  const arn = principalArnOf(identity);
  return arn?.split('/').pop() ?? (identity.type === 'assumed-role' ? identity.roleName : identity.userName);
}

/** Whole seconds, rounded up: a session issued in the second of containment is denied too. */
const issueCutoff = (now: number): string => formatIsoTime(Math.ceil(now / 1000) * 1000);

export interface PlanOptions {
  guard: ContainmentGuard;
  /** For a role session, deny every session of the role issued before now instead of that one session. */
  revokeAllRoleSessions?: boolean;
  now: number;
}

/** The targets that contain an incident's actor, or why it cannot be contained. */
export type ContainmentPlan = { targets: ContainmentTarget[]; blockedBy?: undefined } | { targets: []; blockedBy: ContainmentBlock };

/**
 * Plans the containment of an incident's actor. IAM user long-term key (AKIA): disable the key
 * and deny the user's sessions issued before now. IAM user temporary credentials (ASIA from the
 * console, GetSessionToken or GetFederationToken): deny the user's sessions issued before now.
 * The user and role names come from the principal ARN. Role session: deny
 * that session (`aws:userid` = `<roleId>:<sessionName>`, the role id from the `AROA…` part of the
 * principal id), or every session of the role issued before now with `revokeAllRoleSessions`.
 */
export function planContainment(incident: Incident, options: PlanOptions): ContainmentPlan {
  const { identity, incidentId } = incident;
  const blockedBy = checkContainable(identity, options.guard);
  if (blockedBy !== undefined) return { targets: [], blockedBy };
  const issuedBefore = issueCutoff(options.now);
  const accessKeyId = identity.accessKeyId ?? incident.accessKeyId;
  const name = entityNameOf(identity);

  if (identity.type === 'iam-user-key') {
    if (accessKeyId === undefined || !accessKeyId.startsWith('AKIA')) return { targets: [], blockedBy: 'not-containable' };
    return {
      targets: [
        { kind: 'deactivate-access-key', incidentId, accessKeyId, userName: name },
        { kind: 'deny-user-sessions', incidentId, accessKeyId, userName: name, issuedBefore },
      ],
    };
  }
  if (identity.type === 'iam-user-temporary') {
    // GetSessionToken, console and GetFederationToken sessions: the user's deny on aws:TokenIssueTime.
    return { targets: [{ kind: 'deny-user-sessions', incidentId, accessKeyId, userName: name, issuedBefore }] };
  }
  const roleName = name;
  if (options.revokeAllRoleSessions) {
    return { targets: [{ kind: 'deny-role-sessions', incidentId, accessKeyId, roleName, issuedBefore }] };
  }
  const roleId = identity.principalId?.split(':')[0];
  const sessionUserId =
    identity.sessionName === undefined ? undefined : `${roleId?.startsWith('AROA') ? roleId : '*'}:${identity.sessionName}`;
  return { targets: [{ kind: 'deny-role-session', incidentId, accessKeyId, roleName, sessionUserId }] };
}

async function lookUpUserName(iam: IAMClient, accessKeyId: string): Promise<string> {
  const { UserName } = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }));
  if (UserName === undefined) throw new Error(`IAM did not name the user of key ${accessKeyId}`);
  return UserName;
}

/**
 * Fills in the user name of an AKIA key's targets when the CloudTrail identity did not carry it
 * (GetAccessKeyLastUsed names the key's owner). A failed lookup leaves them without one: their
 * actions then fail as data, with the manual command.
 */
async function resolveUserNames(
  iam: IAMClient,
  targets: ContainmentTarget[],
  lookupErrors: Map<string, unknown>,
): Promise<ContainmentTarget[]> {
  const needing = targets.filter((target) => target.userName === undefined && target.accessKeyId?.startsWith('AKIA'));
  if (needing.length === 0) return targets;
  const accessKeyId = needing[0]?.accessKeyId as string;
  try {
    const userName = await lookUpUserName(iam, accessKeyId);
    return targets.map((target) => (needing.includes(target) ? { ...target, userName } : target));
  } catch (error) {
    lookupErrors.set(accessKeyId, error);
    return targets;
  }
}

/**
 * Runs a plan's actions at once (they are independent) and records what each did. Nothing here
 * throws for an IAM failure: the record says which action failed, why, and the command that does
 * it by hand; `ok` is true only when every action succeeded. In dry run nothing is sent to IAM.
 */
export async function runContainment(iam: IAMClient, plan: ContainmentPlan, options: RunOptions): Promise<ContainmentRecord> {
  const at = options.now();
  if (plan.blockedBy !== undefined) return { at, ok: false, dryRun: options.dryRun, blockedBy: plan.blockedBy, actions: [] };
  const lookupErrors = new Map<string, unknown>();
  const targets = options.dryRun ? plan.targets : await resolveUserNames(iam, plan.targets, lookupErrors);
  const actions = await Promise.all(
    targets.map(async (target): Promise<ActionResult> => {
      const action = CONTAINMENT_ACTIONS[target.kind];
      const lookupError = target.accessKeyId === undefined ? undefined : lookupErrors.get(target.accessKeyId);
      if (lookupError !== undefined && target.userName === undefined) {
        if (isNoSuchEntity(lookupError)) return unchanged(target.kind, target, `key ${target.accessKeyId} no longer exists`, options.now);
        return failure(target.kind, target, lookupError, action.manualCommand(target), options.now);
      }
      return action.run(iam, target, options);
    }),
  );
  return { at, ok: actions.every((result) => result.ok), dryRun: options.dryRun, actions };
}

/**
 * Undoes a containment record (the release): re-enables the key unless it was already inactive
 * before, removes the incident's deny policy. Safe to repeat: a policy already gone is success.
 * A dry-run or blocked record has nothing to undo.
 */
export async function undoContainment(iam: IAMClient, record: ContainmentRecord, options: { now: () => number }): Promise<ActionResult[]> {
  if (record.dryRun || record.blockedBy !== undefined) return [];
  return Promise.all(
    record.actions.map(async (result): Promise<ActionResult> => {
      const action = CONTAINMENT_ACTIONS[result.kind];
      if (result.ok && result.previousStatus === 'Inactive') {
        const detail = `key ${result.target.accessKeyId} was inactive before containment; left inactive`;
        return unchanged(result.kind, result.target, detail, options.now);
      }
      return action.undo(iam, result.target, { dryRun: false, now: options.now });
    }),
  );
}

/** The commands that undo a record by hand, for the page and `keysentry incidents show`. */
export function undoCommandsOf(record: ContainmentRecord | undefined): string[] {
  if (record === undefined || record.dryRun || record.blockedBy !== undefined) return [];
  return record.actions
    .filter((result) => !(result.ok && result.previousStatus === 'Inactive'))
    .map((result) => CONTAINMENT_ACTIONS[result.kind].undoCommand(result.target));
}

/** One line per action, as the page and the CLI print it. */
export function describeAction(result: ActionResult): string {
  if (!result.ok) {
    return `FAILED ${CONTAINMENT_ACTIONS[result.kind].describe(result.target)}: ${result.error.code}: ${result.error.message}`;
  }
  return result.dryRun ? `dry run: ${result.detail}` : `ok: ${result.detail}`;
}
