/**
 * docker-archive output, in the form Docker 25+ `docker save` writes: an OCI image layout (oci-layout,
 * index.json, blobs/sha256/...) plus `manifest.json`, whose Config and Layers name blobs of that layout.
 *
 * - Docker before 25 (and the graph-driver store of 25+), podman and skopeo load through manifest.json;
 *   Docker's containerd store, containerd and our own reader load through index.json and so keep the
 *   manifest, and its digest, exactly.
 * - Layers are the same compressed blobs as in the OCI outputs, not uncompressed tars as Docker itself
 *   saves them: `docker load` has decompressed manifest.json layers since manifest.json exists
 *   (Docker 1.10), skopeo and podman do too, and so the archive carries the one manifest that the oci
 *   outputs carry, at a fraction of the size, without needing the uncompressed tar on disk.
 * - No legacy `repositories` file and no `<id>/layer.tar` directories: every loader since Docker 1.10
 *   reads manifest.json first.
 */
import { usageError } from '../errors.js';
import { writeAtomically } from './atomic.js';
import { blobMemberPath, layoutMembers, refNameAnnotation, writeMembersToTar, type LayoutMember } from './oci-layout.js';
import { describeBlob, isForeignOutputLayer, type OutputImage } from './output-image.js';

/** What containerd and Docker's containerd store read as the image name from index.json. */
export const imageNameAnnotation = 'io.containerd.image.name';

/** A `name:tag` for a docker-archive, in the two spellings Docker writes. */
export interface RepoTag {
  /** `app:1.0`, `quay.io/org/app:1.0`: what `docker images` shows and manifest.json's RepoTags holds. */
  familiar: string;
  /** `docker.io/library/app:1.0`: the io.containerd.image.name annotation. */
  full: string;
  tag: string;
}

const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const domainPattern = /^(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::[0-9]+)?$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;

/** Parses `NAME[:TAG]` as Docker does (tag defaults to latest); refuses digests and invalid names. */
export function parseRepoTag(text: string): RepoTag {
  const invalid = (why: string) =>
    usageError(`${JSON.stringify(text)} is not a valid image name for a docker-archive: ${why}`, {
      hint: 'use NAME[:TAG] with a lower-case name, for example app:1.0 or registry.example.com/team/app:1.0',
    });
  if (text.includes('@')) throw invalid('a docker-archive names images by tag, not by digest');
  const lastSlash = text.lastIndexOf('/');
  const colon = text.indexOf(':', lastSlash + 1);
  const name = colon < 0 ? text : text.slice(0, colon);
  const tag = colon < 0 ? 'latest' : text.slice(colon + 1);
  if (!tagPattern.test(tag)) throw invalid(`invalid tag ${JSON.stringify(tag)}`);
  if (name === '' || name.length > 255) throw invalid('the name must have 1 to 255 characters');

  const parts = name.split('/');
  let domain = 'docker.io';
  const first = parts[0];
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    if (!domainPattern.test(first)) throw invalid(`invalid registry ${JSON.stringify(first)}`);
    domain = first === 'index.docker.io' ? 'docker.io' : first;
    parts.shift();
  }
  for (const part of parts) if (!pathComponent.test(part)) throw invalid(`invalid name component ${JSON.stringify(part)}`);
  if (domain === 'docker.io' && parts.length === 1) parts.unshift('library');
  const path = parts.join('/');
  const familiarPath = domain === 'docker.io' ? (parts.length === 2 && parts[0] === 'library' ? parts[1] : path) : `${domain}/${path}`;
  return { familiar: `${familiarPath}:${tag}`, full: `${domain}/${path}:${tag}`, tag };
}

/** manifest.json: one entry whose paths are blobs of the layout; foreign layers also in LayerSources. */
export function buildSaveManifest(image: OutputImage, repoTag: RepoTag | undefined): Buffer {
  const foreign = image.layers.filter(isForeignOutputLayer);
  const entry = {
    Config: blobMemberPath(image.config.digest),
    RepoTags: repoTag ? [repoTag.familiar] : [],
    Layers: image.layers.map((layer) => blobMemberPath(layer.digest)),
    ...(foreign.length > 0
      ? { LayerSources: Object.fromEntries(foreign.map((layer) => [layer.diffId, describeBlob(layer)])) }
      : {}),
  };
  return Buffer.from(JSON.stringify([entry]), 'utf8');
}

/** Every member of the archive: the OCI layout (tagged as Docker tags it) plus manifest.json. */
export function dockerArchiveMembers(image: OutputImage, repoTag: RepoTag | undefined): LayoutMember[] {
  const annotations: Record<string, string> = repoTag ? { [imageNameAnnotation]: repoTag.full, [refNameAnnotation]: repoTag.tag } : {};
  const saveManifest = buildSaveManifest(image, repoTag);
  return [
    ...layoutMembers(image, annotations),
    { path: 'manifest.json', size: saveManifest.length, bytes: saveManifest, what: 'manifest.json' },
  ];
}

export interface DockerArchiveWriteOptions {
  /** `NAME[:TAG]`; without it the image is written untagged. */
  tag?: string;
  overwrite?: boolean;
}

export async function writeDockerArchive(dest: string, image: OutputImage, options: DockerArchiveWriteOptions = {}): Promise<void> {
  const repoTag = options.tag === undefined ? undefined : parseRepoTag(options.tag);
  const members = dockerArchiveMembers(image, repoTag);
  await writeAtomically(dest, 'file', options.overwrite ?? false, (temp) => writeMembersToTar(temp, members));
}
