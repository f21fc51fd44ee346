import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import type { ContainmentRecord } from './containment.ts';
import { composeEmail, STILL_ACTIVE_GRACE_MS, type PageCommands, type PageKind } from './page-email.ts';
import type { Incident } from '../domain/incident.ts';
import type { ContainmentBlock } from '../domain/policy.ts';
import type { ReasonCode } from '../domain/scoring.ts';

/** How urgent a page is: `critical` when the score reached the contain threshold, `high` for a page, `info` for the on-call's own steps. */
export type Severity = 'critical' | 'high' | 'info';

export { STILL_ACTIVE_GRACE_MS, type PageCommands, type PageKind } from './page-email.ts';

export interface PageOptions {
  /** The deployment runs dry: say "would have contained". Defaults to what the containment record says. */
  dryRun?: boolean;
  /** What the responder did; defaults to the incident's. */
  containment?: ContainmentRecord;
  commands?: PageCommands;
  /** Who made the last step, for the pages of the on-call's own steps. */
  by?: string;
  stillActiveGraceMs?: number;
}

/** A page ready for SNS: one message per protocol, and its attributes. */
export interface ComposedPage {
  signature: string;
  kind: PageKind;
  severity: Severity;
  subject: string;
  sms: string;
  email: string;
  publish: PublishInput;
}

/** `PublishCommand` input, less the topic: one message per protocol (`MessageStructure: json`) and its attributes. */
export interface PublishInput {
  Subject: string;
  Message: string;
  MessageStructure: 'json';
  MessageAttributes: Record<string, MessageAttributeValue>;
}

/**
 * The publish input of every keysentry message: one form per protocol (`default` is required by
 * SNS) and string attributes — `severity` and `action` at least — that subscription filter
 * policies match on.
 */
export function publishInput(
  subject: string,
  forms: { default: string } & Record<string, string>,
  attributes: { severity: Severity; action: string } & Record<string, string>,
): PublishInput {
  return {
    Subject: subject,
    Message: JSON.stringify(forms),
    MessageStructure: 'json',
    MessageAttributes: Object.fromEntries(
      Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
    ),
  };
}

/** One SMS segment: 160 GSM-7 characters. */
export const SMS_MAX = 160;

const SHORT_REASONS: Readonly<Record<ReasonCode, string>> = {
  'never-seen': 'never seen',
  'dormant-key': 'dormant key',
  'fresh-key': 'key created today',
  'recently-first-seen': 'new principal',
  'new-key': 'new key',
  'new-network': 'new IP',
  'new-tool': 'new tool',
  'new-bucket': 'new bucket',
  'bulk-read': 'bulk read',
  'above-fleet': 'above fleet',
  'bytes-out': 'large download',
  'persistent-read': 'kept reading',
  'dormant-key-read': 'dormant key reads',
  'version-listing': 'versions listed',
  'list-then-get-sweep': 'list+sweep',
  'read-then-delete': 'read then deleted',
  'mass-delete': 'mass delete',
  'version-delete': 'versions deleted',
  'versions-then-batch-delete': 'versions listed, batch deletes',
  'unitemized-batch-delete': 'batch deletes',
  'error-burst': 'error burst',
};

/** Whether the actor was seen acting later than containment plus the grace: the containment did not stop it. */
export function isActiveAfterContainment(incident: Incident, graceMs = STILL_ACTIVE_GRACE_MS): boolean {
  const record = incident.containment;
  // A release re-enabled the key on purpose: what the actor does next is not the containment failing.
  if (incident.status === 'released') return false;
  if (record === undefined || !record.ok || record.dryRun || record.blockedBy !== undefined) return false;
  return (incident.lastEventTime ?? Number.NEGATIVE_INFINITY) > record.at + graceMs;
}

function pageKindOf(incident: Incident, record: ContainmentRecord | undefined, graceMs: number): PageKind | undefined {
  if (incident.status === 'released') return 'released';
  if (record === undefined) {
    // A containment (real or dry run) is paged once the responder has run it, not before.
    if (incident.status === 'acknowledged') return 'acknowledged';
    if (incident.action === 'contain' || incident.blockedBy === 'dry-run') return undefined;
    return incident.blockedBy ? 'not-contained' : 'page';
  }
  if (isActiveAfterContainment({ ...incident, containment: record }, graceMs)) return 'active-after-containment';
  if (incident.status === 'acknowledged') return 'acknowledged';
  if (record.blockedBy !== undefined) return 'not-contained';
  if (record.dryRun) return 'would-contain';
  return record.ok ? 'contained' : 'containment-failed';
}

/**
 * The state a page reports, as a short string: a page is due when it differs from the incident's
 * `pagedState`. It changes with the status, the containment outcome, and once when the actor is
 * seen active after containment; evidence piling up under the cool-down does not change it.
 * `undefined` while a containment is decided but not yet run: the page waits for its outcome.
 */
export function pageSignature(incident: Incident, graceMs = STILL_ACTIVE_GRACE_MS): string | undefined {
  const kind = pageKindOf(incident, incident.containment, graceMs);
  if (kind === undefined) return undefined;
  const outcome = incident.containment === undefined ? (incident.blockedBy ?? incident.action) : containmentOutcome(incident.containment);
  const active = isActiveAfterContainment(incident, graceMs) ? '+active' : '';
  return `${incident.status}/${outcome}${active}`;
}

const containmentOutcome = (record: ContainmentRecord): string =>
  record.blockedBy !== undefined ? `blocked-${record.blockedBy}` : record.dryRun ? 'dry-run' : record.ok ? 'contained' : 'failed';

/** Whether the incident's current state has not been paged yet. */
export function isPageDue(incident: Incident, graceMs = STILL_ACTIVE_GRACE_MS): boolean {
  const signature = pageSignature(incident, graceMs);
  return signature !== undefined && signature !== incident.pagedState;
}

// --- text helpers -------------------------------------------------------------------------------

/** Latin letters NFKD does not split into a base letter and a mark. */
const LETTERS_WITHOUT_DECOMPOSITION: Readonly<Record<string, string>> = {
  Ø: 'O', ø: 'o', Æ: 'AE', æ: 'ae', Œ: 'OE', œ: 'oe', ß: 'ss', Ł: 'L', ł: 'l', Đ: 'D', đ: 'd', Þ: 'Th', þ: 'th', ı: 'i',
};

/**
 * GSM-7 text: one SMS segment holds 160 of its characters, but a single character outside it
 * (an accent SNS cannot map, an emoji, "…") turns the whole message into UCS-2 and 70-character
 * segments. Accents are folded, GSM's two-septet extension characters replaced, anything else
 * becomes "?". The result is ASCII, so its length is its size in septets and cutting it anywhere
 * cannot split a character.
 */
export function toGsmText(text: string): string {
  const folded = text.normalize('NFKD').replace(/\p{M}/gu, '');
  const replacements: Record<string, string> = {
    ...LETTERS_WITHOUT_DECOMPOSITION,
    '[': '(',
    ']': ')',
    '{': '(',
    '}': ')',
    '|': '/',
    '\\': '/',
    '~': '-',
    '^': '',
    '`': "'",
    '…': '...',
  };
  let out = '';
  for (const char of folded) {
    const replaced = replacements[char];
    if (replaced !== undefined) out += replaced;
    else if (char >= ' ' && char <= '~') out += char;
    else if (/\s/u.test(char)) out += ' ';
    else out += '?';
  }
  return out.replace(/\?{2,}/g, '?');
}

/** Cuts `text` to `max` characters, marking the cut with "..". */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 2) return text.slice(0, max);
  return `${text.slice(0, max - 2)}..`;
}

/** `AKIAFR5DZ5MDQX7IX7IB` → `AKIA...X7IB`: the prefix says its kind, the end tells keys apart. */
const shortKey = (key: string | undefined): string =>
  key === undefined ? '' : key.length > 12 ? `${key.slice(0, 4)}...${key.slice(-4)}` : key;

function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
}

const count = (n: number): string => n.toLocaleString('en-US');

// --- the SMS line -------------------------------------------------------------------------------

/** Who, in a few words: the key or session and the name a person recognises. */
function whoOf(incident: Incident): { label: string; name: string } {
  const { identity } = incident;
  const key = shortKey(incident.accessKeyId ?? identity.accessKeyId);
  switch (identity.type) {
    case 'iam-user-key':
      return { label: key ? `key ${key}` : 'user', name: identity.userName ?? incident.principal };
    case 'iam-user-temporary':
      return { label: `session ${key} of user`, name: identity.userName ?? incident.principal };
    case 'assumed-role':
      return { label: `role ${identity.roleName ?? incident.principal} session`, name: identity.sessionName ?? key };
    case 'anonymous':
      return { label: 'anonymous', name: incident.evidence.sourceIps[0] ?? '' };
    case 'cross-account':
      return { label: 'account', name: identity.accountId ?? incident.principal };
    case 'aws-service':
      return { label: 'service', name: identity.invokedBy ?? incident.principal };
    case 'root':
      return { label: 'root of', name: identity.accountId ?? incident.principal };
    default:
      return { label: identity.type, name: incident.principal.split('/').pop() ?? incident.principal };
  }
}

function amountOf(incident: Incident): { amount: string; span: string } {
  const { evidence } = incident;
  const parts: string[] = [];
  const read = Math.max(evidence.distinctObjects, evidence.gets);
  if (read > 0) parts.push(`${count(read)} objects read`);
  if (evidence.deletes > 0) parts.push(`${count(evidence.deletes)} deleted`);
  if (parts.length === 0 && evidence.lists > 0) parts.push(`${count(evidence.lists)} lists`);
  if (parts.length === 0 && evidence.errors > 0) parts.push(`${count(evidence.errors)} failed calls`);
  const end = incident.lastEventTime ?? incident.decisionTime;
  return { amount: parts.join(', '), span: `in ${formatDuration(end - incident.firstEventTime)}` };
}

const NOT_CONTAINABLE_STEP: Partial<Record<Incident['identityType'], string>> = {
  anonymous: 'Block public access.',
  'cross-account': 'Check the bucket policy.',
  'aws-service': 'Find who drives the service.',
  root: 'Secure root now.',
  federated: 'Disable the user at the IdP.',
};

function headAndStep(
  incident: Incident,
  kind: PageKind,
  record: ContainmentRecord | undefined,
  by: string | undefined,
): { head: string; step: string } {
  const id = incident.incidentId;
  switch (kind) {
    case 'contained': {
      const kinds = new Set(record?.actions.map((action) => action.kind));
      const step = kinds.has('deactivate-access-key')
        ? 'Key disabled.'
        : kinds.has('deny-role-sessions')
          ? 'Role sessions denied.'
          : kinds.has('deny-role-session')
            ? 'Session denied.'
            : 'Sessions denied.';
      return { head: `${id} CONTAINED`, step };
    }
    case 'containment-failed':
      return { head: `CONTAINMENT FAILED ${id}`, step: 'Act by hand: see email.' };
    case 'would-contain':
      return { head: `${id} WOULD CONTAIN (dry-run)`, step: 'Nothing changed.' };
    case 'not-contained': {
      const block: ContainmentBlock | undefined = record?.blockedBy ?? incident.blockedBy;
      if (block === 'protected') return { head: `${id} NOT CONTAINED (protected)`, step: 'Check with its owner.' };
      if (block === 'own-role') return { head: `${id} NOT CONTAINED (keysentry role)`, step: 'Check it.' };
      if (block === 'dry-run') return { head: `${id} WOULD CONTAIN (dry-run)`, step: 'Nothing changed.' };
      if (block === 'unverified-evidence') {
        return { head: `${id} NOT CONTAINED (unverified evidence)`, step: 'Log file not yet vouched for by its CloudTrail digest.' };
      }
      if (block === 'foreign-account') return { head: `${id} NOT CONTAINED (another account)`, step: 'See email.' };
      return { head: `${id} NOT CONTAINABLE`, step: NOT_CONTAINABLE_STEP[incident.identityType] ?? 'See email.' };
    }
    case 'page':
      return { head: `${id} ALERT`, step: 'Check it.' };
    case 'active-after-containment':
      return { head: `${id} STILL ACTIVE after containment`, step: 'See email.' };
    case 'acknowledged':
      return { head: `${id} ACKED${by ? ` by ${by}` : ''}`, step: '' };
    case 'released':
      return { head: `${id} RELEASED${by ? ` by ${by}` : ''}`, step: record?.actions.length ? 'Access restored.' : '' };
  }
}

/**
 * The SMS line: incident id, what happened to whom, how much, the strongest reasons, what was
 * done — at most 160 GSM-7 characters. When it does not fit, the weakest reasons go first, then
 * the time span, then the name is shortened; the id, the outcome and the step always stay.
 */
function composeSms(incident: Incident, kind: PageKind, record: ContainmentRecord | undefined, by: string | undefined): string {
  const { head, step } = headAndStep(incident, kind, record, by);
  const who = whoOf(incident);
  const { amount, span } = amountOf(incident);
  const reasons = [...incident.reasons].sort((a, b) => b.points - a.points).map((reason) => SHORT_REASONS[reason.code] ?? reason.code);
  const gsm = {
    head: toGsmText(head),
    step: toGsmText(step),
    label: toGsmText(who.label),
    name: toGsmText(who.name),
    amount: toGsmText(amount),
    span: toGsmText(span),
  };
  const render = (name: string, withSpan: boolean, reasonCount: number): string => {
    const what = [gsm.amount && withSpan ? `${gsm.amount} ${gsm.span}` : gsm.amount, ...reasons.slice(0, reasonCount)].filter(Boolean);
    const subject = [gsm.head, gsm.label, name].filter(Boolean).join(' ');
    const body = what.length > 0 ? `: ${what.join(', ')}.` : '.';
    return `${subject}${body}${gsm.step ? ` ${gsm.step}` : ''}`;
  };
  for (let reasonCount = reasons.length; reasonCount >= 0; reasonCount--) {
    const line = render(gsm.name, true, reasonCount);
    if (line.length <= SMS_MAX) return line;
  }
  const bare = render('', false, 0);
  const room = SMS_MAX - bare.length - 1;
  if (room >= 6) return render(clip(gsm.name, room), false, 0);
  // The label alone is too long (a 64-character role name): the id, the outcome and the step stay.
  const tail = gsm.step ? ` ${gsm.step}` : '';
  const rest = `${gsm.label} ${gsm.name}${gsm.amount ? `: ${gsm.amount}.` : '.'}`;
  const middle = clip(rest, Math.max(0, SMS_MAX - gsm.head.length - tail.length - 1));
  return clip(`${gsm.head} ${middle}${tail}`, SMS_MAX);
}

// --- the e-mail ---------------------------------------------------------------------------------

const SEVERITY_BY_KIND: Readonly<Record<PageKind, Severity | undefined>> = {
  contained: 'critical',
  'containment-failed': 'critical',
  'would-contain': 'critical',
  'active-after-containment': 'critical',
  'not-contained': undefined,
  page: 'high',
  acknowledged: 'info',
  released: 'info',
};

/**
 * Composes the page for the incident's current state, for an SNS publish with
 * `MessageStructure: 'json'`: `sms` (one line of at most 160 GSM-7 characters: what, who, how
 * much, what was done, the incident id; "CONTAINMENT FAILED" first when containment failed,
 * "WOULD CONTAIN (dry-run)" in dry run), `email` (reasons with their numbers, evidence, timeline,
 * the `keysentry incidents` commands and the raw `aws iam` undo commands), `sqs` (the same as
 * JSON, for machine subscribers) and `default`. Attributes `severity` and `action` let
 * subscriptions filter. Throws nothing; an incident still waiting for its containment gets the
 * page of its decision.
 */
export function composePage(incident: Incident, options: PageOptions = {}): ComposedPage {
  const graceMs = options.stillActiveGraceMs ?? STILL_ACTIVE_GRACE_MS;
  let record = options.containment ?? incident.containment;
  if (options.dryRun && record !== undefined && !record.dryRun) record = { ...record, dryRun: true };
  const kind = pageKindOf(incident, record, graceMs) ?? (incident.blockedBy ? 'not-contained' : 'page');
  const signature = pageSignature({ ...incident, containment: record }, graceMs) ?? `${incident.status}/pending`;
  const contained = incident.action === 'contain' || incident.blockedBy !== undefined;
  const severity = SEVERITY_BY_KIND[kind] ?? (contained ? 'critical' : 'high');
  const sms = composeSms(incident, kind, record, options.by);
  const email = composeEmail(incident, kind, record, options.commands, sms);
  // SNS e-mail subjects: ASCII, no line breaks, under 100 characters; the SMS line is ASCII already.
  const subject = clip(`[keysentry] ${sms.split(':')[0] ?? incident.incidentId}`, 99);
  const document = {
    incidentId: incident.incidentId,
    kind,
    severity,
    status: incident.status,
    signature,
    actor: incident.actor,
    principal: incident.principal,
    score: incident.score,
    sms,
    email,
  };
  const message = { default: `${sms}\n\n${email}`, sms, email, sqs: JSON.stringify(document) };
  return {
    signature,
    kind,
    severity,
    subject,
    sms,
    email,
    publish: publishInput(subject, message, { severity, action: kind, incidentId: incident.incidentId }),
  };
}

/** Publishes a page to the topic; returns SNS's message id. SNS errors are thrown to the caller, who keeps the incident unpaged. */
export async function publishPage(sns: SNSClient, topicArn: string, page: ComposedPage): Promise<string> {
  const { MessageId } = await sns.send(new PublishCommand({ TopicArn: topicArn, ...page.publish }));
  return MessageId ?? '';
}
