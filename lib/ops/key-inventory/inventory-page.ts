import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { publishInput, SMS_MAX, toGsmText, type PublishInput } from '../../aws/paging.ts';
import { InventoryError } from '../../domain/errors.ts';
import { FLAG_RULES } from './flag-rules.ts';
import { countFlags, formatKeyInventory } from './inventory-format.ts';
import type { InventoryKey, KeyInventory } from './inventory-types.ts';

const HIGH_FLAGS: ReadonlySet<string> = new Set(FLAG_RULES.filter((rule) => rule.high).map((rule) => rule.code));
const WORDS: ReadonlyMap<string, string> = new Map(FLAG_RULES.map((rule) => [rule.code, rule.words]));

/** Whether a key carries a flag that makes the report a `high` page: a key that should probably not exist at all. */
export const isHighKey = (key: InventoryKey): boolean => key.flags.some((flag) => HIGH_FLAGS.has(flag.code));

/** The inventory as an SNS page: one message per protocol, and the attributes subscriptions filter on. */
export interface InventoryPage {
  severity: 'high' | 'info';
  subject: string;
  sms: string;
  email: string;
  publish: PublishInput;
}

/** SNS takes 256 KB per message, every protocol's form included: each long form gets at most this. */
const LONG_FORM_MAX_BYTES = 100_000;

function fitLongForm(body: string): string {
  if (Buffer.byteLength(body) <= LONG_FORM_MAX_BYTES) return body;
  const note = '\n... cut to fit one SNS message: `keysentry keys` prints the whole inventory.\n';
  let cut = body;
  while (Buffer.byteLength(cut) + note.length > LONG_FORM_MAX_BYTES) cut = cut.slice(0, Math.floor(cut.length * 0.9));
  return cut.slice(0, cut.lastIndexOf('\n') + 1) + note;
}

/**
 * Composes the daily inventory page for an SNS publish with `MessageStructure: 'json'`: `sms`
 * (one GSM-7 line of at most 160 characters: `keysentry keys: 2 flagged (1 active never used, 1
 * creator gone)`), `email` and `default` (the `formatKeyInventory` text, cut to fit SNS's size
 * limit), and attributes `severity` (`high` when a key is flagged `active-never-used` or
 * `creator-gone`, else `info`) and `action` = `inventory`.
 */
export function composeInventoryPage(report: KeyInventory): InventoryPage {
  const flagged = report.keys.filter((key) => key.flags.length > 0).length;
  const severity = report.keys.some(isHighKey) ? 'high' : 'info';
  const counts = countFlags(report).map(({ code, keys }) => `${keys} ${WORDS.get(code) ?? code}`);
  const changes = report.changes.events.length;
  const summary =
    flagged === 0 ? `${report.keys.length} keys, none flagged` : `${flagged} flagged (${counts.join(', ')})`;
  const changed = changes === 0 ? '' : `; ${changes} IAM change${changes === 1 ? '' : 's'} in the last day`;
  const line = toGsmText(`keysentry keys: ${summary}${changed}`);
  const sms = line.length <= SMS_MAX ? line : `${line.slice(0, SMS_MAX - 2)}..`;
  const email = fitLongForm(formatKeyInventory(report));
  // SNS e-mail subjects: ASCII, one line, under 100 characters.
  const subject = `[keysentry] access keys: ${flagged === 0 ? 'none flagged' : `${flagged} flagged`}`;
  return {
    severity,
    subject,
    sms,
    email,
    publish: publishInput(subject, { default: email, email, sms }, { severity, action: 'inventory' }),
  };
}

/**
 * Publishes the inventory's page to the pages topic (phones get it only when `high`, through the
 * topic's filter policy); returns SNS's message id. A failed publish throws `InventoryError`.
 */
export async function publishInventory(sns: SNSClient, topicArn: string, page: InventoryPage): Promise<string> {
  try {
    const { MessageId = '' } = await sns.send(new PublishCommand({ TopicArn: topicArn, ...page.publish }));
    return MessageId;
  } catch (error) {
    throw new InventoryError(`publishing the key inventory to ${topicArn} failed`, { cause: error });
  }
}
