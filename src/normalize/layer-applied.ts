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
  // A spilled table is read as a merge of runs: one pass gathers what every rule needs, and only an
  // out-of-order table or one with link groups is read again (for examples and carriers).
  const open = (): EntryCursor => openEntries(summary);
  const count = entryCount(summary);
  const applied: LayerAppliedRule[] = [];
  const add = (rule: LayerRuleName, count: number, examples: string[]) => {
    if (count > 0) applied.push({ rule, entries: count, examples });
  };

  const counters = [
    { on: rules.mtime, rule: 'mtime' as const, changed: (entry: LayerEntry) => canonicalMtime(entry.mtime, rules) !== entry.mtime },
    { on: rules.extraTimes, rule: 'extra-times' as const, changed: (entry: LayerEntry) => entry.atime !== undefined || entry.ctime !== undefined },
    { on: rules.ownerNames, rule: 'owner-names' as const, changed: (entry: LayerEntry) => entry.uname !== '' || entry.gname !== '' },
  ]
    .filter((counter) => counter.on)
    .map((counter) => ({ ...counter, count: 0, examples: [] as string[] }));
  const positions = rules.entryOrder ? new Int32Array(count) : null;
  let ordered = true;
  let inputCount = 0;
  const groups = rules.hardlinks && rules.entryOrder ? new Map<string, { firstLink: number; links: number }>() : null;
  forEach(open, (entry, i) => {
    if (positions !== null) {
      positions[i] = entry.inputIndex;
      if (i > 0 && positions[i - 1] >= positions[i]) ordered = false;
    }
    for (const counter of counters) if (counter.changed(entry) && counter.count++ < maxExamples) counter.examples.push(entry.path);
    // Input entries are numbered 0..n-1 and the last one always survives, so n is the highest index + 1.
    if (entry.inputIndex >= inputCount) inputCount = entry.inputIndex + 1;
    if (groups !== null && entry.type === 'hardlink' && entry.linkname !== undefined) addLink(groups, entry.linkname, entry.inputIndex);
  });

  if (positions !== null) {
    const moved = ordered ? { count: 0, examples: [] } : movedEntries(open, positions);
    add('entry-order', moved.count, moved.examples);
  }
  for (const counter of counters) add(counter.rule, counter.count, counter.examples);
  if (rules.tarDialect) add('tar-dialect', summary.droppedRecords.entries, summary.droppedRecords.examples.slice(0, maxExamples));
  if (rules.hardlinks) {
    const moved = movedCarriers(open, groups);
    add('hardlinks', moved.count, moved.examples);
  }
  if (rules.duplicatePaths && summary.duplicatePaths.length > 0) {
    add('duplicate-paths', inputCount - count, summary.duplicatePaths.slice(0, maxExamples));
  }
  return applied;
}

function forEach(open: () => EntryCursor, visit: (entry: LayerEntry, position: number) => boolean | void): void {
  const cursor = open();
  let position = 0;
  for (let entry = cursor.next(); entry !== undefined; entry = cursor.next()) if (visit(entry, position++) === false) return;
}

function addLink(groups: Map<string, { firstLink: number; links: number }>, linkname: string, inputIndex: number): void {
  const group = groups.get(linkname);
  if (group === undefined) groups.set(linkname, { firstLink: inputIndex, links: 1 });
  else {
    group.links++;
    if (inputIndex < group.firstLink) group.firstLink = inputIndex;
  }
}

/**
 * Entries the sort moved: those outside a longest increasing run of input positions (the fewest that
 * have to move to turn the input order into the canonical one). O(n log n) in typed arrays, and only
 * for layers that were out of order (`positions`: input positions in table order).
 */
function movedEntries(open: () => EntryCursor, positions: Int32Array): { count: number; examples: string[] } {
  const n = positions.length;
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
function movedCarriers(
  open: () => EntryCursor,
  groups: Map<string, { firstLink: number; links: number }> | null,
): { count: number; examples: string[] } {
  let count = 0;
  const examples: string[] = [];
  if (groups === null || groups.size === 0) return { count, examples };
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
