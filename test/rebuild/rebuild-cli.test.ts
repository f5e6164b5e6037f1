/**
 * `oci-repro rebuild` end to end with the real buildah (vfs storage, chroot isolation, a store of its
 * own per test, passed with --builder-arg). Each run gets its own TMPDIR, which must be empty when the
 * run ends: neither our temp directories nor buildah's may stay behind.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../helpers/cli.js';
import { cleanupTempDirs, findTool, makeTempDir, skipWithoutTools } from '../helpers/real-tools.js';
import { validateReport } from '../helpers/report-schema.js';
import { validateAgainst } from '../helpers/report-schema.js';
import type { RebuildReport } from '../../src/app/rebuild.js';

afterAll(cleanupTempDirs);

interface Run extends CliRun {
  /** What the run left in its TMPDIR. */
  leftInTmp: string[];
  tmp: string;
}

/** A context directory with these files (and a Dockerfile), and a fresh store and TMPDIR beside it. */
async function setup(dockerfile: string, files: Record<string, string | Buffer | { data: Buffer; mode: number }> = {}) {
  const dir = await makeTempDir('oci-repro-test-rebuild-');
  const context = join(dir, 'ctx');
  await mkdir(context);
  await writeFile(join(context, 'Dockerfile'), dockerfile);
  for (const [name, file] of Object.entries(files)) {
    const spec = typeof file === 'string' || Buffer.isBuffer(file) ? { data: file, mode: 0o644 } : file;
    await writeFile(join(context, name), spec.data, { mode: spec.mode });
  }
  const tmp = join(dir, 'tmp');
  await mkdir(tmp);
  const store = [
    `--builder-arg=--root=${join(dir, 'root')}`,
    `--builder-arg=--runroot=${join(dir, 'runroot')}`,
    '--builder-arg=--storage-driver=vfs',
    '--builder-arg=--isolation=chroot',
  ];
  const rebuild = async (args: string[], env: Record<string, string> = {}): Promise<Run> => {
    const run = await runCli(['rebuild', context, ...store, ...args], { env: { TMPDIR: tmp, ...env }, timeout: 110_000 });
    return { ...run, tmp, leftInTmp: await readdir(tmp) };
  };
  return { dir, context, tmp, rebuild };
}

function parse(run: CliRun): RebuildReport {
  return JSON.parse(run.stdout) as RebuildReport;
}

describe.skipIf(skipWithoutTools('buildah', 'busybox'))('oci-repro rebuild with buildah', () => {
  it('a RUN step that writes the date: clock names the file, every variation repeats it, nothing else', async () => {
    const { rebuild } = await setup(
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox date +%s%N > /stamp"]\n',
      { busybox: { data: await readFile(findTool('busybox')!), mode: 0o755 } },
    );
    const run = await rebuild(['--vary', 'clock,mtimes', '--format', 'json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const report = parse(run);
    expect(report.passed).toBe(false);
    const clock = report.variations.find((v) => v.name === 'clock')!;
    expect(clock.status).toBe('compared');
    expect(clock.remaining).toContain('layers/0/stamp#content');
    // mtimes differs only where the clock does: busybox's moved mtime is neutralized.
    const mtimes = report.variations.find((v) => v.name === 'mtimes')!;
    expect(mtimes.beyondClock).toEqual([]);
    expect(mtimes.causes!.find((c) => c.id === 'file-mtime')?.neutralized).toBeGreaterThan(0);
    const stamp = report.differences.find((d) => d.path === 'layers/0/stamp#content')!;
    expect(stamp.variations).toEqual(['clock', 'mtimes']);
    expect(stamp.everyBuild).toBe(true);
    expect(validateAgainst('rebuild-report.schema.json', report)).toEqual([]);
    for (const v of report.variations) expect(validateReport(v.report)).toEqual([]);
    expect(run.leftInTmp).toEqual([]);
  }, 120_000);

  it('COPY without --chmod: umask changes the modes and names umask-mode with its fix', async () => {
    const { rebuild } = await setup('FROM scratch\nCOPY hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
    const run = await rebuild(['--vary', 'umask']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/not reproducible: umask breaks it/);
    expect(run.stdout).toContain('layers/0/hello.txt#mode');
    expect(run.stdout).toMatch(/umask-mode \(1\): group or other write permission differs/);
    expect(run.stdout).toMatch(/fix: .*COPY --chmod/);
    expect(run.stdout).toMatch(/layers\/0\/hello.txt#mode: only under umask \[umask-mode\]/);
    expect(run.leftInTmp).toEqual([]);
  }, 60_000);

  it('the same context with COPY --chmod and pinned dates is reproducible under every variation (exit 0); env is listed as skipped', async () => {
    const { rebuild, dir } = await setup('FROM scratch\nCOPY --chmod=644 hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
    const keep = join(dir, 'kept');
    const run = await rebuild(['--builder-arg=--timestamp=0', '--vary', 'clock,mtimes,umask,order,env', '--keep', keep, '--format', 'json']);
    expect(run.code).toBe(0);
    const report = parse(run);
    expect(report.passed).toBe(true);
    expect(report.variations.map((v) => [v.name, v.status])).toEqual([
      ['clock', 'compared'],
      ['mtimes', 'compared'],
      ['umask', 'compared'],
      ['order', 'compared'],
      ['env', 'skipped'],
    ]);
    // --timestamp pins every date buildah writes: the builds are byte for byte the same.
    for (const v of report.variations.filter((x) => x.status === 'compared')) expect(v.verdict).toBe('identical');
    expect(report.variations[4]!.reason).toMatch(/no environment to RUN steps/);
    expect(report.differences).toEqual([]);
    expect((await readdir(keep)).sort()).toEqual(
      ['baseline', 'clock', 'mtimes', 'order', 'umask'].flatMap((n) => [`${n}.log`, `${n}.tar`]).sort(),
    );
    expect(run.leftInTmp).toEqual([]);
  }, 90_000);

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
  it('no builder on PATH: exit 4 with the install hint', async () => {
    const { rebuild, dir } = await setup('FROM scratch\n');
    const empty = join(dir, 'empty-path');
    await mkdir(empty);
    const run = await rebuild([], { PATH: empty });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/builder buildah: not found on PATH \(hint: install buildah \(Debian\/Ubuntu: apt-get install buildah/);
    expect(run.leftInTmp).toEqual([]);
  });

  it('no context: exit 4 naming it; in JSON the error object', async () => {
    const dir = await makeTempDir('oci-repro-test-rebuild-');
    const missing = join(dir, 'nope');
    const text = await runCli(['rebuild', missing]);
    expect(text.code).toBe(4);
    expect(text.stderr).toBe(`oci-repro: error: build context ${missing}: not found\n`);
    const json = await runCli(['rebuild', missing, '--format', 'json']);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'NOT_FOUND', exitCode: 4 } });
  });

  it('an unknown variation or format is a usage error (exit 2)', async () => {
    const { rebuild } = await setup('FROM scratch\n');
    expect((await rebuild(['--vary', 'clock,hostname'])).code).toBe(2);
    const markdown = await rebuild(['--format', 'markdown']);
    expect(markdown.code).toBe(2);
    expect(markdown.stderr).toMatch(/text, json/);
  });
});
