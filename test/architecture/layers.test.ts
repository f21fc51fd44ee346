import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, readImportGraph, type SourceImports } from './import-graph.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const graph = readImportGraph(ROOT, ['lib', 'functions', 'bin', 'bench']);
const inFolder = (folder: string) => (node: SourceImports) => node.file.startsWith(`lib/${folder}/`);

/**
 * The layers, bottom up: each folder may import only from the folders listed for it (and itself).
 * `lib/config.ts` reads the environment once and sits with the functions' wiring.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  domain: [],
  intake: ['domain'],
  store: ['domain'],
  tuning: ['domain', 'store', 'aws'],
  engine: ['domain', 'intake', 'store', 'tuning', 'aws'],
  aws: ['domain', 'store', 'tuning'],
  ops: ['domain', 'store', 'aws'],
  commands: ['domain', 'intake', 'store', 'engine', 'tuning', 'aws', 'ops', 'simulator'],
  simulator: ['domain'],
  scenarios: ['domain'],
  peers: ['domain'],
};

const folderOf = (file: string): string | undefined => /^lib\/([^/]+)\//.exec(file)?.[1];

describe('the import graph of lib/', () => {
  it('has no cycles', () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one (the checker itself)', () => {
    const looped: SourceImports[] = [
      { file: 'a.ts', local: ['b.ts'], packages: [] },
      { file: 'b.ts', local: ['c.ts'], packages: [] },
      { file: 'c.ts', local: ['a.ts'], packages: [] },
    ];
    expect(findCycles(looped)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('keeps the domain pure: no AWS SDK, no Node I/O, no Lambda types', () => {
    const impure = graph
      .filter(inFolder('domain'))
      .flatMap((node) => node.packages.filter((name) => name !== 'node:crypto').map((name) => `${node.file} imports ${name}`));
    expect(impure).toEqual([]);
  });

  it('imports only downward: each folder from the layers below it', () => {
    const upward = graph.flatMap((node) => {
      const from = folderOf(node.file);
      if (from === undefined) return [];
      return node.local.flatMap((target) => {
        const to = folderOf(target);
        if (to === undefined) return target === 'lib/config.ts' ? [`${node.file} reads config`] : [];
        if (to === from || (ALLOWED[from] ?? []).includes(to)) return [];
        return [`${node.file} → ${target}`];
      });
    });
    expect(upward).toEqual([]);
  });

  it('lets no lib/ file import aws-lambda types or read process.env except lib/config.ts', () => {
    const offenders = graph
      .filter((node) => node.file.startsWith('lib/') && node.file !== 'lib/config.ts')
      .filter((node) => node.packages.includes('aws-lambda'))
      .map((node) => node.file);
    expect(offenders).toEqual([]);
  });
});
