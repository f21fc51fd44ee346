import { describe, expect, it } from 'vitest';
import { COMMANDS, runCli, USAGE } from '../lib/commands/cli.ts';

// Every command's --help: its own usage on stdout, exit 0, before any option is parsed or any
// AWS client is built (a missing --table or an unknown option does not matter).
function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

const EXPECTED_COMMANDS = ['replay', 'simulate', 'demo', 'incidents', 'tune', 'keys', 'doctor'];

describe('keysentry CMD --help', () => {
  it('lists every command in the overview', () => {
    expect(COMMANDS.map((command) => command.name)).toEqual(EXPECTED_COMMANDS);
    for (const name of EXPECTED_COMMANDS) expect(USAGE).toContain(`  ${name} `);
  });

  for (const name of EXPECTED_COMMANDS) {
    it(`prints the usage of ${name} and exits 0`, async () => {
      const command = COMMANDS.find((candidate) => candidate.name === name);
      for (const args of [[name, '--help'], [name, '-h'], [name, '--table', 'x', '--help'], [name, 'help']]) {
        const capture = captureIo();
        expect(await runCli(args, capture.io), args.join(' ')).toBe(0);
        expect(capture.stdout()).toBe(command?.usage);
        expect(capture.stdout()).toMatch(new RegExp(`^keysentry ${name} — `));
        expect(capture.stdout()).toContain('Usage:');
        expect(capture.stderr()).toBe('');
      }
    });
  }

  it('documents the options the on-call and the tuning take', () => {
    const usage = (name: string): string => COMMANDS.find((command) => command.name === name)?.usage ?? '';
    expect(usage('tune')).toMatch(/--target N/);
    expect(usage('tune')).toMatch(/--window DURATION/);
    expect(usage('tune')).toMatch(/--json/);
    expect(usage('tune')).toMatch(/--topic-arn ARN/);
    expect(usage('tune')).toMatch(/--as-of/);
    expect(usage('incidents')).toMatch(/--by WHO/);
    expect(usage('incidents')).toMatch(/--topic-arn ARN/);
    expect(usage('keys')).toMatch(/--json/);
    expect(usage('doctor')).toMatch(/--score-function/);
  });

  it('prints the overview for keysentry --help (exit 0) and for no command (exit 2)', async () => {
    const help = captureIo();
    expect(await runCli(['--help'], help.io)).toBe(0);
    expect(help.stdout()).toBe(USAGE);
    const none = captureIo();
    expect(await runCli([], none.io)).toBe(2);
  });
});

describe('reasons as a person reads them', () => {
  it('shows value and threshold with their units', async () => {
    const { formatReason } = await import('../lib/domain/reason-format.ts');
    expect(formatReason({ code: 'never-seen', message: 'never seen before', value: 0, threshold: 7, points: 40 })).toBe(
      '+40 never-seen: never seen before [value 0 days, threshold 7 days]',
    );
    expect(formatReason({ code: 'bulk-read', message: 'm', value: 21, threshold: 10, points: 20 })).toContain('[value 21 objects, threshold 10 objects]');
    // Bytes in the same (binary) units as the reason's message, whose limit is 500 × 1,024² bytes.
    expect(formatReason({ code: 'bytes-out', message: 'm', value: 1.5 * 1024 ** 3, threshold: 500 * 1024 ** 2, points: 20 })).toContain('[value 1.5 GB, threshold 500.0 MB]');
    expect(formatReason({ code: 'dormant-key-read', message: 'm', value: 3, threshold: 3, points: 20 })).toContain('[value 3 objects, threshold 3 objects]');
  });
});
