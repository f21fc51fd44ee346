import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteUserPolicyCommand,
  IAMClient,
  IAMServiceException,
  ListAccessKeysCommand,
  ListUserPoliciesCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { planContainment, runContainment } from '../lib/aws/containment.ts';
import { KeysentryError, TransitionError, UsageError } from '../lib/domain/errors.ts';
import type { Incident } from '../lib/domain/incident.ts';
import { runIncidentsCommand } from '../lib/commands/incidents-command.ts';
import { acknowledgeIncident, canTransition, markReleased, recordContainment, updateIncidentWith } from '../lib/engine/incident-lifecycle.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { breachIncident, ransomwareIncident, succeededContainment } from './fixtures/incidents.ts';
import { emulatorClientConfig, inMotoAccount, uniqueName } from './support/aws-clients.ts';

const NOW = Date.parse('2026-10-20T03:40:00Z');
const CONTAINED_AT = Date.parse('2026-10-20T03:12:51Z');

async function storeWith(...incidents: Incident[]): Promise<MemoryStore> {
  const store = new MemoryStore();
  for (const incident of incidents) await store.openIncident(incident, 3_600_000);
  return store;
}

/** The breach incident as the responder leaves it: contained, paged. */
async function containedBreach(store: MemoryStore): Promise<void> {
  await recordContainment(store, 'KS-HKDURC', succeededContainment(breachIncident(), CONTAINED_AT));
}

function cli(store: MemoryStore, iam = new IAMClient({ region: 'us-east-1' })) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: { write: (text: string) => out.push(text) }, stderr: { write: (text: string) => err.push(text) } };
  const run = (...args: string[]) => runIncidentsCommand(args, io, { store, iam, now: () => NOW, user: 'oncall-alice' });
  return { run, out: () => out.join(''), err: () => err.join('') };
}

/** This file's moto account: its IAM users meet no other file's. */
const ACCOUNT = '246813579024';

/**
 * The breach on the emulator: its IAM user (named afresh) with a real key, the incident moved onto
 * them, and that key contained by the real containment actions (disabled, sessions denied).
 */
async function containedBreachOnEmulator(): Promise<{ iam: IAMClient; store: MemoryStore; keyId: string; userName: string }> {
  const iam = inMotoAccount(new IAMClient(emulatorClientConfig()), ACCOUNT);
  const userName = uniqueName('contractor');
  await iam.send(new CreateUserCommand({ UserName: userName }));
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  const keyId = AccessKey?.AccessKeyId as string;
  const arn = `arn:aws:iam::${ACCOUNT}:user/${userName}`;
  const breach = breachIncident();
  const incident = breachIncident({
    actor: keyId,
    principal: arn,
    accessKeyId: keyId,
    identity: { ...breach.identity, accessKeyId: keyId, actor: keyId, longTermKey: keyId, arn, principal: arn, accountId: ACCOUNT, userName },
  });
  const store = await storeWith(incident);
  const plan = planContainment(incident, { guard: { protectedPrincipals: [], ownRoleArns: [], accounts: [ACCOUNT] }, now: CONTAINED_AT });
  const record = await runContainment(iam, plan, { dryRun: false, now: () => CONTAINED_AT });
  expect(record.ok).toBe(true);
  await recordContainment(store, incident.incidentId, record);
  return { iam, store, keyId, userName };
}

async function iamStateOf(iam: IAMClient, userName: string): Promise<{ keys: string[]; policies: string[] }> {
  const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
  const { PolicyNames = [] } = await iam.send(new ListUserPoliciesCommand({ UserName: userName }));
  return { keys: AccessKeyMetadata.map((key) => key.Status as string), policies: PolicyNames };
}

describe('keysentry incidents (the commands, on a store in memory)', () => {
  it('lists open incidents newest first, and released ones with --all', async () => {
    const store = await storeWith(breachIncident(), ransomwareIncident({ decisionTime: NOW - 60_000 }));
    await containedBreach(store);
    const { run, out } = cli(store);
    expect(await run('list')).toBe(0);
    const lines = out().trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+ACTION\s+SCORE\s+DECIDED\s+VERDICT\s+WHO$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 3))).toEqual([
      ['KS-ST88U3', 'open', 'contain'],
      ['KS-HKDURC', 'contained', 'contain'],
    ]);
    expect(lines[2]).toContain('contractor-2019 AKIAFR5DZ5MDQX7IX7IB');
    expect(lines[1]).toContain('patient-portal-app/botocore-session-1792465920');
  });

  it('shows the reasons, what was done, the undo commands and the history', async () => {
    const store = await storeWith(breachIncident());
    await containedBreach(store);
    const { run, out } = cli(store);
    expect(await run('show', 'KS-HKDURC')).toBe(0);
    expect(out()).toContain('+20 bulk-read: 21 objects read in 49 s by an unfamiliar actor (limit 10) [value 21 objects, threshold 10 objects]');
    expect(out()).toContain('aws iam update-access-key --user-name contractor-2019 --access-key-id AKIAFR5DZ5MDQX7IX7IB --status Active');
    expect(out()).toMatch(/HISTORY\n {2}2026-10-20T03:12:51Z {2}contained +by keysentry/);
  });

  it('acknowledges with who and why, once', async () => {
    const store = await storeWith(breachIncident());
    await containedBreach(store);
    const { run, out } = cli(store);
    expect(await run('ack', 'KS-HKDURC', '--note', 'looking at it')).toBe(0);
    expect(await run('ack', 'KS-HKDURC')).toBe(0);
    expect(out()).toBe('KS-HKDURC acknowledged by oncall-alice.\nKS-HKDURC was already acknowledged.\n');
    const incident = await store.getIncident('KS-HKDURC');
    expect(incident?.history?.at(-1)).toEqual({ at: NOW, status: 'acknowledged', by: 'oncall-alice', note: 'looking at it' });
    expect(incident?.pagedState).toBe('acknowledged/contained');
  });

  it('releases a contained key: re-enables it, removes the deny policy, records who and why', async () => {
    const { iam, store, keyId, userName } = await containedBreachOnEmulator();
    expect(await iamStateOf(iam, userName)).toEqual({ keys: ['Inactive'], policies: ['keysentry-deny-KS-HKDURC'] });
    const { run, out } = cli(store, iam);
    expect(await run('release', 'KS-HKDURC', '--note', 'the contractor came back')).toBe(0);
    expect(await iamStateOf(iam, userName)).toEqual({ keys: ['Active'], policies: [] });
    expect(out()).toContain('KS-HKDURC released by oncall-alice.');
    const incident = await store.getIncident('KS-HKDURC');
    expect(incident?.status).toBe('released');
    expect(incident?.history?.map((entry) => [entry.status, entry.by])).toEqual([
      ['contained', 'keysentry'],
      ['acknowledged', 'oncall-alice'],
      ['released', 'oncall-alice'],
    ]);
    expect(incident?.history?.at(-1)?.note).toMatch(new RegExp(`^the contractor came back — undone: re-enabled key ${keyId}`));
  });

  it('keeps the incident unreleased and prints the commands when an undo fails', async () => {
    const store = await storeWith(breachIncident());
    await containedBreach(store);
    const iam = new IAMClient({ region: 'us-east-1' });
    // A mock, because moto does not enforce IAM permissions: it cannot answer AccessDenied.
    const mock = mockClient(iam);
    mock.on(UpdateAccessKeyCommand).resolves({});
    mock
      .on(DeleteUserPolicyCommand)
      .rejects(new IAMServiceException({ name: 'AccessDenied', message: 'not authorized to perform: iam:DeleteUserPolicy', $fault: 'client', $metadata: {} }));
    const { run, err } = cli(store, iam);
    expect(await run('release', 'KS-HKDURC')).toBe(1);
    expect(err()).toContain('aws iam delete-user-policy --user-name contractor-2019 --policy-name keysentry-deny-KS-HKDURC');
    expect((await store.getIncident('KS-HKDURC'))?.status).toBe('acknowledged');
  });

  it('releases a page-only incident without touching IAM', async () => {
    const store = await storeWith(breachIncident({ action: 'page', score: 60 }));
    const iam = new IAMClient({ region: 'us-east-1' });
    // A mock, because what is asserted is that no request is made at all, which moto cannot tell.
    const mock = mockClient(iam);
    const { run } = cli(store, iam);
    expect(await run('release', 'KS-HKDURC')).toBe(0);
    expect(mock.calls()).toEqual([]);
    expect((await store.getIncident('KS-HKDURC'))?.status).toBe('released');
  });

  it('marks a false positive benign, and says the containment stays until released', async () => {
    const store = await storeWith(breachIncident());
    await containedBreach(store);
    const { run, out } = cli(store);
    expect(await run('benign', 'KS-HKDURC', '--note', 'backup job')).toBe(0);
    expect(out()).toContain('KS-HKDURC marked benign by oncall-alice.');
    expect(out()).toContain('Its containment stays in place until: keysentry incidents release KS-HKDURC');
    const incident = await store.getIncident('KS-HKDURC');
    expect(incident?.verdict).toBe('benign');
    expect(incident?.status).toBe('contained');
    expect(incident?.history?.at(-1)).toEqual({ at: NOW, status: 'contained', by: 'oncall-alice', note: 'verdict benign: backup job', verdict: 'benign' });
  });

  it('records a verdict changed from benign to confirmed in the history, the old verdict as data', async () => {
    const store = await storeWith(breachIncident());
    const { run } = cli(store);
    expect(await run('benign', 'KS-HKDURC', '--note', 'looked like the backup')).toBe(0);
    expect(await run('confirm', 'KS-HKDURC', '--note', 'it was not the backup')).toBe(0);
    const incident = await store.getIncident('KS-HKDURC');
    expect(incident?.verdict).toBe('confirmed');
    expect(incident?.history?.map((entry) => [entry.verdict, entry.previousVerdict])).toEqual([
      ['benign', undefined],
      ['confirmed', 'benign'],
    ]);
    expect(incident?.history?.at(-1)?.note).toBe('verdict confirmed (was benign): it was not the backup');
  });

  it('refuses to release a confirmed attack without --force', async () => {
    const { iam, store, userName } = await containedBreachOnEmulator();
    const { run } = cli(store, iam);
    expect(await run('confirm', 'KS-HKDURC')).toBe(0);
    await expect(run('release', 'KS-HKDURC')).rejects.toBeInstanceOf(KeysentryError);
    expect(await iamStateOf(iam, userName)).toEqual({ keys: ['Inactive'], policies: ['keysentry-deny-KS-HKDURC'] });
    expect(await run('release', 'KS-HKDURC', '--force')).toBe(0);
    expect(await iamStateOf(iam, userName)).toEqual({ keys: ['Active'], policies: [] });
    expect((await store.getIncident('KS-HKDURC'))?.status).toBe('released');
  });

  it('rejects unknown commands, a missing id and an unknown incident', async () => {
    const { run } = cli(await storeWith());
    await expect(run('close', 'KS-HKDURC')).rejects.toBeInstanceOf(UsageError);
    await expect(run('ack')).rejects.toBeInstanceOf(UsageError);
    await expect(run('show', 'KS-NPE222')).rejects.toThrow('no incident KS-NPE222');
  });
});

describe('the incident lifecycle', () => {
  it('goes open → contained → acknowledged → released, and page-only open → acknowledged → released', () => {
    expect(canTransition('open', 'contained')).toBe(true);
    expect(canTransition('contained', 'acknowledged')).toBe(true);
    expect(canTransition('acknowledged', 'released')).toBe(true);
    expect(canTransition('open', 'acknowledged')).toBe(true);
    expect(canTransition('open', 'released')).toBe(false);
    expect(canTransition('contained', 'released')).toBe(false);
    expect(canTransition('released', 'acknowledged')).toBe(false);
  });

  it('refuses a move the lifecycle does not allow', async () => {
    const store = await storeWith(breachIncident({ action: 'page' }));
    await expect(markReleased(store, 'KS-HKDURC', { by: 'oncall-alice', at: NOW })).rejects.toBeInstanceOf(TransitionError);
    await acknowledgeIncident(store, 'KS-HKDURC', { by: 'oncall-alice', at: NOW });
    await markReleased(store, 'KS-HKDURC', { by: 'oncall-alice', at: NOW });
    await expect(acknowledgeIncident(store, 'KS-HKDURC', { by: 'oncall-bob', at: NOW })).rejects.toBeInstanceOf(TransitionError);
  });

  it('keeps what the detector wrote meanwhile: a lost conditional write is re-applied on a fresh read', async () => {
    const store = await storeWith(breachIncident());
    let raced = false;
    const result = await updateIncidentWith(store, 'KS-HKDURC', (incident) => {
      if (!raced) {
        raced = true;
        // The detector adds evidence between this read and the write.
        void store.updateIncident({ ...incident, evidence: { ...incident.evidence, gets: 500 }, revision: incident.revision + 1 });
      }
      return { status: 'acknowledged' };
    });
    expect(result.status).toBe('acknowledged');
    expect(result.evidence.gets).toBe(500);
    expect((await store.getIncident('KS-HKDURC'))?.evidence.gets).toBe(500);
  });

  it('records a containment once: a second responder keeps the first record', async () => {
    const store = await storeWith(breachIncident());
    const first = await recordContainment(store, 'KS-HKDURC', succeededContainment(breachIncident(), CONTAINED_AT));
    const second = await recordContainment(store, 'KS-HKDURC', succeededContainment(breachIncident(), CONTAINED_AT + 5_000));
    expect(second.containment).toEqual(first.containment);
    expect(second.history).toHaveLength(1);
  });
});
