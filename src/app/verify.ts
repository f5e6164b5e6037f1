import {
  attachContentDetails,
  compareConfigs,
  compareLayersInto,
  compareManifestAnnotations,
  DifferenceCollector,
  defaultNeutralizedLimit,
  type DifferenceSink,
  readFilesFromTar,
  type ContentReader,
} from '../compare/index.js';
import { explainStepFields } from '../compare/step-fields.js';
import { applyPolicy, decideGate, policyCatalogue, type Policy } from '../gate/policy.js';
import type { Image } from '../image/image.js';
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
import { readVerifyLayers } from './verify-layers.js';

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
  await attachContentDetails(differences, contentReader(a, b), request.contentLimit);
  if (request.policy) differences = applyPolicy(differences, request.policy.policy);
  const strict = request.strict ?? false;
  const gate = decideGate({ verdict: compared.verdict, differences, strict, unlistedNeutralized: countOmitted(omitted) });

  const report: Report = {
    schemaVersion: reportSchemaVersion,
    tool: { name: 'oci-repro', version: toolVersion },
    verdict: compared.verdict,
    reason: gate.reason,
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
  a: ImageSide;
  b: ImageSide;
  layers: LayerComparison[];
  flattened: boolean;
}

/** Reads every layer once and pushes the explained differences onto `out`; returns what the report keeps. */
async function readAndCompare(a: Image, b: Image, request: VerifyRequest, out: DifferenceSink, bases?: VerifyBases): Promise<Compared> {
  const options = request.normalize;
  // Round one without per-file content digests, round two with them only where contents may differ.
  const { a: analysisA, b: analysisB, inputs } = await readVerifyLayers(a, b, { normalize: options, bases, onLayer: request.onLayer });
  const pushAll = (differences: readonly Difference[]) => {
    for (const difference of differences) out.push(difference);
  };
  pushAll(compareManifestAnnotations(a.manifest?.parsed.annotations, b.manifest?.parsed.annotations, options));
  // The fields a changed Dockerfile step sets share its cause (`ENV a b` -> `ENV a c` and /config/Env/1).
  const configDifferences = compareConfigs(a.config.parsed, b.config.parsed, options, {
    a: analysisA.layers.map((layer) => layer.canonicalDiffId),
    b: analysisB.layers.map((layer) => layer.canonicalDiffId),
  });
  pushAll(explainStepFields(configDifferences, policyCatalogue(request.policy?.policy)));
  const layers = compareLayersInto(inputs.a, inputs.b, options, out);
  return {
    verdict: decideVerdict(a, b, analysisA, analysisB),
    a: imageSide(analysisA),
    b: imageSide(analysisB),
    layers: layers.layers,
    flattened: layers.flattened,
  };
}

function decideVerdict(a: Image, b: Image, analysisA: ImageAnalysis, analysisB: ImageAnalysis): Verdict {
  if (a.manifest && b.manifest && a.manifest.digest === b.manifest.digest) return 'identical';
  if (a.config.digest === b.config.digest) return 'identical';
  return analysisA.canonicalDigest === analysisB.canonicalDigest ? 'reproducible' : 'not-reproducible';
}

function imageSide(analysis: ImageAnalysis): ImageSide {
  const identity = describeImage(analysis.image);
  return {
    ...identity,
    canonicalDigest: analysis.canonicalDigest,
    layers: identity.layers.map((layer, index) => ({ ...layer, canonicalDiffId: analysis.layers[index].canonicalDiffId })),
  };
}

/** Reads the few changed files a report shows as diffs, one layer at a time, straight from the tar. */
function contentReader(a: Image, b: Image): ContentReader {
  return {
    async read(layerIndex, side, paths) {
      const layer = (side === 'a' ? a : b).layers[layerIndex];
      if (!layer || layer.foreign) return new Map();
      return readFilesFromTar(await layer.openTar(), paths);
    },
  };
}
