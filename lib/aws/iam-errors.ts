import { NoSuchEntityException } from '@aws-sdk/client-iam';

/**
 * Whether IAM answered that the user, role, key or policy does not exist: the SDK's class, or an
 * error of that name (emulators and older SDKs do not always build the class). For a disable or a
 * delete this is the goal reached, not a failure.
 */
export function isNoSuchEntity(error: unknown): boolean {
  return error instanceof NoSuchEntityException || (error as { name?: string } | null)?.name === 'NoSuchEntity';
}
