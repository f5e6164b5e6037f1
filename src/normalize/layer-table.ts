/**
 * The canonical entry table of a scanned layer: duplicates resolved (rule 'duplicate-paths'), sorted
 * (rule 'entry-order'), hardlink groups re-pointed so the first path carries the data (rule
 * 'hardlinks'). The canonical tar is written from it (layer-writer.ts).
 */
import { comparePaths, type EntryCursor, type LayerEntry, type LayerRules, type LayerSummary } from './entry.js';
import { withFields } from './entry-record.js';
import { readAllEntries, SpilledTable, type PendingLink } from './entry-merge.js';
import type { RunFile } from './entry-spill.js';

/** What the table is made from: the records of the pass over the input (layer-scan.ts). */
export interface TableInput {
  records: LayerEntry[];
  /** Per record: the record that carries its data (itself; for a hardlink its target's), -1 if none. */
  roots: number[];
  /** Input indexes of the records a later entry of the same path replaced. */
  superseded: Set<number>;
  inCanonicalOrder: boolean;
  /** A table that spilled to disk (layer-scan.ts): then the fields above are empty. */
  spilled?: { file: RunFile; pending: PendingLink[] } | null;
}

export interface CanonicalTable {
  entries: LayerEntry[];
  /** Per canonical entry: the record whose spooled content it carries, -1 if none. */
  contentRecords: number[];
  /** Set when the table is on disk: `entries` and `contentRecords` are then empty. */
  spilled?: SpilledTable;
}

/** One pass over a canonical table, with where each entry's content is in the spool. */
export interface TableCursor extends EntryCursor {
  /** Spool offset of the content the entry last returned carries, -1 if none. */
  contentOffset: number;
}

/** A pass over `table`, in memory or spilled; `spoolOffsets` are the scan's (by record). */
export function openTable(table: CanonicalTable, spoolOffsets: readonly number[]): TableCursor {
  if (table.spilled !== undefined) return table.spilled.open();
  const { entries, contentRecords } = table;
  let i = 0;
  const cursor: TableCursor = {
    contentOffset: -1,
    next() {
      if (i >= entries.length) return undefined;
      const record = contentRecords[i];
      cursor.contentOffset = record < 0 ? -1 : spoolOffsets[record];
      return entries[i++];
    },
  };
  return cursor;
}

/** The entries of `summary` in canonical order, one pass, whether the table is in memory or on disk. */
export function openEntries(summary: Pick<LayerSummary, 'entries' | 'spilled'>): EntryCursor {
  if (summary.spilled !== undefined) return summary.spilled.open();
  const { entries } = summary;
  let i = 0;
  return { next: () => (i < entries.length ? entries[i++] : undefined) };
}

/** How many entries the table of `summary` has. */
export function entryCount(summary: Pick<LayerSummary, 'entries' | 'spilled'>): number {
  return summary.spilled !== undefined ? summary.spilled.count : summary.entries.length;
}

/** Frees the disk a spilled table holds (nothing for one in memory); its entries are gone after. */
export function closeSummary(summary: Pick<LayerSummary, 'spilled'> | null | undefined): void {
  summary?.spilled?.close();
}

/**
 * Marks `summary` as holding the spilled `table`: its `entries` read the table whole on each access,
 * for callers that need an array.
 */
export function defineSpilledEntries<T extends object>(summary: T, table: SpilledTable): T & { entries: LayerEntry[] } {
  Object.defineProperty(summary, 'entries', { get: () => readAllEntries(table), enumerable: true, configurable: true });
  // Not enumerable: a summary compares and serializes by its entries, whichever way they are held.
  Object.defineProperty(summary, 'spilled', { value: table, enumerable: false, configurable: true, writable: true });
  return summary as T & { entries: LayerEntry[] };
}

/** Duplicate resolution, order and hardlink re-pointing: the table the canonical tar is written from. */
export function finalizeTable(scan: TableInput, rules: LayerRules): CanonicalTable {
  if (scan.spilled) {
    const table = new SpilledTable(scan.spilled.file, rules, scan.spilled.pending);
    try {
      table.finish();
    } catch (error) {
      table.close();
      throw error;
    }
    return { entries: [], contentRecords: [], spilled: table };
  }
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
