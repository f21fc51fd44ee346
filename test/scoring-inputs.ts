import type { AccessEvent, Identity } from '../lib/domain/access-event.ts';
import type { Baseline, VolumeBaseline } from '../lib/domain/baseline.ts';
import { normalizeRecord } from '../lib/domain/cloudtrail-record.ts';
import { DEFAULT_SCORING, type ScoreInput } from '../lib/domain/scoring.ts';
import { countEvent, createWindowStats, type WindowStats } from '../lib/domain/window-counter.ts';
import { cloneRecord, loadRepairedRecords, pickRecord } from './events/load-events.ts';

// Scoring inputs built the way the detector builds them: real CloudTrail records (OTRF), changed
// only in what a scenario needs (time, call, object, caller), normalised and counted into a span.

export const NOW = Date.parse('2026-10-20T03:15:00Z');
export const SECOND = 1000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

const repaired = loadRepairedRecords();
const getObject = pickRecord(repaired, 'GetObject', (r) => r.eventName === 'GetObject');

/** One call of a scenario, `at` ms before {@link NOW}. */
export interface Call {
  ago: number;
  eventName: string;
  key?: string;
  bucket?: string;
  versionId?: string;
  bytesIn?: number;
  sourceIp?: string;
  userAgent?: string;
  errorCode?: string;
}

let serial = 0;

/** A real GetObject record turned into the given call and normalised. */
export function eventOf(call: Call): AccessEvent {
  const record = cloneRecord(getObject, (r) => {
    r.eventID = `00000000-0000-4000-9000-${(serial++).toString(16).padStart(12, '0')}`;
    r.eventTime = new Date(NOW - call.ago).toISOString().replace(/\.\d{3}Z$/, 'Z');
    r.eventName = call.eventName;
    const request: Record<string, unknown> = { bucketName: call.bucket ?? 'checkup-results' };
    if (call.key !== undefined) request.key = call.key;
    if (call.versionId !== undefined) request.versionId = call.versionId;
    r.requestParameters = request;
    r.additionalEventData = { ...r.additionalEventData, bytesTransferredIn: call.bytesIn ?? 0 };
    if (call.sourceIp !== undefined) r.sourceIPAddress = call.sourceIp;
    if (call.userAgent !== undefined) r.userAgent = call.userAgent;
    if (call.errorCode !== undefined) r.errorCode = call.errorCode;
  });
  const outcome = normalizeRecord(record);
  if (outcome.kind !== 'event') throw new Error(`expected an event, got ${outcome.kind} ${outcome.reason}`);
  return outcome.event;
}

/** The calls counted into one span, as the detector sums the current and previous windows. */
export function spanOf(calls: readonly Call[]): WindowStats {
  const span = createWindowStats('actor', 'principal', 'iam-user-key', 0);
  for (const call of calls) countEvent(span, eventOf(call));
  return span;
}

/** `count` GetObject calls of distinct objects, one every `everyMs`, the last `endAgo` ms before NOW. */
export function reads(count: number, everyMs: number, endAgo = SECOND, prefix = 'reports/'): Call[] {
  return Array.from({ length: count }, (_, i) => ({
    ago: endAgo + (count - 1 - i) * everyMs,
    eventName: 'GetObject',
    key: `${prefix}checkup-${String(i).padStart(5, '0')}.pdf`,
  }));
}

/** `count` list calls, one every `everyMs`, the last `endAgo` ms before NOW. */
export function lists(count: number, everyMs: number, endAgo: number, eventName = 'ListObjectsV2'): Call[] {
  return Array.from({ length: count }, (_, i) => ({ ago: endAgo + (count - 1 - i) * everyMs, eventName }));
}

export const contractor: Identity = {
  type: 'iam-user-key',
  principal: 'arn:aws:iam::111122223333:user/contractor-2019',
  actor: 'AKIAEXAMPLECONTRACT',
  accessKeyId: 'AKIAEXAMPLECONTRACT',
  longTermKey: 'AKIAEXAMPLECONTRACT',
  userName: 'contractor-2019',
};

export const ciSession: Identity = {
  type: 'assumed-role',
  principal: 'arn:aws:iam::111122223333:role/ci-deploy',
  actor: 'ASIAEXAMPLECISESSION',
  accessKeyId: 'ASIAEXAMPLECISESSION',
  roleArn: 'arn:aws:iam::111122223333:role/ci-deploy',
  roleName: 'ci-deploy',
  sessionName: 'gha-run-8812',
};

export function volume(objectsP99: number, deletesP99 = 0): VolumeBaseline {
  const q = (p99: number) => ({ p50: Math.round(p99 / 3), p95: Math.round(p99 * 0.8), p99, max: p99 });
  return {
    windows: 500,
    metrics: { objects: q(objectsP99), gets: q(objectsP99), lists: q(2), deletes: q(deletesP99), bytesOut: q(objectsP99 * 200_000), errors: q(2) },
  };
}

/** A principal known for 60 days from the OTRF record's network and tool, in `buckets`. */
export function familiar(id: string, objectsP99: number, known: { networks: string[]; tools: string[]; buckets?: string[] }): Baseline {
  const first = NOW - 60 * DAY;
  const since = (things: readonly string[]): Record<string, number> => Object.fromEntries(things.map((t) => [t, first]));
  return {
    id,
    kind: 'principal',
    firstSeen: first,
    lastSeen: NOW - MINUTE,
    activeDays: 60,
    lastActiveDay: Math.floor(NOW / DAY),
    networks: since(known.networks),
    addresses: {},
    tools: since(known.tools),
    buckets: since(known.buckets ?? ['checkup-results']),
    volume: volume(objectsP99),
  };
}

export const scoreInput = (overrides: Partial<ScoreInput>): ScoreInput => ({
  identity: contractor,
  span: spanOf([]),
  readThenDeleted: 0,
  now: NOW,
  settings: DEFAULT_SCORING,
  ...overrides,
});

export const codes = (reasons: readonly { code: string }[]): string[] => reasons.map((r) => r.code);
