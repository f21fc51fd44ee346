import type { ReplayIncident, ReplaySummary } from '../engine/replay.ts';
import { formatNumber, formatReason } from '../domain/reason-format.ts';

/** The readable incident table of `keysentry replay`. */
export function formatIncidentTable(incidents: readonly ReplayIncident[]): string {
  if (incidents.length === 0) return 'No incidents.\n';
  const lines: string[] = [];
  for (const incident of incidents) {
    const action = incident.action === 'contain' ? 'CONTAIN' : incident.blockedBy ? `PAGE (not contained: ${incident.blockedBy})` : 'PAGE';
    lines.push(
      `${incident.incidentId}  ${action}  score ${incident.score}  decided ${incident.decisionTime}  (activity since ${incident.firstEventTime})`,
      `  who:    ${incident.actor} — ${incident.identityType}, principal ${incident.principal}`,
      `  before the decision: ${incident.getsBeforeDecision} objects read, ${incident.deletesBeforeDecision} deleted`,
      ...incident.reasons.map((reason) => `  ${formatReason(reason)}`),
      '',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The closing summary of `keysentry replay`: what was read, skipped and rejected, and why. */
export function formatSummary(summary: ReplaySummary): string {
  const byReason = (counts: Record<string, number>): string =>
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => `${reason} ${formatNumber(n)}`)
      .join(', ') || 'none';
  const lines = [
    `Read ${formatNumber(summary.files)} files, ${formatNumber(summary.records)} records (${summary.firstEventTime ?? '-'} .. ${summary.lastEventTime ?? '-'})`,
    `Scored ${formatNumber(summary.events)} S3 data events of ${formatNumber(summary.actors)} actors in ${formatNumber(summary.batches)} batches, ${summary.tunings} tunings`,
    `Skipped: ${byReason(summary.skipped)}; duplicates ${formatNumber(summary.duplicates)}`,
    summary.order === 'delivery'
      ? `Order: decided while reading, files by delivery stamp, at most ${formatNumber(summary.heldToReorder)} events held to reorder` +
        (summary.lateEvents > 0 ? `; ${formatNumber(summary.lateEvents)} delivered later than --reorder-window, decided as they came (--sort-all puts them in place)` : '')
      : `Order: every record sorted first${summary.sortRuns > 0 ? `, on disk in ${formatNumber(summary.sortRuns)} ${summary.sortRuns === 1 ? 'run' : 'runs'}` : ''}`,
    `Rejected: ${byReason(summary.rejected)}`,
    ...Object.entries(summary.rejectedExamples).map(([reason, sources]) => `  ${reason}: e.g. ${sources.join(', ')}`),
    `Incidents: ${summary.incidents} (${summary.contained} contained, ${summary.paged} paged)`,
    `Store writes: ${formatNumber(summary.storeWrites)} (${summary.storeWritesPerThousandEvents} per 1,000 events)`,
    `Elapsed ${formatNumber(summary.elapsedMs)} ms, ${formatNumber(summary.eventsPerSecond)} events/s`,
  ];
  return `${lines.join('\n')}\n`;
}
