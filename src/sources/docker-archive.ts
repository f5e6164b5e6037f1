import { createHash } from 'node:crypto';
import { badInput, usageError } from '../errors.js';
import { detectCompression } from '../image/compression.js';
import { assertDigest, sha256 } from '../image/digest.js';
import type { Image, Layer } from '../image/image.js';
import { layerMediaType } from '../image/media-types.js';
import type { Descriptor, Index } from '../image/types.js';
import type { ArchiveIndex, ArchiveMember } from './archive-index.js';
import { alignHistory, configDiffIds, describeDiffIds, makeLayer, parseConfig, parseJson, resolveManifest, assembleImage } from './assemble.js';
import { ArchiveBlobStore } from './blob-store.js';
import type { LoadOptions } from './options.js';
import { safeArchivePath } from './paths.js';

/** One entry of `docker save`'s manifest.json. */
interface SaveManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
  LayerSources?: Record<string, Descriptor>;
}

function parseSaveManifest(bytes: Buffer, what: string): SaveManifestEntry[] {
  const entries = parseJson<unknown>(bytes, `${what}: manifest.json`);
  if (!Array.isArray(entries) || entries.length === 0) {
    throw badInput(`${what}: manifest.json is not a docker save manifest (expected a non-empty list)`);
  }
  for (const [i, entry] of entries.entries()) {
    const e = entry as SaveManifestEntry;
    if (!e || typeof e.Config !== 'string' || !Array.isArray(e.Layers)) {
      throw badInput(`${what}: manifest.json entry ${i} lacks Config or Layers`);
    }
  }
  return entries as SaveManifestEntry[];
}

function tagMatches(repoTags: string[], wanted: string): boolean {
  const withLatest = wanted.includes(':') ? wanted : `${wanted}:latest`;
  return repoTags.some(
    (tag) => tag === wanted || tag === withLatest || tag === `docker.io/library/${withLatest}` || tag === `docker.io/${withLatest}`,
  );
}

/** Picks the image of a (possibly multi-image) docker save archive: by `name:tag`, `@N`, or as the only one. */
function selectEntry(entries: SaveManifestEntry[], selector: string | undefined, what: string): SaveManifestEntry {
  const listed = () =>
    entries.map((entry, i) => (entry.RepoTags?.length ? entry.RepoTags.join(' ') : `@${i}`)).join(', ');
  if (selector === undefined) {
    if (entries.length === 1) return entries[0];
    throw usageError(`${what}: holds ${entries.length} images, choose one with docker-archive:PATH:NAME:TAG or :@N`, {
      hint: `images present: ${listed()}`,
    });
  }
  if (/^@\d+$/.test(selector)) {
    const entry = entries[Number(selector.slice(1))];
    if (!entry) throw usageError(`${what}: no image at ${selector}`, { hint: `images present: ${listed()}` });
    return entry;
  }
  const entry = entries.find((candidate) => tagMatches(candidate.RepoTags ?? [], selector));
  if (!entry) throw usageError(`${what}: no image named ${JSON.stringify(selector)}`, { hint: `images present: ${listed()}` });
  return entry;
}

/** Finds, in the OCI layout of a Docker 25+ archive, the manifest whose config is `configDigest`. */
async function findManifestByConfig(
  store: ArchiveBlobStore,
  descriptors: Descriptor[],
  configDigest: string,
  what: string,
  depth = 0,
  parent?: { digest: string; mediaType: string },
): Promise<{ descriptor: Descriptor; parent?: { digest: string; mediaType: string } } | undefined> {
  if (depth > 4) return undefined;
  for (const descriptor of descriptors) {
    if (!descriptor || typeof descriptor.digest !== 'string' || !(await store.hasBlob(descriptor.digest))) continue;
    const document = parseJson<{ config?: Descriptor; manifests?: Descriptor[]; mediaType?: string }>(
      await store.readBlob(descriptor.digest, `${what}: manifest ${descriptor.digest}`),
      `${what}: manifest ${descriptor.digest}`,
    );
    if (document.config?.digest === configDigest) return { descriptor, parent };
    if (Array.isArray(document.manifests)) {
      const index = { digest: descriptor.digest, mediaType: document.mediaType ?? descriptor.mediaType };
      const found = await findManifestByConfig(store, document.manifests, configDigest, what, depth + 1, index);
      if (found) return found;
    }
  }
  return undefined;
}

export async function loadDockerArchive(
  reference: string,
  archive: ArchiveIndex,
  selector: string | undefined,
  options: LoadOptions,
): Promise<Image> {
  const manifestMember = archive.resolve('manifest.json');
  if (!manifestMember) throw badInput(`${reference}: not a docker save archive (no manifest.json)`);
  const entry = selectEntry(parseSaveManifest(await archive.readMember(manifestMember), reference), selector, reference);
  // Every path the manifest names is checked before any of them is opened.
  const configPath = safeArchivePath(entry.Config, `${reference}: manifest.json Config`);
  const layerPaths = entry.Layers.map((path, i) => safeArchivePath(path, `${reference}: manifest.json Layers[${i}]`));

  // Docker 25+ (and containerd-store) archives carry an OCI layout: use it for the full identity chain.
  const blobMatch = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(configPath);
  const indexMember = archive.resolve('index.json');
  if (blobMatch && indexMember && archive.has('oci-layout')) {
    const store = new ArchiveBlobStore(archive, reference);
    const index = parseJson<Index>(await archive.readMember(indexMember), `${reference}: index.json`);
    const configDigest = `sha256:${blobMatch[1]}`;
    const found = await findManifestByConfig(store, index.manifests ?? [], configDigest, reference);
    if (found) {
      const resolved = await resolveManifest(store, found.descriptor, options.platform, reference, found.parent);
      return assembleImage(reference, 'docker-archive', store, resolved);
    }
  }
  return loadLegacy(reference, archive, entry, configPath, layerPaths);
}

/** The legacy form: config and layer tars by path, no manifest, layers usually uncompressed. */
async function loadLegacy(
  reference: string,
  archive: ArchiveIndex,
  entry: SaveManifestEntry,
  configPath: string,
  layerPaths: string[],
): Promise<Image> {
  const configMember = archive.resolve(configPath);
  if (!configMember) throw badInput(`${reference}: config ${configPath} named in manifest.json is missing`);
  const configBytes = await archive.readMember(configMember);
  const configDigest = sha256(configBytes);
  const config = parseConfig(configBytes, configDigest, `${reference}: config ${configPath}`);
  const diffIds = configDiffIds(config.parsed);
  if (layerPaths.length !== diffIds.length) {
    throw badInput(`${reference}: manifest.json lists ${layerPaths.length} layers but ${describeDiffIds(config.parsed)}`);
  }
  const history = alignHistory(config.parsed.history, layerPaths.length);
  const layers: Layer[] = [];
  for (const [i, path] of layerPaths.entries()) {
    const diffId = diffIds[i];
    const member = archive.resolve(path);
    const foreignSource = entry.LayerSources?.[diffId];
    if (!member) {
      if (foreignSource) {
        assertDigest(foreignSource.digest, `${reference}: LayerSources[${diffId}]`);
        layers.push(
          makeLayer(
            { descriptor: foreignSource, diffId, compression: 'gzip', foreign: true, history: history[i], open: async () => { throw new Error("unreachable: foreign layers are never opened"); } },
            i,
            reference,
          ),
        );
        continue;
      }
      throw badInput(`${reference}: layer ${i} file ${path} named in manifest.json is missing`, {
        hint: 'the archive was written incompletely',
      });
    }
    const compression = detectCompression(await readHead(archive, member));
    // An uncompressed layer's blob digest is its diff_id; a compressed one must be hashed to be named.
    const digest = compression === 'none' ? diffId : await hashMember(archive, member);
    const descriptor: Descriptor = { mediaType: layerMediaType(compression, 'docker'), digest, size: member.size };
    layers.push(
      makeLayer(
        {
          descriptor,
          diffId,
          compression,
          foreign: false,
          history: history[i],
          open: async () => archive.openMember(member),
        },
        i,
        reference,
      ),
    );
  }
  const platform =
    config.parsed.os && config.parsed.architecture
      ? { os: config.parsed.os, architecture: config.parsed.architecture, ...(config.parsed.variant ? { variant: String(config.parsed.variant) } : {}) }
      : undefined;
  return { reference, transport: 'docker-archive', config, platform, layers, close: async () => {} };
}

async function readHead(archive: ArchiveIndex, member: ArchiveMember): Promise<Buffer> {
  const head = Math.min(member.size, 512);
  return archive.readMember({ ...member, size: head });
}

async function hashMember(archive: ArchiveIndex, member: ArchiveMember): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of archive.openMember(member)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

