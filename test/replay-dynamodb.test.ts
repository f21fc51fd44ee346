import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../lib/commands/cli.ts';
import { createDynamoDbClient, DynamoDbStore } from '../lib/aws/dynamodb-store.ts';
import { simulateScenario, type SimulationManifest } from '../lib/simulator/index.ts';
import { uniqueName } from './support/aws-clients.ts';

// `keysentry replay --store dynamodb`: the backtest that warms a real table. Minute-long batches
// keep the emulator's round trips few; the detection itself is tested with 10 s batches elsewhere.
let dir: string;
let manifest: SimulationManifest;
beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  dir = await mkdtemp(join(tmpdir(), 'keysentry-replay-ddb-'));
  manifest = await simulateScenario('breach', dir, { days: 2, seed: 11 });
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('keysentry replay --store dynamodb', () => {
  it('replays into fresh tables: the incident, baselines and writes end up in DynamoDB', { timeout: 240_000 }, async () => {
    const table = uniqueName('ks-replay');
    const out: string[] = [];
    const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => out.push(t) } };
    const endpoint = inject('awsEndpoint');
    const code = await runCli(
      ['replay', '--json', '--warmup', '1d', '--batch-window', '60s', '--store', 'dynamodb', '--table', table, '--endpoint', endpoint, '--region', 'eu-west-1', '--create-tables', join(dir, 'AWSLogs')],
      io,
    );
    expect(code).toBe(0);
    const lines = out.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = (lines.pop() as { summary: { storeWrites: number; events: number } }).summary;
    const attackerKey = manifest.actors.find((a) => !a.benign)?.accessKeyIds[0];
    expect(lines.find((l) => l.accessKeyId === attackerKey)).toMatchObject({ action: 'contain', deletesBeforeDecision: 0 });

    const store = new DynamoDbStore({
      client: createDynamoDbClient({ endpoint, region: 'eu-west-1' }),
      windowsTable: `${table}-windows`,
      stateTable: `${table}-state`,
    });
    const stored = await store.listIncidents();
    expect(stored.map((i) => i.accessKeyId)).toContain(attackerKey);
    const baselines = await store.getBaselines(['arn:aws:iam::111122223333:role/patient-portal-app']);
    expect(baselines.size).toBe(1);
    expect(summary.storeWrites).toBeGreaterThan(0);
    expect(summary.storeWrites).toBeLessThan(summary.events);
  });

  it('refuses --table without --store dynamodb, and dynamodb without --table', async () => {
    for (const args of [['replay', '--table', 'x', dir], ['replay', '--store', 'dynamodb', dir], ['replay', '--store', 'redis', dir]]) {
      const err: string[] = [];
      const code = await runCli(args, { stdout: { write: () => 0 }, stderr: { write: (t: string) => err.push(t) } });
      expect(code).toBe(2);
      expect(err.join('')).toMatch(/--table|--store/);
    }
  });
});
