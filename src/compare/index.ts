/**
 * The comparer: config by JSON pointer, layers aligned by index, files merge-joined by path, or on the
 * flattened filesystems when layer counts differ. It produces differences with `cause: null`; the
 * causes catalogue fills causes and hints afterwards.
 */
import { unsupported } from '../errors.js';
import type { LayerSummary } from '../normalize/entry.js';
import type { NormalizeOptions } from '../normalize/options.js';
import type { Difference, LayerComparison } from '../report/model.js';
import { compareFlattened } from './flatten.js';
import { compareLayerPair, type LayerInput } from './layers.js';

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
  type ContentReader,
} from './content.js';
export {
  compareEntries,
  compareEntryTables,
  describeEntry,
  formatBinaryValue,
  formatMode,
  sortEntries,
  type EntryValue,
  type FileCounts,
  type FileScope,
} from './files.js';
export { applyLayer, compareFlattened, flattenLayers, type FlatFilesystem, type FlattenedComparison } from './flatten.js';
export {
  compareLayerPair,
  compareLayerTables,
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
  const flattened = a.length !== b.length;
  const layers: LayerComparison[] = [];
  const differences: Difference[] = [];
  const count = Math.max(a.length, b.length);
  for (let index = 0; index < count; index++) {
    const pair = compareLayerPair(index, a[index] ?? null, b[index] ?? null, options, { files: !flattened });
    layers.push(pair.comparison);
    for (const difference of pair.differences) differences.push(difference);
  }
  if (flattened) {
    const flat = compareFlattened(summariesOf(a, 'A'), summariesOf(b, 'B'), options);
    for (const difference of flat.differences) differences.push(difference);
  }
  return { layers, differences, flattened };
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
    return layer.summary;
  });
}
