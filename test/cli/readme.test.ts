/**
 * The README's promises: it opens with the two commands for a fresh machine, and the verify output it
 * shows is what the first command prints today (every line shown, in order; "..." marks a cut).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/golden.js';

const readme = () => readFile(join(repoRoot, 'README.md'), 'utf8');

function run(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(repoRoot, 'bin', 'run.js'), ...args], { cwd: repoRoot, env: { ...process.env, FORCE_COLOR: '0' } }, (error, stdout) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout });
    });
  });
}

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
    const { code, stdout } = await run(['verify', 'examples/build-a.tar', 'examples/build-b.tar']);
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
