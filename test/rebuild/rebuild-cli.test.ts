/**
 * `oci-repro rebuild` end to end with the real buildah (vfs storage, chroot isolation, a store of its
 * own per test, passed with --builder-arg). Each run gets its own TMPDIR, which must be empty when the
 * run ends: neither our temp directories nor buildah's may stay behind.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { binPath, cliEnv, runCliInTerminal } from '../helpers/cli.js';
import { parse, setup } from './setup.js';
import { cleanupTempDirs, findTool, runTool, skipWithoutTools, skopeoInspectConfig } from '../helpers/real-tools.js';
import { validateAgainst, validateReport } from '../helpers/report-schema.js';

afterAll(cleanupTempDirs);

describe.skipIf(skipWithoutTools('buildah', 'busybox', 'script'))('oci-repro rebuild with buildah', () => {
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
    expect(run.stdout).toMatch(/layers\/0\/hello.txt#mode: when file permissions in the context change \[umask-mode\]/);
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
    expect(report.variations[4]!.reason).toMatch(/RUN steps do not see it/);
    expect(validateAgainst('rebuild-report.schema.json', report)).toEqual([]);
    expect(report.differences).toEqual([]);
    expect((await readdir(keep)).sort()).toEqual(
      ['baseline', 'clock', 'mtimes', 'order', 'umask'].flatMap((n) => [`${n}.log`, `${n}.tar`]).sort(),
    );
    expect(run.leftInTmp).toEqual([]);
  }, 90_000);


  it.skipIf(availableParallelism() < 2)('a RUN step that writes nproc: cpus names the file, the clock does not (dates pinned)', async () => {
    const { rebuild } = await setup(
      'FROM scratch\nCOPY --chmod=755 busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox nproc > /nproc"]\n',
      { busybox: { data: await readFile(findTool('busybox')!), mode: 0o755 } },
    );
    const run = await rebuild(['--builder-arg=--timestamp=0', '--vary', 'clock,cpus', '--format', 'json']);
    expect(run.code).toBe(1);
    const report = parse(run);
    expect(report.variations.map((v) => [v.name, v.passed])).toEqual([['clock', true], ['cpus', false]]);
    const nproc = report.differences.find((d) => d.path === 'layers/0/nproc#content');
    expect(nproc?.variations).toEqual(['cpus']);
    expect(report.variations[1]!.when).toBe('when the number of CPUs changes');
    expect(run.leftInTmp).toEqual([]);
  }, 90_000);

  it('why env is skipped still holds: buildah bud --env sets the Env of the image, not of RUN steps', async () => {
    const { context, dir } = await setup('FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox env > /env"]\n', {
      busybox: { data: await readFile(findTool('busybox')!), mode: 0o755 },
    });
    const archive = join(dir, 'env.tar');
    const store = ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs'];
    await runTool('buildah', [...store, 'bud', '--isolation', 'chroot', '--no-cache', '--env', 'TZ=Pacific/Auckland', '-t', `oci-archive:${archive}`, context]);
    const config = await skopeoInspectConfig(`oci-archive:${archive}`);
    expect(config.json.config?.Env).toContain('TZ=Pacific/Auckland');
    const out = join(dir, 'layer');
    await runTool('mkdir', [out]);
    await runTool('tar', ['-xf', archive, '-C', out]);
    // The one layer holding /env: what the RUN step saw.
    const env = (await runTool('sh', ['-c', `for f in ${out}/blobs/sha256/*; do tar -xOf "$f" env 2>/dev/null; done; true`])).stdout.toString('utf8');
    expect(env).toMatch(/^PATH=/m);
    expect(env).not.toContain('TZ=');
  }, 60_000);

  it('--platform linux/arm64 reaches the builder: an arm64 image from a FROM scratch build, verified as such', async () => {
    const { rebuild, dir } = await setup('FROM scratch\nCOPY --chmod=644 hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
    const keep = join(dir, 'kept');
    const run = await rebuild(['--platform', 'linux/arm64', '--builder-arg=--timestamp=0', '--vary', 'clock', '--keep', keep, '--format', 'json']);
    expect(run.code).toBe(0);
    const report = parse(run);
    expect(report.platform).toBe('linux/arm64');
    expect(report.variations[0]!.report!.a.platform).toBe('linux/arm64');
    const config = await skopeoInspectConfig(`oci-archive:${join(keep, 'baseline.tar')}`);
    expect([config.json.os, config.json.architecture]).toEqual(['linux', 'arm64']);
    expect(await readFile(join(keep, 'baseline.log'), 'utf8')).toMatch(/--platform linux\/arm64/);
  }, 60_000);

  it('on a terminal: one status line per build with the variation, the time and the builder step; the report alone on stdout', async () => {
    const { context, store, tmp, dir } = await setup('FROM scratch\nCOPY hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
    const out = join(dir, 'report.txt');
    const run = await runCliInTerminal(['rebuild', context, ...store, '--vary', 'clock'], `>${out}`, { env: { TMPDIR: tmp, COLUMNS: '200' }, timeout: 110_000 });
    expect(run.code).toBe(0);
    // What the terminal kept: each redraw starts with \r and a clear-line; the last one of a build stands.
    const standing = run.stdout.split(/\r?\n/).map((line) => line.split('\r\x1b[2K').at(-1)!.trim()).filter(Boolean);
    expect(standing).toHaveLength(2);
    expect(standing[0]).toMatch(/^baseline\s+\d+\.\d s {2}done$/);
    expect(standing[1]).toMatch(/^clock\s+\d+\.\d s {2}done$/);
    expect(run.stdout).toMatch(/baseline\s+\d+\.\d s {2}STEP 2\/2: COPY hello.txt \/hello.txt/);
    expect(run.stdout).toMatch(/clock\s+\d+\.\d s {2}built; comparing/);
    const report = await readFile(out, 'utf8');
    expect(report).toMatch(/^rebuild of .* with buildah: /);
    expect(report).not.toContain('\x1b');
  }, 120_000);
});

/** Processes whose command line mentions `text` (read from /proc; nothing is killed). */
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) pids.push(Number(entry));
  }
  return pids;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipWithoutTools('buildah', 'busybox'))('oci-repro rebuild interrupted', () => {
  it('SIGINT during a build: exit 130, the build stopped, nothing left in TMPDIR', async () => {
    const { context, tmp, store } = await setup(
      'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sleep", "60"]\n',
      { busybox: { data: await readFile(findTool('busybox')!), mode: 0o755 } },
    );
    const child = spawn(process.execPath, [binPath, 'rebuild', context, ...store, '--vary', 'clock'], {
      env: cliEnv({ TMPDIR: tmp }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Wait until the RUN step is running: its line is in the baseline's log.
    const deadline = Date.now() + 60_000;
    let running = false;
    while (!running && Date.now() < deadline) {
      await sleep(250);
      const work = (await readdir(tmp)).find((n) => n.startsWith('oci-repro-rebuild-'));
      const log = work ? await readFile(join(tmp, work, 'baseline.log'), 'utf8').catch(() => '') : '';
      running = log.includes('STEP 3/3');
    }
    expect(running, 'the baseline build reached its RUN step').toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/interrupted by SIGINT/);
    // buildah got SIGTERM; give it a moment to end and clean its own temp files.
    for (let i = 0; i < 40 && ((await processesMentioning(context)).length > 0 || (await readdir(tmp)).length > 0); i++) await sleep(250);
    expect(await processesMentioning(context)).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  }, 120_000);
});
