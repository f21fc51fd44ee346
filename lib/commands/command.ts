import type { CliIo } from './cli-io.ts';
import type { OpsDependencies } from './aws-connection.ts';

/** What `runCli` hands every command besides its arguments: tests replace the AWS clients and the clock. */
export interface CliDependencies {
  ops: OpsDependencies;
}

/**
 * One `keysentry` command: its name, the line the overview shows, its own usage text (printed by
 * `keysentry NAME --help`, exit 0), and what it runs. A command throws `UsageError` for bad
 * arguments and other `KeysentryError`s for failures; `runCli` turns them into exit codes.
 */
export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  run(args: readonly string[], io: CliIo, deps: CliDependencies): Promise<number>;
}
