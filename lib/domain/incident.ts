import type { Identity, IdentityType } from './access-event.ts';
import type { ContainmentRecord } from './containment-record.ts';
import { hash53 } from './hash.ts';
import type { Action, ContainmentBlock } from './policy.ts';
import type { Reason } from './scoring.ts';

/** Where an incident is in its life: open until an on-call engineer acknowledges and releases it. */
export type IncidentStatus = 'open' | 'contained' | 'containment-failed' | 'acknowledged' | 'released';

/** What the on-call engineer needs to judge an incident without opening a console. */
export interface Evidence {
  gets: number;
  deletes: number;
  lists: number;
  errors: number;
  bytesOut: number;
  distinctObjects: number;
  buckets: string[];
  sampleObjects: string[];
  sourceIps: string[];
  userAgents: string[];
  /** The access keys the actor used (a session rotates through several); absent on older incidents. */
  accessKeyIds?: string[];
}

/** The on-call's judgement of an incident, which the weekly tuning takes into account. */
export type Verdict = 'benign' | 'confirmed';

/** One step of an incident's life: who moved it (`keysentry` or a person), when, and why. */
export interface HistoryEntry {
  at: number;
  /** The status after the step. */
  status: IncidentStatus;
  by: string;
  note?: string;
  /** The verdict this step gave, when it gave one (what the weekly tuning reads, never the note). */
  verdict?: Verdict;
  /** The verdict it replaced, when the on-call changed their mind. */
  previousVerdict?: Verdict;
}

/** One incident per actor and cool-down: repeats update it rather than open another. */
export interface Incident {
  incidentId: string;
  actor: string;
  principal: string;
  identityType: IdentityType;
  accessKeyId?: string;
  identity: Identity;
  status: IncidentStatus;
  action: Exclude<Action, 'none'>;
  blockedBy?: ContainmentBlock;
  score: number;
  reasons: Reason[];
  firstEventTime: number;
  /** Time of the decision that set `action` (a page escalated to containment moves it). */
  decisionTime: number;
  firstDecisionTime: number;
  updatedTime: number;
  evidence: Evidence;
  /** The actor's latest event seen (`eventTime`); absent on incidents stored before it existed. */
  lastEventTime?: number;
  /** What the responder did, or would have done in dry run; absent until it acted. */
  containment?: ContainmentRecord;
  verdict?: Verdict;
  /** Status changes and verdicts, oldest first; absent on incidents nobody has moved yet. */
  history?: HistoryEntry[];
  /** The page signature (see `pageSignature`) of the last page published, or the on-call's last step. */
  pagedState?: string;
  /** Optimistic-lock counter for conditional updates. */
  revision: number;
}

const ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';

/**
 * A short incident id that fits an SMS and reads aloud (no 0/O, 1/I): derived from the actor and
 * the decision time, so that two invocations deciding on the same burst compute the same id.
 */
export function makeIncidentId(actor: string, decisionTime: number): string {
  let value = hash53(`${actor}|${decisionTime}`);
  let id = '';
  for (let i = 0; i < 6; i++) {
    id += ALPHABET[value % ALPHABET.length];
    value = Math.floor(value / ALPHABET.length);
  }
  return `KS-${id}`;
}
