import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../lib/domain/access-event.ts';
import { KeyCreationBook } from '../lib/domain/key-creation.ts';
import { IamKeyAges } from '../lib/aws/key-age.ts';
import { createDetector } from '../lib/engine/score-engine.ts';
import { MemoryStore } from '../lib/store/memory-store.ts';
import { emulatorClientConfig, inMotoAccount } from './support/aws-clients.ts';
import { codes, DAY, eventOf, HOUR, NOW, reads, SECOND } from './scoring-inputs.ts';

const ACCOUNT = '777788889999';
const userKey = (userName: string, accessKeyId: string): Identity => ({
  type: 'iam-user-key',
  principal: `arn:aws:iam::${ACCOUNT}:user/${userName}`,
  actor: accessKeyId,
  accessKeyId,
  longTermKey: accessKeyId,
  userName,
});

describe('IamKeyAges (IAM ListAccessKeys, against the emulator)', () => {
  let iam: IAMClient;
  let newHire: Identity;
  let createdAt: number;

  beforeAll(async () => {
    iam = inMotoAccount(new IAMClient(emulatorClientConfig()), ACCOUNT);
    await iam.send(new CreateUserCommand({ UserName: 'new-hire' }));
    const before = Date.now();
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: 'new-hire' }));
    createdAt = AccessKey?.CreateDate?.getTime() ?? Number.NaN;
    expect(Math.abs(createdAt - before)).toBeLessThan(60_000);
    newHire = userKey('new-hire', AccessKey?.AccessKeyId ?? '');
  });

  it('finds the creation date of a user’s key and asks IAM once per key', async () => {
    const ages = new IamKeyAges({ client: iam });
    expect(await ages.lookup(newHire)).toBe(createdAt);
    expect(await ages.lookup(newHire)).toBe(createdAt);
    expect(ages.calls).toBe(1);
  });

  it('has no date for a user IAM does not know, and says nothing of it', async () => {
    const errors: unknown[] = [];
    const ages = new IamKeyAges({ client: iam, onError: (error) => errors.push(error) });
    expect(await ages.lookup(userKey('left-in-2019', 'AKIAEXAMPLEGONEUSER1'))).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('asks nothing for a session, a role or a caller of another account', async () => {
    const ages = new IamKeyAges({ client: iam });
    const session: Identity = { ...newHire, type: 'iam-user-temporary', longTermKey: undefined, accessKeyId: 'ASIAEXAMPLESESSION01' };
    expect(await ages.lookup(session)).toBeUndefined();
    expect(await ages.lookup({ ...newHire, type: 'cross-account' })).toBeUndefined();
    expect(ages.calls).toBe(0);
  });

  it('reports a failed look-up, scores without the date, and asks again only after the retry delay', async () => {
    // Fault injection: moto cannot be made to throttle or deny ListAccessKeys.
    const failing = new IAMClient(emulatorClientConfig());
    const mock = mockClient(failing);
    mock.on(ListAccessKeysCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    const clock = { now: NOW };
    const errors: string[] = [];
    const ages = new IamKeyAges({ client: failing, now: () => clock.now, retryAfterMs: 60_000, onError: (_e, key) => errors.push(key) });
    expect(await ages.lookup(newHire)).toBeUndefined();
    expect(await ages.lookup(newHire)).toBeUndefined();
    expect(errors).toEqual([newHire.accessKeyId]);
    clock.now += 61_000;
    mock.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [{ UserName: 'new-hire', AccessKeyId: newHire.accessKeyId, CreateDate: new Date(createdAt), Status: 'Active' }] });
    expect(await ages.lookup(newHire)).toBe(createdAt);
    mock.restore();
  });
});

describe('KeyCreationBook (a `keysentry keys --json` snapshot for replay)', () => {
  it('takes each key’s creation date and counts entries it cannot use', () => {
    const book = new KeyCreationBook();
    book.addInventory({
      generatedAt: '2026-10-20T07:00:00.000Z',
      keys: [
        { userName: 'contractor-2019', accessKeyId: 'AKIAEXAMPLECONTRACT', createdAt: '2019-03-04T10:00:00.000Z' },
        { userName: 'ghost', createdAt: '2020-01-01T00:00:00.000Z' },
        { userName: 'odd', accessKeyId: 'AKIAEXAMPLEODDDATE1', createdAt: 'yesterday' },
      ],
    });
    expect(book.size).toBe(1);
    expect(book.problems).toEqual({ 'key-without-id': 1, 'key-without-creation-date': 1 });
    book.addInventory({ incidents: [] });
    expect(book.problems['not-an-inventory']).toBe(1);
  });

  it('answers the detector’s look-up for long-term keys only', async () => {
    const book = new KeyCreationBook();
    book.note('AKIAEXAMPLECONTRACT', Date.parse('2019-03-04T10:00:00Z'));
    expect(await book.lookup(userKey('contractor-2019', 'AKIAEXAMPLECONTRACT'))).toBe(Date.parse('2019-03-04T10:00:00Z'));
    expect(await book.lookup({ ...userKey('contractor-2019', 'AKIAEXAMPLECONTRACT'), longTermKey: undefined })).toBeUndefined();
  });
});

describe('the detector with a key-age look-up', () => {
  // The OTRF record's caller is an instance role; here the same calls come from an IAM user's key.
  const contractor = userKey('contractor-2019', 'AKIAEXAMPLECONTRACT');

  it('asks for the key’s age of an unfamiliar key and scores it: dormant for years, fresh for hours', async () => {
    const events = reads(3, 2 * SECOND, 5 * SECOND).map((call) => ({ ...eventOf(call), identity: contractor }));
    const asked: string[] = [];
    // A dormant key's third object is read: paged for it; a fresh key's three reads are nothing yet.
    for (const [created, expected] of [[NOW - 4 * 365 * DAY, ['dormant-key', 'dormant-key-read']], [NOW - 2 * HOUR, ['fresh-key']]] as const) {
      const detector = createDetector({ store: new MemoryStore(), keyCreatedAt: async (identity) => (asked.push(identity.longTermKey ?? ''), created) });
      const outcome = await detector.processBatch(events, NOW);
      expect(codes(outcome.verdicts[0]?.score.reasons ?? [])).toEqual(expected);
    }
    expect(asked).toEqual(['AKIAEXAMPLECONTRACT', 'AKIAEXAMPLECONTRACT']);
  });

  it('reads back an unfamiliar reader’s day: its earlier windows count towards persistence', async () => {
    const detector = createDetector({ store: new MemoryStore() });
    // One object a minute for three hours, decided every ten minutes.
    const all = reads(180, 60 * SECOND, SECOND).map(eventOf);
    let last;
    for (let start = 0; start < all.length; start += 10) {
      const batch = all.slice(start, start + 10);
      last = await detector.processBatch(batch, (batch[batch.length - 1]?.eventTime ?? NOW) + SECOND);
    }
    const reasons = last?.verdicts[0]?.score.reasons ?? [];
    expect(reasons.find((r) => r.code === 'persistent-read')).toMatchObject({ value: 60, threshold: 30, points: 20 });
  });
});
