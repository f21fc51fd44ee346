import { UsageError } from './errors.ts';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `10s`, `15m`, `14d`, `2h`, `1w`, `250ms` (a bare number is seconds) to milliseconds. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${option}: "${text}" is not a duration (e.g. 10s, 15m, 14d)`);
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? 's'] as number));
}
