import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { withContext } from '../errors.js';
import { withTempDirectory as withTrackedTempDirectory } from '../temp-files.js';
import { gzipEngine } from '../image/compression.js';
import type { Image, Layer } from '../image/image.js';
import { layerMediaType, MediaType, type Compression } from '../image/media-types.js';
import { buildManifest, type ManifestFamily, type OutputImage, type OutputLayer } from '../sinks/output-image.js';
import type { ImageConfig } from '../image/types.js';
import { keepBaseHistory, keptLayerMediaType, type ResolvedBase } from './base.js';
import { canonicalConfigBytes } from './canonical.js';
import { normalizeConfig, normalizeManifestAnnotations, type AppliedRule } from './config.js';
import type { LayerSummary } from './entry.js';
import { LayerPool, layerWorkerScript, workersFromEnvironment } from './layer-pool.js';
import { runLayerPass, type LayerPassResult, type LayerTask } from './layer-worker.js';
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
  /** Layers processed at once; zlib runs on the libuv pool, so two overlap well on two cores. */
  concurrency?: number;
  /**
   * Per-file content digests in the entry tables (default true): the comparer needs them. False
   * (normalize) skips one of the three sha256 passes over each content byte (input tar, canonical tar,
   * per file); the canonical digests are the same.
   */
  contentDigests?: boolean;
  /**
   * Layer passes by diff_id, shared between images (verify): the same diff_id has the same canonical
   * form, so a layer both builds share is read once. Only used without `output`, and only with content
   * digests, so a table cached here always has them.
   */
  cache?: Map<string, Promise<LayerSummary>>;
  /** Called as each layer finishes, for progress. */
  onLayer?: (done: number, total: number) => void;
  /**
   * Where layer passes run: 'auto' (default) runs them on this thread; 'always' on worker threads
   * (both images of verify on one shared `pool`); 'never' (the in-process reference).
   * `OCI_REPRO_WORKERS=0` forces 'never', `=N` 'always' with at most N workers.
   *
   * Why 'auto' is in-process, measured on 2 cores (two 716 MB layers, 263 MB gzip each): verify took
   * 6.8-7.3 s wall and 9.7-10.2 s CPU in-process, 7.3-7.9 s and 12.3-13.4 s CPU on workers, with
   * 250 MB peak RSS against 400-420 MB; normalizing an image of both layers 6.6-6.8 s against
   * 7.1-7.9 s. zlib already inflates on the libuv pool beside this thread, so two passes use both
   * cores in-process too; workers add a thread each (start-up, their own heap and collector, the
   * entry table copied back). Revisit on more cores, where one thread of parsing and hashing for
   * every layer becomes the limit.
   */
  workers?: 'auto' | 'always' | 'never';
  /** A pool to share (verify: both images); without it one is made when needed and closed at the end. */
  pool?: LayerPool;
  /** The base's bottom layers and history entries, kept as they are (see base.ts). */
  base?: Pick<ResolvedBase, 'layers' | 'history'>;
}

/** The layer passes of one analysis: where each runs, and the pool it may share. */
export class LayerRunner {
  private pool: LayerPool | undefined;
  private readonly owned: boolean;
  private readonly mode: 'auto' | 'always' | 'never';
  private readonly maxWorkers: number | undefined;
  private scriptMissing = false;

  constructor(options: { workers?: 'auto' | 'always' | 'never'; pool?: LayerPool } = {}) {
    const fromEnv = workersFromEnvironment();
    this.mode = fromEnv === 0 ? 'never' : fromEnv !== undefined ? 'always' : (options.workers ?? 'auto');
    this.maxWorkers = fromEnv || undefined;
    this.pool = options.pool;
    this.owned = options.pool === undefined;
  }

  run(layer: Layer, task: LayerTask): Promise<LayerPassResult> {
    const openBlob = () => layer.openBlob();
    const pool = this.wantsWorker() ? this.poolFor() : undefined;
    if (pool === undefined) return runLayerPass(task, openBlob);
    const { location, descriptor } = layer;
    const blob = location && { location, digest: descriptor.digest, size: descriptor.size };
    return pool.run(blob ? { ...task, blob } : task, openBlob);
  }

  /** Ends the workers of a pool this runner made. */
  async close(): Promise<void> {
    if (this.owned) await this.pool?.close();
  }

  private wantsWorker(): boolean {
    return this.mode === 'always' && !this.scriptMissing;
  }

  private poolFor(): LayerPool | undefined {
    if (this.pool === undefined) {
      const script = layerWorkerScript();
      if (script === undefined) {
        this.scriptMissing = true;
        return undefined;
      }
      this.pool = new LayerPool(script, this.maxWorkers);
    }
    return this.pool;
  }
}

/** A lazily started pool for callers that analyze several images (verify); close it when done. */
export function createLayerPool(): LayerPool | undefined {
  const script = workersFromEnvironment() === 0 ? undefined : layerWorkerScript();
  return script && new LayerPool(script, workersFromEnvironment() || undefined);
}

/** One streaming pass per layer, then the config rules: the canonical digest of an image. */
export async function analyzeImage(image: Image, options: AnalyzeOptions): Promise<ImageAnalysis> {
  const results: LayerAnalysis[] = new Array(image.layers.length);
  let done = 0;
  const runner = new LayerRunner(options);
  try {
    await runLimited(image.layers, options.concurrency ?? 2, async (layer) => {
      const kept = layer.index < (options.base?.layers ?? 0);
      results[layer.index] = kept ? await analyzeKeptLayer(layer, image.reference, options, runner) : await analyzeLayer(layer, image.reference, options, runner);
      options.onLayer?.(++done, image.layers.length);
    });
  } finally {
    await runner.close();
  }
  const canonicalDiffIds = results.map((result) => result.canonicalDiffId);
  const normalized = normalizeConfig(image.config.parsed, canonicalDiffIds, options.normalize);
  const { config } = normalized;
  const applied = options.base ? keepBaseHistory(image.config.parsed, config, normalized.applied, options.base.history) : normalized.applied;
  const configBytes = canonicalConfigBytes(config);
  return { image, layers: results, config, applied, configBytes, canonicalDigest: sha256(configBytes) };
}

async function analyzeLayer(layer: Layer, reference: string, options: AnalyzeOptions, runner: LayerRunner): Promise<LayerAnalysis> {
  if (layer.foreign) return { layer, canonicalDiffId: layer.diffId };
  // Stream errors already start with this context; tar parse errors get it here.
  const what = `layer ${layer.index} (${layer.descriptor.digest}) of ${reference}`;
  const contentDigests = options.contentDigests ?? true;
  const task: LayerTask = { what, compression: layer.compression, diffId: layer.diffId, normalize: options.normalize, contentDigests };
  try {
    if (!options.output) {
      const cache = contentDigests ? options.cache : undefined;
      let pass = cache?.get(layer.diffId);
      if (!pass) {
        pass = runner.run(layer, task).then((result) => result.summary);
        cache?.set(layer.diffId, pass);
      }
      const summary = await pass;
      return { layer, summary, canonicalDiffId: summary.canonicalDigest };
    }
    const { compression, directory, sync } = options.output;
    const path = join(directory, `layer-${layer.index}`);
    const engine = compression === 'gzip' ? gzipEngine() : undefined;
    const { summary, blob } = await runner.run(layer, { ...task, output: { compression, path, gzipEngine: engine, sync } });
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
async function analyzeKeptLayer(layer: Layer, reference: string, options: AnalyzeOptions, runner: LayerRunner): Promise<LayerAnalysis> {
  if (layer.foreign) return { layer, canonicalDiffId: layer.diffId, kept: true };
  if (!options.output) {
    const analysis = await analyzeLayer(layer, reference, options, runner);
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

/**
 * Normalized images are always written with OCI media types: every reader takes them (skopeo 1.9
 * finds tags in an OCI layout only for OCI manifests), and the manifest digest then does not depend
 * on which builder made the input. The config bytes keep Docker-only fields either way.
 */
export const outputFamily: ManifestFamily = 'oci';

/** The normalized image as the sinks write it: canonical config bytes, recompressed layers. */
export function toOutputImage(analysis: ImageAnalysis, options: NormalizeOptions): OutputImage {
  const family = outputFamily;
  const configBlob = {
    digest: analysis.canonicalDigest,
    size: analysis.configBytes.length,
    mediaType: family === 'oci' ? MediaType.ociConfig : MediaType.dockerConfig,
    bytes: analysis.configBytes,
  };
  const layers: OutputLayer[] = analysis.layers.map(({ layer, blob, canonicalDiffId, kept }) => {
    if (!blob) {
      // Foreign layers keep their descriptor: their content is not ours to rewrite.
      const { mediaType, digest, size, urls } = layer.descriptor;
      return { mediaType, digest, size, diffId: canonicalDiffId, ...(urls ? { urls } : {}) };
    }
    return {
      // A kept base layer keeps its bytes, so its media type says the same compression in the output's family.
      mediaType: kept ? keptLayerMediaType(layer.descriptor.mediaType, family) : layerMediaType(blob.compression, family),
      digest: blob.digest,
      size: blob.size,
      path: blob.path,
      // Our own temp file, hashed as it was written: a layout directory may link it instead of copying.
      temporary: true,
      diffId: canonicalDiffId,
    };
  });
  const { annotations } = normalizeManifestAnnotations(analysis.image.manifest?.parsed.annotations, options);
  const manifest = buildManifest(configBlob, layers, family, annotations);
  return { manifest, config: configBlob, layers, platform: analysis.image.platform };
}
