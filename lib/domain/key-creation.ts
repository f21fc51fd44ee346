import type { Identity } from './access-event.ts';
import type { KeyCreationLookup } from './scoring-types.ts';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** Why an entry of a key inventory could not be used. */
export type KeyInventoryProblem = 'not-an-inventory' | 'key-without-id' | 'key-without-creation-date';

/**
 * Creation dates of IAM users' long-term keys known to a replay, from a key inventory
 * (`keysentry keys --json`). A key it does not know has no age: key age then plays no part in
 * its score, as in a deployment where IAM cannot be asked.
 */
export class KeyCreationBook {
  private readonly created = new Map<string, number>();
  /** Inventory entries that could not be used, by reason. */
  readonly problems: Partial<Record<KeyInventoryProblem, number>> = {};

  /** Notes a key's creation; the earliest date wins (a key is created once). */
  note(accessKeyId: string, createdAt: number): void {
    const known = this.created.get(accessKeyId);
    if (known === undefined || createdAt < known) this.created.set(accessKeyId, createdAt);
  }

  /**
   * Reads the JSON of `keysentry keys --json`: `{"keys":[{"accessKeyId","createdAt"},…]}`. Entries
   * without an id or a parsable date are counted under their problem, never guessed.
   */
  addInventory(inventory: unknown): void {
    if (!isObject(inventory) || !Array.isArray(inventory.keys)) {
      this.count('not-an-inventory');
      return;
    }
    for (const entry of inventory.keys) {
      const accessKeyId = isObject(entry) ? text(entry.accessKeyId) : undefined;
      if (accessKeyId === undefined) {
        this.count('key-without-id');
        continue;
      }
      const createdAt = Date.parse(text((entry as Json).createdAt) ?? '');
      if (!Number.isFinite(createdAt)) this.count('key-without-creation-date');
      else this.note(accessKeyId, createdAt);
    }
  }

  /** How many keys the book knows. */
  get size(): number {
    return this.created.size;
  }

  /** The detector's look-up: the creation date of the identity's long-term key, if noted. */
  readonly lookup: KeyCreationLookup = async (identity: Identity) =>
    identity.longTermKey === undefined ? undefined : this.created.get(identity.longTermKey);

  private count(problem: KeyInventoryProblem): void {
    this.problems[problem] = (this.problems[problem] ?? 0) + 1;
  }
}
