/**
 * A format conversion is not a rebuild. Real buildah builds (Docker and OCI format) converted by skopeo
 * both ways, as a registry push or `skopeo copy` does: the canonical digest stays, and `verify` says
 * REPRODUCIBLE with the conversion named, unless the conversion lost content (skopeo drops a Docker
 * `Healthcheck` on the way to OCI: then the digests differ and verify says so). Also: images without
 * layers (FROM scratch + ENV), whose Docker config has no rootfs.diff_ids, go through inspect,
 * normalize (every output format, read back by skopeo and umoci) and verify.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/model.js';
import {
  buildahBuild,
  buildahPush,
  cleanupTempDirs,
  makeTempDir,
  skipWithoutTools,
  skopeoCopy,
  skopeoInspectConfig,
  umociUnpack,
  type BuildahBuild,
  type ConfigJson,
} from '../helpers/real-tools.js';
import { sha256Of } from '../helpers/digest.js';
import { runCli, type CliRun } from '../helpers/cli.js';

const T = { timeout: 120_000 };

const scratchDockerfile = 'FROM scratch\nENV a b\n';
/** Everything skopeo keeps when it converts to OCI; a HEALTHCHECK (Docker-only) is added separately. */
const richDockerfile = `FROM scratch
COPY hello.txt /srv/hello.txt
LABEL org.example.k=v org.example.empty=""
USER 1000:1000
WORKDIR /srv
EXPOSE 8080/tcp
VOLUME /data
ENV a b
`;
const context = { 'hello.txt': 'hello\n' };

type Name = 'scratch' | 'rich' | 'healthcheck';
const dockerfiles: Record<Name, string> = {
  scratch: scratchDockerfile,
  rich: richDockerfile,
  healthcheck: `${richDockerfile}HEALTHCHECK --interval=30s CMD ["/bin/true"]\n`,
};

let out: string;
const builds: BuildahBuild[] = [];
/** Per image: its Docker-format build as a docker-archive, and that converted to OCI by skopeo. */
const dockerToOci = {} as Record<Name, { docker: string; oci: string }>;
/** Per image: its OCI-format build as an OCI layout, and that converted to a docker-archive by skopeo. */
const ociToDocker = {} as Record<Exclude<Name, 'healthcheck'>, { oci: string; docker: string }>;

const verify = async (a: string, b: string, extra: string[] = []): Promise<{ run: CliRun; report: Report }> => {
  const run = await runCli(['verify', a, b, '--format', 'json', '--all-differences', ...extra], { cwd: out });
  expect(run.stderr).toBe('');
  return { run, report: JSON.parse(run.stdout) as Report };
};

const canonicalDigest = async (reference: string): Promise<string> => {
  const run = await runCli(['normalize', reference, '--json'], { cwd: out });
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { canonicalDigest: string }).canonicalDigest;
};

const configOf = async (reference: string): Promise<ConfigJson> => (await skopeoInspectConfig(reference)).json;

describe.skipIf(skipWithoutTools('buildah', 'skopeo', 'umoci'))('format conversions with buildah and skopeo', () => {
  beforeAll(async () => {
    out = await makeTempDir('oci-repro-conversion-');
    for (const name of Object.keys(dockerfiles) as Name[]) {
      const build = await buildahBuild({ dockerfile: dockerfiles[name], context, format: 'docker', noCache: true });
      builds.push(build);
      const docker = `docker-archive:${join(out, `${name}-docker.tar`)}`;
      await buildahPush(build, `${docker}:localhost/${name}:latest`);
      const oci = `oci:${join(out, `${name}-from-docker`)}:latest`;
      await skopeoCopy(docker, oci);
      dockerToOci[name] = { docker, oci };
    }
    for (const name of ['scratch', 'rich'] as const) {
      const build = await buildahBuild({ dockerfile: dockerfiles[name], context, format: 'oci', noCache: true });
      builds.push(build);
      const oci = `oci:${join(out, `${name}-oci`)}:latest`;
      await buildahPush(build, oci);
      const docker = `docker-archive:${join(out, `${name}-from-oci.tar`)}`;
      await skopeoCopy(oci, `${docker}:localhost/${name}:latest`);
      ociToDocker[name] = { oci, docker };
    }
  }, 300_000);

  afterAll(async () => {
    await Promise.all(builds.map((build) => build.cleanup()));
    await cleanupTempDirs();
  });

  it('skopeo docker -> OCI drops builder state and zero values, keeps content, and drops a Healthcheck', T, async () => {
    const docker = await configOf(dockerToOci.healthcheck.docker);
    const oci = await configOf(dockerToOci.healthcheck.oci);
    // What buildah writes in Docker format: builder state and zero values spelled out.
    expect(Object.keys(docker)).toEqual(expect.arrayContaining(['container', 'container_config', 'parent']));
    expect(docker.config).toMatchObject({ Hostname: expect.any(String), Domainname: '', Tty: false, Cmd: [], Entrypoint: [], OnBuild: [], Image: '' });
    expect(docker.config?.Healthcheck).toEqual({ Test: ['CMD', '/bin/true'], Interval: 30_000_000_000 });
    // What skopeo keeps: the OCI fields, with their content (the label set to "" too).
    for (const key of ['container', 'container_config', 'parent', 'docker_version']) expect(Object.hasOwn(oci, key), key).toBe(false);
    expect(Object.keys(oci.config ?? {}).sort()).toEqual(['Env', 'ExposedPorts', 'Labels', 'User', 'Volumes', 'WorkingDir']);
    for (const key of ['User', 'ExposedPorts', 'Env', 'Volumes', 'WorkingDir', 'Labels']) expect(oci.config?.[key], key).toEqual(docker.config?.[key]);
    expect((oci.config?.Labels as Record<string, string>)['org.example.empty']).toBe('');
    expect(oci.history).toEqual(docker.history);
    expect(oci.rootfs).toEqual(docker.rootfs);
    expect(oci.created).toBe(docker.created);
  });

  it.each(['scratch', 'rich'] as const)('%s: verify docker-archive against its OCI conversion says REPRODUCIBLE, naming the conversion', T, async (name) => {
    const { docker, oci } = dockerToOci[name];
    const { run, report } = await verify(docker, oci);
    expect(run.code).toBe(0);
    expect(report.verdict).toBe('reproducible');
    expect(report.a.canonicalDigest).toBe(report.b.canonicalDigest);
    expect(report.a.imageId).not.toBe(report.b.imageId);
    expect(report.differences.filter((difference) => !difference.neutralized)).toEqual([]);
    const causes = new Set(report.differences.map((difference) => difference.cause?.id ?? null));
    expect(causes).toContain('format-conversion');
    expect(causes).not.toContain(null);
    // container_config whole, and the zero values skopeo omitted.
    const converted = report.differences.filter((difference) => difference.cause?.id === 'format-conversion').map((difference) => difference.path);
    expect(converted).toEqual(expect.arrayContaining(['/container_config', '/config/Tty', '/config/Cmd', '/config/OnBuild']));
    if (name === 'scratch') expect(converted).toContain('/rootfs/diff_ids');
  });

  it('with empty-values and container-config disabled the conversion shows again', T, async () => {
    const { docker, oci } = dockerToOci.rich;
    const run = await runCli(['verify', docker, oci, '--disable', 'empty-values', '--disable', 'container-config'], { cwd: out });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('NOT REPRODUCIBLE');
  });

  it('a Healthcheck lost in the conversion is a real difference: NOT REPRODUCIBLE, one remaining, other digests', T, async () => {
    const { docker, oci } = dockerToOci.healthcheck;
    // --verify-blobs: the layers keep their diff_ids in the conversion, so by default none is read
    // and the canonical digests are not computed.
    const { run, report } = await verify(docker, oci, ['--verify-blobs']);
    expect(run.code).toBe(1);
    expect(report.verdict).toBe('not-reproducible');
    expect(report.a.canonicalDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(report.a.canonicalDigest).not.toBe(report.b.canonicalDigest);
    const remaining = report.differences.filter((difference) => !difference.neutralized);
    expect(remaining.map((difference) => [difference.path, difference.a, difference.b, difference.cause?.id])).toEqual([
      ['/config/Healthcheck', { Test: ['CMD', '/bin/true'], Interval: 30_000_000_000 }, null, 'docker-only-field'],
    ]);
    // The history still records the step whose result the OCI form cannot hold.
    expect(JSON.stringify((await configOf(oci)).history)).toContain('HEALTHCHECK');
  });

  it.each(['scratch', 'rich'] as const)('%s: one canonical digest across docker -> OCI and OCI -> docker', T, async (name) => {
    const { oci, docker } = ociToDocker[name];
    // OCI -> docker keeps the config bytes: the image ID itself stays.
    expect((await skopeoInspectConfig(docker)).bytes.equals((await skopeoInspectConfig(oci)).bytes)).toBe(true);
    const digests = await Promise.all([dockerToOci[name].docker, dockerToOci[name].oci, oci, docker].map(canonicalDigest));
    // The Docker and OCI builds are separate builds: equal after normalization, as the conversions are.
    expect(new Set(digests).size).toBe(1);
    const { run, report } = await verify(oci, docker);
    expect(run.code).toBe(0);
    expect(report.verdict).toBe('identical');
  });

  it('a FROM scratch docker-archive (no rootfs.diff_ids) goes through inspect', T, async () => {
    const { docker } = dockerToOci.scratch;
    const config = await configOf(docker);
    expect(config.rootfs).toEqual({ type: 'layers' });
    const run = await runCli(['inspect', docker, '--json'], { cwd: out });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('"layers": []');
  });

  it.each([
    ['oci', (base: string) => `oci:${base}:latest`],
    ['oci-archive', (base: string) => `oci-archive:${base}.tar:latest`],
    ['docker-archive', (base: string) => `docker-archive:${base}.tar:localhost/scratch:latest`],
  ] as const)('a FROM scratch image normalized into %s loads in skopeo (and umoci), with the canonical digest', T, async (format, destination) => {
    const source = dockerToOci.scratch.docker;
    const base = join(out, `normalized-scratch-${format}`);
    const run = await runCli(['normalize', source, '--output', destination(base), '--json'], { cwd: out });
    expect(run.code, run.stderr).toBe(0);
    const { canonicalDigest: digest } = JSON.parse(run.stdout) as { canonicalDigest: string };
    const reference = format === 'oci' ? `oci:${base}:latest` : format === 'oci-archive' ? `oci-archive:${base}.tar:latest` : `docker-archive:${base}.tar`;
    const { bytes, json } = await skopeoInspectConfig(reference);
    expect(sha256Of(bytes)).toBe(digest);
    expect(json.rootfs).toEqual({ type: 'layers' });
    expect(json.config?.Env).toContain('a=b');
    // skopeo reads it whole into another format, and umoci unpacks the OCI layout into a bundle.
    await skopeoCopy(reference, `oci:${join(out, `copied-${format}`)}:latest`);
    if (format === 'oci') {
      const bundle = await umociUnpack(base, 'latest', join(out, 'bundle-scratch'));
      const runtime = JSON.parse(await readFile(join(bundle.bundle, 'config.json'), 'utf8')) as { process?: { env?: string[] } };
      expect(runtime.process?.env).toContain('a=b');
    }
    expect(await canonicalDigest(`oci:${join(out, `copied-${format}`)}:latest`)).toBe(digest);
  });
});
