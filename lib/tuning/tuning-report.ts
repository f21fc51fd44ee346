import type { BaselineChange, ChangeReason, ChartData, TuningReport } from './tuning.ts';
import { formatIsoMinute } from '../domain/text-format.ts';

const show = (value: number | null): string => (value === null ? '-' : String(value));

const REASON_TEXT: Record<ChangeReason, string> = {
  'volume-shift': 'volume shift',
  'first-volume': 'first volume baseline',
  'widened-by-verdict': 'widened by a benign verdict',
  'attack-excluded': 'attack windows left out',
  vouched: 'vouched for (familiar)',
  promoted: 'now familiar',
  forgotten: 'forgotten (gone 90 days)',
  unlearned: 'under suspicion: what its incident taught taken back',
};

function describeChange(change: BaselineChange): string {
  const { oldP99, newP99 } = change;
  const shift = oldP99 !== null && newP99 !== null && oldP99 > 0 ? ` (${newP99 >= oldP99 ? '+' : ''}${Math.round((100 * (newP99 - oldP99)) / oldP99)}%)` : '';
  const why = change.reasons.map((reason) => REASON_TEXT[reason] + (reason === 'volume-shift' ? shift : '')).join(', ');
  const incidents = change.incidentIds.length > 0 ? ` [${change.incidentIds.join(', ')}]` : '';
  return `${show(oldP99)} -> ${show(newP99)} (max ${show(change.oldMax)} -> ${show(change.newMax)})  ${why}${incidents}`;
}

/**
 * The weekly report as e-mail text: the backtest first (what happened last week, what the old and
 * the new parameters would have done), the page threshold, each principal's objects-read p99 per
 * window before and after with why, the promoted and forgotten, and the noisiest actors.
 */
export function formatTuningReport(report: TuningReport, options: { rollbackCommand?: string } = {}): string {
  const { backtest, thresholds } = report;
  const lines: string[] = [];
  const since = report.previousVersion === undefined ? 'the first version' : `replaces version ${report.previousVersion}`;
  lines.push(`keysentry weekly tuning: version ${report.version} at ${formatIsoMinute(report.tunedAt)} (${since})`);
  lines.push(`Learned from ${report.windows} windows of ${report.principals} principals.`);
  lines.push('');
  lines.push(`BACKTEST  ${formatIsoMinute(backtest.from)} -> ${formatIsoMinute(backtest.to)}: ${backtest.windows} windows of ${backtest.actors} actors`);
  lines.push(`  what happened:        paged ${backtest.actual.paged}, contained ${backtest.actual.contained} (verdicts: ${backtest.actual.benign} benign, ${backtest.actual.confirmed} confirmed)`);
  lines.push(`  old parameters would: paged ${backtest.old.paged}, contained ${backtest.old.contained}`);
  lines.push(`  new parameters would: paged ${backtest.new.paged}, contained ${backtest.new.contained}`);
  for (const actor of backtest.changedActors.slice(0, 10)) lines.push(`    ${actor.actor} (${actor.principal}): ${actor.old} -> ${actor.new}`);
  lines.push('');
  const tried = thresholds.tried.map((t) => `${t.incidents} at ${t.pageThreshold}`).join(', ');
  const moved = thresholds.new.pageThreshold === thresholds.old.pageThreshold ? 'unchanged' : `${thresholds.old.pageThreshold} -> ${thresholds.new.pageThreshold}`;
  lines.push(`PAGE THRESHOLD  ${moved} (contain ${thresholds.new.containThreshold}; target ${thresholds.targetPagesPerWeek} pages a week; last week's windows on the new baselines: ${tried})`);
  lines.push('');
  lines.push('BASELINES  objects read per window, p99 old -> new');
  if (report.changes.length === 0) lines.push('  no change worth a line');
  const width = Math.max(0, ...report.changes.slice(0, 40).map((c) => c.principal.length));
  for (const change of report.changes.slice(0, 40)) lines.push(`  ${change.principal.padEnd(width)}  ${describeChange(change)}`);
  if (report.changes.length > 40) lines.push(`  … and ${report.changes.length - 40} more`);
  lines.push('');
  lines.push(`PROMOTED (familiar now)  ${report.promoted.length === 0 ? 'none' : report.promoted.join(', ')}`);
  const unlearned = report.unlearned ?? [];
  lines.push(`UNLEARNED (incident without a benign verdict: stays unfamiliar)  ${unlearned.length === 0 ? 'none' : unlearned.join(', ')}`);
  lines.push(`FORGOTTEN (not seen for 90 days)  ${report.forgotten.length === 0 ? 'none' : report.forgotten.join(', ')}`);
  lines.push('');
  lines.push('NOISIEST  windows reading at least half the bulk-read threshold');
  if (report.noisiest.length === 0) lines.push('  none');
  for (const noisy of report.noisiest) {
    lines.push(`  ${noisy.actor} (${noisy.principal}): ${noisy.windowsAboveHalf} of ${noisy.windows} windows, peak ${noisy.peak}, threshold ${noisy.threshold}`);
  }
  if (options.rollbackCommand !== undefined) {
    lines.push('');
    lines.push(`Undo this version: ${options.rollbackCommand}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One SMS line (ASCII, at most 160 characters): version, changes, threshold and the backtest. */
export function formatTuningSms(report: TuningReport): string {
  const { thresholds, backtest } = report;
  const threshold =
    thresholds.new.pageThreshold === thresholds.old.pageThreshold ? '' : ` page>=${thresholds.old.pageThreshold}->${thresholds.new.pageThreshold},`;
  const text = `keysentry tune v${report.version}: ${report.changes.length} baselines changed,${threshold} last week would page ${backtest.new.paged + backtest.new.contained} (was ${backtest.old.paged + backtest.old.contained}, real ${backtest.actual.paged + backtest.actual.contained}). Report by e-mail.`;
  return text.length <= 160 ? text : `${text.slice(0, 159)}.`;
}

const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

const PALETTE = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

/** Round tick values from 0 to at least `peak`: 1, 2 or 5 times a power of ten apart, at most `most` intervals. */
export function axisTicks(peak: number, most = 5): number[] {
  const raw = Math.max(1, peak) / most;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= raw) ?? 10 * power);
  const ticks: number[] = [];
  for (let value = 0; ticks.length === 0 || (ticks[ticks.length - 1] as number) < peak; value += step) ticks.push(Math.round(value * 1e6) / 1e6);
  return ticks;
}

const LEGEND =
  '<g font-size="11"><line x1="70" y1="36" x2="94" y2="36" stroke="#d62728" stroke-width="2" stroke-dasharray="6 3"/><text x="100" y="40">threshold after this run</text>' +
  '<line x1="250" y1="36" x2="274" y2="36" stroke="#999999" stroke-width="1.5" stroke-dasharray="2 3"/><text x="280" y="40">threshold in force last week</text>' +
  '<circle cx="450" cy="36" r="3.5" fill="#d62728"/><text x="460" y="40">at or over last week\'s threshold</text>' +
  '<circle cx="640" cy="36" r="6" fill="none" stroke="#000000" stroke-width="1.5"/><text x="652" y="40">incident (decision)</text></g>';

interface Panel {
  left: number;
  top: number;
  width: number;
  height: number;
  count: number;
}

function renderPanel(out: string[], chart: ChartData, series: ChartData['series'][number], panel: Panel, color: string): void {
  const { left, top, width, height, count } = panel;
  const ticks = axisTicks(Math.max(1, series.threshold, series.oldThreshold, ...series.values));
  const yMax = ticks[ticks.length - 1] as number;
  const x = (index: number): number => left + (width * index) / Math.max(1, count - 1);
  const y = (value: number): number => top + height - (height * value) / yMax;
  const more = series.actorCount > series.actors.length ? ` and ${series.actorCount - series.actors.length} more` : '';
  const actors = series.actors.length === 1 && series.actors[0] === series.principal ? '' : ` — ${series.actorCount} actor${series.actorCount === 1 ? '' : 's'}: ${series.actors.join(', ')}${more}`;
  out.push(`<g class="principal" data-principal="${escapeXml(series.principal)}">`);
  out.push(`<text x="${left}" y="${top - 4}" font-weight="bold">${escapeXml(series.principal)}<tspan font-weight="normal">${escapeXml(actors)}</tspan></text>`);
  for (const tick of ticks) {
    out.push(`<line class="tick" x1="${left - 4}" y1="${y(tick).toFixed(1)}" x2="${left + width}" y2="${y(tick).toFixed(1)}" stroke="${tick === 0 ? '#333333' : '#eeeeee'}"/>`);
    out.push(`<text class="tick-label" x="${left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${tick}</text>`);
  }
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + height}" stroke="#333333"/>`);
  out.push(`<text transform="translate(${left - 44} ${top + height / 2}) rotate(-90)" text-anchor="middle">objects</text>`);
  const windowsPerDay = Math.max(1, Math.round(86_400_000 / chart.windowMs));
  for (let index = 0; index < count; index++) {
    if ((chart.fromWindow + index) % windowsPerDay !== 0) continue;
    const day = new Date((chart.fromWindow + index) * chart.windowMs).toISOString().slice(5, 10);
    out.push(`<line x1="${x(index).toFixed(1)}" y1="${top + height}" x2="${x(index).toFixed(1)}" y2="${top + height + 4}" stroke="#333333"/>`);
    out.push(`<text x="${x(index).toFixed(1)}" y="${top + height + 15}" text-anchor="middle">${day}</text>`);
  }
  out.push(`<polyline class="volume" fill="none" stroke="${color}" stroke-width="1.2" points="${series.values.map((value, index) => `${x(index).toFixed(1)},${y(value).toFixed(1)}`).join(' ')}"/>`);
  const line = (cls: string, value: number, style: string): string =>
    `<line class="${cls}" x1="${left}" y1="${y(value).toFixed(1)}" x2="${left + width}" y2="${y(value).toFixed(1)}" ${style}/>`;
  out.push(line('threshold', series.threshold, 'stroke="#d62728" stroke-width="2" stroke-dasharray="6 3"'));
  out.push(`<text x="${left + width}" y="${(y(series.threshold) - 3).toFixed(1)}" text-anchor="end" fill="#d62728">threshold ${series.threshold}</text>`);
  if (series.oldThreshold !== series.threshold) {
    out.push(line('old-threshold', series.oldThreshold, 'stroke="#999999" stroke-width="1.5" stroke-dasharray="2 3"'));
    out.push(`<text x="${left + 4}" y="${(y(series.oldThreshold) - 3).toFixed(1)}" fill="#777777">was ${series.oldThreshold}</text>`);
  }
  series.values.forEach((value, index) => {
    // Judged against the threshold in force when it happened: a run cannot hide a spike it learned.
    if (value > 0 && value >= series.oldThreshold) {
      const when = new Date((chart.fromWindow + index) * chart.windowMs).toISOString();
      out.push(`<circle class="over" cx="${x(index).toFixed(1)}" cy="${y(value).toFixed(1)}" r="3.5" fill="#d62728"><title>${when}: ${value} objects</title></circle>`);
    }
  });
  for (const mark of series.incidents) {
    const value = series.values[mark.index] ?? 0;
    out.push(
      `<circle class="incident" data-incident="${escapeXml(mark.incidentId)}" cx="${x(mark.index).toFixed(1)}" cy="${y(value).toFixed(1)}" r="6" fill="none" stroke="#000000" stroke-width="1.5"><title>${escapeXml(mark.incidentId)}: ${mark.action}</title></circle>`,
      `<text x="${(x(mark.index) + 8).toFixed(1)}" y="${(y(value) - 6).toFixed(1)}">${escapeXml(mark.incidentId)}</text>`,
    );
  }
  out.push('</g>');
}

/**
 * A self-contained SVG of the week: one panel per principal (those with incidents first, then the
 * noisiest), the most objects any of its actors read per window (with the window before: what the
 * scoring looks at) as a line against round y-axis ticks, the bulk-read threshold after the run
 * dashed red and the one in force during the week dotted grey; windows at or over the week's
 * threshold are red dots, incidents black rings at their decision; days along the x axis.
 */
export function renderVolumeChart(data: TuningReport | ChartData): string {
  const chart = 'chart' in data ? data.chart : data;
  const width = 960;
  const panelHeight = 160;
  const left = 74;
  const top = 56;
  const plotWidth = width - left - 20;
  const count = Math.max(1, chart.toWindow - chart.fromWindow + 1);
  const height = top + Math.max(1, chart.series.length) * panelHeight + 30;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<title>keysentry: objects read per window against the bulk-read threshold</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">Objects read per window, last week, per principal, against its threshold</text>`);
  out.push(LEGEND);
  if (chart.series.length === 0) out.push(`<text x="${left}" y="${top + 40}">No activity last week.</text>`);
  chart.series.forEach((series, index) => {
    const panel = { left, top: top + index * panelHeight + 16, width: plotWidth, height: panelHeight - 44, count };
    renderPanel(out, chart, series, panel, PALETTE[index % PALETTE.length] as string);
  });
  out.push(`<text x="${left + plotWidth / 2}" y="${height - 8}" text-anchor="middle">day (UTC), ${Math.round(chart.windowMs / 60_000)}-minute windows</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
