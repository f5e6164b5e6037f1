import type { Readable } from 'node:stream';
import { badInput, unsupported, usageError } from '../errors.js';
import { openDecompressed } from '../image/compression.js';
import { assertDigest, VerifyingStream } from '../image/digest.js';
import type { Image, JsonBlob, Layer, Transport } from '../image/image.js';
import { chain } from '../image/stream.js';
import {
  compressionOfMediaType,
  isForeignLayerMediaType,
  isIndexMediaType,
  isManifestMediaType,
  isSchema1Manifest,
  type Compression,
} from '../image/media-types.js';
import {
  formatPlatform,
  type Descriptor,
  type HistoryEntry,
  type ImageConfig,
  type Index,
  type Manifest,
  type Platform,
} from '../image/types.js';
import type { BlobStore } from '../image/blob-store.js';

export interface PlatformWanted {
  os: string;
  architecture: string;
  variant?: string;
}

/** `linux/arm64/v8` -> { os, architecture, variant }. */
export function parsePlatform(text: string): PlatformWanted {
  const [os, architecture, variant, ...rest] = text.split('/');
  if (!os || !architecture || rest.length > 0) {
    throw usageError(`--platform: ${JSON.stringify(text)} is not os/arch[/variant]`, { hint: 'for example linux/amd64 or linux/arm/v7' });
  }
  return { os, architecture, variant: variant || undefined };
}

export function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (error) {
    throw badInput(`${what}: not valid JSON (${(error as Error).message})`);
  }
}

/** Attestation and signature manifests sit in indexes beside images; they are never images. */
export function isAttestation(descriptor: Descriptor): boolean {
  const annotations = descriptor.annotations ?? {};
  if (annotations['vnd.docker.reference.type'] === 'attestation-manifest') return true;
  if (descriptor.platform?.os === 'unknown' && descriptor.platform?.architecture === 'unknown') return true;
  return descriptor.artifactType !== undefined && descriptor.artifactType !== '';
}

function platformMatches(platform: Platform | undefined, wanted: PlatformWanted): boolean {
  if (!platform) return false;
  if (platform.os !== wanted.os || platform.architecture !== wanted.architecture) return false;
  if (!wanted.variant) return true;
  return (platform.variant ?? defaultVariant(platform.architecture)) === wanted.variant;
}

// containerd treats these as equal: arm64 without a variant is v8.
function defaultVariant(architecture: string): string | undefined {
  return architecture === 'arm64' ? 'v8' : undefined;
}

/** Picks the one image manifest of an index for the wanted platform, or explains why it cannot. */
export function selectFromIndex(
  index: Index,
  wanted: PlatformWanted | undefined,
  what: string,
): Descriptor {
  if (!Array.isArray(index.manifests)) throw badInput(`${what}: index has no manifests list`);
  const images = index.manifests.filter((descriptor) => !isAttestation(descriptor));
  const listed = () =>
    images.map((descriptor) => formatPlatform(descriptor.platform)).join(', ') || 'none';
  if (wanted) {
    const matching = images.filter((descriptor) => platformMatches(descriptor.platform, wanted));
    if (matching.length === 0) {
      throw usageError(`${what}: no image for platform ${formatPlatform(wanted)}`, { hint: `platforms present: ${listed()}` });
    }
    return matching[0];
  }
  if (images.length === 1) return images[0];
  if (images.length === 0) throw badInput(`${what}: index lists no image manifests`);
  throw usageError(`${what}: index holds ${images.length} platforms, choose one with --platform`, {
    hint: `platforms present: ${listed()}`,
  });
}

export interface ResolvedManifest {
  manifest: JsonBlob<Manifest> & { mediaType: string };
  index?: { digest: string; mediaType: string };
  platform?: Platform;
}

/** Follows a descriptor through (possibly nested) indexes to one image manifest. */
export async function resolveManifest(
  store: BlobStore,
  descriptor: Descriptor,
  wanted: PlatformWanted | undefined,
  what: string,
  parentIndex?: { digest: string; mediaType: string },
  depth = 0,
): Promise<ResolvedManifest> {
  if (depth > 4) throw badInput(`${what}: indexes nested more than 4 deep`);
  assertDigest(descriptor.digest, `${what}: manifest descriptor`);
  const bytes = await store.readBlob(descriptor.digest, `${what}: manifest ${descriptor.digest}`);
  const parsed = parseJson<Manifest & Index>(bytes, `${what}: manifest ${descriptor.digest}`);
  const mediaType = parsed.mediaType ?? descriptor.mediaType;
  if (isSchema1Manifest(mediaType, parsed)) throw schema1Refused(`${what}: manifest ${descriptor.digest}`);
  if (isIndexMediaType(mediaType) || (mediaType === undefined && Array.isArray(parsed.manifests))) {
    const chosen = selectFromIndex(parsed, wanted, what);
    const resolved = await resolveManifest(
      store,
      chosen,
      wanted,
      what,
      { digest: descriptor.digest, mediaType: mediaType ?? 'application/vnd.oci.image.index.v1+json' },
      depth + 1,
    );
    return { ...resolved, platform: resolved.platform ?? chosen.platform };
  }
  if (!isManifestMediaType(mediaType) && !(parsed.config && Array.isArray(parsed.layers))) {
    throw unsupported(`${what}: ${descriptor.digest} is not an image manifest (media type ${mediaType ?? 'missing'})`);
  }
  if (!parsed.config || !Array.isArray(parsed.layers)) {
    throw badInput(`${what}: manifest ${descriptor.digest} lacks config or layers`);
  }
  return {
    manifest: { digest: descriptor.digest, bytes, parsed, mediaType: mediaType ?? descriptor.mediaType },
    index: parentIndex,
    platform: descriptor.platform,
  };
}

/** Schema 1 has no config blob and no diff_ids: there is no image ID to normalize, so it is refused. */
export function schema1Refused(what: string) {
  return unsupported(`${what} is a Docker schema 1 manifest (deprecated, no config blob or diff_ids), which oci-repro does not read`, {
    hint: 'convert it first: skopeo copy --format v2s2 (or --format oci) SOURCE DEST',
  });
}

/** Parses and checks an image config: "JSON that is not an image" stops here. */
export function parseConfig(bytes: Buffer, digest: string, what: string): JsonBlob<ImageConfig> {
  const parsed = parseJson<ImageConfig>(bytes, what);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw badInput(`${what}: not an image config (expected a JSON object)`);
  }
  const rootfs: unknown = parsed.rootfs;
  if (rootfs === null || typeof rootfs !== 'object' || Array.isArray(rootfs)) {
    throw badInput(`${what}: not an image config (no rootfs)`);
  }
  const { type, diff_ids: diffIds } = rootfs as { type?: unknown; diff_ids?: unknown };
  if (diffIds === undefined || diffIds === null) {
    // Go-written Docker configs omit diff_ids when there are no layers, Go's OCI types write null:
    // an image without layers, which the manifest's layer count must then confirm (configDiffIds).
    if (type === 'layers') return { digest, bytes, parsed };
    throw badInput(`${what}: not an image config (no rootfs.diff_ids)`);
  }
  if (!Array.isArray(diffIds)) throw badInput(`${what}: not an image config (rootfs.diff_ids is not a list)`);
  diffIds.forEach((diffId, i) => assertDigest(diffId, `${what}: rootfs.diff_ids[${i}]`));
  return { digest, bytes, parsed };
}

/** The config's diff_ids after `parseConfig`: an absent or null list is an empty one. */
export function configDiffIds(config: ImageConfig): readonly string[] {
  const diffIds: unknown = config.rootfs?.diff_ids;
  return Array.isArray(diffIds) ? (diffIds as string[]) : [];
}

/** `rootfs.diff_ids has N` or `the config has no rootfs.diff_ids`, for layer-count mismatches. */
export function describeDiffIds(config: ImageConfig): string {
  const diffIds: unknown = config.rootfs?.diff_ids;
  return Array.isArray(diffIds) ? `rootfs.diff_ids has ${diffIds.length}` : 'the config has no rootfs.diff_ids';
}

/** The history entry of each layer: entries marked empty_layer made no layer. */
export function alignHistory(history: HistoryEntry[] | undefined, layerCount: number): (HistoryEntry | undefined)[] {
  const made = (history ?? []).filter((entry) => !entry.empty_layer);
  return Array.from({ length: layerCount }, (_, i) => made[i]);
}

export interface LayerSpec {
  descriptor: Descriptor;
  diffId: string;
  compression: Compression;
  foreign: boolean;
  history?: HistoryEntry;
  /** Opens the stored blob; verified against descriptor.digest unless `verifyBlob` is false. */
  open: () => Promise<Readable>;
  verifyBlob?: boolean;
}

/** The context of a layer's messages: `layer N (digest) of REFERENCE`. */
export function layerWhat(index: number, digest: string, imageWhat: string): string {
  return `layer ${index} (${digest}) of ${imageWhat}`;
}

/** A layer's tar from its blob: decompressed, and checked against its diff_id at end of stream. */
export async function openLayerTar(blob: Readable, layer: Pick<Layer, 'compression' | 'diffId'>, what: string): Promise<Readable> {
  const tar = await openDecompressed(blob, layer.compression, what);
  return chain(tar, new VerifyingStream(layer.diffId, `${what}: diff_id`));
}

export function makeLayer(spec: LayerSpec, index: number, imageWhat: string): Layer {
  const what = layerWhat(index, spec.descriptor.digest, imageWhat);
  const openBlob = async (): Promise<Readable> => {
    if (spec.foreign) {
      throw unsupported(`${what}: foreign layer whose blob is not included`, {
        hint: 'foreign (non-distributable) layers are carried as descriptors only',
      });
    }
    const raw = await spec.open();
    if (spec.verifyBlob === false) return raw;
    return chain(raw, new VerifyingStream(spec.descriptor.digest, what, spec.descriptor.size));
  };
  return {
    index,
    descriptor: spec.descriptor,
    diffId: spec.diffId,
    compression: spec.compression,
    foreign: spec.foreign,
    history: spec.history,
    openBlob,
    openTar: async () => openLayerTar(await openBlob(), spec, what),
  };
}

/** Builds the lazy Image from a resolved manifest on a blob store. */
export async function assembleImage(
  reference: string,
  transport: Transport,
  store: BlobStore,
  resolved: ResolvedManifest,
  close: () => Promise<void> = async () => {},
): Promise<Image> {
  const { manifest } = resolved;
  const configDescriptor = manifest.parsed.config;
  assertDigest(configDescriptor?.digest, `${reference}: config descriptor`);
  const configWhat = `${reference}: config ${configDescriptor.digest}`;
  const config = parseConfig(await store.readBlob(configDescriptor.digest, configWhat), configDescriptor.digest, configWhat);
  const diffIds = configDiffIds(config.parsed);
  const descriptors = manifest.parsed.layers;
  if (descriptors.length !== diffIds.length) {
    throw badInput(`${reference}: manifest lists ${descriptors.length} layers but ${describeDiffIds(config.parsed)}`);
  }
  const history = alignHistory(config.parsed.history, descriptors.length);
  const layers: Layer[] = [];
  for (const [i, descriptor] of descriptors.entries()) {
    assertDigest(descriptor?.digest, `${reference}: layer ${i} descriptor`);
    const compression = compressionOfMediaType(descriptor.mediaType);
    if (compression === undefined) {
      throw unsupported(`${reference}: layer ${i} has unsupported media type ${descriptor.mediaType}`);
    }
    const foreign = isForeignLayerMediaType(descriptor.mediaType) && !(await store.hasBlob(descriptor.digest));
    if (!foreign && !(await store.hasBlob(descriptor.digest))) {
      throw badInput(`${reference}: layer ${i} blob ${descriptor.digest} is missing`, {
        hint: 'the image was written incompletely or copied without its blobs',
      });
    }
    layers.push(
      makeLayer(
        {
          descriptor,
          diffId: diffIds[i],
          compression,
          foreign,
          history: history[i],
          open: () => store.openBlob(descriptor.digest),
        },
        i,
        reference,
      ),
    );
  }
  const platform: Platform | undefined =
    config.parsed.architecture && config.parsed.os
      ? {
          os: config.parsed.os,
          architecture: config.parsed.architecture,
          ...(typeof config.parsed.variant === 'string' ? { variant: config.parsed.variant } : {}),
        }
      : resolved.platform;
  return { reference, transport, manifest, index: resolved.index, config, platform, layers, close };
}

