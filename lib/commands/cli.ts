import type { CliIo } from './cli-io.ts';
import { OPS_DEPENDENCIES } from './aws-connection.ts';
import type { CliCommand, CliDependencies } from './command.ts';
import { DEMO_COMMAND } from './demo-command.ts';
import { DOCTOR_COMMAND } from './doctor-command.ts';
import { INCIDENTS_COMMAND } from './incidents-command.ts';
import { KEYS_COMMAND } from './keys-command.ts';
import { REPLAY_COMMAND } from './replay-command.ts';
import { SIMULATE_COMMAND } from './simulate-command.ts';
import { TUNE_COMMAND } from './tune-command.ts';
import { KeysentryError, UsageError } from '../domain/errors.ts';

export type { CliIo };

/** Every `keysentry` command, in the order the overview lists them; each one is a file of its own. */
export const COMMANDS: readonly CliCommand[] = [
  REPLAY_COMMAND,
  SIMULATE_COMMAND,
  DEMO_COMMAND,
  INCIDENTS_COMMAND,
  TUNE_COMMAND,
  KEYS_COMMAND,
  DOCTOR_COMMAND,
];

export const USAGE = `keysentry — stops a stolen S3 access key in the first minute of an attack

Usage: keysentry COMMAND [options]

${COMMANDS.map((command) => `  ${command.name.padEnd(11)}${command.summary}`).join('\n')}

keysentry COMMAND --help prints the command's own usage.
`;

const HELP_WORDS = new Set(['--help', '-h']);

/** Whether the arguments ask for help: `--help` or `-h` anywhere before a `--`, or `help` as the first word. */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return args[0] === 'help' || (end === -1 ? args : args.slice(0, end)).some((arg) => HELP_WORDS.has(arg));
}

/**
 * Runs one keysentry command and returns the process exit code. `keysentry CMD --help` prints that
 * command's usage (exit 0). A usage error prints one line and where the usage is (exit 2); other
 * keysentry errors print one line (exit 1); anything else is a bug and is thrown.
 */
export async function runCli(argv: readonly string[], io: CliIo, deps: Partial<CliDependencies> = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || HELP_WORDS.has(name)) {
    io.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    io.stderr.write(`keysentry: unknown command "${name}"\nsee keysentry --help\n`);
    return 2;
  }
  if (asksForHelp(rest)) {
    io.stdout.write(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io, { ops: deps.ops ?? OPS_DEPENDENCIES });
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`keysentry ${name}: ${(error as Error).message}\nsee keysentry ${name} --help\n`);
      return 2;
    }
    if (error instanceof KeysentryError) {
      io.stderr.write(`keysentry: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
