import { backupRun, developerCaller, nightlyExport, partnerSync, presignedDownloads } from './clinic-background.ts';
import { HOUR, MINUTE, objectSize, type Stage } from './clinic-world.ts';
import type { BenignFocus } from './scenario-types.ts';
import { consoleSession, createAccessKeyRecord, type Caller } from './trail-records.ts';

const mark = (label: string, accessKeyIds: string[], principals: string[], start: number, end: number): BenignFocus => ({
  label,
  accessKeyIds,
  principals,
  start: Math.floor(start / 1000) * 1000,
  end: Math.floor(end / 1000) * 1000,
});

/**
 * A new employee's first morning: IT creates the key at 09:10 JST; from the office, with the
 * aws-cli, 24 light requests over about twenty minutes — lists, ten single-file copies, a head,
 * a put, a read and a delete of an own test file.
 */
export function newHireFirstDay(stage: Stage): BenignFocus {
  const { world, dice, trail } = stage;
  const hire = { userName: 'y.mori', userId: `AIDA${dice.text(17)}`, accessKeyId: `AKIA${dice.text(16)}`, homeIp: '', cli: world.developers[1]?.cli ?? '' };
  const admin: Caller = {
    userIdentity: consoleSession(world.ctx.account, world.consoleUser.userName, world.consoleUser.userId, `ASIA${dice.text(16)}`, stage.day),
    sourceIp: world.officeIps[0] as string,
    userAgent: 'AWS Internal',
    fromConsole: true,
  };
  trail.add(createAccessKeyRecord(world.ctx, stage.day + 10 * MINUTE, admin, hire.userName, hire.accessKeyId));
  const ip = world.officeIps[1] as string;
  const start = stage.day + HOUR + dice.int(0, 20) * MINUTE;
  let t = start;
  const bucket = world.buckets.results;
  const step = (low: number, high: number): number => (t += dice.int(low, high) * 1000);
  const ls = (prefix: string) => trail.emit(step(15, 70), developerCaller(world, hire, ip, 's3.ls'), { eventName: 'ListObjectsV2', bucket, params: { 'list-type': '2', prefix, delimiter: '/' } });
  ls('');
  ls('results/');
  ls('results/2026/');
  for (let i = 0; i < 10; i++) {
    if (i % 3 === 1 || i === 9) ls(dice.pick(world.results).split('/').slice(0, 2 + (i % 2)).join('/') + '/');
    if (i === 8) trail.emit(step(20, 60), developerCaller(world, hire, ip, 's3api.head-object'), { eventName: 'HeadObject', bucket, key: dice.pick(world.results) });
    const key = dice.pick(world.results);
    trail.emit(step(30, 110), developerCaller(world, hire, ip, 's3.cp'), { eventName: 'GetObject', bucket, key, bytesOut: objectSize(dice, key) });
  }
  trail.emit(step(20, 60), developerCaller(world, hire, ip, 's3api.head-object'), { eventName: 'HeadObject', bucket, key: dice.pick(world.results) });
  const own = `scratch/${hire.userName}/hello.txt`;
  trail.emit(step(30, 90), developerCaller(world, hire, ip, 's3.cp'), { eventName: 'PutObject', bucket, key: own, bytesIn: 12 });
  ls(`scratch/${hire.userName}/`);
  trail.emit(step(10, 30), developerCaller(world, hire, ip, 's3.cp'), { eventName: 'GetObject', bucket, key: own, bytesOut: 12 });
  trail.emit(step(10, 40), developerCaller(world, hire, ip, 's3.rm'), { eventName: 'DeleteObject', bucket, key: own });
  ls(`scratch/${hire.userName}/`);
  return mark('new hire y.mori', [hire.accessKeyId], [], start, t);
}

/** A mail campaign: patients open their reports through presigned links, twelve times the usual rate, for three hours. */
export function presignedBurst(stage: Stage): BenignFocus {
  const from = stage.day + 9 * HOUR;
  presignedDownloads(stage.world, stage.trail, stage.dice, stage.day, 12, from, from + 3 * HOUR);
  return mark('presigned downloads of report-links', [stage.world.linkSigner.accessKeyId], [], from, from + 3 * HOUR);
}

/** Month-end close: the export user reads the whole month's reports (2,500) at about four a second. */
export function monthEndSurge(stage: Stage): BenignFocus {
  const from = stage.day + 11 * HOUR;
  const end = nightlyExport(stage.world, stage.trail, stage.dice, stage.day - 6 * HOUR, 2500);
  return mark('month-end export by lab-export', [stage.world.exportUser.accessKeyId], [], from, end);
}

/** A restore drill: the backup agent runs an unscheduled full copy on a weekday afternoon. */
export function backupSurge(stage: Stage): BenignFocus {
  const from = stage.day + 5 * HOUR;
  const end = backupRun(stage.world, stage.trail, stage.dice, stage.day - 13 * HOUR, true);
  return mark('full backup by backup-agent', [], [], from, end);
}

/** The partner lab's quarter-end: 400 exchange files instead of about 30. */
export function partnerBigDay(stage: Stage): BenignFocus {
  partnerSync(stage.world, stage.trail, stage.dice, stage.day + 3 * HOUR, 400);
  const principal = `account:${stage.world.partnerAccount}/${stage.world.partnerPrincipal}`;
  return mark('partner lab sync', [], [principal], stage.day + 4 * HOUR, stage.day + 5 * HOUR);
}

/**
 * A developer pulls one month's reports for a data fix: familiar key, office network and aws-cli,
 * `aws s3 sync` of 450 objects at about ten a second.
 */
export function developerBulkDownload(stage: Stage): BenignFocus {
  const { world, dice, trail } = stage;
  const developer = world.developers[1] as (typeof world.developers)[number];
  const ip = world.officeIps[0] as string;
  const start = stage.day + 3 * HOUR;
  let t = start;
  const caller = developerCaller(world, developer, ip, 's3.sync');
  trail.emit(t, caller, { eventName: 'ListObjectsV2', bucket: world.buckets.results, params: { 'list-type': '2', prefix: 'results/' } });
  for (const key of world.results.slice(0, 450)) {
    t += dice.wait(100);
    trail.emit(t, caller, { eventName: 'GetObject', bucket: world.buckets.results, key, bytesOut: objectSize(dice, key) });
  }
  return mark(`bulk download by ${developer.userName}`, [developer.accessKeyId], [], start, t);
}

