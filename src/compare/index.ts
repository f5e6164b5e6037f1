/**
 * The comparer: config by JSON pointer, layers aligned by index, files merge-joined by path, or on the
 * flattened filesystems when layer counts differ. It produces differences with `cause: null`; the
 * causes catalogue fills causes and hints afterwards.
 */
import { unsupported } from '../errors.js';
import type { LayerSummary } from '../normalize/entry.js';
import type { NormalizeOptions } from '../normalize/options.js';
import type { LayerComparison } from '../diff/layers.js';
import type { Difference } from '../diff/model.js';
import type { DifferenceSink } from './collect.js';
import { compareFlattenedInto } from './flatten.js';
import { compareLayerPairInto, missingContentDigests, type LayerInput } from './layers.js';

export {
  compareConfigs,
  compareManifestAnnotations,
  diffJson,
  jsonEqual,
  type CanonicalDiffIds,
  type JsonDiffVisitor,
} from './config.js';
export {
  attachContentDetails,
  decodeText,
  defaultContentBudget,
  defaultContentLimit,
  describeContentChange,
  readFilesFromTar,
  type ContentOptions,
  type ContentReader,
} from './content.js';
export { maxStreamedFiles, readLayerFiles, type LayerFiles } from './content-stream.js';
export { compareNested, defaultNestedLimits, type NestedComparison, type NestedLimits } from './nested.js';
export {
  compareEntries,
  compareEntryTables,
  describeEntry,
  formatBinaryValue,
  sortEntries,
  type FileCounts,
  type FileScope,
} from './files.js';
export { DifferenceCollector, defaultNeutralizedLimit, type DifferenceSink } from './collect.js';
export { explainStepFields, instructionOf } from './step-fields.js';
export { applyLayer, compareFlattened, compareFlattenedInto, flattenLayers, type FlatFilesystem, type FlattenedComparison } from './flatten.js';
export {
  compareLayerPair,
  compareLayerPairInto,
  compareLayerTables,
  needsContentDigests,
  type LayerInput,
  type LayerPairComparison,
  type LayerPairOptions,
} from './layers.js';

export interface LayersComparison {
  layers: LayerComparison[];
  differences: Difference[];
  /** True when layer counts differ and files were compared on the flattened filesystems. */
  flattened: boolean;
}

/**
 * Compares the layers of two images. Same layer count: pair by index (`compareLayerPair`), which needs
 * both summaries for every pair whose diff_ids differ. Different counts: pair by index for the status
 * only, then one `layer-count` difference and the file differences of the flattened filesystems, which
 * needs every layer's summary on both sides.
 */
export function compareLayers(
  a: readonly LayerInput[],
  b: readonly LayerInput[],
  options: NormalizeOptions,
): LayersComparison {
  const differences: Difference[] = [];
  return { ...compareLayersInto(a, b, options, differences), differences };
}

/**
 * `compareLayers` pushing the differences onto `out`, in the same order: with a `DifferenceCollector`,
 * the neutralized differences of 100,000 files are counted, not all held.
 */
export function compareLayersInto(
  a: readonly LayerInput[],
  b: readonly LayerInput[],
  options: NormalizeOptions,
  out: DifferenceSink,
): Omit<LayersComparison, 'differences'> {
  const flattened = a.length !== b.length;
  const layers: LayerComparison[] = [];
  const count = Math.max(a.length, b.length);
  for (let index = 0; index < count; index++) {
    layers.push(compareLayerPairInto(index, a[index] ?? null, b[index] ?? null, options, out, { files: !flattened }));
  }
  if (flattened) compareFlattenedInto(summariesOf(a, 'A'), summariesOf(b, 'B'), options, out);
  return { layers, flattened };
}

function summariesOf(layers: readonly LayerInput[], side: string): LayerSummary[] {
  return layers.map((layer, index) => {
    if (!layer.summary) {
      throw unsupported(`comparing images with different layer counts: layer ${index} of image ${side} was not read`, {
        hint: layer.identity.foreign
          ? 'the layer is foreign (its blob is not in the image), so the flattened filesystem is unknown'
          : 'every layer must be read to compare flattened filesystems',
      });
    }
    if (!layer.contentDigests) throw missingContentDigests(`layer ${index} of image ${side}`);
    return layer.summary;
  });
}
