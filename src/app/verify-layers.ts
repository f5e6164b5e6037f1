/**
 * The layer passes of verify, in two rounds, so the verdict does only the work it needs. Round one
 * reads every layer without per-file content digests: the canonical digests, the verdict and every
 * attribute difference follow from those tables. Round two reads again, with digests, only the layers
 * of `content` pairs (canonical diff_ids differ), the one place where files must be told apart by
 * content. Reproducible builds, the common case, so never hash a file's content. Layer counts that
 * differ are known before reading, and their flattened comparison needs every table with digests:
 * then round one takes them at once and there is no round two.
 * Round two builds only the tables (round one's canonical digests stand) and, with `prefetch`, takes
 * the contents of the files that differ from the same read (compare/content-prefetch.ts), so the
 * content pass reads a changed layer again only for what the prefetch missed: two reads per side.
 */
import { needsContentDigests, type LayerInput } from '../compare/layers.js';
import { contentCap, defaultContentBudget } from '../compare/content.js';
import { PairPrefetch, planPrefetch, type PrefetchLimits } from '../compare/content-prefetch.js';
import type { PrefetchedFiles } from '../compare/content-stream.js';
import type { Image, Layer } from '../image/image.js';
import type { LayerSummary } from '../normalize/entry.js';
import type { KnownDigests } from '../normalize/layer.js';
import { analyzeImage, analyzeLayer, cacheKeyWithoutDigests, runLimited, type ImageAnalysis } from '../normalize/image.js';
import type { NormalizeOptions } from '../normalize/options.js';
import { describeImage } from '../report/identity.js';
import type { VerifyBases } from './verify-base.js';

export interface VerifyLayersOptions {
  normalize: NormalizeOptions;
  bases?: VerifyBases;
  onLayer?: (done: number, total: number) => void;
  /** Layer passes by diff_id (see AnalyzeOptions.cache); verify's own when not given. */
  cache?: Map<string, Promise<LayerSummary>>;
  /** Which layers to read (AnalyzeOptions.read); an unread layer has no table and no canonical diff_id. */
  read?: (layer: Layer) => boolean;
  /** Share one pass per diff_id across both images (default true); off, each side reads its own blobs. */
  shareByDiffId?: boolean;
  /**
   * Take the contents of changed files during round two, for the content pass (`contentLimit`: its
   * limit, content.ts `defaultContentLimit` when not given). Without it, nothing is prefetched.
   */
  prefetch?: { contentLimit?: number; tempDir?: string };
}

/** What round two took for the content pass; `close` frees its spools. */
export interface Prefetched {
  files(layerIndex: number, side: 'a' | 'b'): PrefetchedFiles | undefined;
  close(): Promise<void>;
}

export interface VerifyLayers {
  a: ImageAnalysis;
  b: ImageAnalysis;
  /** The comparer's layers, each table marked with whether it carries content digests. */
  inputs: { a: LayerInput[]; b: LayerInput[] };
  /** With `prefetch`: the changed files round two read (close it when done). */
  prefetched?: Prefetched;
}

/** Large files spooled during round two, all pairs together; past it the content pass reads them itself. */
const prefetchSpoolBytes = 512 * 1024 * 1024;
/** Files a pair's prefetch plans for; past it the content pass reads as before. */
const maxPrefetchCandidates = 200_000;

/** Reads both images' layers for verify: round one for all, round two with digests where needed. */
export async function readVerifyLayers(a: Image, b: Image, options: VerifyLayersOptions): Promise<VerifyLayers> {
  const cache = options.shareByDiffId === false ? undefined : (options.cache ?? new Map<string, Promise<LayerSummary>>());
  const flattened = a.layers.length !== b.layers.length;
  let total = a.layers.length + b.layers.length;
  let done = 0;
  const onLayer = options.onLayer ? () => options.onLayer!(++done, total) : undefined;
  // One pass per distinct diff_id across both images; two layers in flight on two cores.
  const analyze = { normalize: options.normalize, contentDigests: flattened, cache, concurrency: 1, onLayer, read: options.read };
  const [analysisA, analysisB] = await Promise.all([
    analyzeImage(a, { ...analyze, base: options.bases?.a }),
    analyzeImage(b, { ...analyze, base: options.bases?.b }),
  ]);
  const inputs = { a: layerInputs(analysisA, flattened), b: layerInputs(analysisB, flattened) };
  if (flattened) return { a: analysisA, b: analysisB, inputs };

  // Round two: the layers of content pairs, each distinct diff_id once (the cache), two at a time.
  const again: { name: 'a' | 'b'; side: LayerInput[]; analysis: ImageAnalysis; index: number; known: KnownDigests }[] = [];
  const prefetches = new Map<number, PairPrefetch>();
  const limits = prefetchLimits(options.prefetch);
  inputs.a.forEach((inputA, index) => {
    const inputB = inputs.b[index]!;
    if (!inputA.summary || !inputB.summary || !needsContentDigests(inputA, inputB)) return;
    // Round one's digests stand: round two builds only the tables (no spool, no re-read, no tar hash).
    const knownOf = ({ tarDigest, canonicalDigest, canonicalSize }: LayerSummary): KnownDigests => ({ tarDigest, canonicalDigest, canonicalSize });
    again.push(
      { name: 'a', side: inputs.a, analysis: analysisA, index, known: knownOf(inputA.summary) },
      { name: 'b', side: inputs.b, analysis: analysisB, index, known: knownOf(inputB.summary) },
    );
    // Which files may differ follows from round one's tables: plan before they go.
    const plan = limits && planPrefetch(inputA.summary, inputB.summary, limits);
    if (limits && plan) prefetches.set(index, new PairPrefetch(plan, limits));
  });
  // Round one's tables of those layers are of no more use: let them go before the new ones are built.
  for (const { side, analysis, index } of again) {
    const { summary: _, ...rest } = analysis.layers[index]!;
    analysis.layers[index] = rest;
    side[index] = { identity: side[index]!.identity, canonicalDiffId: side[index]!.canonicalDiffId };
    cache?.delete(cacheKeyWithoutDigests(rest.layer.diffId));
  }
  total += again.length;
  const prefetched: Prefetched = {
    files: (layerIndex, side) => prefetches.get(layerIndex)?.files(side),
    close: async () => void (await Promise.all([...prefetches.values()].map((prefetch) => prefetch.close()))),
  };
  try {
    // Both sides of a pair are in flight together, so their reads meet in the prefetch's rendezvous.
    await runLimited(again, 2, async ({ name, side, analysis, index, known }) => {
      const { layer } = analysis.layers[index]!;
      const tap = prefetches.get(index)?.tap(name);
      const { summary } = await analyzeLayer(layer, analysis.image.reference, { normalize: options.normalize, contentDigests: true, cache, known, tap });
      analysis.layers[index]!.summary = summary;
      // The canonical diff_id stays round one's (a kept base layer's is its diff_id).
      side[index] = { ...side[index]!, summary: summary!, contentDigests: true };
      onLayer?.();
    });
    await Promise.all([...prefetches.values()].map((prefetch) => prefetch.finish()));
  } catch (error) {
    await prefetched.close();
    throw error;
  }
  return { a: analysisA, b: analysisB, inputs, ...(options.prefetch ? { prefetched } : {}) };
}

function prefetchLimits(prefetch: VerifyLayersOptions['prefetch']): PrefetchLimits | undefined {
  if (prefetch === undefined) return undefined;
  const { contentLimit, tempDir } = prefetch;
  return {
    cap: (path) => contentCap(path, contentLimit),
    budget: { held: 0, limit: defaultContentBudget },
    spooled: { held: 0, limit: prefetchSpoolBytes },
    maxCandidates: maxPrefetchCandidates,
    tempDir,
  };
}

function layerInputs(analysis: ImageAnalysis, contentDigests: boolean): LayerInput[] {
  const identities = describeImage(analysis.image).layers;
  return analysis.layers.map((result, index) => {
    const base = { identity: identities[index]!, canonicalDiffId: result.unread ? null : result.canonicalDiffId };
    return result.summary ? { ...base, summary: result.summary, contentDigests } : base;
  });
}
