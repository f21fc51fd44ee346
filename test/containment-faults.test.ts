import { captureStdout } from './support/test-hooks.ts';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  DeleteUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  IAMClient,
  IAMServiceException,
  ListAccessKeysCommand,
  NoSuchEntityException,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient, SNSServiceException, type PublishCommandInput } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeContainHandler } from '../functions/contain-handler.ts';
import { createIamClient, deactivateAccessKey, undoContainment, type ContainmentRecord } from '../lib/aws/containment.ts';
import { DispatchError, ResponderError, StoreError } from '../lib/domain/errors.ts';
import type { Incident } from '../lib/domain/incident.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { STILL_ACTIVE_GRACE_MS } from '../lib/aws/paging.ts';
import { createResponderDispatch } from '../lib/engine/responder-dispatch.ts';
import { MemoryResponseMarkers } from '../lib/aws/response-markers.ts';
import { scoreSqsRecords } from '../lib/engine/score-pipeline.ts';
import { loadRepairedRecords } from './events/load-events.ts';
import { breachIncident, ransomwareIncident } from './fixtures/incidents.ts';

// Failures of IAM, SNS, Lambda and the store around the responder, with the SDK clients mocked:
// what the incident, the page and the markers say afterwards. The emulator run is containment.test.ts.

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:keysentry-pages';
/** One second after the breach decision: the responder runs right after the score function. */
const START = 1792465971000;
const COOLDOWN_MS = 3_600_000;

const awsError = (name: string, message: string): IAMServiceException =>
  new IAMServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });

const stdout: string[] = [];
captureStdout(stdout);
afterEach(() => {
  vi.unstubAllEnvs();
});

/** A responder on a memory store, with IAM and SNS mocked to succeed; tests break one thing. */
async function setUp(incidents: Incident[] = [breachIncident()], options: { dryRun?: boolean; protectedPrincipals?: string[] } = {}) {
  const store = new MemoryStore();
  for (const incident of incidents) await store.openIncident(incident, COOLDOWN_MS);
  const markers = new MemoryResponseMarkers();
  const iam = new IAMClient({ region: 'us-east-1' });
  const iamMock = mockClient(iam);
  iamMock.on(ListAccessKeysCommand).resolves({
    AccessKeyMetadata: [{ UserName: 'contractor-2019', AccessKeyId: 'AKIAFR5DZ5MDQX7IX7IB', Status: 'Active' }],
  });
  iamMock.on(UpdateAccessKeyCommand).resolves({});
  iamMock.on(PutUserPolicyCommand).resolves({});
  iamMock.on(PutRolePolicyCommand).resolves({});
  iamMock.on(GetAccessKeyLastUsedCommand).resolves({ UserName: 'contractor-2019' });
  iamMock.on(DeleteUserPolicyCommand).resolves({});
  const sns = new SNSClient({ region: 'eu-west-1' });
  const snsMock = mockClient(sns);
  const published: PublishCommandInput[] = [];
  snsMock.on(PublishCommand).callsFake((input: PublishCommandInput) => {
    published.push(input);
    return { MessageId: `message-${published.length}` };
  });
  const clock = { now: START };
  const handlerWith = (dryRun: boolean) =>
    makeContainHandler({
      store,
      markers,
      iam,
      sns,
      topicArn: TOPIC,
      guard: { protectedPrincipals: options.protectedPrincipals ?? [], ownRoleArns: ['arn:aws:iam::111122223333:role/keysentry-prod-contain-eu-west-1-lambdaRole'], accounts: ['111122223333'] },
      dryRun,
      now: () => clock.now,
      logger: new Logger({ serviceName: 'keysentry', logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'keysentry-test', serviceName: 'keysentry' }),
    });
  const pages = () => published.map((input) => JSON.parse(input.Message ?? '{}') as { sms: string; email: string });
  return { store, markers, iam, iamMock, sns, snsMock, published, pages, clock, handler: handlerWith(options.dryRun ?? false), handlerWith };
}

describe('IAM failing', () => {
  it('records containment-failed and pages CONTAINMENT FAILED with the command to do it by hand when IAM denies', async () => {
    const world = await setUp();
    world.iamMock.on(UpdateAccessKeyCommand).rejects(awsError('AccessDenied', 'User is not authorized to perform: iam:UpdateAccessKey'));

    const run = await world.handler({ incidentIds: ['KS-HKDURC'] });

    const incident = await world.store.getIncident('KS-HKDURC');
    expect(incident?.status).toBe('containment-failed');
    expect(incident?.containment?.ok).toBe(false);
    expect(incident?.containment?.actions.map((action) => [action.kind, action.ok])).toEqual([
      ['deactivate-access-key', false],
      ['deny-user-sessions', true],
    ]);
    expect(incident?.history?.map((entry) => [entry.status, entry.by, entry.note])).toEqual([
      ['containment-failed', 'keysentry', 'failed: deactivate-access-key'],
    ]);
    expect(run.responses[0]?.outcome).toBe('containment-failed');
    const [page, ...more] = world.pages();
    expect(more).toEqual([]);
    expect(page?.sms).toMatch(/^CONTAINMENT FAILED KS-HKDURC /);
    expect(page?.email).toContain('aws iam update-access-key --user-name contractor-2019 --access-key-id AKIAFR5DZ5MDQX7IX7IB --status Inactive');
    expect(page?.email).toContain('AccessDenied: User is not authorized to perform: iam:UpdateAccessKey');
    expect(incident?.pagedState).toBe('containment-failed/failed');
    expect(await world.markers.list()).toEqual([]);
  });

  it('records a throttled action that outlasted the client retries as failed, with its manual command', async () => {
    const world = await setUp();
    world.iamMock.on(PutUserPolicyCommand).rejects(awsError('Throttling', 'Rate exceeded'));

    await world.handler({ incidentIds: ['KS-HKDURC'] });

    const incident = await world.store.getIncident('KS-HKDURC');
    expect(incident?.status).toBe('containment-failed');
    const failed = incident?.containment?.actions.find((action) => !action.ok);
    expect(failed).toMatchObject({ kind: 'deny-user-sessions', error: { code: 'Throttling', message: 'Rate exceeded' } });
    const [page] = world.pages();
    expect(page?.sms).toMatch(/^CONTAINMENT FAILED KS-HKDURC /);
    expect(page?.email).toContain('aws iam put-user-policy --user-name contractor-2019 --policy-name keysentry-deny-KS-HKDURC --policy-document');
  });

  it('retries throttling in the IAM client before an action gives up', async () => {
    const ACTIVE_KEY = '<member><UserName>contractor-2019</UserName><AccessKeyId>AKIAFR5DZ5MDQX7IX7IB</AccessKeyId><Status>Active</Status></member>';
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
    const attempts: string[] = [];
    const respond = (throttled: (action: string, attempt: number) => boolean) => {
      const iam = createIamClient({ maxAttempts: 3 });
      // The transport under the SDK: IAM's query protocol, answered here as IAM answers it.
      iam.config.requestHandler = {
        handle: async (request: { body?: unknown }) => {
          const action = /Action=(\w+)/.exec(String(request.body))?.[1] ?? '?';
          attempts.push(action);
          const attempt = attempts.filter((seen) => seen === action).length;
          const body = throttled(action, attempt)
            ? '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>'
            : action === 'ListAccessKeys'
              ? `<ListAccessKeysResponse><ListAccessKeysResult><IsTruncated>false</IsTruncated><AccessKeyMetadata>${ACTIVE_KEY}` +
                '</AccessKeyMetadata></ListAccessKeysResult></ListAccessKeysResponse>'
              : `<${action}Response><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${action}Response>`;
          return {
            response: { statusCode: body.startsWith('<ErrorResponse>') ? 400 : 200, headers: { 'content-type': 'text/xml' }, body: Readable.from([body]) },
          };
        },
      } as unknown as typeof iam.config.requestHandler;
      return iam;
    };
    const target = { kind: 'deactivate-access-key' as const, incidentId: 'KS-HKDURC', accessKeyId: 'AKIAFR5DZ5MDQX7IX7IB', userName: 'contractor-2019' };
    const options = { dryRun: false, now: () => START };

    const twice = await deactivateAccessKey.run(respond((action, attempt) => action === 'UpdateAccessKey' && attempt <= 2), target, options);
    expect(twice, JSON.stringify(twice)).toMatchObject({ ok: true, changed: true, previousStatus: 'Active' });
    expect(attempts.filter((action) => action === 'UpdateAccessKey')).toHaveLength(3);

    attempts.length = 0;
    const always = await deactivateAccessKey.run(respond((action) => action === 'UpdateAccessKey'), target, options);
    expect(always).toMatchObject({ ok: false, error: { code: 'Throttling' } });
    expect(attempts.filter((action) => action === 'UpdateAccessKey')).toHaveLength(3);
    if (!always.ok) expect(always.manualCommand).toBe('aws iam update-access-key --user-name contractor-2019 --access-key-id AKIAFR5DZ5MDQX7IX7IB --status Inactive');
  });

  it('looks the user up from the key when CloudTrail did not name it', async () => {
    const { userName: _dropped, ...identity } = breachIncident().identity;
    const world = await setUp([breachIncident({ identity })]);
    world.iamMock.on(GetAccessKeyLastUsedCommand).resolves({ UserName: 'contractor-2019' });

    await world.handler({ incidentIds: ['KS-HKDURC'] });

    const incident = await world.store.getIncident('KS-HKDURC');
    expect(incident?.status).toBe('contained');
    expect(incident?.containment?.actions.map((action) => action.target.userName)).toEqual(['contractor-2019', 'contractor-2019']);
    expect(world.iamMock.commandCalls(UpdateAccessKeyCommand)[0]?.args[0].input).toEqual({
      UserName: 'contractor-2019',
      AccessKeyId: 'AKIAFR5DZ5MDQX7IX7IB',
      Status: 'Inactive',
    });
  });

  it('counts a key or user that no longer exists as contained', async () => {
    const world = await setUp();
    world.iamMock.on(ListAccessKeysCommand).rejects(new NoSuchEntityException({ message: 'The user with name contractor-2019 cannot be found.', $metadata: {} }));
    world.iamMock.on(PutUserPolicyCommand).rejects(new NoSuchEntityException({ message: 'The user with name contractor-2019 cannot be found.', $metadata: {} }));

    await world.handler({ incidentIds: ['KS-HKDURC'] });

    const incident = await world.store.getIncident('KS-HKDURC');
    expect(incident?.status).toBe('contained');
    expect(incident?.containment?.actions.every((action) => action.ok && !action.changed)).toBe(true);
  });
});

describe('SNS failing', () => {
  it('leaves the incident contained but unpaged and marked; the next invocation pages it once, nothing lost', async () => {
    const world = await setUp();
    world.snsMock.on(PublishCommand).rejects(new SNSServiceException({ name: 'InternalError', message: 'SNS is down', $fault: 'server', $metadata: {} }));

    const first = await world.handler({ incidentIds: ['KS-HKDURC'] });

    expect(first.responses[0]).toMatchObject({ outcome: 'page-failed', pageError: { code: 'InternalError', message: 'SNS is down' } });
    const contained = await world.store.getIncident('KS-HKDURC');
    expect(contained?.status).toBe('contained');
    expect(contained?.pagedState).toBeUndefined();
    expect((await world.markers.list()).map((marker) => marker.incidentId)).toEqual(['KS-HKDURC']);

    // SNS recovers; the next invocation is the one-minute schedule, with no incident named.
    world.snsMock.on(PublishCommand).callsFake((input: PublishCommandInput) => {
      world.published.push(input);
      return { MessageId: 'm-1' };
    });
    world.clock.now += 61_000;
    const second = await world.handler({ sweep: true });

    expect(second.swept).toEqual(['KS-HKDURC']);
    const [page, ...more] = world.pages();
    expect(more).toEqual([]);
    expect(page?.sms).toMatch(/^KS-HKDURC CONTAINED key AKIA\.\.\.X7IB contractor-2019: .* Key disabled\.$/);
    const paged = await world.store.getIncident('KS-HKDURC');
    expect(paged?.pagedState).toBe('contained/contained');
    expect(paged?.containment).toEqual(contained?.containment);
    expect(world.iamMock.commandCalls(UpdateAccessKeyCommand)).toHaveLength(1);
    expect(await world.markers.list()).toEqual([]);

    world.clock.now += 61_000;
    await world.handler({ sweep: true });
    expect(world.published).toHaveLength(1);
  });

  it('leaves a fresh marker to the invocation that set it', async () => {
    const world = await setUp();
    await world.markers.mark(['KS-HKDURC'], START - 5_000);
    const run = await world.handler({ sweep: true });
    expect(run.swept).toEqual([]);
    expect(world.published).toEqual([]);
  });
});

describe('the responder run twice, or on what it must not touch', () => {
  it('contains and pages once when the same incident is handed over twice', async () => {
    const world = await setUp();
    await world.handler({ incidentIds: ['KS-HKDURC'] });
    const once = await world.store.getIncident('KS-HKDURC');
    world.clock.now += 5_000;
    await world.handler({ incidentIds: ['KS-HKDURC'] });
    expect(await world.store.getIncident('KS-HKDURC')).toEqual(once);
    expect(world.published).toHaveLength(1);
  });

  it('never contains a protected principal, its own role or a service-linked role, even on a contain decision', async () => {
    const ownRole = ransomwareIncident({
      incidentId: 'KS-AWNRBL',
      identity: {
        ...ransomwareIncident().identity,
        roleName: 'keysentry-prod-contain-eu-west-1-lambdaRole',
        roleArn: 'arn:aws:iam::111122223333:role/keysentry-prod-contain-eu-west-1-lambdaRole',
      },
    });
    const linked = ransomwareIncident({
      incidentId: 'KS-LJNKED',
      actor: 'ASIAFNNAGOI3G2NIU7ZD',
      identity: {
        ...ransomwareIncident().identity,
        roleName: 'AWSServiceRoleForConfig',
        roleArn: 'arn:aws:iam::111122223333:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig',
      },
    });
    const world = await setUp([breachIncident(), ownRole, linked], { protectedPrincipals: ['arn:aws:iam::111122223333:user/contractor-*'] });

    await world.handler({ incidentIds: ['KS-HKDURC', ownRole.incidentId, linked.incidentId] });

    expect(world.iamMock.calls()).toEqual([]);
    const blocked = await Promise.all(['KS-HKDURC', ownRole.incidentId, linked.incidentId].map((id) => world.store.getIncident(id)));
    expect(blocked.map((incident) => [incident?.status, incident?.containment?.blockedBy])).toEqual([
      ['open', 'protected'],
      ['open', 'own-role'],
      ['open', 'not-containable'],
    ]);
    const lines = world.pages().map((page) => page.sms);
    expect(lines).toHaveLength(3);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^KS-HKDURC NOT CONTAINED \(protected\) key AKIA/),
        expect.stringMatching(/^KS-AWNRBL NOT CONTAINED \(keysentry role\) role keysentry-prod-contain/),
        expect.stringMatching(/^KS-LJNKED NOT CONTAINABLE role AWSServiceRoleForConfig session/),
      ]),
    );
  });

  it('changes nothing in IAM in dry run and pages WOULD CONTAIN', async () => {
    const world = await setUp([breachIncident()], { dryRun: true });
    await world.handler({ incidentIds: ['KS-HKDURC'] });
    expect(world.iamMock.calls()).toEqual([]);
    const incident = await world.store.getIncident('KS-HKDURC');
    expect(incident).toMatchObject({ status: 'open', containment: { dryRun: true, ok: true } });
    expect(world.pages()[0]?.sms).toMatch(/^KS-HKDURC WOULD CONTAIN \(dry-run\) key AKIA\.\.\.X7IB contractor-2019: .* Nothing changed\.$/);
  });

  it('contains for real an incident only dry-run so far once the deployment leaves dry run and the actor escalates', async () => {
    const dry = await setUp([breachIncident({ action: 'page', blockedBy: 'dry-run' })], { dryRun: true });
    await dry.handler({ incidentIds: ['KS-HKDURC'] });
    const escalated = (await dry.store.getIncident('KS-HKDURC')) as Incident;
    expect(escalated.containment?.dryRun).toBe(true);
    // What the detector writes when the next decision, no longer dry run, says contain.
    await dry.store.updateIncident({ ...escalated, action: 'contain', blockedBy: undefined, revision: escalated.revision + 1 });

    const live = dry.handlerWith(false);
    await live({ incidentIds: ['KS-HKDURC'] });

    expect(await dry.store.getIncident('KS-HKDURC')).toMatchObject({ status: 'contained', containment: { dryRun: false, ok: true } });
    expect(dry.pages().map((page) => page.sms.split(':')[0])).toEqual([
      'KS-HKDURC WOULD CONTAIN (dry-run) key AKIA...X7IB contractor-2019',
      'KS-HKDURC CONTAINED key AKIA...X7IB contractor-2019',
    ]);
  });

  it('pages once more when the contained actor is still active after containment, and only once', async () => {
    const world = await setUp();
    await world.handler({ incidentIds: ['KS-HKDURC'] });
    const contained = (await world.store.getIncident('KS-HKDURC')) as Incident;
    // What the detector writes when the actor's calls keep arriving after containment.
    const later = contained.containment?.at ?? 0;
    await world.store.updateIncident({ ...contained, lastEventTime: later + STILL_ACTIVE_GRACE_MS + 30_000, revision: contained.revision + 1 });

    world.clock.now += 120_000;
    await world.handler({ incidentIds: ['KS-HKDURC'] });
    await world.handler({ incidentIds: ['KS-HKDURC'] });

    expect(world.pages().map((page) => page.sms.slice(0, 44))).toEqual([
      'KS-HKDURC CONTAINED key AKIA...X7IB contract',
      'KS-HKDURC STILL ACTIVE after containment key',
    ]);
  });

  it('undoes a policy already gone as success and leaves a key that was inactive before containment inactive', async () => {
    const world = await setUp();
    const gone = new NoSuchEntityException({ message: 'The user policy with name keysentry-deny-KS-HKDURC cannot be found.', $metadata: {} });
    world.iamMock.on(DeleteUserPolicyCommand).rejects(gone);
    const user = { incidentId: 'KS-HKDURC', userName: 'contractor-2019' };
    const key = { ...user, kind: 'deactivate-access-key' as const, accessKeyId: 'AKIAFR5DZ5MDQX7IX7IB' };
    const sessions = { ...user, kind: 'deny-user-sessions' as const, issuedBefore: '2026-10-20T03:12:51Z' };
    const record: ContainmentRecord = {
      at: START,
      ok: true,
      dryRun: false,
      actions: [
        { kind: key.kind, target: key, ok: true, dryRun: false, changed: false, previousStatus: 'Inactive', detail: 'already inactive', at: START },
        { kind: sessions.kind, target: sessions, ok: true, dryRun: false, changed: true, detail: 'denied', at: START },
      ],
    };
    const results = await undoContainment(world.iam, record, { now: () => START });
    expect(results.map((result) => [result.kind, result.ok, result.ok && result.changed])).toEqual([
      ['deactivate-access-key', true, false],
      ['deny-user-sessions', true, false],
    ]);
    expect(world.iamMock.commandCalls(UpdateAccessKeyCommand)).toEqual([]);
  });
});

describe('the store and the invocation failing', () => {
  it('finds an incident whose invocation was lost through its marker, and contains and pages it', async () => {
    const world = await setUp();
    const lambda = new LambdaClient({ region: 'eu-west-1' });
    mockClient(lambda).on(InvokeCommand).rejects(new Error('Rate Exceeded.'));
    const notify = createResponderDispatch({ lambda, functionName: 'keysentry-dev-contain', markers: world.markers, now: () => world.clock.now });

    const dispatched = notify([{ kind: 'created', incident: breachIncident() }]);
    await expect(dispatched).rejects.toBeInstanceOf(DispatchError);
    await expect(dispatched).rejects.toMatchObject({ incidentIds: ['KS-HKDURC'], marked: true });

    world.clock.now += 60_000;
    await world.handler({ sweep: true });
    expect((await world.store.getIncident('KS-HKDURC'))?.status).toBe('contained');
    expect(world.pages()[0]?.sms).toMatch(/^KS-HKDURC CONTAINED /);
  });

  it('reports a failed dispatch with the scored batch instead of sending the batch back', async () => {
    const record = loadRepairedRecords().find((r) => r.eventSource === 's3.amazonaws.com' && r.eventName === 'GetObject');
    const body = JSON.stringify({ 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.s3', detail: record });
    const scored = await scoreSqsRecords([{ messageId: 'm-1', body }], {
      detector: {
        processBatch: async (events) => ({
          events: events.length,
          fresh: events.length,
          actors: 1,
          verdicts: [],
          changes: [{ kind: 'created', incident: breachIncident() }],
        }),
      },
      now: () => START,
      notify: async () => {
        throw new DispatchError('could not invoke keysentry-dev-contain', ['KS-HKDURC'], true);
      },
    });
    expect(scored.batchItemFailures).toEqual([]);
    expect(scored.dispatchError).toBeInstanceOf(DispatchError);
    expect(scored.outcome?.changes).toHaveLength(1);
  });

  it('handles the other incidents when the store fails on one, then throws so that Lambda retries', async () => {
    const world = await setUp([breachIncident(), ransomwareIncident()]);
    const getIncident = world.store.getIncident.bind(world.store);
    vi.spyOn(world.store, 'getIncident').mockImplementation(async (id) => {
      if (id === 'KS-ST88U3') throw new StoreError('DynamoDB GetItem failed: ProvisionedThroughputExceededException');
      return getIncident(id);
    });

    await expect(world.handler({ incidentIds: ['KS-ST88U3', 'KS-HKDURC'] })).rejects.toThrow(ResponderError);
    expect((await getIncident('KS-HKDURC'))?.status).toBe('contained');
    expect(world.pages().map((page) => page.sms.slice(0, 19))).toEqual(['KS-HKDURC CONTAINED']);
  });
});
