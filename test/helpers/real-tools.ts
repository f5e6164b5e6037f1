/**
 * Helpers that drive the real container tools (buildah, skopeo, umoci, sha256sum) from tests.
 * They are oracles independent of our own code: nothing here imports from src/.
 *
 * Every helper works in its own temp directory and cleans up after itself; what must outlive
 * the call (a buildah store, an unpacked bundle) comes back with a `cleanup()`.
 * Facts and traps these helpers rely on are in docs/architecture.md (section 8).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';

/** CI=true (or 1) is set by the CI runner and by .ci/run: then a missing tool fails instead of skipping. */
export const inCi: boolean = /^(true|1)$/i.test(process.env.CI ?? '');

// ---------------------------------------------------------------------------------------------
// Tools present or not

const toolCache = new Map<string, string | undefined>();

/** Absolute path of an executable on PATH (plus the sbin directories, which root's PATH may lack). */
export function findTool(name: string): string | undefined {
  if (toolCache.has(name)) return toolCache.get(name);
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  let found: string | undefined;
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      found = candidate;
      break;
    } catch {
      // not here; try the next directory
    }
  }
  toolCache.set(name, found);
  return found;
}

export function hasTool(name: string): boolean {
  return findTool(name) !== undefined;
}

/**
 * Whether a suite needing `tools` should be skipped: only outside CI, and it says why on stderr so a
 * local run never passes silently. In CI it returns false, and the first call of the missing tool fails
 * with a message naming it (see `runTool`).
 *
 *     describe.skipIf(skipWithoutTools('buildah', 'skopeo'))('...', () => { ... })
 */
export function skipWithoutTools(...tools: string[]): boolean {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length === 0) return false;
  if (inCi) return false;
  process.stderr.write(
    `[real-tools] skipping: ${missing.join(', ')} not installed (CI=true would fail instead; .ci/run installs them)\n`,
  );
  return true;
}

// ---------------------------------------------------------------------------------------------
// Running a tool

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the tool after this long (default 120 s): a hung tool must fail the test, not the CI job. */
  timeoutMs?: number;
}

/** Run a tool with an argument array (never a shell string); reject with its stderr on failure. */
export function runTool(tool: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  if (!hasTool(tool)) {
    return Promise.reject(
      new Error(`${tool} is not installed${inCi ? ' (CI=true: .ci/run must install it)' : ''}`),
    );
  }
  return new Promise((resolvePromise, reject) => {
    execFile(
      tool,
      args,
      {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        encoding: 'buffer',
        maxBuffer: 256 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 120_000,
        killSignal: 'SIGKILL',
      },
      (error, stdout, stderr) => {
        const errText = stderr.toString('utf8');
        if (error) {
          const code = (error as { code?: unknown }).code ?? error.signal;
          reject(new Error(`${tool} ${args.join(' ')} failed (${String(code)}): ${errText.trim() || error.message}`));
          return;
        }
        resolvePromise({ stdout, stderr: errText });
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Temp directories

const liveTempDirs = new Set<string>();

/** A fresh directory under the OS temp dir, removed by `removeTempDir` or `cleanupTempDirs`. */
export async function makeTempDir(prefix = 'oci-repro-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  liveTempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    // A rootless buildah store holds files owned by sub-uids that only its user namespace may delete.
    if (process.getuid?.() !== 0 && hasTool('buildah')) {
      await runTool('buildah', ['unshare', 'rm', '-rf', '--', dir]);
    } else {
      throw err;
    }
  }
  liveTempDirs.delete(dir);
}

/** Remove every temp dir the helpers made and that is still there (call from afterAll). */
export async function cleanupTempDirs(): Promise<void> {
  for (const dir of [...liveTempDirs]) await removeTempDir(dir);
}

// Safety net for a test that threw before its cleanup ran.
process.once('exit', () => {
  for (const dir of liveTempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
});

// ---------------------------------------------------------------------------------------------
// buildah

/** A file of the build context: its bytes, or bytes with a mode and an mtime. */
export type ContextFile = string | Buffer | { data: string | Buffer; mode?: number; mtime?: number };

export interface BuildahBuildOptions {
  dockerfile: string;
  /** Paths relative to the context root ('bin/run.sh'); the Dockerfile is kept outside the context. */
  context?: Record<string, ContextFile>;
  format: 'oci' | 'docker';
  /** `--timestamp N`: buildah sets the created dates and the file times to N (seconds since epoch). */
  timestamp?: number;
  arch?: string;
  buildArgs?: Record<string, string>;
  /** Always true: a cached step would make two builds share layers and hide non-determinism. */
  noCache?: true;
  /** Image name; default a unique localhost/ name (a localhost/ prefix avoids short-name resolution). */
  name?: string;
  /**
   * Build into this store (another build's `root`/`runroot`) instead of a fresh one, e.g. the
   * platforms of one manifest list; the store then outlives this build's cleanup.
   */
  store?: { root: string; runroot: string };
}

export interface BuildahBuild {
  /** Fully qualified name in the private store, e.g. localhost/oci-repro-test-1a2b:latest. */
  name: string;
  /** The private store: pass as `--root`/`--runroot` to any further buildah call on this image. */
  root: string;
  runroot: string;
  /** sha256:... of the config, as buildah wrote it to --iidfile. */
  imageId: string;
  format: 'oci' | 'docker';
  /** Deletes the store and the context. */
  cleanup(): Promise<void>;
}

/**
 * Context files get this mtime unless they say otherwise: buildah copies file mtimes into layers, so a
 * fixed time makes two builds of the same context differ only by what buildah itself adds.
 */
export const CONTEXT_MTIME = 1_600_000_000;

async function writeContext(dir: string, files: Record<string, ContextFile>): Promise<void> {
  const dirs = new Set<string>();
  for (const [rel, file] of Object.entries(files)) {
    const path = resolve(dir, rel);
    if (!path.startsWith(dir + sep)) throw new Error(`context path escapes the context: ${rel}`);
    const spec = typeof file === 'string' || Buffer.isBuffer(file) ? { data: file } : file;
    for (let d = dirname(path); d !== dir && d.startsWith(dir + sep); d = dirname(d)) dirs.add(d);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, spec.data, { mode: spec.mode ?? 0o644 });
    const mtime = spec.mtime ?? CONTEXT_MTIME;
    await utimes(path, mtime, mtime);
  }
  // Directories last, deepest first: writing files into them resets their mtime.
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) await utimes(d, CONTEXT_MTIME, CONTEXT_MTIME);
}

function storeArgs(build: { root: string; runroot: string }): string[] {
  // vfs: no overlay mounts to clean up and works in any container; the store is private to the build.
  return ['--root', build.root, '--runroot', build.runroot, '--storage-driver', 'vfs'];
}

/** Build a Dockerfile with buildah in a private store; no daemon, no cache. */
export async function buildahBuild(opts: BuildahBuildOptions): Promise<BuildahBuild> {
  const dir = await makeTempDir('oci-repro-buildah-');
  try {
    const root = opts.store?.root ?? join(dir, 'root');
    const runroot = opts.store?.runroot ?? join(dir, 'runroot');
    const context = join(dir, 'context');
    await mkdir(context);
    await writeContext(context, opts.context ?? {});
    const dockerfile = join(dir, 'Dockerfile');
    await writeFile(dockerfile, opts.dockerfile);
    const iidfile = join(dir, 'iid');
    const name = opts.name ?? `localhost/oci-repro-test-${randomBytes(6).toString('hex')}:latest`;

    const args = [
      ...storeArgs({ root, runroot }),
      'bud',
      '--isolation', 'chroot',
      '--layers',
      '--no-cache',
      '--quiet',
      '--format', opts.format,
      '--iidfile', iidfile,
      '-f', dockerfile,
      '-t', name,
    ];
    if (opts.timestamp !== undefined) args.push('--timestamp', String(opts.timestamp));
    if (opts.arch !== undefined) args.push('--arch', opts.arch);
    for (const [k, v] of Object.entries(opts.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
    args.push(context);
    await runTool('buildah', args);

    const iid = (await readFile(iidfile, 'utf8')).trim();
    const imageId = iid.startsWith('sha256:') ? iid : `sha256:${iid}`;
    return { name, root, runroot, imageId, format: opts.format, cleanup: () => removeTempDir(dir) };
  } catch (err) {
    await removeTempDir(dir);
    throw err;
  }
}

/**
 * `buildah push` the image to a transport reference: `docker-archive:FILE:name:tag`,
 * `oci-archive:FILE:tag` or `oci:DIR:tag`. Trap: docker-archive refuses an existing FILE
 * ("doesn't support modifying existing images"); oci:DIR adds the tag to an existing layout.
 */
export async function buildahPush(build: Pick<BuildahBuild, 'name' | 'root' | 'runroot'>, dest: string): Promise<void> {
  await runTool('buildah', [...storeArgs(build), 'push', '--quiet', build.name, dest]);
}

/**
 * `buildah manifest create LIST` and `manifest add LIST IMAGE` for each image of the store: a
 * multi-platform manifest list of images built there (each with its own --arch).
 */
export async function buildahManifestCreate(store: { root: string; runroot: string }, list: string, images: readonly string[]): Promise<void> {
  await runTool('buildah', [...storeArgs(store), 'manifest', 'create', list]);
  for (const image of images) await runTool('buildah', [...storeArgs(store), 'manifest', 'add', list, image]);
}

/**
 * `buildah manifest push --all LIST DEST`: every image of the list and the list itself, as an OCI index
 * (default) or a Docker manifest list (`--format v2s2`); extraArgs e.g. ['--tls-verify=false'].
 */
export async function buildahManifestPush(store: { root: string; runroot: string }, list: string, dest: string, extraArgs: readonly string[] = []): Promise<void> {
  await runTool('buildah', [...storeArgs(store), 'manifest', 'push', '--all', '--quiet', ...extraArgs, list, dest]);
}

// ---------------------------------------------------------------------------------------------
// skopeo

/** The raw bytes as the tool printed them (what digests are computed over) and their parse. */
export interface RawJson<T> {
  bytes: Buffer;
  json: T;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface ManifestJson {
  schemaVersion: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  /** Present when the reference names an index / manifest list. */
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ConfigJson {
  created?: string;
  architecture?: string;
  os?: string;
  config?: Record<string, unknown>;
  rootfs?: { type: string; diff_ids: string[] };
  history?: Array<Record<string, unknown>>;
  [field: string]: unknown;
}

// Without a policy file skopeo refuses to work; the insecure policy keeps tests independent of
// /etc/containers/policy.json (we never verify signatures here).
const skopeoGlobal = ['--insecure-policy'];

/** `skopeo copy SRC DEST [extraArgs]`, e.g. extraArgs ['--dest-compress-format', 'zstd']. */
export async function skopeoCopy(src: string, dest: string, extraArgs: readonly string[] = []): Promise<void> {
  await runTool('skopeo', [...skopeoGlobal, 'copy', '--quiet', ...extraArgs, src, dest]);
}

/** `skopeo inspect --raw REF`: the manifest (or index) bytes exactly as stored. */
export async function skopeoInspectRaw(ref: string, extraArgs: readonly string[] = []): Promise<RawJson<ManifestJson>> {
  const { stdout } = await runTool('skopeo', [...skopeoGlobal, 'inspect', '--raw', ...extraArgs, ref]);
  return { bytes: stdout, json: JSON.parse(stdout.toString('utf8')) as ManifestJson };
}

/**
 * `skopeo inspect --config --raw REF`: the config bytes exactly as stored. (Trap: `--config` without
 * `--raw` prints an OCI conversion, which drops Docker-only fields such as container_config.)
 */
export async function skopeoInspectConfig(ref: string, extraArgs: readonly string[] = []): Promise<RawJson<ConfigJson>> {
  const { stdout } = await runTool('skopeo', [...skopeoGlobal, 'inspect', '--config', '--raw', ...extraArgs, ref]);
  return { bytes: stdout, json: JSON.parse(stdout.toString('utf8')) as ConfigJson };
}

// ---------------------------------------------------------------------------------------------
// sha256sum, umoci

/** `sha256:<hex>` of a file, computed by the sha256sum binary rather than by Node. */
export async function sha256File(path: string): Promise<string> {
  const { stdout } = await runTool('sha256sum', ['--binary', '--', path]);
  const hex = /^\\?([0-9a-f]{64}) /.exec(stdout.toString('utf8'))?.[1];
  if (!hex) throw new Error(`sha256sum printed no digest for ${path}`);
  return `sha256:${hex}`;
}

export interface UnpackedBundle {
  /** The runtime bundle: config.json, umoci.json, an mtree manifest and rootfs/. */
  bundle: string;
  rootfs: string;
}

/**
 * `umoci unpack --image OCIDIR:TAG DEST`. destDir must not exist or be empty. As root the files keep
 * their owners; otherwise `--rootless` (files owned by the caller).
 */
export async function umociUnpack(ociDir: string, tag: string, destDir: string): Promise<UnpackedBundle> {
  const args = ['unpack'];
  if (process.getuid?.() !== 0) args.push('--rootless');
  args.push('--image', `${ociDir}:${tag}`, destDir);
  await runTool('umoci', args);
  return { bundle: destDir, rootfs: join(destDir, 'rootfs') };
}
