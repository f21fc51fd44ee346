import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { silenceStdout } from './support/test-hooks.ts';
import { makeContainHandler } from '../functions/contain-handler.ts';
import { checkContainable } from '../lib/aws/containment.ts';
import { MemoryResponseMarkers } from '../lib/aws/response-markers.ts';
import type { AccessEvent, Identity } from '../lib/domain/access-event.ts';
import { normalizeRecord } from '../lib/domain/cloudtrail-record.ts';
import { decideAction, DEFAULT_POLICY, type Policy } from '../lib/domain/policy.ts';
import { createDetector } from '../lib/engine/score-engine.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { cloneRecord, loadRepairedRecords, pickRecord, type CloudTrailRecord } from './events/load-events.ts';
import { emulatorClientConfig, inMotoAccount, uniqueName } from './support/aws-clients.ts';

// Exemptions come only from what a caller cannot choose: the role ARN of a role session
// (`sessionIssuer.arn`), the IAM user's ARN, the access key id. Each test below takes a real
// CloudTrail record (OTRF: stolen instance-profile credentials reading S3), lets the attacker fill
// one field it controls with the name of an exempt identity, and shows the actor is still contained.

/** This file's moto account: its IAM users and roles meet no other file's. */
const ACCOUNT = '135792468024';
const OWN_ROLE = `arn:aws:iam::${ACCOUNT}:role/keysentry-prod-score-eu-west-1-lambdaRole`;
const BREAK_GLASS = `arn:aws:iam::${ACCOUNT}:user/break-glass`;

const POLICY: Policy = {
  ...DEFAULT_POLICY,
  ownRoleArns: [OWN_ROLE],
  protectedPrincipals: [BREAK_GLASS, `arn:aws:iam::${ACCOUNT}:role/keysentry-*`],
  accounts: [ACCOUNT],
};
const HIGH = { score: 90, reasons: [] };

/** The real GetObject of the stolen role session, moved into this file's account. */
function stolenRoleRead(): CloudTrailRecord {
  const records = loadRepairedRecords();
  const read = pickRecord(records, 'GetObject by an assumed role', (r) => r.eventName === 'GetObject' && r.userIdentity?.type === 'AssumedRole');
  return JSON.parse(JSON.stringify(read).replaceAll('123456789123', ACCOUNT)) as CloudTrailRecord;
}

function identityOf(record: CloudTrailRecord): Identity {
  const outcome = normalizeRecord(record);
  if (outcome.kind !== 'event') throw new Error(`record not admitted: ${outcome.kind} ${'reason' in outcome ? outcome.reason : ''}`);
  return outcome.event.identity;
}

/** The record as the attacker would have it logged after choosing its session name. */
function withSessionName(record: CloudTrailRecord, sessionName: string): CloudTrailRecord {
  return cloneRecord(record, (copy) => {
    const identity = copy.userIdentity as NonNullable<CloudTrailRecord['userIdentity']>;
    identity.arn = identity.arn?.replace(/\/[^/]+$/, `/${sessionName}`);
    identity.principalId = identity.principalId?.replace(/:.*$/, `:${sessionName}`);
  });
}

const ATTACKER_CHOICES: Array<[string, (record: CloudTrailRecord) => CloudTrailRecord]> = [
  ['the session name "keysentry"', (record) => withSessionName(record, 'keysentry')],
  ['the session name of the stack\'s own role', (record) => withSessionName(record, 'keysentry-prod-score-eu-west-1-lambdaRole')],
  ['the session name "break-glass"', (record) => withSessionName(record, 'break-glass')],
  ['a user agent naming the own role', (record) => cloneRecord(record, (copy) => void (copy.userAgent = `keysentry ${OWN_ROLE}`))],
  [
    'a userName added to the identity',
    (record) => cloneRecord(record, (copy) => void ((copy.userIdentity as Record<string, unknown>).userName = 'break-glass')),
  ],
  [
    'request parameters naming the protected user',
    (record) =>
      cloneRecord(record, (copy) => {
        copy.requestParameters = { ...copy.requestParameters, bucketName: 'keysentry', key: BREAK_GLASS, userName: 'break-glass' };
      }),
  ],
];

describe('exemptions only from what the caller cannot choose', () => {
  it('contains the plain stolen session (the control)', () => {
    const identity = identityOf(stolenRoleRead());
    expect(decideAction(HIGH, identity, POLICY)).toEqual({ action: 'contain' });
    expect(checkContainable(identity, POLICY)).toBeUndefined();
  });

  for (const [field, choose] of ATTACKER_CHOICES) {
    it(`still contains the stolen session that chose ${field}`, () => {
      const identity = identityOf(choose(stolenRoleRead()));
      expect(decideAction(HIGH, identity, POLICY)).toEqual({ action: 'contain' });
      expect(checkContainable(identity, POLICY)).toBeUndefined();
    });
  }

  it('exempts the own role by its role ARN, whatever the session is called', () => {
    const record = cloneRecord(withSessionName(stolenRoleRead(), 'anything'), (copy) => {
      const issuer = copy.userIdentity?.sessionContext?.sessionIssuer as NonNullable<NonNullable<CloudTrailRecord['userIdentity']>['sessionContext']>['sessionIssuer'];
      if (issuer) issuer.arn = OWN_ROLE;
    });
    expect(decideAction(HIGH, identityOf(record), POLICY)).toEqual({ action: 'page', blockedBy: 'own-role' });
  });

  it('protects a principal by user ARN or by key id, not by user name', () => {
    const user: Identity = {
      type: 'iam-user-key',
      principal: BREAK_GLASS,
      actor: 'AKIAEXAMPLEBREAKGLAS',
      accessKeyId: 'AKIAEXAMPLEBREAKGLAS',
      longTermKey: 'AKIAEXAMPLEBREAKGLAS',
      arn: BREAK_GLASS,
      accountId: ACCOUNT,
      userName: 'break-glass',
    };
    expect(decideAction(HIGH, user, POLICY).blockedBy).toBe('protected');
    const byKey = { ...POLICY, protectedPrincipals: ['AKIAEXAMPLEBREAKGLAS'] };
    expect(decideAction(HIGH, { ...user, arn: `arn:aws:iam::${ACCOUNT}:user/other`, principal: 'x' }, byKey).blockedBy).toBe('protected');
    const byName = { ...POLICY, protectedPrincipals: ['break-glass'] };
    expect(decideAction(HIGH, user, byName)).toEqual({ action: 'contain' });
  });
});

describe('account checks', () => {
  it('never contains a caller of another account, nor one whose ARN and account disagree', () => {
    const foreign = identityOf(JSON.parse(JSON.stringify(stolenRoleRead()).replaceAll(ACCOUNT, '999988887777')) as CloudTrailRecord);
    expect(decideAction(HIGH, foreign, POLICY)).toEqual({ action: 'page', blockedBy: 'foreign-account' });
    const mixed = identityOf(
      cloneRecord(stolenRoleRead(), (copy) => {
        const issuer = copy.userIdentity?.sessionContext?.sessionIssuer;
        if (issuer) issuer.arn = issuer.arn?.replace(ACCOUNT, '999988887777');
      }),
    );
    expect(decideAction(HIGH, mixed, POLICY)).toEqual({ action: 'page', blockedBy: 'foreign-account' });
    expect(checkContainable(mixed, POLICY)).toBe('foreign-account');
  });
});

describe('against moto_server: the responder acts on what the detector decided', () => {
  let iam: IAMClient;
  let sns: SNSClient;
  let topicArn: string;

  beforeAll(async () => {
    iam = inMotoAccount(new IAMClient(emulatorClientConfig()), ACCOUNT);
    sns = inMotoAccount(new SNSClient(emulatorClientConfig()), ACCOUNT);
    ({ TopicArn: topicArn = '' } = await sns.send(new CreateTopicCommand({ Name: uniqueName('pages') })));
  });
  silenceStdout();

  /** A list and 300 reads of distinct objects, one a second, as the attacker's records. */
  function sweep(template: CloudTrailRecord, start: number): AccessEvent[] {
    const events: AccessEvent[] = [];
    for (let i = 0; i < 301; i++) {
      const record = cloneRecord(template, (copy) => {
        copy.eventID = `${uniqueName('evt')}-${i}`;
        copy.eventTime = new Date(start + i * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        if (i === 0) copy.eventName = 'ListObjects';
        else copy.requestParameters = { ...copy.requestParameters, key: `results/patient-${i}.pdf` };
      });
      const outcome = normalizeRecord(record);
      if (outcome.kind === 'event') events.push(outcome.event);
    }
    return events;
  }

  async function detectAndRespond(template: CloudTrailRecord) {
    const store = new MemoryStore();
    const detector = createDetector({ store, policy: POLICY });
    const start = Date.parse('2026-03-02T10:00:00Z');
    const events = sweep(template, start);
    const outcome = await detector.processBatch(events, start + 301_000);
    const handler = makeContainHandler({
      store,
      markers: new MemoryResponseMarkers(),
      iam,
      sns,
      topicArn,
      guard: POLICY,
      dryRun: false,
      logger: new Logger({ serviceName: 'keysentry', logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'keysentry-test', serviceName: 'keysentry' }),
    });
    const run = await handler({ incidentIds: outcome.changes.map((change) => change.incident.incidentId) });
    return { outcome, run };
  }

  it('denies the session of a stolen role credential assumed with --role-session-name keysentry', { timeout: 30_000 }, async () => {
    const roleName = uniqueName('patient-portal');
    const { Role } = await iam.send(
      new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [] }) }),
    );
    const template = cloneRecord(withSessionName(stolenRoleRead(), 'keysentry'), (copy) => {
      const identity = copy.userIdentity as NonNullable<CloudTrailRecord['userIdentity']>;
      identity.arn = `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/keysentry`;
      identity.principalId = `${Role?.RoleId}:keysentry`;
      if (identity.sessionContext?.sessionIssuer) {
        Object.assign(identity.sessionContext.sessionIssuer, { arn: Role?.Arn, userName: roleName, principalId: Role?.RoleId });
      }
    });

    const { outcome, run } = await detectAndRespond(template);

    expect(outcome.changes.map((change) => change.incident.action)).toEqual(['contain']);
    expect(run.responses.map((response) => response.outcome)).toEqual(['contained']);
    const { PolicyNames = [] } = await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }));
    expect(PolicyNames).toHaveLength(1);
    const { PolicyDocument = '' } = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: PolicyNames[0] }));
    expect(decodeURIComponent(PolicyDocument)).toContain(`"aws:userid":"${Role?.RoleId}:keysentry"`);
  });

  it('changes nothing for a local user of the same name when the records are another account\'s', { timeout: 30_000 }, async () => {
    const userName = uniqueName('admin');
    await iam.send(new CreateUserCommand({ UserName: userName }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    const foreign = cloneRecord(stolenRoleRead(), (copy) => {
      copy.recipientAccountId = '999988887777';
      copy.userIdentity = {
        type: 'IAMUser',
        principalId: 'AIDAEXAMPLEFOREIGN01',
        arn: `arn:aws:iam::999988887777:user/${userName}`,
        accountId: '999988887777',
        accessKeyId: AccessKey?.AccessKeyId,
        userName,
      };
    });

    const { outcome, run } = await detectAndRespond(foreign);

    expect(outcome.changes.map((change) => [change.incident.action, change.incident.blockedBy])).toEqual([['page', 'foreign-account']]);
    expect(run.responses.map((response) => response.outcome)).toEqual(['paged']);
    const { AccessKeyMetadata = [] } = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
    expect(AccessKeyMetadata.map((key) => key.Status)).toEqual(['Active']);
    expect((await iam.send(new ListUserPoliciesCommand({ UserName: userName }))).PolicyNames).toEqual([]);
  });

  it('contains a GetFederationToken session through the IAM user that issued it', { timeout: 30_000 }, async () => {
    const userName = uniqueName('report-bot');
    const { User } = await iam.send(new CreateUserCommand({ UserName: userName }));
    const federated = cloneRecord(stolenRoleRead(), (copy) => {
      copy.userIdentity = {
        type: 'FederatedUser',
        principalId: `${ACCOUNT}:exfil`,
        arn: `arn:aws:sts::${ACCOUNT}:federated-user/exfil`,
        accountId: ACCOUNT,
        accessKeyId: 'ASIAEXAMPLEFEDERATED',
        sessionContext: {
          sessionIssuer: { type: 'IAMUser', principalId: User?.UserId, arn: User?.Arn, accountId: ACCOUNT, userName },
          attributes: { creationDate: '2026-03-02T09:59:00Z', mfaAuthenticated: 'false' },
        },
      };
    });

    const { outcome, run } = await detectAndRespond(federated);

    expect(outcome.changes.map((change) => change.incident.action)).toEqual(['contain']);
    expect(run.responses.map((response) => response.outcome)).toEqual(['contained']);
    const { PolicyNames = [] } = await iam.send(new ListUserPoliciesCommand({ UserName: userName }));
    expect(PolicyNames).toEqual([`keysentry-deny-${outcome.changes[0]?.incident.incidentId}`]);
  });
});
