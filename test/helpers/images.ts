// Builds test images in code, in every on-disk form oci-repro reads, with explicit mtimes everywhere.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sha256Hex, sha256Of } from './digest.js';
import { makeTar, type ArchiveFile } from './tar.js';

const hexOf = (digest: string) => digest.slice('sha256:'.length);

export type LayerCompression = 'gzip' | 'none' | 'zstd';

export interface TestLayer {
  /** The uncompressed layer tar. */
  tar: Buffer;
  compression?: LayerCompression;
  createdBy?: string;
}

export interface TestImageSpec {
  layers: TestLayer[];
  /** Extra config fields merged over the defaults. */
  config?: Record<string, unknown>;
  /** History entries that made no layer, inserted before the layer with this index. */
  emptyHistoryBefore?: Record<number, string[]>;
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  mediaTypes?: 'oci' | 'docker';
}

export interface Blob {
  digest: string;
  bytes: Buffer;
  mediaType: string;
}

export interface BuiltImage {
  config: Blob;
  manifest: Blob;
  layers: (Blob & { diffId: string; tar: Buffer })[];
  blobs: Blob[];
}

function compress(tar: Buffer, compression: LayerCompression): Buffer {
  if (compression === 'gzip') return gzipSync(tar, { level: 1 });
  if (compression === 'zstd') {
    throw new Error('zstd layers: build with buildZstdLayer in the test that needs them');
  }
  return tar;
}

/** The blobs of one image: layers, config and manifest, as a builder would write them. */
export function buildImage(spec: TestImageSpec, compressLayer: (tar: Buffer, c: LayerCompression) => Buffer = compress): BuiltImage {
  const family = spec.mediaTypes ?? 'oci';
  const layers = spec.layers.map((layer) => {
    const compression = layer.compression ?? 'gzip';
    const bytes = compressLayer(layer.tar, compression);
    const mediaType =
      family === 'oci'
        ? `application/vnd.oci.image.layer.v1.tar${compression === 'gzip' ? '+gzip' : compression === 'zstd' ? '+zstd' : ''}`
        : `application/vnd.docker.image.rootfs.diff.tar${compression === 'gzip' ? '.gzip' : compression === 'zstd' ? '.zstd' : ''}`;
    return { digest: sha256Of(bytes), bytes, mediaType, diffId: sha256Of(layer.tar), tar: layer.tar };
  });
  const history: Record<string, unknown>[] = [];
  spec.layers.forEach((layer, i) => {
    for (const step of spec.emptyHistoryBefore?.[i] ?? []) {
      history.push({ created: spec.created ?? '2024-01-02T03:04:05Z', created_by: step, empty_layer: true });
    }
    history.push({ created: spec.created ?? '2024-01-02T03:04:05Z', created_by: layer.createdBy ?? `COPY layer${i} /` });
  });
  const config = {
    architecture: spec.architecture ?? 'amd64',
    os: spec.os ?? 'linux',
    ...(spec.variant ? { variant: spec.variant } : {}),
    created: spec.created ?? '2024-01-02T03:04:05Z',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history,
    ...spec.config,
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configBlob: Blob = {
    digest: sha256Of(configBytes),
    bytes: configBytes,
    mediaType: family === 'oci' ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json',
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: family === 'oci' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: configBlob.mediaType, digest: configBlob.digest, size: configBytes.length },
    layers: layers.map((layer) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.bytes.length })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestBlob: Blob = { digest: sha256Of(manifestBytes), bytes: manifestBytes, mediaType: manifest.mediaType };
  return { config: configBlob, manifest: manifestBlob, layers, blobs: [...layers, configBlob, manifestBlob] };
}

export interface IndexEntry {
  image: BuiltImage;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export function buildIndex(entries: IndexEntry[], extra: Blob[] = [], family: 'oci' | 'docker' = 'oci'): Blob & { blobs: Blob[] } {
  const index = {
    schemaVersion: 2,
    mediaType: family === 'oci' ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifests: entries.map((entry) => ({
      mediaType: entry.image.manifest.mediaType,
      digest: entry.image.manifest.digest,
      size: entry.image.manifest.bytes.length,
      ...(entry.platform ? { platform: entry.platform } : {}),
      ...(entry.annotations ? { annotations: entry.annotations } : {}),
    })),
  };
  const bytes = Buffer.from(JSON.stringify(index));
  return {
    digest: sha256Of(bytes),
    bytes,
    mediaType: index.mediaType,
    blobs: [...entries.flatMap((entry) => entry.image.blobs), ...extra],
  };
}

/**
 * A BuildKit-style attestation manifest for the image manifest `forDigest`: an in-toto layer, listed in
 * an index with platform unknown/unknown and the attestation-manifest annotation.
 */
export function attestationEntry(forDigest: string): IndexEntry {
  const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', subject: [{ digest: { sha256: hexOf(forDigest) } }] }));
  const layer = { digest: sha256Of(statement), bytes: statement, mediaType: 'application/vnd.in-toto+json', diffId: sha256Of(statement), tar: statement };
  const configBytes = Buffer.from('{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}');
  const config: Blob = { digest: sha256Of(configBytes), bytes: configBytes, mediaType: 'application/vnd.oci.image.config.v1+json' };
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: config.mediaType, digest: config.digest, size: configBytes.length },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: statement.length, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
    }),
  );
  const manifest: Blob = { digest: sha256Of(manifestBytes), bytes: manifestBytes, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
  return {
    image: { config, manifest, layers: [layer], blobs: [layer, config, manifest] },
    platform: { os: 'unknown', architecture: 'unknown' },
    annotations: { 'vnd.docker.reference.digest': forDigest, 'vnd.docker.reference.type': 'attestation-manifest' },
  };
}

/**
 * An OCI layout holding one multi-platform index: index.json names the index (tagged `tag`), as
 * `buildah manifest push --all LIST oci:DIR:TAG` writes it; or, with `flat`, index.json itself lists
 * the platform manifests untagged, as some tools write it.
 */
export function indexLayout(entries: IndexEntry[], options: { tag?: string; family?: 'oci' | 'docker'; flat?: boolean } = {}): ArchiveFile[] {
  if (options.flat) {
    return layoutFiles({
      manifests: entries.map((entry) => ({ blob: entry.image.manifest, platform: entry.platform, annotations: entry.annotations })),
      blobs: entries.flatMap((entry) => entry.image.blobs),
    });
  }
  const index = buildIndex(entries, [], options.family ?? 'oci');
  return layoutFiles({
    manifests: [{ blob: index, annotations: { 'org.opencontainers.image.ref.name': options.tag ?? 'latest' } }],
    blobs: index.blobs,
  });
}

export interface LayoutTop {
  /** Descriptors for index.json. */
  manifests: { blob: Blob; annotations?: Record<string, string>; platform?: IndexEntry['platform'] }[];
  blobs: Blob[];
}

/** The files of an OCI image layout: oci-layout, index.json, blobs. */
export function layoutFiles(top: LayoutTop): ArchiveFile[] {
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: top.manifests.map(({ blob, annotations, platform }) => ({
      mediaType: blob.mediaType,
      digest: blob.digest,
      size: blob.bytes.length,
      ...(platform ? { platform } : {}),
      ...(annotations ? { annotations } : {}),
    })),
  };
  const unique = new Map<string, Blob>();
  for (const blob of [...top.blobs, ...top.manifests.map((m) => m.blob)]) unique.set(blob.digest, blob);
  return [
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', content: JSON.stringify(index) },
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...[...unique.values()].map((blob) => ({ name: `blobs/sha256/${hexOf(blob.digest)}`, content: blob.bytes })),
  ];
}

/** Single image layout, tagged. */
export function singleImageLayout(image: BuiltImage, tag = 'latest'): ArchiveFile[] {
  return layoutFiles({
    manifests: [{ blob: image.manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    blobs: image.blobs,
  });
}

/** Legacy `docker save`: manifest.json, <hex>.json, <id>/layer.tar (uncompressed). */
export function legacyDockerArchiveFiles(image: BuiltImage, repoTags = ['example:latest'], options: { symlinkLayers?: boolean } = {}): ArchiveFile[] {
  const configName = `${hexOf(image.config.digest)}.json`;
  const files: ArchiveFile[] = [{ name: configName, content: image.config.bytes }];
  const layerPaths: string[] = [];
  image.layers.forEach((layer, i) => {
    const id = sha256Hex(`layer-${i}-${layer.diffId}`);
    if (options.symlinkLayers) {
      // podman and skopeo store <diffid>.tar and point <id>/layer.tar at it.
      files.push({ name: `${hexOf(layer.diffId)}.tar`, content: layer.tar });
      files.push({ name: `${id}/`, type: 'directory' });
      files.push({ name: `${id}/layer.tar`, type: 'symlink', linkname: `../${hexOf(layer.diffId)}.tar` });
    } else {
      files.push({ name: `${id}/`, type: 'directory' });
      files.push({ name: `${id}/layer.tar`, content: layer.tar });
      files.push({ name: `${id}/json`, content: JSON.stringify({ id }) });
    }
    layerPaths.push(`${id}/layer.tar`);
  });
  files.unshift({ name: 'manifest.json', content: JSON.stringify([{ Config: configName, RepoTags: repoTags, Layers: layerPaths }]) });
  return files;
}

/** Docker 25+ `docker save`: an OCI layout plus manifest.json pointing into blobs/. */
export function modernDockerArchiveFiles(image: BuiltImage, repoTag = 'example:latest'): ArchiveFile[] {
  const layout = layoutFiles({
    manifests: [
      {
        blob: image.manifest,
        annotations: { 'io.containerd.image.name': `docker.io/library/${repoTag}`, 'org.opencontainers.image.ref.name': repoTag.split(':')[1] },
      },
    ],
    blobs: image.blobs,
  });
  const manifestJson = [
    {
      Config: `blobs/sha256/${hexOf(image.config.digest)}`,
      RepoTags: [repoTag],
      Layers: image.layers.map((layer) => `blobs/sha256/${hexOf(layer.digest)}`),
    },
  ];
  return [...layout, { name: 'manifest.json', content: JSON.stringify(manifestJson) }];
}

export class TempDir {
  private constructor(readonly path: string) {}
  static async create(prefix = 'oci-repro-test-'): Promise<TempDir> {
    return new TempDir(await mkdtemp(join(tmpdir(), prefix)));
  }
  join(...parts: string[]): string {
    return join(this.path, ...parts);
  }
  async writeArchive(name: string, files: ArchiveFile[]): Promise<string> {
    const path = this.join(name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, await makeTar(files));
    return path;
  }
  async writeDirectory(name: string, files: ArchiveFile[]): Promise<string> {
    const root = this.join(name);
    await mkdir(root, { recursive: true });
    for (const file of files) {
      const path = join(root, file.name);
      if (file.type === 'directory') await mkdir(path, { recursive: true });
      else {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, file.content ?? '');
      }
    }
    return root;
  }
  async remove(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
  }
}
