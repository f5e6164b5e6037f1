/**
 * `oci-repro rebuild` when something is wrong: a build that fails, a builder or context that is
 * missing, bad flags; and the podman adapter. Kept apart from rebuild-cli.test.ts so the two files'
 * builds run on both workers.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { cleanupTempDirs, makeTempDir, skipWithoutTools } from '../helpers/real-tools.js';
import { parse, setup } from './setup.js';

afterAll(cleanupTempDirs);

describe.skipIf(skipWithoutTools('buildah'))('oci-repro rebuild: a build that fails', () => {
  it('a failing RUN: exit 3, the end of the log, and where the whole log is', async () => {
    const { rebuild, tmp } = await setup('FROM scratch\nRUN ["/no-such-program"]\n');
    const run = await rebuild(['--vary', 'clock']);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^oci-repro: error: buildah build failed \(exit \d+\); last lines of its log:/);
    expect(run.stderr).toContain('no-such-program');
    const log = /whole log: (\S+)/.exec(run.stderr)?.[1];
    expect(log).toBeDefined();
    expect(log!.startsWith(join(tmp, 'oci-repro-build-'))).toBe(true);
    expect(await readFile(log!, 'utf8')).toContain('no-such-program');
    // The saved log is the only thing left, on purpose: the error points at it.
    expect(run.leftInTmp).toEqual([log!.slice(tmp.length + 1)]);
    await rm(log!);
  }, 60_000);
});

describe.skipIf(skipWithoutTools('podman'))('oci-repro rebuild with podman', () => {
  it('--builder podman: umask names umask-mode, as with buildah', async () => {
    const { rebuild } = await setup('FROM scratch\nCOPY hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
    const run = await rebuild(['--builder', 'podman', '--vary', 'umask', '--format', 'json']);
    expect(run.code).toBe(1);
    const report = parse(run);
    expect(report.builder).toBe('podman');
    expect(report.variations[0]!.causes!.find((c) => c.id === 'umask-mode')?.remaining).toBe(1);
    expect(report.differences.map((d) => d.path)).toContain('layers/0/hello.txt#mode');
    expect(run.leftInTmp).toEqual([]);
  }, 60_000);
});

describe('oci-repro rebuild: what is missing', () => {
  // Five short runs, concurrently: each pays the CLI's start-up, none builds anything.
  it('no builder on PATH, no context: exit 4; an unknown variation or format: exit 2', async () => {
    const { rebuild, dir } = await setup('FROM scratch\n');
    const empty = join(dir, 'empty-path');
    await mkdir(empty);
    const missing = join(await makeTempDir('oci-repro-test-rebuild-'), 'nope');
    const [noBuilder, noContext, noContextJson, badVary, yaml] = await Promise.all([
      rebuild([], { PATH: empty }),
      runCli(['rebuild', missing]),
      runCli(['rebuild', missing, '--format', 'json']),
      rebuild(['--vary', 'clock,phase-of-moon']),
      rebuild(['--format', 'yaml']),
    ]);
    expect(noBuilder.code).toBe(4);
    expect(noBuilder.stderr).toMatch(/builder buildah: not found on PATH \(hint: install buildah \(Debian\/Ubuntu: apt-get install buildah/);
    expect(noBuilder.leftInTmp).toEqual([]);
    expect(noContext.code).toBe(4);
    expect(noContext.stderr).toBe(`oci-repro: error: build context ${missing}: not found\n`);
    expect(noContextJson.code).toBe(4);
    expect(JSON.parse(noContextJson.stdout)).toMatchObject({ error: { code: 'NOT_FOUND', exitCode: 4 } });
    expect(badVary.code).toBe(2);
    expect(badVary.stderr).toMatch(/unknown variation "phase-of-moon"/);
    expect(yaml.code).toBe(2);
    expect(yaml.stderr).toMatch(/text, json, markdown, junit, html/);
  }, 60_000);
});
