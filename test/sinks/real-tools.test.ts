/**
 * What we write, read by independent tools: skopeo (containers/image), umoci, podman, GNU tar and
 * sha256sum. Outside CI a missing tool skips its suite; with CI=true it fails.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/image/digest.js';
import type { OutputImage } from '../../src/sinks/output-image.js';
import { writeImage } from '../../src/sinks/write.js';
import {
  cleanupTempDirs,
  makeTempDir,
  runTool,
  sha256File,
  skipWithoutTools,
  skopeoCopy,
  skopeoInspectConfig,
  skopeoInspectRaw,
  umociUnpack,
} from '../helpers/real-tools.js';
import { buildFixture, type Fixture } from './fixture.js';

const T = { timeout: 60_000 };

let work: string;
let fixture: Fixture;
let image: OutputImage;
let ociDir: string;
let ociArchive: string;
let dockerArchive: string;

beforeAll(async () => {
  work = await makeTempDir('oci-repro-sinks-');
  fixture = await buildFixture(work, { bytesLayer: true });
  image = fixture.image;
  ociDir = join(work, 'layout');
  ociArchive = join(work, 'image.oci.tar');
  dockerArchive = join(work, 'image.docker.tar');
  await writeImage(`oci:${ociDir}:v1`, image);
  await writeImage(`oci-archive:${ociArchive}:v1`, image);
  await writeImage(`docker-archive:${dockerArchive}:example/app:1.0`, image);
});
afterAll(async () => cleanupTempDirs());

describe.skipIf(skipWithoutTools('skopeo'))('skopeo reads what we write', () => {
  for (const [name, reference] of [
    ['oci', () => `oci:${ociDir}:v1`],
    ['oci-archive', () => `oci-archive:${ociArchive}:v1`],
  ] as const) {
    it(`${name}: inspect --raw is our manifest, inspect --config our config`, T, async () => {
      const raw = await skopeoInspectRaw(reference());
      expect(raw.bytes.equals(image.manifest.bytes)).toBe(true);
      expect(sha256(raw.bytes)).toBe(image.manifest.digest);
      const config = await skopeoInspectConfig(reference());
      expect(config.bytes.equals(image.config.bytes)).toBe(true);
    });
  }

  it('docker-archive: inspect --config is our config; the manifest skopeo makes up lists our config', T, async () => {
    const reference = `docker-archive:${dockerArchive}:example/app:1.0`;
    const config = await skopeoInspectConfig(reference);
    expect(sha256(config.bytes)).toBe(image.config.digest);
    // skopeo reads docker-archives through manifest.json and synthesizes a schema 2 manifest that names
    // layers by diff_id: there is no stored manifest digest for it to report.
    const raw = await skopeoInspectRaw(reference);
    expect(raw.json.config?.digest).toBe(image.config.digest);
    expect(raw.json.layers?.map((layer) => layer.digest)).toEqual(image.layers.map((layer) => layer.diffId));
  });

  it('docker-archive: skopeo copies it (decompressing our gzip layers) and keeps the config', T, async () => {
    const copy = join(work, 'copied.docker.tar');
    await skopeoCopy(`docker-archive:${dockerArchive}`, `docker-archive:${copy}:copied:latest`);
    expect(sha256((await skopeoInspectConfig(`docker-archive:${copy}`)).bytes)).toBe(image.config.digest);
  });

  it('oci: skopeo copy to another layout keeps every blob we wrote', T, async () => {
    const copy = join(work, 'copied-layout');
    await skopeoCopy(`oci:${ociDir}:v1`, `oci:${copy}:v1`, ['--preserve-digests']);
    expect(sha256((await skopeoInspectRaw(`oci:${copy}:v1`)).bytes)).toBe(image.manifest.digest);
  });
});

describe.skipIf(skipWithoutTools('sha256sum', 'tar'))('blobs are named by their sha256', () => {
  it('oci: every blob file hashes to its name (sha256sum)', T, async () => {
    const blobs = join(ociDir, 'blobs', 'sha256');
    const names = await readdir(blobs);
    expect(names.length).toBe(2 + image.layers.length);
    for (const name of names) expect(await sha256File(join(blobs, name))).toBe(`sha256:${name}`);
  });

  for (const [name, archive] of [
    ['oci-archive', () => ociArchive],
    ['docker-archive', () => dockerArchive],
  ] as const) {
    it(`${name}: GNU tar extracts it cleanly and every blob hashes to its name`, T, async () => {
      const out = await makeTempDir('oci-repro-sinks-extract-');
      const { stderr } = await runTool('tar', ['-xf', archive(), '-C', out]);
      expect(stderr).toBe('');
      const blobs = join(out, 'blobs', 'sha256');
      for (const blob of await readdir(blobs)) expect(await sha256File(join(blobs, blob))).toBe(`sha256:${blob}`);
      expect(JSON.parse(await readFile(join(out, 'index.json'), 'utf8')).manifests[0].digest).toBe(image.manifest.digest);
    });
  }
});

describe.skipIf(skipWithoutTools('umoci'))('umoci reads the OCI layout', () => {
  it('umoci stat lists our layers with their diff_ids', T, async () => {
    const { stdout } = await runTool('umoci', ['stat', '--json', '--image', `${ociDir}:v1`]);
    const stat = JSON.parse(stdout.toString('utf8')) as { history: { layer?: { digest: string }; diff_id?: string }[] };
    expect(stat.history.map((entry) => entry.layer?.digest)).toEqual(image.layers.map((layer) => layer.digest));
    expect(stat.history.map((entry) => entry.diff_id)).toEqual(image.layers.map((layer) => layer.diffId));
  });

  it('umoci unpack extracts every layer', T, async () => {
    const bundle = join(await makeTempDir('oci-repro-sinks-umoci-'), 'bundle');
    const { rootfs } = await umociUnpack(ociDir, 'v1', bundle);
    expect(await readFile(join(rootfs, 'etc', 'hello'), 'utf8')).toBe('hello\n');
    expect(await readFile(join(rootfs, 'app', 'link'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(await readFile(join(rootfs, 'data.txt'), 'utf8')).toBe('plain layer\n');
  });
});

describe.skipIf(skipWithoutTools('podman'))('podman load', () => {
  it('loads the docker-archive through its OCI layout: image ID and manifest digest are ours', { timeout: 120_000 }, async () => {
    const store = await makeTempDir('oci-repro-sinks-podman-');
    const global = ['--root', join(store, 'root'), '--runroot', join(store, 'run'), '--storage-driver', 'vfs'];
    const { stdout } = await runTool('podman', [...global, 'load', '--quiet', '--input', dockerArchive]);
    expect(stdout.toString('utf8')).toContain('docker.io/example/app:1.0');
    const listed = await runTool('podman', [...global, 'images', '--no-trunc', '--format', '{{.ID}} {{.Digest}}']);
    expect(listed.stdout.toString('utf8').trim()).toBe(`${image.config.digest} ${image.manifest.digest}`);
  });
});
