/**
 * What `normalize` loads when it starts: oclif (with the manifest `npm run build` writes) imports only
 * the command that runs, and that command's static imports must stay clear of the cause catalogue,
 * whose YAML parse cost ~0.3 s of CPU at every start (a tenth of normalizing a 100,000-file layer).
 * The error path of every command needs the workflow-command formatting (cli/workflow-commands.ts),
 * not github-actions.ts with its report renderers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/golden.js';

const srcRoot = join(repoRoot, 'src');
const catalogue = join(srcRoot, 'causes', 'catalogue.ts');

/** The src files loaded with `entry`: its static imports and re-exports, transitively (import() excluded). */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [join(srcRoot, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) {
      const target = resolve(dirname(file), match[1]!).replace(/\.js$/, '.ts');
      if (existsSync(target)) queue.push(target);
    }
  }
  return seen;
}

describe('startup imports', () => {
  it('normalize and inspect do not load the cause catalogue; verify does (so the walk finds it)', () => {
    expect(staticClosure('commands/verify.ts').has(catalogue)).toBe(true);
    for (const command of ['commands/normalize.ts', 'commands/inspect.ts', 'cli/base-command.ts']) {
      const reached = [...staticClosure(command)].filter((file) => file === catalogue);
      expect(reached.map((file) => relative(srcRoot, file)), command).toEqual([]);
    }
  });

  it('the build writes the oclif manifest, so a command loads only its own modules', () => {
    const scripts = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts as Record<string, string>;
    expect(scripts.build).toMatch(/oclif manifest/);
  });
});
