import { dirname, resolve } from 'node:path';
import { assertZstd, gzipEngine } from '../image/compression.js';
import type { Compression } from '../image/media-types.js';
import { withContext } from '../errors.js';
import { checkDestination } from '../sinks/atomic.js';
import { writeImage, parseDestination, type OutputDestination, type OutputFormat } from '../sinks/write.js';
import type { OutputImage } from '../sinks/output-image.js';
import type { Image } from '../image/image.js';
import { parseRegistryReference } from '../registry/reference.js';
import { pushImage } from '../registry/push.js';
import { loadImage, type LoadOptions } from '../sources/index.js';
import { resolveBase, type BaseRequest, type ResolvedBase } from '../normalize/base.js';
import type { AppliedRule } from '../normalize/config.js';
import { analyzeImage, withTempDirectory } from '../normalize/image.js';
import { toOutputImage } from './output-image.js';
import { layerRulesApplied, type LayerAppliedRule } from '../normalize/layer-applied.js';
import { closeSummary, entryCount } from '../normalize/layer-table.js';
import type { NormalizeOptions } from '../normalize/options.js';

export interface NormalizeRequest {
  source: string;
  load?: LoadOptions;
  normalize: NormalizeOptions;
  /** Where to write the normalized image; without it nothing is written. */
  output?: string;
  compression?: Compression;
  overwrite?: boolean;
  onLayer?: (done: number, total: number) => void;
  /** Keep the base image's bottom layers byte for byte (`--base`, `--base-layers`). */
  base?: BaseRequest;
}

/** What `normalize` reports, as data (the --json output). */
export interface NormalizeResult {
  source: string;
  /** The input's image ID and manifest digest, for comparison. */
  imageId: string;
  manifestDigest: string | null;
  /** The image ID of the normalized image. */
  canonicalDigest: string;
  options: { epoch: number; timestampMode: 'set' | 'clamp'; disabledRules: string[] };
  layers: {
    index: number;
    diffId: string;
    canonicalDiffId: string;
    foreign: boolean;
    entries: number;
    spooled: boolean;
    /** The layer rules that changed this layer, with entry counts (empty for a foreign layer). */
    applied: LayerAppliedRule[];
    /** Set on a base layer kept byte for byte. */
    kept?: true;
  }[];
  /** With `--base`/`--base-layers`: the base found and the layers and history entries kept. */
  base?: ResolvedBase;
  /** The config rules that changed the config (layer rules are listed per layer). */
  applied: AppliedRule[];
  output: null | {
    reference: string;
    format: OutputFormat | 'registry';
    manifestDigest: string;
    configDigest: string;
    compression: Compression;
    gzipEngine: string | null;
    layers: { index: number; digest: string; size: number }[];
    /** For a registry push: what happened to each blob (present blobs are not sent again). */
    blobs?: { digest: string; action: string }[];
  };
}

/**
 * A bad destination is a usage error before any layer is read; a missing parent directory or an
 * existing destination too, rather than after every layer is done (the temp directory beside the
 * destination could not even be made without the parent).
 */
export async function checkOutput(request: NormalizeRequest): Promise<{ pushing: boolean; destination?: OutputDestination }> {
  const pushing = request.output?.startsWith('docker://') ?? false;
  if (pushing) parseRegistryReference(request.output!.slice('docker://'.length));
  const destination = request.output && !pushing ? parseDestination(request.output, { overwrite: request.overwrite }) : undefined;
  // Without zstd (Node 20 whose optional addon did not build) fail now, not after the first layer.
  if (request.output && request.compression === 'zstd') assertZstd(`writing ${request.output}`);
  if (destination) {
    const kind = destination.format === 'oci' ? 'directory' : 'file';
    await checkDestination(resolve(destination.path), kind, request.overwrite ?? false).catch((error: unknown) => {
      throw withContext(`writing ${request.output}`, error);
    });
  }
  return { pushing, destination };
}

/** Loads, normalizes and (with `output`) writes an image; the core of `oci-repro normalize`. */
export async function normalizeImage(request: NormalizeRequest): Promise<NormalizeResult> {
  const { pushing, destination } = await checkOutput(request);
  const image = await loadImage(request.source, request.load);
  try {
    const compression = request.compression ?? 'gzip';
    const run = async (directory?: string) => {
      const { result, outputImage } = await normalizeLoaded(image, request, directory, destination?.format === 'oci');
      if (!outputImage || !request.output) return result;
      // A base in the same registry: its kept layers are mounted from its repository, not uploaded again.
      const mountFrom = result.base?.reference?.startsWith('docker://') ? { mountFrom: [result.base.reference] } : {};
      const pushed = pushing ? await pushImage(request.output, outputImage, { ...request.load, ...mountFrom }) : undefined;
      const written = pushed
        ? { reference: `docker://${pushed.reference}`, format: 'registry' as const }
        : await writeImage(request.output, outputImage, { overwrite: request.overwrite });
      return { ...result, output: describeOutput(outputImage, written, compression, pushed?.blobs) };
    };
    if (!request.output) return await run();
    // Layer blobs are spooled next to a file destination (same filesystem), and removed on any failure.
    return await withTempDirectory(destination ? dirname(resolve(destination.path)) : undefined, run);
  } finally {
    await image.close();
  }
}

/**
 * Normalizes one loaded image: its result without `output`, and with `directory` (where the
 * recompressed layers are written) the normalized image to write; `sync` fsyncs each layer file.
 */
export async function normalizeLoaded(
  image: Image,
  request: NormalizeRequest,
  directory?: string,
  sync = false,
): Promise<{ result: NormalizeResult; outputImage?: OutputImage }> {
  const compression = request.compression ?? 'gzip';
  const resolvedBase = request.base ? await resolveBase(image, request.base, request.load) : undefined;
  const analysis = await analyzeImage(image, {
    normalize: request.normalize,
    // Nothing here compares entry tables: skip the per-file content hashing (no entry has a contentDigest).
    contentDigests: false,
    // A layout directory links the layer files in and fsyncs them: fsynced as each layer is done,
    // the first layers' writes overlap the compression of the last instead of following it.
    output: directory ? { compression, directory, sync } : undefined,
    onLayer: request.onLayer,
    base: resolvedBase,
  });
  const result: NormalizeResult = {
    source: request.source,
    imageId: image.config.digest,
    manifestDigest: image.manifest?.digest ?? null,
    canonicalDigest: analysis.canonicalDigest,
    options: {
      epoch: request.normalize.epoch,
      timestampMode: request.normalize.timestampMode,
      disabledRules: [...request.normalize.disabledRules].sort(),
    },
    layers: analysis.layers.map(({ layer, summary, canonicalDiffId, kept }) => ({
      index: layer.index,
      diffId: layer.diffId,
      canonicalDiffId,
      foreign: layer.foreign,
      entries: summary ? entryCount(summary) : 0,
      spooled: summary ? !summary.inCanonicalOrder : false,
      applied: summary && !kept ? layerRulesApplied(summary, request.normalize) : [],
      ...(kept ? { kept: true as const } : {}),
    })),
    applied: analysis.applied,
    output: null,
    ...(resolvedBase ? { base: resolvedBase } : {}),
  };
  const outputImage = directory ? toOutputImage(analysis, request.normalize) : undefined;
  // Spilled entry tables hold disk until closed; nothing here reads them again.
  for (const layer of analysis.layers) closeSummary(layer.summary);
  return { result, ...(outputImage ? { outputImage } : {}) };
}

/** The `output` of a result: what was written where. */
export function describeOutput(
  outputImage: OutputImage,
  written: { reference: string; format: OutputFormat | 'registry' },
  compression: Compression,
  blobs?: { digest: string; action: string }[],
): NonNullable<NormalizeResult['output']> {
  return {
    ...(blobs ? { blobs } : {}),
    reference: written.reference,
    format: written.format,
    manifestDigest: outputImage.manifest.digest,
    configDigest: outputImage.config.digest,
    compression,
    gzipEngine: compression === 'gzip' ? gzipEngine() : null,
    layers: outputImage.layers.map((layer, index) => ({ index, digest: layer.digest, size: layer.size })),
  };
}
