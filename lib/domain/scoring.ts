import type { Identity } from './access-event.ts';
import type { Baseline, VolumeBaseline, VolumeMetric } from './baseline.ts';
import { networkOf } from './caller-origin.ts';
import type { WindowStats } from './window-counter.ts';
import { formatBytes } from './text-format.ts';
import { DAY_MS } from './duration.ts';

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
  | 'recently-first-seen'
  | 'new-key'
  | 'new-network'
  | 'new-tool'
  | 'new-bucket'
  | 'bulk-read'
  | 'above-fleet'
  | 'bytes-out'
  | 'list-then-get-sweep'
  | 'read-then-delete'
  | 'mass-delete'
  | 'version-delete'
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
  /** Volume above `multiplier × own p99` is bulk. */
  volumeMultiplier: number;
  /** Objects read in the span above which a familiar actor without volume history is bulk. */
  familiarReadFloor: number;
  /** Objects read in the span above which an unfamiliar actor is bulk: its first minutes carry no statistics. */
  unfamiliarReadFloor: number;
  /** Bytes out floor for a familiar actor. */
  bytesOutFloor: number;
  /** Distinct objects read after a list that make a sweep (`aws s3 sync` style). */
  sweepMinObjects: number;
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

export const DEFAULT_SCORING: ScoringSettings = {
  unfamiliarDays: 7,
  noveltyHours: 24,
  volumeMultiplier: 3,
  familiarReadFloor: 50,
  unfamiliarReadFloor: 10,
  bytesOutFloor: 500 * 1024 * 1024,
  sweepMinObjects: 10,
  readThenDeleteMin: 5,
  massDeleteFloor: 50,
  unfamiliarDeleteFloor: 5,
  versionDeleteMin: 10,
  errorBurstMin: 20,
  errorBurstRatio: 0.5,
};

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
  now: number;
  settings: ScoringSettings;
}

const UNFAMILIARITY_CAP = 40;
const ACTIVITY_CAP = 60;

const formatAge = (ms: number): string => {
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < DAY_MS) return `${Math.round(ms / 3_600_000)} h`;
  return `${(ms / DAY_MS).toFixed(1)} days`;
};

/** Why the actor is not (yet) familiar: never seen, seen for under a week, or a new key of a familiar user. */
function unfamiliarityOf(input: ScoreInput): Reason | undefined {
  const { principal, key, now, settings, identity } = input;
  const unfamiliarMs = settings.unfamiliarDays * DAY_MS;
  const principalAge = principal ? now - principal.firstSeen : 0;
  if (principal === undefined || principalAge < DAY_MS) {
    return {
      code: 'never-seen',
      message: principal
        ? `${identity.principal} first seen ${formatAge(principalAge)} ago`
        : `${identity.principal} never seen before`,
      value: principalAge / DAY_MS,
      threshold: settings.unfamiliarDays,
      points: 40,
    };
  }
  if (principalAge < unfamiliarMs) {
    return {
      code: 'recently-first-seen',
      message: `${identity.principal} first seen ${formatAge(principalAge)} ago (familiar after ${settings.unfamiliarDays} days)`,
      value: principalAge / DAY_MS,
      threshold: settings.unfamiliarDays,
      points: 25,
    };
  }
  if (identity.longTermKey === undefined) return undefined;
  const keyAge = key ? now - key.firstSeen : 0;
  if (key !== undefined && keyAge >= unfamiliarMs) return undefined;
  return {
    code: 'new-key',
    message: key
      ? `access key ${identity.longTermKey} of a familiar user first seen ${formatAge(keyAge)} ago`
      : `access key ${identity.longTermKey} never seen before for a familiar user`,
    value: keyAge / DAY_MS,
    threshold: settings.unfamiliarDays,
    points: keyAge < DAY_MS ? 35 : 25,
  };
}

function scoreFamiliarity(input: ScoreInput): Reason[] {
  const { principal, span, now, settings } = input;
  const reasons: Reason[] = [];
  const principalAge = principal ? now - principal.firstSeen : 0;
  // An on-call verdict of benign makes the principal familiar; novelty and volume still count.
  const vouched = principal?.vouchedAt !== undefined && principal.vouchedAt <= now;
  const unfamiliarity = vouched ? undefined : unfamiliarityOf(input);
  if (unfamiliarity !== undefined) reasons.push(unfamiliarity);
  if (principal !== undefined && (principalAge >= DAY_MS || vouched)) {
    const noveltyMs = settings.noveltyHours * 3_600_000;
    const fresh = (known: Record<string, number>, things: Iterable<string>): string[] =>
      [...things].filter((thing) => {
        const first = known[thing];
        return first === undefined || now - first < noveltyMs;
      });
    const novelties: Array<[ReasonCode, Record<string, number>, Set<string>, number, (things: string[]) => string]> = [
      ['new-network', principal.networks, span.networks, 15, (things) =>
        `from ${things.slice(0, 3).join(', ')}, not seen for this principal before the last ${settings.noveltyHours} h (${Object.keys(principal.networks).length} known networks)`],
      ['new-tool', principal.tools, span.tools, 15, (things) =>
        `with ${things.join(', ')}; known tools: ${Object.keys(principal.tools).join(', ') || 'none'}`],
      ['new-bucket', principal.buckets, span.buckets, 10, (things) => `in bucket ${things.slice(0, 3).join(', ')}, new for this principal`],
    ];
    for (const [code, known, seen, points, describe] of novelties) {
      const things = fresh(known, seen);
      if (things.length > 0) reasons.push({ code, message: describe(things), value: things.length, threshold: 0, points });
    }
  }
  return reasons;
}

const ownThreshold = (
  volume: VolumeBaseline | undefined,
  metric: VolumeMetric,
  multiplier: number,
  floor: number,
): number => Math.max(floor, Math.ceil(multiplier * (volume?.metrics[metric].p99 ?? 0)));

const ratioPoints = (ratio: number): number => (ratio >= 10 ? 40 : ratio >= 3 ? 30 : 20);

function scoreVolume(input: ScoreInput, unfamiliar: boolean): Reason[] {
  const { span, principal, fleet, settings } = input;
  const objects = span.readObjects.size;
  const reasons: Reason[] = [];
  const readThreshold = unfamiliar
    ? settings.unfamiliarReadFloor
    : ownThreshold(principal?.volume, 'objects', settings.volumeMultiplier, settings.familiarReadFloor);
  if (objects >= readThreshold) {
    reasons.push({
      code: 'bulk-read',
      message: unfamiliar
        ? `${objects} objects read in ${spanMinutes(span)} by an unfamiliar actor (limit ${readThreshold})`
        : `${objects} objects read in ${spanMinutes(span)}, ${(objects / Math.max(1, principal?.volume?.metrics.objects.p99 ?? 0)).toFixed(1)}× its own p99 of ${principal?.volume?.metrics.objects.p99 ?? 0}`,
      value: objects,
      threshold: readThreshold,
      points: ratioPoints(objects / readThreshold),
    });
  }
  if (unfamiliar && fleet !== undefined && fleet.windows > 0) {
    const fleetThreshold = Math.max(settings.unfamiliarReadFloor, fleet.metrics.objects.p95);
    if (objects >= fleetThreshold) {
      reasons.push({
        code: 'above-fleet',
        message: `${objects} objects read, above the fleet's p95 of ${fleet.metrics.objects.p95} per window`,
        value: objects,
        threshold: fleetThreshold,
        points: ratioPoints(objects / fleetThreshold),
      });
    }
  }
  const bytesThreshold = unfamiliar
    ? settings.bytesOutFloor / 10
    : ownThreshold(principal?.volume, 'bytesOut', settings.volumeMultiplier, settings.bytesOutFloor);
  if (span.bytesOut >= bytesThreshold) {
    reasons.push({
      code: 'bytes-out',
      message: `${formatBytes(span.bytesOut)} downloaded (limit ${formatBytes(bytesThreshold)})`,
      value: span.bytesOut,
      threshold: bytesThreshold,
      points: ratioPoints(span.bytesOut / bytesThreshold),
    });
  }
  return reasons;
}

function scorePatterns(input: ScoreInput, unfamiliar: boolean): Reason[] {
  const { span, principal, settings, readThenDeleted } = input;
  const reasons: Reason[] = [];
  const objects = span.readObjects.size;
  const sweepThreshold = unfamiliar
    ? settings.sweepMinObjects
    : Math.max(settings.sweepMinObjects, principal?.volume?.metrics.objects.max ?? settings.familiarReadFloor) + 1;
  if (span.lists > 0 && objects >= sweepThreshold) {
    reasons.push({
      code: 'list-then-get-sweep',
      message: `listed ${span.lists}× then read ${objects} distinct objects`,
      value: objects,
      threshold: sweepThreshold,
      points: 20,
    });
  }
  if (readThenDeleted >= settings.readThenDeleteMin) {
    reasons.push({
      code: 'read-then-delete',
      message: `deleted ${readThenDeleted} objects it had read within the hour (the extortion pattern)`,
      value: readThenDeleted,
      threshold: settings.readThenDeleteMin,
      points: 40,
    });
  }
  const deleted = span.deletes + span.versionDeletes;
  const deleteThreshold = unfamiliar
    ? settings.unfamiliarDeleteFloor
    : ownThreshold(principal?.volume, 'deletes', settings.volumeMultiplier, settings.massDeleteFloor);
  if (deleted >= deleteThreshold) {
    reasons.push({
      code: 'mass-delete',
      message: `${deleted} objects deleted in ${spanMinutes(span)} (limit ${deleteThreshold})`,
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
  if (span.deleteBatches > 0 && deleted < span.deleteBatches) {
    reasons.push({
      code: 'unitemized-batch-delete',
      message: `${span.deleteBatches} multi-object delete requests without per-object records (up to 1,000 objects each)`,
      value: span.deleteBatches,
      threshold: 1,
      points: unfamiliar ? 30 : 20,
    });
  }
  const calls = span.events;
  if (span.errors >= settings.errorBurstMin && span.errors / calls >= settings.errorBurstRatio) {
    reasons.push({
      code: 'error-burst',
      message: `${span.errors} of ${calls} calls failed (probing)`,
      value: span.errors,
      threshold: settings.errorBurstMin,
      points: 15,
    });
  }
  return reasons;
}

function spanMinutes(span: WindowStats): string {
  const ms = Math.max(0, span.lastEventTime - span.firstEventTime);
  return ms < 60_000 ? `${Math.max(1, Math.round(ms / 1000))} s` : `${(ms / 60_000).toFixed(1)} min`;
}

/**
 * Scores an actor's recent activity against its own baseline and the fleet's: a number 0–100
 * and the reasons behind it, each with its value and threshold. Unfamiliarity (never seen, new
 * key, new network, tool or bucket) adds up to 40 points and volume and patterns (bulk reads,
 * sweeps, read-then-delete, mass and version deletes, error bursts) up to 60; unfamiliarity alone
 * stays below 30, so a new key reading three files pages nobody. Pure: no I/O, no clock.
 */
export function scoreAgainstBaseline(input: ScoreInput): Score {
  const familiarity = scoreFamiliarity(input);
  const unfamiliar = familiarity.some((r) => r.code === 'never-seen' || r.code === 'recently-first-seen' || r.code === 'new-key');
  const volume = scoreVolume(input, unfamiliar);
  const patterns = scorePatterns(input, unfamiliar);
  const unfamiliarity = Math.min(UNFAMILIARITY_CAP, sum(familiarity));
  // Several volume measures describe the same download; only the strongest counts.
  const volumePoints = Math.max(0, ...volume.map((r) => r.points));
  const activity = Math.min(ACTIVITY_CAP, volumePoints + sum(patterns));
  const score = activity > 0 ? Math.min(100, activity + unfamiliarity) : Math.min(30, unfamiliarity);
  const reasons = [...familiarity, ...volume, ...patterns].sort((a, b) => b.points - a.points);
  return { score, reasons };
}

const sum = (reasons: Reason[]): number => reasons.reduce((total, r) => total + r.points, 0);

