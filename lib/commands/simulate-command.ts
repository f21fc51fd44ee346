import { parseArgs } from 'node:util';
import type { CliIo } from './cli-io.ts';
import type { CliCommand } from './command.ts';
import { UsageError } from '../domain/errors.ts';
import { SCENARIO_NAMES, simulateScenario, type ScenarioName } from '../simulator/index.ts';

/** The usage text of `keysentry simulate`. */
export const SIMULATE_USAGE = `keysentry simulate — write simulated CloudTrail logs, as CloudTrail lays them out

Usage:
  keysentry simulate SCENARIO OUTDIR     SCENARIO: ${SCENARIO_NAMES.join(', ')}

Options:
  --seed N  --days N  --scale N  --start ISO-DATE  --attacker-rate N (objects/s)
`;

export async function runSimulateCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      seed: { type: 'string' },
      days: { type: 'string' },
      scale: { type: 'string' },
      start: { type: 'string' },
      'attacker-rate': { type: 'string' },
    },
  });
  const [scenario, outDir] = positionals;
  if (scenario === undefined || outDir === undefined || positionals.length !== 2) {
    throw new UsageError('simulate needs SCENARIO and OUTDIR');
  }
  if (!SCENARIO_NAMES.includes(scenario as ScenarioName)) {
    throw new UsageError(`unknown scenario "${scenario}"; one of: ${SCENARIO_NAMES.join(', ')}`);
  }
  const positive = (text: string | undefined, option: string): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${option}: "${text}" must be a positive number`);
    return value;
  };
  const manifest = await simulateScenario(scenario as ScenarioName, outDir, {
    seed: positive(values.seed, '--seed'),
    days: positive(values.days, '--days'),
    scale: positive(values.scale, '--scale'),
    start: values.start,
    attackerRate: positive(values['attacker-rate'], '--attacker-rate'),
  });
  io.stdout.write(
    `Wrote ${manifest.records.toLocaleString('en-US')} records in ${manifest.files.toLocaleString('en-US')} files to ${outDir} (${manifest.start} .. ${manifest.end})\n` +
      (manifest.attack ? `Attack: ${manifest.attack.label} from ${manifest.attack.start}: ${manifest.attack.description}\n` : 'No attack in this scenario.\n'),
  );
  return 0;
}

/** `keysentry simulate`. */
export const SIMULATE_COMMAND: CliCommand = {
  name: 'simulate',
  summary: `write simulated CloudTrail logs (${SCENARIO_NAMES.join(', ')})`,
  usage: SIMULATE_USAGE,
  run: (args, io) => runSimulateCommand(args, io),
};
