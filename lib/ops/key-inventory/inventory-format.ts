import { FLAG_RULES } from './flag-rules.ts';
import { EVENT_HISTORY_DAYS, type IamChange, type KeyCreator, type KeyFlagCode, type KeyInventory } from './inventory-types.ts';

/** The creator in a table cell. */
export function describeKeyCreator(creator: KeyCreator): string {
  if (!creator.known) {
    if (creator.reason === 'lookup-failed') return 'unknown (CloudTrail not read)';
    return creator.reason === 'older-than-90-days' ? `unknown (older than ${EVENT_HISTORY_DAYS} days)` : 'unknown (no CreateAccessKey event found)';
  }
  const who = creator.principal === undefined ? creator.arn : `${creator.principal.kind === 'role' ? 'role ' : ''}${creator.principal.name}`;
  return creator.exists === false ? `${who} (gone)` : who;
}

/** How many keys carry each flag, most urgent first; flags no key carries are left out. */
export function countFlags(report: KeyInventory): Array<{ code: KeyFlagCode; keys: number }> {
  return FLAG_RULES.map((rule) => rule.code)
    .map((code: KeyFlagCode) => ({ code, keys: report.keys.filter((key) => key.flags.some((flag) => flag.code === code)).length }))
    .filter((count) => count.keys > 0);
}

function table(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd());
}

function describeChange(change: IamChange): string {
  const target = [
    change.userName === undefined ? undefined : `user ${change.userName}`,
    change.roleName === undefined ? undefined : `role ${change.roleName}`,
    change.accessKeyId === undefined ? undefined : `key ${change.accessKeyId}`,
    change.status === undefined ? undefined : `-> ${change.status}`,
    change.policyArn ?? (change.policyName === undefined ? undefined : `policy ${change.policyName}`),
  ].filter(Boolean);
  const failed = change.errorCode === undefined ? '' : `  FAILED (${change.errorCode})`;
  const from = change.sourceIp === undefined ? '' : ` from ${change.sourceIp}`;
  return `${change.at.replace('T', ' ').replace('Z', '')}  ${change.eventName.padEnd(16)}  ${target.join(' ')}  by ${change.actor}${from}${failed}`;
}

/**
 * Renders the inventory as text for a terminal or an e-mail: a heading with the counts, one table
 * of every key (user, key id, status, created, last used, creator, keysentry's sighting) with the
 * flagged keys first, each followed by its reasons in words and the `aws iam update-access-key …
 * --status Inactive` command that disables it; then the last day's IAM changes.
 */
export function formatKeyInventory(report: KeyInventory): string {
  const flagged = report.keys.filter((key) => key.flags.length > 0);
  const heading = `keysentry access keys, ${report.generatedAt.replace('T', ' ').replace('Z', ' UTC')}: ${report.keys.length} key${report.keys.length === 1 ? '' : 's'} of ${report.users} user${report.users === 1 ? '' : 's'}, ${flagged.length} flagged`;
  const lines = [heading, ''];
  const header = ['USER', 'ACCESS KEY', 'STATUS', 'CREATED', 'LAST USED', 'CREATED BY', 'KEYSENTRY'];
  const rows = report.keys.map((key) => [
    key.userName,
    key.accessKeyId,
    key.status,
    key.createdAt?.slice(0, 10) ?? '?',
    key.lastUsed === undefined ? 'never' : `${key.lastUsed.at.slice(0, 10)} ${key.lastUsed.service ?? ''}`.trim(),
    describeKeyCreator(key.creator),
    !report.baselinesRead ? '-' : key.seenByKeysentry === undefined ? 'never seen' : `seen ${key.seenByKeysentry.activeDays} day${key.seenByKeysentry.activeDays === 1 ? '' : 's'}`,
  ]);
  const [head, ...body] = table([header, ...rows]);
  if (report.keys.length === 0) lines.push('No access keys.');
  else {
    lines.push(head ?? '');
    report.keys.forEach((key, index) => {
      if (index === flagged.length && flagged.length > 0) lines.push('');
      lines.push(body[index] ?? '');
      if (key.flags.length === 0) return;
      const width = Math.max(...key.flags.map((flag) => flag.code.length));
      for (const flag of key.flags) lines.push(`    ${flag.code.padEnd(width)}  ${flag.message}`);
      lines.push(`    to disable it: ${key.deactivateCommand}`);
    });
  }
  if (!report.baselinesRead) lines.push('', 'keysentry baselines not read (no state table): not-in-baseline was not checked.');
  if (report.credentialReportError !== undefined) {
    lines.push('', `IAM credential report not read (${report.credentialReportError}): last use asked key by key; the root user's keys not checked.`);
  }
  if (!report.cloudTrail.available) {
    lines.push('', `CloudTrail's event history not read (${report.cloudTrail.reason}): creators unknown, the last day's IAM changes not listed.`);
    lines.push('  It needs cloudtrail:LookupEvents in the region IAM records its calls (us-east-1; --iam-events-region).');
    if (report.unreadableEvents > 0) lines.push('', `${report.unreadableEvents} CloudTrail event(s) could not be read and were left out.`);
    return `${lines.join('\n')}\n`;
  }
  lines.push('', `IAM CHANGES ${report.changes.since.replace('T', ' ').replace('Z', '')} .. ${report.changes.until.replace('T', ' ').replace('Z', ' UTC')}`);
  if (report.changes.events.length === 0) lines.push('  none');
  for (const change of report.changes.events) lines.push(`  ${describeChange(change)}`);
  if (report.unreadableEvents > 0) lines.push('', `${report.unreadableEvents} CloudTrail event(s) could not be read and were left out.`);
  return `${lines.join('\n')}\n`;
}

