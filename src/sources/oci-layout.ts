import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { badInput, usageError, withContext } from '../errors.js';
import type { BlobStore } from '../image/blob-store.js';
import type { Image, Transport } from '../image/image.js';
import type { Descriptor, Index } from '../image/types.js';
import { ArchiveIndex } from './archive-index.js';
import { assembleImage, parseJson, resolveManifest, selectFromIndex, type PlatformWanted } from './assemble.js';
import { ArchiveBlobStore, DirectoryBlobStore } from './blob-store.js';
import type { LoadOptions } from './options.js';

const refNameKeys = ['org.opencontainers.image.ref.name', 'io.containerd.image.name'];

/** The names a layout's index.json gives a manifest descriptor. */
export function refNamesOf(descriptor: Descriptor): string[] {
  const annotations = descriptor.annotations ?? {};
  return refNameKeys.map((key) => annotations[key]).filter((name): name is string => typeof name === 'string');
}

/** Does the layout's ref name match what the user typed (`latest`, `app:latest`, `docker.io/library/app:latest`)? */
export function refNameMatches(names: string[], wanted: string): boolean {
  return names.some(
    (name) =>
      name === wanted ||
      name.endsWith(`:${wanted}`) ||
      name === `docker.io/library/${wanted}` ||
      name === `docker.io/${wanted}`,
  );
}

/** Chooses the manifest descriptor of an OCI layout's index.json, by tag, by platform, or as the only one. */
export function selectFromLayoutIndex(
  index: Index,
  tag: string | undefined,
  platform: PlatformWanted | undefined,
  what: string,
): Descriptor {
  if (!index || !Array.isArray(index.manifests)) throw badInput(`${what}: index.json has no manifests list`);
  let candidates = index.manifests;
  if (tag !== undefined) {
    candidates = candidates.filter((descriptor) => refNameMatches(refNamesOf(descriptor), tag));
    if (candidates.length === 0) {
      throw usageError(`${what}: no image tagged ${JSON.stringify(tag)}`, { hint: `tags present: ${listTags(index)}` });
    }
  }
  if (candidates.length === 1) return candidates[0];
  const names = new Set(candidates.flatMap(refNamesOf));
  if (names.size > 1) {
    throw usageError(`${what}: holds ${names.size} images, choose one with :TAG`, { hint: `tags present: ${listTags(index)}` });
  }
  // Several untagged (or same-tagged) manifests with platforms: index.json itself is the platform index.
  return selectFromIndex({ schemaVersion: 2, manifests: candidates }, platform, what);
}

function listTags(index: Index): string {
  return [...new Set(index.manifests.flatMap(refNamesOf))].join(', ') || 'none';
}

async function loadFromLayout(
  reference: string,
  transport: Transport,
  store: BlobStore,
  indexBytes: Buffer,
  tag: string | undefined,
  options: LoadOptions,
  close?: () => Promise<void>,
): Promise<Image> {
  const index = parseJson<Index>(indexBytes, `${reference}: index.json`);
  const chosen = selectFromLayoutIndex(index, tag, options.platform, reference);
  const resolved = await resolveManifest(store, chosen, options.platform, reference);
  return assembleImage(reference, transport, store, resolved, close);
}

export async function loadOciDirectory(reference: string, dir: string, tag: string | undefined, options: LoadOptions): Promise<Image> {
  try {
    await stat(join(dir, 'oci-layout'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      // A missing directory is "unavailable"; an existing one without oci-layout is bad input.
      await stat(dir).catch((missing) => {
        throw withContext(reference, missing);
      });
      throw badInput(`${reference}: not an OCI image layout (no oci-layout file)`);
    }
    throw withContext(reference, error);
  }
  const indexBytes = await readFile(join(dir, 'index.json')).catch((error) => {
    throw (error as NodeJS.ErrnoException).code === 'ENOENT'
      ? badInput(`${reference}: OCI image layout without index.json`)
      : withContext(reference, error);
  });
  return loadFromLayout(reference, 'oci', new DirectoryBlobStore(dir, reference), indexBytes, tag, options);
}

export async function loadOciArchive(
  reference: string,
  archive: ArchiveIndex,
  tag: string | undefined,
  options: LoadOptions,
): Promise<Image> {
  const indexMember = archive.resolve('index.json');
  if (!indexMember) throw badInput(`${reference}: not an oci-archive (no index.json)`);
  const indexBytes = await archive.readMember(indexMember);
  return loadFromLayout(reference, 'oci-archive', new ArchiveBlobStore(archive, reference), indexBytes, tag, options);
}
