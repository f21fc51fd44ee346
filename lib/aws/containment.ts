import { IAMClient } from '@aws-sdk/client-iam';
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
import { formatIsoTime } from '../domain/text-format.ts';
import { CONTAINMENT_ACTIONS, failure, lookUpUserName, unchanged, type RunOptions } from './containment-actions.ts';
import { isNoSuchEntity } from './iam-errors.ts';

export type { ContainmentKind, ContainmentTarget, ActionError, ActionSuccess, ActionFailure, ActionResult, ContainmentRecord };
// The actions are their own module; what callers of containment use of them is named here too.
export {
  CONTAINMENT_ACTIONS,
  CONTAINMENT_PERMISSIONS,
  deactivateAccessKey,
  denyPolicyName,
  denyRoleSession,
  denyRoleSessions,
  denyUserSessions,
  policyDocumentOf,
  RELEASE_PERMISSIONS,
  type ContainmentAction,
  type RunOptions,
} from './containment-actions.ts';

/**
 * Who is never contained, whatever the score: the detector's policy (protected principal ARNs and
 * key ids, the stack's own role ARNs, the deployment's accounts), checked again before acting.
 */
export type ContainmentGuard = Readonly<Pick<Policy, 'protectedPrincipals' | 'ownRoleArns' | 'accounts'>>;

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
