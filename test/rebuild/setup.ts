/**
 * A context for `oci-repro rebuild` runs: the files, a buildah/podman store of its own (passed with
 * --builder-arg) and a TMPDIR of its own, which the run must leave empty.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, type CliRun } from '../helpers/cli.js';
import type { RunningRegistry } from '../helpers/registry.js';
import { makeTempDir, runTool, skopeoCopy } from '../helpers/real-tools.js';
import type { RebuildReport } from '../../src/app/rebuild.js';

export interface Run extends CliRun {
  /** What the run left in its TMPDIR. */
  leftInTmp: string[];
  tmp: string;
}

/** A context directory with these files (and a Dockerfile), and a fresh store and TMPDIR beside it. */
export async function setup(dockerfile: string, files: Record<string, string | Buffer | { data: Buffer; mode: number }> = {}) {
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
  return { dir, context, tmp, store, rebuild };
}

export function parse(run: CliRun): RebuildReport {
  return JSON.parse(run.stdout) as RebuildReport;
}

/**
 * The release for `--against`: the hello context built once by hand with buildah, as a release job
 * would, and pushed to `registry`; returns its reference.
 */
export async function pushRelease(registry: RunningRegistry): Promise<string> {
  const { context, dir } = await setup('FROM scratch\nCOPY hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
  const archive = join(dir, 'release.tar');
  const store = ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs'];
  await runTool('buildah', [...store, 'bud', '--isolation', 'chroot', '--no-cache', '-t', `oci-archive:${archive}`, context]);
  const release = `docker://${registry.host}/hello:1.0`;
  await skopeoCopy(`oci-archive:${archive}`, release, registry.skopeoArgs('dest'));
  return release;
}
