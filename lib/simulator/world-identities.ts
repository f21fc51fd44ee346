import { SeededRandom } from './seeded-random.ts';

/** A developer with a CLI key, a console login, an office and a home. */
export interface Developer {
  name: string;
  userId: string;
  cliKey: string;
  homeIp: string;
  cliUserAgent: string;
  browser: string;
}

/** The long-lived ids of the simulated account: the same in every scenario for one seed. */
export interface WorldIdentities {
  appRoleId: string;
  backupRoleId: string;
  exportUserId: string;
  exportKey: string;
  backupInstance: string;
  developers: Developer[];
  partnerPrincipalId: string;
}

export const APP_ROLE = 'patient-portal-app';
export const BACKUP_ROLE = 'backup-role';
export const EXPORT_USER = 'export-job';
export const PARTNER_ACCOUNT = '444455556666';
export const PROTECTED_BUCKET = 'checkup-results';
export const EXPORTS_BUCKET = 'exports';
export const BACKUPS_BUCKET = 'backups';

/**
 * Draws the account's role ids, user ids and long-term keys from their own stream, so that a
 * scenario's attacker, drawn elsewhere, cannot collide with or shift them.
 */
export function drawWorldIdentities(seed: number): WorldIdentities {
  const random = SeededRandom.derive(seed, 'identities');
  const developer = (name: string, homeIp: string, os: string, browser: string): Developer => ({
    name,
    userId: random.awsId('AIDA', 17),
    cliKey: random.awsId('AKIA', 16),
    homeIp,
    cliUserAgent: `aws-cli/2.15.${random.integer(30, 58)} Python/3.11.8 ${os} prompt/off`,
    browser,
  });
  return {
    appRoleId: random.awsId('AROA', 17),
    backupRoleId: random.awsId('AROA', 17),
    exportUserId: random.awsId('AIDA', 17),
    exportKey: random.awsId('AKIA', 16),
    backupInstance: `i-0${random.hex(16)}`,
    developers: [
      developer(
        'alice',
        '86.12.44.201',
        'Darwin/23.4.0 exe/x86_64',
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
      ),
      developer(
        'bob',
        '92.40.183.7',
        'Linux/6.5.0-28-generic exe/x86_64.ubuntu.22',
        'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
      ),
      developer(
        'chen',
        '2.28.119.64',
        'Windows/10 exe/AMD64',
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
      ),
    ],
    partnerPrincipalId: random.awsId('AIDA', 17),
  };
}
