/**
 * The entry table: one small record per layer entry. The comparer merge-joins two tables by path
 * (with `comparePaths`), and the canonical tar is a pure function of a table plus file contents.
 *
 * A table holds the input's values for the fields normalization rewrites (mtime, owner names, extra
 * times), so differences can be explained; `canonicalMtime` and the other rule helpers below say what
 * the canonical tar writes instead. Structure (path spelling, order, duplicates, hardlink groups) is
 * already canonical in a table, unless the governing rule was turned off.
 * The layer pass builds its entries as `EntryRecord`s (entry-record.ts: digests in a column, absent
 * optional fields not materialized); copy one with `withFields`, not a spread, or its digest is lost.
 */
import { isRuleEnabled, type NormalizeOptions, type TimestampMode } from './options.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface LayerEntry {
  /**
   * Canonical spelling: relative, no `./` or leading `/`, no empty or `.` segments, directories end in
   * `/`. The layer root itself (an input `./` or `/` entry; a directory only) is spelled `./` and sorts
   * first. `..` segments are resolved; a path that leaves the root is refused, whatever the rules. With
   * rule 'path-spelling' off: the input spelling.
   */
  path: string;
  type: EntryType;
  /**
   * The mode field as in the input (0..07777777). Go writers put the file-type bits (`S_IFREG` 0100000,
   * `S_IFDIR` 040000, ...) there, GNU tar does not: the canonical tar keeps only the permission bits
   * plus setuid/setgid/sticky (07777) unless rule 'tar-dialect' is off (see `canonicalMode`).
   */
  mode: number;
  uid: number;
  gid: number;
  /** As in the input; the canonical tar writes them empty unless rule 'owner-names' is off. */
  uname: string;
  gname: string;
  /** Seconds as in the input, fractional when a PAX record carried sub-second time. */
  mtime: number;
  /** Only when the input carried them (PAX); dropped unless rule 'extra-times' is off. */
  atime?: number;
  ctime?: number;
  /** Content size for files, 0 for every other type (hardlinks included). */
  size: number;
  /**
   * `sha256:<hex>` of the content of a file. Hardlinks whose target is in the layer carry the digest
   * of the content they share, so a changed file shows on every path that names it.
   * Undefined on every entry of a table made with `contentDigests: false` (normalize: the canonical
   * digest does not need it); such a table must not reach the comparer.
   */
  contentDigest?: string;
  /** Symlink target exactly as in the input; hardlink target in canonical spelling. */
  linkname?: string;
  /** Only for char and block devices. */
  devmajor?: number;
  devminor?: number;
  /**
   * Extended attributes from `SCHILY.xattr.<name>` records (or `LIBARCHIVE.xattr.<name>` when only
   * that form is present), keyed by attribute name. Values are *binary strings*: one char per byte
   * (latin1), so they round-trip exactly and compare with `===`; `xattrBytes()` turns one into bytes.
   * Entries without xattrs share one frozen empty object.
   */
  xattrs: Readonly<Record<string, string>>;
  /**
   * Other PAX records, keyed as in the tar, values as binary strings. Always holds `SCHILY.acl.*`
   * (ACLs are file metadata); with rule 'tar-dialect' off it also holds the writer-specific records
   * that are otherwise dropped (`SCHILY.dev`, `SCHILY.ino`, `LIBARCHIVE.creationtime`, `comment`, ...).
   * Absent when empty.
   */
  pax?: Readonly<Record<string, string>>;
  /** Position of the entry's header in the input tar, counting entries from 0 (not PAX/GNU headers). */
  inputIndex: number;
}

export interface LayerSummary {
  /** sha256 of the uncompressed input tar, every byte (= the diff_id if the config is honest). */
  tarDigest: string;
  tarSize: number;
  /** sha256 of the canonical tar: the canonical diff_id. */
  canonicalDigest: string;
  canonicalSize: number;
  /** In canonical order (see `comparePaths`), after duplicate resolution and hardlink re-pointing. */
  entries: LayerEntry[];
  /** True when the input's entries were already in canonical order with no duplicate paths. */
  inCanonicalOrder: boolean;
  /** Canonical paths that occurred more than once in the input, in canonical order. */
  duplicatePaths: string[];
  /**
   * Tar dialects seen in the input, sorted: 'v7' (no magic), 'ustar' (POSIX magic), 'gnu' (GNU magic
   * or GNU long-name headers), 'pax' (PAX extended headers), 'pax-global' (PAX global headers).
   */
  dialects: string[];
  /**
   * Entries that rule 'tar-dialect' changed: writer-specific PAX records dropped (the table no longer
   * holds them, so the pass counts them) or file-type bits cleared from the mode, with the first few
   * paths in input order. Zero with the rule off.
   */
  droppedRecords: { entries: number; examples: string[] };
  /**
   * Set when the table was too large to hold (entry-spill.ts): it is on disk, and `entries` reads it
   * whole into memory on each access. Read it with `openEntries` (layer-table.ts) instead, and close
   * it when done (`closeSummary`).
   */
  spilled?: SpilledEntries;
}

/** One pass over an entry table in canonical order. */
export interface EntryCursor {
  /** The next entry, or undefined at the end. */
  next(): LayerEntry | undefined;
}

/** An entry table kept on disk as sorted runs (entry-merge.ts). */
export interface SpilledEntries {
  readonly count: number;
  /** Runs written: more than one means the table was never whole in memory. */
  readonly runs: number;
  open(): EntryCursor;
  close(): void;
}

/** Index of the entry named `path` in `entries` sorted by `comparePaths`, or -1 (binary search). */
export function findPathIndex(entries: readonly LayerEntry[], path: string): number {
  let low = 0;
  let high = entries.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const order = comparePaths(entries[middle].path, path);
    if (order === 0) return middle;
    if (order < 0) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

/** Spelling of the layer root directory entry. */
export const rootPath = './';

/** Shared by every entry without extended attributes, so they cost no allocation. */
export const noXattrs: Readonly<Record<string, string>> = Object.freeze({});

/** The bytes of an xattr value as held in `LayerEntry.xattrs`. */
export function xattrBytes(value: string): Buffer {
  return Buffer.from(value, 'latin1');
}

const slash = 0x2f;

/**
 * The canonical entry order, for sorting and for merge-joining two tables: paths compared by their
 * UTF-8 bytes, except that `/` sorts before every other byte (so a directory's contents come right
 * after it: `a/`, `a/x`, `a-b/`), a directory's trailing `/` is ignored, and the root `./` comes first.
 * This is the order Go's filepath.WalkDir, BuildKit/containerd diffs and `tar --sort=name` write, so
 * layers from those tools arrive already in canonical order and need no spooling.
 * Returns 0 only for paths naming the same file (`a` and `a/`).
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  if (a === rootPath) return -1;
  if (b === rootPath) return 1;
  let la = a.length;
  let lb = b.length;
  if (la > 1 && a.charCodeAt(la - 1) === slash) la--;
  if (lb > 1 && b.charCodeAt(lb - 1) === slash) lb--;
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca !== cb) {
      if (ca === slash) return -1;
      if (cb === slash) return 1;
      // UTF-16 code units order surrogates below U+E000..U+FFFF; UTF-8 bytes order them above.
      if (ca >= 0xd800 && cb >= 0xd800) {
        ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
        cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
      }
      return ca - cb;
    }
  }
  return la - lb;
}

/** The path without a directory's trailing `/`: two entries with the same key are the same file. */
export function pathKey(path: string): string {
  if (path === rootPath) return '';
  return path.length > 1 && path.charCodeAt(path.length - 1) === slash ? path.slice(0, -1) : path;
}

const dot = 0x2e;

/**
 * True when the name has an empty, `.` or `..` segment (a leading `/`, `//`, `./`, `a/.`, `../`):
 * one scan, so the names that are already clean, nearly all of them, pay nothing more.
 */
function needsCleaning(name: string): boolean {
  const length = name.length;
  if (length === 0) return true;
  let start = 0;
  for (let i = 0; i <= length; i++) {
    if (i < length && name.charCodeAt(i) !== slash) continue;
    const segment = i - start;
    // An empty segment is harmless only as a directory's trailing slash.
    if (segment === 0 && i < length) return true;
    if (segment === 1 && name.charCodeAt(start) === dot) return true;
    if (segment === 2 && name.charCodeAt(start) === dot && name.charCodeAt(start + 1) === dot) return true;
    start = i + 1;
  }
  return false;
}

/**
 * Canonical spelling of a tar member name (see `LayerEntry.path`), or null when the name leaves the
 * root (`../x`, `a/../../x`, `/../x`): `..` is resolved lexically, as Docker and containerd do before
 * applying a layer, and a `..` above the root is never dropped silently (a normalizer must not launder
 * a path a runtime would refuse). A name that resolves to the root itself (`.`, `./`, `/`, `a/..`, or
 * an empty name) is spelled `./`. Fast for names that are already clean, which is nearly all of them.
 */
export function canonicalizePath(name: string, directory: boolean): string | null {
  let clean = name;
  if (needsCleaning(name)) {
    const parts: string[] = [];
    for (const part of name.split('/')) {
      if (part === '' || part === '.') continue;
      if (part !== '..') parts.push(part);
      else if (parts.pop() === undefined) return null;
    }
    if (parts.length === 0) return rootPath;
    clean = parts.join('/');
  } else if (clean.charCodeAt(clean.length - 1) === slash) {
    clean = clean.slice(0, -1);
  }
  return directory ? `${clean}/` : clean;
}

/** The layer rules resolved once per layer, so hot loops test booleans rather than a Set. */
export interface LayerRules {
  epoch: number;
  timestampMode: TimestampMode;
  /** 'mtime': set or clamp mtimes to the epoch, in whole seconds. Off: the input mtime, as is. */
  mtime: boolean;
  /** 'extra-times': drop atime and ctime. Off: keep them as PAX records. */
  extraTimes: boolean;
  /** 'owner-names': write uname/gname empty (uid/gid are always kept). Off: keep them. */
  ownerNames: boolean;
  /** 'entry-order': sort entries with `comparePaths`. Off: keep the input order. */
  entryOrder: boolean;
  /** 'path-spelling': canonical spelling of paths and hardlink targets. Off: input spelling. */
  pathSpelling: boolean;
  /**
   * 'tar-dialect': drop writer-specific PAX records and the mode's file-type bits. Off: keep them (see
   * `LayerEntry.pax`, `LayerEntry.mode`).
   */
  tarDialect: boolean;
  /**
   * 'hardlinks': the first path of a link group in output order carries the content (and the group's
   * metadata, it is one inode); the others link to it. Off: keep the input's choice of carrier.
   */
  hardlinks: boolean;
  /** 'duplicate-paths': the last entry for a path wins, as when a runtime applies the layer. Off: keep all. */
  duplicatePaths: boolean;
}

export function resolveLayerRules(options: NormalizeOptions): LayerRules {
  return {
    epoch: options.epoch,
    timestampMode: options.timestampMode,
    mtime: isRuleEnabled(options, 'mtime'),
    extraTimes: isRuleEnabled(options, 'extra-times'),
    ownerNames: isRuleEnabled(options, 'owner-names'),
    entryOrder: isRuleEnabled(options, 'entry-order'),
    pathSpelling: isRuleEnabled(options, 'path-spelling'),
    tarDialect: isRuleEnabled(options, 'tar-dialect'),
    hardlinks: isRuleEnabled(options, 'hardlinks'),
    duplicatePaths: isRuleEnabled(options, 'duplicate-paths'),
  };
}

/** The mtime the canonical tar writes: the epoch (set), min(mtime, epoch) (clamp), in whole seconds. */
export function canonicalMtime(mtime: number, rules: LayerRules): number {
  if (!rules.mtime) return mtime;
  if (rules.timestampMode === 'set') return Math.floor(rules.epoch);
  return Math.floor(Math.min(mtime, rules.epoch));
}

/** Mode bits other than permissions, setuid, setgid and sticky: the file-type bits Go writers add. */
export const modeTypeBits = 0o7770000;

/** The mode the canonical tar writes: without the file-type bits (rule 'tar-dialect'), else as is. */
export function canonicalMode(mode: number, rules: LayerRules): number {
  return rules.tarDialect ? mode & 0o7777 : mode;
}

/** The header fields the canonical tar writes for an entry, for comparing tables field by field. */
export interface CanonicalFields {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  atime?: number;
  ctime?: number;
  size: number;
  contentDigest?: string;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs: Readonly<Record<string, string>>;
  pax?: Readonly<Record<string, string>>;
}

/** What normalization keeps of an entry: two tables are equal after normalization iff these are. */
export function canonicalFieldsOf(entry: LayerEntry, rules: LayerRules): CanonicalFields {
  const fields: CanonicalFields = {
    path: entry.path,
    type: entry.type,
    mode: canonicalMode(entry.mode, rules),
    uid: entry.uid,
    gid: entry.gid,
    uname: rules.ownerNames ? '' : entry.uname,
    gname: rules.ownerNames ? '' : entry.gname,
    mtime: canonicalMtime(entry.mtime, rules),
    size: entry.size,
    xattrs: entry.xattrs,
  };
  if (!rules.extraTimes) {
    if (entry.atime !== undefined) fields.atime = entry.atime;
    if (entry.ctime !== undefined) fields.ctime = entry.ctime;
  }
  if (entry.contentDigest !== undefined) fields.contentDigest = entry.contentDigest;
  if (entry.linkname !== undefined) fields.linkname = entry.linkname;
  if (entry.devmajor !== undefined) fields.devmajor = entry.devmajor;
  if (entry.devminor !== undefined) fields.devminor = entry.devminor;
  if (entry.pax !== undefined) fields.pax = entry.pax;
  return fields;
}
