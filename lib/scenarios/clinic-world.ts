import { Dice } from './dice.ts';
import { s3Record, type Caller, type S3Call, type TrailContext, type TrailRecord } from './trail-records.ts';

export const DAY = 86_400_000;
export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** A role of the world: name and its `AROA…` id. */
export interface RoleId {
  name: string;
  id: string;
}

/** An IAM user with a long-term key. */
export interface KeyUser {
  userName: string;
  userId: string;
  accessKeyId: string;
}

/** A developer: a CLI key, an office and a home network, a CLI build. */
export interface Developer extends KeyUser {
  homeIp: string;
  cli: string;
}

/**
 * The clinic network whose trail every scenario of this family records: a lab-results bucket
 * (versioned), imaging, CI artifacts, finance exports and a partner exchange; the application
 * roles, a CI role federated from GitHub Actions, developers, a console user, a nightly export,
 * a backup agent, a presigned-link signer and a partner account. Its names, ids, rates and
 * layouts are its own (nothing is shared with `lib/simulator`).
 */
export interface ClinicWorld {
  ctx: TrailContext;
  start: number;
  days: number;
  buckets: { results: string; imaging: string; ci: string; finance: string; exchange: string };
  results: string[];
  imaging: string[];
  portalRole: RoleId;
  ingestRole: RoleId;
  ciRole: RoleId;
  backupRole: RoleId;
  developers: Developer[];
  officeIps: string[];
  consoleUser: KeyUser;
  exportUser: KeyUser;
  linkSigner: KeyUser;
  partnerAccount: string;
  partnerPrincipal: string;
}

const PANELS = ['cbc', 'lipid', 'hba1c', 'liver', 'thyroid', 'urinalysis', 'renal', 'crp'];

/** Draws a world: ids, object catalogs; `start` is a Monday 00:00 UTC. */
export function drawClinicWorld(seed: number, start: number, days: number): ClinicWorld {
  const dice = new Dice(seed).fork('world');
  const account = `${dice.int(2, 9)}${dice.text(11, '0123456789')}`;
  const prefix = dice.pick(['hokuto', 'minato', 'sakura']);
  const role = (name: string): RoleId => ({ name, id: `AROA${dice.text(17)}` });
  const user = (userName: string): KeyUser => ({ userName, userId: `AIDA${dice.text(17)}`, accessKeyId: `AKIA${dice.text(16)}` });
  const results: string[] = [];
  for (let i = 0; i < 3200; i++) {
    const date = new Date(start - dice.int(1, 120) * DAY).toISOString().slice(0, 10).replaceAll('-', '/');
    results.push(`results/${date}/P${dice.text(6, '0123456789')}/${dice.pick(PANELS)}.pdf`);
  }
  const imaging: string[] = [];
  for (let i = 0; i < 1400; i++) {
    imaging.push(`dicom/1.2.392.200036.9116.2.${dice.text(8, '0123456789')}/${dice.int(1, 6)}/${dice.int(1, 240)}.dcm`);
  }
  const cliBuilds = [
    'aws-cli/2.17.41 md/awscrt#0.21.2 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source',
    'aws-cli/2.15.62 md/awscrt#0.19.19 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24',
    'aws-cli/2.18.2 md/awscrt#0.22.0 ua/2.0 os/windows#10 md/arch#amd64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe',
  ];
  const developers = ['k.tanaka', 'r.ito', 'a.nakamura'].map((name, i) => ({
    ...user(name),
    homeIp: `${dice.pick(['126', '60', '114'])}.${dice.int(1, 254)}.${dice.int(1, 254)}.${dice.int(2, 254)}`,
    cli: cliBuilds[i] as string,
  }));
  const office = `153.156.${dice.int(10, 250)}`;
  return {
    ctx: { account, region: 'ap-northeast-1', dice: dice.fork('records') },
    start,
    days,
    buckets: {
      results: `${prefix}-lab-results`,
      imaging: `${prefix}-imaging`,
      ci: `${prefix}-ci-artifacts`,
      finance: `${prefix}-finance-exports`,
      exchange: `${prefix}-partner-exchange`,
    },
    results,
    imaging,
    portalRole: role('lab-portal-task'),
    ingestRole: role('imaging-ingest'),
    ciRole: role('ci-deploy'),
    backupRole: role('backup-agent'),
    developers,
    officeIps: [`${office}.17`, `${office}.18`, `${office}.33`],
    consoleUser: user('m.sato'),
    exportUser: user('lab-export'),
    linkSigner: user('report-links'),
    partnerAccount: `${dice.int(2, 9)}${dice.text(11, '0123456789')}`,
    partnerPrincipal: `AROA${dice.text(17)}:lab-sync`,
  };
}

/**
 * Collects a scenario's records; records of the attack are remembered by eventID so that the
 * bench can tell attack alerts from benign ones (the records themselves carry no mark).
 */
export class Trail {
  readonly records: TrailRecord[] = [];
  readonly attackEventIds = new Set<string>();

  constructor(readonly ctx: TrailContext) {}

  emit(at: number, caller: Caller, call: S3Call, attack = false): TrailRecord {
    const record = s3Record(this.ctx, at, caller, call);
    this.records.push(record);
    if (attack) this.attackEventIds.add(record.eventID as string);
    return record;
  }

  add(record: TrailRecord, attack = false): void {
    this.records.push(record);
    if (attack) this.attackEventIds.add(record.eventID as string);
  }
}

/** Size of a lab report PDF or a DICOM instance, in bytes. */
export function objectSize(dice: Dice, key: string): number {
  return key.endsWith('.dcm') ? dice.int(400_000, 3_200_000) : dice.int(60_000, 420_000);
}

/** Japan's business hours (09:00–19:00 JST = 00:00–10:00 UTC) on weekdays. */
export function isBusinessHour(at: number): boolean {
  const weekday = new Date(at).getUTCDay();
  const hour = new Date(at).getUTCHours();
  return weekday >= 1 && weekday <= 5 && hour < 10;
}

export function isWeekday(at: number): boolean {
  const weekday = new Date(at).getUTCDay();
  return weekday >= 1 && weekday <= 5;
}

/** A fresh temporary key id. */
export function sessionKey(dice: Dice): string {
  return `ASIA${dice.text(16)}`;
}

/** What a scenario's own actors write on: the world, its trail, their dice, the day they act. */
export interface Stage {
  world: ClinicWorld;
  trail: Trail;
  dice: Dice;
  /** 00:00 UTC of the day the scenario is about. */
  day: number;
}
