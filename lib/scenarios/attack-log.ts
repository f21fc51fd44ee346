import type { Trail } from './clinic-world.ts';
import type { AttackKind, AttackProgress, AttackTruth } from './scenario-types.ts';
import type { Caller, S3Call } from './trail-records.ts';

/**
 * Writes an attacker's calls into the trail and keeps the truth about them: when it started and
 * ended, the keys it used, and how many distinct objects it had read and deleted at each moment.
 */
export class AttackLog {
  private readonly read = new Set<string>();
  private deleted = 0;
  private readonly progress: AttackProgress[] = [];
  private readonly keys = new Set<string>();
  private readonly principals = new Set<string>();
  private first = Infinity;
  private last = -Infinity;
  private firstBatchDelete: number | undefined;

  constructor(private readonly trail: Trail) {}

  /**
   * One call of the attacker. `deletes` is the number of objects a call removes when that is not
   * one per `DeleteObject` (a `DeleteObjects` batch; 0 for the per-object records that follow it).
   */
  emit(at: number, caller: Caller, call: S3Call, deletes?: number): void {
    this.trail.emit(at, caller, call, true);
    const key = caller.userIdentity.accessKeyId;
    if (typeof key === 'string') this.keys.add(key);
    this.first = Math.min(this.first, at);
    this.last = Math.max(this.last, at);
    if (call.eventName === 'DeleteObjects' && this.firstBatchDelete === undefined) this.firstBatchDelete = at;
    if (call.errorCode !== undefined) return;
    const before = this.read.size + this.deleted;
    if (call.eventName === 'GetObject') this.read.add(`${call.bucket}/${call.key ?? ''}`);
    this.deleted += deletes ?? (call.eventName === 'DeleteObject' ? 1 : 0);
    if (this.read.size + this.deleted !== before) {
      this.progress.push({ at: Math.floor(at / 1000) * 1000, reads: this.read.size, deletes: this.deleted });
    }
  }

  /** A principal only the attacker uses (a caller of another account). */
  addPrincipal(principal: string): void {
    this.principals.add(principal);
  }

  truth(kind: AttackKind, expected: 'contain' | 'page'): AttackTruth {
    return {
      kind,
      expected,
      start: Math.floor(this.first / 1000) * 1000,
      end: Math.floor(this.last / 1000) * 1000,
      accessKeyIds: [...this.keys],
      principals: [...this.principals],
      objects: Math.max(this.read.size, this.deleted),
      progress: this.progress,
      firstBatchDelete: this.firstBatchDelete === undefined ? undefined : Math.floor(this.firstBatchDelete / 1000) * 1000,
    };
  }
}

/** The attack's distinct objects read and deleted with eventTime at or before `at`. */
export function progressAt(truth: AttackTruth, at: number): { reads: number; deletes: number } {
  let low = 0;
  let high = truth.progress.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if ((truth.progress[mid] as AttackProgress).at <= at) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  const entry = truth.progress[found];
  return entry === undefined ? { reads: 0, deletes: 0 } : { reads: entry.reads, deletes: entry.deletes };
}
