/**
 * What a reference names at its top: one image, or a multi-platform index (OCI image index or Docker
 * manifest list) and the manifests it lists. Whole-index commands (verify, normalize, inspect without
 * --platform) read this first and then load each platform's image with `loadImage` and that platform,
 * so every source keeps its one way of opening an image.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { badInput, unsupported, withContext } from '../errors.js';
import { sha256 } from '../image/digest.js';
import { isIndexMediaType, MediaType } from '../image/media-types.js';
import { formatPlatform, type Descriptor, type Index, type Platform } from '../image/types.js';
import { RegistryClient } from '../registry/client.js';
import { manifestReferenceOf, parseRegistryReference } from '../registry/reference.js';
import { ArchiveIndex } from './archive-index.js';
import { isAttestation, parseJson, type PlatformWanted } from './assemble.js';
import type { BlobStore } from '../image/blob-store.js';
import { ArchiveBlobStore, DirectoryBlobStore } from './blob-store.js';
import { refNameMatches, refNamesOf, selectFromLayoutIndex } from './oci-layout.js';
import type { LoadOptions } from './options.js';
import { parseReference } from './reference.js';

/** One manifest an index lists. */
export interface IndexedManifest {
  digest: string;
  mediaType: string;
  size: number;
  /** `os/arch[/variant]`, or null when the descriptor names none. */
  platform: string | null;
  /** The descriptor's platform object, as listed. */
  platformObject?: Platform;
  /** Attestation and signature manifests: listed, never taken for images. */
  attestation: boolean;
}

export interface IndexListing {
  reference: string;
  /** The index's digest; for an OCI layout whose index.json is itself the platform index, sha256 of index.json. */
  digest: string;
  mediaType: string;
  manifests: IndexedManifest[];
}

/** The images of a listing: the manifests that are not attestations. */
export function imageManifests(listing: IndexListing): IndexedManifest[] {
  return listing.manifests.filter((manifest) => !manifest.attestation);
}

/**
 * The key two indexes are matched by: `os/arch[/variant]`, with arm64's default variant v8 left out
 * (containerd treats `linux/arm64` and `linux/arm64/v8` as one platform).
 */
export function platformKey(platform: Pick<Platform, 'os' | 'architecture' | 'variant'>): string {
  const variant = platform.architecture === 'arm64' && platform.variant === 'v8' ? undefined : platform.variant;
  return formatPlatform({ ...platform, variant });
}

/** Runs one platform's work of a whole-index command; its errors name the platform first. */
export async function forPlatform<T>(platform: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw withContext(`platform ${platform}`, error);
  }
}

/** The --platform value that picks this manifest from its index again. */
export function platformWanted(manifest: IndexedManifest): PlatformWanted {
  const platform = manifest.platformObject!;
  return { os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) };
}

/** Image manifests by platform key; an index must name each image's platform, once. */
export function manifestsByPlatform(listing: IndexListing): Map<string, IndexedManifest> {
  const byKey = new Map<string, IndexedManifest>();
  for (const manifest of imageManifests(listing)) {
    if (!manifest.platformObject || manifest.platform === null) {
      throw badInput(`${listing.reference}: index ${listing.digest} lists manifest ${manifest.digest} without a platform`);
    }
    const key = platformKey(manifest.platformObject);
    if (byKey.has(key)) {
      throw unsupported(`${listing.reference}: index ${listing.digest} lists platform ${key} twice`, {
        hint: 'choose one image with --platform, or compare the manifests by digest',
      });
    }
    byKey.set(key, manifest);
  }
  return byKey;
}

function listManifests(index: Index, what: string): IndexedManifest[] {
  if (!Array.isArray(index.manifests)) throw badInput(`${what}: index has no manifests list`);
  return index.manifests.map((descriptor: Descriptor, i) => {
    if (!descriptor || typeof descriptor.digest !== 'string') throw badInput(`${what}: index entry ${i} has no digest`);
    const platform = descriptor.platform;
    return {
      digest: descriptor.digest,
      mediaType: descriptor.mediaType,
      size: descriptor.size,
      platform: platform?.os && platform.architecture ? formatPlatform(platform) : null,
      ...(platform ? { platformObject: platform } : {}),
      attestation: isAttestation(descriptor),
    };
  });
}

/**
 * The index a reference names, or undefined when it names one image (a manifest, a docker save
 * archive, a daemon image). Only the top documents are read; no layer is opened.
 */
export async function listIndex(referenceText: string, options: LoadOptions = {}): Promise<IndexListing | undefined> {
  const reference = parseReference(referenceText);
  try {
    const { text, location, selector } = reference;
    // What is missing or not a layout at all is left to loadImage, which names it.
    const local = reference.transport === 'docker' ? undefined : await stat(location).catch(() => undefined);
    const layoutIndex = async () => (local?.isDirectory() ? readFile(join(location, 'index.json')).catch(() => undefined) : undefined);
    switch (reference.transport as string | undefined) {
      case 'oci': {
        const indexBytes = await layoutIndex();
        return indexBytes && (await listLayout(text, new DirectoryBlobStore(location, text), indexBytes, selector));
      }
      case 'oci-archive':
        return local?.isFile() ? await listArchive(text, await ArchiveIndex.open(location), selector) : undefined;
      case 'docker':
        return await listRegistry(text, location, options);
      case undefined: {
        if (!local?.isFile() && !local?.isDirectory()) return undefined;
        if (local.isDirectory()) {
          const indexBytes = await layoutIndex();
          return indexBytes ? await listLayout(text, new DirectoryBlobStore(location, text), indexBytes, undefined) : undefined;
        }
        const archive = await ArchiveIndex.open(location);
        // A docker save archive names its images in manifest.json: one image each.
        if (archive.has('manifest.json') || !archive.has('index.json')) return undefined;
        return await listArchive(text, archive, undefined);
      }
      default:
        // docker-archive, docker-daemon and any other source hold single images.
        return undefined;
    }
  } catch (error) {
    throw withContext(reference.text, error);
  }
}

async function listArchive(text: string, archive: ArchiveIndex, tag: string | undefined): Promise<IndexListing | undefined> {
  const member = archive.resolve('index.json');
  if (!member) return undefined;
  return listLayout(text, new ArchiveBlobStore(archive, text), await archive.readMember(member), tag);
}

/** index.json naming one (tagged) index, or index.json itself listing several platforms. */
async function listLayout(text: string, store: BlobStore, indexBytes: Buffer, tag: string | undefined): Promise<IndexListing | undefined> {
  const top = parseJson<Index>(indexBytes, `${text}: index.json`);
  if (!top || !Array.isArray(top.manifests)) throw badInput(`${text}: index.json has no manifests list`);
  const candidates = tag === undefined ? top.manifests : top.manifests.filter((d) => refNameMatches(refNamesOf(d), tag));
  if (candidates.length > 1 && candidates.some((d) => d.platform) && new Set(candidates.flatMap(refNamesOf)).size <= 1) {
    // Several untagged manifests with platforms: index.json itself is the platform index.
    return {
      reference: text,
      digest: sha256(indexBytes),
      mediaType: top.mediaType ?? MediaType.ociIndex,
      manifests: listManifests({ ...top, manifests: candidates }, text),
    };
  }
  // The loader's own choice (by tag, or the only one), with its errors; no platform: a nested index stays whole.
  const chosen = selectFromLayoutIndex(top, tag, undefined, text);
  return listNested(text, store, chosen);
}

/** The descriptor's document, when it is an index. */
async function listNested(text: string, store: BlobStore, descriptor: Descriptor): Promise<IndexListing | undefined> {
  const bytes = await store.readBlob(descriptor.digest, `${text}: manifest ${descriptor.digest}`);
  return listDocument(text, descriptor.digest, descriptor.mediaType, bytes);
}

function listDocument(text: string, digest: string, mediaType: string | undefined, bytes: Buffer): IndexListing | undefined {
  const parsed = parseJson<Index>(bytes, `${text}: manifest ${digest}`);
  const type = parsed.mediaType ?? mediaType;
  if (!isIndexMediaType(type) && !(type === undefined && Array.isArray(parsed.manifests))) return undefined;
  const manifests = listManifests(parsed, text);
  // Indexes of indexes are left to loadImage, which follows them to one image as it always has.
  if (manifests.some((manifest) => !manifest.attestation && isIndexMediaType(manifest.mediaType))) return undefined;
  return { reference: text, digest, mediaType: type ?? MediaType.ociIndex, manifests };
}

async function listRegistry(text: string, location: string, options: LoadOptions): Promise<IndexListing | undefined> {
  const reference = parseRegistryReference(location);
  const client = RegistryClient.forPull(reference, options);
  try {
    const wanted = manifestReferenceOf(reference);
    const top = await client.getManifest(wanted, `manifest ${wanted}`);
    return listDocument(text, top.digest, top.mediaType, top.bytes);
  } finally {
    client.close();
  }
}
