import type { Reason } from './scoring.ts';

export const formatNumber = (value: number): string =>
  Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);

/** One reason as a person reads it: points, code, message, and the number against its limit. */
export function formatReason(reason: Reason): string {
  return `+${reason.points} ${reason.code}: ${reason.message} [value ${formatNumber(reason.value)}, threshold ${formatNumber(reason.threshold)}]`;
}
