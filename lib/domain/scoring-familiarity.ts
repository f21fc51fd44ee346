import { DAY_MS, HOUR_MS } from './duration.ts';
import type { Baseline } from './baseline.ts';
import type { Reason, ReasonCode, ScoreInput, ScoringSettings } from './scoring-types.ts';
import type { WindowStats } from './window-counter.ts';


/** What tells whether an actor is familiar, before its activity is looked at. */
export type WhoInput = Pick<ScoreInput, 'identity' | 'principal' | 'key' | 'keyCreatedAt' | 'now' | 'settings'>;

/** How familiar an actor is, and which floors its activity is measured against. */
export interface Familiarity {
  reasons: Reason[];
  /**
   * Whether the unfamiliar floors apply: a principal never seen or seen for under a week, a new or
   * dormant key, or a familiar principal in a context new to it (see `newContext`): its history
   * says nothing about what it does from there.
   */
  unfamiliar: boolean;
  /**
   * Whether the actor is in a context its principal was never in: network and tool both new, or,
   * for a console session, whose tools are the console's whoever holds it, the network.
   */
  newContext: boolean;
}

/** A duration as a person reads it: `20 s`, `14 min`, `3 h`, `2.5 days`. */
export const formatAge = (ms: number): string => {
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (ms < HOUR_MS) return `${Math.round(ms / 60_000)} min`;
  if (ms < DAY_MS) return `${Math.round(ms / HOUR_MS)} h`;
  return `${(ms / DAY_MS).toFixed(1)} days`;
};

/**
 * What the key's creation date says, when it is known: a key created long ago that keysentry
 * never saw is dormant (the breach: a contractor's key issued years before, never used, leaked),
 * the strongest unfamiliarity; a key created hours ago is most often a new colleague's, so it
 * weighs less than a principal never seen and only plainly bulk behaviour contains it.
 */
function keyAgeReason(input: WhoInput): Reason | undefined {
  const { identity, key, keyCreatedAt, now, settings } = input;
  if (identity.longTermKey === undefined || keyCreatedAt === undefined) return undefined;
  const age = now - keyCreatedAt;
  if (age >= 0 && age < settings.freshKeyHours * HOUR_MS) {
    return {
      code: 'fresh-key',
      message: `access key ${identity.longTermKey} was created ${formatAge(age)} ago: a new key, most often a new colleague's`,
      value: age / HOUR_MS,
      threshold: settings.freshKeyHours,
      points: 15,
    };
  }
  const keySeenBefore = key !== undefined && now - key.firstSeen >= DAY_MS;
  if (age >= settings.dormantKeyDays * DAY_MS && !keySeenBefore) {
    return {
      code: 'dormant-key',
      message: `access key ${identity.longTermKey} was created ${formatAge(age)} ago and never seen in use before`,
      value: age / DAY_MS,
      threshold: settings.dormantKeyDays,
      points: 40,
    };
  }
  return undefined;
}

/** Why the actor is not (yet) familiar: never seen, seen for under a week, or a new key of a familiar user. */
function unfamiliarityOf(input: WhoInput): Reason | undefined {
  const { principal, key, now, settings, identity } = input;
  const byKeyAge = keyAgeReason(input);
  if (byKeyAge !== undefined) return byKeyAge;
  const unfamiliarMs = settings.unfamiliarDays * DAY_MS;
  const principalAge = principal ? now - principal.firstSeen : 0;
  if (principal === undefined || principalAge < DAY_MS) {
    return {
      code: 'never-seen',
      message: principal
        ? `${identity.principal} first seen ${formatAge(principalAge)} ago`
        : `${identity.principal} never seen before`,
      value: principalAge / DAY_MS,
      threshold: settings.unfamiliarDays,
      points: 40,
    };
  }
  if (principalAge < unfamiliarMs) {
    return {
      code: 'recently-first-seen',
      message: `${identity.principal} first seen ${formatAge(principalAge)} ago (familiar after ${settings.unfamiliarDays} days)`,
      value: principalAge / DAY_MS,
      threshold: settings.unfamiliarDays,
      points: 25,
    };
  }
  if (identity.longTermKey === undefined) return undefined;
  const keyAge = key ? now - key.firstSeen : 0;
  if (key !== undefined && keyAge >= unfamiliarMs) return undefined;
  return {
    code: 'new-key',
    message: key
      ? `access key ${identity.longTermKey} of a familiar user first seen ${formatAge(keyAge)} ago`
      : `access key ${identity.longTermKey} never seen before for a familiar user`,
    value: keyAge / DAY_MS,
    threshold: settings.unfamiliarDays,
    points: keyAge < DAY_MS ? 35 : 25,
  };
}

/**
 * Whether the principal or its key is unfamiliar whatever the activity (never seen, seen for under
 * a week, a new, fresh or dormant key) and not vouched for: the actors whose read history the
 * detector looks up for the persistence reason.
 */
export function isUnfamiliarIdentity(input: WhoInput): boolean {
  const vouched = input.principal?.vouchedAt !== undefined && input.principal.vouchedAt <= input.now;
  return !vouched && unfamiliarityOf(input) !== undefined;
}

/**
 * Whether the creation date of the actor's long-term key would say anything: an IAM user's key
 * that keysentry has not known for `unfamiliarDays`. Familiar keys need no look-up.
 */
export function needsKeyCreationDate(input: Pick<ScoreInput, 'identity' | 'key' | 'now' | 'settings'>): boolean {
  const { identity, key, now, settings } = input;
  return identity.longTermKey !== undefined && (key === undefined || now - key.firstSeen < settings.unfamiliarDays * DAY_MS);
}

/** A kind of thing (network, tool, bucket) that is a novelty when the principal did not know it a day ago. */
interface NoveltyRule {
  code: ReasonCode;
  points: number;
  known(principal: Baseline): Record<string, number>;
  seen(span: WindowStats): ReadonlySet<string>;
  describe(things: string[], principal: Baseline, settings: ScoringSettings): string;
}

const NOVELTY_RULES: readonly NoveltyRule[] = [
  {
    code: 'new-network',
    points: 15,
    known: (principal) => principal.networks,
    seen: (span) => span.networks,
    describe: (things, principal, settings) =>
      `from ${things.slice(0, 3).join(', ')}, not seen for this principal before the last ${settings.noveltyHours} h (${Object.keys(principal.networks).length} known networks)`,
  },
  {
    code: 'new-tool',
    points: 15,
    known: (principal) => principal.tools,
    seen: (span) => span.tools,
    describe: (things, principal) => `with ${things.join(', ')}; known tools: ${Object.keys(principal.tools).join(', ') || 'none'}`,
  },
  {
    code: 'new-bucket',
    points: 10,
    known: (principal) => principal.buckets,
    seen: (span) => span.buckets,
    describe: (things) => `in bucket ${things.slice(0, 3).join(', ')}, new for this principal`,
  },
];

/** Networks, tools and buckets of the span first seen for a familiar principal within the novelty period. */
function noveltiesOf(input: ScoreInput): Reason[] {
  const { principal, span, now, settings } = input;
  if (principal === undefined) return [];
  const noveltyMs = settings.noveltyHours * HOUR_MS;
  const reasons: Reason[] = [];
  for (const rule of NOVELTY_RULES) {
    const things = newThings(rule.known(principal), rule.seen(span), now, noveltyMs);
    if (things.length > 0) reasons.push({ code: rule.code, message: rule.describe(things, principal, settings), value: things.length, threshold: 0, points: rule.points });
  }
  return reasons;
}

/** The things not known, or first seen less than `noveltyMs` before `now`. */
function newThings(known: Record<string, number>, things: Iterable<string>, now: number, noveltyMs: number): string[] {
  const found: string[] = [];
  for (const thing of things) {
    const first = known[thing];
    if (first === undefined || now - first < noveltyMs) found.push(thing);
  }
  return found;
}

const hasReason = (reasons: readonly Reason[], code: ReasonCode): boolean => reasons.some((r) => r.code === code);

/**
 * Scores how familiar the actor is: unfamiliarity (never seen, dormant, fresh or new key, first
 * seen this week) and, for a principal known for a day or more (or vouched for by an on-call
 * verdict), what is new in this activity (network, tool, bucket). A familiar principal in a
 * context new to it (`newContext`) is measured against the unfamiliar floors.
 */
export function assessFamiliarity(input: ScoreInput): Familiarity {
  const { principal, now } = input;
  const principalAge = principal ? now - principal.firstSeen : 0;
  // An on-call verdict of benign makes the principal familiar; novelty and volume still count.
  const vouched = principal?.vouchedAt !== undefined && principal.vouchedAt <= now;
  const unfamiliarity = vouched ? undefined : unfamiliarityOf(input);
  const reasons: Reason[] = unfamiliarity === undefined ? [] : [unfamiliarity];
  if (principal !== undefined && (principalAge >= DAY_MS || vouched)) reasons.push(...noveltiesOf(input));
  // A console session's tools are the console's (the browser, CloudShell) whoever holds it: its
  // network is all the context it has.
  const newContext = hasReason(reasons, 'new-network') && (hasReason(reasons, 'new-tool') || input.identity.consoleSession === true);
  return { reasons, unfamiliar: unfamiliarity !== undefined || newContext, newContext };
}
