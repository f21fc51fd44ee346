import { describe, expect, it } from 'vitest';
import { loadConfig, loadContainConfig, loadLogFileConfig } from '../lib/config.ts';
import { DEFAULT_WINDOW_MS } from '../lib/engine/score-engine.ts';
import { ConfigError } from '../lib/domain/errors.ts';

/** The environment serverless.yml gives the score function with its default params. */
const DEPLOYED: Record<string, string> = {
  POWERTOOLS_SERVICE_NAME: 'keysentry',
  POWERTOOLS_METRICS_NAMESPACE: 'keysentry',
  AWS_REGION: 'eu-west-1',
  WINDOWS_TABLE: 'keysentry-dev-windows',
  STATE_TABLE: 'keysentry-dev-state',
  PAGE_THRESHOLD: '50',
  CONTAIN_THRESHOLD: '75',
  DRY_RUN: 'true',
  PROTECTED_PRINCIPALS: '',
  PROTECTED_BUCKETS: 'checkup-results, invoices',
  ACCOUNT_ID: '111122223333',
  OWN_ROLE_ARNS:
    'arn:aws:iam::111122223333:role/keysentry-dev-score-eu-west-1-lambdaRole,arn:aws:iam::111122223333:role/keysentry-dev-contain-eu-west-1-lambdaRole',
  RESPONDER_FUNCTION: 'keysentry-dev-contain',
};

const without = (name: string): Record<string, string> => {
  const { [name]: _removed, ...rest } = DEPLOYED;
  return rest;
};

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('reads the environment serverless.yml deploys', () => {
    const config = loadConfig(DEPLOYED);
    expect(config).toMatchObject({
      serviceName: 'keysentry',
      region: 'eu-west-1',
      windowsTable: 'keysentry-dev-windows',
      stateTable: 'keysentry-dev-state',
      protectedBuckets: ['checkup-results', 'invoices'],
      windowMs: DEFAULT_WINDOW_MS,
      logFileBatchWindowMs: 10_000,
      responderFunction: 'keysentry-dev-contain',
    });
    expect(config.policy).toEqual({
      pageThreshold: 50,
      containThreshold: 75,
      dryRun: true,
      protectedPrincipals: [],
      ownRoleArns: [
        'arn:aws:iam::111122223333:role/keysentry-dev-score-eu-west-1-lambdaRole',
        'arn:aws:iam::111122223333:role/keysentry-dev-contain-eu-west-1-lambdaRole',
      ],
      accounts: ['111122223333'],
      cooldownMinutes: 60,
    });
  });

  it('splits protected principals on commas and ignores blanks', () => {
    const config = loadConfig({
      ...DEPLOYED,
      PROTECTED_PRINCIPALS: 'arn:aws:iam::111122223333:role/backup, ,arn:aws:iam::111122223333:user/break-glass-*,AKIAIOSFODNN7EXAMPLE',
    });
    expect(config.policy.protectedPrincipals).toEqual([
      'arn:aws:iam::111122223333:role/backup',
      'arn:aws:iam::111122223333:user/break-glass-*',
      'AKIAIOSFODNN7EXAMPLE',
    ]);
  });

  it('refuses a protected principal given by bare name: a session name could carry it', () => {
    const error = configError(() => loadConfig({ ...DEPLOYED, PROTECTED_PRINCIPALS: 'break-glass-*,arn:aws:iam::111122223333:role/backup' }));
    expect(error.message).toContain('PROTECTED_PRINCIPALS: "break-glass-*" is not a user or role ARN');
    expect(error.message).not.toContain('role/backup');
  });

  it('takes its own roles only as role ARNs, and none when the deployment names none', () => {
    expect(loadConfig(without('OWN_ROLE_ARNS')).policy.ownRoleArns).toEqual([]);
    expect(configError(() => loadConfig({ ...DEPLOYED, OWN_ROLE_ARNS: '*keysentry*' })).message).toContain(
      'OWN_ROLE_ARNS: "*keysentry*" is not a role ARN',
    );
  });

  it('requires the deployment account, as twelve digits', () => {
    expect(configError(() => loadConfig(without('ACCOUNT_ID'))).message).toContain('ACCOUNT_ID is missing');
    expect(configError(() => loadConfig({ ...DEPLOYED, ACCOUNT_ID: '1111-2222-3333' })).message).toContain(
      'ACCOUNT_ID="1111-2222-3333" is not a 12-digit account id',
    );
  });

  it('turns containment on only for DRY_RUN=false', () => {
    expect(loadConfig({ ...DEPLOYED, DRY_RUN: 'false' }).policy.dryRun).toBe(false);
    expect(loadConfig({ ...DEPLOYED, DRY_RUN: 'TRUE' }).policy.dryRun).toBe(true);
  });

  it('reads the optional window, cool-down and log-file batch settings', () => {
    const config = loadConfig({ ...DEPLOYED, WINDOW_MINUTES: '1', COOLDOWN_MINUTES: '30', LOG_FILE_BATCH_SECONDS: '5' });
    expect(config.windowMs).toBe(60_000);
    expect(config.policy.cooldownMinutes).toBe(30);
    expect(config.logFileBatchWindowMs).toBe(5_000);
  });

  for (const name of ['WINDOWS_TABLE', 'STATE_TABLE', 'PAGE_THRESHOLD', 'CONTAIN_THRESHOLD', 'DRY_RUN', 'RESPONDER_FUNCTION']) {
    it(`fails naming ${name} when it is missing`, () => {
      const error = configError(() => loadConfig(without(name)));
      expect(error.message).toContain(`${name} is missing`);
    });

    it(`treats an empty ${name} as missing`, () => {
      expect(configError(() => loadConfig({ ...DEPLOYED, [name]: '  ' })).message).toContain(`${name} is missing`);
    });
  }

  it('names every problem of the environment in one error', () => {
    const error = configError(() => loadConfig({ PAGE_THRESHOLD: 'fifty', DRY_RUN: 'yes' }));
    expect(error.message).toContain('WINDOWS_TABLE is missing');
    expect(error.message).toContain('STATE_TABLE is missing');
    expect(error.message).toContain('PAGE_THRESHOLD="fifty" is not a number from 0 to 100');
    expect(error.message).toContain('CONTAIN_THRESHOLD is missing');
    expect(error.message).toContain('DRY_RUN="yes" is neither true nor false');
  });

  it('rejects thresholds outside 0–100 and a contain threshold below the page threshold', () => {
    expect(configError(() => loadConfig({ ...DEPLOYED, PAGE_THRESHOLD: '101' })).message).toContain('PAGE_THRESHOLD="101"');
    expect(configError(() => loadConfig({ ...DEPLOYED, PAGE_THRESHOLD: '80' })).message).toContain(
      'CONTAIN_THRESHOLD=75 is below PAGE_THRESHOLD=80',
    );
  });

  it('rejects invalid optional settings by name', () => {
    expect(configError(() => loadConfig({ ...DEPLOYED, WINDOW_MINUTES: '0' })).message).toContain('WINDOW_MINUTES="0"');
    expect(configError(() => loadConfig({ ...DEPLOYED, COOLDOWN_MINUTES: 'soon' })).message).toContain('COOLDOWN_MINUTES="soon"');
    expect(configError(() => loadConfig({ ...DEPLOYED, DYNAMODB_ENDPOINT: 'localhost 5000' })).message).toContain(
      'DYNAMODB_ENDPOINT="localhost 5000" is not a URL',
    );
  });

  it('accepts an emulator endpoint for DynamoDB', () => {
    expect(loadConfig({ ...DEPLOYED, DYNAMODB_ENDPOINT: 'http://127.0.0.1:5000' }).dynamoDbEndpoint).toBe('http://127.0.0.1:5000');
  });
});

describe('loadLogFileConfig', () => {
  it('adds the idempotency table', () => {
    expect(loadLogFileConfig({ ...DEPLOYED, IDEMPOTENCY_TABLE: 'keysentry-dev-idempotency' }).idempotencyTable).toBe(
      'keysentry-dev-idempotency',
    );
  });

  it('reads log files of the deployment account, plus the trail accounts and organization it is given', () => {
    const own = loadLogFileConfig({ ...DEPLOYED, IDEMPOTENCY_TABLE: 'idem' });
    expect(own.trailAccounts).toEqual(['111122223333']);
    expect(own.trailPrefix).toBe('AWSLogs/');
    expect(loadLogFileConfig({ ...DEPLOYED, IDEMPOTENCY_TABLE: 'idem', TRAIL_PREFIX: 'audit/AWSLogs/' }).trailPrefix).toBe('audit/AWSLogs/');
    expect(configError(() => loadLogFileConfig({ ...DEPLOYED, IDEMPOTENCY_TABLE: 'idem', TRAIL_PREFIX: 'logs/' })).message).toContain(
      'TRAIL_PREFIX="logs/" does not end in AWSLogs/',
    );
    expect(own.organizationId).toBeUndefined();
    const org = loadLogFileConfig({ ...DEPLOYED, IDEMPOTENCY_TABLE: 'idem', TRAIL_ACCOUNTS: '444455556666', ORGANIZATION_ID: 'o-a1b2c3d4e5' });
    expect(org).toMatchObject({ trailAccounts: ['111122223333', '444455556666'], organizationId: 'o-a1b2c3d4e5' });
    const error = configError(() => loadLogFileConfig({ ...DEPLOYED, IDEMPOTENCY_TABLE: 'idem', TRAIL_ACCOUNTS: 'prod', ORGANIZATION_ID: 'acme' }));
    expect(error.message).toContain('TRAIL_ACCOUNTS: "prod" is not a 12-digit account id');
    expect(error.message).toContain('ORGANIZATION_ID="acme" is not an organization id');
  });

  it('fails naming IDEMPOTENCY_TABLE with the other problems', () => {
    const error = configError(() => loadLogFileConfig(without('STATE_TABLE')));
    expect(error.message).toContain('STATE_TABLE is missing');
    expect(error.message).toContain('IDEMPOTENCY_TABLE is missing');
  });
});

describe('loadContainConfig', () => {
  const { RESPONDER_FUNCTION: _responder, ...common } = DEPLOYED;
  const CONTAIN = { ...common, PAGES_TOPIC_ARN: 'arn:aws:sns:eu-west-1:111122223333:keysentry-pages' };

  it('reads the pages topic and the guard the detector has, without a responder of its own', () => {
    const config = loadContainConfig(CONTAIN);
    expect(config).toMatchObject({ pagesTopicArn: CONTAIN.PAGES_TOPIC_ARN, revokeAllRoleSessions: false, cliOptions: '' });
    expect(config.policy).toMatchObject({ dryRun: true, protectedPrincipals: [], accounts: ['111122223333'] });
    expect(config.policy.ownRoleArns).toHaveLength(2);
  });

  it('fails naming PAGES_TOPIC_ARN when it is missing', () => {
    expect(configError(() => loadContainConfig(common)).message).toContain('PAGES_TOPIC_ARN is missing');
  });

  it('revokes every session of a role only when told to', () => {
    expect(loadContainConfig({ ...CONTAIN, REVOKE_ALL_ROLE_SESSIONS: 'true' }).revokeAllRoleSessions).toBe(true);
    expect(configError(() => loadContainConfig({ ...CONTAIN, REVOKE_ALL_ROLE_SESSIONS: 'all' })).message).toContain(
      'REVOKE_ALL_ROLE_SESSIONS="all" is neither true nor false',
    );
  });
});
