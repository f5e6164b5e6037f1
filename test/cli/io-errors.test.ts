// The environment's errors through the real binary: a full disk (a 2 MB tmpfs) for the spool and for
// the destination, a read-only file system (a read-only tmpfs: root ignores chmod), and a directory
// the user may not write (chmod 555, run as nobody). Each exits 74 with one line naming the path and
// what needed it, and leaves nothing behind. A source the user may not read stays exit 4.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir } from 'node:fs/promises';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toOciReproError } from '../../src/cli/base-command.js';
import { ExitCode, OciReproError, withContext, writeContext } from '../../src/errors.js';
import { buildImage, legacyDockerArchiveFiles, singleImageLayout, TempDir } from '../helpers/images.js';
import { inCi } from '../helpers/real-tools.js';
import { syntheticTar, type SyntheticFile } from '../helpers/tar.js';
import { runCli, type CliRun } from '../helpers/cli.js';

const T = { timeout: 60_000 };

function mount(dir: string, options: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
}

/** tmpfs mounts need root (CAP_SYS_ADMIN); not every sandbox allows them. CI=true fails instead of skipping. */
function canMount(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'oci-repro-mount-probe-'));
  try {
    mount(probe, 'size=1m');
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return true;
  } catch (error) {
    if (inCi) return true; // the suite then fails at its own mount, naming the reason
    process.stderr.write(`[io-errors] skipping: cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]})\n`);
    return false;
  } finally {
    rmdirSync(probe);
  }
}

/** The binary with its temp files in `tmp`, optionally as another user. */
function runWithTmp(args: string[], options: { tmp: string; uid?: number; home?: string; env?: Record<string, string> }): Promise<CliRun> {
  // Another user cannot read root's HOME, where oclif looks for plugins.
  return runCli(args, { env: { TMPDIR: options.tmp, ...(options.home ? { HOME: options.home } : {}), ...options.env }, uid: options.uid });
}

const files = (count: number, size: number): SyntheticFile[] =>
  Array.from({ length: count }, (_, i) => ({ name: `data/${String(i).padStart(2, '0')}.bin`, size, seed: i + 1 }));

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const mounted: string[] = [];
let dir: TempDir;
/** Unordered, 12 MiB of incompressible data: spools past the 8 MiB kept in memory. */
let big: string;
/** About 1.2 MB: its recompressed layer fits a 2 MB disk once, a copy of it in an archive does not. */
let small: string;
let smallArchive: string;
let tmp: string;
let counter = 0;

async function freshDir(name: string, options?: string): Promise<string> {
  const path = dir.join(`${counter++}-${name}`);
  await mkdir(path);
  if (options !== undefined) {
    mount(path, options);
    mounted.push(path);
  }
  return path;
}

/** An fs error as Node makes it. */
function errno(code: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed`), { code, ...(path ? { path } : {}) });
}

describe('mapping errno codes', () => {
  it('a write the environment refuses is IO (74), naming the path; other write errors keep their mapping', () => {
    for (const [code, words] of [
      ['ENOSPC', 'no space left on device'],
      ['EDQUOT', 'disk quota exceeded'],
      ['EROFS', 'read-only file system'],
      ['EACCES', 'permission denied'],
      ['EPERM', 'operation not permitted'],
      ['EIO', 'input/output error'],
    ]) {
      const error = writeContext('cannot write /srv/out', errno(code, '/srv/out/blobs/x'));
      expect([error.code, error.exitCode, error.message]).toEqual(['IO', ExitCode.io, `cannot write /srv/out: ${words} (/srv/out/blobs/x)`]);
    }
    expect(writeContext('cannot write /srv/out', errno('ENOENT', '/srv/out')).exitCode).toBe(ExitCode.unavailable);
    expect(writeContext('cannot write /srv/out', new Error('boom')).exitCode).toBe(ExitCode.internal);
  });

  it('reading: EACCES stays "unavailable" (4), a full or read-only disk is IO (74) wherever it shows', () => {
    expect(withContext('reading a.tar', errno('EACCES', 'a.tar')).exitCode).toBe(ExitCode.unavailable);
    expect(withContext('layer 1 of a.tar', errno('ENOSPC')).line).toBe(
      'layer 1 of a.tar: no space left on device (hint: free some space or write to a larger disk)',
    );
    expect(withContext('layer 1 of a.tar', errno('ENOSPC')).exitCode).toBe(ExitCode.io);
    // An IO error keeps its code under more context.
    expect(withContext('writing x', writeContext('cannot write /x', errno('EROFS'))).code).toBe('IO');
  });

  it('the CLI maps a raw errno no layer put in context to 74, not 70 "a bug", in both output modes', () => {
    const mapped = toOciReproError(errno('ENOSPC', '/srv/out/index.json'));
    expect(mapped).toBeInstanceOf(OciReproError);
    expect([mapped.code, mapped.exitCode, mapped.message]).toEqual(['IO', 74, '/srv/out/index.json: no space left on device']);
    // A bare EACCES may have been a read: not called a write here.
    expect(toOciReproError(errno('EACCES', '/srv/in')).code).not.toBe('IO');
    expect(toOciReproError(new Error('boom')).exitCode).toBe(ExitCode.internal);
  });
});

describe.skipIf(!canMount())('the environment refuses a write: exit 74, nothing left behind', () => {
  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-io-errors-');
    // Readable by the unprivileged user of the permission test.
    await chmod(dir.path, 0o755);
    const image = async (list: SyntheticFile[]) =>
      buildImage({ layers: [{ tar: await collect(syntheticTar([...list].reverse())), compression: 'none' }] }, (t) => t);
    big = await dir.writeDirectory('big', singleImageLayout(await image(files(12, 1 << 20))));
    const smallImage = await image(files(3, 400_000));
    small = await dir.writeDirectory('small', singleImageLayout(smallImage));
    smallArchive = await dir.writeArchive('small.tar', legacyDockerArchiveFiles(smallImage));
    tmp = await freshDir('tmp');
  }, 60_000);
  afterAll(async () => {
    for (const path of mounted) execFileSync('umount', [path], { stdio: 'pipe' });
    await dir?.remove();
  });

  describe('a full disk (ENOSPC)', () => {
    it('for the spool of verify: names the layer, the spool, the temp dir and how much it needed', T, async () => {
      const full = await freshDir('full-tmp', 'size=2m');
      // --verify-blobs: without it the same image twice is identical by its digests, nothing spooled.
      const run = await runWithTmp(['verify', `oci:${big}`, `oci:${big}`, '--verify-blobs'], { tmp: full });
      expect(run.code, run.stderr).toBe(74);
      expect(run.stderr).toMatch(
        new RegExp(`^oci-repro: error: layer 0 \\(sha256:[0-9a-f]{64}\\) of oci:${big}: the spool needs more than [0-9.]+ MB in ${full}: no space left on device \\(hint: set TMPDIR to a larger disk\\)\\n$`),
      );
      expect(await readdir(full)).toEqual([]);
    });

    it('the same verify with room for its spool passes', T, async () => {
      const roomy = await freshDir('roomy-tmp', 'size=64m');
      const run = await runWithTmp(['verify', `oci:${big}`, `oci:${big}`, '--verify-blobs'], { tmp: roomy });
      expect(run.code, run.stderr).toBe(0);
      expect(await readdir(roomy)).toEqual([]);
    });

    it('--json gives the same error as data', T, async () => {
      const full = await freshDir('full-tmp', 'size=2m');
      const run = await runWithTmp(['normalize', `oci:${big}`, '--json'], { tmp: full });
      expect(run.code, run.stderr).toBe(74);
      const { error } = JSON.parse(run.stdout) as { error: { code: string; exitCode: number; message: string; hint: string } };
      expect(error).toMatchObject({ code: 'IO', exitCode: 74, hint: 'set TMPDIR to a larger disk' });
      expect(error.message).toContain(`the spool needs more than`);
      expect(error.message).toContain(`in ${full}: no space left on device`);
      expect(await readdir(full)).toEqual([]);
    });

    it('for the layers of normalize --output oci:DIR: no staging directory or destination left', T, async () => {
      const full = await freshDir('full-out', 'size=2m');
      const run = await runWithTmp(['normalize', `oci:${big}`, '--output', `oci:${join(full, 'out')}`], { tmp });
      expect(run.code, run.stderr).toBe(74);
      expect(run.stderr).toMatch(new RegExp(`^oci-repro: error: .*${full}/\\.oci-repro-[^/]+/layer-0: no space left on device \\(hint: [^)]+\\)\\n$`));
      expect(await readdir(full)).toEqual([]);
      expect(await readdir(tmp)).toEqual([]);
    });

    it('for an oci-archive destination: names the destination', T, async () => {
      const full = await freshDir('full-out', 'size=2m');
      const dest = join(full, 'out.tar');
      const run = await runWithTmp(['normalize', `oci:${small}`, '--output', `oci-archive:${dest}`], { tmp });
      expect(run.code, run.stderr).toBe(74);
      expect(run.stderr).toMatch(new RegExp(`^oci-repro: error: writing oci-archive:${dest}: cannot write ${dest}: no space left on device`));
      expect(await readdir(full)).toEqual([]);
    });

    it('the same archive on a disk with room is written', T, async () => {
      const roomy = await freshDir('roomy-out', 'size=64m');
      const run = await runWithTmp(['normalize', `oci:${small}`, '--output', `oci-archive:${join(roomy, 'out.tar')}`], { tmp });
      expect(run.code, run.stderr).toBe(0);
      expect(await readdir(roomy)).toEqual(['out.tar']);
    });
  });

  describe('a read-only file system (EROFS)', () => {
    it('as the destination: refused before any layer is read', T, async () => {
      const readOnly = await freshDir('ro-out', 'size=1m,ro');
      const dest = join(readOnly, 'out');
      const run = await runWithTmp(['normalize', `oci:${small}`, '--output', `oci:${dest}`], { tmp });
      expect(run.code, run.stderr).toBe(74);
      expect(run.stderr).toBe(
        `oci-repro: error: writing oci:${dest}: cannot write ${dest}: read-only file system (hint: the file system is mounted read-only; choose a writable destination)\n`,
      );
    });

    it('as TMPDIR, for the spool', T, async () => {
      const readOnly = await freshDir('ro-tmp', 'size=1m,ro');
      const run = await runWithTmp(['verify', `oci:${big}`, `oci:${big}`, '--verify-blobs'], { tmp: readOnly });
      expect(run.code, run.stderr).toBe(74);
      expect(run.stderr).toContain(`cannot create the spool in ${readOnly}: read-only file system`);
    });
  });

  describe('permission denied (EACCES), as an unprivileged user', () => {
    const nobody = 65534;
    it('writing is an I/O error of the destination: exit 74', T, async () => {
      const locked = await freshDir('locked');
      await chmod(locked, 0o555);
      const [userTmp, home] = [await freshDir('user-tmp'), await freshDir('home')];
      await Promise.all([chmod(userTmp, 0o777), chmod(home, 0o777)]);
      const dest = join(locked, 'out.tar');
      const run = await runWithTmp(['normalize', `oci:${small}`, '--output', `oci-archive:${dest}`], { tmp: userTmp, uid: nobody, home });
      expect(run.code, run.stderr).toBe(74);
      expect(run.stderr).toBe(
        `oci-repro: error: writing oci-archive:${dest}: cannot write ${dest}: permission denied (hint: choose a destination this user may write to)\n`,
      );
      expect(await readdir(locked)).toEqual([]);
      expect(await readdir(userTmp)).toEqual([]);
    });

    it('reading stays "source unavailable": exit 4', T, async () => {
      const [userTmp, home] = [await freshDir('user-tmp'), await freshDir('home')];
      await Promise.all([chmod(userTmp, 0o777), chmod(home, 0o777), chmod(smallArchive, 0o600)]);
      const run = await runWithTmp(['normalize', `docker-archive:${smallArchive}`], { tmp: userTmp, uid: nobody, home });
      expect(run.code, run.stderr).toBe(4);
      expect(run.stderr).toContain('permission denied');
    });
  });
});
