import type { ContainmentBlock } from './policy.ts';

/** The containment actions keysentry knows. Each disables or denies; none deletes anything. */
export type ContainmentKind = 'deactivate-access-key' | 'deny-user-sessions' | 'deny-role-session' | 'deny-role-sessions';

/** What one action acts on: everything `run` and `undo` need, so that a stored record can be undone. */
export interface ContainmentTarget {
  kind: ContainmentKind;
  incidentId: string;
  accessKeyId?: string;
  userName?: string;
  roleName?: string;
  /** The session's `aws:userid`: `<roleId>:<sessionName>`, `*:<sessionName>` when the role id is unknown. */
  sessionUserId?: string;
  /** Sessions issued before this instant (ISO 8601, whole seconds) are denied. */
  issuedBefore?: string;
}

/** An IAM call that failed after the client's retries, as data. */
export interface ActionError {
  code: string;
  message: string;
}

interface ActionResultBase {
  kind: ContainmentKind;
  target: ContainmentTarget;
  /** When the action finished (the responder's clock). */
  at: number;
}

/** What an action did: `changed` is false when it found the work already done (or the entity gone). */
export interface ActionSuccess extends ActionResultBase {
  ok: true;
  dryRun: boolean;
  changed: boolean;
  detail: string;
  /** The key's status before it was disabled: a key that was already inactive is not re-enabled on release. */
  previousStatus?: 'Active' | 'Inactive';
}

/** A failed action and the command that does it by hand. */
export interface ActionFailure extends ActionResultBase {
  ok: false;
  error: ActionError;
  manualCommand: string;
}

export type ActionResult = ActionSuccess | ActionFailure;

/** What the responder did to an incident's actor (or would have done, in dry run), stored on the incident. */
export interface ContainmentRecord {
  /** When the responder decided to act. */
  at: number;
  /** Every action succeeded (in dry run: nothing was attempted, so true). */
  ok: boolean;
  dryRun: boolean;
  /** Set when the responder's own check refused to act; `actions` is then empty. */
  blockedBy?: ContainmentBlock;
  actions: ActionResult[];
}
