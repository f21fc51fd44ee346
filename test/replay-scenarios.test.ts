import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayLogs, type ReplayResult } from '../lib/engine/replay.ts';
import { simulateScenario, type ScenarioName, type SimulationManifest } from '../lib/simulator/index.ts';

// The acceptance test of the detector: every simulated scenario replayed exactly as production
// would have seen it (14 days of warm-up, 10-second intake batches, weekly tuning).
interface Run {
  manifest: SimulationManifest;
  result: ReplayResult;
}

const runs = new Map<ScenarioName, Run>();
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'keysentry-scenarios-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function run(scenario: ScenarioName): Promise<Run> {
  const existing = runs.get(scenario);
  if (existing) return existing;
  const dir = join(root, scenario);
  const manifest = await simulateScenario(scenario, dir, { seed: 7 });
  const result = await replayLogs({ paths: [join(dir, 'AWSLogs')] });
  const entry = { manifest, result };
  runs.set(scenario, entry);
  return entry;
}

/** The manifest's actor behind an incident: matched by access key, or by principal for keyless callers. */
function actorOf(manifest: SimulationManifest, incident: { actor: string; accessKeyId: string | null; principal: string }) {
  const byKey = manifest.actors.find((a) => incident.accessKeyId !== null && a.accessKeyIds.includes(incident.accessKeyId));
  const found = byKey ?? manifest.actors.find((a) => a.principalArn === incident.principal || incident.actor.includes(a.principalArn));
  if (found === undefined) throw new Error(`incident on ${incident.actor} matches no simulated actor`);
  return found;
}

describe.each(['breach', 'month-end-surge', 'ransomware-versions', 'benign'] as const)('replay of the %s scenario', (scenario) => {
  it('contains no benign actor and pages about at most one', { timeout: 120_000 }, async () => {
    const { manifest, result } = await run(scenario);
    const benign = result.incidents.filter((incident) => actorOf(manifest, incident).benign);
    expect(benign.filter((incident) => incident.action === 'contain')).toEqual([]);
    expect(benign.length).toBeLessThanOrEqual(1);
  });

  it('reads every record: nothing rejected in well-formed logs, every data event scored once', { timeout: 120_000 }, async () => {
    const { manifest, result } = await run(scenario);
    const { summary } = result;
    const skipped = Object.values(summary.skipped).reduce((a, b) => a + b, 0);
    expect(summary.rejected).toEqual({});
    expect(summary.events + skipped + summary.duplicates).toBe(summary.records);
    expect(summary.records).toBeGreaterThanOrEqual(manifest.records);
    const day = 86_400_000;
    const origin = Math.floor(Date.parse(summary.firstEventTime ?? '') / day) * day;
    const weeklyBoundaries = Math.floor((Date.parse(summary.lastEventTime ?? '') - origin) / (7 * day));
    expect(summary.tunings).toBe(weeklyBoundaries);
  });
});

describe('the breach', () => {
  it('is contained before 5% of the objects are read and before any delete', { timeout: 120_000 }, async () => {
    const { manifest, result } = await run('breach');
    const attacker = manifest.actors.find((a) => !a.benign);
    const incidents = result.incidents.filter((i) => i.accessKeyId !== null && attacker?.accessKeyIds.includes(i.accessKeyId));
    expect(incidents).toHaveLength(1);
    const [incident] = incidents;
    expect(incident).toMatchObject({ action: 'contain', identityType: 'iam-user-key', deletesBeforeDecision: 0 });
    expect(incident?.getsBeforeDecision).toBeLessThanOrEqual(50);
    expect(incident?.getsBeforeDecision).toBeLessThan(0.05 * (manifest.attack?.objects ?? 0));
    expect(incident?.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['never-seen', 'bulk-read']));
    expect(Date.parse(incident?.decisionTime ?? '') - Date.parse(manifest.attack?.start ?? '')).toBeLessThan(120_000);
  });
});

describe('the role session deleting object versions', () => {
  it('is contained as an assumed-role session, with the version deletes among its reasons', { timeout: 120_000 }, async () => {
    const { manifest, result } = await run('ransomware-versions');
    const attacker = manifest.actors.find((a) => !a.benign);
    const incident = result.incidents.find((i) => i.accessKeyId !== null && attacker?.accessKeyIds.includes(i.accessKeyId));
    expect(incident).toMatchObject({ action: 'contain', identityType: 'assumed-role' });
    expect(incident?.reasons.map((r) => r.code)).toEqual(expect.arrayContaining(['version-delete', 'new-network']));
  });
});
