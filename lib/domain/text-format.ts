/**
 * A time as ISO 8601 UTC, its milliseconds left out when they are zero: `2026-10-20T03:12:51Z`.
 * What pages, the CLI and the containment policies print.
 */
export function formatIsoTime(time: number): string {
  return new Date(time).toISOString().replace('.000Z', 'Z');
}

/** A time as ISO 8601 UTC to the second, the milliseconds cut off: `2026-10-20T03:12:51Z`. */
export function formatIsoSecond(time: number): string {
  return formatIsoTime(Math.floor(time / 1000) * 1000);
}

/** A time as ISO 8601 UTC to the minute: `2026-10-20T03:12Z` (the tuning report's granularity). */
export function formatIsoMinute(time: number): string {
  return new Date(time).toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z');
}

/** A byte count in binary units, one decimal from KB up: `512 B`, `9.5 MB`, `1.2 GB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
