/**
 * OCI 1.1 referrers (distribution spec v1.1, "Pushing Manifests with Subject" and "Referrers Tag
 * Schema"): an artifact manifest whose `subject` is another manifest, found later from that manifest's
 * digest. A registry with the referrers API indexes the subject itself and says so with an
 * `OCI-Subject` header on the manifest PUT; for one without it (Debian's docker-registry 2.8) the
 * client keeps the list itself, as oras and cosign do: an OCI index tagged `<alg>-<hex>` of the subject,
 * fetched, appended to and pushed again.
 */
import { badInput, withContext } from '../errors.js';
import { assertDigest, sha256 } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import { repositoryScope } from './auth.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { drainBody, readBody } from './http.js';
import { pushImage, putManifest } from './push.js';
import { formatRegistryReference, parseRegistryReference, type RegistryReference } from './reference.js';

/** An OCI descriptor as manifests and the referrers list hold it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** One blob to push as an artifact referring to a subject. */
export interface ReferrerArtifact {
  artifactType: string;
  /** The one layer: its bytes and media type. */
  bytes: Buffer;
  mediaType: string;
  /** Manifest annotations; the referrers list repeats them in the descriptor. */
  annotations?: Record<string, string>;
}

export interface ReferrerPushResult {
  /** The artifact manifest's digest. */
  digest: string;
  /** `registry/repository@digest` of the artifact manifest. */
  reference: string;
  subject: Descriptor;
  /** `api` when the registry indexed the subject itself; `tag` when the fallback tag was written. */
  method: 'api' | 'tag';
  /** The fallback tag (`sha256-<hex>`), with method `tag`. */
  tag?: string;
}

/** The 2-byte `{}` blob of the OCI image spec's "empty descriptor", used as an artifact's config. */
export const emptyConfig = Buffer.from('{}');
const emptyConfigDigest = sha256(emptyConfig);

/** The fallback tag of a subject digest: `<alg>-<encoded>`, cut to the 128 characters a tag may have. */
export function referrersTag(digest: string): string {
  assertDigest(digest, 'subject');
  return digest.replace(':', '-').slice(0, 128);
}

/** The artifact manifest's bytes: an OCI image manifest with artifactType, the empty config, one layer and the subject. */
export function artifactManifest(artifact: ReferrerArtifact, subject: Descriptor): Buffer {
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: artifact.artifactType,
    config: { mediaType: MediaType.ociEmpty, digest: emptyConfigDigest, size: emptyConfig.length },
    layers: [{ mediaType: artifact.mediaType, digest: sha256(artifact.bytes), size: artifact.bytes.length }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(artifact.annotations && Object.keys(artifact.annotations).length > 0 ? { annotations: artifact.annotations } : {}),
  };
  return Buffer.from(JSON.stringify(manifest));
}

function parseRepository(text: string): RegistryReference {
  const location = text.startsWith('docker://') ? text.slice('docker://'.length) : text;
  return parseRegistryReference(location);
}

/**
 * Pushes `artifact` to the repository of `repositoryText` (`docker://host/repo[:tag|@digest]`; the tag
 * or digest is ignored) as a referrer of the manifest `subjectDigest`, which the repository must hold.
 */
export async function pushReferrer(
  repositoryText: string,
  subjectDigest: string,
  artifact: ReferrerArtifact,
  options: RegistryOptions = {},
): Promise<ReferrerPushResult> {
  assertDigest(subjectDigest, 'subject');
  const reference = parseRepository(repositoryText);
  const repository = formatRegistryReference({ ...reference, tag: undefined, digest: undefined });
  const what = `pushing a referrer of ${repository}@${subjectDigest}`;
  const client = new RegistryClient(reference, [repositoryScope(reference.repository, 'pull,push')], options);
  try {
    const fetched = await client.getManifest(subjectDigest, `${what}: subject`).catch((error: unknown) => {
      throw withContext(what, error);
    });
    const subject: Descriptor = { mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.bytes.length };
    const manifestBytes = artifactManifest(artifact, subject);
    const digest = sha256(manifestBytes);
    const pushed = await pushImage(
      `${repository}@${digest}`,
      {
        manifest: { bytes: manifestBytes, digest, mediaType: MediaType.ociManifest },
        config: { bytes: emptyConfig, digest: emptyConfigDigest, mediaType: MediaType.ociEmpty },
        layers: [{ digest: sha256(artifact.bytes), size: artifact.bytes.length, mediaType: artifact.mediaType, bytes: artifact.bytes }],
      },
      options,
    );
    const result = { digest, reference: pushed.reference, subject };
    // The spec's signal: the registry names the subject it indexed. Without it, ask the API directly
    // (a manifest already present was not PUT again, so no header came back).
    if (pushed.ociSubject === subject.digest || (await fetchReferrersApi(client, subject.digest, what)) !== undefined) {
      return { ...result, method: 'api' };
    }
    const descriptor: Descriptor = {
      mediaType: MediaType.ociManifest,
      digest,
      size: manifestBytes.length,
      artifactType: artifact.artifactType,
      ...(artifact.annotations && Object.keys(artifact.annotations).length > 0 ? { annotations: artifact.annotations } : {}),
    };
    const tag = referrersTag(subject.digest);
    await appendToReferrersTag(client, reference, tag, descriptor, what);
    return { ...result, method: 'tag', tag };
  } finally {
    client.close();
  }
}

/**
 * The referrers of `subjectDigest` in the repository of `repositoryText`: from the referrers API when
 * the registry has it, else from the fallback tag (empty when neither exists), as `oras discover` reads them.
 */
export async function listReferrers(
  repositoryText: string,
  subjectDigest: string,
  options: RegistryOptions = {},
): Promise<{ method: 'api' | 'tag'; referrers: Descriptor[] }> {
  assertDigest(subjectDigest, 'subject');
  const reference = parseRepository(repositoryText);
  const what = `listing referrers of ${formatRegistryReference({ ...reference, tag: undefined, digest: subjectDigest })}`;
  const client = new RegistryClient(reference, [repositoryScope(reference.repository, 'pull')], options);
  try {
    const api = await fetchReferrersApi(client, subjectDigest, what);
    if (api !== undefined) return { method: 'api', referrers: api };
    const index = await fetchTagIndex(client, referrersTag(subjectDigest), what);
    return { method: 'tag', referrers: index?.manifests ?? [] };
  } finally {
    client.close();
  }
}

/** `GET /v2/<name>/referrers/<digest>`: the list, or undefined when the registry has no referrers API (404 or not an index). */
async function fetchReferrersApi(client: RegistryClient, subjectDigest: string, what: string): Promise<Descriptor[] | undefined> {
  const response = await client.request({ method: 'GET', path: `${client.repositoryPath()}referrers/${subjectDigest}`, headers: { Accept: MediaType.ociIndex } });
  const type = String(response.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (response.status !== 200 || type !== MediaType.ociIndex) {
    await drainBody(response);
    return undefined;
  }
  const index = parseIndex(await readBody(response, 4 * 1024 * 1024, `${what}: referrers list`), `${what}: referrers list`);
  return index.manifests;
}

interface ReferrersIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
}

function parseIndex(bytes: Buffer, what: string): ReferrersIndex {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw badInput(`${what}: not JSON`);
  }
  const index = value as Partial<ReferrersIndex>;
  if (!index || typeof index !== 'object' || !Array.isArray(index.manifests)) throw badInput(`${what}: not an OCI image index (no manifests list)`);
  if (index.mediaType !== undefined && index.mediaType !== MediaType.ociIndex) {
    throw badInput(`${what}: an index of media type ${String(index.mediaType)}, not ${MediaType.ociIndex}`);
  }
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: index.manifests };
}

/** The index under the fallback tag, or undefined when the tag does not exist yet. */
async function fetchTagIndex(client: RegistryClient, tag: string, what: string): Promise<ReferrersIndex | undefined> {
  const response = await client.request({
    method: 'GET',
    path: `${client.repositoryPath()}manifests/${tag}`,
    headers: { Accept: MediaType.ociIndex },
  });
  if (response.status === 404) {
    await drainBody(response);
    return undefined;
  }
  if (response.status !== 200) throw await client.responseError(response, `${what}: tag ${tag}`);
  return parseIndex(await readBody(response, 4 * 1024 * 1024, `${what}: tag ${tag}`), `${what}: tag ${tag}`);
}

/** Fetch the tag's index (or start one), append the descriptor unless listed, push it back under the tag. */
async function appendToReferrersTag(client: RegistryClient, reference: RegistryReference, tag: string, descriptor: Descriptor, what: string): Promise<void> {
  const index = (await fetchTagIndex(client, tag, what)) ?? { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  if (index.manifests.some((entry) => entry.digest === descriptor.digest)) return;
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [...index.manifests, descriptor] }));
  await putManifest(client, { ...reference, tag, digest: undefined }, { bytes, digest: sha256(bytes), mediaType: MediaType.ociIndex }).catch((error: unknown) => {
    throw withContext(`${what}: tag ${tag}`, error);
  });
}
