// The reporter behind CI's one retry: a test green only on its retry is listed, with its first failure;
// a test that fails both attempts still fails the run.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixtureDir = fileURLToPath(new URL('../fixtures/flaky-reporter/', import.meta.url));
const vitestBin = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

function runFixture(env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vitestBin, 'run', '--config', 'vitest.config.ts'], {
      cwd: fixtureDir,
      env: { ...process.env, CI: '', NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

describe('the flaky reporter', () => {
  it('lists the test that passed only on its retry, with its first failure, and the run stays green', { timeout: 60_000 }, async () => {
    const { code, stdout } = await runFixture();
    expect(code, stdout).toBe(0);
    const listed = stdout.slice(stdout.indexOf('FLAKY:'));
    expect(listed).toMatch(/^FLAKY: 1 test\(s\) failed, then passed on their retry:/);
    expect(listed).toContain('retried.fixture.ts > fails on its first attempt only');
    expect(listed).toContain('first attempt: the first attempt: expected 1 to be greater than 1');
    expect(listed).not.toContain('passes on its first attempt');
  });

  it('a test that fails its retry too fails the run', { timeout: 60_000 }, async () => {
    const { code, stdout } = await runFixture({ FIXTURE_BROKEN: '1' });
    expect(code, stdout).toBe(1);
    expect(stdout).toMatch(/fails on every attempt/);
  });
});
