// Runs one scenario of lib/scenarios through keysentry's replay (the code path the CLI and the
// Lambdas share) and through the peer rules of lib/peers, and measures each against the truth.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyCreationBook } from '../lib/domain/key-creation.ts';
import { replayLogs, type ReplayOptions } from '../lib/engine/replay.ts';
import { PEER_RULES, type PeerAlert } from '../lib/peers/index.ts';
import { buildScenario, progressAt, writeScenarioLogs, type Scenario, type ScenarioOptions } from '../lib/scenarios/index.ts';
import type { AttackTruth, Decision } from '../lib/scenarios/scenario-types.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** What one detector did in one scenario. */
export interface DetectorOutcome {
  /** The strongest action on the attacker (peers only alert: `page`). */
  decision: Decision;
  /** First action on the attacker, and first containment. */
  firstAt?: number;
  containAt?: number;
  /** The attack's distinct objects read and objects deleted with eventTime ≤ the first action. */
  readsBefore?: number;
  deletesBefore?: number;
  /** The same at the first containment. */
  readsBeforeContain?: number;
  deletesBeforeContain?: number;
  /** Actions on anyone else after the warm-up. */
  benignPages: number;
  benignContains: number;
}

export interface MatrixRow {
  scenario: Scenario;
  keysentry: DetectorOutcome;
  /** keysentry's decisions after the warm-up, each marked attack or benign. */
  keysentryActions: Action[];
  peers: Record<string, DetectorOutcome>;
  /** Days after the warm-up (the part of the run where decisions count). */
  evaluatedDays: number;
  replaySummary: { records: number; events: number; duplicates: number; rejected: number };
}

export interface MatrixOptions extends ScenarioOptions {
  /** Extra replay options (thresholds, a key inventory…). */
  replay?: Partial<ReplayOptions>;
  peerIngestDelayMs?: number;
}

/** One decision of a detector: keysentry's incident created or escalated, or a peer's alert. */
export interface Action {
  at: number;
  action: 'page' | 'contain';
  actor: string;
  principal: string;
  accessKeyId: string | null;
  /** keysentry's score and reasons (`code=value`). */
  score?: number;
  reasons?: string;
  attack?: boolean;
}

/** Whether an action of keysentry is about the attacker: its keys or its own principal, while it acts (plus an hour). */
function isAttackAction(attack: AttackTruth | undefined, action: Action): boolean {
  if (attack === undefined || action.at < attack.start || action.at > attack.end + HOUR) return false;
  if (action.accessKeyId !== null && attack.accessKeyIds.includes(action.accessKeyId)) return true;
  if (attack.accessKeyIds.some((key) => action.actor.includes(key))) return true;
  return attack.principals.includes(action.principal) || attack.principals.includes(action.actor);
}

function outcomeOf(attack: AttackTruth | undefined, attackActions: Action[], benignActions: Action[]): DetectorOutcome {
  const first = attackActions[0];
  const contain = attackActions.find((a) => a.action === 'contain');
  const progress = first === undefined || attack === undefined ? undefined : progressAt(attack, first.at);
  const atContain = contain === undefined || attack === undefined ? undefined : progressAt(attack, contain.at);
  return {
    decision: contain ? 'contain' : first ? 'page' : 'none',
    firstAt: first?.at,
    containAt: contain?.at,
    readsBefore: progress?.reads,
    deletesBefore: progress?.deletes,
    readsBeforeContain: atContain?.reads,
    deletesBeforeContain: atContain?.deletes,
    benignPages: benignActions.filter((a) => a.action === 'page').length,
    benignContains: benignActions.filter((a) => a.action === 'contain').length,
  };
}

/** Generates a scenario, replays it through keysentry and runs every peer rule on the same records. */
export async function evaluateScenario(name: string, options: MatrixOptions = {}): Promise<MatrixRow> {
  const scenario = buildScenario(name, options);
  const dir = mkdtempSync(join(tmpdir(), `keysentry-matrix-${name}-`));
  try {
    const path = writeScenarioLogs(scenario, dir, options.seed);
    const warmupEnd = scenario.start + scenario.warmupDays * DAY;
    const actions: Action[] = [];
    // IAM's word on the keys the logs never show created, as `replay --keys` takes it from `keysentry keys --json`.
    const inventory = new KeyCreationBook();
    inventory.addInventory({ keys: scenario.keyInventory.map((key) => ({ accessKeyId: key.accessKeyId, createdAt: key.createDate })) });
    const result = await replayLogs({
      paths: [path],
      warmupMs: scenario.warmupDays * DAY,
      keyCreatedAt: inventory.lookup,
      ...options.replay,
      onIncident: ({ kind, incident }) => {
        if (kind === 'updated') return;
        actions.push({
          at: incident.decisionTime,
          action: incident.action,
          actor: incident.actor,
          principal: incident.principal,
          accessKeyId: incident.accessKeyId ?? null,
          score: incident.score,
          reasons: incident.reasons.map((reason) => `${reason.code}=${Math.round(reason.value * 10) / 10}`).join(' '),
        });
      },
    });
    actions.sort((a, b) => a.at - b.at);
    const counted = actions.filter((a) => a.at >= warmupEnd);
    const attackActions = counted.filter((a) => isAttackAction(scenario.attack, a));
    const keysentry = outcomeOf(scenario.attack, attackActions, counted.filter((a) => !attackActions.includes(a)));
    for (const action of counted) action.attack = attackActions.includes(action);

    const peers: Record<string, DetectorOutcome> = {};
    for (const rule of PEER_RULES) {
      const alerts = rule.evaluate(scenario.records, { ingestDelayMs: options.peerIngestDelayMs ?? 0 }).filter((a) => a.at >= warmupEnd);
      const isAttack = (alert: PeerAlert): boolean => alert.eventIds.some((id) => scenario.attackEventIds.has(id));
      const asAction = (alert: PeerAlert): Action => ({ at: alert.at, action: 'page', actor: alert.entity, principal: alert.entity, accessKeyId: null });
      peers[rule.name] = outcomeOf(scenario.attack, alerts.filter(isAttack).map(asAction), alerts.filter((a) => !isAttack(a)).map(asAction));
    }
    const rejected = Object.values(result.summary.rejected).reduce((a, b) => a + b, 0);
    return {
      scenario,
      keysentry,
      keysentryActions: counted,
      peers,
      evaluatedDays: scenario.days - scenario.warmupDays,
      replaySummary: { records: result.summary.records, events: result.summary.events, duplicates: result.summary.duplicates, rejected },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
