import { eventTimeOf, textAt, type PeerAlert, type PeerTiming, type RawRecord } from './peer-alert.ts';

/**
 * Splunk's "AWS Exfiltration via Anomalous GetObject API Activity", as published in
 * splunk/security_content, detections/cloud/aws_exfiltration_via_anomalous_getobject_api_activity.yml
 * (commit cf169b3de002c8483b0342ab5ed088ff3b539e16):
 *
 *   `cloudtrail` eventName=GetObject | bin _time span=10m
 *   | stats count values(requestParameters.bucketName) as bucketName
 *       by _time src_ip aws_account_id user_type user_arn userIdentity.principalId
 *   | anomalydetection "count" "user_type" "user_arn" action=annotate | search probable_cause=*
 *
 * scheduled as every Anomaly detection (deployments/escu_default_configuration_anomaly.yml):
 * cron `0 * * * *`, earliest -70m@m, latest -10m@m. `stats … by` drops rows that lack a by-field
 * (a caller of another account has no `userIdentity.arn`). `anomalydetection` (method=histogram)
 * scores each row with the product of its fields' frequencies — a categorical value's share of
 * the rows, a number's histogram-bin share — and flags rows whose log-probability falls below
 * Q1 − 1.5·IQR of all rows' (Splunk's documented formula with cutoff=false; its default
 * cutoff=true narrows that in an unpublished way, so this flags at least as many rows). Splunk
 * does not publish its bin count; this uses Sturges' rule.
 */
export const SPLUNK_ANOMALOUS_GETOBJECT = 'splunk: anomalous GetObject per ARN';

export interface SplunkScheduleOptions extends PeerTiming {
  cronMs?: number;
  earliestMs?: number;
  latestMs?: number;
  binMs?: number;
}

interface Row {
  bin: number;
  entity: string;
  userType: string;
  userArn: string;
  ids: string[];
}

export function splunkAnomalousGetObject(records: readonly RawRecord[], options: SplunkScheduleOptions = {}): PeerAlert[] {
  const cron = options.cronMs ?? 3_600_000;
  const earliest = options.earliestMs ?? 70 * 60_000;
  const latest = options.latestMs ?? 10 * 60_000;
  const span = options.binMs ?? 600_000;
  const delay = options.ingestDelayMs ?? 0;
  const rowsByBin = new Map<number, Map<string, Row>>();
  let first = Infinity;
  let last = -Infinity;
  for (const record of records) {
    if (textAt(record, '', 'eventName') !== 'GetObject') continue;
    const fields = ['sourceIPAddress', 'recipientAccountId'].map((name) => textAt(record, '', name));
    const userType = textAt(record, '', 'userIdentity', 'type');
    const userArn = textAt(record, '', 'userIdentity', 'arn');
    const principalId = textAt(record, '', 'userIdentity', 'principalId');
    const at = eventTimeOf(record) + delay;
    if ([...fields, userType, userArn, principalId].includes('') || !Number.isFinite(at)) continue;
    const bin = Math.floor(at / span) * span;
    first = Math.min(first, bin);
    last = Math.max(last, bin);
    const entity = `${userArn} ${fields[0]} ${principalId} ${fields[1]}`;
    let rows = rowsByBin.get(bin);
    if (rows === undefined) rowsByBin.set(bin, (rows = new Map()));
    let row = rows.get(entity);
    if (row === undefined) rows.set(entity, (row = { bin, entity, userType, userArn, ids: [] }));
    row.ids.push(textAt(record, '', 'eventID'));
  }
  const alerts: PeerAlert[] = [];
  if (first === Infinity) return alerts;
  for (let run = Math.ceil((first + span) / cron) * cron; run - latest <= last + span; run += cron) {
    const rows: Row[] = [];
    for (let bin = run - earliest; bin < run - latest; bin += span) rows.push(...(rowsByBin.get(bin)?.values() ?? []));
    for (const row of flagAnomalies(rows)) {
      alerts.push({ rule: SPLUNK_ANOMALOUS_GETOBJECT, at: run, entity: row.userArn, eventIds: row.ids });
    }
  }
  return alerts;
}

/** `anomalydetection "count" "user_type" "user_arn"` (method=histogram) over one run's rows. */
function flagAnomalies(rows: readonly Row[]): Row[] {
  if (rows.length < 2) return [];
  const share = (values: string[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
    return new Map([...counts].map(([value, n]) => [value, n / values.length]));
  };
  const types = share(rows.map((row) => row.userType));
  const arns = share(rows.map((row) => row.userArn));
  const counts = rows.map((row) => row.ids.length);
  const bins = Math.ceil(Math.log2(rows.length)) + 1;
  const low = Math.min(...counts);
  const width = (Math.max(...counts) - low) / bins || 1;
  const binOf = (n: number): number => Math.min(bins - 1, Math.floor((n - low) / width));
  const countShare = share(counts.map((n) => String(binOf(n))));
  const logs = rows.map(
    (row) =>
      Math.log(types.get(row.userType) as number) +
      Math.log(arns.get(row.userArn) as number) +
      Math.log(countShare.get(String(binOf(row.ids.length))) as number),
  );
  const sorted = [...logs].sort((a, b) => a - b);
  const q1 = quantile(sorted, 0.25);
  const threshold = q1 - 1.5 * (quantile(sorted, 0.75) - q1);
  return rows.filter((_, i) => (logs[i] as number) < threshold);
}

function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return (sorted[below] as number) + ((sorted[above] as number) - (sorted[below] as number)) * (position - below);
}
