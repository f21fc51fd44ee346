import type { TrailRecord } from './trail-records.ts';

/** What keysentry should do about an actor. */
export type Decision = 'contain' | 'page' | 'none';

/** How an attack behaves, which decides the criterion it is held to. */
export type AttackKind = 'bulk' | 'ransomware' | 'deletion' | 'slow' | 'cross-account';

/** Cumulative progress of an attack: distinct objects read and objects deleted up to `at`. */
export interface AttackProgress {
  at: number;
  reads: number;
  deletes: number;
}

/** The ground truth of an attack in a scenario. */
export interface AttackTruth {
  kind: AttackKind;
  /** The least keysentry must do: contain, or (for callers no key of ours can stop, or a slow reader) page. */
  expected: 'contain' | 'page';
  start: number;
  end: number;
  /** Access key ids the attacker used. */
  accessKeyIds: string[];
  /** Keysentry principals only the attacker uses (callers of another account have no key of ours). */
  principals: string[];
  /** Objects the attack reads or deletes in all. */
  objects: number;
  progress: AttackProgress[];
  /** When the first `DeleteObjects` request landed (ransomware). */
  firstBatchDelete?: number;
}

/** A benign actor a scenario is about (a new hire, a surge): keysentry should leave it alone. */
export interface BenignFocus {
  label: string;
  accessKeyIds: string[];
  principals: string[];
  start: number;
  end: number;
}

/** How the scenario's log files present their records. */
export type RecordOrder = 'time' | 'newest-first' | 'shuffled';

/** One generated scenario: its records, the truth about them, and how to replay them. */
export interface Scenario {
  name: string;
  title: string;
  /** The decision expected for the actor the scenario is about. */
  expected: Decision;
  start: number;
  days: number;
  /** Days at the start during which a detector only learns. */
  warmupDays: number;
  order: RecordOrder;
  records: TrailRecord[];
  attackEventIds: ReadonlySet<string>;
  attack?: AttackTruth;
  focus?: BenignFocus;
  /** IAM's view of keys the logs never show being created: user, key id, creation date. */
  keyInventory: Array<{ userName: string; accessKeyId: string; createDate: string }>;
}

/** Sizes of a scenario: how many days of background before and after the day it is about. */
export interface ScenarioOptions {
  seed?: number;
  warmupDays?: number;
  afterDays?: number;
}
