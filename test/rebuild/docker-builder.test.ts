/**
 * The docker builder against the documented CLI contract, with a FAKE `docker` first on PATH
 * (test/fixtures/rebuild/fake-docker.sh: no engine runs here). The fake records every call and writes a
 * code-built archive, a different one when the context is group-writable, so the whole path runs: the
 * command lines, the archive each form writes (buildx: OCI; classic build + save: docker-archive),
 * verify on them, and the errors (the default driver's refusal, no archive written, no docker at all).
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { buildImage, legacyDockerArchiveFiles, singleImageLayout, TempDir } from '../helpers/images.js';
import { cleanupTempDirs, makeTempDir } from '../helpers/real-tools.js';
import { buildTar } from '../helpers/tar.js';
import { validateAgainst } from '../helpers/report-schema.js';
import { parse, setup } from './setup.js';

const fakeDocker = fileURLToPath(new URL('../fixtures/rebuild/fake-docker.sh', import.meta.url));

let images: TempDir;
const archives = { ociA: '', ociB: '', dockerA: '', dockerB: '' };

beforeAll(async () => {
  images = await TempDir.create('oci-repro-test-docker-images-');
  // B is A with hello.txt group-writable, as a build of the umask variation's context gives.
  const image = async (mode: number) =>
    buildImage({ layers: [{ tar: await buildTar([{ name: 'hello.txt', content: 'hello\n', mode }]), createdBy: 'COPY hello.txt /hello.txt' }] });
  const [a, b] = [await image(0o644), await image(0o664)];
  archives.ociA = await images.writeArchive('a-oci.tar', singleImageLayout(a));
  archives.ociB = await images.writeArchive('b-oci.tar', singleImageLayout(b));
  archives.dockerA = await images.writeArchive('a-docker.tar', legacyDockerArchiveFiles(a));
  archives.dockerB = await images.writeArchive('b-docker.tar', legacyDockerArchiveFiles(b));
});
afterAll(async () => {
  await images?.remove();
  await cleanupTempDirs();
});

/** A context, and a PATH whose first `docker` is the fake; `calls()` reads what it was asked. */
async function fakeDockerRun(env: Record<string, string>, docker: 'oci' | 'docker-archive') {
  const { dir, context, tmp } = await setup('FROM scratch\nCOPY hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await copyFile(fakeDocker, join(bin, 'docker'));
  const log = join(dir, 'docker-calls.log');
  const fullEnv = {
    PATH: `${bin}:${process.env.PATH}`,
    TMPDIR: tmp,
    FAKE_DOCKER_LOG: log,
    FAKE_DOCKER_IMAGE_A: docker === 'oci' ? archives.ociA : archives.dockerA,
    FAKE_DOCKER_IMAGE_B: docker === 'oci' ? archives.ociB : archives.dockerB,
    ...env,
  };
  return {
    context,
    tmp,
    run: (args: string[]) => runCli(['rebuild', context, '--builder', 'docker', ...args], { env: fullEnv, timeout: 60_000 }),
    calls: async () => (await readFile(log, 'utf8')).trimEnd().split('\n').map((line) => line.split('|')),
  };
}

describe('docker builder (FAKE docker on PATH, documented CLI contract)', () => {
  it('[fake docker] buildx: buildx build --no-cache --output type=oci,dest=FILE with --platform; umask found in the OCI archives', async () => {
    const { context, run, calls } = await fakeDockerRun({ FAKE_DOCKER_BUILDX: '1' }, 'oci');
    const result = await run(['--vary', 'umask', '--platform', 'linux/amd64', '--format', 'json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const report = parse(result);
    expect(report.builder).toBe('docker');
    expect(report.platform).toBe('linux/amd64');
    expect(report.differences.map((d) => d.path)).toContain('layers/0/hello.txt#mode');
    for (const d of report.differences) expect(d.variations).toEqual(['umask']);
    const builds = (await calls()).filter((c) => c[0] === 'buildx' && c[1] === 'build');
    expect(builds).toHaveLength(2);
    const [first] = builds;
    const output = first!.at(-2)!;
    expect(output).toMatch(/^type=oci,dest=\/.*\/baseline\.tar$/);
    expect(first).toEqual([
      'buildx', 'build', '--no-cache', '--progress=plain', '--platform', 'linux/amd64', '-f', join(context, 'Dockerfile'), '--output', output, context,
    ]);
  }, 60_000);

  it('[fake docker] no buildx: classic build -t TAG, save -o FILE TAG, rmi TAG; cpus passes --cpuset-cpus=0; a docker-archive verified', async () => {
    const { context, run, calls, tmp } = await fakeDockerRun({}, 'docker-archive');
    const result = await run(['--vary', 'clock,cpus,hostname', '--format', 'json']);
    expect(result.code).toBe(0);
    const report = parse(result);
    expect(report.variations.map((v) => [v.name, v.status, v.verdict ?? v.reason])).toEqual([
      ['clock', 'compared', 'identical'],
      ['cpus', 'compared', 'identical'],
      ['hostname', 'skipped', 'docker build has no hostname option'],
    ]);
    expect(validateAgainst('rebuild-report.schema.json', report)).toEqual([]);
    const all = await calls();
    const builds = all.filter((c) => c[0] === 'build');
    expect(builds).toHaveLength(3);
    const tag = builds[0]!.at(-2)!;
    expect(tag).toMatch(/^oci-repro-rebuild-[0-9a-f]{12}:baseline$/);
    expect(builds[0]).toEqual(['build', '--no-cache', '-f', join(context, 'Dockerfile'), '-t', tag, context]);
    expect(builds[2]).toContain('--cpuset-cpus=0');
    expect(builds[1]).not.toContain('--cpuset-cpus=0');
    // Each build: build, save, rmi of its own tag, in that order.
    const baseline = all.filter((c) => c.includes(tag));
    expect(baseline.map((c) => c[0])).toEqual(['build', 'save', 'rmi']);
    expect(baseline[1]!.slice(0, 2)).toEqual(['save', '-o']);
    expect(baseline[1]![2]).toMatch(new RegExp(`^${tmp}/oci-repro-rebuild-[^/]+/baseline\\.tar$`));
  }, 60_000);

  it('[fake docker] buildx on the default docker driver: exit 3, the refusal quoted, the fix as hint', async () => {
    const { run } = await fakeDockerRun({ FAKE_DOCKER_BUILDX: '1', FAKE_DOCKER_FAIL: 'driver' }, 'oci');
    const result = await run(['--vary', 'clock']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/docker buildx build failed \(exit 1\); last lines of its log:/);
    expect(result.stderr).toContain('OCI exporter is not supported for the docker driver');
    expect(result.stderr).toMatch(/hint: .*docker buildx create --use --driver docker-container/);
  }, 60_000);

  it('[fake docker] a docker that says it succeeded but wrote no archive: exit 3 naming the file', async () => {
    for (const buildx of ['1', '0']) {
      const { run } = await fakeDockerRun({ FAKE_DOCKER_BUILDX: buildx, FAKE_DOCKER_FAIL: 'nothing' }, 'oci');
      const result = await run(['--vary', 'clock']);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/docker reported success but wrote no archive at \S+baseline\.tar; whole log: /);
    }
  }, 60_000);

  it('no docker on PATH: exit 4 with the install hint', async () => {
    const { context } = await setup('FROM scratch\n');
    const empty = await makeTempDir('oci-repro-test-empty-path-');
    const result = await runCli(['rebuild', context, '--builder', 'docker'], { env: { PATH: empty } });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/builder docker: not found on PATH \(hint: install Docker .*buildx/);
  }, 60_000);
});
