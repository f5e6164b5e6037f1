/**
 * The README's rebuild sample is what the command prints today: its command is run (with a store of
 * its own added) on the bundled example with the real buildah, and every line shown must appear in the
 * output, in order ("..." marks a cut; times and the checkout's path are masked).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/golden.js';
import { cleanupTempDirs, makeTempDir, skipWithoutTools } from '../helpers/real-tools.js';

afterAll(cleanupTempDirs);

const mask = (line: string) => line.replace(/\d+\.\d s\b/g, 'N s');

describe.skipIf(skipWithoutTools('buildah'))('README.md rebuild sample', () => {
  it('shows what rebuild prints on examples/hello today', async () => {
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    const block = /```\n\$ (oci-repro rebuild [^\n]+)\n([\s\S]*?)```/.exec(readme);
    expect(block, 'the README shows a rebuild sample').not.toBeNull();
    const args = block![1]!.split(/\s+/).slice(1);
    const dir = await makeTempDir('oci-repro-test-readme-rebuild-');
    const store = [`--builder-arg=--root=${join(dir, 'root')}`, `--builder-arg=--runroot=${join(dir, 'runroot')}`];
    const run = await runCli([...args, ...store], { cwd: repoRoot, timeout: 170_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const actual = run.stdout.replaceAll(repoRoot, '/…').split('\n').map(mask);
    let at = 0;
    for (const line of block![2]!.split('\n').filter((l) => l.trim() !== '' && l.trim() !== '...')) {
      const found = actual.indexOf(mask(line), at);
      // The whole output in the message: a real build's output is what tells why a line went missing.
      expect(found, `README line not in the output (in order): ${JSON.stringify(line)}\n--- output ---\n${actual.join('\n')}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  }, 180_000);
});
