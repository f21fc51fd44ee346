import type { VolumeBaseline, VolumeMetric } from './baseline.ts';
import type { Familiarity } from './scoring-familiarity.ts';
import type { Reason, ScoreInput } from './scoring-types.ts';
import { formatBytes } from './text-format.ts';
import { countDistinctObjects, type WindowStats } from './window-counter.ts';

/** The shortest duration a rate is measured over: event times have a resolution of one second. */
const MIN_RATE_SECONDS = 10;
/** Objects per minute of plainly bulk reads: one a second. */
const PLAIN_BULK_RATE = 60;
/** Objects per minute of an unfamiliar actor's reads after a list that make a sweep: one every two seconds. */
const SWEEP_RATE = PLAIN_BULK_RATE / 2;

const formatRate = (perMinute: number): string => (perMinute >= 10 ? perMinute.toFixed(0) : perMinute.toFixed(1));

/** How long the span's activity lasted, as a person reads it. */
export function describeSpan(span: WindowStats): string {
  const ms = Math.max(0, span.lastEventTime - span.firstEventTime);
  return ms < 60_000 ? `${Math.max(1, Math.round(ms / 1000))} s` : `${(ms / 60_000).toFixed(1)} min`;
}

/**
 * Distinct objects read per minute over the reads' own duration (first to last successful read,
 * at least 10 s): a colleague copying ten files over ten minutes reads 1 a minute, `aws s3 sync`
 * hundreds. The lists before the reads do not dilute it.
 */
export function readRatePerMinute(span: WindowStats): number {
  const objects = countDistinctObjects(span);
  if (objects === 0) return 0;
  const first = Number.isFinite(span.firstReadTime) ? span.firstReadTime : span.firstEventTime;
  const last = Number.isFinite(span.lastReadTime) ? span.lastReadTime : span.lastEventTime;
  const seconds = Math.max(MIN_RATE_SECONDS, (last - first) / 1000);
  return (objects / seconds) * 60;
}

export const ownThreshold = (
  volume: VolumeBaseline | undefined,
  metric: VolumeMetric,
  multiplier: number,
  floor: number,
): number => Math.max(floor, Math.ceil(multiplier * (volume?.metrics[metric].p99 ?? 0)));

export const ratioPoints = (ratio: number): number => (ratio >= 10 ? 40 : ratio >= 3 ? 30 : 20);

/**
 * An unfamiliar actor's reads by their shape: bulk when at least `unfamiliarReadFloor` distinct
 * objects came at `unfamiliarReadRate` a minute or faster; 40 points only when plainly bulk
 * (`plainBulkObjects` objects at one a second or faster), 30 at half that rate, 20 otherwise.
 * Scattered light use (ten files at one a minute) is not bulk, however unfamiliar the actor.
 */
function unfamiliarBulkRead(input: ScoreInput, familiarity: Familiarity, rate: number): Reason | undefined {
  const { span, settings } = input;
  const objects = countDistinctObjects(span);
  if (objects < settings.unfamiliarReadFloor || rate < settings.unfamiliarReadRate) return undefined;
  const plain = objects >= settings.plainBulkObjects && rate >= PLAIN_BULK_RATE;
  const who = familiarity.newContext ? 'a familiar principal from a new network with a new tool' : 'an unfamiliar actor';
  return {
    code: 'bulk-read',
    message: `${objects} objects read at ${formatRate(rate)}/min by ${who} (bulk from ${settings.unfamiliarReadFloor} objects at ${settings.unfamiliarReadRate}/min; plainly bulk from ${settings.plainBulkObjects} at ${PLAIN_BULK_RATE}/min)`,
    value: objects,
    threshold: settings.unfamiliarReadFloor,
    points: plain ? 40 : rate >= PLAIN_BULK_RATE / 2 ? 30 : 20,
  };
}

function familiarBulkRead(input: ScoreInput): Reason | undefined {
  const { span, principal, settings } = input;
  const objects = countDistinctObjects(span);
  const p99 = principal?.volume?.metrics.objects.p99 ?? 0;
  const threshold = ownThreshold(principal?.volume, 'objects', settings.volumeMultiplier, settings.familiarReadFloor);
  if (objects < threshold) return undefined;
  return {
    code: 'bulk-read',
    message: `${objects} objects read in ${describeSpan(span)}, ${(objects / Math.max(1, p99)).toFixed(1)}× its own p99 of ${p99}`,
    value: objects,
    threshold,
    points: ratioPoints(objects / threshold),
  };
}

/**
 * A slow reader that keeps going: distinct objects of an unfamiliar actor over the last hour
 * (pages) and the last day (contains, with the unfamiliarity), whatever the rate.
 */
function persistentRead(input: ScoreInput): Reason | undefined {
  const { history, settings } = input;
  if (history === undefined) return undefined;
  if (history.dayObjects >= settings.persistentDayObjects) {
    return {
      code: 'persistent-read',
      message: `${history.dayObjects} distinct objects read within 24 h by an unfamiliar actor (${history.hourObjects} in the last hour)`,
      value: history.dayObjects,
      threshold: settings.persistentDayObjects,
      points: 40,
    };
  }
  if (history.hourObjects >= settings.persistentHourObjects) {
    return {
      code: 'persistent-read',
      message: `${history.hourObjects} distinct objects read within the hour by an unfamiliar actor`,
      value: history.hourObjects,
      threshold: settings.persistentHourObjects,
      points: 20,
    };
  }
  return undefined;
}

/**
 * Volume of reads: several measures of the same download (bulk reads, above the fleet, bytes out,
 * persistence), of which the caller counts only the strongest.
 */
export function scoreReadVolume(input: ScoreInput, familiarity: Familiarity): Reason[] {
  const { span, principal, fleet, settings } = input;
  const { unfamiliar } = familiarity;
  const objects = countDistinctObjects(span);
  const rate = readRatePerMinute(span);
  const reasons: Reason[] = [];
  const bulk = unfamiliar ? unfamiliarBulkRead(input, familiarity, rate) : familiarBulkRead(input);
  if (bulk !== undefined) reasons.push(bulk);
  if (unfamiliar && fleet !== undefined && fleet.windows > 0) {
    const fleetThreshold = Math.max(settings.unfamiliarReadFloor, fleet.metrics.objects.p95);
    if (objects >= fleetThreshold) {
      reasons.push({
        code: 'above-fleet',
        message: `${objects} objects read, above the fleet's p95 of ${fleet.metrics.objects.p95} per window`,
        value: objects,
        threshold: fleetThreshold,
        // Slow reads above the fleet are worth a look, not a containment.
        points: rate >= settings.unfamiliarReadRate ? ratioPoints(objects / fleetThreshold) : 20,
      });
    }
  }
  const bytesThreshold = unfamiliar
    ? settings.bytesOutFloor / 10
    : ownThreshold(principal?.volume, 'bytesOut', settings.volumeMultiplier, settings.bytesOutFloor);
  if (span.bytesOut >= bytesThreshold) {
    reasons.push({
      code: 'bytes-out',
      message: `${formatBytes(span.bytesOut)} downloaded in ${objects} objects (limit ${formatBytes(bytesThreshold)})`,
      value: span.bytesOut,
      threshold: bytesThreshold,
      // A few large files are a download, not a sweep: an unfamiliar actor's bytes weigh fully only across many objects.
      points: unfamiliar && objects < settings.unfamiliarReadFloor ? 20 : ratioPoints(span.bytesOut / bytesThreshold),
    });
  }
  const persistent = unfamiliar ? persistentRead(input) : undefined;
  if (persistent !== undefined) reasons.push(persistent);
  return reasons;
}

/**
 * A list, then a sweep: more distinct objects than the familiar actor ever read in a window, or,
 * for an unfamiliar actor, `unfamiliarReadFloor` objects or more at one every two seconds or
 * faster after the list (a colleague's `ls` and a few `cp` a minute apart is not a sweep).
 */
export function scoreSweep(input: ScoreInput, familiarity: Familiarity): Reason | undefined {
  const { span, principal, settings } = input;
  if (span.lists === 0) return undefined;
  const objects = countDistinctObjects(span);
  const rate = readRatePerMinute(span);
  const threshold = familiarity.unfamiliar
    ? Math.max(settings.sweepMinObjects, settings.unfamiliarReadFloor)
    : Math.max(settings.sweepMinObjects, principal?.volume?.metrics.objects.max ?? settings.familiarReadFloor) + 1;
  if (objects < threshold || (familiarity.unfamiliar && rate < SWEEP_RATE)) return undefined;
  return {
    code: 'list-then-get-sweep',
    message: `listed ${span.lists}× then read ${objects} distinct objects at ${formatRate(rate)}/min`,
    value: objects,
    threshold,
    points: 20,
  };
}
