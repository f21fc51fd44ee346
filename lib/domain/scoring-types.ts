import type { Identity } from './access-event.ts';
import type { Baseline, VolumeBaseline } from './baseline.ts';
import type { WindowStats } from './window-counter.ts';

/** One reason behind a score, as data: the pager and the CLI render it, nobody parses it. */
export interface Reason {
  code: ReasonCode;
  message: string;
  value: number;
  threshold: number;
  points: number;
}

export type ReasonCode =
  | 'never-seen'
  | 'dormant-key'
  | 'fresh-key'
  | 'recently-first-seen'
  | 'new-key'
  | 'new-network'
  | 'new-tool'
  | 'new-bucket'
  | 'bulk-read'
  | 'above-fleet'
  | 'bytes-out'
  | 'persistent-read'
  | 'dormant-key-read'
  | 'version-listing'
  | 'list-then-get-sweep'
  | 'read-then-delete'
  | 'mass-delete'
  | 'version-delete'
  | 'versions-then-batch-delete'
  | 'unitemized-batch-delete'
  | 'error-burst';

export interface Score {
  score: number;
  reasons: Reason[];
}

/** Tunable numbers of the scoring; the weekly tuning may move the volume ones. */
export interface ScoringSettings {
  /** An actor first seen fewer than this many days ago is unfamiliar. */
  unfamiliarDays: number;
  /** A network, tool or bucket first seen fewer than this many hours ago is new. */
  noveltyHours: number;
  /** A long-term key created at least this many days ago and never seen is dormant (the breach). */
  dormantKeyDays: number;
  /** A long-term key created fewer than this many hours ago is a new colleague's. */
  freshKeyHours: number;
  /** Volume above `multiplier × own p99` is bulk. */
  volumeMultiplier: number;
  /** Objects read in the span above which a familiar actor without volume history is bulk. */
  familiarReadFloor: number;
  /**
   * Distinct objects an unfamiliar actor must have read, at `unfamiliarReadRate` or faster, for
   * its reads to be bulk: its first minutes carry no statistics, so the shape decides.
   */
  unfamiliarReadFloor: number;
  /** Objects per minute, over the reads' own duration, from which an unfamiliar actor's reads are bulk. */
  unfamiliarReadRate: number;
  /**
   * Plainly bulk: at least this many distinct objects at one object a second or faster. Only
   * plainly bulk reads by an unfamiliar actor score enough for a containment on their own.
   */
  plainBulkObjects: number;
  /** Bytes out floor for a familiar actor. */
  bytesOutFloor: number;
  /** Distinct objects read after a list that make a sweep (`aws s3 sync` style). */
  sweepMinObjects: number;
  /**
   * Distinct objects an unfamiliar actor read within the last hour and the last 24 h that make a
   * persistent reader (slow exfiltration), however slowly they came.
   */
  persistentHourObjects: number;
  persistentDayObjects: number;
  /** Distinct objects a dormant key reads (in the span or the hour) before it is paged. */
  dormantReadMin: number;
  /** Deletes of objects the same actor read within the hour that make the extortion pattern. */
  readThenDeleteMin: number;
  /** Deleted objects in the span above which deletes are mass deletes (familiar / unfamiliar actors). */
  massDeleteFloor: number;
  unfamiliarDeleteFloor: number;
  /** Permanently deleted object versions in the span that make the ransomware pattern. */
  versionDeleteMin: number;
  /** Failed calls in the span, and their share, that make a probing burst. */
  errorBurstMin: number;
  errorBurstRatio: number;
}

/**
 * Looks up when an IAM user's long-term key was created (ms since the epoch), or `undefined` when
 * that cannot be known: IAM in the Lambdas, `CreateAccessKey` events or a key inventory in a replay.
 * Passed in, so that the scoring stays pure.
 */
export type KeyCreationLookup = (identity: Identity) => Promise<number | undefined>;

/** Distinct objects an actor read over the last hour and day: what a slow, persistent reader piles up. */
export interface ReadHistory {
  hourObjects: number;
  dayObjects: number;
}

/** Everything the scoring looks at for one actor; assembled by the detector, no I/O here. */
export interface ScoreInput {
  identity: Identity;
  /** The actor's recent activity: the current and previous windows summed. */
  span: WindowStats;
  /** Objects the actor deleted in the span that it had read within the hour. */
  readThenDeleted: number;
  principal?: Baseline;
  key?: Baseline;
  fleet?: VolumeBaseline;
  /** The actor's reads over the last hour and day; looked up for unfamiliar actors only. */
  history?: ReadHistory;
  /**
   * When the IAM user's long-term key was created (ms), if known: from IAM in the Lambdas, from
   * `CreateAccessKey` events or a key inventory in a replay.
   */
  keyCreatedAt?: number;
  now: number;
  settings: ScoringSettings;
}
