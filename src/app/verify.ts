import {
  attachContentDetails,
  compareConfigs,
  compareLayersInto,
  compareManifestAnnotations,
  DifferenceCollector,
  defaultNeutralizedLimit,
  type DifferenceSink,
  type ContentReader,
} from '../compare/index.js';
import { explainStepFields } from '../compare/step-fields.js';
import { explainByDetail, matchSelector } from '../causes/match.js';
import type { CauseEntry } from '../causes/catalogue.js';
import { applyPolicy, decideGate, policyCatalogue, type Policy } from '../gate/policy.js';
import type { Image, Layer } from '../image/image.js';
import type { ImageAnalysis } from '../normalize/image.js';
import type { NormalizeOptions } from '../normalize/options.js';
import { describeImage } from '../report/identity.js';
import { reportSchemaVersion, type ImageSide, type Report, type Verdict } from '../report/model.js';
import type { LayerComparison } from '../diff/layers.js';
import type { Difference } from '../diff/model.js';
import { summarize } from '../report/summary.js';
import { countOmitted } from '../diff/count.js';
import { loadImage, type LoadOptions } from '../sources/index.js';
import { toolVersion } from '../version.js';
import type { BaseRequest } from '../normalize/base.js';
import { baseCauseSink, resolveVerifyBases, type VerifyBases } from './verify-base.js';
import { readVerifyLayers, type Prefetched, type VerifyLayers } from './verify-layers.js';
import { closeSummary } from '../normalize/layer-table.js';

export interface VerifyRequest {
  a: string;
  b: string;
  load?: LoadOptions;
  normalize: NormalizeOptions;
  strict?: boolean;
  policy?: { policy: Policy; source: string };
  /** Changed files up to this size get a text or JSON diff. */
  contentLimit?: number;
  /**
   * Neutralized differences listed per scope (config, layer, flattened filesystem) and cause; the
   * rest are counted in `Report.omitted`. Default 20; `Infinity` lists every one.
   */
  neutralizedLimit?: number;
  onLayer?: (done: number, total: number) => void;
  /** Keep both builds' base layers as they are (`--base`, `--base-layers`); A must be built on the base. */
  base?: BaseRequest;
  /**
   * Read (and digest-check) every layer of both images, also those the verdict does not need and those
   * the other image shares (`--verify-blobs`), so both canonical digests are computed. By default a layer pair with equal diff_ids is not read (the
   * whole image, when both have the same manifest or config digest): the verdict follows from the
   * digests, and the report's canonical digests are null.
   */
  verifyBlobs?: boolean;
}

/** Compares two builds: verdict, identity chains side by side, and every difference explained. */
export async function verifyImages(request: VerifyRequest): Promise<Report> {
  const [a, b] = await Promise.all([loadImage(request.a, request.load), loadImage(request.b, request.load)]);
  try {
    return await verifyLoaded(a, b, request);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

export async function verifyLoaded(a: Image, b: Image, request: VerifyRequest): Promise<Report> {
  const options = request.normalize;
  const collector = new DifferenceCollector(request.neutralizedLimit ?? defaultNeutralizedLimit, policyCatalogue(request.policy?.policy));
  const bases = request.base ? await resolveVerifyBases(a, b, request.base, request.load) : undefined;
  // The entry tables (100,000 entries per large layer) live only inside this call.
  const compared = await readAndCompare(a, b, request, bases ? baseCauseSink(collector, bases) : collector, bases);

  let differences = collector.differences;
  const omitted = collector.omitted();
  const catalogue = policyCatalogue(request.policy?.policy);
  try {
    const reader = contentReader(a, b, compared.prefetched);
    await attachContentDetails(differences, reader, request.contentLimit, undefined, { wantsRanges: (d) => !knownByPath(d, catalogue) });
  } finally {
    await compared.prefetched?.close();
  }
  // Causes told by a decoded detail (a Go build id) can match only now that the details are attached.
  explainByDetail(differences, catalogue);
  if (request.policy) differences = applyPolicy(differences, request.policy.policy);
  const strict = request.strict ?? false;
  const gate = decideGate({ verdict: compared.verdict, differences, strict, unlistedNeutralized: countOmitted(omitted) });

  const report: Report = {
    schemaVersion: reportSchemaVersion,
    tool: { name: 'oci-repro', version: toolVersion },
    verdict: compared.verdict,
    reason: compared.sameDigest ? `${gate.reason} (same ${compared.sameDigest}${compared.unread ? '; layers not read' : ''})` : gate.reason,
    passed: gate.passed,
    options: {
      epoch: options.epoch,
      timestampMode: options.timestampMode,
      disabledRules: [...options.disabledRules].sort(),
      strict,
      policy: request.policy?.source ?? null,
    },
    a: compared.a,
    b: compared.b,
    flattened: compared.flattened,
    layers: compared.layers,
    summary: summarize(differences, compared.layers, {}, omitted),
    differences,
  };
  if (omitted.length > 0) report.omitted = omitted;
  return report;
}

interface Compared {
  verdict: Verdict;
  /** Which digest made the images identical. */
  sameDigest: 'manifest digest' | 'image ID' | null;
  /** Some layer pairs were not read (equal diff_ids): no canonical digests. */
  unread: boolean;
  a: ImageSide;
  b: ImageSide;
  layers: LayerComparison[];
  flattened: boolean;
  /** The changed files round two read for the content pass (closed by the caller). */
  prefetched?: Prefetched;
}

/** Reads every layer once and pushes the explained differences onto `out`; returns what the report keeps. */
async function readAndCompare(a: Image, b: Image, request: VerifyRequest, out: DifferenceSink, bases?: VerifyBases): Promise<Compared> {
  const options = request.normalize;
  // Round one without per-file content digests, round two with them only where contents may differ.
  // --verify-blobs checks each side's own blobs: no pass shared by diff_id, no pair left unread.
  const read = await readVerifyLayers(a, b, {
    normalize: options,
    bases,
    onLayer: request.onLayer,
    read: request.verifyBlobs ? undefined : layersToRead(a, b),
    shareByDiffId: !request.verifyBlobs,
    prefetch: { contentLimit: request.contentLimit },
  });
  try {
    return { ...compareRead(a, b, request, out, read), prefetched: read.prefetched };
  } catch (error) {
    await read.prefetched?.close();
    throw error;
  }
}

/** The comparison of what readVerifyLayers read. */
function compareRead(a: Image, b: Image, request: VerifyRequest, out: DifferenceSink, read: VerifyLayers): Compared {
  const options = request.normalize;
  const { a: analysisA, b: analysisB, inputs } = read;
  const pushAll = (differences: readonly Difference[]) => {
    for (const difference of differences) out.push(difference);
  };
  pushAll(compareManifestAnnotations(a.manifest?.parsed.annotations, b.manifest?.parsed.annotations, options));
  // The fields a changed Dockerfile step sets share its cause (`ENV a b` -> `ENV a c` and /config/Env/1).
  // An unread pair's stand-in (its diff_id) is equal on both sides, as its canonical diff_ids are.
  const configDifferences = compareConfigs(a.config.parsed, b.config.parsed, options, {
    a: analysisA.layers.map((layer) => layer.canonicalDiffId),
    b: analysisB.layers.map((layer) => layer.canonicalDiffId),
  });
  pushAll(explainStepFields(configDifferences, policyCatalogue(request.policy?.policy)));
  let layers: ReturnType<typeof compareLayersInto>;
  try {
    layers = compareLayersInto(inputs.a, inputs.b, options, out);
  } finally {
    // Spilled entry tables hold disk until closed; the differences are all that is kept of them.
    for (const input of [...inputs.a, ...inputs.b]) closeSummary(input.summary);
    for (const layer of [...analysisA.layers, ...analysisB.layers]) closeSummary(layer.summary);
  }
  const sameDigest = identicalBy(a, b);
  return {
    // With unread pairs the canonical digests hold the same stand-ins: equal exactly when the real ones are.
    verdict: sameDigest ? 'identical' : analysisA.canonicalDigest === analysisB.canonicalDigest ? 'reproducible' : 'not-reproducible',
    sameDigest,
    unread: analysisA.layers.some((layer) => layer.unread),
    a: imageSide(analysisA),
    b: imageSide(analysisB),
    layers: layers.layers,
    flattened: layers.flattened,
  };
}

/** Identical images: the same manifest digest, or the same image ID (config digest, hence the same diff_ids). */
function identicalBy(a: Image, b: Image): Compared['sameDigest'] {
  if (a.manifest && b.manifest && a.manifest.digest === b.manifest.digest) return 'manifest digest';
  return a.config.digest === b.config.digest ? 'image ID' : null;
}

/**
 * The layers the verdict needs read: not a pair with equal diff_ids, which are equal after normalization
 * too (all pairs of two identical images). The sources check every blob they do read. Different layer
 * counts need every layer, for the flattened filesystems.
 */
function layersToRead(a: Image, b: Image): ((layer: Layer) => boolean) | undefined {
  if (a.layers.length !== b.layers.length) return undefined;
  const equal = a.layers.map((layer, index) => layer.diffId === b.layers[index]!.diffId);
  return (layer) => !equal[layer.index];
}

/** An unread layer has no canonical diff_id, and its image no canonical digest. */
function imageSide(analysis: ImageAnalysis): ImageSide {
  const identity = describeImage(analysis.image);
  const unread = analysis.layers.some((layer) => layer.unread);
  return {
    ...identity,
    canonicalDigest: unread ? null : analysis.canonicalDigest,
    layers: identity.layers.map((layer, index) => {
      const result = analysis.layers[index]!;
      return { ...layer, canonicalDiffId: result.unread ? null : result.canonicalDiffId };
    }),
  };
}

/**
 * Opens the layers of the few changed files a report shows, straight from the tar (one pass each),
 * unless round two already took them (`prefetched`).
 */
function contentReader(a: Image, b: Image, prefetched?: Prefetched): ContentReader {
  return {
    prefetched: prefetched && ((layerIndex, side) => prefetched.files(layerIndex, side)),
    async openTar(layerIndex, side) {
      const layer = (side === 'a' ? a : b).layers[layerIndex];
      if (!layer || layer.foreign) return undefined;
      return layer.openTar();
    },
  };
}

/**
 * Whether the difference's cause is told by its path alone (a selector with paths and no value or
 * predicate, as apt's `*.bin` caches): its byte ranges would add nothing worth a read of its layers.
 */
function knownByPath(difference: Difference, catalogue: readonly CauseEntry[]): boolean {
  const id = difference.cause?.id;
  if (id === undefined) return false;
  const entry = catalogue.find((e) => e.id === id);
  return entry?.selectors.some((s) => s.paths !== undefined && s.values === undefined && s.predicate === undefined && matchSelector(s, difference)) ?? false;
}
