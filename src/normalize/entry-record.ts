/**
 * The compact form of a `LayerEntry` that the layer pass builds: the entry table of a large layer is
 * most of what a verify holds (issue 12, "Memory flat in entries"), so an entry costs ~130 bytes of
 * object plus 33 of digest instead of ~370 (bench/table-memory.js measures it):
 * - the content digest is 32 bytes in a `DigestColumn` shared by the table, indexed by `inputIndex`,
 *   and turned into its `sha256:<hex>` string only when read (71-char strings were 96 bytes each);
 * - fields most entries lack (atime, ctime, device numbers, PAX records) are not materialized.
 * To the comparer it is a `LayerEntry` like any other. Spreading one (`{ ...entry }`) loses the
 * digest, which is a getter: copy with `withFields`.
 */
import type { EntryType, LayerEntry } from './entry.js';

const digestSize = 32;
const chunkBits = 11;
/** Digests per chunk: 64 KiB chunks, so a table grows without copying and wastes at most one chunk. */
const chunkEntries = 1 << chunkBits;
const chunkMask = chunkEntries - 1;
const prefix = 'sha256:';
/** What a released chunk holds: reads of it find no digest. */
const empty = Buffer.alloc(0);
const emptyPresence = new Uint8Array(chunkEntries);

/** Content digests of one table's records, by record index: 32 bytes each, plus one presence byte. */
export class DigestColumn {
  readonly #chunks: Buffer[] = [];
  readonly #present: Uint8Array[] = [];
  /** Chunks below this one were released (or would have been). */
  #released = 0;

  /** Stores a raw 32-byte sha256 digest for record `index`. */
  set(index: number, digest: Buffer): void {
    const chunk = index >>> chunkBits;
    while (this.#chunks.length <= chunk) {
      const released = this.#chunks.length < this.#released;
      this.#chunks.push(released ? empty : Buffer.allocUnsafe(chunkEntries * digestSize));
      this.#present.push(released ? emptyPresence : new Uint8Array(chunkEntries));
    }
    if (this.#chunks[chunk] === empty) return; // released: its records are on disk
    digest.copy(this.#chunks[chunk], (index & chunkMask) * digestSize, 0, digestSize);
    this.#present[chunk][index & chunkMask] = 1;
  }

  /** Record `to` gets record `from`'s digest, or none if it has none. */
  copy(from: number, to: number): void {
    const chunk = from >>> chunkBits;
    if (chunk < this.#chunks.length && this.#present[chunk][from & chunkMask] === 1) {
      const at = (from & chunkMask) * digestSize;
      this.set(to, this.#chunks[chunk].subarray(at, at + digestSize));
    } else {
      this.clear(to);
    }
  }

  clear(index: number): void {
    const chunk = index >>> chunkBits;
    if (chunk < this.#present.length && this.#chunks[chunk] !== empty) this.#present[chunk][index & chunkMask] = 0;
  }

  /** Frees the chunks that hold only records below `index` (spilled to disk: see entry-spill.ts). */
  release(index: number): void {
    this.#released = index >>> chunkBits;
    const below = Math.min(this.#released, this.#chunks.length);
    for (let chunk = 0; chunk < below; chunk++) {
      this.#chunks[chunk] = empty;
      this.#present[chunk] = emptyPresence;
    }
  }

  /** `sha256:<hex>` of record `index`, or undefined. */
  get(index: number): string | undefined {
    const chunk = index >>> chunkBits;
    if (chunk >= this.#chunks.length || this.#present[chunk][index & chunkMask] === 0) return undefined;
    const at = (index & chunkMask) * digestSize;
    return prefix + this.#chunks[chunk].toString('hex', at, at + digestSize);
  }
}

/** Everything but the digest, which lives in the table's column. */
export type EntryFields = Omit<LayerEntry, 'contentDigest'>;

export class EntryRecord implements LayerEntry {
  path: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  size: number;
  linkname: string | undefined;
  xattrs: Readonly<Record<string, string>>;
  inputIndex: number;
  // `declare`: no own property unless set, so the entries that lack them pay nothing.
  declare atime?: number;
  declare ctime?: number;
  declare devmajor?: number;
  declare devminor?: number;
  declare pax?: Readonly<Record<string, string>>;
  /** Private, so neither JSON nor a test's deep equality sees the table's column through an entry. */
  readonly #digests: DigestColumn;

  constructor(digests: DigestColumn, fields: EntryFields) {
    this.#digests = digests;
    this.path = fields.path;
    this.type = fields.type;
    this.mode = fields.mode;
    this.uid = fields.uid;
    this.gid = fields.gid;
    this.uname = fields.uname;
    this.gname = fields.gname;
    this.mtime = fields.mtime;
    this.size = fields.size;
    this.linkname = fields.linkname;
    this.xattrs = fields.xattrs;
    this.inputIndex = fields.inputIndex;
    if (fields.atime !== undefined) this.atime = fields.atime;
    if (fields.ctime !== undefined) this.ctime = fields.ctime;
    if (fields.devmajor !== undefined) this.devmajor = fields.devmajor;
    if (fields.devminor !== undefined) this.devminor = fields.devminor;
    if (fields.pax !== undefined) this.pax = fields.pax;
  }

  /** The digest of record `inputIndex` in the table's column. */
  get contentDigest(): string | undefined {
    return this.#digests.get(this.inputIndex);
  }

  set contentDigest(value: string | undefined) {
    if (value === undefined) this.#digests.clear(this.inputIndex);
    else this.#digests.set(this.inputIndex, Buffer.from(value.slice(prefix.length), 'hex'));
  }

  get digests(): DigestColumn {
    return this.#digests;
  }
}

/**
 * A copy of `entry` with `fields` changed. For an `EntryRecord`, the copy reads its digest from the
 * same column at its own `inputIndex`: a copy given another record's index gets that record's digest.
 */
export function withFields(entry: LayerEntry, fields: Partial<EntryFields>): LayerEntry {
  if (!(entry instanceof EntryRecord)) return { ...entry, ...fields };
  // The spread holds the own fields only; fields set to undefined leave no property behind.
  return new EntryRecord(entry.digests, { ...entry, ...fields } as EntryFields);
}

/**
 * With rule 'hardlinks': a link takes its root's metadata, since the two share one inode. A field the
 * root lacks is cleared (set to undefined, not deleted: deleting a field of an `EntryRecord` would
 * slow every later access to it).
 */
export function shareInodeMetadata(link: LayerEntry, root: Readonly<LayerEntry>): void {
  link.linkname = root.path;
  link.mode = root.mode;
  link.uid = root.uid;
  link.gid = root.gid;
  link.uname = root.uname;
  link.gname = root.gname;
  link.mtime = root.mtime;
  if (root.atime !== undefined || link.atime !== undefined) link.atime = root.atime;
  if (root.ctime !== undefined || link.ctime !== undefined) link.ctime = root.ctime;
  link.xattrs = root.xattrs;
  if (root.pax !== undefined || link.pax !== undefined) link.pax = root.pax;
}
