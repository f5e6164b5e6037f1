/** Scope and counting helpers over differences, shared by the collector, the summary and the renderers. */
import type { Difference, DifferenceScope, OmittedDifferences } from './model.js';

/** How many differences the report counts but does not list. */
export function countOmitted(omitted: readonly OmittedDifferences[] | undefined): number {
  let total = 0;
  for (const group of omitted ?? []) total += group.count;
  return total;
}

/**
 * Where a difference is, as `Report.omitted` names it: `layers/<index>` for a layer's own files and
 * layer-level kinds, `fs` for a file of the flattened filesystems, else `config` (config, manifest,
 * layer count). The renderers group details the same way.
 */
export function differenceScope(difference: Difference): DifferenceScope {
  if (difference.layer !== undefined && !difference.origin) return `layers/${difference.layer}`;
  if (difference.file !== undefined) return 'fs';
  return 'config';
}

/** A difference still blocks the gate: neither neutralized nor accepted by a policy. */
export function isBlocking(difference: Difference): boolean {
  return !difference.neutralized && !difference.accepted;
}

/**
 * The layers a difference is about. A flattened comparison's file difference is about the layer
 * each side took the file from (A's layer 1 and B's layer 0 when B squashed two layers into one);
 * any other difference is about its `layer`, if any.
 */
export function layersOf(difference: Difference): number[] {
  if (difference.origin) {
    const { a, b } = difference.origin;
    return [...new Set([a, b].filter((layer): layer is number => layer !== null))];
  }
  return difference.layer === undefined ? [] : [difference.layer];
}

/** Blocking differences per layer index, every layer (not only the top ones). */
export function countBlockingByLayer(differences: readonly Difference[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const difference of differences) {
    if (!isBlocking(difference)) continue;
    for (const layer of layersOf(difference)) counts.set(layer, (counts.get(layer) ?? 0) + 1);
  }
  return counts;
}
