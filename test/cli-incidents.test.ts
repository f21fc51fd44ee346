import { beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../lib/commands/cli.ts';
import { createDynamoDbClient, DynamoDbStore, ensureTables } from '../lib/aws/dynamodb-store.ts';
import { createWindowStats } from '../lib/domain/window-counter.ts';
import { ransomwareIncident } from './fixtures/incidents.ts';
import { uniqueName } from './support/aws-clients.ts';

// The `keysentry incidents` wiring of the CLI: deployment options, the store it opens, the user.
const table = uniqueName('ks-cli-incidents');
let store: DynamoDbStore;
let endpoint: string;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, user: 'oncall-bea' },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  endpoint = inject('awsEndpoint');
  const client = createDynamoDbClient({ endpoint, region: 'eu-west-1' });
  const names = { windowsTable: `${table}-windows`, stateTable: `${table}-state` };
  await ensureTables(client, names);
  store = new DynamoDbStore({ client, ...names });
  await store.openIncident(ransomwareIncident({ action: 'page', blockedBy: 'dry-run' }), 3_600_000);
});

describe('keysentry incidents on a deployment (the CLI wiring, DynamoDB)', () => {
  it('lists the deployment’s incidents and acknowledges one in the name of the AWS caller identity', async () => {
    const incidentId = ransomwareIncident().incidentId;
    const list = capture();
    expect(await runCli(['incidents', 'list', '--table', table, '--endpoint', endpoint, '--region', 'eu-west-1'], list.io)).toBe(0);
    expect(list.stdout()).toContain(incidentId);

    const ack = capture();
    expect(await runCli(['incidents', 'ack', incidentId, '--note', 'on it', `--table=${table}`, '--endpoint', endpoint, '--region', 'eu-west-1'], ack.io)).toBe(0);
    const stored = await store.getIncident(incidentId);
    expect(stored?.status).toBe('acknowledged');
    // moto answers sts:GetCallerIdentity for its default account; the shell user is only the fallback.
    expect(stored?.history?.at(-1)?.by).toMatch(/^arn:aws:(iam|sts)::\d{12}:/);
    expect(JSON.stringify(stored?.history)).not.toContain('oncall-bea');
  });

  it('records --by instead of the caller identity when given', async () => {
    const incident = ransomwareIncident({ action: 'page', blockedBy: 'dry-run', incidentId: 'KS-BY2OPT', actor: 'AKIAEXAMPLEBYOPTION1' });
    await store.openIncident(incident, 3_600_000);
    const ack = capture();
    expect(await runCli(['incidents', 'ack', incident.incidentId, '--by', 'bea@example.com', '--table', table, '--endpoint', endpoint, '--region', 'eu-west-1'], ack.io)).toBe(0);
    expect((await store.getIncident(incident.incidentId))?.history?.at(-1)?.by).toBe('bea@example.com');
  });

  it('names the tables and the region when the deployment has none', async () => {
    const missing = capture();
    expect(await runCli(['incidents', 'list', '--table', 'ks-no-such-deployment', '--endpoint', endpoint, '--region', 'eu-west-1'], missing.io)).toBe(1);
    expect(missing.stderr().trim().split('\n')).toHaveLength(1);
    expect(missing.stderr()).toContain('no table ks-no-such-deployment-state / ks-no-such-deployment-windows in eu-west-1');
  });

  it('quotes --table, --region and --endpoint in the next steps of incidents show, so they can be pasted', async () => {
    const show = capture();
    const incidentId = ransomwareIncident().incidentId;
    expect(await runCli(['incidents', 'show', incidentId, '--table', table, '--endpoint', endpoint, '--region', 'eu-west-1'], show.io)).toBe(0);
    const next = show.stdout().slice(show.stdout().indexOf('NEXT STEPS'));
    expect(next).toContain(`keysentry incidents ack ${incidentId} --table ${table} --region eu-west-1 --endpoint ${endpoint}`);
  });

  it('asks for the deployment and says how', async () => {
    const missing = capture();
    expect(await runCli(['incidents', 'list'], missing.io)).toBe(2);
    expect(missing.stderr()).toContain('--table');
    const dangling = capture();
    expect(await runCli(['incidents', 'list', '--table'], dangling.io)).toBe(2);
    expect(dangling.stderr()).toContain('--table needs a value');
  });
});

describe('keysentry tune', () => {
  it('refuses to tune tables with no windows in the last five weeks, saying why and what to run instead', async () => {
    const stale = capture();
    expect(await runCli(['tune', '--table', table, '--endpoint', endpoint, '--region', 'eu-west-1'], stale.io)).toBe(1);
    expect(stale.stderr()).toMatch(/^keysentry: no stored windows in the 5 weeks before \d{4}-\d\d-\d\d.*nothing written/);
    expect(await store.listTuningRuns()).toEqual([]);
  });

  it('runs the weekly tuning on the deployment’s tables and then prints the report in force', async () => {
    await store.recordSightings([
      { id: 'arn:aws:iam::111122223333:user/etl', kind: 'principal', firstSeen: Date.now() - 86_400_000, lastSeen: Date.now(), days: new Set(), networks: new Map(), addresses: new Map(), tools: new Map(), buckets: new Map() },
    ]);
    const window = createWindowStats('AKIAEXAMPLEETL000001', 'arn:aws:iam::111122223333:user/etl', 'iam-user-key', Math.floor(Date.now() / 900_000) - 4);
    Object.assign(window, { events: 3, gets: 3, firstEventTime: Date.now() - 3_600_000, lastEventTime: Date.now() - 3_600_000 });
    expect(await store.addWindow(window, ['e1', 'e2', 'e3'], 0)).not.toBe('conflict');
    const run = capture();
    expect(await runCli(['tune', '--table', table, '--endpoint', endpoint, '--region', 'eu-west-1'], run.io)).toBe(0);
    const report = capture();
    expect(await runCli(['tune', '--report', '--json', '--table', table, '--endpoint', endpoint, '--region', 'eu-west-1'], report.io)).toBe(0);
    const parsed = JSON.parse(report.stdout()) as { version: number };
    expect(parsed.version).toBe(1);
    expect((await store.getTuning())?.version).toBe(1);
  });
});
