/**
 * The image `normalize` writes out: exact bytes for the manifest and the config, and each layer as bytes
 * or as a temp file (layers are never held in memory). The manifest bytes are ours, built here with a
 * fixed key order and no whitespace, so the same image always gets the same manifest digest.
 */
import { OciReproError, unsupported } from '../errors.js';
import { assertDigest, sha256 } from '../image/digest.js';
import { compressionOfMediaType, isForeignLayerMediaType, isManifestMediaType, MediaType } from '../image/media-types.js';
import type { Platform } from '../image/types.js';

export interface OutputBlob {
  digest: string;
  size: number;
  mediaType: string;
  /** The blob's bytes (documents, small layers). At most one of `bytes` and `path`. */
  bytes?: Buffer;
  /** A file holding the blob (layers); streamed, and checked against digest and size while written. */
  path?: string;
  /**
   * `path` is a temp file that this process wrote and hashed as it wrote it, and that nothing writes
   * again (normalize's recompressed layers). An OCI layout directory on the same filesystem then takes
   * it by hard link instead of a copy, checking its size but not hashing it again.
   */
  temporary?: boolean;
  /** Where a foreign (non-distributable) layer can be fetched: written into its descriptor. */
  urls?: string[];
}

/** A layer; with neither `bytes` nor `path` it is foreign and written as a descriptor only. */
export type OutputLayer = OutputBlob & { diffId: string };

export interface OutputImage {
  /** The exact manifest bytes: their digest is what gets pushed. */
  manifest: OutputBlob & { bytes: Buffer };
  config: OutputBlob & { bytes: Buffer };
  layers: OutputLayer[];
  /** Written into the index.json descriptor of the manifest when given. */
  platform?: Platform;
}

export type ManifestFamily = 'oci' | 'docker';

/** An inconsistent OutputImage is a bug of whoever built it, not bad input from a user. */
export function invalidOutput(message: string): OciReproError {
  return new OciReproError('INTERNAL', `output image: ${message}`);
}

/** A descriptor with its keys in the order Go's image-spec structs marshal them. */
export function describeBlob(blob: OutputBlob, family: ManifestFamily = 'oci'): Record<string, unknown> {
  const urls = blob.urls && blob.urls.length > 0 ? { urls: [...blob.urls] } : {};
  // Docker's distribution package orders mediaType, size, digest; the OCI spec's Go types mediaType, digest, size.
  return family === 'docker'
    ? { mediaType: blob.mediaType, size: blob.size, digest: blob.digest, ...urls }
    : { mediaType: blob.mediaType, digest: blob.digest, size: blob.size, ...urls };
}

/** Annotations with keys sorted, so insertion order never reaches the bytes. */
export function sortAnnotations(annotations: Record<string, string>): Record<string, string> {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(annotations).sort()) sorted[key] = annotations[key];
  return sorted;
}

/** A platform object in the key order of the OCI spec's Go type. */
export function describePlatform(platform: Platform): Record<string, unknown> {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform['os.version'] !== undefined ? { 'os.version': platform['os.version'] } : {}),
    ...(platform['os.features'] !== undefined ? { 'os.features': [...platform['os.features']] } : {}),
    ...(platform.variant !== undefined ? { variant: platform.variant } : {}),
  };
}

const familyName = (family: ManifestFamily) => (family === 'oci' ? 'an OCI' : 'a Docker');

function assertFamilyMediaType(mediaType: string, family: ManifestFamily, what: string): void {
  const prefix = family === 'oci' ? 'application/vnd.oci.' : 'application/vnd.docker.';
  if (!mediaType.startsWith(prefix)) {
    throw invalidOutput(`${what} has media type ${mediaType}, which ${familyName(family)} manifest cannot list`);
  }
}

/**
 * The manifest of `config` and `layers`: deterministic bytes (fixed key order, no whitespace, annotations
 * sorted). Docker schema 2 has no annotations; asking for them there is refused rather than dropped.
 */
export function buildManifest(
  config: OutputBlob,
  layers: OutputBlob[],
  family: ManifestFamily,
  annotations?: Record<string, string>,
): OutputBlob & { bytes: Buffer } {
  const configType = family === 'oci' ? MediaType.ociConfig : MediaType.dockerConfig;
  if (config.mediaType !== configType) {
    throw invalidOutput(`config has media type ${config.mediaType}, ${familyName(family)} manifest needs ${configType}`);
  }
  checkBlobShape(config, 'config');
  layers.forEach((layer, i) => {
    checkBlobShape(layer, `layer ${i}`);
    if (compressionOfMediaType(layer.mediaType) === undefined) {
      throw invalidOutput(`layer ${i} has media type ${layer.mediaType}, which is not a layer media type`);
    }
    assertFamilyMediaType(layer.mediaType, family, `layer ${i}`);
  });
  const hasAnnotations = annotations !== undefined && Object.keys(annotations).length > 0;
  if (hasAnnotations && family === 'docker') {
    throw unsupported('a docker manifest cannot carry annotations', { hint: 'write an OCI image to keep them' });
  }
  const mediaType = family === 'oci' ? MediaType.ociManifest : MediaType.dockerManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: describeBlob(config, family),
    layers: layers.map((layer) => describeBlob(layer, family)),
    ...(hasAnnotations ? { annotations: sortAnnotations(annotations!) } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest), 'utf8');
  return { digest: sha256(bytes), size: bytes.length, mediaType, bytes };
}

function checkBlobShape(blob: OutputBlob, what: string): void {
  assertSha256(blob.digest, what);
  if (!Number.isSafeInteger(blob.size) || blob.size < 0) throw invalidOutput(`${what} has invalid size ${blob.size}`);
  if (blob.bytes !== undefined && blob.path !== undefined) throw invalidOutput(`${what} has both bytes and a path`);
}

/** Only sha256 blobs are written: every reader supports it, and the blob path must fit a tar header. */
function assertSha256(digest: unknown, what: string): asserts digest is string {
  try {
    assertDigest(digest, what);
  } catch (error) {
    throw invalidOutput((error as Error).message);
  }
  if (!digest.startsWith('sha256:')) throw invalidOutput(`${what}: only sha256 digests can be written, got ${digest}`);
}

function checkDocument(blob: OutputBlob & { bytes: Buffer }, what: string): unknown {
  checkBlobShape(blob, what);
  if (!Buffer.isBuffer(blob.bytes)) throw invalidOutput(`${what} has no bytes`);
  if (blob.bytes.length !== blob.size) throw invalidOutput(`${what} is ${blob.bytes.length} bytes but its size says ${blob.size}`);
  const actual = sha256(blob.bytes);
  if (actual !== blob.digest) throw invalidOutput(`${what} bytes hash to ${actual}, not ${blob.digest}`);
  try {
    return JSON.parse(blob.bytes.toString('utf8'));
  } catch (error) {
    throw invalidOutput(`${what} is not valid JSON (${(error as Error).message})`);
  }
}

function sameDescriptor(listed: unknown, blob: OutputBlob): boolean {
  const d = listed as { digest?: unknown; size?: unknown; mediaType?: unknown } | null;
  return !!d && d.digest === blob.digest && d.size === blob.size && d.mediaType === blob.mediaType;
}

/** A layer without content: written as a descriptor only. */
export function isForeignOutputLayer(layer: OutputBlob): boolean {
  return layer.bytes === undefined && layer.path === undefined;
}

/**
 * Checks that the image is one consistent chain before anything is written: the manifest bytes hash to
 * its digest and list exactly this config and these layers, the config's diff_ids are the layers'
 * diffIds, and every layer either has content or is a foreign layer. Layer files are checked against
 * their digest and size while they are written.
 */
export function checkOutputImage(image: OutputImage): void {
  const manifest = checkDocument(image.manifest, 'manifest') as {
    mediaType?: unknown;
    config?: unknown;
    layers?: unknown;
  };
  if (!isManifestMediaType(image.manifest.mediaType)) {
    throw invalidOutput(`manifest has media type ${image.manifest.mediaType}, which is not an image manifest`);
  }
  if (manifest?.mediaType !== undefined && manifest.mediaType !== image.manifest.mediaType) {
    throw invalidOutput(`manifest bytes say media type ${String(manifest.mediaType)}, its descriptor ${image.manifest.mediaType}`);
  }
  const config = checkDocument(image.config, 'config') as { rootfs?: { diff_ids?: unknown } } | null;
  if (!sameDescriptor(manifest?.config, image.config)) {
    throw invalidOutput(`manifest does not list config ${image.config.digest} (${image.config.size} bytes, ${image.config.mediaType})`);
  }
  const listed = Array.isArray(manifest?.layers) ? (manifest.layers as unknown[]) : [];
  if (listed.length !== image.layers.length) {
    throw invalidOutput(`manifest lists ${listed.length} layers, the image has ${image.layers.length}`);
  }
  // The canonical config of an image without layers has no diff_ids (as Docker writes it).
  const diffIds = config?.rootfs?.diff_ids ?? (image.layers.length === 0 ? [] : undefined);
  if (!Array.isArray(diffIds) || diffIds.length !== image.layers.length) {
    throw invalidOutput(`config rootfs.diff_ids does not have one entry per layer (${image.layers.length})`);
  }
  image.layers.forEach((layer, i) => {
    const what = `layer ${i}`;
    checkBlobShape(layer, what);
    if (!sameDescriptor(listed[i], layer)) throw invalidOutput(`manifest entry ${i} is not ${what} (${layer.digest})`);
    if (compressionOfMediaType(layer.mediaType) === undefined) {
      throw invalidOutput(`${what} has media type ${layer.mediaType}, which is not a layer media type`);
    }
    assertSha256(layer.diffId, `${what} diff_id`);
    if (diffIds[i] !== layer.diffId) throw invalidOutput(`${what} diff_id ${layer.diffId} is not rootfs.diff_ids[${i}] ${String(diffIds[i])}`);
    if (isForeignOutputLayer(layer) && !isForeignLayerMediaType(layer.mediaType)) {
      throw invalidOutput(`${what} has no bytes and no path, but ${layer.mediaType} is not a foreign layer type`);
    }
    if (layer.bytes !== undefined) {
      if (layer.bytes.length !== layer.size) throw invalidOutput(`${what} is ${layer.bytes.length} bytes but its size says ${layer.size}`);
      const actual = sha256(layer.bytes);
      if (actual !== layer.digest) throw invalidOutput(`${what} bytes hash to ${actual}, not ${layer.digest}`);
    }
  });
}
