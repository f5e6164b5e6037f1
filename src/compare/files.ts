/**
 * File comparison: merge-join two entry tables by path and turn every differing attribute of a path
 * present on both sides into its own `file-attribute` difference. Shared by the per-layer comparison
 * (`layers/2/...` paths) and the flattened one (`fs/...` paths).
 *
 * Tables of 100,000 entries are normal, so the join is one linear walk, canonical fields are computed
 * only for entries that differ, and nothing allocates per entry on the equal path.
 */
import {
  comparePaths,
  canonicalFieldsOf,
  modeTypeBits,
  type CanonicalFields,
  type EntryCursor,
  type LayerEntry,
  type LayerRules,
} from '../normalize/entry.js';
import type { ContentDetail, Difference, EntryValue, FileAttribute, FileAttributeDifference, FileAttributeValues } from '../diff/model.js';
import type { DifferenceSink } from './collect.js';

/** Where a table's entries sit, for difference paths and layer fields. */
export interface FileScope {
  /** Prefix of every difference path: `layers/2/` or `fs/`. */
  prefix: string;
  /** The layer every entry of both tables belongs to (per-layer comparison). */
  layer?: number;
  /** Flattened comparison: the layer each entry came from, by table position. */
  originA?: Int32Array;
  originB?: Int32Array;
}

export interface FileCounts {
  added: number;
  removed: number;
  /** Paths present on both sides with at least one differing attribute. */
  changed: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
// Printable text plus tab and newline; anything else is shown as hex.
const printable = /^[^\x00-\x08\x0b-\x1f\x7f]*$/;

/**
 * An xattr or PAX value (a binary string, one char per byte) for a report: the text when it is
 * printable UTF-8, else `0x` and hex, as `getfattr -e hex` prints it.
 */
export function formatBinaryValue(value: string): string {
  const bytes = Buffer.from(value, 'latin1');
  try {
    const text = utf8.decode(bytes);
    if (printable.test(text)) return text;
  } catch {
    // not UTF-8: fall through to hex
  }
  return `0x${bytes.toString('hex')}`;
}

export function describeEntry(entry: LayerEntry): EntryValue {
  const value: EntryValue = {
    type: entry.type,
    // Without the file-type bits some writers add: the type is shown beside it.
    mode: entry.mode & 0o7777,
    uid: entry.uid,
    gid: entry.gid,
    size: entry.size,
  };
  if (entry.contentDigest !== undefined) value.contentDigest = entry.contentDigest;
  if (entry.linkname !== undefined) value.linkname = entry.linkname;
  return value;
}

/** True when the entries are in `comparePaths` order (duplicates allowed). */
export function isSortedByPath(entries: readonly LayerEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) {
    if (comparePaths(entries[i - 1]!.path, entries[i]!.path) > 0) return false;
  }
  return true;
}

/**
 * The entries in `comparePaths` order. A layer pass's tables are already sorted unless rule
 * 'entry-order' was off; then a sorted copy (stable, so duplicates keep their input order) is
 * returned. `sorted`: the caller knows they are (a pass's table with the rule on), so the check, one
 * `comparePaths` per entry, is skipped.
 */
export function sortEntries(entries: readonly LayerEntry[], sorted = false): readonly LayerEntry[] {
  if (sorted || isSortedByPath(entries)) return entries;
  return entries.slice().sort((x, y) => comparePaths(x.path, y.path));
}

function deviceOf(entry: { devmajor?: number; devminor?: number }): string | null {
  if (entry.devmajor === undefined && entry.devminor === undefined) return null;
  return `${entry.devmajor ?? 0},${entry.devminor ?? 0}`;
}

function orNull<T>(value: T | undefined): T | null {
  return value === undefined ? null : value;
}

/** Keys of two records: A's in order, then those only B has. */
function unionKeys(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): string[] {
  const keys = a === undefined ? [] : Object.keys(a);
  if (b !== undefined) {
    for (const key of Object.keys(b)) if (a === undefined || !Object.hasOwn(a, key)) keys.push(key);
  }
  return keys;
}

function valueOf(record: Readonly<Record<string, string>> | undefined, key: string): string | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

function sameRecords(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  if (a === b) return true;
  const ka = a === undefined ? 0 : Object.keys(a).length;
  const kb = b === undefined ? 0 : Object.keys(b).length;
  if (ka !== kb) return false;
  if (ka === 0) return true;
  for (const key in a) {
    if (!Object.hasOwn(a!, key)) continue;
    if (!Object.hasOwn(b!, key) || a![key] !== b![key]) return false;
  }
  return true;
}

/** Emits the differences of one pair of entries for one table comparison. */
class PairEmitter {
  private ca: CanonicalFields | undefined;
  private cb: CanonicalFields | undefined;
  count = 0;

  constructor(
    private readonly a: LayerEntry,
    private readonly b: LayerEntry,
    private readonly rules: LayerRules,
    private readonly scope: FileScope,
    private readonly layer: number | undefined,
    private readonly origin: { a: number | null; b: number | null } | undefined,
    private readonly out: DifferenceSink,
  ) {}

  /** Canonical fields, computed once and only when the pair differs. */
  canonical(): [CanonicalFields, CanonicalFields] {
    if (this.ca === undefined || this.cb === undefined) {
      this.ca = canonicalFieldsOf(this.a, this.rules);
      this.cb = canonicalFieldsOf(this.b, this.rules);
    }
    return [this.ca, this.cb];
  }

  emit<A extends FileAttribute>(
    attribute: A,
    a: FileAttributeValues[A],
    b: FileAttributeValues[A],
    neutralized: boolean,
    key?: string,
    detail?: ContentDetail,
  ): void {
    const file = this.a.path;
    // TypeScript cannot tie the generic attribute to its values inside one literal; the signature does.
    const difference = {
      kind: 'file-attribute',
      path: `${this.scope.prefix}${file}#${key === undefined ? attribute : `${attribute}:${key}`}`,
      file,
      attribute,
      a,
      b,
      neutralized,
      cause: null,
    } as FileAttributeDifference;
    if (this.layer !== undefined) difference.layer = this.layer;
    if (this.origin !== undefined) difference.origin = this.origin;
    if (key !== undefined) difference.key = key;
    if (detail !== undefined) difference.detail = detail;
    this.out.push(difference);
    this.count++;
  }
}

/**
 * Compares two entries for the same path, pushing one `file-attribute` difference per differing
 * attribute (one per key for xattrs and PAX records). `neutralized` says whether the canonical fields
 * (what normalization keeps under `rules`) agree on that attribute. Returns how many were pushed.
 * `originA`/`originB`: in a flattened comparison, the layers the two entries came from.
 */
export function compareEntries(
  a: LayerEntry,
  b: LayerEntry,
  rules: LayerRules,
  scope: FileScope,
  out: DifferenceSink,
  originA?: number,
  originB?: number,
): number {
  // Fast path: most pairs are equal in every field the comparison looks at.
  if (
    a.type === b.type &&
    a.contentDigest === b.contentDigest &&
    a.size === b.size &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    a.uname === b.uname &&
    a.gname === b.gname &&
    a.mtime === b.mtime &&
    a.atime === b.atime &&
    a.ctime === b.ctime &&
    a.linkname === b.linkname &&
    a.devmajor === b.devmajor &&
    a.devminor === b.devminor &&
    sameRecords(a.xattrs, b.xattrs) &&
    sameRecords(a.pax, b.pax)
  ) {
    return 0;
  }

  const origin = originA !== undefined && originB !== undefined ? { a: originA, b: originB } : undefined;
  const pair = new PairEmitter(a, b, rules, scope, scope.layer ?? originA, origin, out);
  const [ca, cb] = pair.canonical();

  if (a.type !== b.type) pair.emit('type', a.type, b.type, ca.type === cb.type);
  if (a.contentDigest !== b.contentDigest) {
    // Sizes and digests are facts whatever the content; attachContentDetails may refine this to a diff.
    const detail: ContentDetail | undefined =
      a.contentDigest !== undefined && b.contentDigest !== undefined
        ? { format: 'binary', sizeA: a.size, sizeB: b.size, digestA: a.contentDigest, digestB: b.contentDigest }
        : undefined;
    pair.emit('content', orNull(a.contentDigest), orNull(b.contentDigest), ca.contentDigest === cb.contentDigest, undefined, detail);
  }
  if (a.size !== b.size) pair.emit('size', a.size, b.size, ca.size === cb.size);
  if (a.mode !== b.mode) {
    // Go writers' file-type bits (0100644) are shown only when they are part of the difference.
    const shown = ((a.mode ^ b.mode) & modeTypeBits) === 0 ? 0o7777 : modeTypeBits | 0o7777;
    pair.emit('mode', a.mode & shown, b.mode & shown, ca.mode === cb.mode);
  }
  if (a.uid !== b.uid) pair.emit('uid', a.uid, b.uid, ca.uid === cb.uid);
  if (a.gid !== b.gid) pair.emit('gid', a.gid, b.gid, ca.gid === cb.gid);
  if (a.uname !== b.uname) pair.emit('uname', a.uname, b.uname, ca.uname === cb.uname);
  if (a.gname !== b.gname) pair.emit('gname', a.gname, b.gname, ca.gname === cb.gname);
  if (a.mtime !== b.mtime) pair.emit('mtime', a.mtime, b.mtime, ca.mtime === cb.mtime);
  if (a.atime !== b.atime) pair.emit('atime', orNull(a.atime), orNull(b.atime), ca.atime === cb.atime);
  if (a.ctime !== b.ctime) pair.emit('ctime', orNull(a.ctime), orNull(b.ctime), ca.ctime === cb.ctime);
  if (a.linkname !== b.linkname) {
    pair.emit('linkname', orNull(a.linkname), orNull(b.linkname), ca.linkname === cb.linkname);
  }
  if (a.devmajor !== b.devmajor || a.devminor !== b.devminor) {
    pair.emit('device', deviceOf(a), deviceOf(b), deviceOf(ca) === deviceOf(cb));
  }
  if (!sameRecords(a.xattrs, b.xattrs)) {
    for (const key of unionKeys(a.xattrs, b.xattrs)) {
      const va = valueOf(a.xattrs, key);
      const vb = valueOf(b.xattrs, key);
      if (va === vb) continue;
      const neutralized = valueOf(ca.xattrs, key) === valueOf(cb.xattrs, key);
      pair.emit('xattr', va === undefined ? null : formatBinaryValue(va), vb === undefined ? null : formatBinaryValue(vb), neutralized, key);
    }
  }
  if (!sameRecords(a.pax, b.pax)) {
    for (const key of unionKeys(a.pax, b.pax)) {
      const va = valueOf(a.pax, key);
      const vb = valueOf(b.pax, key);
      if (va === vb) continue;
      const neutralized = valueOf(ca.pax, key) === valueOf(cb.pax, key);
      pair.emit('pax', va === undefined ? null : formatBinaryValue(va), vb === undefined ? null : formatBinaryValue(vb), neutralized, key);
    }
  }
  return pair.count;
}

function presenceDifference(
  kind: 'file-added' | 'file-removed',
  entry: LayerEntry,
  scope: FileScope,
  layer: number | undefined,
  origin: { a: number | null; b: number | null } | undefined,
): Difference {
  const value = describeEntry(entry);
  const difference: Difference = {
    kind,
    path: `${scope.prefix}${entry.path}`,
    file: entry.path,
    a: kind === 'file-removed' ? value : null,
    b: kind === 'file-added' ? value : null,
    // Normalization never adds or removes a path.
    neutralized: false,
    cause: null,
  };
  if (layer !== undefined) difference.layer = layer;
  if (origin !== undefined) difference.origin = origin;
  return difference;
}

/** Per position of a merge-join: input positions of both sides and what each A entry was paired with. */
export interface JoinTrack {
  /** Per A position: its `inputIndex`. */
  inputA: Int32Array;
  /** Per B position: its `inputIndex`. */
  inputB: Int32Array;
  /** Per A position: the B position it was paired with, or -1. */
  matches: Int32Array;
}

function arrayCursor(entries: readonly LayerEntry[]): EntryCursor {
  let i = 0;
  return { next: () => (i < entries.length ? entries[i++] : undefined) };
}

/**
 * Merge-joins two tables sorted by `comparePaths` (see `sortEntries`); paths with the same `pathKey`
 * (`a` and `a/`) are one path. Duplicate paths (rule 'duplicate-paths' off) pair up in order, and the
 * extras count as added or removed. Pushes differences onto `out` in path order.
 *
 * `matches`, when given (length `a.length`), receives for each A position the B position it was
 * paired with, or -1: the entry-order check uses it.
 */
export function compareEntryTables(
  a: readonly LayerEntry[],
  b: readonly LayerEntry[],
  rules: LayerRules,
  scope: FileScope,
  out: DifferenceSink,
  matches?: Int32Array,
): FileCounts {
  const track = matches === undefined ? undefined : { inputA: new Int32Array(a.length), inputB: new Int32Array(b.length), matches };
  return compareEntryCursors(arrayCursor(a), arrayCursor(b), rules, scope, out, track);
}

/**
 * `compareEntryTables` over two cursors, so neither table has to be whole in memory (a spilled table
 * is read as the merge of its runs): each side is read once, in order. `track` (sized to the tables)
 * receives what the entry-order check needs.
 */
export function compareEntryCursors(
  cursorA: EntryCursor,
  cursorB: EntryCursor,
  rules: LayerRules,
  scope: FileScope,
  out: DifferenceSink,
  track?: JoinTrack,
): FileCounts {
  const counts: FileCounts = { added: 0, removed: 0, changed: 0 };
  const { originA, originB } = scope;
  const flat = originA !== undefined && originB !== undefined;
  let i = 0;
  let j = 0;
  let a = cursorA.next();
  let b = cursorB.next();
  const nextA = () => {
    if (track !== undefined) track.inputA[i] = a!.inputIndex;
    i++;
    a = cursorA.next();
  };
  const nextB = () => {
    if (track !== undefined) track.inputB[j] = b!.inputIndex;
    j++;
    b = cursorB.next();
  };
  while (a !== undefined || b !== undefined) {
    const order = a === undefined ? 1 : b === undefined ? -1 : comparePaths(a.path, b.path);
    if (order < 0) {
      const origin = flat ? { a: originA[i]!, b: null } : undefined;
      out.push(presenceDifference('file-removed', a!, scope, scope.layer ?? origin?.a, origin));
      if (track !== undefined) track.matches[i] = -1;
      counts.removed++;
      nextA();
    } else if (order > 0) {
      const origin = flat ? { a: null, b: originB[j]! } : undefined;
      out.push(presenceDifference('file-added', b!, scope, scope.layer ?? origin?.b, origin));
      counts.added++;
      nextB();
    } else {
      if (track !== undefined) track.matches[i] = j;
      const pushed = flat ? compareEntries(a!, b!, rules, scope, out, originA[i]!, originB[j]!) : compareEntries(a!, b!, rules, scope, out);
      if (pushed > 0) counts.changed++;
      nextA();
      nextB();
    }
  }
  return counts;
}
