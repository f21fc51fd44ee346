/**
 * Where CloudTrail writes, and so where keysentry reads: log files under
 * `<prefix>AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<file>`, digests under
 * `…/CloudTrail-Digest/…`; an organization trail adds the organization id after `AWSLogs/`.
 */
export interface TrailLayout {
  /** The key prefix ending in `AWSLogs/` (the trail's S3 key prefix, if any, then `AWSLogs/`). */
  prefix: string;
  /** Accounts whose files are read. */
  accounts: readonly string[];
  /** The organization trail's id, when the files are an organization trail's. */
  organizationId?: string;
}

/** What a key in the trail bucket is, by where it sits. */
export type TrailObject =
  | { kind: 'log-file' | 'digest'; account: string; region: string }
  | { kind: 'outside'; reason: 'outside-trail-layout' | 'unexpected-account' | 'unexpected-organization' };

const LAYOUT = /^(?:(o-[a-z0-9]{10,32})\/)?(\d{12})\/(CloudTrail|CloudTrail-Digest)\/([a-z]{2}(?:-[a-z]+)+-\d)\/\d{4}\/\d{2}\/\d{2}\/[^/]+$/;

/**
 * Places an object key in the trail's layout: a log file or digest of an expected account (and
 * organization), or outside it with the reason. Only objects in the layout are read: anything
 * else someone put in the bucket is not CloudTrail's.
 */
export function placeTrailObject(key: string, layout: TrailLayout): TrailObject {
  if (!key.startsWith(layout.prefix)) return { kind: 'outside', reason: 'outside-trail-layout' };
  const match = LAYOUT.exec(key.slice(layout.prefix.length));
  if (match === null) return { kind: 'outside', reason: 'outside-trail-layout' };
  const [, organization, account, folder, region] = match as unknown as [string, string | undefined, string, string, string];
  if (organization !== layout.organizationId) return { kind: 'outside', reason: 'unexpected-organization' };
  if (!layout.accounts.includes(account)) return { kind: 'outside', reason: 'unexpected-account' };
  return { kind: folder === 'CloudTrail' ? 'log-file' : 'digest', account, region };
}
