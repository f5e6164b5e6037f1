/**
 * Whole-image variants for normalization pairs: an image described by its layers' entries, built in
 * code, and functions that return a copy differing in exactly one kind of builder noise (layer mtimes,
 * order, PAX records, owner names, config dates, host fields, gzip headers, compressor, input format).
 *
 * Layer tars come from test/helpers/tar.ts (its own tar writer, not the code under test); gzip headers
 * are patched here byte by byte, so the normalizer never compresses its own test input.
 */
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
// One-shot zstd from node:zlib or the zstd-napi addon, whichever this Node has: they write the same bytes.
import { compressZstdSync } from '../../src/image/compression.js';
import {
  buildImage,
  legacyDockerArchiveFiles,
  modernDockerArchiveFiles,
  singleImageLayout,
  type Blob,
  type BuiltImage,
  type LayerCompression,
  type TempDir,
  type TestImageSpec,
} from './images.js';
import { sha256Of } from './digest.js';
import { buildTar, type TarDialect, type TestEntry } from './tar.js';

export interface FixtureLayer {
  entries: TestEntry[];
  dialect?: TarDialect;
  createdBy?: string;
}

/** How layer blobs are compressed; the default is zlib gzip level 6 with an empty header. */
export type LayerPacking =
  | { kind: 'gzip'; level?: number; name?: string; mtime?: number; os?: number }
  | { kind: 'gzip-tool'; tool: 'gzip' | 'pigz'; level: number }
  | { kind: 'zstd'; level?: number }
  | { kind: 'none' };

export interface FixtureSpec extends Omit<TestImageSpec, 'layers'> {
  layers: FixtureLayer[];
  packing?: LayerPacking;
  /** Annotations of the image manifest. */
  manifestAnnotations?: Record<string, string>;
  /** Applied to the parsed config after it is built (history, Docker-only fields, ...). */
  editConfig?: (config: Record<string, any>) => void;
}

/** Builds the tars, compresses them as `packing` says, and writes config and manifest. */
export async function buildFixture(spec: FixtureSpec): Promise<BuiltImage> {
  const packing = spec.packing ?? { kind: 'gzip' };
  const compression: LayerCompression = packing.kind === 'none' ? 'none' : packing.kind === 'zstd' ? 'zstd' : 'gzip';
  const layers = await Promise.all(
    spec.layers.map(async (layer) => ({
      tar: await buildTar(layer.entries, { dialect: layer.dialect }),
      createdBy: layer.createdBy,
      compression,
    })),
  );
  let image = buildImage({ ...spec, layers }, (tar) => pack(tar, packing));
  if (spec.editConfig) image = withConfig(image, spec.editConfig);
  if (spec.manifestAnnotations) image = withManifestAnnotations(image, spec.manifestAnnotations);
  return image;
}

function pack(tar: Buffer, packing: LayerPacking): Buffer {
  switch (packing.kind) {
    case 'none':
      return tar;
    case 'zstd':
      return compressZstdSync(tar, packing.level ?? 3);
    case 'gzip-tool':
      // -n: no name and no mtime in the header, as reproducible builders run them.
      return execFileSync(packing.tool, ['-n', `-${packing.level}`, '-c'], { input: tar, maxBuffer: 1 << 28 });
    case 'gzip':
      return gzipWithHeader(tar, packing);
  }
}

/**
 * gzip with a chosen header (RFC 1952): file name (FNAME), mtime and OS byte, as `gzip file` or Go's
 * gzip writer leave them. The deflate data and trailer do not depend on the header.
 */
export function gzipWithHeader(data: Buffer, header: { level?: number; name?: string; mtime?: number; os?: number } = {}): Buffer {
  const plain = gzipSync(data, { level: header.level ?? 6 });
  const fixed = Buffer.from(plain.subarray(0, 10));
  if (header.mtime !== undefined) fixed.writeUInt32LE(header.mtime, 4);
  if (header.os !== undefined) fixed[9] = header.os;
  if (header.name === undefined) return Buffer.concat([fixed, plain.subarray(10)]);
  fixed[3] |= 0x08;
  return Buffer.concat([fixed, Buffer.from(`${header.name}\0`, 'latin1'), plain.subarray(10)]);
}

/** A copy of `image` whose config is edited by `edit` (the manifest is rewritten to point at it). */
export function withConfig(image: BuiltImage, edit: (config: Record<string, any>) => void): BuiltImage {
  const config = JSON.parse(image.config.bytes.toString('utf8')) as Record<string, any>;
  edit(config);
  const bytes = Buffer.from(JSON.stringify(config));
  const configBlob: Blob = { digest: sha256Of(bytes), bytes, mediaType: image.config.mediaType };
  return withManifest(image, configBlob, (manifest) => {
    manifest.config = { ...manifest.config, digest: configBlob.digest, size: bytes.length };
  });
}

/** A copy of `image` whose manifest carries `annotations`. */
export function withManifestAnnotations(image: BuiltImage, annotations: Record<string, string>): BuiltImage {
  return withManifest(image, image.config, (manifest) => {
    manifest.annotations = annotations;
  });
}

function withManifest(image: BuiltImage, config: Blob, edit: (manifest: Record<string, any>) => void): BuiltImage {
  const manifest = JSON.parse(image.manifest.bytes.toString('utf8')) as Record<string, any>;
  edit(manifest);
  const bytes = Buffer.from(JSON.stringify(manifest));
  const manifestBlob: Blob = { digest: sha256Of(bytes), bytes, mediaType: image.manifest.mediaType };
  return { config, manifest: manifestBlob, layers: image.layers, blobs: [...image.layers, config, manifestBlob] };
}

// ---------------------------------------------------------------------------------------------
// Spec-level noise: each returns a new spec

/** Applies `noise` to the entries of every layer (or only those listed). */
export function mapLayers(spec: FixtureSpec, noise: (entries: TestEntry[]) => TestEntry[], only?: number[]): FixtureSpec {
  return {
    ...spec,
    layers: spec.layers.map((layer, i) => (only && !only.includes(i) ? layer : { ...layer, entries: noise(layer.entries) })),
  };
}

/** Changes one entry (found by name) in the given layer; throws if it is not there. */
export function editEntry(spec: FixtureSpec, layer: number, name: string, edit: (entry: TestEntry) => TestEntry | null): FixtureSpec {
  if (!spec.layers[layer].entries.some((entry) => entry.name === name)) throw new Error(`no entry ${name} in layer ${layer}`);
  return mapLayers(
    spec,
    (entries) => entries.flatMap((entry) => (entry.name === name ? [edit(entry)].filter((e): e is TestEntry => e !== null) : [entry])),
    [layer],
  );
}

/** Chains config edits, so a variant keeps the base's own edits. */
export function editConfig(spec: FixtureSpec, edit: (config: Record<string, any>) => void): FixtureSpec {
  const before = spec.editConfig;
  return {
    ...spec,
    editConfig: (config) => {
      before?.(config);
      edit(config);
    },
  };
}

/**
 * The per-file PAX records GNU tar --format=posix and bsdtar write from the build host's inode
 * (device, inode number, link count, creation time): they differ between any two checkouts.
 */
export function withWriterRecords(entries: readonly TestEntry[], seed = 1): TestEntry[] {
  return entries.map((entry, i) => ({
    ...entry,
    pax: {
      ...entry.pax,
      'SCHILY.dev': String(2049 * seed),
      'SCHILY.ino': String(131072 * seed + i),
      'SCHILY.nlink': '1',
      'LIBARCHIVE.creationtime': String(1600000000 + seed * 1000 + i),
    },
  }));
}

// ---------------------------------------------------------------------------------------------
// Input formats

export type InputForm = 'docker-archive (legacy)' | 'docker-archive (Docker 25+)' | 'oci directory' | 'oci-archive';
export const inputForms: readonly InputForm[] = ['docker-archive (legacy)', 'docker-archive (Docker 25+)', 'oci directory', 'oci-archive'];

/** Writes `image` under `dir` in the given form and returns the reference that loads it. */
export async function writeInForm(dir: TempDir, name: string, image: BuiltImage, form: InputForm): Promise<string> {
  switch (form) {
    case 'docker-archive (legacy)':
      return `docker-archive:${await dir.writeArchive(`${name}.docker-legacy.tar`, legacyDockerArchiveFiles(image))}`;
    case 'docker-archive (Docker 25+)':
      return `docker-archive:${await dir.writeArchive(`${name}.docker-modern.tar`, modernDockerArchiveFiles(image))}`;
    case 'oci directory':
      return `oci:${await dir.writeDirectory(`${name}.oci`, singleImageLayout(image))}`;
    case 'oci-archive':
      return `oci-archive:${await dir.writeArchive(`${name}.oci.tar`, singleImageLayout(image))}`;
  }
}
