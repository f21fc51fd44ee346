import { assessFamiliarity, type Familiarity } from './scoring-familiarity.ts';
import { describeSpan, ownThreshold, scoreReadVolume, scoreSweep } from './scoring-reads.ts';
import type { Reason, Score, ScoreInput, ScoringSettings } from './scoring-types.ts';
import { countDistinctObjects, deletedObjectsOf, type WindowStats } from './window-counter.ts';

export { isUnfamiliarIdentity, needsKeyCreationDate } from './scoring-familiarity.ts';
export type { KeyCreationLookup, ReadHistory, Reason, ReasonCode, Score, ScoreInput, ScoringSettings } from './scoring-types.ts';

export const DEFAULT_SCORING: ScoringSettings = {
  unfamiliarDays: 7,
  noveltyHours: 24,
  dormantKeyDays: 90,
  freshKeyHours: 24,
  volumeMultiplier: 3,
  familiarReadFloor: 50,
  unfamiliarReadFloor: 20,
  unfamiliarReadRate: 6,
  plainBulkObjects: 30,
  bytesOutFloor: 500 * 1024 * 1024,
  sweepMinObjects: 10,
  persistentHourObjects: 30,
  persistentDayObjects: 200,
  dormantReadMin: 3,
  readThenDeleteMin: 5,
  massDeleteFloor: 50,
  unfamiliarDeleteFloor: 5,
  versionDeleteMin: 10,
  errorBurstMin: 20,
  errorBurstRatio: 0.5,
};

const UNFAMILIARITY_CAP = 40;
const ACTIVITY_CAP = 60;
/**
 * What reads alone may score for a familiar principal in a context it knows (network, tool and
 * bucket all seen before): below any page threshold the weekly tuning can set (40–70). keysentry
 * stops unfamiliar keys; a month-end export by its own job, from its own host, is its owner's
 * business. Deletes still count in full, and one new network or tool lifts the cap.
 */
const KNOWN_CONTEXT_READ_CAP = 35;

const formatCount = (value: number): string => value.toLocaleString('en-US');

/** Reads followed by deletes of the same objects: the extortion pattern. */
function readThenDeleteOf(input: ScoreInput): Reason | undefined {
  const { readThenDeleted, settings } = input;
  if (readThenDeleted < settings.readThenDeleteMin) return undefined;
  return {
    code: 'read-then-delete',
    message: `deleted ${readThenDeleted} objects it had read within the hour (the extortion pattern)`,
    value: readThenDeleted,
    threshold: settings.readThenDeleteMin,
    points: 40,
  };
}

/**
 * Deletes, itemized or not. A trail without per-object records (advanced event selectors can
 * drop them; older trails never had them) shows a multi-object delete as one `DeleteObjects`
 * record: its keys are estimated from the request body's size, and listing object versions
 * before such deletes is the ransomware sequence (Stratus Red Team's
 * `aws.impact.s3-ransomware-batch-deletion`), scored for an unfamiliar actor or a bucket new to
 * the principal.
 */
function scoreDeletes(input: ScoreInput, unfamiliar: boolean, newBucket: boolean): Reason[] {
  const { span, principal, settings } = input;
  const reasons: Reason[] = [];
  const itemized = span.deletes + span.versionDeletes;
  const estimatedKeys = Math.max(span.batchDeleteKeys, span.deleteBatches);
  const deleted = deletedObjectsOf(span);
  const deleteThreshold = unfamiliar
    ? settings.unfamiliarDeleteFloor
    : ownThreshold(principal?.volume, 'deletes', settings.volumeMultiplier, settings.massDeleteFloor);
  if (deleted >= deleteThreshold) {
    const estimated = deleted > itemized ? ` (estimated from ${span.deleteBatches} multi-object delete requests' sizes)` : '';
    reasons.push({
      code: 'mass-delete',
      message: `${formatCount(deleted)} objects deleted in ${describeSpan(span)}${estimated} (limit ${deleteThreshold})`,
      value: deleted,
      threshold: deleteThreshold,
      points: deleted >= 10 * deleteThreshold ? 40 : 30,
    });
  }
  if (span.versionDeletes >= settings.versionDeleteMin) {
    reasons.push({
      code: 'version-delete',
      message: `${span.versionDeletes} object versions permanently deleted (the ransomware pattern)`,
      value: span.versionDeletes,
      threshold: settings.versionDeleteMin,
      points: 35,
    });
  }
  const unitemized = span.deleteBatches > 0 && itemized * 2 < estimatedKeys;
  if (unitemized && span.versionLists > 0 && (unfamiliar || newBucket)) {
    reasons.push({
      code: 'versions-then-batch-delete',
      message: `listed object versions ${span.versionLists}× then sent ${span.deleteBatches} multi-object deletes (~${formatCount(estimatedKeys)} keys) without per-object records: the ransomware sequence`,
      value: span.deleteBatches,
      threshold: 1,
      points: 35,
    });
  }
  if (unitemized) {
    reasons.push({
      code: 'unitemized-batch-delete',
      message: `${span.deleteBatches} multi-object delete requests without per-object records, ~${formatCount(estimatedKeys)} keys by their request sizes`,
      value: span.deleteBatches,
      threshold: 1,
      points: unfamiliar ? 30 : 20,
    });
  }
  return reasons;
}

/**
 * A key created long ago and never seen in use now reading data: the breach's own beginning, paged
 * from its first few objects, however slowly they come (the hour's reads count, not only the span's).
 */
function dormantKeyReadOf(input: ScoreInput, familiarity: Familiarity): Reason | undefined {
  const { span, history, settings } = input;
  if (!familiarity.reasons.some((r) => r.code === 'dormant-key')) return undefined;
  const objects = Math.max(countDistinctObjects(span), history?.hourObjects ?? 0);
  if (objects < settings.dormantReadMin) return undefined;
  return {
    code: 'dormant-key-read',
    message: `a dormant key read ${objects} objects${history !== undefined ? ' within the hour' : ''} (from ${settings.dormantReadMin})`,
    value: objects,
    threshold: settings.dormantReadMin,
    points: 20,
  };
}

/**
 * Object versions listed by an unfamiliar actor (or one in a context new to its principal): what
 * ransomware does before it deletes every version (Stratus Red Team's
 * `aws.impact.s3-ransomware-batch-deletion` lists versions first). A page, before the first delete.
 */
function versionListingOf(input: ScoreInput, familiarity: Familiarity): Reason | undefined {
  const { span } = input;
  if (span.versionLists === 0 || !familiarity.unfamiliar) return undefined;
  return {
    code: 'version-listing',
    message: `listed object versions ${span.versionLists}× as ${familiarity.newContext ? 'a familiar principal in a context new to it' : 'an unfamiliar actor'} (what ransomware does before deleting every version)`,
    value: span.versionLists,
    threshold: 1,
    points: 20,
  };
}

function errorBurstOf(span: WindowStats, settings: ScoringSettings): Reason | undefined {
  const calls = span.events;
  if (span.errors < settings.errorBurstMin || span.errors / calls < settings.errorBurstRatio) return undefined;
  return {
    code: 'error-burst',
    message: `${span.errors} of ${calls} calls failed (probing)`,
    value: span.errors,
    threshold: settings.errorBurstMin,
    points: 15,
  };
}

/**
 * Scores an actor's recent activity against its own baseline and the fleet's: a number 0–100
 * and the reasons behind it, each with its value and threshold. Unfamiliarity (never seen,
 * dormant, fresh or new key, new network, tool or bucket) adds up to 40 points; volume and
 * patterns (bulk reads by rate and count, persistence, sweeps, a dormant key's reads, version
 * listing, read-then-delete, mass, version and batch deletes, error bursts) up to 60, of the
 * volume reasons only the strongest. Unfamiliarity alone stays below 30, an unfamiliar actor's
 * light, scattered reads are not bulk, so a new colleague's first files page nobody, and a
 * familiar principal's reads in a context it knows stay below any page threshold.
 * Pure: no I/O, no clock.
 */
export function scoreAgainstBaseline(input: ScoreInput): Score {
  const familiarity = assessFamiliarity(input);
  const newBucket = familiarity.reasons.some((r) => r.code === 'new-bucket');
  const volume = scoreReadVolume(input, familiarity);
  const sweep = scoreSweep(input, familiarity);
  const patterns = [
    dormantKeyReadOf(input, familiarity),
    versionListingOf(input, familiarity),
    readThenDeleteOf(input),
    ...scoreDeletes(input, familiarity.unfamiliar, newBucket),
    errorBurstOf(input.span, input.settings),
  ].filter((reason): reason is Reason => reason !== undefined);
  const unfamiliarity = Math.min(UNFAMILIARITY_CAP, sum(familiarity.reasons));
  // Several volume measures describe the same download; only the strongest counts.
  const readPoints = Math.max(0, ...volume.map((r) => r.points)) + (sweep?.points ?? 0);
  const knownContext = familiarity.reasons.length === 0;
  const activity = Math.min(ACTIVITY_CAP, (knownContext ? Math.min(KNOWN_CONTEXT_READ_CAP, readPoints) : readPoints) + sum(patterns));
  const score = activity > 0 ? Math.min(100, activity + unfamiliarity) : Math.min(30, unfamiliarity);
  const reasons = [...familiarity.reasons, ...volume, ...(sweep ? [sweep] : []), ...patterns].sort((a, b) => b.points - a.points);
  return { score, reasons };
}

const sum = (reasons: Reason[]): number => reasons.reduce((total, r) => total + r.points, 0);
