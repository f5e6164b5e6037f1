/**
 * Flattened filesystems, for images whose layer counts differ: the layers applied in order, as a
 * runtime would, then compared path by path like two layers (`fs/...` paths).
 *
 * Each layer is applied by one merge of two sorted lists, so flattening costs O(layers x entries)
 * with no per-path lookups: `comparePaths` keeps a directory's subtree contiguous right after it, so a
 * whiteout's reach is one contiguous run of the lower filesystem.
 */
import { comparePaths, pathKey, resolveLayerRules, type LayerEntry, type LayerSummary } from '../normalize/entry.js';
import type { NormalizeOptions } from '../normalize/options.js';
import type { Difference } from '../diff/model.js';
import type { DifferenceSink } from './collect.js';
import { compareEntryTables, sortEntries, type FileCounts } from './files.js';

export const whiteoutPrefix = '.wh.';
export const opaqueWhiteout = '.wh..wh..opq';

/** A filesystem as one table: entries in `comparePaths` order and, by position, the layer each came from. */
export interface FlatFilesystem {
  entries: LayerEntry[];
  layers: Int32Array;
}

/** A deletion a layer makes in the layers below it. */
interface Deletion {
  /** `pathKey` of the directory (opaque) or of the deleted path (whiteout); '' is the root. */
  target: string;
  /** True for a whiteout: the target itself goes too. False for an opaque directory: only its contents. */
  self: boolean;
}

function baseNameStart(key: string): number {
  return key.lastIndexOf('/') + 1;
}

/** True when `key` is `target` or below it. */
function isWithin(key: string, target: string): boolean {
  if (target === '') return true;
  return key === target || (key.length > target.length && key.charCodeAt(target.length) === 0x2f && key.startsWith(target));
}

/** The whiteouts of a layer as deletions in `comparePaths` order; null when it has none. */
function deletionsOf(entries: readonly LayerEntry[]): Deletion[] | null {
  let deletions: Deletion[] | null = null;
  for (const entry of entries) {
    const key = pathKey(entry.path);
    const start = baseNameStart(key);
    if (!key.startsWith(whiteoutPrefix, start)) continue;
    const directory = key.slice(0, Math.max(0, start - 1));
    const name = key.slice(start + whiteoutPrefix.length);
    deletions ??= [];
    if (key.length - start === opaqueWhiteout.length && key.endsWith(opaqueWhiteout)) {
      deletions.push({ target: directory, self: false });
    } else if (name !== '' && !name.startsWith(whiteoutPrefix)) {
      // `.wh..wh.*` other than the opaque marker are aufs bookkeeping (`.wh..wh.plnk`): no deletion.
      deletions.push({ target: directory === '' ? name : `${directory}/${name}`, self: true });
    }
  }
  if (deletions === null) return null;
  deletions.sort((x, y) => (x.target === y.target ? 0 : x.target === '' ? -1 : y.target === '' ? 1 : comparePaths(x.target, y.target)));
  // One rule per target; a whiteout of a directory also covers an opaque marker inside it.
  const merged: Deletion[] = [];
  for (const deletion of deletions) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.target === deletion.target) last.self ||= deletion.self;
    else merged.push(deletion);
  }
  return merged;
}

function isWhiteout(entry: LayerEntry): boolean {
  const key = pathKey(entry.path);
  return key.startsWith(whiteoutPrefix, baseNameStart(key));
}

/**
 * Applies one layer on top of `lower`: the layer's whiteouts delete from the lower layers only, its
 * other entries replace lower entries for the same path, and a non-directory replacing a directory
 * takes the directory's lower subtree with it. Whiteout files themselves do not appear in the result.
 */
export function applyLayer(lower: FlatFilesystem, layer: readonly LayerEntry[], layerIndex: number, sorted = false): FlatFilesystem {
  const upper = sortEntries(layer, sorted);
  const deletions = deletionsOf(upper);
  const entries: LayerEntry[] = [];
  const layers: number[] = [];
  let d = 0;
  /** Set while skipping the lower subtree of a directory that an upper non-directory replaced. */
  let replacedDirectory: string | null = null;

  const keepLower = (entry: LayerEntry): boolean => {
    if (replacedDirectory === null && deletions === null) return true;
    const key = pathKey(entry.path);
    if (replacedDirectory !== null) {
      if (isWithin(key, replacedDirectory) && key !== replacedDirectory) return false;
      replacedDirectory = null;
    }
    if (deletions === null || entry.path === './') return true;
    // Deletions before this path whose reach ends before it can never match again.
    while (d < deletions.length) {
      const { target } = deletions[d]!;
      if (isWithin(key, target)) break;
      if (target !== '' && comparePaths(target, entry.path) > 0) break;
      d++;
    }
    const deletion = deletions[d];
    if (deletion === undefined || !isWithin(key, deletion.target)) return true;
    // Inside the reach: a whiteout deletes its target too, an opaque marker only what is below it.
    return !deletion.self && key === deletion.target;
  };

  let i = 0;
  let j = 0;
  while (i < lower.entries.length || j < upper.length) {
    const lowerEntry = lower.entries[i];
    const upperEntry = upper[j];
    const order =
      lowerEntry === undefined ? 1 : upperEntry === undefined ? -1 : comparePaths(lowerEntry.path, upperEntry.path);
    if (order < 0) {
      if (keepLower(lowerEntry!)) {
        entries.push(lowerEntry!);
        layers.push(lower.layers[i]!);
      }
      i++;
      continue;
    }
    if (order === 0) {
      keepLower(lowerEntry!); // only to move the cursors past this path: the upper entry wins
      // A directory turned into something else loses its lower contents.
      if (lowerEntry!.type === 'directory' && upperEntry!.type !== 'directory') replacedDirectory = pathKey(lowerEntry!.path);
      i++;
    }
    if (!isWhiteout(upperEntry!)) {
      entries.push(upperEntry!);
      layers.push(layerIndex);
    }
    j++;
  }
  return { entries, layers: Int32Array.from(layers) };
}

/** The filesystem the layers make, bottom layer first; `sorted`: see `sortEntries`. */
export function flattenLayers(layers: readonly (readonly LayerEntry[])[], sorted = false): FlatFilesystem {
  let filesystem: FlatFilesystem = { entries: [], layers: new Int32Array(0) };
  layers.forEach((layer, index) => {
    filesystem = applyLayer(filesystem, layer, index, sorted);
  });
  return filesystem;
}

export interface FlattenedComparison {
  differences: Difference[];
  counts: FileCounts;
}

/**
 * Compares two images with different layer counts on their flattened filesystems: one `layer-count`
 * difference, then file differences at `fs/<path>` whose `origin` names the layer each side's entry
 * came from.
 */
export function compareFlattened(
  a: readonly LayerSummary[],
  b: readonly LayerSummary[],
  options: NormalizeOptions,
): FlattenedComparison {
  const differences: Difference[] = [];
  const counts = compareFlattenedInto(a, b, options, differences);
  return { differences, counts };
}

/** `compareFlattened` pushing its differences onto `differences`. */
export function compareFlattenedInto(
  a: readonly LayerSummary[],
  b: readonly LayerSummary[],
  options: NormalizeOptions,
  differences: DifferenceSink,
): FileCounts {
  differences.push({ kind: 'layer-count', path: 'layers', a: a.length, b: b.length, neutralized: false, cause: null });
  const rules = resolveLayerRules(options);
  const flatA = flattenLayers(a.map((summary) => summary.entries), rules.entryOrder);
  const flatB = flattenLayers(b.map((summary) => summary.entries), rules.entryOrder);
  return compareEntryTables(
    flatA.entries,
    flatB.entries,
    rules,
    { prefix: 'fs/', originA: flatA.layers, originB: flatB.layers },
    differences,
  );
}
