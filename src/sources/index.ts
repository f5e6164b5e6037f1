import { stat } from 'node:fs/promises';
import { badInput, withContext } from '../errors.js';
import type { Image } from '../image/image.js';
import { ArchiveIndex } from './archive-index.js';
import { loadDaemonImage } from './daemon.js';
import { isDirTransport, loadDirTransport } from './dir.js';
import { loadDockerArchive } from './docker-archive.js';
import { loadOciArchive, loadOciDirectory } from './oci-layout.js';
import type { LoadOptions } from './options.js';
import { parseReference, type ImageReference } from './reference.js';
import { nextProgressImage, observeBlobReads } from './progress.js';
import { loadRegistryImage } from './registry.js';

export type { DaemonOptions, LoadOptions } from './options.js';
export { parsePlatform, type PlatformWanted } from './assemble.js';
export { parseReference, type ImageReference } from './reference.js';

/** Opens an image from a reference string (`docker-archive:a.tar`, `oci:dir:tag`, a bare path, ...). */
export async function loadImage(referenceText: string, options: LoadOptions = {}): Promise<Image> {
  const reference = parseReference(referenceText);
  const progressImage = options.onProgress ? nextProgressImage() : 0;
  try {
    const image = await loadParsed(reference, options);
    return options.onProgress ? observeBlobReads(image, options.onProgress, progressImage, options.platform !== undefined) : image;
  } catch (error) {
    throw withContext(reference.text, error);
  }
}

async function loadParsed(reference: ImageReference, options: LoadOptions): Promise<Image> {
  const { text, location, selector } = reference;
  switch (reference.transport) {
    case 'oci':
      return loadOciDirectory(text, location, selector, options);
    case 'oci-archive':
      return loadOciArchive(text, await openArchive(location), selector, options);
    case 'docker-archive':
      return loadDockerArchive(text, await openArchive(location), selector, options);
    case 'docker':
      return loadRegistryImage(text, location, options);
    case 'docker-daemon':
      return loadDaemonImage(text, location, options);
    case 'dir':
      return loadDirTransport(text, location, options);
    case undefined:
      return loadDetected(reference, options);
  }
}

/** A bare path: an OCI layout or skopeo dir: directory, or a tar that is a docker save or an oci-archive. */
async function loadDetected(reference: ImageReference, options: LoadOptions): Promise<Image> {
  const info = await stat(reference.location);
  if (info.isDirectory()) {
    const isLayout = await stat(`${reference.location}/oci-layout`).then(() => true, () => false);
    if (!isLayout && (await isDirTransport(reference.location))) return loadDirTransport(reference.text, reference.location, options);
    return loadOciDirectory(reference.text, reference.location, undefined, options);
  }
  const archive = await openArchive(reference.location);
  if (archive.has('manifest.json')) return loadDockerArchive(reference.text, archive, undefined, options);
  if (archive.has('index.json')) return loadOciArchive(reference.text, archive, undefined, options);
  throw badInput(`${reference.text}: neither a docker save archive nor an oci-archive (no manifest.json or index.json)`);
}

async function openArchive(path: string): Promise<ArchiveIndex> {
  const info = await stat(path);
  if (info.isDirectory()) throw badInput(`${path} is a directory, not an archive`, { hint: 'use oci:DIR for an OCI layout directory' });
  return ArchiveIndex.open(path);
}
