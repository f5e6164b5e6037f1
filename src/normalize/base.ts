/**
 * Normalizing without losing the base image. An image built FROM a pulled base shares the base's layer
 * blobs; rewriting them would give a normalized image that no longer shares them (no cross-repository
 * mounts, double storage, a base no scanner recognizes). So the bottom layers that are the base's are
 * kept byte for byte: blob, diff_id and (within the OCI family) media type, and the config's diff_ids
 * for them. Their canonical diff_ids are their diff_ids.
 *
 * History: the base's own history entries are kept as they are (dates and comments included). They are
 * the base's, fixed when the base was built, so two builds on the same base have equal entries and their
 * canonical digests still match, while the normalized image keeps the base's history as published. Two
 * builds on different bases then differ there too, which is the truth. The entries of the image's own
 * steps are normalized as before.
 */
import { badInput, usageError, withContext } from '../errors.js';
import type { Image } from '../image/image.js';
import { compressionOfMediaType, layerMediaType } from '../image/media-types.js';
import type { HistoryEntry, ImageConfig } from '../image/types.js';
import { loadImage, type LoadOptions } from '../sources/index.js';
import { toJsonPointer, type AppliedRule } from './config.js';

/** What the user asked for: `--base-layers N`, `--base REF`, or `--base auto` (the manifest's annotations). */
export type BaseRequest = { kind: 'layers'; count: number } | { kind: 'reference'; reference: string } | { kind: 'auto' };

export const baseNameAnnotation = 'org.opencontainers.image.base.name';
export const baseDigestAnnotationKey = 'org.opencontainers.image.base.digest';

/** The base as found and checked: how many bottom layers and history entries are kept, and why. */
export interface ResolvedBase {
  /** Bottom layers kept byte for byte. */
  layers: number;
  /** Leading config history entries kept as they are (the base's steps). */
  history: number;
  /** How the base was chosen. */
  source: 'base-layers' | 'reference' | 'annotation';
  /** The base image read, for `--base REF` and `--base auto`. */
  reference?: string;
  manifestDigest?: string | null;
  imageId?: string;
  /** The kept layers' diff_ids. */
  diffIds: string[];
  /** What the manifest's base annotations say, and whether they name the base that was checked. */
  annotation?: { name: string | null; digest: string | null; verdict: string };
}

/** Checks the request against the image (and the base image) and says what is kept. */
export async function resolveBase(image: Image, request: BaseRequest, load: LoadOptions = {}): Promise<ResolvedBase> {
  const annotation = readBaseAnnotations(image);
  if (request.kind === 'layers') {
    if (!Number.isSafeInteger(request.count) || request.count < 0) {
      throw usageError(`--base-layers: ${request.count} is not a layer count`);
    }
    if (request.count > image.layers.length) {
      throw badInput(`${image.reference} has ${image.layers.length} layers, fewer than --base-layers ${request.count}`);
    }
    const diffIds = image.layers.slice(0, request.count).map((layer) => layer.diffId);
    return {
      layers: request.count,
      history: historyOfLayers(image.config.parsed.history, request.count),
      source: 'base-layers',
      diffIds,
      ...(annotation ? { annotation: { ...annotation, verdict: 'not checked (--base-layers)' } } : {}),
    };
  }
  let reference: string;
  if (request.kind === 'reference') reference = request.reference;
  else {
    if (!annotation?.name) {
      throw badInput(`${image.reference}: --base auto: the manifest names no base image (no ${baseNameAnnotation} annotation)`, {
        hint: 'give the base with --base REF or its layer count with --base-layers N',
      });
    }
    reference = annotation.name.includes('://') || /^(oci|oci-archive|docker-archive|dir):/.test(annotation.name) ? annotation.name : `docker://${annotation.name}`;
  }
  const base = await loadImage(reference, { ...load, platform: load.platform ?? image.platform }).catch((error: unknown) => {
    // buildah writes its local storage name there (`localhost/...`): often not an image anyone can read.
    throw request.kind === 'auto'
      ? withContext(`${image.reference}: --base auto: the base the manifest names (${annotation?.name}) cannot be read, give --base REF`, error)
      : error;
  });
  try {
    const diffIds = base.layers.map((layer) => layer.diffId);
    checkBuiltOn(image, reference, diffIds);
    const history = historyOfBase(image.config.parsed.history, base.config.parsed.history, diffIds.length);
    return {
      layers: diffIds.length,
      history,
      source: request.kind === 'auto' ? 'annotation' : 'reference',
      reference,
      manifestDigest: base.manifest?.digest ?? null,
      imageId: base.config.digest,
      diffIds,
      ...(annotation ? { annotation: { ...annotation, verdict: judgeAnnotation(annotation.digest, base) } } : {}),
    };
  } finally {
    await base.close();
  }
}

/** "A is not built on REF: layer K differs" — the image's bottom layers must be exactly the base's. */
export function checkBuiltOn(image: Image, reference: string, baseDiffIds: readonly string[]): void {
  if (image.layers.length < baseDiffIds.length) {
    throw badInput(`${image.reference} is not built on ${reference}: it has ${image.layers.length} layers, the base ${baseDiffIds.length}`);
  }
  baseDiffIds.forEach((diffId, k) => {
    if (image.layers[k].diffId !== diffId) {
      throw badInput(`${image.reference} is not built on ${reference}: layer ${k} differs (diff_id ${image.layers[k].diffId}, the base's ${diffId})`, {
        hint: 'the base tag may have moved since the build: pin the base by digest',
      });
    }
  });
}

function readBaseAnnotations(image: Image): { name: string | null; digest: string | null } | undefined {
  const annotations = image.manifest?.parsed.annotations;
  if (!annotations) return undefined;
  const name = annotations[baseNameAnnotation] || null;
  const digest = annotations[baseDigestAnnotationKey] || null;
  return name === null && digest === null ? undefined : { name, digest };
}

/**
 * buildah `--layers` writes the previous step's intermediate image there, which is the base only when
 * the FROM is followed by a single step: so the annotation is trusted only when it names the base read.
 */
function judgeAnnotation(digest: string | null, base: Image): string {
  if (digest === null) return 'no base digest annotation';
  if (digest === base.manifest?.digest || digest === base.index?.digest) return 'names this base';
  return `names ${digest}, not this base (buildah --layers writes an intermediate image there): not used`;
}

/** The history entries up to and including the one that made layer `count - 1`. */
export function historyOfLayers(history: readonly HistoryEntry[] | undefined, count: number): number {
  if (count === 0 || !Array.isArray(history)) return 0;
  let made = 0;
  for (const [index, entry] of history.entries()) {
    if (!entry?.empty_layer) made++;
    if (made === count) return index + 1;
  }
  return 0;
}

/** The base's whole history when the image's starts with it (builders copy it), else by layers. */
function historyOfBase(history: readonly HistoryEntry[] | undefined, baseHistory: readonly HistoryEntry[] | undefined, layers: number): number {
  if (Array.isArray(history) && Array.isArray(baseHistory) && baseHistory.length <= history.length) {
    const same = baseHistory.every((entry, i) => JSON.stringify(entry) === JSON.stringify(history[i]));
    if (same) return baseHistory.length;
  }
  return historyOfLayers(history, layers);
}

/**
 * Puts the base's history entries back as they were (normalizeConfig rewrote every entry) and drops
 * the changes it recorded there, so the applied list names only what changed.
 */
export function keepBaseHistory(raw: ImageConfig, config: ImageConfig, applied: AppliedRule[], count: number): AppliedRule[] {
  if (count === 0 || !Array.isArray(raw.history) || !Array.isArray(config.history)) return applied;
  for (let i = 0; i < count && i < raw.history.length; i++) config.history[i] = structuredClone(raw.history[i]);
  const kept = (path: string) => {
    const match = /^\/history\/(\d+)\//.exec(path);
    return match !== null && Number(match[1]) < count;
  };
  return applied.map((rule) => ({ ...rule, paths: rule.paths.filter((path) => !kept(path)) })).filter((rule) => rule.paths.length > 0);
}

/** A kept layer's media type in the output's family: the same bytes, so the same compression. */
export function keptLayerMediaType(mediaType: string, family: 'oci' | 'docker'): string {
  const prefix = family === 'oci' ? 'application/vnd.oci.' : 'application/vnd.docker.';
  if (mediaType.startsWith(prefix)) return mediaType;
  const compression = compressionOfMediaType(mediaType);
  return compression === undefined ? mediaType : layerMediaType(compression, family);
}

/** JSON pointer of a kept diff_id, for verify's cause attribution. */
export const keptDiffIdPointer = (index: number) => toJsonPointer(['rootfs', 'diff_ids', index]);
