/**
 * Which layer rules changed a layer, derived after the pass from its summary (no second read, nothing
 * added to the per-entry scan). The table holds the input's values for the fields rules rewrite, and
 * each entry's input position, which is enough for most rules:
 *
 *   entry-order      entries that had to move: the table minus its longest run already in input order
 *   mtime            entries whose written mtime differs from the input's (sub-second times included)
 *   extra-times      entries that carried atime or ctime
 *   owner-names      entries with a uname or gname
 *   tar-dialect      entries whose writer-specific PAX records were dropped or whose mode lost its
 *                    file-type bits (Go writers set them; counted by the pass)
 *   hardlinks        entries of link groups whose data moved to another path (the carrier changed)
 *   duplicate-paths  earlier entries dropped because a later one has the same path
 *
 * Not reported: 'path-spelling' (the table keeps only the canonical spelling), nor for 'hardlinks'
 * links re-pointed along a chain or metadata copied onto links (the input link header is not kept).
 */
import { canonicalMtime, comparePaths, pathKey, resolveLayerRules, type EntryCursor, type LayerEntry, type LayerSummary } from './entry.js';
import { entryCount, openEntries } from './layer-table.js';
import type { LayerRuleName, NormalizeOptions } from './options.js';

/** A layer rule that changed a layer. */
export interface LayerAppliedRule {
  rule: LayerRuleName;
  /** How many entries it changed (see the module comment for what each rule counts). */
  entries: number;
  /** The first few of those paths: in canonical order, for tar-dialect in input order (the pass names them). */
  examples: string[];
}

/** Paths named per rule: enough to look at, few enough for a layer of 100,000 entries. */
export const maxExamples = 3;

/**
 * The enabled layer rules that changed this layer, in `layerRuleNames` order; empty when none did.
 * `options` must be those the summary was made with.
 */
export function layerRulesApplied(summary: LayerSummary, options: NormalizeOptions): LayerAppliedRule[] {
  const rules = resolveLayerRules(options);
  // Passes over the table, in memory or spilled: each helper reads it once or twice, in order.
  const open = (): EntryCursor => openEntries(summary);
  const count = entryCount(summary);
  const applied: LayerAppliedRule[] = [];
  const add = (rule: LayerRuleName, count: number, examples: string[]) => {
    if (count > 0) applied.push({ rule, entries: count, examples });
  };

  if (rules.entryOrder) {
    const moved = movedEntries(open, count);
    add('entry-order', moved.count, moved.examples);
  }
  if (rules.mtime) add('mtime', ...countWhere(open, (entry) => canonicalMtime(entry.mtime, rules) !== entry.mtime));
  if (rules.extraTimes) add('extra-times', ...countWhere(open, (entry) => entry.atime !== undefined || entry.ctime !== undefined));
  if (rules.ownerNames) add('owner-names', ...countWhere(open, (entry) => entry.uname !== '' || entry.gname !== ''));
  if (rules.tarDialect) add('tar-dialect', summary.droppedRecords.entries, summary.droppedRecords.examples.slice(0, maxExamples));
  if (rules.hardlinks) {
    const moved = movedCarriers(open, rules.entryOrder);
    add('hardlinks', moved.count, moved.examples);
  }
  if (rules.duplicatePaths && summary.duplicatePaths.length > 0) {
    // Input entries are numbered 0..n-1 and the last one always survives, so n is the highest index + 1.
    let inputCount = 0;
    forEach(open, (entry) => {
      if (entry.inputIndex >= inputCount) inputCount = entry.inputIndex + 1;
    });
    add('duplicate-paths', inputCount - count, summary.duplicatePaths.slice(0, maxExamples));
  }
  return applied;
}

function forEach(open: () => EntryCursor, visit: (entry: LayerEntry, position: number) => boolean | void): void {
  const cursor = open();
  let position = 0;
  for (let entry = cursor.next(); entry !== undefined; entry = cursor.next()) if (visit(entry, position++) === false) return;
}

function countWhere(open: () => EntryCursor, changed: (entry: LayerEntry) => boolean): [number, string[]] {
  let count = 0;
  const examples: string[] = [];
  forEach(open, (entry) => {
    if (!changed(entry)) return;
    if (count++ < maxExamples) examples.push(entry.path);
  });
  return [count, examples];
}

/**
 * Entries the sort moved: those outside a longest increasing run of input positions (the fewest that
 * have to move to turn the input order into the canonical one). O(n log n) in typed arrays, and only
 * for layers that were out of order; a table in input order costs one comparison per entry.
 */
function movedEntries(open: () => EntryCursor, n: number): { count: number; examples: string[] } {
  const positions = new Int32Array(n);
  let ordered = true;
  forEach(open, (entry, i) => {
    positions[i] = entry.inputIndex;
    if (i > 0 && positions[i - 1] >= positions[i]) ordered = false;
  });
  if (ordered) return { count: 0, examples: [] };

  // Patience sorting: tails[k] = table index ending the best run of length k + 1; parent links rebuild it.
  const tails = new Int32Array(n);
  const parent = new Int32Array(n);
  let length = 0;
  for (let i = 0; i < n; i++) {
    const value = positions[i];
    let low = 0;
    let high = length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (positions[tails[middle]] < value) low = middle + 1;
      else high = middle;
    }
    parent[i] = low > 0 ? tails[low - 1] : -1;
    tails[low] = i;
    if (low === length) length++;
  }
  const kept = new Uint8Array(n);
  for (let i = length > 0 ? tails[length - 1] : -1; i >= 0; i = parent[i]) kept[i] = 1;
  const examples: string[] = [];
  forEach(open, (entry, i) => {
    if (!kept[i]) examples.push(entry.path);
    return examples.length < maxExamples;
  });
  return { count: n - length, examples };
}

/**
 * Link groups whose data now sits on another path than in the input. With the rule on, every link of
 * a group names the path that carries the data; a link always follows its target in the input, so the
 * carrier was a link in the input exactly when one of its links has an earlier input position. (A link
 * to a path that only comes later, which tar cannot extract, would count too: the table does not say
 * whether a link found its target.) Only a sort can move a carrier, so without 'entry-order' none
 * moved; with it the carriers are found in a second pass. Counts every entry of such a group.
 */
function movedCarriers(open: () => EntryCursor, sorted: boolean): { count: number; examples: string[] } {
  let count = 0;
  const examples: string[] = [];
  if (!sorted) return { count, examples };
  let groups: Map<string, { firstLink: number; links: number }> | undefined;
  forEach(open, (entry) => {
    if (entry.type !== 'hardlink' || entry.linkname === undefined) return;
    groups ??= new Map();
    const group = groups.get(entry.linkname);
    if (group === undefined) groups.set(entry.linkname, { firstLink: entry.inputIndex, links: 1 });
    else {
      group.links++;
      if (entry.inputIndex < group.firstLink) group.firstLink = entry.inputIndex;
    }
  });
  if (groups === undefined) return { count, examples };
  const found = groups;
  const carriers: string[] = [];
  // The carrier of a group is the (one, after duplicate resolution) entry named by its key.
  forEach(open, (carrier) => {
    const group = found.get(pathKey(carrier.path));
    if (group === undefined) return;
    found.delete(pathKey(carrier.path));
    if (carrier.type === 'hardlink' || group.firstLink > carrier.inputIndex) return;
    count += 1 + group.links;
    carriers.push(pathKey(carrier.path));
  });
  examples.push(...carriers.sort(comparePaths).slice(0, maxExamples));
  return { count, examples };
}
