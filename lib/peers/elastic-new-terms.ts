import { eventTimeOf, isIpAddress, textAt, type PeerAlert, type PeerTiming, type RawRecord } from './peer-alert.ts';

/**
 * Elastic's "AWS IAM Long-Term Access Key First Seen from Source IP", as published in
 * elastic/detection-rules, rules/integrations/aws/credential_access_iam_long_term_access_key_first_seen_from_source_ip.toml
 * (commit deab1c01615219912ef069aafcc873a8be81aed7): a new_terms rule on
 * [aws.cloudtrail.user_identity.access_key_id, source.ip] over
 * `event.outcome: "success" and source.ip:* and aws.cloudtrail.user_identity.access_key_id: AKIA*`,
 * history window now-10d, `from = "now-6m"`, the default interval of 5 minutes, and
 * `timestamp_override = "event.ingested"`.
 *
 * Each run at time t alerts on every (key, address) pair that occurs in [t − 6 min, t) and did
 * not occur in the history [t − 10 d, t − 6 min). The runs overlap by a minute, so a pair first
 * seen in that minute alerts twice, as it would in Kibana.
 */
export const ELASTIC_NEW_TERMS = 'elastic: long-term key first seen from source IP';

export interface NewTermsOptions extends PeerTiming {
  intervalMs?: number;
  lookbackMs?: number;
  historyMs?: number;
}

export function elasticKeyFirstSeenFromIp(records: readonly RawRecord[], options: NewTermsOptions = {}): PeerAlert[] {
  const interval = options.intervalMs ?? 300_000;
  const lookback = options.lookbackMs ?? 360_000;
  const history = options.historyMs ?? 10 * 86_400_000;
  const delay = options.ingestDelayMs ?? 0;
  const terms = new Map<string, Array<{ at: number; id: string }>>();
  for (const record of records) {
    const key = textAt(record, '', 'userIdentity', 'accessKeyId');
    const ip = textAt(record, '', 'sourceIPAddress');
    // event.outcome is "failure" when CloudTrail recorded an errorCode.
    if (!key.startsWith('AKIA') || !isIpAddress(ip) || textAt(record, '', 'errorCode') !== '') continue;
    const at = eventTimeOf(record) + delay;
    if (!Number.isFinite(at)) continue;
    const term = `${key} ${ip}`;
    let list = terms.get(term);
    if (list === undefined) terms.set(term, (list = []));
    list.push({ at, id: textAt(record, '', 'eventID') });
  }
  const alerts: PeerAlert[] = [];
  for (const [term, occurrences] of terms) {
    occurrences.sort((a, b) => a.at - b.at);
    occurrences.forEach((first, i) => {
      const previous = i === 0 ? undefined : (occurrences[i - 1] as { at: number }).at;
      // Only an occurrence after a silence longer than the history can be the first of a run's window.
      if (previous !== undefined && first.at - previous <= history - lookback) return;
      for (let run = (Math.floor(first.at / interval) + 1) * interval; run - lookback <= first.at; run += interval) {
        if (previous !== undefined && previous >= run - history) continue;
        const ids = occurrences.filter((o) => o.at >= run - lookback && o.at < run).map((o) => o.id);
        alerts.push({ rule: ELASTIC_NEW_TERMS, at: run, entity: term, eventIds: ids });
      }
    });
  }
  return alerts.sort((a, b) => a.at - b.at);
}
