/**
 * Pushes one image to a registry: each blob is checked with HEAD first and skipped when present, mounted
 * from another repository of the same registry when one is named, else uploaded monolithically
 * (POST, then one PUT with the whole blob; no chunked PATCH). The config follows the layers, the
 * manifest comes last so a tag never points at missing blobs.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { badInput, OciReproError, unavailable, usageError, withContext } from '../errors.js';
import { assertDigest, sha256, VerifyingStream } from '../image/digest.js';
import { isForeignLayerMediaType } from '../image/media-types.js';
import { repositoryScope } from './auth.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { drainBody, type HttpResponse } from './http.js';
import { formatRegistryReference, parseRegistryReference, type RegistryReference } from './reference.js';

/** A JSON document of the image, with the exact bytes its digest covers. */
export interface PushDocument {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}

/**
 * A layer blob: its `bytes`, a file at `path`, or opened by `open`. None is needed when the registry
 * has it already; a foreign (non-distributable) layer without any is not pushed, as Docker does.
 */
export interface PushBlob {
  digest: string;
  size: number;
  mediaType: string;
  bytes?: Buffer;
  path?: string;
  open?: () => Promise<Readable> | Readable;
}

/** What a push needs; the sinks' OutputImage has this shape. */
export interface PushImage {
  manifest: PushDocument;
  config: PushDocument;
  layers: readonly PushBlob[];
}

export interface PushOptions extends RegistryOptions {
  /**
   * Repositories of the same registry that may already hold the blobs (`library/base`, or
   * `docker://host/repo`: those on another registry are ignored): tried for a cross-repository mount.
   */
  mountFrom?: string[];
  /** Blobs uploaded at once (default 3). */
  concurrency?: number;
}

export type BlobAction = 'present' | 'mounted' | 'uploaded' | 'foreign';

export interface PushResult {
  /** sha256 of the manifest bytes: what the tag now points at. */
  digest: string;
  /** `registry/repository@digest`. */
  reference: string;
  /** What happened to each blob (layers in order, then the config). */
  blobs: { digest: string; action: BlobAction }[];
  /** 'present' when the reference already named these exact manifest bytes, so nothing was sent. */
  manifest: 'present' | 'uploaded';
  /** The `OCI-Subject` header of the manifest PUT: a registry with the referrers API indexed the manifest's subject. */
  ociSubject?: string;
}

/** Pushes `image` to `docker://REGISTRY/REPO[:TAG]` (the `docker://` prefix is optional). */
export async function pushImage(referenceText: string, image: PushImage, options: PushOptions = {}): Promise<PushResult> {
  const location = referenceText.startsWith('docker://') ? referenceText.slice('docker://'.length) : referenceText;
  const reference = parseRegistryReference(location);
  const what = `pushing to docker://${formatRegistryReference(reference)}`;
  checkImage(image, reference, what);
  const mountSources = mountRepositories(options.mountFrom ?? [], reference);
  const client = new RegistryClient(
    reference,
    [repositoryScope(reference.repository, 'pull,push'), ...mountSources.map((repository) => repositoryScope(repository, 'pull'))],
    options,
  );
  try {
    const blobs: PushBlob[] = [
      ...image.layers,
      { digest: image.config.digest, size: image.config.bytes.length, mediaType: image.config.mediaType, bytes: image.config.bytes },
    ];
    const actions = await mapLimited(blobs, options.concurrency ?? 3, (blob, i) =>
      pushBlob(client, blob, mountSources, i < image.layers.length ? `layer ${i} (${blob.digest})` : `config ${blob.digest}`).catch((error) => {
        throw withContext(what, error);
      }),
    );
    const { digest, action: manifestAction, ociSubject } = await putManifest(client, reference, image.manifest).catch((error) => {
      throw withContext(what, error);
    });
    return {
      digest,
      reference: formatRegistryReference({ ...reference, tag: undefined, digest }),
      blobs: blobs.map((blob, i) => ({ digest: blob.digest, action: actions[i]! })),
      manifest: manifestAction,
      ...(ociSubject ? { ociSubject } : {}),
    };
  } finally {
    client.close();
  }
}

/** The manifest must be what its digest says and name exactly the config and layers given. */
function checkImage(image: PushImage, reference: RegistryReference, what: string): void {
  assertDigest(image.manifest.digest, `${what}: manifest`);
  assertDigest(image.config.digest, `${what}: config`);
  if (sha256(image.manifest.bytes) !== image.manifest.digest) {
    throw badInput(`${what}: manifest bytes do not match manifest digest ${image.manifest.digest}`);
  }
  if (sha256(image.config.bytes) !== image.config.digest) {
    throw badInput(`${what}: config bytes do not match config digest ${image.config.digest}`);
  }
  let parsed: { config?: { digest?: unknown }; layers?: { digest?: unknown }[] };
  try {
    parsed = JSON.parse(image.manifest.bytes.toString('utf8')) as typeof parsed;
  } catch {
    throw badInput(`${what}: manifest is not valid JSON`);
  }
  if (parsed.config?.digest !== image.config.digest) throw badInput(`${what}: manifest names config ${String(parsed.config?.digest)}, not ${image.config.digest}`);
  const listed = (parsed.layers ?? []).map((layer) => layer?.digest);
  const given = image.layers.map((layer) => layer.digest);
  if (listed.length !== given.length || listed.some((digest, i) => digest !== given[i])) {
    throw badInput(`${what}: the manifest's layers are not the layers given`);
  }
  image.layers.forEach((layer, i) => assertDigest(layer.digest, `${what}: layer ${i}`));
  if (reference.digest && reference.digest !== image.manifest.digest) {
    throw usageError(`${what}: the reference names digest ${reference.digest}, but the manifest is ${image.manifest.digest}`);
  }
}

function mountRepositories(mountFrom: string[], target: RegistryReference): string[] {
  const repositories = new Set<string>();
  for (const entry of mountFrom) {
    if (entry.startsWith('docker://')) {
      const source = parseRegistryReference(entry.slice('docker://'.length));
      if (source.registry === target.registry) repositories.add(source.repository);
    } else {
      repositories.add(parseRegistryReference(`${target.registry}/${entry}`).repository);
    }
  }
  repositories.delete(target.repository);
  return [...repositories];
}

/** Runs `work` over `items` with at most `limit` at a time; results in input order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

async function pushBlob(client: RegistryClient, blob: PushBlob, mountSources: string[], what: string): Promise<BlobAction> {
  if (!blob.bytes && !blob.path && !blob.open && isForeignLayerMediaType(blob.mediaType)) return 'foreign';
  if (await client.hasBlob(blob.digest, what)) return 'present';
  const uploads = `${client.repositoryPath()}blobs/uploads/`;
  let session: HttpResponse | undefined;
  for (const from of mountSources) {
    const query = `?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(from)}`;
    const response = await client.request({ method: 'POST', path: `${uploads}${query}` });
    if (response.status === 201) {
      await drainBody(response);
      return 'mounted';
    }
    // 202: the registry could not mount and opened an upload instead; use it.
    if (response.status === 202) {
      session = response;
      break;
    }
    throw await client.responseError(response, `${what}: mounting from ${from}`);
  }
  session ??= await client.request({ method: 'POST', path: uploads });
  if (session.status !== 202) throw await client.responseError(session, `${what}: starting upload`);
  await drainBody(session);
  const location = session.headers.location;
  if (!location) throw unavailable(`${what}: the registry started an upload without a Location`);
  const url = new URL(location, session.url);
  url.search += `${url.search ? '&' : '?'}digest=${encodeURIComponent(blob.digest)}`;
  const open = await blobOpener(blob, what);
  const response = await client.request({
    method: 'PUT',
    url,
    headers: { 'Content-Type': 'application/octet-stream' },
    contentLength: blob.size,
    // Checked while it streams: a file that changed since it was written fails here, naming the blob.
    body: async () => {
      const verify = new VerifyingStream(blob.digest, what, blob.size);
      const source = await open();
      source.on('error', (error) => verify.destroy(error));
      return source.pipe(verify);
    },
  });
  await drainBody(response);
  if (response.status !== 201 && response.status !== 204) throw await client.responseError(response, `${what}: uploading`);
  return 'uploaded';
}

/** A function that opens the blob's bytes anew (a retry sends them again). */
async function blobOpener(blob: PushBlob, what: string): Promise<() => Promise<Readable> | Readable> {
  if (blob.bytes) {
    if (blob.bytes.length !== blob.size) throw badInput(`${what}: ${blob.bytes.length} bytes given, the descriptor says ${blob.size}`);
    const bytes = blob.bytes;
    return () => Readable.from([bytes]);
  }
  if (blob.path) {
    const path = blob.path;
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (error) {
      throw withContext(`${what}: ${path}`, error);
    }
    if (size !== blob.size) throw badInput(`${what}: ${path} has ${size} bytes, the descriptor says ${blob.size}`);
    return () => createReadStream(path, { highWaterMark: 1 << 20 });
  }
  if (blob.open) return blob.open;
  throw new OciReproError('BAD_INPUT', `${what}: the registry does not have this blob and no file was given for it`);
}

/** PUTs a manifest (or index) under the reference's tag, else its digest; nothing when the tag already names these bytes. */
export async function putManifest(
  client: RegistryClient,
  reference: RegistryReference,
  manifest: PushDocument,
): Promise<{ digest: string; action: 'present' | 'uploaded'; ociSubject?: string }> {
  const tag = reference.tag ?? (reference.digest ? undefined : 'latest');
  const target = tag ?? manifest.digest;
  const digest = sha256(manifest.bytes);
  // A tag that already names these exact bytes: a second push of the same image sends nothing.
  const head = await client.request({
    method: 'HEAD',
    path: `${client.repositoryPath()}manifests/${encodeURIComponent(target)}`,
    headers: { Accept: manifest.mediaType },
  });
  await drainBody(head);
  if (head.status === 200 && head.headers['docker-content-digest'] === digest) return { digest, action: 'present' };
  const response = await client.request({
    method: 'PUT',
    path: `${client.repositoryPath()}manifests/${encodeURIComponent(target)}`,
    headers: { 'Content-Type': manifest.mediaType },
    body: manifest.bytes,
  });
  if (response.status !== 201 && response.status !== 200) throw await client.responseError(response, `manifest ${target}`);
  await drainBody(response);
  const stored = response.headers['docker-content-digest'];
  // The registry stores the bytes as sent; a different digest means it rewrote them.
  if (typeof stored === 'string' && stored.startsWith('sha256:') && stored !== digest) {
    throw unavailable(`manifest ${target}: the registry stored digest ${stored}, not ${digest}`, { hint: 'the registry rewrote the manifest' });
  }
  const subject = response.headers['oci-subject'];
  return { digest, action: 'uploaded', ...(typeof subject === 'string' && subject ? { ociSubject: subject } : {}) };
}
