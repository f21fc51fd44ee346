import { describe, expect, it } from 'vitest';
import type { IdentityType } from '../lib/domain/access-event.ts';
import { classifyUserAgent, networkOf } from '../lib/domain/caller-origin.ts';
import { CallerCache, normalizeRecord } from '../lib/domain/cloudtrail-record.ts';
import { identityReadsAddress, resolveIdentity } from '../lib/domain/identity.ts';
import {
  cloneRecord,
  loadHoneyBucketRows,
  loadRepairedRecords,
  parsePythonDict,
  pickRecord,
  type CloudTrailRecord,
  type UserIdentity,
} from './events/load-events.ts';

const records = loadRepairedRecords();
const honeyBucket = loadHoneyBucketRows();
const pedro = pickRecord(records, 'IAM user pedro', (r) => r.userIdentity?.userName === 'pedro');
const getObject = pickRecord(records, 'GetObject', (r) => r.eventName === 'GetObject');

function identityOf(record: CloudTrailRecord): UserIdentity {
  if (record.userIdentity === undefined) throw new Error(`record ${record.eventID} has no userIdentity`);
  return record.userIdentity;
}

function resolveRecord(record: CloudTrailRecord) {
  return resolveIdentity(identityOf(record), record.sourceIPAddress ?? 'unknown', record.recipientAccountId);
}

describe('resolveIdentity on IAM users', () => {
  it('resolves the IAM user pedro with an ASIA key as iam-user-temporary, not a role', () => {
    const user = identityOf(pedro);
    const identity = resolveRecord(pedro);

    expect(user.type).toBe('IAMUser');
    expect(user.accessKeyId).toMatch(/^ASIA/);
    expect(identity).toMatchObject({
      type: 'iam-user-temporary',
      principal: 'arn:aws:iam::123456789123:user/pedro',
      // The user's temporary sessions are one actor across their rotating keys; the key is kept.
      actor: 'arn:aws:iam::123456789123:user/pedro',
      accessKeyId: user.accessKeyId,
      userName: 'pedro',
    });
    expect(identity.longTermKey).toBeUndefined();
    expect(identity.roleArn).toBeUndefined();
  });

  it('resolves pedro the same way when his temporary key reads an object', () => {
    const pedroReads = cloneRecord(getObject, (r) => {
      r.userIdentity = identityOf(pedro);
    });
    const outcome = normalizeRecord(pedroReads);

    expect(outcome.kind === 'event' && outcome.event.identity.type).toBe('iam-user-temporary');
  });

  it('resolves each caller on its own when records of similar callers follow one another', () => {
    const variants = [
      getObject,
      cloneRecord(getObject, (r) => {
        r.userIdentity = identityOf(pedro);
      }),
      cloneRecord(getObject, (r) => {
        r.userIdentity = { ...identityOf(pedro), accessKeyId: 'AKIA5FLZVX4OI4ZDQJOL' };
      }),
      cloneRecord(getObject, (r) => {
        r.recipientAccountId = '210987654321';
      }),
      getObject,
    ];

    const callerCache = new CallerCache();
    const typesWith = (options: { callerCache?: CallerCache }) =>
      variants.map((record) => {
        const outcome = normalizeRecord(record, options);
        return outcome.kind === 'event' ? outcome.event.identity.type : outcome.reason;
      });

    expect(typesWith({})).toEqual(['assumed-role', 'iam-user-temporary', 'iam-user-key', 'cross-account', 'assumed-role']);
    expect(typesWith({ callerCache })).toEqual(typesWith({}));
  });

  it('keeps a missing access key apart from one literally named "undefined" in the identity cache', () => {
    const callerCache = new CallerCache();
    const missing = cloneRecord(getObject, (r) => {
      const { accessKeyId: _key, ...user } = identityOf(pedro);
      r.userIdentity = user;
    });
    const literal = cloneRecord(getObject, (r) => {
      r.userIdentity = { ...identityOf(pedro), accessKeyId: 'undefined' };
    });
    const identityFrom = (record: CloudTrailRecord) => {
      const outcome = normalizeRecord(record, { callerCache });
      return outcome.kind === 'event' ? { type: outcome.event.identity.type, accessKeyId: outcome.event.identity.accessKeyId } : outcome.reason;
    };
    expect(identityFrom(missing)).toEqual({ type: 'iam-user-key', accessKeyId: undefined });
    expect(identityFrom(literal)).toEqual({ type: 'iam-user-temporary', accessKeyId: 'undefined' });
  });

  it('resolves an IAM user with an AKIA key as iam-user-key with its longTermKey', () => {
    const longTermKey = `AKIA${identityOf(pedro).accessKeyId?.slice(4)}`;
    const withKey = cloneRecord(pedro, (r) => {
      const { sessionContext: _session, ...user } = identityOf(r);
      r.userIdentity = { ...user, accessKeyId: longTermKey };
    });
    const identity = resolveRecord(withKey);

    expect(identity).toMatchObject({
      type: 'iam-user-key',
      principal: 'arn:aws:iam::123456789123:user/pedro',
      actor: longTermKey,
      longTermKey,
    });
  });

  it('resolves an IAM user without an access key to the user ARN', () => {
    const keyless = cloneRecord(pedro, (r) => {
      delete identityOf(r).accessKeyId;
    });
    const identity = resolveRecord(keyless);

    expect(identity.type).toBe('iam-user-key');
    expect(identity.actor).toBe('arn:aws:iam::123456789123:user/pedro');
    expect(identity.longTermKey).toBeUndefined();
  });
});

describe('resolveIdentity on role sessions', () => {
  it('resolves an assumed-role session to the role as principal, the session as actor, with its key and session name', () => {
    const session = identityOf(getObject);
    const identity = resolveRecord(getObject);

    expect(identity).toMatchObject({
      type: 'assumed-role',
      principal: session.sessionContext?.sessionIssuer?.arn,
      actor: session.arn,
      accessKeyId: session.accessKeyId,
      roleArn: session.sessionContext?.sessionIssuer?.arn,
      roleName: 'MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0',
      sessionName: 'i-0317f6c6b66ae9c40',
    });
  });

  it('derives the role from the session ARN when sessionIssuer is missing', () => {
    const noIssuer = cloneRecord(getObject, (r) => {
      delete identityOf(r).sessionContext;
    });
    const identity = resolveRecord(noIssuer);

    expect(identity.principal).toBe(identityOf(getObject).sessionContext?.sessionIssuer?.arn);
    expect(identity.sessionName).toBe('i-0317f6c6b66ae9c40');
  });

  it('resolves a caller whose accountId differs from recipientAccountId as cross-account', () => {
    const foreign = cloneRecord(getObject, (r) => {
      r.recipientAccountId = '210987654321';
    });
    const identity = resolveRecord(foreign);

    expect(resolveRecord(getObject).type).toBe('assumed-role');
    expect(identity.type).toBe('cross-account');
    expect(identity.principal).toBe(identityOf(getObject).sessionContext?.sessionIssuer?.arn);
    expect(identity.actor).toBe(identityOf(getObject).arn);
  });

  it('resolves an IAM user of another account as cross-account', () => {
    const foreignUser = cloneRecord(pedro, (r) => {
      r.recipientAccountId = '210987654321';
    });

    expect(resolveRecord(foreignUser).type).toBe('cross-account');
  });
});

describe('resolveIdentity on the honey-bucket callers', () => {
  const callers = honeyBucket.map((row) => {
    const userId = row['User ID'];
    const sourceIp = row['Source IP'];
    if (userId === undefined || sourceIp === undefined) throw new Error('honey-bucket row without User ID/Source IP');
    const userIdentity = parsePythonDict(userId);
    return { userIdentity, sourceIp, identity: resolveIdentity(userIdentity, sourceIp) };
  });

  it('reads the User ID of every row', () => {
    expect(callers).toHaveLength(301);
    expect(callers.every(({ userIdentity }) => userIdentity.type === 'AWSAccount')).toBe(true);
  });

  it('resolves every caller as anonymous or cross-account, the counts adding up to the rows', () => {
    const counts: Partial<Record<IdentityType, number>> = {};
    for (const { identity } of callers) counts[identity.type] = (counts[identity.type] ?? 0) + 1;
    const anonymousRows = callers.filter(({ userIdentity }) => userIdentity.accountId === 'ANONYMOUS_PRINCIPAL');

    expect(Object.keys(counts).sort()).toEqual(['anonymous', 'cross-account']);
    expect(counts.anonymous).toBe(anonymousRows.length);
    expect((counts.anonymous ?? 0) + (counts['cross-account'] ?? 0)).toBe(honeyBucket.length);
  });

  it('names an anonymous caller by its source IP', () => {
    const anonymous = callers.filter(({ identity }) => identity.type === 'anonymous');

    expect(anonymous.length).toBeGreaterThan(0);
    for (const { identity, sourceIp } of anonymous) {
      expect(identity.actor).toBe(`anonymous:${sourceIp}`);
      expect(identity.principal).toBe(`anonymous:${sourceIp}`);
    }
  });

  it('names a cross-account caller by its account and principal id', () => {
    const crossAccount = callers.filter(({ identity }) => identity.type === 'cross-account');

    expect(crossAccount.length).toBeGreaterThan(0);
    for (const { identity, userIdentity } of crossAccount) {
      expect(identity.actor).toBe(`account:${userIdentity.accountId}/${userIdentity.principalId}`);
      expect(identity.accountId).toBe(userIdentity.accountId);
    }
    const users = crossAccount.filter(({ userIdentity }) => userIdentity.principalId?.startsWith('AIDA'));
    expect(new Set(users.map(({ identity }) => identity.actor)).size).toBe(
      new Set(users.map(({ userIdentity }) => userIdentity.principalId)).size,
    );
  });
});

describe('which callers resolve differently by source address', () => {
  const callers = [
    ...records.flatMap((record) => (record.userIdentity === undefined ? [] : [{ userIdentity: record.userIdentity, account: record.recipientAccountId }])),
    ...honeyBucket.map((row) => ({ userIdentity: parsePythonDict(row['User ID'] ?? '{}'), account: undefined })),
    { userIdentity: { type: 'AWSService' }, account: undefined },
    { userIdentity: { type: 'IAMUser', accountId: '111122223333' }, account: '111122223333' },
  ];

  it('resolves a caller the same from any address unless it is said to read the address', () => {
    let reading = 0;
    for (const { userIdentity, account } of callers) {
      const [first, second] = [resolveIdentity(userIdentity, '198.51.100.7', account), resolveIdentity(userIdentity, '203.0.113.9', account)];
      if (identityReadsAddress(userIdentity)) reading++;
      else expect(second).toEqual(first);
    }
    expect(reading).toBeGreaterThan(0);
    expect(reading).toBeLessThan(callers.length);
  });

  it('reads the address of an anonymous caller, a service without invokedBy and a caller with no key, ARN or id', () => {
    const anonymous = callers.find(({ userIdentity }) => userIdentity.accountId === 'ANONYMOUS_PRINCIPAL');
    // Anonymous by its account even with a principal id.
    const anonymousWithId = { userIdentity: { type: 'AWSAccount', principalId: 'AIDAEXAMPLEEXAMPLE', accountId: 'ANONYMOUS_PRINCIPAL' }, account: undefined };
    for (const caller of [anonymous, anonymousWithId, callers.at(-2), callers.at(-1)]) {
      if (caller === undefined) throw new Error('caller missing');
      const { userIdentity, account } = caller;
      expect(identityReadsAddress(userIdentity)).toBe(true);
      expect(resolveIdentity(userIdentity, '198.51.100.7', account).actor).not.toBe(resolveIdentity(userIdentity, '203.0.113.9', account).actor);
    }
  });
});

describe('the caller cache', () => {
  const callerCache = new CallerCache();
  const eventFrom = (record: CloudTrailRecord, sourceIp: string) => {
    const outcome = normalizeRecord(cloneRecord(record, (r) => (r.sourceIPAddress = sourceIp)), { callerCache });
    if (outcome.kind !== 'event') throw new Error(`not an event: ${outcome.reason}`);
    return outcome.event;
  };

  it('gives one caller from any address, and anonymous callers one each by address, in runs and alternating', () => {
    const anonymous = cloneRecord(getObject, (r) => (r.userIdentity = { type: 'AWSAccount', principalId: '', accountId: 'ANONYMOUS_PRINCIPAL' }));
    const first = eventFrom(getObject, '198.51.100.7');
    const actors = [
      eventFrom(getObject, '203.0.113.9'),
      eventFrom(anonymous, '198.51.100.7'),
      eventFrom(anonymous, '198.51.100.7'),
      eventFrom(anonymous, '203.0.113.9'),
      eventFrom(getObject, '203.0.113.9'),
      eventFrom(anonymous, '198.51.100.7'),
    ].map((event) => event.identity.actor);

    expect(eventFrom(getObject, '203.0.113.9').identity).toBe(first.identity);
    expect(actors).toEqual([first.identity.actor, 'anonymous:198.51.100.7', 'anonymous:198.51.100.7', 'anonymous:203.0.113.9', first.identity.actor, 'anonymous:198.51.100.7']);
  });

  it('tells apart consecutive records whose callers differ in one field', () => {
    const other = cloneRecord(getObject, (r) => (r.userIdentity = { ...identityOf(getObject), arn: `${identityOf(getObject).arn}-other` }));
    const [a, b, c] = [getObject, other, getObject].map((record) => eventFrom(record, '198.51.100.7').identity.arn);
    expect([a, b, c]).toEqual([identityOf(getObject).arn, `${identityOf(getObject).arn}-other`, identityOf(getObject).arn]);
  });
});

describe('parsePythonDict (test helper for the honey-bucket export)', () => {
  it('reads both quote styles, None and escapes', () => {
    expect(parsePythonDict(`{'a': "it's", "b": None, 'c': 'x\\'y'}`)).toEqual({ a: "it's", b: undefined, c: "x'y" });
  });

  it('throws on what it cannot read instead of skipping it', () => {
    expect(() => parsePythonDict(`{'a': 1}`)).toThrow(/quoted string/);
    expect(() => parsePythonDict(`{'a': 'b'} trailing`)).toThrow(/the end/);
  });
});

describe('classifyUserAgent on the user agents of the recordings', () => {
  const agents = [
    ...records.map((r) => r.userAgent ?? ''),
    ...honeyBucket.map((row) => row['Request User Agent'] ?? ''),
  ];
  const realAgent = (prefix: string): string => {
    const found = agents.find((agent) => agent.startsWith(prefix));
    if (found === undefined) throw new Error(`no user agent starting ${prefix} in the recordings`);
    return found;
  };

  it.each([
    { prefix: '[aws-cli/', family: 'aws-cli' },
    { prefix: 'aws-cli/', family: 'aws-cli' },
    { prefix: 'Boto3/', family: 'boto3' },
    { prefix: 'console.ec2.amazonaws.com', family: 'console' },
    { prefix: 'EC2ConsoleFrontend, aws-internal/3', family: 'console' },
    { prefix: 'Mozilla/', family: 'browser' },
    { prefix: 'Go-http-client/', family: 'go-http' },
    { prefix: 'aws-sdk-go/', family: 'sdk-go' },
    { prefix: 'python-requests/', family: 'python-requests' },
    { prefix: 'ec2.amazonaws.com', family: 'aws-service' },
    { prefix: 'Java/', family: 'other:java' },
    { prefix: 'Apache-HttpClient/', family: 'other:apache-httpclient' },
  ])('classifies the real agent $prefix… as $family', ({ prefix, family }) => {
    expect(classifyUserAgent(realAgent(prefix))).toBe(family);
  });

  it('classifies an empty agent as none', () => {
    expect(agents).toContain('');
    expect(classifyUserAgent('')).toBe('none');
  });

  it('puts the bracketed agent of an S3 data event in the same family as the bare one', () => {
    const bracketed = realAgent('[aws-cli/');
    const bare = bracketed.slice(1, -1);

    expect(bracketed).toMatch(/botocore\//);
    expect(classifyUserAgent(bracketed)).toBe(classifyUserAgent(bare));
  });

  it('classifies the S3 console, bracketed as in a data event, as console', () => {
    const s3Console = '[S3Console/0.4, aws-internal/3 aws-sdk-java/1.11.1002 Linux/4.9.230-0.1.ac.224.84.332.metal1.x86_64]';

    expect(classifyUserAgent(s3Console)).toBe('console');
  });
});

describe('networkOf', () => {
  it('groups an IPv4 address by its /24', () => {
    expect(networkOf('177.131.167.145')).toBe('177.131.167.0/24');
    expect(networkOf(getObject.sourceIPAddress ?? '')).toBe('1.2.3.0/24');
  });

  it('puts two addresses of one /24 together and a neighbour /24 apart', () => {
    const [first, second] = honeyBucket
      .map((row) => row['Source IP'] ?? '')
      .filter((ip) => ip.startsWith('212.83.184.'));

    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(networkOf(first as string)).toBe(networkOf(second as string));
    expect(networkOf('212.83.185.13')).not.toBe(networkOf(first as string));
  });

  it('groups a full IPv6 address by its /64', () => {
    expect(networkOf('2001:0db8:85a3:08d3:1319:8a2e:0370:7348')).toBe('2001:db8:85a3:8d3::/64');
  });

  it('expands the :: forms to the same /64 as the full form', () => {
    const full = networkOf('2001:0db8:0000:0000:0000:0000:0000:0001');

    expect(networkOf('2001:db8::1')).toBe(full);
    expect(networkOf('2001:DB8::')).toBe(full);
    expect(networkOf('2001:db8:0:0:ffff::')).toBe(full);
    expect(networkOf('2001:db8:0:1::1')).not.toBe(full);
  });

  it('reads the loopback and unspecified addresses', () => {
    expect(networkOf('::1')).toBe('0:0:0:0::/64');
    expect(networkOf('::')).toBe('0:0:0:0::/64');
    expect(networkOf('fe80::1ff:fe23:4567:890a')).toBe('fe80:0:0:0::/64');
  });

  it('keeps a service name as its own network', () => {
    const service = pickRecord(records, 'AWS service', (r) => r.sourceIPAddress === 'ec2.amazonaws.com');

    expect(networkOf(service.sourceIPAddress as string)).toBe('ec2.amazonaws.com');
  });

  it('keeps what is not an address as it is', () => {
    expect(networkOf('2001:db8::1::2')).toBe('2001:db8::1::2');
    expect(networkOf('2001:db8:1:2:3:4:5')).toBe('2001:db8:1:2:3:4:5');
    expect(networkOf('2001:db8:zz::1')).toBe('2001:db8:zz::1');
  });
});
