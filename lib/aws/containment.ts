import {
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  ListAccessKeysCommand,
  NoSuchEntityException,
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

const isNoSuchEntity = (error: unknown): boolean =>
  error instanceof NoSuchEntityException || (error as { name?: string } | null)?.name === 'NoSuchEntity';

function toActionError(error: unknown): ActionError {
  if (error instanceof Error) return { code: error.name || 'Error', message: error.message };
  return { code: 'Error', message: String(error) };
}

/** Quotes a word for a POSIX shell when it needs it; IAM names never need it, policy documents do. */
const shellQuote = (text: string): string => (/^[\w+=,.@:/-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

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

/**
 * Runs one IAM step of an action: a `NoSuchEntity` becomes `gone` (the user, role, key or policy
 * does not exist, which for a disable or a delete is the goal), any other failure a failed result.
 */
async function attempt(
  action: ContainmentAction,
  target: ContainmentTarget,
  options: RunOptions,
  step: () => Promise<Omit<ActionSuccess, 'kind' | 'target' | 'ok' | 'dryRun' | 'at'>>,
  gone: string,
  command: string,
): Promise<ActionResult> {
  try {
    const done = await step();
    return { kind: action.kind, target, ok: true, dryRun: false, at: options.now(), ...done };
  } catch (error) {
    if (isNoSuchEntity(error)) return unchanged(action.kind, target, gone, options.now);
    return failure(action.kind, target, error, command, options.now);
  }
}

function dryRunResult(action: ContainmentAction, target: ContainmentTarget, options: RunOptions, verb: string): ActionSuccess {
  return { kind: action.kind, target, ok: true, dryRun: true, changed: false, detail: `would ${verb}`, at: options.now() };
}

function missing(action: ContainmentAction, target: ContainmentTarget, options: RunOptions, what: string, command: string): ActionFailure {
  return {
    kind: action.kind,
    target,
    ok: false,
    error: { code: 'MissingTarget', message: `${what} is unknown: the CloudTrail identity did not name it` },
    manualCommand: command,
    at: options.now(),
  };
}

/** IAM user long-term key: disabled (status Inactive), never deleted; release re-enables it. */
export const deactivateAccessKey: ContainmentAction = {
  kind: 'deactivate-access-key',
  permissions: ['iam:GetAccessKeyLastUsed', 'iam:ListAccessKeys', 'iam:UpdateAccessKey'],
  releasePermissions: ['iam:GetAccessKeyLastUsed', 'iam:UpdateAccessKey'],
  describe: (target) => `disable access key ${target.accessKeyId} of IAM user ${target.userName ?? '(looked up from the key)'}`,
  manualCommand: (target) =>
    `aws iam update-access-key --user-name ${userNameArgument(target)} --access-key-id ${target.accessKeyId} --status Inactive`,
  undoCommand: (target) =>
    `aws iam update-access-key --user-name ${userNameArgument(target)} --access-key-id ${target.accessKeyId} --status Active`,

  async run(iam, target, options) {
    if (options.dryRun) return dryRunResult(this, target, options, this.describe(target));
    const { accessKeyId, userName } = target;
    if (accessKeyId === undefined) return missing(this, target, options, 'the access key id', this.manualCommand(target));
    if (userName === undefined) return missing(this, target, options, 'the key\'s user name', this.manualCommand(target));
    return attempt(
      this,
      target,
      options,
      async () => {
        const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
        const key = AccessKeyMetadata?.find((entry) => entry.AccessKeyId === accessKeyId);
        if (key === undefined) return { changed: false, detail: `key ${accessKeyId} no longer exists on user ${userName}` };
        if (key.Status === 'Inactive') {
          return { changed: false, previousStatus: 'Inactive', detail: `key ${accessKeyId} was already inactive` };
        }
        await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: 'Inactive' }));
        return { changed: true, previousStatus: 'Active', detail: `disabled key ${accessKeyId} of user ${userName}` };
      },
      `key ${accessKeyId} or user ${userName} no longer exists`,
      this.manualCommand(target),
    );
  },

  async undo(iam, target, options) {
    if (options.dryRun) return dryRunResult(this, target, options, `re-enable key ${target.accessKeyId}`);
    const { accessKeyId } = target;
    if (accessKeyId === undefined) return missing(this, target, options, 'the access key id', this.undoCommand(target));
    return attempt(
      this,
      target,
      options,
      async () => {
        const userName = target.userName ?? (await lookUpUserName(iam, accessKeyId));
        await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: 'Active' }));
        return { changed: true, detail: `re-enabled key ${accessKeyId} of user ${userName}` };
      },
      `key ${accessKeyId} no longer exists`,
      this.undoCommand(target),
    );
  },
};

/**
 * IAM user sessions: an inline user policy that denies everything to credentials issued before
 * containment (`aws:TokenIssueTime`). Sessions minted with a stolen key through GetSessionToken
 * outlive the key's deactivation, and console sessions carry ASIA keys; requests signed with the
 * user's long-term keys carry no token issue time, so the user's other keys keep working.
 */
export const denyUserSessions: ContainmentAction = {
  kind: 'deny-user-sessions',
  permissions: ['iam:GetAccessKeyLastUsed', 'iam:PutUserPolicy'],
  releasePermissions: ['iam:DeleteUserPolicy'],
  describe: (target) => `deny the sessions IAM user ${target.userName ?? '(unknown)'} was issued before ${target.issuedBefore}`,
  manualCommand: (target) =>
    `aws iam put-user-policy --user-name ${userNameArgument(target)} --policy-name ${denyPolicyName(target.incidentId)} ` +
    `--policy-document ${shellQuote(policyDocumentOf(target))}`,
  undoCommand: (target) =>
    `aws iam delete-user-policy --user-name ${userNameArgument(target)} --policy-name ${denyPolicyName(target.incidentId)}`,

  async run(iam, target, options) {
    if (options.dryRun) return dryRunResult(this, target, options, this.describe(target));
    const { userName } = target;
    if (userName === undefined) return missing(this, target, options, 'the user name', this.manualCommand(target));
    return attempt(
      this,
      target,
      options,
      async () => {
        // PutUserPolicy replaces a policy of the same name: running twice leaves one policy.
        const PolicyName = denyPolicyName(target.incidentId);
        await iam.send(new PutUserPolicyCommand({ UserName: userName, PolicyName, PolicyDocument: policyDocumentOf(target) }));
        return { changed: true, detail: `denied sessions of user ${userName} issued before ${target.issuedBefore}` };
      },
      `user ${userName} no longer exists`,
      this.manualCommand(target),
    );
  },

  async undo(iam, target, options) {
    if (options.dryRun) return dryRunResult(this, target, options, `remove ${denyPolicyName(target.incidentId)}`);
    const { userName } = target;
    if (userName === undefined) return missing(this, target, options, 'the user name', this.undoCommand(target));
    return attempt(
      this,
      target,
      options,
      async () => {
        await iam.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: denyPolicyName(target.incidentId) }));
        return { changed: true, detail: `removed policy ${denyPolicyName(target.incidentId)} from user ${userName}` };
      },
      `policy ${denyPolicyName(target.incidentId)} is already gone from user ${userName}`,
      this.undoCommand(target),
    );
  },
};

function roleAction(kind: 'deny-role-session' | 'deny-role-sessions', describe: (target: ContainmentTarget) => string): ContainmentAction {
  return {
    kind,
    permissions: ['iam:PutRolePolicy'],
    releasePermissions: ['iam:DeleteRolePolicy'],
    describe,
    manualCommand: (target) =>
      `aws iam put-role-policy --role-name ${shellQuote(target.roleName ?? 'ROLE')} --policy-name ${denyPolicyName(target.incidentId)} ` +
      `--policy-document ${shellQuote(policyDocumentOf(target))}`,
    undoCommand: (target) =>
      `aws iam delete-role-policy --role-name ${shellQuote(target.roleName ?? 'ROLE')} --policy-name ${denyPolicyName(target.incidentId)}`,

    async run(iam, target, options) {
      if (options.dryRun) return dryRunResult(this, target, options, this.describe(target));
      const { roleName } = target;
      if (roleName === undefined) return missing(this, target, options, 'the role name', this.manualCommand(target));
      if (kind === 'deny-role-session' && target.sessionUserId === undefined) {
        return missing(this, target, options, 'the session name', this.manualCommand(target));
      }
      return attempt(
        this,
        target,
        options,
        async () => {
          const PolicyName = denyPolicyName(target.incidentId);
          await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName, PolicyDocument: policyDocumentOf(target) }));
          return { changed: true, detail: describe(target).replace(/^deny/, 'denied') };
        },
        `role ${roleName} no longer exists`,
        this.manualCommand(target),
      );
    },

    async undo(iam, target, options) {
      if (options.dryRun) return dryRunResult(this, target, options, `remove ${denyPolicyName(target.incidentId)}`);
      const { roleName } = target;
      if (roleName === undefined) return missing(this, target, options, 'the role name', this.undoCommand(target));
      return attempt(
        this,
        target,
        options,
        async () => {
          await iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: denyPolicyName(target.incidentId) }));
          return { changed: true, detail: `removed policy ${denyPolicyName(target.incidentId)} from role ${roleName}` };
        },
        `policy ${denyPolicyName(target.incidentId)} is already gone from role ${roleName}`,
        this.undoCommand(target),
      );
    },
  };
}

/** One role session: an inline role policy denying everything to that session's `aws:userid`. */
export const denyRoleSession = roleAction(
  'deny-role-session',
  (target) => `deny session ${target.sessionUserId} of role ${target.roleName}`,
);

/** Every session of a role issued before containment (`revokeAllRoleSessions`): what the console's "revoke sessions" does. */
export const denyRoleSessions = roleAction(
  'deny-role-sessions',
  (target) => `deny every session of role ${target.roleName} issued before ${target.issuedBefore}`,
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
const issueCutoff = (now: number): string => new Date(Math.ceil(now / 1000) * 1000).toISOString().replace('.000Z', 'Z');

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
