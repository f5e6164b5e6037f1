/**
 * The user's image builders, driven as the user would run them: their own store and settings come from
 * the environment and `--builder-arg`. Every build runs without cache and writes an image archive.
 *
 * buildah and podman accept a transport in `-t` (`oci-archive:FILE`): the image is committed straight
 * to the archive and never lands in the store, so nothing needs removing afterwards. `--layers` is not
 * passed: it would leave one intermediate image per step in the user's store.
 */
import { availableParallelism } from 'node:os';
import {
  buildFailed,
  locateExecutable,
  missingBuilder,
  runLogged,
  type Builder,
  type BuilderName,
  type BuildRequest,
} from './builder-process.js';
import { dockerBuilder } from './docker.js';
import type { VariationName } from './variations.js';

export { builderNames, locateExecutable, logTailLines, missingBuilder, parseStep } from './builder-process.js';
export type { Builder, BuilderName, BuildRequest, BuildResult } from './builder-process.js';

/** The command line of a buildah or podman build (argv without the executable). */
export function budArgs(subcommand: string, request: BuildRequest): string[] {
  return [
    subcommand,
    '--no-cache',
    ...(request.platform ? ['--platform', request.platform] : []),
    ...(request.extraArgs ?? []),
    '-f',
    request.dockerfile,
    '-t',
    `oci-archive:${request.output}`,
    request.context,
  ];
}

/**
 * Why buildah and podman cannot run a variation. Measured with buildah 1.28 (chroot isolation):
 * `bud --env` sets the image's Env but RUN steps do not see it; every RUN step already runs under a
 * fresh random hostname (the build container's ID); `--cpuset-cpus` is ignored under chroot isolation,
 * so the CPU count is cut with the affinity the builder inherits (`taskset`), which its RUN steps inherit.
 */
function budUnsupported(name: string, variation: VariationName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  switch (variation) {
    case 'env':
      return `${name} build --env sets the image's Env, but RUN steps do not see it; only ARGs the Dockerfile declares reach them (--builder-arg=--build-arg=TZ=...)`;
    case 'hostname':
      return `${name} builds take no hostname: every RUN step already runs under a fresh random one (the build container's ID), which the clock variation covers`;
    case 'cpus':
      if (locateExecutable('taskset', env) === undefined) return 'taskset (util-linux) is not on PATH: the builder cannot be held to one CPU';
      if (availableParallelism() < 2) return 'this machine has one CPU: there is nothing to take away';
      return undefined;
    default:
      return undefined;
  }
}

/** buildah and podman share the build front end (`bud`/`build` with the same flags). */
function budBuilder(name: BuilderName, subcommand: string, installHint: string): Builder {
  const builder: Builder = {
    name,
    installHint,
    locate: (env) => locateExecutable(name, env),
    unsupported: (variation, env) => budUnsupported(name, variation, env),
    build: async (request) => {
      const env = request.env ?? process.env;
      const executable = builder.locate(env);
      if (executable === undefined) throw missingBuilder(builder);
      const args = budArgs(subcommand, request);
      // One CPU: the builder and every RUN step it forks inherit the affinity.
      const taskset = request.oneCpu ? locateExecutable('taskset', env) : undefined;
      const started = Date.now();
      const code = taskset
        ? await runLogged(taskset, ['-c', '0', executable, ...args], { env, logFile: request.logFile, onLine: request.onLine })
        : await runLogged(executable, args, { env, logFile: request.logFile, onLine: request.onLine });
      const seconds = (Date.now() - started) / 1000;
      if (code !== 0) throw await buildFailed(name, code, request.logFile);
      return { output: request.output, reference: `oci-archive:${request.output}`, logFile: request.logFile, seconds };
    },
  };
  return builder;
}

const builders: Record<BuilderName, Builder> = {
  buildah: budBuilder('buildah', 'bud', 'install buildah (Debian/Ubuntu: apt-get install buildah; Fedora: dnf install buildah)'),
  podman: budBuilder('podman', 'build', 'install podman (Debian/Ubuntu: apt-get install podman; Fedora: dnf install podman)'),
  docker: dockerBuilder,
};

export function getBuilder(name: BuilderName): Builder {
  return builders[name];
}
