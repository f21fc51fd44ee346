import { AttackLog } from './attack-log.ts';
import { CLOUDSHELL_AGENT } from './clinic-background.ts';
import { HOUR, MINUTE, objectSize, sessionKey, type Stage } from './clinic-world.ts';
import type { AttackTruth } from './scenario-types.ts';
import { consoleSession, crossAccountCaller, iamUserKey, roleSession, type Caller } from './trail-records.ts';

/** An attack written into a stage, and IAM's record of keys it used that the logs never show created. */
export interface StagedAttack {
  attack: AttackTruth;
  keyInventory: Array<{ userName: string; accessKeyId: string; createDate: string }>;
}

const VERSION_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._';

function listPages(log: AttackLog, stage: Stage, caller: Caller, at: number, pages: number, gapMs: number): number {
  let t = at;
  for (let page = 0; page < pages; page++) {
    log.emit(t, caller, { eventName: 'ListObjectsV2', bucket: stage.world.buckets.results, params: { 'list-type': '2', prefix: 'results/', 'encoding-type': 'url' }, bytesOut: 0 });
    t += gapMs;
  }
  return t;
}

/** Reads `count` distinct reports, one every `meanGapMs` on average (a sweep). */
function sweep(log: AttackLog, stage: Stage, callerAt: (t: number) => Caller, at: number, count: number, meanGapMs: number): number {
  const objects = stage.dice.shuffle([...stage.world.results]).slice(0, count);
  let t = at;
  for (const key of objects) {
    t += stage.dice.wait(meanGapMs);
    log.emit(t, callerAt(t), { eventName: 'GetObject', bucket: stage.world.buckets.results, key, bytesOut: objectSize(stage.dice, key) });
  }
  return t;
}

/**
 * A contractor's integration key created in 2023 and never used: at night it lists the results
 * bucket from a hosting provider, downloads 1,200 reports at about six a second, then deletes them
 * in two `DeleteObjects` batches (with the per-object records CloudTrail writes since 2025).
 */
export function dormantKeyAwakening(stage: Stage): StagedAttack {
  const { world, dice } = stage;
  const user = { userName: 'ext-reporting', userId: `AIDA${dice.text(17)}`, accessKeyId: `AKIA${dice.text(16)}` };
  const caller: Caller = {
    userIdentity: iamUserKey(world.ctx.account, user.userName, user.userId, user.accessKeyId),
    sourceIp: `45.134.${dice.int(0, 255)}.${dice.int(2, 254)}`,
    userAgent: '[aws-cli/1.33.2 Python/3.9.19 Linux/5.15.0-1057-oracle botocore/1.34.120]',
  };
  const log = new AttackLog(stage.trail);
  let t = listPages(log, stage, caller, stage.day + 14 * HOUR + 20 * MINUTE, 4, 900);
  t = sweep(log, stage, () => caller, t, 1200, 160);
  const taken = [...stage.trail.records.filter((r) => stage.trail.attackEventIds.has(r.eventID as string) && r.eventName === 'GetObject')]
    .map((r) => (r.requestParameters as Record<string, string>).key as string);
  for (let batch = 0; batch < 2; batch++) {
    t += 20_000;
    const keys = taken.slice(batch * 600, batch * 600 + 600);
    log.emit(t, caller, { eventName: 'DeleteObjects', bucket: world.buckets.results, params: { delete: '' }, bytesIn: keys.reduce((n, k) => n + k.length + 36, 90) }, keys.length);
    for (const key of keys) log.emit(t, caller, { eventName: 'DeleteObject', bucket: world.buckets.results, key }, 0);
  }
  return { attack: log.truth('bulk', 'contain'), keyInventory: [{ ...user, createDate: '2023-05-11T02:14:09Z' }] };
}

/**
 * A developer's long-term key, stolen: used from another country with rclone, it lists a hundred
 * date prefixes over three minutes, then copies 1,500 reports at about four a second.
 */
export function familiarKeyNewContext(stage: Stage): StagedAttack {
  const { world, dice } = stage;
  const developer = world.developers[0] as (typeof world.developers)[number];
  const caller: Caller = {
    userIdentity: iamUserKey(world.ctx.account, developer.userName, developer.userId, developer.accessKeyId),
    sourceIp: `185.220.101.${dice.int(2, 254)}`,
    userAgent: 'rclone/v1.68.1',
  };
  const log = new AttackLog(stage.trail);
  const prefixes = [...new Set(world.results.map((key) => key.split('/').slice(0, 4).join('/') + '/'))].slice(0, 100);
  let t = stage.day + 14 * HOUR + 5 * MINUTE;
  for (const prefix of prefixes) {
    log.emit(t, caller, { eventName: 'ListObjectsV2', bucket: world.buckets.results, params: { 'list-type': '2', prefix, delimiter: '/' } });
    t += dice.int(1_200, 2_400);
  }
  sweep(log, stage, () => caller, t, 1500, 250);
  return { attack: log.truth('bulk', 'contain'), keyInventory: [] };
}

/**
 * Ransomware with a CI role's web-identity session (Stratus Red Team's s3-ransomware-batch-deletion):
 * from a new network and SDK, on the versioned results bucket the role never touched, it lists
 * object versions, then sends 8 `DeleteObjects` of 1,000 versions each — with or without the
 * per-object `DeleteObject` records (a trail's advanced event selectors can filter those out).
 */
export function roleRansomware(stage: Stage, itemized: boolean): StagedAttack {
  const { world, dice } = stage;
  const start = stage.day + 16 * HOUR + 5 * MINUTE;
  const caller: Caller = {
    userIdentity: roleSession(world.ctx.account, world.ciRole, 'GitHubActions', sessionKey(dice), start - 40_000, {
      webIdentityProvider: 'token.actions.githubusercontent.com',
    }),
    sourceIp: `5.188.${dice.int(0, 255)}.${dice.int(2, 254)}`,
    userAgent: 'aws-sdk-go/1.55.5 (go1.22.5; linux; amd64)',
  };
  const log = new AttackLog(stage.trail);
  const bucket = world.buckets.results;
  let t = start;
  for (let page = 0; page < 8; page++) {
    log.emit(t, caller, { eventName: 'ListObjectVersions', bucket, params: { versions: '', prefix: 'results/', 'max-keys': '1000' }, bytesOut: 0 });
    t += dice.int(900, 1_800);
  }
  for (let batch = 0; batch < 8; batch++) {
    t += dice.int(2_500, 5_000);
    const versions = Array.from({ length: 1000 }, (_, i) => ({
      key: world.results[(batch * 1000 + i) % world.results.length] as string,
      versionId: dice.text(32, VERSION_ALPHABET),
    }));
    const body = versions.reduce((n, v) => n + v.key.length + v.versionId.length + 48, 110);
    log.emit(t, caller, { eventName: 'DeleteObjects', bucket, params: { delete: '' }, bytesIn: body }, versions.length);
    if (itemized) {
      for (const v of versions) log.emit(t, caller, { eventName: 'DeleteObject', bucket, key: v.key, versionId: v.versionId }, 0);
    }
  }
  return { attack: log.truth('ransomware', 'contain'), keyInventory: [] };
}

/**
 * Ransomware one version at a time (Stratus Red Team's s3-ransomware-individual-deletion) with a
 * developer's stolen long-term key, from a VPS with a Go SDK: it lists the versioned bucket's
 * versions, then permanently deletes 2,000 of them with one `DeleteObject` each, about 15 a second.
 */
export function individualVersionDeletion(stage: Stage): StagedAttack {
  const { world, dice } = stage;
  const developer = world.developers[1] ?? (world.developers[0] as (typeof world.developers)[number]);
  const caller: Caller = {
    userIdentity: iamUserKey(world.ctx.account, developer.userName, developer.userId, developer.accessKeyId),
    sourceIp: `91.215.${dice.int(0, 255)}.${dice.int(2, 254)}`,
    userAgent: 'aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.2',
  };
  const log = new AttackLog(stage.trail);
  const bucket = world.buckets.results;
  let t = stage.day + 19 * HOUR + 40 * MINUTE;
  for (let page = 0; page < 2; page++) {
    log.emit(t, caller, { eventName: 'ListObjectVersions', bucket, params: { versions: '', prefix: 'results/', 'max-keys': '1000' }, bytesOut: 0 });
    t += dice.int(1_000, 2_000);
  }
  for (let i = 0; i < 2000; i++) {
    t += dice.wait(66);
    const key = world.results[i % world.results.length] as string;
    log.emit(t, caller, { eventName: 'DeleteObject', bucket, key, versionId: dice.text(32, VERSION_ALPHABET) });
  }
  return { attack: log.truth('deletion', 'contain'), keyInventory: [] };
}

/**
 * The operations lead's console session, hijacked: past midnight in Tokyo the attacker opens
 * CloudShell, lists the bucket and copies 1,800 reports at about four a second while the
 * console renews the session's key every three minutes.
 */
export function consoleSessionSweep(stage: Stage): StagedAttack {
  const { world, dice } = stage;
  const user = world.consoleUser;
  const start = stage.day + 15 * HOUR + 30 * MINUTE;
  const ip = `13.231.${dice.int(0, 255)}.${dice.int(2, 254)}`;
  const keys: string[] = [];
  const callerAt = (t: number): Caller => {
    const index = Math.floor((t - start) / (3 * MINUTE));
    while (keys.length <= index) keys.push(sessionKey(dice));
    return {
      userIdentity: consoleSession(world.ctx.account, user.userName, user.userId, keys[index] as string, start - 2 * MINUTE),
      sourceIp: ip,
      userAgent: `${CLOUDSHELL_AGENT} prompt/off command/s3.cp`,
      fromConsole: true,
    };
  };
  const log = new AttackLog(stage.trail);
  const t = listPages(log, stage, callerAt(start), start, 4, 1_100);
  sweep(log, stage, callerAt, t + 4_000, 1800, 250);
  return { attack: log.truth('bulk', 'contain'), keyInventory: [] };
}

/**
 * An unfamiliar key (a QA user's, created last year, never used) reads one report every 20–60
 * seconds for ten hours through residential proxies: slow exfiltration, under every volume floor.
 */
export function slowExfiltration(stage: Stage): StagedAttack {
  const { world, dice } = stage;
  const user = { userName: 'qa-automation', userId: `AIDA${dice.text(17)}`, accessKeyId: `AKIA${dice.text(16)}` };
  const log = new AttackLog(stage.trail);
  let ip = '';
  let t = stage.day + 11 * HOUR;
  const objects = dice.shuffle([...world.results]);
  for (let i = 0; t < stage.day + 21 * HOUR; i++) {
    if (i % 15 === 0) ip = `${dice.pick(['73', '98', '174', '24', '68'])}.${dice.int(0, 255)}.${dice.int(0, 255)}.${dice.int(2, 254)}`;
    const caller: Caller = {
      userIdentity: iamUserKey(world.ctx.account, user.userName, user.userId, user.accessKeyId),
      sourceIp: ip,
      userAgent: 'Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/windows#10 md/arch#amd64 lang/python#3.12.7 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.36',
    };
    if (i === 0) log.emit(t, caller, { eventName: 'ListObjectsV2', bucket: world.buckets.results, params: { 'list-type': '2', prefix: 'results/' } });
    const key = objects[i % objects.length] as string;
    log.emit(t + 1_000, caller, { eventName: 'GetObject', bucket: world.buckets.results, key, bytesOut: objectSize(dice, key) });
    t += dice.int(20_000, 60_000);
  }
  return { attack: log.truth('slow', 'page'), keyInventory: [{ ...user, createDate: '2025-06-02T05:40:51Z' }] };
}

/**
 * A role of a third account (a stale bucket-policy grant) downloads 700 reports at about three a
 * second: no key of ours to disable, so a page is the most keysentry can do.
 */
export function crossAccountExfiltration(stage: Stage): StagedAttack {
  const { world, dice } = stage;
  const account = `9${dice.text(11, '0123456789')}`;
  const principalId = `AROA${dice.text(17)}:i-0${dice.hex(16)}`;
  const caller: Caller = {
    userIdentity: crossAccountCaller(account, principalId),
    sourceIp: `3.112.${dice.int(0, 255)}.${dice.int(2, 254)}`,
    userAgent: 'Boto3/1.35.50 md/Botocore#1.35.50 ua/2.0 os/linux#6.1.112-124.190.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.50',
  };
  const log = new AttackLog(stage.trail);
  log.addPrincipal(`account:${account}/${principalId}`);
  const t = listPages(log, stage, caller, stage.day + 13 * HOUR, 4, 1_000);
  sweep(log, stage, () => caller, t, 700, 330);
  return { attack: log.truth('cross-account', 'page'), keyInventory: [] };
}
