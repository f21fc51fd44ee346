import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from './cli-io.ts';
import type { CliCommand } from './command.ts';
import { runReplayCommand } from './replay-command.ts';
import { runSimulateCommand } from './simulate-command.ts';
import { UsageError } from '../domain/errors.ts';

/** The usage text of `keysentry demo`. */
export const DEMO_USAGE = `keysentry demo — simulate three weeks with the breach and replay them (no AWS account needed)

Usage:
  keysentry demo
`;

export async function runDemoCommand(args: readonly string[], io: CliIo): Promise<number> {
  if (args.length > 0) throw new UsageError(`demo takes no arguments (got ${args.join(' ')})`);
  const dir = await mkdtemp(join(tmpdir(), 'keysentry-demo-'));
  try {
    io.stdout.write('Simulating three weeks of CloudTrail logs with the breach on day 15…\n');
    await runSimulateCommand(['breach', dir], io);
    io.stdout.write('\nReplaying them through keysentry (14 days of warm-up, then detection):\n\n');
    return await runReplayCommand([join(dir, 'AWSLogs')], io);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `keysentry demo`. */
export const DEMO_COMMAND: CliCommand = {
  name: 'demo',
  summary: 'simulate the breach and replay it (no AWS account needed)',
  usage: DEMO_USAGE,
  run: (args, io) => runDemoCommand(args, io),
};
