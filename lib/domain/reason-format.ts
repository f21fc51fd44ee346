import type { Reason } from './scoring.ts';
import { formatBytes } from './text-format.ts';

export const formatNumber = (value: number): string =>
  Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);

/** The unit of each reason's value and threshold, as a person reads them; a reason not listed shows bare numbers. */
const UNITS: Readonly<Record<string, string>> = {
  'never-seen': 'days',
  'recently-first-seen': 'days',
  'new-key': 'days',
  'dormant-key': 'days',
  'fresh-key': 'hours',
  'new-network': 'networks new in 24 h',
  'new-tool': 'tools new in 24 h',
  'new-bucket': 'buckets new in 24 h',
  'bulk-read': 'objects',
  'above-fleet': 'objects',
  'persistent-read': 'objects',
  'dormant-key-read': 'objects',
  'version-listing': 'calls',
  'list-then-get-sweep': 'objects',
  'read-then-delete': 'objects',
  'mass-delete': 'objects',
  'version-delete': 'versions',
  'unitemized-batch-delete': 'objects',
  'error-burst': 'failed calls',
};

/** A reason's value or threshold with its unit (`0.00 days`, `21 objects`, `512 MB`). */
export function formatQuantity(reason: Pick<Reason, 'code'>, value: number): string {
  if (reason.code === 'bytes-out') return formatBytes(value);
  const unit = UNITS[reason.code];
  return unit === undefined ? formatNumber(value) : `${formatNumber(value)} ${unit}`;
}

/** One reason as a person reads it: points, code, message, and the number against its limit, with units. */
export function formatReason(reason: Reason): string {
  return `+${reason.points} ${reason.code}: ${reason.message} [value ${formatQuantity(reason, reason.value)}, threshold ${formatQuantity(reason, reason.threshold)}]`;
}
