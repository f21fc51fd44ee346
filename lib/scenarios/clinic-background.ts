import type { Dice } from './dice.ts';
import {
  DAY,
  HOUR,
  MINUTE,
  isBusinessHour,
  isWeekday,
  objectSize,
  sessionKey,
  type ClinicWorld,
  type Developer,
  type Trail,
} from './clinic-world.ts';
import { anonymousCaller, consoleSession, crossAccountCaller, iamUserKey, roleSession, type Caller } from './trail-records.ts';

export const PORTAL_AGENT =
  'aws-sdk-java/2.25.60 Linux/5.10.219-208.866.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy';
export const GO_AGENT = 'aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.2';
export const BOTO_AGENT =
  'Boto3/1.34.120 md/Botocore#1.34.120 ua/2.0 os/linux#5.15.0-105-generic md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.120';
export const CONSOLE_AGENT =
  '[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.750 Linux/5.10.219-186.866.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.412-b09 java/1.8.0_412 vendor/Oracle_Corporation cfg/retry-mode/standard]';
export const CLOUDSHELL_AGENT =
  'aws-cli/2.22.10 md/awscrt#0.22.0 ua/2.0 os/linux#6.1.112-122.189.amzn2023.x86_64 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython exec-env/CloudShell cfg/retry-mode#standard md/installer#exe md/distrib#amzn.2023';
const GITHUB_AGENT =
  'aws-cli/2.22.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython exec-env/GitHub_Actions cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22';
const BROWSERS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; SO-51D) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.6668.100 Mobile Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15',
];
/** Address blocks of GitHub-hosted runners (Azure): every CI run comes from another /24. */
const RUNNER_BLOCKS = ['20.57', '20.84', '4.227', '52.159', '20.109', '172.183'];
const MOBILE_BLOCKS = ['106.128', '49.96', '126.204', '133.106', '1.75', '110.163'];

/** The developer's aws-cli as CloudTrail records it for one `aws s3` command. */
export function developerCaller(world: ClinicWorld, developer: Developer, ip: string, command: string): Caller {
  return {
    userIdentity: iamUserKey(world.ctx.account, developer.userName, developer.userId, developer.accessKeyId),
    sourceIp: ip,
    userAgent: `[${developer.cli} prompt/off command/${command}]`,
  };
}

/** Writes `days` of benign traffic of every actor of the world. */
export function writeBackground(world: ClinicWorld, trail: Trail, dice: Dice): void {
  for (let day = 0; day < world.days; day++) {
    const dayStart = world.start + day * DAY;
    const daily = dice.fork(`day-${day}`);
    portalTraffic(world, trail, daily.fork('portal'), dayStart);
    imagingIngest(world, trail, daily.fork('ingest'), dayStart);
    if (isWeekday(dayStart)) ciRuns(world, trail, daily.fork('ci'), dayStart);
    world.developers.forEach((developer, i) => developerDay(world, trail, daily.fork(`dev-${i}`), dayStart, developer));
    if (isWeekday(dayStart)) consoleDay(world, trail, daily.fork('console'), dayStart);
    nightlyExport(world, trail, daily.fork('export'), dayStart);
    backupRun(world, trail, daily.fork('backup'), dayStart);
    presignedDownloads(world, trail, daily.fork('links'), dayStart, 1);
    partnerSync(world, trail, daily.fork('partner'), dayStart, dice.int(20, 40));
    probes(world, trail, daily.fork('probes'), dayStart);
  }
}

/** The portal's task role: reads reports all day and writes new ones. */
function portalTraffic(world: ClinicWorld, trail: Trail, dice: Dice, dayStart: number): void {
  // Two Fargate tasks, each with its own address and session; credentials renewed hourly.
  const tasks = [0, 1].map(() => ({ id: dice.hex(32), ip: `10.40.${dice.int(0, 3)}.${dice.int(4, 250)}`, keys: new Map<number, string>() }));
  for (let t = dayStart + dice.wait(60_000); t < dayStart + DAY; ) {
    const hour = Math.floor((t - dayStart) / HOUR);
    const task = dice.pick(tasks);
    let key = task.keys.get(hour);
    if (key === undefined) task.keys.set(hour, (key = sessionKey(dice)));
    const caller: Caller = {
      userIdentity: roleSession(world.ctx.account, world.portalRole, task.id, key, dayStart + hour * HOUR),
      sourceIp: task.ip,
      userAgent: PORTAL_AGENT,
      vpcEndpointId: 'vpce-0a1b2c3d4e5f60718',
    };
    const bucket = world.buckets.results;
    const roll = dice.next();
    if (roll < 0.18) {
      const key2 = `results/${new Date(t).toISOString().slice(0, 10).replaceAll('-', '/')}/P${dice.text(6, '0123456789')}/cbc.pdf`;
      trail.emit(t, caller, { eventName: 'PutObject', bucket, key: key2, bytesIn: dice.int(60_000, 420_000) });
    } else {
      const object = dice.pick(world.results);
      if (dice.chance(0.3)) trail.emit(t, caller, { eventName: 'HeadObject', bucket, key: object });
      const missing = dice.chance(0.01);
      trail.emit(t + dice.int(0, 900), caller, {
        eventName: 'GetObject',
        bucket,
        key: object,
        bytesOut: missing ? 0 : objectSize(dice, object),
        errorCode: missing ? 'NoSuchKey' : undefined,
      });
    }
    t += dice.wait(isBusinessHour(t) ? 35_000 : 200_000);
  }
}

/** Modalities push DICOM instances through the ingest role (EC2 instance profile, Go SDK). */
function imagingIngest(world: ClinicWorld, trail: Trail, dice: Dice, dayStart: number): void {
  const instance = `i-0${dice.hex(16)}`;
  const key = sessionKey(dice);
  const caller: Caller = {
    userIdentity: roleSession(world.ctx.account, world.ingestRole, instance, key, dayStart, { ec2: true }),
    sourceIp: `10.40.8.${dice.int(10, 40)}`,
    userAgent: GO_AGENT,
    vpcEndpointId: 'vpce-0a1b2c3d4e5f60718',
  };
  for (let t = dayStart + dice.wait(HOUR); t < dayStart + DAY; t += dice.wait(isBusinessHour(t) ? 150_000 : 1_500_000)) {
    const object = `dicom/1.2.392.200036.9116.2.${dice.text(8, '0123456789')}/${dice.int(1, 6)}/${dice.int(1, 240)}.dcm`;
    trail.emit(t, caller, { eventName: 'PutObject', bucket: world.buckets.imaging, key: object, bytesIn: objectSize(dice, object) });
  }
}

/** GitHub Actions deploys: a new web-identity session per run, from a runner's address. */
function ciRuns(world: ClinicWorld, trail: Trail, dice: Dice, dayStart: number): void {
  const runs = dice.int(2, 6);
  for (let run = 0; run < runs; run++) {
    let t = dayStart + dice.int(0, 10 * HOUR);
    const caller: Caller = {
      userIdentity: roleSession(world.ctx.account, world.ciRole, 'GitHubActions', sessionKey(dice), t, {
        webIdentityProvider: 'token.actions.githubusercontent.com',
      }),
      sourceIp: `${dice.pick(RUNNER_BLOCKS)}.${dice.int(0, 255)}.${dice.int(1, 254)}`,
      userAgent: GITHUB_AGENT,
    };
    const bucket = world.buckets.ci;
    const sha = dice.hex(7);
    trail.emit(t, caller, { eventName: 'ListObjectsV2', bucket, params: { 'list-type': '2', prefix: 'builds/portal/', 'encoding-type': 'url' } });
    for (let i = dice.int(3, 8); i > 0; i--) {
      t += dice.int(2_000, 20_000);
      trail.emit(t, caller, { eventName: 'PutObject', bucket, key: `builds/portal/${sha}/${dice.pick(['portal.zip', 'assets.tar.gz', 'sbom.json', 'migrations.sql'])}`, bytesIn: dice.int(20_000, 40_000_000) });
    }
    for (let i = dice.int(0, 3); i > 0; i--) {
      t += dice.int(500, 3_000);
      trail.emit(t, caller, { eventName: 'DeleteObject', bucket, key: `builds/portal/${dice.hex(7)}/portal.zip` });
    }
  }
}

/** A developer's `aws s3 ls` and `cp` at the office on weekdays, sometimes at home. */
function developerDay(world: ClinicWorld, trail: Trail, dice: Dice, dayStart: number, developer: Developer): void {
  const sessions = isWeekday(dayStart) ? dice.int(1, 4) : dice.chance(0.2) ? 1 : 0;
  for (let s = 0; s < sessions; s++) {
    const atHome = !isWeekday(dayStart) || dice.chance(0.15);
    const ip = atHome ? developer.homeIp : dice.pick(world.officeIps);
    let t = dayStart + (atHome ? dice.int(10 * HOUR, 14 * HOUR) : dice.int(0, 9 * HOUR));
    const bucket = dice.chance(0.7) ? world.buckets.results : world.buckets.imaging;
    const objects = bucket === world.buckets.results ? world.results : world.imaging;
    for (let i = dice.int(1, 3); i > 0; i--) {
      const prefix = dice.pick(objects).split('/').slice(0, dice.int(1, 3)).join('/') + '/';
      trail.emit(t, developerCaller(world, developer, ip, 's3.ls'), { eventName: 'ListObjectsV2', bucket, params: { 'list-type': '2', prefix, delimiter: '/', 'encoding-type': 'url' } });
      t += dice.int(5_000, 90_000);
    }
    for (let i = dice.int(0, 6); i > 0; i--) {
      const object = dice.pick(objects);
      trail.emit(t, developerCaller(world, developer, ip, 's3.cp'), { eventName: 'GetObject', bucket, key: object, bytesOut: objectSize(dice, object) });
      t += dice.int(8_000, 240_000);
    }
    if (dice.chance(0.2)) {
      trail.emit(t, developerCaller(world, developer, ip, 's3.cp'), { eventName: 'PutObject', bucket: world.buckets.results, key: `scratch/${developer.userName}/${dice.hex(6)}.csv`, bytesIn: dice.int(1_000, 90_000) });
    }
  }
}

/**
 * The operations lead browses the bucket in the console (a few lists, a download) and now and
 * then uses CloudShell; console credentials are renewed every few minutes.
 */
function consoleDay(world: ClinicWorld, trail: Trail, dice: Dice, dayStart: number): void {
  const user = world.consoleUser;
  for (let s = dice.int(1, 3); s > 0; s--) {
    let t = dayStart + dice.int(0, 9 * HOUR);
    const created = t;
    const shell = dice.chance(0.2);
    const ip = shell ? `13.231.${dice.int(0, 255)}.${dice.int(1, 254)}` : dice.pick(world.officeIps);
    let key = sessionKey(dice);
    let renewed = t;
    for (let i = dice.int(5, 16); i > 0; i--) {
      if (t - renewed > dice.int(4, 9) * MINUTE) {
        key = sessionKey(dice);
        renewed = t;
      }
      const caller: Caller = {
        userIdentity: consoleSession(world.ctx.account, user.userName, user.userId, key, created),
        sourceIp: ip,
        userAgent: shell ? CLOUDSHELL_AGENT : CONSOLE_AGENT,
        fromConsole: true,
      };
      const object = dice.pick(world.results);
      if (dice.chance(0.75)) {
        const prefix = object.split('/').slice(0, dice.int(1, 4)).join('/') + '/';
        trail.emit(t, caller, { eventName: 'ListObjectsV2', bucket: world.buckets.results, params: { 'list-type': '2', prefix, delimiter: '/' } });
      } else {
        trail.emit(t, caller, { eventName: dice.chance(0.5) ? 'HeadObject' : 'GetObject', bucket: world.buckets.results, key: object, bytesOut: objectSize(dice, object) });
      }
      t += dice.int(10_000, 120_000);
    }
  }
}

/** 02:00 JST: the export user reads yesterday's reports and writes the billing extract. */
export function nightlyExport(world: ClinicWorld, trail: Trail, dice: Dice, dayStart: number, count = dice.int(80, 150)): number {
  const caller: Caller = {
    userIdentity: iamUserKey(world.ctx.account, world.exportUser.userName, world.exportUser.userId, world.exportUser.accessKeyId),
    sourceIp: '210.148.59.12',
    userAgent: BOTO_AGENT,
  };
  let t = dayStart + 17 * HOUR + dice.int(0, 300_000);
  trail.emit(t, caller, { eventName: 'ListObjectsV2', bucket: world.buckets.results, params: { 'list-type': '2', prefix: 'results/' } });
  for (let i = 0; i < count; i++) {
    t += dice.wait(250);
    const object = world.results[(i * 7919 + Math.floor(dayStart / DAY)) % world.results.length] as string;
    trail.emit(t, caller, { eventName: 'GetObject', bucket: world.buckets.results, key: object, bytesOut: objectSize(dice, object) });
  }
  const month = new Date(dayStart).toISOString().slice(0, 7);
  trail.emit(t + 2_000, caller, { eventName: 'PutObject', bucket: world.buckets.finance, key: `daily/${month}/lab-billing-${dice.hex(6)}.csv`, bytesIn: dice.int(40_000, 400_000) });
  return t;
}

/** 03:00 JST: the backup agent copies changed reports; on Sundays everything. */
export function backupRun(world: ClinicWorld, trail: Trail, dice: Dice, dayStart: number, full = new Date(dayStart).getUTCDay() === 0): number {
  const caller: Caller = {
    userIdentity: roleSession(world.ctx.account, world.backupRole, `i-0${dice.hex(16)}`, sessionKey(dice), dayStart + 17 * HOUR, { ec2: true }),
    sourceIp: '10.40.12.7',
    userAgent: GO_AGENT,
    vpcEndpointId: 'vpce-0a1b2c3d4e5f60718',
  };
  let t = dayStart + 18 * HOUR + dice.int(0, 120_000);
  const objects = full ? world.results : world.results.filter(() => dice.chance(0.06));
  for (let page = 0; page < Math.ceil(world.results.length / 1000); page++) {
    trail.emit(t, caller, { eventName: 'ListObjectsV2', bucket: world.buckets.results, params: { 'list-type': '2', prefix: 'results/' } });
    t += 400;
  }
  for (const object of objects) {
    t += dice.wait(40);
    trail.emit(t, caller, { eventName: 'GetObject', bucket: world.buckets.results, key: object, bytesOut: objectSize(dice, object) });
  }
  return t;
}

/** Patients open their report through a presigned link: the signer's key, browsers, many addresses. */
export function presignedDownloads(world: ClinicWorld, trail: Trail, dice: Dice, dayStart: number, intensity: number, from = dayStart, to = dayStart + DAY): void {
  const signer = world.linkSigner;
  for (let t = from + dice.wait(HOUR); t < to; t += dice.wait((isBusinessHour(t) ? 600_000 : 2_400_000) / intensity)) {
    const caller: Caller = {
      userIdentity: iamUserKey(world.ctx.account, signer.userName, signer.userId, signer.accessKeyId),
      sourceIp: `${dice.pick(MOBILE_BLOCKS)}.${dice.int(0, 255)}.${dice.int(1, 254)}`,
      userAgent: dice.pick(BROWSERS),
      auth: 'QueryString',
    };
    const object = dice.pick(world.results);
    trail.emit(t, caller, { eventName: 'GetObject', bucket: world.buckets.results, key: object, bytesOut: objectSize(dice, object) });
  }
}

/** 10:00 JST: the partner lab's role (another account) collects the day's exchange files. */
export function partnerSync(world: ClinicWorld, trail: Trail, dice: Dice, dayStart: number, files: number): void {
  const caller: Caller = {
    userIdentity: crossAccountCaller(world.partnerAccount, world.partnerPrincipal),
    sourceIp: '198.51.47.20',
    userAgent: 'aws-sdk-java/1.12.770 Linux/5.15.0-1066-aws OpenJDK_64-Bit_Server_VM/11.0.24+8-LTS java/11.0.24 vendor/Eclipse_Adoptium cfg/retry-mode/standard',
  };
  let t = dayStart + HOUR + dice.int(0, 600_000);
  const date = new Date(dayStart).toISOString().slice(0, 10);
  trail.emit(t, caller, { eventName: 'ListObjectsV2', bucket: world.buckets.exchange, params: { 'list-type': '2', prefix: `outbound/${date}/` } });
  for (let i = 0; i < files; i++) {
    t += dice.int(600, 2_500);
    trail.emit(t, caller, { eventName: 'GetObject', bucket: world.buckets.exchange, key: `outbound/${date}/batch-${String(i).padStart(3, '0')}.csv.gz`, bytesOut: dice.int(5_000, 900_000) });
  }
}

/** Internet scanners trying bucket names: anonymous and denied. */
function probes(world: ClinicWorld, trail: Trail, dice: Dice, dayStart: number): void {
  for (let i = dice.int(0, 4); i > 0; i--) {
    const caller: Caller = {
      userIdentity: anonymousCaller(),
      sourceIp: `${dice.int(23, 212)}.${dice.int(0, 255)}.${dice.int(0, 255)}.${dice.int(1, 254)}`,
      userAgent: dice.pick(['python-requests/2.32.3', 'curl/8.5.0', 'Go-http-client/1.1']),
    };
    const get = dice.chance(0.6);
    trail.emit(dayStart + dice.int(0, DAY - 1), caller, {
      eventName: get ? 'GetObject' : 'ListObjects',
      bucket: dice.pick(Object.values(world.buckets)),
      key: get ? dice.pick(['.env', 'backup.sql', 'config.json']) : undefined,
      errorCode: 'AccessDenied',
    });
  }
}
