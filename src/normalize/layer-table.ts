/**
 * The canonical entry table of a scanned layer: duplicates resolved (rule 'duplicate-paths'), sorted
 * (rule 'entry-order'), hardlink groups re-pointed so the first path carries the data (rule
 * 'hardlinks'). The canonical tar is written from it (layer-writer.ts).
 */
import { comparePaths, type LayerEntry, type LayerRules } from './entry.js';
import { withFields } from './entry-record.js';

/** What the table is made from: the records of the pass over the input (layer-scan.ts). */
export interface TableInput {
  records: LayerEntry[];
  /** Per record: the record that carries its data (itself; for a hardlink its target's), -1 if none. */
  roots: number[];
  /** Input indexes of the records a later entry of the same path replaced. */
  superseded: Set<number>;
  inCanonicalOrder: boolean;
}

export interface CanonicalTable {
  entries: LayerEntry[];
  /** Per canonical entry: the record whose spooled content it carries, -1 if none. */
  contentRecords: number[];
}

/** Duplicate resolution, order and hardlink re-pointing: the table the canonical tar is written from. */
export function finalizeTable(scan: TableInput, rules: LayerRules): CanonicalTable {
  const { records, roots } = scan;
  let entries =
    rules.duplicatePaths && scan.superseded.size > 0
      ? records.filter((entry) => !scan.superseded.has(entry.inputIndex))
      : records.slice();
  if (rules.entryOrder && !scan.inCanonicalOrder) entries.sort((a, b) => comparePaths(a.path, b.path));

  const contentRecords: number[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    contentRecords[i] = entry.type === 'file' && entry.size > 0 ? entry.inputIndex : -1;
  }
  if (!rules.hardlinks) return { entries, contentRecords };

  // Roots with at least one surviving link form groups; everything else is untouched.
  const grouped = new Set<number>();
  for (const entry of entries) {
    if (entry.type === 'hardlink' && roots[entry.inputIndex] >= 0) grouped.add(roots[entry.inputIndex]);
  }
  if (grouped.size === 0) return { entries, contentRecords };

  entries = entries.slice();
  const leaders = new Map<number, string>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    const isLink = entry.type === 'hardlink';
    const root = isLink ? roots[entry.inputIndex] : entry.inputIndex;
    if (root < 0 || !grouped.has(root)) continue;
    const leader = leaders.get(root);
    if (leader === undefined) {
      leaders.set(root, entry.path);
      if (isLink) {
        // The first path of the group carries the data, whichever path carried it in the input.
        const data = records[root];
        // The link's record already holds the group's digest (layer-scan.ts joinGroup).
        entries[i] = withFields(data, { path: entry.path, inputIndex: entry.inputIndex });
        contentRecords[i] = data.type === 'file' && data.size > 0 ? root : -1;
      }
    } else if (isLink) {
      if (entry.linkname !== leader) entries[i] = withFields(entry, { linkname: leader });
    } else {
      entries[i] = withFields(entry, { type: 'hardlink', size: 0, linkname: leader, devmajor: undefined, devminor: undefined });
      contentRecords[i] = -1;
    }
  }
  return { entries, contentRecords };
}
