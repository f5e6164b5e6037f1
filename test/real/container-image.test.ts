/**
 * The project's container image (Containerfile) built with buildah and run with the bundled example.
 * There is no Docker Hub here, so the two bases are made from this machine: the runtime base holds the
 * host's node binary and the libraries ldd names (at /usr/local/bin/node, as in node:22-slim); the build
 * base adds /bin/sh, an `npm` that does nothing, and the project already built in /src (dist/, bin/,
 * schema/, the production packages of package-lock.json). So the build stage's RUN steps run but change
 * nothing, and the runtime stage, the image users get, is built exactly as the Containerfile says.
 * `buildah run` does not work here (REAL-TOOLS.md): the image is exported to an OCI layout, unpacked
 * with umoci, and its entrypoint (read from the image config) run under chroot as its user (1000).
 */
import { spawn } from 'node:child_process';
import { chmod, copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/golden.js';
import { cleanupTempDirs, makeTempDir, runTool, skipWithoutTools, umociUnpack, type ManifestJson } from '../helpers/real-tools.js';

const tools = ['buildah', 'umoci', 'chroot', 'ldd', 'tar'];

let work: string;
let store: string[];

/** The shared libraries ldd lists for a binary, with the loader: absolute paths. */
async function librariesOf(binary: string): Promise<string[]> {
  const { stdout } = await runTool('ldd', [binary]);
  return [...stdout.toString('utf8').matchAll(/(\/\S+) \(0x/g)].map((match) => match[1]!);
}

/** Copies host files into a staging root at the same paths (symlinks followed). */
async function stage(root: string, files: readonly string[], at: (file: string) => string = (file) => file): Promise<void> {
  for (const file of files) {
    const target = join(root, at(file));
    await mkdir(dirname(target), { recursive: true });
    await copyFile(file, target);
    await chmod(target, 0o755);
  }
}

/** `FROM scratch` + `ADD rootfs.tar /` of a staged root, tagged NAME in the test's store. */
async function baseImage(root: string, name: string): Promise<void> {
  const context = join(work, `${name}-context`);
  await mkdir(context);
  await runTool('tar', ['--numeric-owner', '--owner=0', '--group=0', '-cf', join(context, 'rootfs.tar'), '-C', root, '.']);
  await writeFile(join(context, 'Containerfile'), 'FROM scratch\nADD rootfs.tar /\n');
  await runTool('buildah', [...store, 'bud', '--isolation', 'chroot', '--quiet', '--format', 'oci', '-t', `localhost/${name}:test`, context]);
}

/** Runs a command, never rejects: exit code and output. */
function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe.skipIf(skipWithoutTools(...tools) || process.getuid?.() !== 0)('the container image', () => {
  let rootfs: string;
  let config: { process: { args: string[]; env: string[]; user: { uid: number; gid: number }; cwd: string } };
  let manifest: ManifestJson;
  let layout: string;

  beforeAll(async () => {
    work = await makeTempDir('oci-repro-image-');
    store = ['--root', join(work, 'root'), '--runroot', join(work, 'runroot'), '--storage-driver', 'vfs'];
    const node = process.execPath;

    const runtime = join(work, 'runtime-root');
    await stage(runtime, [node], () => 'usr/local/bin/node');
    await stage(runtime, await librariesOf(node));
    await mkdir(join(runtime, 'tmp'));
    await chmod(join(runtime, 'tmp'), 0o1777);
    await baseImage(runtime, 'oci-repro-runtime-base');

    const build = join(work, 'build-root');
    await cp(runtime, build, { recursive: true });
    await stage(build, ['/bin/sh', ...(await librariesOf('/bin/sh'))]);
    await mkdir(join(build, 'usr/local/bin'), { recursive: true });
    await writeFile(join(build, 'usr/local/bin/npm'), '#!/bin/sh\n# the project is already built in /src\nexit 0\n', { mode: 0o755 });
    const src = join(build, 'src');
    for (const part of ['package.json', 'package-lock.json', 'bin', 'schema', 'dist']) await cp(join(repoRoot, part), join(src, part), { recursive: true });
    const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
    const production = Object.entries(lock.packages)
      .filter(([path, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && !entry.dev && !entry.devOptional)
      .map(([path]) => path);
    for (const path of production) await cp(join(repoRoot, path), join(src, path), { recursive: true, dereference: true });
    await baseImage(build, 'oci-repro-build-base');

    await runTool('buildah', [
      ...store,
      'bud',
      '--isolation', 'chroot',
      '--quiet',
      '--pull=never',
      '--format', 'oci',
      '--build-arg', 'BASE=localhost/oci-repro-runtime-base:test',
      '--build-arg', 'BUILD_BASE=localhost/oci-repro-build-base:test',
      '-f', join(repoRoot, 'Containerfile'),
      '-t', 'localhost/oci-repro:test',
      repoRoot,
    ]);
    layout = join(work, 'layout');
    await runTool('buildah', [...store, 'push', '--quiet', 'localhost/oci-repro:test', `oci:${layout}:test`]);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    manifest = JSON.parse(await readFile(join(layout, 'blobs/sha256', index.manifests[0]!.digest.slice('sha256:'.length)), 'utf8')) as ManifestJson;
    const bundle = await umociUnpack(layout, 'test', join(work, 'bundle'));
    rootfs = bundle.rootfs;
    config = JSON.parse(await readFile(join(bundle.bundle, 'config.json'), 'utf8')) as typeof config;
    await mkdir(join(rootfs, 'work'), { recursive: true });
    for (const name of ['build-a.tar', 'build-b.tar']) await copyFile(join(repoRoot, 'examples', name), join(rootfs, 'work', name));
    await writeFile(join(rootfs, 'work', 'pairs.yaml'), '- {name: hello, a: /work/build-a.tar, b: /work/build-b.tar}\n- {name: hello-same, a: /work/build-a.tar, b: /work/build-a.tar}\n');
  }, 900_000);
  afterAll(cleanupTempDirs);

  /** The image's entrypoint with these arguments, as its user, inside its filesystem. */
  const runImage = (args: string[]) => {
    const [entry, ...entryArgs] = config.process.args.slice(0, 2);
    const env = Object.fromEntries(config.process.env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
    return run('chroot', [`--userspec=${config.process.user.uid}:${config.process.user.gid}`, rootfs, entry!, ...entryArgs, ...args], env);
  };

  it('runs as user 1000 from /app with only the runtime: no sources, no development packages', async () => {
    expect(config.process.args.slice(0, 2)).toEqual(['/usr/local/bin/node', '/app/bin/run.js']);
    expect(config.process.user).toMatchObject({ uid: 1000, gid: 1000 });
    expect(config.process.env).toContain('NODE_ENV=production');
    const { stdout } = await runTool('ls', [join(rootfs, 'app'), join(rootfs, 'app', 'node_modules')]);
    const listing = stdout.toString('utf8');
    for (const present of ['bin', 'dist', 'schema', 'package.json', '@oclif', 'ajv', 'yaml']) expect(listing).toMatch(new RegExp(`^${present}$`, 'm'));
    for (const absent of ['src', 'test', 'typescript', 'vitest', 'tar-stream']) expect(listing).not.toMatch(new RegExp(`^${absent}$`, 'm'));
    const sizes = (manifest.layers ?? []).map((layer) => layer.size);
    const { stdout: du } = await runTool('du', ['-sb', join(rootfs, 'app')]);
    console.info(`[container-image] layers ${sizes.join(' + ')} = ${sizes.reduce((a, b) => a + b, 0)} bytes compressed; /app ${du.toString('utf8').split('\t')[0]} bytes`);
  });

  it('verifies the bundled example pair: reproducible, exit 0', async () => {
    const result = await runImage(['verify', '/work/build-a.tar', '/work/build-b.tar']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^oci-repro verify: REPRODUCIBLE \(EQUAL AFTER NORMALIZATION\), gate passed$/m);
  });

  it('verifies a fleet and prints its matrix', async () => {
    const fleet = await runImage(['verify', '--pairs', '/work/pairs.yaml', '--format', 'json']);
    expect(fleet.code).toBe(0);
    const report = JSON.parse(fleet.stdout) as { kind: string; counts: { passed: number } };
    expect(report).toMatchObject({ kind: 'fleet', counts: { passed: 2 } });
    const matrix = await runImage(['verify', '--pairs', '/work/pairs.yaml', '--matrix', '2']);
    expect(JSON.parse(matrix.stdout)).toMatchObject({ include: [{ shard: '1/2' }, { shard: '2/2' }] });
  });
});
