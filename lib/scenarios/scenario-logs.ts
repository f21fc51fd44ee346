import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Dice } from './dice.ts';
import type { Scenario } from './scenario-types.ts';
import type { TrailRecord } from './trail-records.ts';

const DELIVERY_MS = 5 * 60_000;
/** Share of records CloudTrail delivers one file late. */
const LATE_SHARE = 0.02;

/**
 * Writes a scenario's records as log files under `dir` and returns the folder to replay.
 * `time`: CloudTrail's layout (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/…json.gz`, one
 * file per region and five minutes, a few records a file late). `newest-first`: one plain JSON file
 * per day, newest day and newest record first (an export of `lookup-events` or `ORDER BY eventtime
 * DESC`). `shuffled`: the records in random order over files of 5,000.
 */
export function writeScenarioLogs(scenario: Scenario, dir: string, seed = 1): string {
  const dice = new Dice(seed).fork(`logs-${scenario.name}`);
  if (scenario.order === 'newest-first') return writeNewestFirst(scenario.records, join(dir, 'export'));
  if (scenario.order === 'shuffled') {
    const shuffled = dice.shuffle([...scenario.records]);
    const root = join(dir, 'shuffled');
    for (let i = 0; i * 5000 < shuffled.length; i++) {
      writeLogFile(join(root, `part-${dice.hex(12)}.json.gz`), shuffled.slice(i * 5000, (i + 1) * 5000));
    }
    return root;
  }
  return writeTrailLayout(scenario.records, join(dir, 'AWSLogs'), dice);
}

function writeTrailLayout(records: readonly TrailRecord[], root: string, dice: Dice): string {
  const files = new Map<string, { account: string; region: string; period: number; records: TrailRecord[] }>();
  for (const record of records) {
    const at = Date.parse(record.eventTime as string);
    const late = dice.chance(LATE_SHARE) ? 1 : 0;
    const period = (Math.floor(at / DELIVERY_MS) + late) * DELIVERY_MS;
    const account = String(record.recipientAccountId);
    const region = String(record.awsRegion);
    const id = `${account}/${region}/${period}`;
    let file = files.get(id);
    if (file === undefined) files.set(id, (file = { account, region, period, records: [] }));
    file.records.push(record);
  }
  for (const file of files.values()) {
    const stamp = new Date(file.period + DELIVERY_MS).toISOString();
    const day = stamp.slice(0, 10).replaceAll('-', '/');
    const name = `${file.account}_CloudTrail_${file.region}_${stamp.slice(0, 16).replaceAll('-', '').replace(':', '')}Z_${dice.text(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')}.json.gz`;
    writeLogFile(join(root, file.account, 'CloudTrail', file.region, day, name), file.records);
  }
  return root;
}

function writeNewestFirst(records: readonly TrailRecord[], root: string): string {
  const byDay = new Map<string, TrailRecord[]>();
  for (const record of records) {
    const day = (record.eventTime as string).slice(0, 10);
    let list = byDay.get(day);
    if (list === undefined) byDay.set(day, (list = []));
    list.push(record);
  }
  const days = [...byDay.keys()].sort().reverse();
  days.forEach((day, i) => {
    const list = (byDay.get(day) as TrailRecord[]).slice().reverse();
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, `events-${String(i).padStart(3, '0')}-${day}.json`), JSON.stringify({ Records: list }));
  });
  return root;
}

function writeLogFile(path: string, records: readonly TrailRecord[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, gzipSync(JSON.stringify({ Records: records }), { level: 1 }));
}
