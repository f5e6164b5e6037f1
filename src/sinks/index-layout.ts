/**
 * Writing a normalized multi-platform index: an OCI image index (deterministic bytes: manifests sorted
 * by platform, fixed key order, no whitespace) listing each platform's normalized manifest with its
 * platform, in an OCI layout whose index.json names that index (tagged), as `buildah manifest push
 * --all oci:DIR:TAG` and `skopeo copy --all` write it.
 *
 * A docker-archive cannot hold it: `docker save` archives name images by tag, and the platforms of one
 * index would be several images under one tag, of which `docker load` keeps one. Writing one is refused
 * before any layer is read; `--platform` writes one platform's image to a docker-archive.
 */
import { usageError, withContext } from '../errors.js';
import { sha256 } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import type { Platform } from '../image/types.js';
import { writeAtomically } from './atomic.js';
import {
  blobMembers,
  ociLayoutBytes,
  refNameAnnotation,
  writeMembersToDirectory,
  writeMembersToTar,
  type LayoutMember,
} from './oci-layout.js';
import { checkOutputImage, describeBlob, describePlatform, sortAnnotations, type OutputBlob, type OutputImage } from './output-image.js';
import { parseDestination, type OutputDestination, type WriteOptions, type WriteResult } from './write.js';
import { comparePlatformKeys } from '../image/types.js';

export interface OutputIndexEntry {
  image: OutputImage;
  platform: Platform;
}

export interface OutputIndex {
  /** The exact index bytes. */
  index: OutputBlob & { bytes: Buffer };
  /** In the index's order. */
  images: OutputIndexEntry[];
}

const platformText = (p: Platform) => [p.os, p.architecture, p.variant ?? ''].join('/');

/** The OCI image index of the images, sorted by platform: the same images always give the same bytes. */
export function buildOutputIndex(entries: readonly OutputIndexEntry[], annotations: Record<string, string> = {}): OutputIndex {
  const images = [...entries].sort((a, b) => comparePlatformKeys(platformText(a.platform), platformText(b.platform)));
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: images.map(({ image, platform }) => ({ ...describeBlob(image.manifest), platform: describePlatform(platform) })),
    ...(Object.keys(annotations).length > 0 ? { annotations: sortAnnotations(annotations) } : {}),
  };
  const bytes = Buffer.from(JSON.stringify(index), 'utf8');
  return { index: { digest: sha256(bytes), size: bytes.length, mediaType: MediaType.ociIndex, bytes }, images };
}

/** A docker-archive destination is refused for an index; the others are parsed as for one image. */
export function parseIndexDestination(destination: string, options: WriteOptions = {}): OutputDestination {
  const target = parseDestination(destination, options);
  if (target.format === 'docker-archive') {
    throw usageError(`${destination}: a docker-archive cannot hold a multi-platform index`, {
      hint: 'write oci:DIR, oci-archive:PATH or docker://REGISTRY/REPO:TAG, or one platform with --platform',
    });
  }
  return target;
}

/** oci-layout, index.json naming the index (with the tag as its ref name), the index and every image's blobs. */
export function indexLayoutMembers(output: OutputIndex, tag: string | undefined): LayoutMember[] {
  const descriptor = {
    ...describeBlob(output.index),
    ...(tag !== undefined ? { annotations: { [refNameAnnotation]: tag } } : {}),
  };
  const top = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [descriptor] }), 'utf8');
  const members = new Map<string, LayoutMember>();
  const add = (member: LayoutMember) => {
    if (!members.has(member.path)) members.set(member.path, member);
  };
  add({ path: 'oci-layout', size: ociLayoutBytes.length, bytes: ociLayoutBytes, what: 'oci-layout' });
  add({ path: 'index.json', size: top.length, bytes: top, what: 'index.json' });
  add({ path: `blobs/sha256/${output.index.digest.slice('sha256:'.length)}`, size: output.index.size, bytes: output.index.bytes, digest: output.index.digest, what: `index ${output.index.digest}` });
  for (const { image } of output.images) for (const member of blobMembers(image)) add(member);
  return [...members.values()];
}

/** Writes the index to oci:DIR or oci-archive:PATH, atomically, as writeImage writes one image. */
export async function writeIndex(destination: string, output: OutputIndex, options: WriteOptions = {}): Promise<WriteResult> {
  try {
    const target = parseIndexDestination(destination, options);
    for (const { image } of output.images) checkOutputImage(image);
    const members = indexLayoutMembers(output, target.tag);
    const overwrite = options.overwrite ?? false;
    if (target.format === 'oci') {
      await writeAtomically(target.path, 'directory', overwrite, (temp) => writeMembersToDirectory(temp, members));
    } else {
      await writeAtomically(target.path, 'file', overwrite, (temp) => writeMembersToTar(temp, members));
    }
    const base = `${target.format}:${target.path}`;
    return { reference: target.tag === undefined ? base : `${base}:${target.tag}`, format: target.format };
  } catch (error) {
    throw withContext(`writing ${destination}`, error);
  }
}
