/**
 * The user's image builders, driven as the user would run them: their own store and settings come from
 * the environment and `--builder-arg`. Every build runs without cache and writes an OCI archive.
 *
 * buildah and podman accept a transport in `-t` (`oci-archive:FILE`): the image is committed straight
 * to the archive and never lands in the store, so nothing needs removing afterwards. `--layers` is not
 * passed: it would leave one intermediate image per step in the user's store.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { badInput, notFound } from '../errors.js';

export const builderNames = ['buildah', 'podman'] as const;
export type BuilderName = (typeof builderNames)[number];

export interface BuildRequest {
  /** The build context directory. */
  context: string;
  /** The Dockerfile (absolute path). */
  dockerfile: string;
  /** The OCI archive to write. */
  output: string;
  /** Where the builder's stdout and stderr go. */
  logFile: string;
  /** The builder's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Passed to the build command before the context, e.g. `--isolation=chroot`, `--root=DIR`. */
  extraArgs?: readonly string[];
}

export interface BuildResult {
  output: string;
  logFile: string;
  seconds: number;
}

export interface Builder {
  name: BuilderName;
  /** How to install it, for the "missing builder" error. */
  installHint: string;
  /** The executable on PATH, or undefined. */
  locate(env?: NodeJS.ProcessEnv): string | undefined;
  /** The command line of one build (argv without the executable); exposed for tests. */
  buildArgs(request: BuildRequest): string[];
  build(request: BuildRequest): Promise<BuildResult>;
}

/** Lines of the builder's log quoted in a build failure. */
export const logTailLines = 15;

/** The absolute path of `name` on the PATH of `env`, or undefined. */
export function locateExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** buildah and podman share the build front end (`bud`/`build` with the same flags). */
function budBuilder(name: BuilderName, subcommand: string, installHint: string): Builder {
  const builder: Builder = {
    name,
    installHint,
    locate: (env) => locateExecutable(name, env),
    buildArgs: (request) => [
      subcommand,
      '--no-cache',
      ...(request.extraArgs ?? []),
      '-f',
      request.dockerfile,
      '-t',
      `oci-archive:${request.output}`,
      request.context,
    ],
    build: async (request) => {
      const executable = builder.locate(request.env);
      if (executable === undefined) throw missingBuilder(builder);
      const started = Date.now();
      const code = await runLogged(executable, builder.buildArgs(request), request.env ?? process.env, request.logFile);
      const seconds = (Date.now() - started) / 1000;
      if (code !== 0) throw await buildFailed(name, code, request.logFile);
      return { output: request.output, logFile: request.logFile, seconds };
    },
  };
  return builder;
}

const builders: Record<BuilderName, Builder> = {
  buildah: budBuilder('buildah', 'bud', 'install buildah (Debian/Ubuntu: apt-get install buildah; Fedora: dnf install buildah)'),
  podman: budBuilder('podman', 'build', 'install podman (Debian/Ubuntu: apt-get install podman; Fedora: dnf install podman)'),
};

export function getBuilder(name: BuilderName): Builder {
  return builders[name];
}

export function missingBuilder(builder: Builder) {
  return notFound(`builder ${builder.name}: not found on PATH`, { hint: builder.installHint });
}

/** Builds running now: a run that ends (a signal included, whose handler exits) stops them too. */
const running = new Set<ReturnType<typeof spawn>>();
let exitHookInstalled = false;

function stopRunningBuilds(): void {
  for (const child of running) child.kill('SIGTERM');
}

/** Spawns the builder with stdout and stderr into the log file; resolves with the exit code. */
function runLogged(executable: string, args: readonly string[], env: NodeJS.ProcessEnv, logFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile);
    log.on('error', reject);
    log.write(`$ ${executable} ${args.join(' ')}\n`);
    const child = spawn(executable, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', stopRunningBuilds);
    }
    running.add(child);
    child.on('exit', () => running.delete(child));
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', (error) => log.end(() => reject(error)));
    child.on('close', (code, signal) => log.end(() => resolve(code ?? 128 + signalNumber(signal))));
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 0;
}

/**
 * A build that fails is bad input (exit 3): the context or Dockerfile does not build. The message
 * quotes the end of the log and names the whole log, which outlives the run for that reason.
 */
async function buildFailed(name: string, code: number, logFile: string) {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-logTailLines);
  return badInput(`${name} build failed (exit ${code}); last lines of its log:\n${tail.map((l) => `  ${l}`).join('\n')}\nwhole log: ${logFile}`, {
    data: { logFile, exitCode: code, tail },
  });
}
