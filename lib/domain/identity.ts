import type { Identity, IdentityType } from './access-event.ts';

/** The fields of CloudTrail's `userIdentity` that keysentry reads; every lookup has a default. */
export interface UserIdentityRecord {
  type?: unknown;
  principalId?: unknown;
  arn?: unknown;
  accountId?: unknown;
  accessKeyId?: unknown;
  userName?: unknown;
  invokedBy?: unknown;
  sessionContext?: {
    sessionIssuer?: { type?: unknown; arn?: unknown; userName?: unknown; principalId?: unknown };
    /** Set when the session was assumed with a source identity; it follows the session through role chaining. */
    sourceIdentity?: unknown;
  };
  /** The Identity Center user a session acts for (`onBehalfOf.userId`). */
  onBehalfOf?: { userId?: unknown };
}

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * Whether {@link resolveIdentity} reads the call's source address for this caller: an AWS service
 * or an account principal (anonymous, cross-account), or a caller with neither key, ARN nor
 * principal id, named by its address. Any other caller resolves the same from every address, so
 * a cache of callers need not keep one entry per address (a presigning role's thousands).
 */
export function identityReadsAddress(userIdentity: UserIdentityRecord): boolean {
  const type = str(userIdentity.type);
  if (type === 'AWSService' || type === 'AWSAccount') return true;
  return (str(userIdentity.accessKeyId) ?? str(userIdentity.arn) ?? str(userIdentity.principalId)) === undefined;
}

/**
 * Resolves who made a call from a CloudTrail `userIdentity`. Familiarity is learned on the
 * principal (the IAM user, or the issuing role for a role session, because session keys rotate
 * hourly), containment acts on the key or session. `ASIA…` does not mean a role: IAM users in the
 * console and after `GetSessionToken` carry ASIA keys too, so the type comes from `type`, never
 * from the key prefix alone. A temporary-credential session (console, CloudShell, root, role or
 * federated session) is one actor across the keys it rotates through: its ARN (the user for an IAM
 * user's sessions, `assumed-role/ROLE/SESSION` for a role session), told apart by `sourceIdentity`
 * and `onBehalfOf` when they are set; the key of each call stays in `accessKeyId`. Containment
 * reaches the same scope: the user's sessions, or the role session by `aws:userid`. A long-term
 * key is its own actor. Without an access key the actor falls back to the principal id or ARN,
 * then to account and source IP (anonymous and cross-account callers).
 */
export function resolveIdentity(
  userIdentity: UserIdentityRecord,
  sourceIp: string,
  recipientAccountId?: string,
): Identity {
  const type = str(userIdentity.type) ?? 'Unknown';
  const accessKeyId = str(userIdentity.accessKeyId);
  const arn = str(userIdentity.arn);
  const principalId = str(userIdentity.principalId);
  const accountId = str(userIdentity.accountId);
  const invokedBy = str(userIdentity.invokedBy);
  const sourceIdentity = str(userIdentity.sessionContext?.sourceIdentity);
  const onBehalfOf = isRecord(userIdentity.onBehalfOf) ? str(userIdentity.onBehalfOf.userId) : undefined;
  const base = { accessKeyId, arn, principalId, accountId, invokedBy, sourceIdentity, onBehalfOf };

  if (type === 'AWSService') {
    const service = invokedBy ?? sourceIp;
    return { ...base, type: 'aws-service', principal: `service:${service}`, actor: `service:${service}` };
  }
  if (type === 'AWSAccount') {
    if (!principalId || accountId === 'ANONYMOUS_PRINCIPAL') {
      return { ...base, type: 'anonymous', principal: `anonymous:${sourceIp}`, actor: `anonymous:${sourceIp}` };
    }
    const who = `account:${accountId ?? 'unknown'}/${principalId}`;
    return { ...base, type: 'cross-account', principal: who, actor: accessKeyId ?? who };
  }

  const foreign =
    accountId !== undefined && recipientAccountId !== undefined && accountId !== recipientAccountId;
  const fallbackActor = accessKeyId ?? arn ?? principalId ?? `account:${accountId ?? 'unknown'}/${sourceIp}`;
  // A session outlives its keys: console and CloudShell keys rotate every few minutes.
  const temporary = accessKeyId === undefined || !accessKeyId.startsWith('AKIA');
  const sessionActor = (session: string | undefined): string =>
    session === undefined ? fallbackActor : sessionQualified(session, sourceIdentity, onBehalfOf);
  const typed = (identityType: IdentityType): IdentityType => (foreign ? 'cross-account' : identityType);

  if (type === 'IAMUser') {
    const userName = str(userIdentity.userName) ?? arn?.split('/').pop();
    const principal = arn ?? principalId ?? fallbackActor;
    const longTerm = accessKeyId?.startsWith('AKIA') === true;
    return {
      ...base,
      type: typed(longTerm || accessKeyId === undefined ? 'iam-user-key' : 'iam-user-temporary'),
      principal,
      actor: longTerm || accessKeyId === undefined ? fallbackActor : sessionActor(arn ?? principalId),
      userName,
      userArn: arn,
      longTermKey: longTerm ? accessKeyId : undefined,
    };
  }
  if (type === 'AssumedRole') {
    const issuer = userIdentity.sessionContext?.sessionIssuer;
    const roleArn = str(issuer?.arn) ?? roleArnFromSessionArn(arn);
    const sessionName = arn?.split('/').slice(2).join('/') || principalId?.split(':')[1];
    return {
      ...base,
      type: typed('assumed-role'),
      principal: roleArn ?? arn ?? fallbackActor,
      actor: sessionActor(arn ?? principalId),
      roleArn,
      roleName: str(issuer?.userName) ?? roleArn?.split('/').pop(),
      sessionName,
    };
  }
  if (type === 'Root') {
    return { ...base, type: typed('root'), principal: arn ?? fallbackActor, actor: temporary ? sessionActor(arn) : fallbackActor };
  }
  const federationIssuer = userIdentity.sessionContext?.sessionIssuer;
  if (type === 'FederatedUser' && str(federationIssuer?.type) === 'IAMUser' && str(federationIssuer?.arn) !== undefined) {
    // GetFederationToken: temporary credentials of the issuing IAM user, learned and contained as
    // that user's sessions (its deny on aws:TokenIssueTime covers them).
    const userArn = str(federationIssuer?.arn) as string;
    return {
      ...base,
      type: typed('iam-user-temporary'),
      principal: userArn,
      actor: sessionActor(arn ?? principalId),
      userName: str(federationIssuer?.userName) ?? userArn.split('/').pop(),
      userArn,
      sessionName: arn?.split('/').slice(1).join('/'),
    };
  }
  if (['FederatedUser', 'WebIdentityUser', 'SAMLUser', 'IdentityCenterUser'].includes(type)) {
    return { ...base, type: typed('federated'), principal: arn ?? principalId ?? fallbackActor, actor: temporary ? sessionActor(arn ?? principalId) : fallbackActor };
  }
  return { ...base, type: typed('unknown'), principal: arn ?? principalId ?? fallbackActor, actor: fallbackActor };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** A session's actor: its ARN, then who it acts as when the session says (two people can share one session name). */
function sessionQualified(session: string, sourceIdentity: string | undefined, onBehalfOf: string | undefined): string {
  let actor = session;
  if (sourceIdentity !== undefined) actor += `#source=${sourceIdentity}`;
  if (onBehalfOf !== undefined) actor += `#for=${onBehalfOf}`;
  return actor;
}

/** `arn:aws:sts::123:assumed-role/Role/session` → `arn:aws:iam::123:role/Role`. */
function roleArnFromSessionArn(arn: string | undefined): string | undefined {
  const match = arn?.match(/^arn:(aws[\w-]*):sts::(\d+):assumed-role\/([^/]+)\//);
  return match ? `arn:${match[1]}:iam::${match[2]}:role/${match[3]}` : undefined;
}
