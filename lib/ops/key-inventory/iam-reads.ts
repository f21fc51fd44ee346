import {
  GetAccessKeyLastUsedCommand,
  GetRoleCommand,
  GetUserCommand,
  paginateListAccessKeys,
  paginateListUsers,
  type AccessKeyMetadata,
  type IAMClient,
  type User,
} from '@aws-sdk/client-iam';
import { InventoryError, messageOf } from '../../domain/errors.ts';
import type { CreatingPrincipal, InventoryKey } from './inventory-types.ts';
import { isNoSuchEntity } from '../../aws/iam-errors.ts';
import { DAY_MS } from '../../domain/duration.ts';
import { formatIsoSecond } from '../../domain/text-format.ts';

/** Times in the inventory are to the second. */
export const iso = formatIsoSecond;
export const daysBetween = (from: number, to: number): number => Math.max(0, Math.floor((to - from) / DAY_MS));

/** Runs `work` on every item, at most `limit` at a time, keeping the items' order in the results. */
export async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Calls IAM or CloudTrail; a failure becomes an `InventoryError` that says which call. */
export async function reading<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new InventoryError(`${what} failed (${messageOf(error)})`, { cause: error });
  }
}

/** Every IAM user of the account (ListUsers, paginated). */
export async function listUsers(iam: IAMClient): Promise<User[]> {
  return reading('IAM ListUsers', async () => {
    const users: User[] = [];
    for await (const page of paginateListUsers({ client: iam }, {})) users.push(...(page.Users ?? []));
    return users;
  });
}

/** The user's access keys; none when the user was deleted since it was listed. */
export async function listKeys(iam: IAMClient, userName: string): Promise<AccessKeyMetadata[]> {
  try {
    const keys: AccessKeyMetadata[] = [];
    for await (const page of paginateListAccessKeys({ client: iam }, { UserName: userName })) keys.push(...(page.AccessKeyMetadata ?? []));
    return keys;
  } catch (error) {
    if (isNoSuchEntity(error)) return [];
    throw new InventoryError(`IAM ListAccessKeys for user ${userName} failed (${messageOf(error)})`, { cause: error });
  }
}

/** The key's last use; `null` when the key was deleted since it was listed. */
export async function lastUsedOf(iam: IAMClient, accessKeyId: string, now: number): Promise<InventoryKey['lastUsed'] | null> {
  let used;
  try {
    ({ AccessKeyLastUsed: used } = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId })));
  } catch (error) {
    if (isNoSuchEntity(error)) return null;
    throw new InventoryError(`IAM GetAccessKeyLastUsed for ${accessKeyId} failed (${messageOf(error)})`, { cause: error });
  }
  if (used?.LastUsedDate === undefined) return undefined;
  // IAM answers "N/A" for the service and region of a key never used.
  const known = (value: string | undefined): string | undefined => (value === undefined || value === 'N/A' ? undefined : value);
  const at = used.LastUsedDate.getTime();
  return { at: iso(at), daysAgo: daysBetween(at, now), service: known(used.ServiceName), region: known(used.Region) };
}

/**
 * Whether the user or role that created a key still exists. The listed users answer for users
 * (GetUser confirms an absence, in case the user was created since); a role is looked up. A user
 * or role deleted and re-created under the same name has another unique id: the creator is gone.
 */
export function makeExistenceCheck(iam: IAMClient, users: readonly User[]) {
  const listed = new Map(users.map((user) => [user.UserName, user.UserId]));
  const cache = new Map<string, Promise<{ exists: boolean; goneBecause?: string }>>();
  const check = async (principal: CreatingPrincipal): Promise<{ exists: boolean; goneBecause?: string }> => {
    let currentId: string | undefined = principal.kind === 'user' ? listed.get(principal.name) : undefined;
    if (currentId === undefined) {
      try {
        currentId =
          principal.kind === 'user'
            ? (await iam.send(new GetUserCommand({ UserName: principal.name }))).User?.UserId
            : (await iam.send(new GetRoleCommand({ RoleName: principal.name }))).Role?.RoleId;
      } catch (error) {
        if (isNoSuchEntity(error)) return { exists: false, goneBecause: 'no longer exists in IAM' };
        const call = principal.kind === 'user' ? 'GetUser' : 'GetRole';
        throw new InventoryError(`IAM ${call} for ${principal.name} failed (${messageOf(error)})`, { cause: error });
      }
    }
    if (principal.id !== undefined && currentId !== undefined && currentId !== principal.id) {
      return { exists: false, goneBecause: `was deleted and re-created under the same name (id ${principal.id}, now ${currentId})` };
    }
    return { exists: true };
  };
  return (principal: CreatingPrincipal) => {
    const key = `${principal.kind}/${principal.name}/${principal.id ?? ''}`;
    let found = cache.get(key);
    if (found === undefined) {
      found = check(principal);
      cache.set(key, found);
    }
    return found;
  };
}

