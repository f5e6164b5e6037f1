// Docker schema 1 manifests are refused with one line, exit 3, naming the conversion that makes them readable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import { loadImage } from '../../src/sources/index.js';
import { buildImage, layoutFiles, TempDir, type BuiltImage } from '../helpers/images.js';
import { sha256Of } from '../helpers/digest.js';
import { makeTar } from '../helpers/tar.js';
import { buildahBuild, buildahPush, cleanupTempDirs, runTool, skipWithoutTools, type BuildahBuild } from '../helpers/real-tools.js';
import { findRegistryBinary, startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { FakeRegistry } from '../registry/fake-registry.js';
import { runCli } from '../helpers/cli.js';
import { caughtError } from '../helpers/errors.js';

const schema1Signed = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
const schema1Unsigned = 'application/vnd.docker.distribution.manifest.v1+json';

/** A schema 1 manifest of the image's layers, as registries of 2015 served them (unsigned form). */
function schema1Manifest(image: BuiltImage): Buffer {
  const manifest = {
    schemaVersion: 1,
    name: 'library/app',
    tag: 'latest',
    architecture: 'amd64',
    fsLayers: [...image.layers].reverse().map((layer) => ({ blobSum: layer.digest })),
    history: image.layers.map((_, i) => ({ v1Compatibility: JSON.stringify({ id: `${i}`.repeat(64), created: '2015-01-01T00:00:00Z' }) })),
  };
  return Buffer.from(JSON.stringify(manifest, null, 3));
}

function expectSchema1Refusal(error: OciReproError, where: string): void {
  expect(error.exitCode).toBe(3);
  expect(error.line).not.toContain('\n');
  expect(error.line).toContain(where);
  expect(error.line).toContain('schema 1');
  expect(error.line).toContain('skopeo copy --format v2s2');
}

let dir: TempDir;
let image: BuiltImage;
let manifest: Buffer;

beforeAll(async () => {
  dir = await TempDir.create();
  image = buildImage({ layers: [{ tar: await makeTar([{ name: 'hello', content: 'hi\n' }]) }] });
  manifest = schema1Manifest(image);
});
afterAll(async () => {
  await dir.remove();
  await cleanupTempDirs();
});

describe('schema 1 built in code', () => {
  it('in a dir: copy: exit 3 through the binary, one line', async () => {
    const path = await dir.writeDirectory('dir-s1', [
      { name: 'version', content: 'Directory Transport Version: 1.1\n' },
      { name: 'manifest.json', content: manifest },
      ...image.layers.map((layer) => ({ name: layer.digest.slice(7), content: layer.bytes })),
    ]);
    expectSchema1Refusal(await caughtError(loadImage(`dir:${path}`)), `dir:${path}`);
    const run = await runCli(['inspect', `dir:${path}`], { cwd: dir.path });
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('schema 1');
  });

  for (const mediaType of [schema1Signed, schema1Unsigned]) {
    it(`in an OCI layout, listed as ${mediaType}: exit 3`, async () => {
      const blob = { digest: sha256Of(manifest), bytes: manifest, mediaType };
      const path = await dir.writeDirectory(`layout-${mediaType.slice(-4)}`, layoutFiles({ manifests: [{ blob }], blobs: image.layers }));
      expectSchema1Refusal(await caughtError(loadImage(`oci:${path}`)), `oci:${path}`);
    });
  }

  it('from a registry that serves it as v1+prettyjws: exit 3', async () => {
    const registry = await FakeRegistry.start();
    try {
      // Served without a mediaType field, as schema 1 is: the Content-Type and schemaVersion say what it is.
      registry.addManifest(manifest, schema1Signed, 'latest');
      for (const layer of image.layers) registry.blobs.set(layer.digest, layer.bytes);
      const reference = `docker://${registry.host}/library/app:latest`;
      expectSchema1Refusal(await caughtError(loadImage(reference)), reference);
    } finally {
      await registry.stop();
    }
  });

  it('the same image with a schema 2 manifest loads (the refusal is about the manifest only)', async () => {
    const path = await dir.writeDirectory('dir-s2', [
      { name: 'version', content: 'Directory Transport Version: 1.1\n' },
      { name: 'manifest.json', content: image.manifest.bytes },
      ...[image.config, ...image.layers].map((blob) => ({ name: blob.digest.slice(7), content: blob.bytes })),
    ]);
    const loaded = await loadImage(`dir:${path}`);
    expect(loaded.config.digest).toBe(image.config.digest);
    await loaded.close();
  });
});

describe.skipIf(skipWithoutTools('buildah', 'skopeo') || (!findRegistryBinary() && !process.env.CI))('schema 1 written by skopeo', () => {
  let build: BuildahBuild;
  let registry: RunningRegistry;
  let v2s2: string;

  beforeAll(async () => {
    build = await buildahBuild({ format: 'docker', dockerfile: 'FROM scratch\nCOPY hello /hello\n', context: { hello: 'hi\n' } });
    v2s2 = dir.join('real-v2s2');
    await buildahPush(build, `dir:${v2s2}`);
    registry = await startRegistry({ schema1: true });
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
    await build?.cleanup();
  });

  it('skopeo copy --format v2s1 into dir: is refused; converted back with --format v2s2 it reads as the build', async () => {
    const s1 = dir.join('real-s1');
    await runTool('skopeo', ['copy', '--quiet', '--format', 'v2s1', `dir:${v2s2}`, `dir:${s1}`]);
    const refused = await runCli(['inspect', `dir:${s1}`], { cwd: dir.path });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('schema 1');
    const back = dir.join('real-s1-back');
    await runTool('skopeo', ['copy', '--quiet', '--format', 'v2s2', `dir:${s1}`, `dir:${back}`]);
    const converted = await runCli(['inspect', `dir:${back}`, '--json'], { cwd: dir.path });
    expect(converted.code, converted.stderr).toBe(0);
  }, 120_000);

  it('pushed as schema 1 to the real registry (compatibility.schema1.enabled): exit 3, one line', async () => {
    const reference = `docker://${registry.host}/s1/app:latest`;
    await runTool('skopeo', ['copy', '--quiet', ...registry.skopeoArgs('dest'), '--format', 'v2s1', `dir:${v2s2}`, reference]);
    const run = await runCli(['inspect', reference], { cwd: dir.path });
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(reference);
    expect(run.stderr).toContain('skopeo copy --format v2s2');
  }, 120_000);
});
