import { UsageError } from './errors.ts';

/** Milliseconds in an hour, a day and a week. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const WEEK_MS = 7 * DAY_MS;

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS, d: DAY_MS, w: WEEK_MS };

/** Parses `10s`, `15m`, `14d`, `2h`, `1w`, `250ms` (a bare number is seconds) to milliseconds. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${option}: "${text}" is not a duration (e.g. 10s, 15m, 14d)`);
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? 's'] as number));
}
