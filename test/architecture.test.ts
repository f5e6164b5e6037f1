/**
 * docs/architecture.md section 4 lists the folder import graph of src/ and says it has no cycle,
 * between folders or between files. This reads the imports of every source file with TypeScript's
 * own pre-processor (import, export-from and import() alike, comments ignored) and holds the page
 * to the code: a new edge between folders is a change of the house, made on purpose, in both places.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/golden.js';

const srcRoot = join(repoRoot, 'src');

/** Every .ts file under src/, and the src files each one imports (relative specifiers only). */
function sourceImports(): Map<string, string[]> {
  const files = (readdirSync(srcRoot, { recursive: true }) as string[]).filter((file) => file.endsWith('.ts')).map((file) => join(srcRoot, file));
  const imports = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles
      .map((imported) => imported.fileName)
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => resolve(dirname(file), specifier).replace(/\.js$/, '.ts'));
    imports.set(file, targets);
  }
  return imports;
}

/** The folder of a src file (its first path segment), or the file itself at the top (`errors.ts`). */
const unitOf = (file: string): string => relative(srcRoot, file).split('/')[0]!;

/** The graph the page lists: the indented `unit -> a, b` lines after "The folder import graph as it is". */
function documentedGraph(): Map<string, string[]> {
  const page = readFileSync(join(repoRoot, 'docs', 'architecture.md'), 'utf8');
  const block = /The folder import graph as it is[^\n]*\n\n((?: {4}\S.*\n)+)/.exec(page)?.[1];
  expect(block, 'docs/architecture.md lists the folder import graph').toBeDefined();
  const graph = new Map<string, string[]>();
  for (const line of block!.trimEnd().split('\n')) {
    const [unit, targets] = line.split('->').map((part) => part.trim());
    graph.set(unit!, targets === '(nothing)' ? [] : targets!.split(',').map((target) => target.trim()));
  }
  return graph;
}

describe('the import graph of src/', () => {
  const imports = sourceImports();

  it('resolves every relative import to a source file', () => {
    const missing = [...imports].flatMap(([file, targets]) => targets.filter((target) => !imports.has(target)).map((target) => `${relative(srcRoot, file)} -> ${relative(srcRoot, target)}`));
    expect(missing).toEqual([]);
  });

  it('is the folder graph docs/architecture.md lists', () => {
    const actual = new Map<string, Set<string>>();
    for (const [file, targets] of imports) {
      const from = unitOf(file);
      const edges = actual.get(from) ?? new Set<string>();
      for (const target of targets) if (unitOf(target) !== from) edges.add(unitOf(target));
      actual.set(from, edges);
    }
    const sorted = (graph: Map<string, Iterable<string>>) =>
      Object.fromEntries([...graph].map(([unit, targets]) => [unit, [...targets].sort()] as const).sort(([a], [b]) => a.localeCompare(b)));
    expect(sorted(actual)).toEqual(sorted(documentedGraph()));
  });

  it('has no cycle between files (so none between folders that the page would hide)', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      state.set(file, 'open');
      path.push(file);
      for (const target of imports.get(file) ?? []) {
        if (state.get(target) === 'open') cycles.push([...path.slice(path.indexOf(target)), target].map((f) => relative(srcRoot, f)).join(' -> '));
        else if (!state.has(target) && imports.has(target)) visit(target, path);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of imports.keys()) if (!state.has(file)) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
