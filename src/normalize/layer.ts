/**
 * The layer normalizer: one streaming pass over an uncompressed layer tar that yields its entry table,
 * its digest, and the digest (and optionally the bytes) of its canonical tar.
 *
 * Which rule governs what (each can be turned off through `disabledRules`; see `LayerRules`):
 *   entry-order      sort entries with `comparePaths`          off: input order
 *   path-spelling    `./a`, `/a`, `a//b` -> `a`, `a/b`        off: names as in the input
 *   mtime            set/clamp to the epoch, whole seconds     off: input mtime
 *   extra-times      drop atime/ctime                          off: keep them (PAX)
 *   owner-names      empty uname/gname                         off: keep them
 *   tar-dialect      drop writer-specific PAX records          off: keep them
 *   hardlinks        first path of a group carries the data    off: the input's carrier
 *   duplicate-paths  last entry for a path wins                off: keep every entry
 * Never changed: content, mode, uid/gid, xattrs, ACL records, symlink targets, device numbers,
 * whiteouts (`.wh.*` files are ordinary files here, as the OCI spec defines them).
 * A duplicate replaces the earlier entry of the same path (`a` and `a/` are one path); entries under a
 * directory that a later non-directory replaces are kept, since the table describes the tar, not the
 * tree a particular runtime would build from it.
 *
 * How the canonical tar is produced (never holding a layer, or a whole large file, in memory):
 * - While the input stays in canonical order, the canonical tar is hashed during the pass itself.
 * - File contents go to a spool (memory up to 8 MiB, then one temp file; see spool.ts) so that an
 *   input that turns out not to be in canonical order (possibly late: a duplicate path at the end)
 *   can be re-emitted sorted afterwards. A layer that stays in order never reads its spool back.
 * - With `reopen`, nothing is spooled on the first pass; if the order breaks, the pass stops and the
 *   layer is read again, spooling. Disorder usually shows in the first entries, so the second read
 *   costs little; sources that can re-open a layer should pass it.
 * - With `output`, the canonical tar is written there, always from the spool after the pass, so
 *   nothing is written before the final order is known.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { badInput, corruptArchive, digestMismatch, unsupported } from '../errors.js';
import {
  canonicalizePath,
  comparePaths,
  findPathIndex,
  modeTypeBits,
  noXattrs,
  pathKey,
  rootPath,
  resolveLayerRules,
  type EntryType,
  type LayerEntry,
  type LayerRules,
  type LayerSummary,
} from './entry.js';
import { maxExamples } from './layer-applied.js';
import type { NormalizeOptions } from './options.js';
import { ContentSpool } from './spool.js';
import {
  blockSize,
  canonicalHeaderSize,
  canonicalPaxRecords,
  decodeLongName,
  decodeTarHeader,
  emptyHeader,
  endOfArchive,
  isZeroBlock,
  paddedSize,
  parsePaxRecords,
  TypeFlag,
  writeCanonicalHeader,
  type TarHeader,
} from './tar-header.js';

export interface NormalizeLayerOptions extends NormalizeOptions {
  /** Receives the canonical tar; it is ended when the tar is complete, destroyed on error. */
  output?: Writable;
  /**
   * `output` is done with each chunk once that chunk's write callback has fired (it copies, as the
   * compressors of compression.ts do, or consumes it): the writer then reuses its buffers instead of
   * allocating one per MiB. Leave it unset for an output that passes chunks on (a PassThrough).
   */
  outputReleasesChunks?: boolean;
  /** Where the spool file goes (default: the OS temp dir). */
  spoolDir?: string;
  /** Opens the same layer tar again from its start; lets an in-order layer skip spooling entirely. */
  reopen?: () => Readable | Promise<Readable>;
  /**
   * Check the input tar's sha256 (computed by the pass anyway) at its end, instead of a separate
   * VerifyingStream: `${what}: digest mismatch: expected ..., got ...`, before any truncation error.
   */
  expectTarDigest?: { digest: string; what: string };
  /**
   * Hash each file's content into `LayerEntry.contentDigest` (default true). The comparer needs those
   * digests; a canonical digest alone does not, and skips one sha256 over every content byte with
   * false: then no entry has a `contentDigest` (empty files and hardlinks included).
   */
  contentDigests?: boolean;
}

const emptyDigest = `sha256:${createHash('sha256').digest('hex')}`;
/** Largest PAX or GNU long-name header accepted; real ones are a few hundred bytes. */
const maxMetaSize = 16 << 20;
const chunkSize = 1 << 20;
/** Content up to this size is copied into the writer's buffer; larger pieces pass through. */
const smallContent = 64 << 10;
/** The same without an output: past this size one more hash call is cheaper than a copy. */
const hashCopyLimit = 4 << 10;

/**
 * Normalizes one uncompressed layer tar. Tar format errors reject with corruptArchive (for example
 * "unexpected end of archive", "invalid tar header at offset N"), unsupported features with
 * unsupported; callers add the layer context with `withContext`.
 */
export async function normalizeLayer(tar: Readable, options: NormalizeLayerOptions): Promise<LayerSummary> {
  const rules = resolveLayerRules(options);
  const { output } = options;
  const spools: ContentSpool[] = [];
  // Keep an output error from crashing the process; it surfaces through the awaits below.
  const ignoreOutputError = () => {};
  output?.on('error', ignoreOutputError);
  const newSpool = () => {
    const spool = new ContentSpool(options.spoolDir);
    spools.push(spool);
    return spool;
  };
  try {
    const skipSpool = options.reopen !== undefined && output === undefined;
    const { expectTarDigest } = options;
    const contentDigests = options.contentDigests ?? true;
    let scan = await scanLayer(tar, rules, {
      spool: skipSpool ? null : newSpool(),
      hashCanonical: output === undefined,
      stopWhenUnordered: skipSpool,
      expectTarDigest,
      contentDigests,
    });
    if (scan === null) {
      const again = await options.reopen!();
      scan = (await scanLayer(again, rules, { spool: newSpool(), hashCanonical: false, stopWhenUnordered: false, expectTarDigest, contentDigests }))!;
    }

    const table = finalizeTable(scan, rules);
    let canonicalDigest: string;
    let canonicalSize: number;
    if (scan.writer !== null && output === undefined) {
      ({ digest: canonicalDigest, size: canonicalSize } = scan.writer.finish());
    } else {
      const writer = new CanonicalWriter(rules, output, options.outputReleasesChunks ?? false);
      await emitCanonical(table, scan, writer);
      ({ digest: canonicalDigest, size: canonicalSize } = writer.finish());
      if (output !== undefined) {
        if (writer.needsDrain) await waitForDrain(output);
        output.end();
        await finished(output, { readable: false });
      }
    }

    output?.off('error', ignoreOutputError);
    return {
      tarDigest: scan.tarDigest,
      tarSize: scan.tarSize,
      canonicalDigest,
      canonicalSize,
      entries: table.entries,
      inCanonicalOrder: scan.inCanonicalOrder,
      duplicatePaths: [...scan.duplicateKeys]
        .map((key) => scan.records[scan.latestByKey.get(key)!].path)
        .sort(comparePaths),
      dialects: [...scan.dialects].sort(),
      droppedRecords: scan.droppedRecords,
    };
  } catch (error) {
    // The listener stays: a failed output emits 'error' after this, and nobody else may listen.
    if (output !== undefined && !output.destroyed) output.destroy(error as Error);
    throw error;
  } finally {
    for (const spool of spools) await spool.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The pass over the input

interface ScanOptions {
  spool: ContentSpool | null;
  /** Hash the canonical tar during the pass while the input stays in order. */
  hashCanonical: boolean;
  /** Return null as soon as the order breaks (the caller re-reads with a spool). */
  stopWhenUnordered: boolean;
  expectTarDigest?: { digest: string; what: string };
  /** Hash file contents into `contentDigest` (see NormalizeLayerOptions). */
  contentDigests: boolean;
}

interface LayerScan {
  records: LayerEntry[];
  /** Per record: the record that carries its data (itself; for a hardlink its target's), -1 if none. */
  roots: number[];
  /** Per record: offset of its content in the spool, -1 if none. */
  spoolOffsets: number[];
  superseded: Set<number>;
  latestByKey: Map<string, number>;
  duplicateKeys: Set<string>;
  dialects: Set<string>;
  droppedRecords: { entries: number; examples: string[] };
  inCanonicalOrder: boolean;
  tarDigest: string;
  tarSize: number;
  spool: ContentSpool | null;
  /** The canonical tar hashed during the pass, or null if the order broke (or it was not wanted). */
  writer: CanonicalWriter | null;
}

class StopPass extends Error {}

async function scanLayer(tar: Readable, rules: LayerRules, options: ScanOptions): Promise<LayerScan | null> {
  const scanner = new LayerScanner(rules, options);
  const { spool } = options;
  try {
    for await (const chunk of tar) {
      scanner.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer));
      if (spool?.needsDrain) await spool.drain();
    }
  } catch (error) {
    if (error instanceof StopPass) return null;
    throw error;
  }
  const expected = options.expectTarDigest;
  if (expected !== undefined && scanner.tarDigest() !== expected.digest) {
    throw digestMismatch(`${expected.what}: digest mismatch: expected ${expected.digest}, got ${scanner.tarDigest()}`);
  }
  scanner.end();
  if (spool !== null) await spool.finishWriting();
  return scanner.result();
}

const State = {
  Header: 0,
  Content: 1,
  Meta: 2,
  Skip: 3,
  /** After a zero block: the next block must be zero too. */
  SecondZero: 4,
  /** After the end-of-archive marker. */
  Trailer: 5,
} as const;
type State = (typeof State)[keyof typeof State];

class LayerScanner {
  private readonly records: LayerEntry[] = [];
  private readonly roots: number[] = [];
  private readonly spoolOffsets: number[] = [];
  private readonly superseded = new Set<number>();
  /**
   * The latest entry per `pathKey`. Built only once the input leaves canonical order: until then
   * a duplicate can only be the previous entry, and hardlink targets are found by binary search.
   */
  private latestByKey: Map<string, number> | null = null;
  private readonly header = emptyHeader();
  private readonly duplicateKeys = new Set<string>();
  private readonly dialects = new Set<string>();
  /** Only touched for entries that lose a PAX record, so entries without PAX headers pay nothing. */
  private readonly droppedRecords = { entries: 0, examples: [] as string[] };
  private inCanonicalOrder = true;
  private previousPath: string | null = null;

  private readonly tarHash = createHash('sha256');
  private tarHashed: string | null = null;
  private consumed = 0;
  private writer: CanonicalWriter | null;
  private readonly spool: ContentSpool | null;

  private state: State = State.Header;
  private readonly scratch = Buffer.alloc(blockSize);
  private scratchFill = 0;
  /** Bytes left of the current content, meta data or skipped data. */
  private remaining = 0;
  /** Zero padding after the current data. */
  private padding = 0;
  private current: LayerEntry | null = null;
  private contentHash: Hash | null = null;
  private metaType = 0;
  private metaData: Buffer = this.scratch;
  private metaFill = 0;
  private metaOffset = 0;
  private pax: Map<string, string> | null = null;
  private globalPax: Map<string, string> | null = null;
  private longName: string | null | undefined = undefined;
  private longLink: string | null | undefined = undefined;

  constructor(
    private readonly rules: LayerRules,
    private readonly options: ScanOptions,
  ) {
    this.spool = options.spool;
    this.writer = options.hashCanonical ? new CanonicalWriter(rules) : null;
  }

  push(chunk: Buffer): void {
    this.tarHash.update(chunk);
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      switch (this.state) {
        case State.Header:
        case State.SecondZero: {
          let block = chunk;
          let at = pos;
          if (this.scratchFill === 0 && length - pos >= blockSize) {
            pos += blockSize;
          } else {
            const n = Math.min(blockSize - this.scratchFill, length - pos);
            chunk.copy(this.scratch, this.scratchFill, pos, pos + n);
            this.scratchFill += n;
            pos += n;
            if (this.scratchFill < blockSize) break;
            this.scratchFill = 0;
            block = this.scratch;
            at = 0;
          }
          const offset = this.consumed + pos - blockSize;
          if (this.state === State.Header) this.readHeader(block, at, offset);
          else if (isZeroBlock(block, at)) this.state = State.Trailer;
          else throw invalidAfterEnd(offset);
          break;
        }
        case State.Content: {
          const n = Math.min(this.remaining, length - pos);
          const slice = chunk.subarray(pos, pos + n);
          this.contentHash?.update(slice);
          this.spool?.append(slice);
          this.writer?.content(slice);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endContent();
          break;
        }
        case State.Meta: {
          const n = Math.min(this.remaining, length - pos);
          chunk.copy(this.metaData, this.metaFill, pos, pos + n);
          this.metaFill += n;
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endMeta();
          break;
        }
        case State.Skip: {
          const n = Math.min(this.remaining, length - pos);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.Header;
          break;
        }
        case State.Trailer:
          // After the end-of-archive marker: hashed (it is part of the blob) but not read.
          pos = length;
          break;
      }
    }
    this.consumed += length;
  }

  end(): void {
    const clean =
      this.scratchFill === 0 &&
      ((this.state === State.Header && this.pax === null && this.longName === undefined && this.longLink === undefined) ||
        this.state === State.SecondZero ||
        this.state === State.Trailer);
    if (!clean) {
      throw corruptArchive('unexpected end of archive', {
        hint: 'the layer tar is truncated',
        data: { offset: this.consumed },
      });
    }
  }

  /** sha256 of every byte pushed; call once the input has ended. */
  tarDigest(): string {
    this.tarHashed ??= `sha256:${this.tarHash.digest('hex')}`;
    return this.tarHashed;
  }

  result(): LayerScan {
    return {
      records: this.records,
      roots: this.roots,
      spoolOffsets: this.spoolOffsets,
      superseded: this.superseded,
      latestByKey: this.latestByKey ?? new Map(),
      duplicateKeys: this.duplicateKeys,
      dialects: this.dialects,
      droppedRecords: this.droppedRecords,
      inCanonicalOrder: this.inCanonicalOrder,
      tarDigest: this.tarDigest(),
      tarSize: this.consumed,
      spool: this.spool,
      writer: this.writer,
    };
  }

  private readHeader(block: Buffer, at: number, offset: number): void {
    if (isZeroBlock(block, at)) {
      if (this.pax !== null || this.longName !== undefined || this.longLink !== undefined) {
        throw corruptArchive(`invalid tar header at offset ${offset}`, {
          hint: 'an extended header is followed by the end of the archive',
          data: { offset },
        });
      }
      this.state = State.SecondZero;
      return;
    }
    const header = decodeTarHeader(block, at, offset, this.header);
    this.dialects.add(header.format);
    switch (header.typeflag) {
      case TypeFlag.paxHeader:
        this.dialects.add('pax');
        return this.beginMeta(header, offset);
      case TypeFlag.paxGlobal:
        this.dialects.add('pax-global');
        return this.beginMeta(header, offset);
      case TypeFlag.gnuLongName:
      case TypeFlag.gnuLongLink:
        this.dialects.add('gnu');
        return this.beginMeta(header, offset);
      case TypeFlag.gnuVolume:
        // A volume label names the archive, not a file.
        this.dialects.add('gnu');
        return this.skip(paddedSize(header.size));
      case TypeFlag.gnuSparse:
      case TypeFlag.gnuMultiVolume:
        throw unsupported(`gnu ${header.typeflag === TypeFlag.gnuSparse ? 'sparse' : 'multi-volume'} entry at offset ${offset}`, {
          hint: 'write the layer without --sparse / --multi-volume',
        });
      default:
        return this.readEntry(header, offset);
    }
  }

  private beginMeta(header: TarHeader, offset: number): void {
    if (header.size > maxMetaSize) {
      throw corruptArchive(`invalid tar header at offset ${offset}`, {
        hint: `an extended header of ${header.size} bytes is implausible`,
        data: { offset },
      });
    }
    this.metaType = header.typeflag;
    this.metaData = Buffer.allocUnsafe(header.size);
    this.metaFill = 0;
    this.metaOffset = offset;
    this.remaining = header.size;
    this.padding = paddedSize(header.size) - header.size;
    this.state = State.Meta;
    if (header.size === 0) this.endMeta();
  }

  private endMeta(): void {
    const data = this.metaData;
    switch (this.metaType) {
      case TypeFlag.paxHeader:
        // Records of this entry override the global ones; an empty value removes one.
        this.pax ??= new Map(this.globalPax ?? []);
        parsePaxRecords(data, this.pax, this.metaOffset);
        break;
      case TypeFlag.paxGlobal:
        this.globalPax ??= new Map();
        parsePaxRecords(data, this.globalPax, this.metaOffset);
        break;
      case TypeFlag.gnuLongName:
        this.longName = decodeLongName(data);
        break;
      case TypeFlag.gnuLongLink:
        this.longLink = decodeLongName(data);
        break;
    }
    this.metaData = this.scratch;
    this.skip(this.padding);
  }

  private skip(bytes: number): void {
    this.remaining = bytes;
    this.state = bytes > 0 ? State.Skip : State.Header;
  }

  private readEntry(header: TarHeader, offset: number): void {
    const pax = this.pax ?? this.globalPax;
    this.pax = null;
    const rules = this.rules;

    let name = header.name;
    let linkname = header.linkname;
    if (this.longName !== undefined) name = this.longName;
    if (this.longLink !== undefined) linkname = this.longLink;
    this.longName = this.longLink = undefined;

    let size = header.size;
    let mtime = header.mtime;
    let atime: number | undefined;
    let ctime: number | undefined;
    let uid = header.uid;
    let gid = header.gid;
    let uname = header.uname;
    let gname = header.gname;
    let xattrs: Record<string, string> = noXattrs;
    let extra: Record<string, string> | undefined;
    let dropped = false;
    if (pax !== null) {
      let libarchiveXattrs = false;
      for (const [key, value] of pax) {
        switch (key) {
          case 'path':
            name = paxText(value);
            break;
          case 'linkpath':
            linkname = paxText(value);
            break;
          case 'size':
            size = paxInteger(value, key, offset);
            break;
          case 'uid':
            uid = paxInteger(value, key, offset);
            break;
          case 'gid':
            gid = paxInteger(value, key, offset);
            break;
          case 'uname':
            uname = paxText(value) ?? uname;
            break;
          case 'gname':
            gname = paxText(value) ?? gname;
            break;
          case 'mtime':
            mtime = paxTime(value, key, offset);
            break;
          case 'atime':
            atime = paxTime(value, key, offset);
            break;
          case 'ctime':
            ctime = paxTime(value, key, offset);
            break;
          default:
            if (key.startsWith('SCHILY.xattr.')) {
              if (xattrs === noXattrs) xattrs = {};
              xattrs[key.slice(13)] = value;
            } else if (key.startsWith('LIBARCHIVE.xattr.')) {
              libarchiveXattrs = true;
            } else if (key.startsWith('GNU.sparse.')) {
              throw unsupported(`gnu sparse entry at offset ${offset}`, {
                hint: 'write the layer without --sparse',
              });
            } else if (key.startsWith('SCHILY.acl.') || !rules.tarDialect) {
              (extra ??= {})[key] = value;
            } else {
              dropped = true;
            }
        }
      }
      if (libarchiveXattrs) this.addLibarchiveXattrs(pax, xattrs === noXattrs ? (xattrs = {}) : xattrs);
    }
    if (name === null || linkname === null) {
      throw unsupported(`entry at offset ${offset}: ${name === null ? 'path' : 'link target'} is not valid utf-8`, {
        hint: 'layers are expected to spell paths in UTF-8',
      });
    }

    if (name.includes('\0') || linkname.includes('\0')) {
      throw corruptArchive(`invalid pax header at offset ${offset}`, { hint: 'a path holds a NUL byte', data: { offset } });
    }
    const type = entryTypeOf(header.typeflag, name, offset);
    const canonical = canonicalizePath(name, type === 'directory');
    if (canonical === null) throw leavesRoot('entry', name, offset);
    // Only a directory can be the root (`./` from `tar -C dir .`); nothing can replace it.
    if (canonical === rootPath && type !== 'directory') throw namesRoot(`${type} entry`, name, offset);
    const path = rules.pathSpelling ? canonical : name;
    const mode = header.mode;
    if (mode < 0 || mode > maxMode) throw invalidMode(mode, offset);
    // Go writers' file-type bits in the mode field: a dialect difference the canonical tar drops.
    if (rules.tarDialect && (mode & modeTypeBits) !== 0) dropped = true;
    const index = this.records.length;
    if (dropped && this.droppedRecords.entries++ < maxExamples) this.droppedRecords.examples.push(path);
    const entry: LayerEntry = {
      path,
      type,
      mode,
      uid,
      gid,
      uname,
      gname,
      mtime,
      atime,
      ctime,
      size: type === 'file' ? size : 0,
      contentDigest: undefined,
      linkname: undefined,
      devmajor: undefined,
      devminor: undefined,
      xattrs,
      pax: extra,
      inputIndex: index,
    };
    let root = index;
    if (type === 'symlink') {
      entry.linkname = linkname;
    } else if (type === 'hardlink') {
      // Symlink targets are data (`x -> ../../etc/passwd` is legal); a hardlink target is a path in the layer.
      const target = canonicalizePath(linkname, false);
      if (target === null) throw leavesRoot(`hard link ${JSON.stringify(name)}: target`, linkname, offset);
      if (target === rootPath) throw namesRoot(`hard link ${JSON.stringify(name)}: target`, linkname, offset);
      entry.linkname = rules.pathSpelling ? target : linkname;
      const found = this.findLatest(pathKey(entry.linkname));
      root = found === undefined ? -1 : this.roots[found];
      // link(2) refuses directories; a canonical tar would give the directory's path to the link.
      if (root >= 0 && this.records[root].type === 'directory') {
        throw badInput(`hard link ${JSON.stringify(name)} at offset ${offset}: target ${JSON.stringify(linkname)} is a directory`, {
          hint: 'a hard link cannot name a directory; the layer may be corrupt',
          data: { offset, path: name },
        });
      }
      if (root >= 0) this.joinGroup(entry, this.records[root]);
    } else if (type === 'char' || type === 'block') {
      entry.devmajor = header.devmajor;
      entry.devminor = header.devminor;
    }
    if (type === 'file' && size === 0 && this.options.contentDigests) entry.contentDigest = emptyDigest;

    this.records.push(entry);
    this.roots.push(root);
    this.spoolOffsets.push(type === 'file' && size > 0 && this.spool !== null ? this.spool.size : -1);
    this.checkOrder(entry, index);

    this.writer?.header(entry);
    if (type === 'file' && size > 0) {
      this.current = entry;
      this.contentHash = this.options.contentDigests ? createHash('sha256') : null;
      this.remaining = size;
      this.padding = paddedSize(size) - size;
      this.state = State.Content;
    } else {
      // Data on a non-file (a hardlink with data, a GNU dumpdir listing) is not part of the file tree.
      this.skip(paddedSize(size));
    }
  }

  /** A hardlink shares its target's inode: same content and, with rule 'hardlinks', same metadata. */
  private joinGroup(link: LayerEntry, root: LayerEntry): void {
    link.contentDigest = root.contentDigest;
    if (!this.rules.hardlinks) return;
    link.linkname = root.path;
    link.mode = root.mode;
    link.uid = root.uid;
    link.gid = root.gid;
    link.uname = root.uname;
    link.gname = root.gname;
    link.mtime = root.mtime;
    link.atime = root.atime;
    link.ctime = root.ctime;
    link.xattrs = root.xattrs;
    link.pax = root.pax;
  }

  /** Index of the latest entry named `key` (a `pathKey`), if any. */
  private findLatest(key: string): number | undefined {
    if (this.latestByKey !== null) return this.latestByKey.get(key);
    // In canonical order so far, with no duplicates: the records are sorted by `comparePaths`.
    const index = findPathIndex(this.records, key === '' ? rootPath : key);
    return index < 0 ? undefined : index;
  }

  private checkOrder(entry: LayerEntry, index: number): void {
    const rules = this.rules;
    const order = this.previousPath === null ? -1 : comparePaths(this.previousPath, entry.path);
    this.previousPath = entry.path;
    let byKey = this.latestByKey;
    if (byKey === null) {
      if (order < 0) return; // still in canonical order: nothing else to check or record
      // The input leaves canonical order here: index the paths seen so far, once.
      this.inCanonicalOrder = false;
      byKey = this.latestByKey = new Map();
      for (let i = 0; i < index; i++) byKey.set(pathKey(this.records[i].path), i);
    }
    let ordered = !(order > 0 && rules.entryOrder);
    const key = pathKey(entry.path);
    const previous = byKey.get(key);
    byKey.set(key, index);
    if (previous !== undefined) {
      this.duplicateKeys.add(key);
      this.superseded.add(previous);
      if (rules.duplicatePaths) ordered = false;
    }
    if (!ordered && (this.writer !== null || this.options.stopWhenUnordered)) {
      if (this.options.stopWhenUnordered) throw new StopPass();
      this.writer = null;
    }
  }

  private endContent(): void {
    const entry = this.current!;
    if (this.contentHash !== null) entry.contentDigest = `sha256:${this.contentHash.digest('hex')}`;
    this.writer?.pad(entry.size);
    this.current = null;
    this.contentHash = null;
    this.skip(this.padding);
  }

  /** bsdtar writes `LIBARCHIVE.xattr.<url-encoded name>=<base64>`; used where no SCHILY form exists. */
  private addLibarchiveXattrs(pax: Map<string, string>, xattrs: Record<string, string>): void {
    for (const [key, value] of pax) {
      if (!key.startsWith('LIBARCHIVE.xattr.')) continue;
      let name: string;
      try {
        name = decodeURIComponent(key.slice(17));
      } catch {
        name = key.slice(17);
      }
      const bytes = Buffer.from(value, 'base64');
      // An empty PAX value deletes a key: an empty xattr could not be written back, so it is absent.
      if (!(name in xattrs) && bytes.length > 0) xattrs[name] = bytes.toString('latin1');
    }
  }
}

function invalidAfterEnd(offset: number) {
  return corruptArchive(`invalid tar header at offset ${offset}`, {
    hint: 'a zero block is followed by data; the layer may be two tars concatenated',
    data: { offset },
  });
}

/** Largest mode field value: seven octal digits (base-256 can say more, but no mode needs it). */
const maxMode = 0o7777777;

function invalidMode(mode: number, offset: number) {
  return corruptArchive(`invalid tar header at offset ${offset}`, {
    hint: `mode ${mode} is out of range; the layer may be corrupt`,
    data: { offset },
  });
}

function leavesRoot(what: string, name: string, offset: number) {
  return badInput(`${what} ${JSON.stringify(name)} at offset ${offset} leaves the root`, {
    hint: 'its ".." segments climb above the layer root; a runtime would refuse or rewrite it, so it is not normalized',
    data: { offset, path: name },
  });
}

function namesRoot(what: string, name: string, offset: number) {
  return badInput(`${what} ${JSON.stringify(name)} at offset ${offset} names the layer root`, {
    hint: 'only a directory entry may name the root (as `./` does); the layer may be corrupt',
    data: { offset, path: name },
  });
}

function entryTypeOf(typeflag: number, name: string, offset: number): EntryType {
  switch (typeflag) {
    case TypeFlag.oldFile:
      // Pre-POSIX tars mark directories only by the trailing slash.
      return name.endsWith('/') ? 'directory' : 'file';
    case TypeFlag.file:
    case TypeFlag.contiguous:
      return 'file';
    case TypeFlag.hardlink:
      return 'hardlink';
    case TypeFlag.symlink:
      return 'symlink';
    case TypeFlag.char:
      return 'char';
    case TypeFlag.block:
      return 'block';
    case TypeFlag.directory:
    case TypeFlag.gnuDumpDir:
      return 'directory';
    case TypeFlag.fifo:
      return 'fifo';
    default:
      throw unsupported(`unknown tar entry type ${JSON.stringify(String.fromCharCode(typeflag))} at offset ${offset}`, {
        hint: 'layers hold files, directories, links, devices and fifos',
      });
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');

/** A PAX text value (kept as a binary string) as UTF-8; null if it is not valid UTF-8. */
function paxText(value: string): string | null {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return null;
  }
}

function badPaxValue(key: string, value: string, offset: number) {
  return corruptArchive(`invalid pax header at offset ${offset}`, {
    hint: `${key}=${JSON.stringify(utf8Lenient.decode(Buffer.from(value, 'latin1')))} is not a number`,
    data: { offset },
  });
}

function paxInteger(value: string, key: string, offset: number): number {
  if (!/^\d+$/.test(value)) throw badPaxValue(key, value, offset);
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw badPaxValue(key, value, offset);
  return number;
}

function paxTime(value: string, key: string, offset: number): number {
  if (!/^-?\d+(\.\d*)?$/.test(value)) throw badPaxValue(key, value, offset);
  return Number(value);
}

// ---------------------------------------------------------------------------------------------
// The canonical table

interface CanonicalTable {
  entries: LayerEntry[];
  /** Per canonical entry: the record whose spooled content it carries, -1 if none. */
  contentRecords: number[];
}

/** Duplicate resolution, order and hardlink re-pointing: the table the canonical tar is written from. */
function finalizeTable(scan: LayerScan, rules: LayerRules): CanonicalTable {
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
        entries[i] = { ...data, path: entry.path, inputIndex: entry.inputIndex };
        contentRecords[i] = data.type === 'file' && data.size > 0 ? root : -1;
      }
    } else if (isLink) {
      if (entry.linkname !== leader) entries[i] = { ...entry, linkname: leader };
    } else {
      entries[i] = {
        ...entry,
        type: 'hardlink',
        size: 0,
        linkname: leader,
        devmajor: undefined,
        devminor: undefined,
      };
      contentRecords[i] = -1;
    }
  }
  return { entries, contentRecords };
}

// ---------------------------------------------------------------------------------------------
// The canonical tar

/**
 * Writes canonical tar bytes into a hash (and an output) in 1 MiB buffers; without an output, large
 * contents the caller already holds are hashed where they are.
 */
class CanonicalWriter {
  size = 0;
  needsDrain = false;
  private readonly hash = createHash('sha256');
  private buffer: Buffer = Buffer.allocUnsafe(chunkSize);
  private pos = 0;
  /**
   * Buffers the output has released, for reuse: a fresh 1 MiB buffer per MiB written made most of the
   * garbage collector's work (V8 collects on external memory growth), on the thread that feeds zlib.
   */
  private readonly freeBuffers: Buffer[] = [];

  constructor(
    private readonly rules: LayerRules,
    readonly output?: Writable,
    private readonly outputReleasesChunks = false,
  ) {}

  header(entry: LayerEntry): void {
    const pax = canonicalPaxRecords(entry, this.rules);
    const needed = canonicalHeaderSize(pax);
    if (needed > chunkSize) {
      this.flush();
      const big = Buffer.allocUnsafe(needed);
      writeCanonicalHeader(entry, this.rules, pax, big, 0);
      this.emit(big);
      return;
    }
    if (this.pos + needed > chunkSize) this.flush();
    this.pos = writeCanonicalHeader(entry, this.rules, pax, this.buffer, this.pos);
  }

  /** Content bytes; with an output, `data` must not be reused by the caller. */
  content(data: Buffer): void {
    // Hash-only, copying pays only for tiny pieces; an output wants few, large writes.
    if (data.length <= (this.output === undefined ? hashCopyLimit : smallContent)) {
      if (this.pos + data.length > chunkSize) this.flush();
      data.copy(this.buffer, this.pos);
      this.pos += data.length;
      return;
    }
    this.flush();
    this.emit(data);
  }

  /** Room for `length` content bytes in the coalescing buffer, for reading straight into it. */
  reserve(length: number): { buffer: Buffer; at: number } {
    if (this.pos + length > chunkSize) this.flush();
    const at = this.pos;
    this.pos += length;
    return { buffer: this.buffer, at };
  }

  /** Room for up to `length` content bytes (at least one): the rest of the coalescing buffer. */
  reserveUpTo(length: number): { buffer: Buffer; at: number; length: number } {
    if (this.pos === chunkSize) this.flush();
    const at = this.pos;
    const n = Math.min(length, chunkSize - at);
    this.pos += n;
    return { buffer: this.buffer, at, length: n };
  }

  /** Zero padding after `size` content bytes. */
  pad(size: number): void {
    const padding = paddedSize(size) - size;
    if (padding === 0) return;
    if (this.pos + padding > chunkSize) this.flush();
    this.buffer.fill(0, this.pos, this.pos + padding);
    this.pos += padding;
  }

  finish(): { digest: string; size: number } {
    if (this.pos + endOfArchive.length > chunkSize) this.flush();
    endOfArchive.copy(this.buffer, this.pos);
    this.pos += endOfArchive.length;
    this.flush();
    return { digest: `sha256:${this.hash.digest('hex')}`, size: this.size };
  }

  flush(): void {
    if (this.pos === 0) return;
    const buffer = this.buffer;
    const data = buffer.subarray(0, this.pos);
    this.pos = 0;
    if (this.output === undefined) {
      // The hash does not keep what it was given.
      this.emit(data);
      return;
    }
    this.emit(data, this.outputReleasesChunks ? () => this.freeBuffers.push(buffer) : undefined);
    // The output holds on to what it was given, at least until the write callback.
    this.buffer = this.freeBuffers.pop() ?? Buffer.allocUnsafe(chunkSize);
  }

  private emit(data: Buffer, release?: () => void): void {
    this.hash.update(data);
    this.size += data.length;
    if (this.output !== undefined && !this.output.write(data, release)) this.needsDrain = true;
  }
}

/** Waits for 'drain'; rejects if the output fails or closes first (so a dead output never hangs us). */
async function waitForDrain(output: Writable): Promise<void> {
  if (output.errored) throw output.errored;
  if (output.destroyed) throw new Error('output closed before the canonical tar was written');
  if (!output.writableNeedDrain) return;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      output.off('drain', onDrain);
      output.off('error', onError);
      output.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(output.errored ?? new Error('output closed before the canonical tar was written'));
    output.on('drain', onDrain);
    output.on('error', onError);
    output.on('close', onClose);
  });
}

/** Emits the canonical tar of `table`, taking contents from the spool. */
async function emitCanonical(table: CanonicalTable, scan: LayerScan, writer: CanonicalWriter): Promise<void> {
  const { entries, contentRecords } = table;
  const spool = scan.spool!;
  const { output } = writer;
  const offsets = new Float64Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    offsets[i] = contentRecords[i] < 0 ? -1 : scan.spoolOffsets[contentRecords[i]];
  }
  const sizeOf = (i: number) => (contentRecords[i] < 0 ? 0 : entries[i].size);

  // Small contents are read in runs: consecutive entries whose spooled bytes are adjacent (all of them
  // when the input was in order) come from one read of up to 1 MiB.
  const window = Buffer.allocUnsafe(chunkSize);
  let windowStart = 0;
  let windowEnd = 0;

  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    writer.header(entry);
    const size = sizeOf(i);
    if (size > 0) {
      const offset = offsets[i];
      if (size <= smallContent) {
        if (offset < windowStart || offset + size > windowEnd) {
          let end = offset + size;
          for (let j = i + 1; j < entries.length; j++) {
            const next = sizeOf(j);
            if (next === 0) continue;
            if (next > smallContent || offsets[j] !== end || end + next - offset > chunkSize) break;
            end += next;
          }
          spool.readInto(offset, end - offset, window, 0);
          windowStart = offset;
          windowEnd = end;
        }
        if (output === undefined) {
          writer.content(window.subarray(offset - windowStart, offset - windowStart + size));
        } else {
          const { buffer, at } = writer.reserve(size);
          window.copy(buffer, at, offset - windowStart, offset - windowStart + size);
        }
      } else {
        // Read straight into the writer's buffers, so the output gets full 1 MiB writes in buffers it
        // gives back, not a fresh piece per MiB.
        for (let done = 0; done < size; ) {
          const { buffer, at, length } = writer.reserveUpTo(size - done);
          spool.readInto(offset + done, length, buffer, at);
          done += length;
          if (writer.needsDrain && output !== undefined) {
            writer.needsDrain = false;
            await waitForDrain(output);
          }
        }
      }
      writer.pad(size);
    }
    if (writer.needsDrain && output !== undefined) {
      writer.needsDrain = false;
      await waitForDrain(output);
    }
  }
}
