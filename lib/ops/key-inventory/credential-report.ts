import { GenerateCredentialReportCommand, GetCredentialReportCommand, type IAMClient } from '@aws-sdk/client-iam';

/** One access-key slot of one row of the IAM credential report. */
export interface ReportedKey {
  active: boolean;
  /** When the key was created or last rotated (ISO), if it exists. */
  lastRotated?: number;
  lastUsed?: number;
  lastUsedRegion?: string;
  lastUsedService?: string;
}

/** One row of the IAM credential report: a user (or `<root_account>`) and its two key slots. */
export interface CredentialReportRow {
  user: string;
  arn: string;
  keys: [ReportedKey, ReportedKey];
}

export const ROOT_ROW = '<root_account>';

/** The report's CSV, one object per row keyed by column name. The report's values never hold commas. */
export function parseCredentialReport(csv: string): CredentialReportRow[] {
  const [header, ...lines] = csv.trim().split(/\r?\n/);
  const columns = (header ?? '').split(',');
  const time = (value: string | undefined): number | undefined => {
    const parsed = value === undefined ? Number.NaN : Date.parse(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  };
  // "N/A": nothing to report; "not_supported"/"no_information": IAM has no record of it.
  const known = (value: string | undefined): string | undefined =>
    value === undefined || ['', 'N/A', 'not_supported', 'no_information'].includes(value) ? undefined : value;
  return lines
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const cells = line.split(',');
      const cell = (name: string): string | undefined => cells[columns.indexOf(name)];
      const slot = (n: 1 | 2): ReportedKey => ({
        active: cell(`access_key_${n}_active`) === 'true',
        lastRotated: time(cell(`access_key_${n}_last_rotated`)),
        lastUsed: time(cell(`access_key_${n}_last_used_date`)),
        lastUsedRegion: known(cell(`access_key_${n}_last_used_region`)),
        lastUsedService: known(cell(`access_key_${n}_last_used_service`)),
      });
      return { user: cell('user') ?? '', arn: cell('arn') ?? '', keys: [slot(1), slot(2)] };
    });
}

/** How often and how long to wait for IAM to finish a report it is generating. */
const POLL = { attempts: 10, delayMs: 1_000 };

/**
 * The IAM credential report: every user's (and the root user's) access keys, whether each is
 * active, when it was created and last used, in one document. IAM generates it at most every four
 * hours; `GenerateCredentialReport` starts or reuses one, then `GetCredentialReport` reads it.
 */
export async function readCredentialReport(iam: IAMClient, sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms))): Promise<CredentialReportRow[]> {
  for (let attempt = 0; attempt < POLL.attempts; attempt++) {
    const { State } = await iam.send(new GenerateCredentialReportCommand({}));
    if (State === 'COMPLETE') break;
    await sleep(POLL.delayMs);
  }
  const { Content } = await iam.send(new GetCredentialReportCommand({}));
  return parseCredentialReport(Content === undefined ? '' : new TextDecoder().decode(Content));
}
