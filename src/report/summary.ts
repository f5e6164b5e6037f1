/**
 * The report summary: counts by cause and where the remaining differences are. In the JSON fields
 * `remaining` and `unexplained`, "remaining" means not neutralized by normalization, as in the model
 * (schema version 1); accepted differences are remaining ones that a policy accepts. What the
 * renderers call remaining, and what `topLayers` and `topFiles` list, are the differences that still
 * block: neither neutralized nor accepted.
 */
import { findCauseEntry } from '../causes/catalogue.js';
import { countBlockingByLayer, countOmitted } from '../diff/count.js';
import { unknownCauseId, type Difference, type OmittedDifferences } from '../diff/model.js';
import type { CauseCount, ReportSummary } from './model.js';
import type { LayerComparison } from '../diff/layers.js';

export const unknownCauseTitle = 'no known cause';

export interface SummaryLimits {
  /** At most this many layers in `topLayers`. */
  topLayers?: number;
  /** At most this many files in `topFiles`. */
  topFiles?: number;
}

/**
 * `omitted`: neutralized differences counted but not listed (see `Report.omitted`); the counts include
 * them, as if they were listed. They never block, so the top layers and files do not change.
 */
export function summarize(
  differences: readonly Difference[],
  layers: readonly LayerComparison[],
  limits: SummaryLimits = {},
  omitted: readonly OmittedDifferences[] = [],
): ReportSummary {
  const remaining = differences.filter((difference) => !difference.neutralized);
  const blocking = remaining.filter((difference) => !difference.accepted);
  const unlisted = countOmitted(omitted);
  return {
    differences: differences.length + unlisted,
    remaining: remaining.length,
    neutralized: differences.length - remaining.length + unlisted,
    accepted: remaining.filter((difference) => difference.accepted).length,
    unexplained: remaining.filter((difference) => difference.cause === null).length,
    byCause: countByCause(differences, omitted),
    topLayers: rankLayers(blocking, layers).slice(0, limits.topLayers ?? 10),
    topFiles: rankFiles(blocking).slice(0, limits.topFiles ?? 20),
  };
}

function countByCause(differences: readonly Difference[], omitted: readonly OmittedDifferences[]): CauseCount[] {
  const counts = new Map<string, CauseCount>();
  for (const difference of differences) {
    const id = difference.cause?.id ?? unknownCauseId;
    let count = counts.get(id);
    if (!count) {
      count = { cause: id, title: difference.cause?.title ?? unknownCauseTitle, count: 0, neutralized: 0, accepted: 0 };
      counts.set(id, count);
    }
    count.count += 1;
    if (difference.neutralized) count.neutralized += 1;
    else if (difference.accepted) count.accepted += 1;
    if (count.hint === undefined && difference.hint !== undefined && difference.cause !== null) count.hint = difference.hint;
  }
  for (const group of omitted) {
    let count = counts.get(group.cause);
    if (!count) {
      // Only when no difference of the cause is listed at all: its title comes from the catalogue.
      const entry = group.cause === unknownCauseId ? undefined : findCauseEntry(group.cause);
      count = { cause: group.cause, title: entry?.title ?? (group.cause === unknownCauseId ? unknownCauseTitle : group.cause), count: 0, neutralized: 0, accepted: 0 };
      if (entry) count.hint = entry.fix;
      counts.set(group.cause, count);
    }
    count.count += group.count;
    count.neutralized += group.count;
  }
  // What still blocks the gate first, then the biggest; the id keeps the order stable.
  const blocking = (count: CauseCount) => count.count - count.neutralized - count.accepted;
  return [...counts.values()].sort(
    (x, y) => blocking(y) - blocking(x) || y.count - x.count || compareText(x.cause, y.cause),
  );
}

function rankLayers(blocking: readonly Difference[], layers: readonly LayerComparison[]): ReportSummary['topLayers'] {
  const counts = countBlockingByLayer(blocking);
  const steps = new Map(layers.map((layer) => [layer.index, layer.step]));
  return [...counts]
    .map(([index, count]) => ({ index, step: steps.get(index) ?? null, remaining: count }))
    .sort((x, y) => y.remaining - x.remaining || x.index - y.index);
}

function rankFiles(blocking: readonly Difference[]): ReportSummary['topFiles'] {
  const files = new Map<string, { layer: number | null; file: string; attributes: string[]; count: number }>();
  for (const difference of blocking) {
    if (difference.file === undefined) continue;
    // A flattened comparison's file is in the flattened filesystem, not in one layer.
    const layer = difference.origin ? null : (difference.layer ?? null);
    const key = `${layer ?? ''}\u0000${difference.file}`;
    let entry = files.get(key);
    if (!entry) {
      entry = { layer, file: difference.file, attributes: [], count: 0 };
      files.set(key, entry);
    }
    entry.count += 1;
    const what = describeFileChange(difference);
    if (!entry.attributes.includes(what)) entry.attributes.push(what);
  }
  return [...files.values()]
    .sort(
      (x, y) =>
        y.count - x.count ||
        (x.layer ?? Number.MAX_SAFE_INTEGER) - (y.layer ?? Number.MAX_SAFE_INTEGER) ||
        compareText(x.file, y.file),
    )
    .map(({ layer, file, attributes }) => ({ layer, file, attributes }));
}

/** `added`, `removed`, `mtime`, `xattr:security.capability`: what changed about a file, in one word. */
export function describeFileChange(difference: Difference): string {
  if (difference.kind === 'file-added') return 'added';
  if (difference.kind === 'file-removed') return 'removed';
  const attribute = difference.attribute ?? difference.kind;
  return difference.key !== undefined ? `${attribute}:${difference.key}` : attribute;
}

/** Code-unit order, the same on every machine and locale (unlike localeCompare). */
export function compareText(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}
