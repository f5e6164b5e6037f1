import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImage } from '../../src/sources/index.js';
import { describeImage } from '../../src/report/identity.js';
import {
  buildImage,
  buildIndex,
  layoutFiles,
  legacyDockerArchiveFiles,
  modernDockerArchiveFiles,
  singleImageLayout,
  TempDir,
  type BuiltImage,
} from '../helpers/images.js';
import { makeTar } from '../helpers/tar.js';
import { sha256Of, sha256OfStream } from '../helpers/digest.js';

let dir: TempDir;
let image: BuiltImage;

beforeAll(async () => {
  dir = await TempDir.create();
  image = buildImage({
    layers: [
      { tar: await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', content: 'hello\n' }]), createdBy: 'COPY hello /etc/hello' },
      { tar: await makeTar([{ name: 'app/run.sh', content: '#!/bin/sh\necho hi\n' }]), compression: 'none', createdBy: 'COPY run.sh /app/' },
    ],
    emptyHistoryBefore: { 1: ['ENV A=1', 'LABEL x=y'] },
  });
});
afterAll(async () => dir.remove());

describe('one image in every on-disk form', () => {
  const forms: [string, () => Promise<string>][] = [
    ['oci directory', async () => `oci:${await dir.writeDirectory('layout', singleImageLayout(image))}`],
    ['oci directory by tag', async () => `oci:${await dir.writeDirectory('layout2', singleImageLayout(image, 'v1'))}:v1`],
    ['oci-archive', async () => `oci-archive:${await dir.writeArchive('image.oci.tar', singleImageLayout(image))}`],
    ['legacy docker-archive', async () => `docker-archive:${await dir.writeArchive('legacy.tar', legacyDockerArchiveFiles(image))}`],
    [
      'legacy docker-archive with symlinked layers (podman)',
      async () => `docker-archive:${await dir.writeArchive('podman.tar', legacyDockerArchiveFiles(image, ['a:b'], { symlinkLayers: true }))}`,
    ],
    ['Docker 25+ docker-archive', async () => `docker-archive:${await dir.writeArchive('modern.tar', modernDockerArchiveFiles(image))}`],
    ['bare path to a docker save', async () => dir.writeArchive('bare.tar', legacyDockerArchiveFiles(image))],
    ['bare path to an oci-archive', async () => dir.writeArchive('bare-oci.tar', singleImageLayout(image))],
    ['bare path to an OCI directory', async () => dir.writeDirectory('bare-layout', singleImageLayout(image))],
  ];

  for (const [name, make] of forms) {
    it(`${name}: same image ID, diff_ids and steps; layers stream and verify`, async () => {
      const loaded = await loadImage(await make());
      const identity = describeImage(loaded);
      expect(identity.imageId).toBe(image.config.digest);
      expect(identity.layers.map((layer) => layer.diffId)).toEqual(image.layers.map((layer) => layer.diffId));
      expect(identity.layers.map((layer) => layer.step)).toEqual(['COPY hello /etc/hello', 'COPY run.sh /app/']);
      expect(identity.platform).toBe('linux/amd64');
      for (const layer of loaded.layers) {
        expect(await sha256OfStream(await layer.openTar())).toBe(layer.diffId);
        expect(await sha256OfStream(await layer.openBlob())).toBe(layer.descriptor.digest);
      }
      if (identity.transport !== 'docker-archive' || name.includes('25+')) {
        expect(identity.manifestDigest).toBe(image.manifest.digest);
        expect(identity.layers.map((layer) => layer.digest)).toEqual(image.layers.map((layer) => layer.digest));
      } else {
        expect(identity.manifestDigest).toBeNull();
      }
    });
  }
});

describe('indexes and selection', () => {
  it('containerd-store archive: index.json points to a nested index', async () => {
    const index = buildIndex([{ image, platform: { os: 'linux', architecture: 'amd64' } }]);
    const files = [
      ...layoutFiles({ manifests: [{ blob: index, annotations: { 'io.containerd.image.name': 'docker.io/library/example:latest' } }], blobs: index.blobs }),
      {
        name: 'manifest.json',
        content: JSON.stringify([
          { Config: `blobs/sha256/${image.config.digest.slice(7)}`, RepoTags: ['example:latest'], Layers: image.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`) },
        ]),
      },
    ];
    const loaded = await loadImage(`docker-archive:${await dir.writeArchive('containerd.tar', files)}`);
    expect(loaded.manifest?.digest).toBe(image.manifest.digest);
    expect(loaded.index?.digest).toBe(index.digest);
  });

  it('multi-platform index: --platform picks, no platform lists the choices, attestations are skipped', async () => {
    const arm = buildImage({ layers: [{ tar: await makeTar([{ name: 'arm', content: 'arm' }]) }], architecture: 'arm64', variant: 'v8' });
    const attestation = buildImage({ layers: [{ tar: await makeTar([{ name: 'sbom.json', content: '{}' }]) }] });
    const index = buildIndex([
      { image, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      {
        image: attestation,
        platform: { os: 'unknown', architecture: 'unknown' },
        annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': image.manifest.digest },
      },
    ]);
    const path = await dir.writeDirectory('multi', layoutFiles({ manifests: [{ blob: index, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }], blobs: index.blobs }));
    const amd = await loadImage(`oci:${path}`, { platform: { os: 'linux', architecture: 'amd64' } });
    expect(amd.config.digest).toBe(image.config.digest);
    const armLoaded = await loadImage(`oci:${path}:latest`, { platform: { os: 'linux', architecture: 'arm64' } });
    expect(armLoaded.config.digest).toBe(arm.config.digest);
    expect(armLoaded.platform).toMatchObject({ architecture: 'arm64', variant: 'v8' });
    await expect(loadImage(`oci:${path}`)).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('2 platforms'),
      hint: expect.stringMatching(/linux\/amd64, linux\/arm64\/v8$/),
    });
    await expect(loadImage(`oci:${path}`, { platform: { os: 'windows', architecture: 'amd64' } })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('an index with one platform and an attestation needs no --platform', async () => {
    const attestation = buildImage({ layers: [{ tar: await makeTar([{ name: 'sbom.json', content: '{}' }]) }] });
    const index = buildIndex([
      { image, platform: { os: 'linux', architecture: 'amd64' } },
      { image: attestation, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
    ]);
    const path = await dir.writeArchive('one-platform.tar', layoutFiles({ manifests: [{ blob: index }], blobs: index.blobs }));
    expect((await loadImage(`oci-archive:${path}`)).config.digest).toBe(image.config.digest);
  });

  it('several images in one docker save: pick by name:tag or @N, else an error that lists them', async () => {
    const other = buildImage({ layers: [{ tar: await makeTar([{ name: 'other', content: 'x' }]) }] });
    const first = legacyDockerArchiveFiles(image, ['first:1']);
    const second = legacyDockerArchiveFiles(other, ['second:2']);
    const manifest = [...JSON.parse(String(first[0].content)), ...JSON.parse(String(second[0].content))];
    const path = await dir.writeArchive('two.tar', [{ name: 'manifest.json', content: JSON.stringify(manifest) }, ...first.slice(1), ...second.slice(1)]);
    expect((await loadImage(`docker-archive:${path}:second:2`)).config.digest).toBe(other.config.digest);
    expect((await loadImage(`docker-archive:${path}:@0`)).config.digest).toBe(image.config.digest);
    await expect(loadImage(`docker-archive:${path}`)).rejects.toMatchObject({ exitCode: 2, hint: 'images present: first:1, second:2' });
    await expect(loadImage(`docker-archive:${path}:third:3`)).rejects.toMatchObject({ exitCode: 2 });
  });

  it('an OCI layout with two tagged images needs a tag', async () => {
    const other = buildImage({ layers: [{ tar: await makeTar([{ name: 'other', content: 'x' }]) }] });
    const path = await dir.writeDirectory(
      'two-tags',
      layoutFiles({
        manifests: [
          { blob: image.manifest, annotations: { 'org.opencontainers.image.ref.name': 'a' } },
          { blob: other.manifest, annotations: { 'org.opencontainers.image.ref.name': 'b' } },
        ],
        blobs: [...image.blobs, ...other.blobs],
      }),
    );
    expect((await loadImage(`oci:${path}:b`)).config.digest).toBe(other.config.digest);
    await expect(loadImage(`oci:${path}`)).rejects.toMatchObject({ exitCode: 2, hint: 'tags present: a, b' });
  });
});

describe('foreign layers', () => {
  it('a non-distributable layer whose blob is absent is carried as a descriptor', async () => {
    const foreignTar = await makeTar([{ name: 'Windows/system32', content: 'x' }]);
    const built = buildImage({ layers: [{ tar: foreignTar }, { tar: await makeTar([{ name: 'app', content: 'y' }]) }] });
    const manifest = JSON.parse(built.manifest.bytes.toString());
    manifest.layers[0].mediaType = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
    manifest.layers[0].urls = ['https://example.invalid/layer'];
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const manifestBlob = { digest: sha256Of(manifestBytes), bytes: manifestBytes, mediaType: built.manifest.mediaType };
    const blobs = [built.layers[1], built.config];
    const path = await dir.writeDirectory('foreign', layoutFiles({ manifests: [{ blob: manifestBlob }], blobs }));
    const loaded = await loadImage(`oci:${path}`);
    expect(loaded.layers[0].foreign).toBe(true);
    expect(loaded.layers[1].foreign).toBe(false);
    await expect(loaded.layers[0].openTar()).rejects.toMatchObject({ exitCode: 3 });
  });
});
