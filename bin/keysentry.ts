import { runCli } from '../lib/commands/cli.ts';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, user: process.env.USER });
