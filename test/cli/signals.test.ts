// Real runs of bin/run.js killed part-way: SIGINT, SIGTERM and SIGHUP leave no staging directory
// beside the destination, no destination and nothing in TMPDIR, and exit 128 + the signal; SIGKILL
// cannot be caught, but leaves no spool file either (it is unlinked as soon as it is open).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { syntheticTar, type SyntheticFile } from '../helpers/tar.js';
import { binPath, cliEnv } from '../helpers/cli.js';

const T = { timeout: 120_000 };

// 24 files of 8 MiB (~200 MB): pseudo-random bytes in 64 KiB periods, more than deflate's 32 KiB
// window, so recompressing them is slow enough to be caught mid-run. Uncompressed layers keep the
// fixture cheap to build; out-of-order entries make every run spool.
const files: SyntheticFile[] = Array.from({ length: 24 }, (_, i) => ({ name: `data/${String(i).padStart(2, '0')}.bin`, size: 8 << 20, seed: i + 1 }));

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An OCI layout whose one uncompressed layer holds `order`. */
async function writeLayout(name: string, order: SyntheticFile[]): Promise<string> {
  const tar = await collect(syntheticTar(order));
  return dir.writeDirectory(name, singleImageLayout(buildImage({ layers: [{ tar, compression: 'none' }] }, (t) => t)));
}

let dir: TempDir;
let imageA: string;
let imageB: string;
let counter = 0;

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-signals-');
  imageA = await writeLayout('a', [...files].reverse());
  // Another order: another diff_id, so verify spools both images rather than reading one layer once.
  imageB = await writeLayout('b', [...files.slice(12), ...files.slice(0, 12)].reverse());
}, 120_000);
afterAll(async () => dir?.remove());

async function freshDir(name: string): Promise<string> {
  const path = dir.join(`${counter++}-${name}`);
  await mkdir(path);
  return path;
}

interface Started {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function start(args: string[], tmp: string): Started {
  const child = spawn(process.execPath, [binPath, ...args], { env: cliEnv({ TMPDIR: tmp }), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

/** What the process holds open under `prefix`: a spool shows as `…/oci-repro-spool-… (deleted)`. */
async function openFilesUnder(pid: number, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return found;
  }
  for (const fd of fds) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target.startsWith(prefix)) found.push(target);
  }
  return found;
}

/** Polls `probe` until it returns true; fails if the run ends or `ms` pass first. */
async function waitUntil(what: string, run: Started, probe: () => Promise<boolean>, ms = 60_000): Promise<void> {
  let ended = false;
  void run.exited.then(() => (ended = true));
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (ended) throw new Error(`the run ended before ${what}: ${(await run.exited).stderr}`);
    if (Date.now() > deadline) throw new Error(`no ${what} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const spoolsOf = (run: Started, tmp: string) => openFilesUnder(run.child.pid!, join(tmp, 'oci-repro-spool-'));

/** Starts normalize --output oci:DEST and waits until both its staging directory and a spool exist. */
async function normalizeMidRun(): Promise<{ run: Started; tmp: string; out: string; dest: string }> {
  const [tmp, out] = [await freshDir('tmp'), await freshDir('out')];
  const dest = join(out, 'dest');
  const run = start(['normalize', `oci:${imageA}`, '--output', `oci:${dest}`], tmp);
  // The spool is unlinked right after it is opened, so only its descriptor keeps it. A look between
  // the open and the unlink sees it named (it failed CI once on Node 22), so wait for the state where
  // the spools are open, all unlinked and TMPDIR is empty: a spool never unlinked times out here.
  await waitUntil('staging directory and an unlinked spool, TMPDIR empty', run, async () => {
    const staged = (await readdir(out)).some((name) => name.startsWith('.oci-repro-'));
    const spools = await spoolsOf(run, tmp);
    return staged && spools.length > 0 && spools.every((target) => target.endsWith(' (deleted)')) && (await readdir(tmp)).length === 0;
  });
  return { run, tmp, out, dest };
}

describe('a signal during normalize --output', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGHUP', 129],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal}: exits ${code}, no destination, no staging beside it, TMPDIR empty`, T, async () => {
      const { run, tmp, out } = await normalizeMidRun();
      run.child.kill(signal);
      const result = await run.exited;
      expect({ code: result.code, signal: result.signal }).toEqual({ code, signal: null });
      expect(await readdir(out)).toEqual([]);
      expect(await readdir(tmp)).toEqual([]);
      if (signal !== 'SIGHUP') expect(result.stderr).toContain(`oci-repro: interrupted by ${signal}`);
    });
  }

  it('SIGINT while the archive is written (DEST.tmp-* beside it): exits 130, nothing left beside DEST', T, async () => {
    const [tmp, out] = [await freshDir('tmp'), await freshDir('out')];
    const run = start(['normalize', `oci:${imageA}`, '--output', `oci-archive:${join(out, 'dest.tar')}`], tmp);
    await waitUntil('the archive staging file', run, async () => (await readdir(out)).some((name) => name.startsWith('dest.tar.tmp-')));
    run.child.kill('SIGINT');
    const result = await run.exited;
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 130, signal: null });
    expect(await readdir(out)).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('SIGKILL: no spool file is left in TMPDIR (the staging directory may remain: nothing can catch SIGKILL)', T, async () => {
    const { run, tmp, out } = await normalizeMidRun();
    run.child.kill('SIGKILL');
    const result = await run.exited;
    expect(result.signal).toBe('SIGKILL');
    expect(await readdir(tmp)).toEqual([]);
    expect((await readdir(out)).filter((name) => !name.startsWith('.oci-repro-') && !name.startsWith('dest.tmp-'))).toEqual([]);
  });
});

describe('a signal during verify', () => {
  it('SIGTERM with both images spooling: exits 143, TMPDIR empty', T, async () => {
    const tmp = await freshDir('tmp');
    const run = start(['verify', `oci:${imageA}`, `oci:${imageB}`], tmp);
    await waitUntil('two spools', run, async () => (await spoolsOf(run, tmp)).length >= 2);
    run.child.kill('SIGTERM');
    const result = await run.exited;
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 143, signal: null });
    expect(await readdir(tmp)).toEqual([]);
  });

  it('the same verify left alone finishes (equal after normalization) and leaves TMPDIR empty', T, async () => {
    const tmp = await freshDir('tmp');
    const result = await start(['verify', `oci:${imageA}`, `oci:${imageB}`], tmp).exited;
    expect(result.code, result.stderr).toBe(0);
    expect(await readdir(tmp)).toEqual([]);
  });
});
