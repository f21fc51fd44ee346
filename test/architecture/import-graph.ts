import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** One source file's imports: relative ones resolved to repository paths, packages by name. */
export interface SourceImports {
  file: string;
  local: string[];
  packages: string[];
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function listSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listSources(path);
    return /\.(ts|mts|mjs)$/.test(name) ? [path] : [];
  });
}

/** Reads every TypeScript source under the given folders of the repository at `root`. */
export function readImportGraph(root: string, folders: readonly string[]): SourceImports[] {
  return folders.flatMap((folder) => listSources(join(root, folder))).map((path) => {
    const text = readFileSync(path, 'utf8');
    const local: string[] = [];
    const packages: string[] = [];
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? '';
      if (specifier.startsWith('.')) local.push(relative(root, resolve(dirname(path), specifier)));
      else packages.push(specifier);
    }
    return { file: relative(root, path), local, packages };
  });
}

/** Every import cycle, each as the list of files around it (Tarjan's strongly connected components). */
export function findCycles(graph: readonly SourceImports[]): string[][] {
  const edges = new Map(graph.map((node) => [node.file, node.local]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next += 1;
    stack.push(file);
    onStack.add(file);
    for (const target of edges.get(file) ?? []) {
      if (!edges.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      const selfLoop = (edges.get(file) ?? []).includes(file);
      if (component.length > 1 || selfLoop) cycles.push(component.sort());
    }
  };
  for (const file of edges.keys()) if (!index.has(file)) visit(file);
  return cycles;
}
