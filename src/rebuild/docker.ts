/**
 * The docker builder, by the documented CLI contract (no engine runs on the machines this was written
 * on; test/rebuild/docker-builder.test.ts drives it with a fake `docker` that records its calls):
 * - with buildx: `docker buildx build --no-cache --progress=plain --output type=oci,dest=FILE`, an OCI
 *   archive written by BuildKit;
 * - without it: the classic `docker build --no-cache -t TAG`, then `docker save -o FILE TAG` (a
 *   docker-archive), then `docker rmi TAG`, so no image of ours stays in the daemon.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { badInput } from '../errors.js';
import { buildFailed, locateExecutable, missingBuilder, runLogged, type Builder, type BuildRequest } from './builder-process.js';

const installHint = 'install Docker (https://docs.docker.com/engine/install/) with its buildx plugin, or use --builder buildah';

/** What BuildKit's default `docker` driver says when asked for an OCI archive. */
const dockerDriverRefusal = /not supported for the docker driver/i;
const dockerDriverHint =
  'the default "docker" buildx driver cannot write OCI archives: create a builder that can (docker buildx create --use --driver docker-container)';

/** `docker buildx version` exits 0 when the plugin is installed; asked once per executable. */
const buildxKnown = new Map<string, boolean>();

export function hasBuildx(executable: string, env: NodeJS.ProcessEnv): boolean {
  let known = buildxKnown.get(executable);
  if (known === undefined) {
    const probe = spawnSync(executable, ['buildx', 'version'], { env, stdio: 'ignore', timeout: 30_000 });
    known = probe.status === 0;
    buildxKnown.set(executable, known);
  }
  return known;
}

/** `docker buildx build` writing an OCI archive (argv without the executable). */
export function buildxArgs(request: BuildRequest): string[] {
  return [
    'buildx',
    'build',
    '--no-cache',
    '--progress=plain',
    ...(request.platform ? ['--platform', request.platform] : []),
    ...(request.extraArgs ?? []),
    '-f',
    request.dockerfile,
    '--output',
    `type=oci,dest=${request.output}`,
    request.context,
  ];
}

/** The classic `docker build`, tagged so `docker save` can find it. */
export function classicBuildArgs(request: BuildRequest, tag: string): string[] {
  return [
    'build',
    '--no-cache',
    ...(request.platform ? ['--platform', request.platform] : []),
    ...(request.oneCpu ? ['--cpuset-cpus=0'] : []),
    ...(request.extraArgs ?? []),
    '-f',
    request.dockerfile,
    '-t',
    tag,
    request.context,
  ];
}

export const dockerBuilder: Builder = {
  name: 'docker',
  installHint,
  locate: (env) => locateExecutable('docker', env),
  unsupported: (variation, env = process.env) => {
    switch (variation) {
      case 'env':
        return 'docker build passes no environment to RUN steps; only ARGs the Dockerfile declares reach them (--builder-arg=--build-arg=TZ=...)';
      case 'hostname':
        return 'docker build has no hostname option';
      case 'cpus': {
        const executable = locateExecutable('docker', env);
        if (executable !== undefined && hasBuildx(executable, env)) return 'docker buildx build has no CPU limit option (BuildKit runs the RUN steps)';
        return undefined;
      }
      default:
        return undefined;
    }
  },
  build: async (request) => {
    const env = request.env ?? process.env;
    const executable = locateExecutable('docker', env);
    if (executable === undefined) throw missingBuilder(dockerBuilder);
    const started = Date.now();
    const run = { env, logFile: request.logFile, onLine: request.onLine };
    let reference: string;
    if (hasBuildx(executable, env)) {
      const code = await runLogged(executable, buildxArgs(request), run);
      if (code !== 0) {
        const log = await readFile(request.logFile, 'utf8').catch(() => '');
        throw await buildFailed('docker buildx', code, request.logFile, dockerDriverRefusal.test(log) ? dockerDriverHint : undefined);
      }
      reference = `oci-archive:${request.output}`;
    } else {
      // Lower case, as image names must be; unique, so parallel runs never share a tag.
      const tag = `oci-repro-rebuild-${randomBytes(6).toString('hex')}:${(request.label ?? 'build').toLowerCase()}`;
      try {
        const code = await runLogged(executable, classicBuildArgs(request, tag), run);
        if (code !== 0) throw await buildFailed('docker', code, request.logFile);
        const saved = await runLogged(executable, ['save', '-o', request.output, tag], { ...run, append: true });
        if (saved !== 0) throw await buildFailed('docker save', saved, request.logFile);
      } finally {
        await runLogged(executable, ['rmi', tag], { env, logFile: request.logFile, append: true }).catch(() => undefined);
      }
      reference = `docker-archive:${request.output}`;
    }
    await requireArchive(request.output, request.logFile);
    return { output: request.output, reference, logFile: request.logFile, seconds: (Date.now() - started) / 1000 };
  },
};

/** docker said it succeeded: the archive must be there and hold something. */
async function requireArchive(output: string, logFile: string): Promise<void> {
  const found = await stat(output).catch(() => undefined);
  if (!found?.isFile() || found.size === 0) {
    throw badInput(`docker reported success but wrote no archive at ${output}; whole log: ${logFile}`, { data: { logFile } });
  }
}
