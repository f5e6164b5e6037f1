/**
 * The layer passes of verify, in two rounds, so the verdict does only the work it needs. Round one
 * reads every layer without per-file content digests: the canonical digests, the verdict and every
 * attribute difference follow from those tables. Round two reads again, with digests, only the layers
 * of `content` pairs (canonical diff_ids differ), the one place where files must be told apart by
 * content. Reproducible builds, the common case, so never hash a file's content. Layer counts that
 * differ are known before reading, and their flattened comparison needs every table with digests:
 * then round one takes them at once and there is no round two.
 */
import { needsContentDigests, type LayerInput } from '../compare/layers.js';
import type { Image, Layer } from '../image/image.js';
import type { LayerSummary } from '../normalize/entry.js';
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
}

export interface VerifyLayers {
  a: ImageAnalysis;
  b: ImageAnalysis;
  /** The comparer's layers, each table marked with whether it carries content digests. */
  inputs: { a: LayerInput[]; b: LayerInput[] };
}

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
  const again: { side: LayerInput[]; analysis: ImageAnalysis; index: number }[] = [];
  inputs.a.forEach((inputA, index) => {
    const inputB = inputs.b[index]!;
    if (!inputA.summary || !inputB.summary || !needsContentDigests(inputA, inputB)) return;
    again.push({ side: inputs.a, analysis: analysisA, index }, { side: inputs.b, analysis: analysisB, index });
  });
  // Round one's tables of those layers are of no more use: let them go before the new ones are built.
  for (const { side, analysis, index } of again) {
    const { summary: _, ...rest } = analysis.layers[index]!;
    analysis.layers[index] = rest;
    side[index] = { identity: side[index]!.identity, canonicalDiffId: side[index]!.canonicalDiffId };
    cache?.delete(cacheKeyWithoutDigests(rest.layer.diffId));
  }
  total += again.length;
  await runLimited(again, 2, async ({ side, analysis, index }) => {
    const { layer } = analysis.layers[index]!;
    const { summary } = await analyzeLayer(layer, analysis.image.reference, { normalize: options.normalize, contentDigests: true, cache });
    analysis.layers[index]!.summary = summary;
    // The canonical diff_id stays round one's (a kept base layer's is its diff_id).
    side[index] = { ...side[index]!, summary: summary!, contentDigests: true };
    onLayer?.();
  });
  return { a: analysisA, b: analysisB, inputs };
}

function layerInputs(analysis: ImageAnalysis, contentDigests: boolean): LayerInput[] {
  const identities = describeImage(analysis.image).layers;
  return analysis.layers.map((result, index) => {
    const base = { identity: identities[index]!, canonicalDiffId: result.unread ? null : result.canonicalDiffId };
    return result.summary ? { ...base, summary: result.summary, contentDigests } : base;
  });
}
