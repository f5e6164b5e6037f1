// skopeo's directory transport as a source: code-built copies, bad copies, and real buildah/skopeo/podman copies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeImage } from '../../src/report/identity.js';
import { loadImage } from '../../src/sources/index.js';
import { buildImage, buildIndex, TempDir, type Blob, type BuiltImage } from '../helpers/images.js';
import { makeTar, type ArchiveFile } from '../helpers/tar.js';
import { buildahBuild, buildahPush, cleanupTempDirs, runTool, skipWithoutTools, type BuildahBuild } from '../helpers/real-tools.js';
import { sha256Of } from '../helpers/digest.js';
import { runCli } from '../helpers/cli.js';
import { caughtError } from '../helpers/errors.js';

const version = 'Directory Transport Version: 1.1\n';
const hexOf = (digest: string) => digest.slice('sha256:'.length);

/** A dir: copy as skopeo writes it: manifest.json, version, and each blob under its hex. */
function dirFiles(image: BuiltImage): ArchiveFile[] {
  return [
    { name: 'version', content: version },
    { name: 'manifest.json', content: image.manifest.bytes },
    ...image.blobs.filter((blob) => blob !== image.manifest).map((blob) => ({ name: hexOf(blob.digest), content: blob.bytes })),
  ];
}

async function drainLayers(reference: string): Promise<void> {
  const loaded = await loadImage(reference);
  try {
    for (const layer of loaded.layers) for await (const _chunk of await layer.openTar());
  } finally {
    await loaded.close();
  }
}

let dir: TempDir;
let image: BuiltImage;

beforeAll(async () => {
  dir = await TempDir.create();
  image = buildImage({
    layers: [
      { tar: await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', content: 'hello\n' }]), createdBy: 'COPY hello /etc/hello' },
      { tar: await makeTar([{ name: 'app/run.sh', content: '#!/bin/sh\n' }]), compression: 'none', createdBy: 'COPY run.sh /app/' },
    ],
  });
});
afterAll(async () => {
  await dir.remove();
  await cleanupTempDirs();
});

describe('dir: copies built in code', () => {
  for (const mediaTypes of ['oci', 'docker'] as const) {
    it(`${mediaTypes} manifest: same image ID, manifest digest and diff_ids; layers stream and verify`, async () => {
      const built = mediaTypes === 'oci' ? image : buildImage({ layers: image.layers.map((layer) => ({ tar: layer.tar })), mediaTypes });
      const path = await dir.writeDirectory(`copy-${mediaTypes}`, dirFiles(built));
      for (const reference of [`dir:${path}`, path]) {
        const loaded = await loadImage(reference);
        const identity = describeImage(loaded);
        expect(loaded.transport).toBe('dir');
        expect(identity.imageId).toBe(built.config.digest);
        expect(identity.manifestDigest).toBe(built.manifest.digest);
        expect(identity.layers.map((layer) => layer.diffId)).toEqual(built.layers.map((layer) => layer.diffId));
        await loaded.close();
      }
      await drainLayers(`dir:${path}`);
    });
  }

  it('a copied manifest list (--all): instances in <hex>.manifest.json, chosen by platform', async () => {
    const arm = buildImage({ layers: [{ tar: await makeTar([{ name: 'arm', content: 'arm' }]) }], architecture: 'arm64' });
    const index = buildIndex([
      { image, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
    ]);
    const manifests = [image.manifest, arm.manifest];
    const blobs = [image, arm].flatMap((built) => built.blobs).filter((blob) => !manifests.includes(blob));
    const path = await dir.writeDirectory('list', [
      { name: 'version', content: version },
      { name: 'manifest.json', content: index.bytes },
      ...manifests.map((manifest: Blob) => ({ name: `${hexOf(manifest.digest)}.manifest.json`, content: manifest.bytes })),
      ...blobs.map((blob) => ({ name: hexOf(blob.digest), content: blob.bytes })),
    ]);
    const loaded = await loadImage(`dir:${path}`, { platform: { os: 'linux', architecture: 'arm64' } });
    expect(loaded.config.digest).toBe(arm.config.digest);
    expect(loaded.index?.digest).toBe(index.digest);
    await loaded.close();
    const error = await caughtError(loadImage(`dir:${path}`));
    expect(error.exitCode).toBe(2);
    expect(error.line).toContain('--platform');
  });
});

describe('bad dir: copies: one line naming the path, exit 3 or 4', () => {
  it('missing directory: exit 4', async () => {
    const error = await caughtError(loadImage(`dir:${dir.join('absent')}`));
    expect(error.exitCode).toBe(4);
    expect(error.line).toContain(dir.join('absent'));
  });

  it('directory without manifest.json: exit 3', async () => {
    const path = await dir.writeDirectory('no-manifest', dirFiles(image).filter((file) => file.name !== 'manifest.json'));
    const error = await caughtError(loadImage(`dir:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain(`dir:${path}: no manifest.json`);
  });

  it('missing layer blob: exit 3 naming the layer and its digest', async () => {
    const path = await dir.writeDirectory('missing-blob', dirFiles(image));
    await rm(join(path, hexOf(image.layers[1].digest)));
    const error = await caughtError(loadImage(`dir:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain(`dir:${path}: layer 1 blob ${image.layers[1].digest} is missing`);
  });

  it('layer blob with other bytes than its digest: exit 3 when read', async () => {
    const path = await dir.writeDirectory('wrong-layer', dirFiles(image));
    await writeFile(join(path, hexOf(image.layers[1].digest)), Buffer.concat([image.layers[1].bytes, Buffer.alloc(512)]));
    const error = await caughtError(drainLayers(`dir:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain(path);
    expect(error.line).toContain('layer 1');
  });

  it('config with other bytes than its digest: exit 3', async () => {
    const path = await dir.writeDirectory('wrong-config', dirFiles(image));
    await writeFile(join(path, hexOf(image.config.digest)), Buffer.from('{"rootfs":{"diff_ids":[]}}'));
    const error = await caughtError(loadImage(`dir:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toMatch(/digest mismatch/);
    expect(error.line).toContain(path);
  });

  it('an unknown directory transport version: exit 3', async () => {
    const path = await dir.writeDirectory('version-2', dirFiles(image));
    await writeFile(join(path, 'version'), 'Directory Transport Version: 2.0\n');
    const error = await caughtError(loadImage(`dir:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('version');
  });

  it('through the binary: exit 3 and one line on stderr', async () => {
    const path = await dir.writeDirectory('cli-missing', dirFiles(image));
    await rm(join(path, hexOf(image.layers[0].digest)));
    const run = await runCli(['inspect', `dir:${path}`], { cwd: dir.path });
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(path);
  });

  it('dir: is not an output format: usage error before anything is read', async () => {
    const path = await dir.writeDirectory('as-output', dirFiles(image));
    const run = await runCli(['normalize', `dir:${path}`, '--output', `dir:${dir.join('out')}`], { cwd: dir.path });
    expect(run.code).toBe(2);
  });
});

describe.skipIf(skipWithoutTools('buildah', 'skopeo', 'podman'))('real dir: copies from buildah, skopeo and podman', () => {
  const builds: Partial<Record<'oci' | 'docker', BuildahBuild>> = {};
  const storeArgs = (build: BuildahBuild) => ['--root', build.root, '--runroot', build.runroot, '--storage-driver', 'vfs'];

  beforeAll(async () => {
    for (const format of ['oci', 'docker'] as const) {
      builds[format] = await buildahBuild({
        format,
        dockerfile: 'FROM scratch\nCOPY hello /etc/hello\nCOPY run.sh /app/run.sh\n',
        context: { hello: 'hello\n', 'run.sh': { data: '#!/bin/sh\necho hi\n', mode: 0o755 } },
      });
    }
  }, 120_000);
  afterAll(async () => {
    for (const build of Object.values(builds)) await build?.cleanup();
  });

  for (const format of ['oci', 'docker'] as const) {
    it(`${format} build: buildah push dir:, skopeo copy to dir:, podman save docker-dir all read as the docker-archive of the same build`, async () => {
      const build = builds[format]!;
      const archive = dir.join(`real-${format}.tar`);
      await buildahPush(build, `docker-archive:${archive}:app:latest`);
      const pushed = dir.join(`real-${format}-pushed`);
      await buildahPush(build, `dir:${pushed}`);
      const copied = dir.join(`real-${format}-copied`);
      await runTool('skopeo', ['copy', '--quiet', `dir:${pushed}`, `dir:${copied}`]);
      const saved = dir.join(`real-${format}-podman`);
      await runTool('podman', [...storeArgs(build), 'save', '--quiet', '--format', 'docker-dir', '-o', saved, build.name]);
      expect((await readFile(join(saved, 'version'), 'utf8')).trim()).toBe(version.trim());

      for (const path of [pushed, copied, saved]) {
        const inspect = await runCli(['inspect', `dir:${path}`, '--json'], { cwd: dir.path });
        expect(inspect.code, inspect.stderr).toBe(0);
        const identity = JSON.parse(inspect.stdout) as { imageId: string; transport: string; manifestDigest: string };
        expect(identity.transport).toBe('dir');
        expect(identity.imageId).toBe(build.imageId);
        // The manifest digest is sha256 of manifest.json, as skopeo computes it.
        const raw = await runTool('skopeo', ['inspect', '--raw', `dir:${path}`]);
        expect(identity.manifestDigest).toBe(sha256Of(raw.stdout));

        // docker-archive keeps the config bytes: the same image ID, so identical.
        const verify = await runCli(['verify', `dir:${path}`, `docker-archive:${archive}`, '--format', 'json'], { cwd: dir.path });
        expect(verify.code, verify.stderr).toBe(0);
        expect((JSON.parse(verify.stdout) as { verdict: string }).verdict).toBe('identical');
      }

      const normalized = await runCli(['normalize', `dir:${pushed}`, '--json', '--output', `oci:${dir.join(`real-${format}-normalized`)}`], { cwd: dir.path });
      expect(normalized.code, normalized.stderr).toBe(0);
      const fromArchive = await runCli(['normalize', `docker-archive:${archive}`, '--json'], { cwd: dir.path });
      const digestOf = (run: { stdout: string }) => (JSON.parse(run.stdout) as { canonicalDigest: string }).canonicalDigest;
      expect(digestOf(normalized)).toBe(digestOf(fromArchive));
    }, 120_000);
  }

  it('a manifest list pushed with --all into dir: (skopeo 1.9 writes <hex>.manifest.json)', async () => {
    const build = builds.oci!;
    const list = `localhost/oci-repro-list-${Date.now()}`;
    await runTool('buildah', [...storeArgs(build), 'manifest', 'create', list]);
    await runTool('buildah', [...storeArgs(build), 'manifest', 'add', list, build.name]);
    const path = dir.join('real-list');
    await runTool('buildah', [...storeArgs(build), 'manifest', 'push', '--quiet', '--all', list, `dir:${path}`]);
    const run = await runCli(['inspect', `dir:${path}`, '--json'], { cwd: dir.path });
    expect(run.code, run.stderr).toBe(0);
    const identity = JSON.parse(run.stdout) as { imageId: string; indexDigest: string | null };
    expect(identity.imageId).toBe(build.imageId);
    expect(identity.indexDigest).toMatch(/^sha256:/);
  }, 120_000);
});
