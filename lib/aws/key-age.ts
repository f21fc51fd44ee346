import { IAMClient, ListAccessKeysCommand, NoSuchEntityException } from '@aws-sdk/client-iam';
import type { Identity } from '../domain/access-event.ts';
import type { KeyCreationLookup } from '../domain/scoring.ts';

/** What the key-age look-up sends to IAM: the score functions' roles grant exactly this. */
export const KEY_AGE_PERMISSIONS = ['iam:ListAccessKeys'] as const;

export interface IamKeyAgesOptions {
  client: IAMClient;
  now?: () => number;
  /** How long a failed look-up (throttled, denied) is remembered before IAM is asked again. */
  retryAfterMs?: number;
  /** Keys remembered at most (a container's memory stays bounded). */
  capacity?: number;
  /** Told about each failed look-up (the handler logs it): the key is then scored without its age. */
  onError?: (error: unknown, accessKeyId: string) => void;
}

interface Known {
  createdAt?: number;
  /** Until when an unknown date stands; a known one stands for ever (a key is created once). */
  until: number;
}

/**
 * Creation dates of IAM users' long-term keys, from `iam:ListAccessKeys` on the key's user: one
 * call per user answers for all of its keys, and each answer is kept for the container's life.
 * A user IAM no longer knows (`NoSuchEntity`) leaves its keys without a date; any other failure
 * is reported to `onError` and retried after `retryAfterMs`, and meanwhile the key is scored as
 * if its age were unknown. Never throws: a look-up must not cost a batch its decisions.
 */
export class IamKeyAges {
  private readonly client: IAMClient;
  private readonly now: () => number;
  private readonly retryAfterMs: number;
  private readonly capacity: number;
  private readonly onError: (error: unknown, accessKeyId: string) => void;
  private readonly known = new Map<string, Known>();
  /** IAM calls made so far. */
  calls = 0;

  constructor(options: IamKeyAgesOptions) {
    this.client = options.client;
    this.now = options.now ?? Date.now;
    this.retryAfterMs = options.retryAfterMs ?? 300_000;
    this.capacity = options.capacity ?? 10_000;
    this.onError = options.onError ?? (() => {});
  }

  /** The detector's look-up. */
  readonly lookup: KeyCreationLookup = async (identity: Identity) => {
    const accessKeyId = identity.longTermKey;
    if (accessKeyId === undefined || identity.userName === undefined || identity.type !== 'iam-user-key') return undefined;
    const known = this.known.get(accessKeyId);
    if (known !== undefined && (known.createdAt !== undefined || known.until > this.now())) return known.createdAt;
    return this.ask(identity.userName, accessKeyId);
  };

  private async ask(userName: string, accessKeyId: string): Promise<number | undefined> {
    if (this.known.size >= this.capacity) this.known.clear();
    this.calls++;
    try {
      const { AccessKeyMetadata: keys = [] } = await this.client.send(new ListAccessKeysCommand({ UserName: userName }));
      for (const key of keys) {
        if (key.AccessKeyId !== undefined && key.CreateDate !== undefined) {
          this.known.set(key.AccessKeyId, { createdAt: key.CreateDate.getTime(), until: Number.POSITIVE_INFINITY });
        }
      }
    } catch (error) {
      if (!(error instanceof NoSuchEntityException)) this.onError(error, accessKeyId);
    }
    // A key the user does not list (deleted since, or another account's) has no date for a while.
    if (!this.known.has(accessKeyId)) this.known.set(accessKeyId, { until: this.now() + this.retryAfterMs });
    return this.known.get(accessKeyId)?.createdAt;
  }
}
