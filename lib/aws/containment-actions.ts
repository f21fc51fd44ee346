import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  type IAMClient,
  ListAccessKeysCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import type {
  ActionError,
  ActionFailure,
  ActionResult,
  ActionSuccess,
  ContainmentKind,
  ContainmentTarget,
} from '../domain/containment-record.ts';
import { shellQuote } from '../domain/shell-quote.ts';
import { isNoSuchEntity } from './iam-errors.ts';

// The four containment actions as data (Cloud Custodian's model): what each calls in IAM, the
// commands that do or undo it by hand, and the one skeleton their run and undo share.

/** How an action runs: for real or as a dry run, and the clock its results are stamped with. */
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

/** The name of the inline policy an incident adds, so that its release removes exactly that one. */
export const denyPolicyName = (incidentId: string): string => `keysentry-deny-${incidentId}`;

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
export function unchanged(kind: ContainmentKind, target: ContainmentTarget, detail: string, now: () => number): ActionSuccess {
  return { kind, target, ok: true, dryRun: false, changed: false, detail, at: now() };
}

/** A failed action: the error as data and the command that does it by hand. */
export function failure(kind: ContainmentKind, target: ContainmentTarget, error: unknown, command: string, now: () => number): ActionFailure {
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

/** The IAM user who owns an access key, as GetAccessKeyLastUsed names it. */
export async function lookUpUserName(iam: IAMClient, accessKeyId: string): Promise<string> {
  const { UserName } = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }));
  if (UserName === undefined) throw new Error(`IAM did not name the user of key ${accessKeyId}`);
  return UserName;
}

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
