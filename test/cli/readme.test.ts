/**
 * The README's promises: it opens with the two commands for a fresh machine, and the verify output it
 * shows is what the first command prints today (every line shown, in order; "..." marks a cut).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/golden.js';

const readme = () => readFile(join(repoRoot, 'README.md'), 'utf8');

describe('README.md', () => {
  it('opens with the set-up-and-run command and the test command', async () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(await readme())?.[1] ?? '';
    const commands = firstBlock.split('\n').filter(Boolean).map((line) => line.replace(/\s+#.*$/, '').trim());
    expect(commands).toEqual(['npm ci && ./bin/run.js verify examples/build-a.tar examples/build-b.tar', 'npm test']);
  });

  it('shows what verify prints on the bundled pair today', async () => {
    const text = await readme();
    const shown = /```\n(oci-repro verify:[\s\S]*?)```/.exec(text)?.[1];
    expect(shown, 'the README shows a verify sample').toBeDefined();
    const { code, stdout } = await runCli(['verify', 'examples/build-a.tar', 'examples/build-b.tar'], { cwd: repoRoot });
    expect(code).toBe(0);
    const actual = stdout.split('\n');
    let at = 0;
    for (const line of shown!.split('\n').filter((l) => l.trim() !== '' && l.trim() !== '...')) {
      const found = actual.indexOf(line, at);
      expect(found, `README line not in the output (in order): ${JSON.stringify(line)}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  });
});
