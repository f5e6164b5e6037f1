import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { withContext } from '../errors.js';
import { withTempDirectory as withTrackedTempDirectory } from '../temp-files.js';
import { gzipEngine } from '../image/compression.js';
import type { Image, Layer } from '../image/image.js';
import type { Compression } from '../image/media-types.js';
import type { ImageConfig } from '../image/types.js';
import { keepBaseHistory, type ResolvedBase } from './base.js';
import { canonicalConfigBytes } from './canonical.js';
import { normalizeConfig, type AppliedRule } from './config.js';
import type { LayerSummary } from './entry.js';
import type { KnownDigests } from './layer.js';
import { runLayerPass, type LayerTask, type TarTap } from './layer-pass.js';
import type { NormalizeOptions } from './options.js';
import { sha256 } from '../image/digest.js';

/** The outcome of one layer's pass. */
export interface LayerAnalysis {
  layer: Layer;
  /** Absent for a foreign layer, whose blob is not included: it is carried as its descriptor. */
  summary?: LayerSummary;
  /** The canonical diff_id; for a foreign layer its diff_id, unchanged. */
  canonicalDiffId: string;
  /** With `output`: the normalized, recompressed blob in a temp file (a kept base layer's: its own blob). */
  blob?: { path: string; digest: string; size: number; compression: Compression };
  /** A base layer kept byte for byte: its canonical diff_id is its diff_id. */
  kept?: boolean;
  /** Not read (see `AnalyzeOptions.read`): no summary, and `canonicalDiffId` holds the diff_id as a stand-in. */
  unread?: boolean;
}

export interface ImageAnalysis {
  image: Image;
  layers: LayerAnalysis[];
  /** The normalized config and the rules that changed it. */
  config: ImageConfig;
  applied: AppliedRule[];
  /** RFC 8785 bytes of the normalized config: what normalize writes as the config blob. */
  configBytes: Buffer;
  /** sha256 of configBytes: the canonical digest. */
  canonicalDigest: string;
}

export interface AnalyzeOptions {
  normalize: NormalizeOptions;
  /**
   * Write each normalized layer, compressed, to a temp file (for normalize --output); `sync` fsyncs
   * each as it is done (see LayerTask.output).
   */
  output?: { compression: Compression; directory: string; sync?: boolean };
  /**
   * Layers processed at once; zlib runs on the libuv pool, so two overlap well on two cores. (Worker
   * threads lost to this on 2 cores and were removed: see docs/architecture.md, "Where the time goes".)
   */
  concurrency?: number;
  /**
   * Per-file content digests in the entry tables (default true): the comparer needs them. False
   * (normalize) skips one of the three sha256 passes over each content byte (input tar, canonical tar,
   * per file); the canonical digests are the same.
   */
  contentDigests?: boolean;
  /**
   * Layer passes by diff_id, shared between images (verify): the same diff_id has the same canonical
   * form, so a layer both builds share is read once. Only used without `output`. A pass with content
   * digests is kept under the diff_id and serves both settings; one without is kept under
   * `cacheKeyWithoutDigests(diffId)` and serves only analyses without them.
   */
  cache?: Map<string, Promise<LayerSummary>>;
  /** Called as each layer finishes, for progress. */
  onLayer?: (done: number, total: number) => void;
  /** The base's bottom layers and history entries, kept as they are (see base.ts). */
  base?: Pick<ResolvedBase, 'layers' | 'history'>;
  /**
   * Which layers to read (default: all). An unread layer's diff_id stands in for its canonical diff_id,
   * so `canonicalDigest` is then no canonical digest: it only tells whether two images are equal after
   * normalization, when both left out the same diff_ids at the same places (verify: equal layer pairs,
   * whose canonical diff_ids are equal too).
   */
  read?: (layer: Layer) => boolean;
  /**
   * For one layer (analyzeLayer, without `output`): its digests known from an earlier pass, so only
   * the table is built (see NormalizeLayerOptions.known), and a tap that sees its tar.
   */
  known?: KnownDigests;
  tap?: TarTap;
}

/** One streaming pass per layer, then the config rules: the canonical digest of an image. */
export async function analyzeImage(image: Image, options: AnalyzeOptions): Promise<ImageAnalysis> {
  const results: LayerAnalysis[] = new Array(image.layers.length);
  let done = 0;
  await runLimited(image.layers, options.concurrency ?? 2, async (layer) => {
    const kept = layer.index < (options.base?.layers ?? 0);
    results[layer.index] = kept ? await analyzeKeptLayer(layer, image.reference, options) : await analyzeLayer(layer, image.reference, options);
    options.onLayer?.(++done, image.layers.length);
  });
  const canonicalDiffIds = results.map((result) => result.canonicalDiffId);
  const normalized = normalizeConfig(image.config.parsed, canonicalDiffIds, options.normalize);
  const { config } = normalized;
  const applied = options.base ? keepBaseHistory(image.config.parsed, config, normalized.applied, options.base.history) : normalized.applied;
  const configBytes = canonicalConfigBytes(config);
  return { image, layers: results, config, applied, configBytes, canonicalDigest: sha256(configBytes) };
}

/** Where `AnalyzeOptions.cache` keeps a pass made without content digests. */
export function cacheKeyWithoutDigests(diffId: string): string {
  return `${diffId} without content digests`;
}

/** One layer's pass (a cached one when `options.cache` has it); a foreign layer is not read. */
export async function analyzeLayer(layer: Layer, reference: string, options: AnalyzeOptions): Promise<LayerAnalysis> {
  if (layer.foreign) return { layer, canonicalDiffId: layer.diffId };
  if (options.read && !options.read(layer)) {
    layer.skipRead?.();
    return { layer, canonicalDiffId: layer.diffId, unread: true };
  }
  // Stream errors already start with this context; tar parse errors get it here.
  const what = `layer ${layer.index} (${layer.descriptor.digest}) of ${reference}`;
  const contentDigests = options.contentDigests ?? true;
  const task: LayerTask = { what, compression: layer.compression, diffId: layer.diffId, normalize: options.normalize, contentDigests };
  const tableOnly = { known: options.known, tap: options.tap };
  const openBlob = () => layer.openBlob();
  try {
    if (!options.output) {
      const { cache } = options;
      const key = contentDigests ? layer.diffId : cacheKeyWithoutDigests(layer.diffId);
      let pass = cache?.get(layer.diffId) ?? cache?.get(key);
      if (!pass) {
        pass = runLayerPass({ ...task, ...tableOnly }, openBlob).then((result) => result.summary);
        cache?.set(key, pass);
      } else {
        layer.skipRead?.();
      }
      const summary = await pass;
      return { layer, summary, canonicalDiffId: summary.canonicalDigest };
    }
    const { compression, directory, sync } = options.output;
    const path = join(directory, `layer-${layer.index}`);
    const engine = compression === 'gzip' ? gzipEngine() : undefined;
    const { summary, blob } = await runLayerPass({ ...task, output: { compression, path, gzipEngine: engine, sync } }, openBlob);
    return {
      layer,
      summary,
      canonicalDiffId: summary.canonicalDigest,
      blob: { path, digest: blob!.digest, size: blob!.size, compression },
    };
  } catch (error) {
    throw withContext(what, error);
  }
}

/**
 * A base layer: never rewritten. Without output it is still read (verify compares its files); with
 * output its own blob is copied out, checked against its digest, and its tar against its diff_id.
 */
async function analyzeKeptLayer(layer: Layer, reference: string, options: AnalyzeOptions): Promise<LayerAnalysis> {
  if (layer.foreign) return { layer, canonicalDiffId: layer.diffId, kept: true };
  if (!options.output) {
    const analysis = await analyzeLayer(layer, reference, options);
    return { ...analysis, canonicalDiffId: layer.diffId, kept: true };
  }
  const what = `layer ${layer.index} (${layer.descriptor.digest}) of ${reference}`;
  const path = join(options.output.directory, `layer-${layer.index}`);
  try {
    const drain = async () => {
      for await (const _chunk of await layer.openTar());
    };
    await Promise.all([pipeline(await layer.openBlob(), createWriteStream(path, { flush: options.output.sync ?? false })), drain()]);
  } catch (error) {
    throw withContext(what, error);
  }
  const { digest, size } = layer.descriptor;
  return { layer, canonicalDiffId: layer.diffId, kept: true, blob: { path, digest, size, compression: layer.compression } };
}

/** Runs `task` over `items` with at most `limit` in flight; the first failure stops new starts. */
export async function runLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await task(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** A temp directory for layer blobs that is removed however the caller ends (by the CLI on a signal). */
export function withTempDirectory<T>(near: string | undefined, use: (path: string) => Promise<T>): Promise<T> {
  return withTrackedTempDirectory(near, '.oci-repro-', use);
}
