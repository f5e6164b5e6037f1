/**
 * The pass over the input layer tar: a `TarHandler` that turns each member into a `LayerEntry`,
 * hashes the tar and the contents, spools contents, tracks canonical order, duplicates and hardlink
 * groups, and hashes the canonical tar on the fly while the input stays in canonical order.
 * The tar format itself (blocks, headers, PAX, GNU long names) is read by tar/reader.ts.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { badInput, corruptArchive, digestMismatch, unsupported } from '../errors.js';
import { memberKind } from '../tar/blocks.js';
import { headerPaxKeys, type TarHeader } from '../tar/decode.js';
import { TarReader, type TarHandler } from '../tar/reader.js';
import {
  canonicalizePath,
  comparePaths,
  findPathIndex,
  modeTypeBits,
  noXattrs,
  pathKey,
  rootPath,
  type EntryType,
  type LayerEntry,
  type LayerRules,
} from './entry.js';
import { DigestColumn, EntryRecord, shareInodeMetadata } from './entry-record.js';
import { pendingRoot, type PendingLink } from './entry-merge.js';
import { RunFile } from './entry-spill.js';
import { maxExamples } from './layer-applied.js';
import { PathIndex } from './path-index.js';
import { CanonicalWriter } from './layer-writer.js';
import { CanonicalMirror } from './canonical-mirror.js';
import type { ContentSpool } from './spool.js';

export interface ScanOptions {
  spool: ContentSpool | null;
  /** Hash the canonical tar during the pass while the input stays in order. */
  hashCanonical: boolean;
  /** Return null as soon as the order breaks (the caller re-reads with a spool). */
  stopWhenUnordered: boolean;
  expectTarDigest?: { digest: string; what: string };
  /** Hash file contents into `contentDigest` (see NormalizeLayerOptions). */
  contentDigests: boolean;
  /**
   * Records held before the table spills to sorted runs on disk (entry-spill.ts), and where the runs
   * go. Without it, or with rule 'entry-order' off (the table keeps the input order), nothing spills.
   */
  spill?: { entries: number; dir?: string };
  /** Hash the input tar (default true); false when its digest is known (then `tarDigest` is no digest). */
  hashTar?: boolean;
}

export interface LayerScan {
  records: LayerEntry[];
  /** Per record: the record that carries its data (itself; for a hardlink its target's), -1 if none. */
  roots: number[];
  /** Per record: offset of its content in the spool, -1 if none. */
  spoolOffsets: number[];
  superseded: Set<number>;
  /** The latest record per path key; null when the input stayed in canonical order (no duplicates). */
  latestByKey: PathIndex | null;
  duplicateKeys: Set<string>;
  dialects: Set<string>;
  droppedRecords: { entries: number; examples: string[] };
  inCanonicalOrder: boolean;
  tarDigest: string;
  tarSize: number;
  spool: ContentSpool | null;
  /** The canonical tar hashed during the pass, or null if the order broke (or it was not wanted). */
  writer: CanonicalWriter | null;
  /**
   * Set when the table spilled: every record is in the run file (`records`, `roots`, `spoolOffsets`
   * are empty; `superseded`, `latestByKey` and `duplicateKeys` unused), and the hardlinks whose
   * targets were already on disk are left to the merge (entry-merge.ts).
   */
  spilled: { file: RunFile; pending: PendingLink[] } | null;
}

const emptyDigest = createHash('sha256').digest();

class StopPass extends Error {}

/** Reads `tar` to its end; null when `stopWhenUnordered` and the order broke. */
export async function scanLayer(tar: Readable, rules: LayerRules, options: ScanOptions): Promise<LayerScan | null> {
  const scanner = new LayerScanner(rules, options);
  const { spool } = options;
  try {
    try {
      for await (const chunk of tar) {
        scanner.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer));
        if (spool?.needsDrain) await spool.drain();
      }
    } catch (error) {
      if (error instanceof StopPass) {
        scanner.closeSpill();
        return null;
      }
      throw error;
    }
    const expected = options.expectTarDigest;
    if (expected !== undefined && scanner.tarDigest() !== expected.digest) {
      throw digestMismatch(`${expected.what}: digest mismatch: expected ${expected.digest}, got ${scanner.tarDigest()}`);
    }
    try {
      scanner.end();
    } catch (error) {
      // The mirror can learn only at the end that the input was not its canonical tar after all.
      if (error instanceof StopPass) {
        scanner.closeSpill();
        return null;
      }
      throw error;
    }
    if (spool !== null) await spool.finishWriting();
    return scanner.result();
  } catch (error) {
    scanner.closeSpill();
    throw error;
  }
}

class LayerScanner implements TarHandler {
  /** The records in memory: all of them, or since the last spill the ones from input index `base` on. */
  private records: EntryRecord[] = [];
  private base = 0;
  /** The records' content digests (see entry-record.ts). */
  private readonly digests = new DigestColumn();
  private roots: number[] = [];
  private spoolOffsets: number[] = [];
  /** Once the table spilled (see ScanOptions.spill): its runs, and the links left to the merge. */
  private spilled: { file: RunFile; pending: PendingLink[] } | null = null;
  private readonly spillEntries: number;
  private readonly superseded = new Set<number>();
  /**
   * The latest entry per `pathKey`. Built only once the input leaves canonical order: until then
   * a duplicate can only be the previous entry, and hardlink targets are found by binary search.
   */
  private latestByKey: PathIndex | null = null;
  private readonly duplicateKeys = new Set<string>();
  /** Only touched for entries that lose a PAX record, so entries without PAX headers pay nothing. */
  private readonly droppedRecords = { entries: 0, examples: [] as string[] };
  private inCanonicalOrder = true;
  private previousPath: string | null = null;

  private readonly reader = new TarReader(this);
  private readonly tarHash = createHash('sha256');
  private tarHashed: string | null = null;
  private writer: CanonicalWriter | null;
  /** While the input is byte for byte its canonical tar (canonical-mirror.ts). */
  private mirror: CanonicalMirror | null = null;
  private readonly spool: ContentSpool | null;
  private current: EntryRecord | null = null;
  private contentHash: Hash | null = null;

  constructor(
    private readonly rules: LayerRules,
    private readonly options: ScanOptions,
  ) {
    this.spool = options.spool;
    this.writer = options.hashCanonical ? new CanonicalWriter(rules) : null;
    if (this.writer !== null) this.mirror = new CanonicalMirror(this.writer, this.reader);
    this.spillEntries = options.spill !== undefined && rules.entryOrder ? options.spill.entries : Infinity;
  }

  /** Frees the run file of a pass that failed or stopped. */
  closeSpill(): void {
    this.spilled?.file.close();
  }

  /** Writes the records in memory as one sorted run and lets them go. */
  private spill(): void {
    const spilled = (this.spilled ??= { file: new RunFile(this.options.spill?.dir), pending: [] });
    const { records, roots, spoolOffsets, base } = this;
    const run = records.map((entry, i) => ({ entry, root: roots[i], spoolOffset: spoolOffsets[i] }));
    run.sort((x, y) => comparePaths(x.entry.path, y.entry.path) || x.entry.inputIndex - y.entry.inputIndex);
    spilled.file.appendRun(run);
    this.base = base + records.length;
    this.records = [];
    this.roots = [];
    this.spoolOffsets = [];
    this.digests.release(this.base);
    // Duplicates and link targets across runs are the merge's to find from here on.
    this.latestByKey = null;
    this.superseded.clear();
    this.duplicateKeys.clear();
  }

  /** The order broke for the canonical tar: stop, or stop hashing it on the fly. */
  private unordered(): void {
    if (this.options.stopWhenUnordered) throw new StopPass();
    this.writer = null;
    this.mirror = null;
  }

  push(chunk: Buffer): void {
    if (this.mirror !== null) this.mirror.beforeChunk(chunk, this.tarHash);
    // Every byte is hashed, the end-of-archive marker and anything after it too: it is the blob.
    if (this.options.hashTar !== false) this.tarHash.update(chunk);
    this.reader.push(chunk);
  }

  end(): void {
    this.reader.end();
    if (this.mirror?.active && !this.mirror.finish()) this.mirrorLost();
  }

  paddingNotZero(offset: number): void {
    if (this.mirror?.active && !this.mirror.paddingNotZero(offset)) this.mirrorLost();
  }

  endOfArchive(offset: number): void {
    if (this.mirror?.active && !this.mirror.endOfArchive(offset)) this.mirrorLost();
  }

  /** The canonical tar can no longer be hashed during the pass: as when the order breaks. */
  private mirrorLost(): void {
    this.mirror = null;
    if (this.options.stopWhenUnordered) throw new StopPass();
    this.writer = null;
  }

  /** sha256 of every byte pushed; call once the input has ended. */
  tarDigest(): string {
    this.tarHashed ??= `sha256:${this.tarHash.digest('hex')}`;
    return this.tarHashed;
  }

  result(): LayerScan {
    if (this.spilled !== null && this.records.length > 0) this.spill();
    return {
      records: this.records,
      roots: this.roots,
      spoolOffsets: this.spoolOffsets,
      superseded: this.superseded,
      latestByKey: this.latestByKey,
      duplicateKeys: this.duplicateKeys,
      dialects: this.reader.dialects,
      droppedRecords: this.droppedRecords,
      inCanonicalOrder: this.inCanonicalOrder,
      tarDigest: this.tarDigest(),
      tarSize: this.reader.consumed,
      spool: this.spool,
      writer: this.writer,
      spilled: this.spilled,
    };
  }

  content(slice: Buffer): void {
    this.contentHash?.update(slice);
    this.spool?.append(slice);
    this.writer?.content(slice);
  }

  contentEnd(): void {
    const entry = this.current!;
    if (this.contentHash !== null) this.digests.set(entry.inputIndex, this.contentHash.digest());
    this.writer?.pad(entry.size);
    this.current = null;
    this.contentHash = null;
  }

  entry(header: TarHeader, pax: Map<string, string> | null, offset: number): boolean {
    const rules = this.rules;
    // Here the previous entry's content is done (its digest is set): the batch can go to disk.
    if (this.records.length >= this.spillEntries) this.spill();
    const { name, linkname, size } = header;
    let xattrs: Record<string, string> = noXattrs;
    let extra: Record<string, string> | undefined;
    let dropped = false;
    if (pax !== null) {
      let libarchiveXattrs = false;
      for (const [key, value] of pax) {
        if (headerPaxKeys.has(key)) continue; // already in the header
        if (key.startsWith('SCHILY.xattr.')) {
          if (xattrs === noXattrs) xattrs = {};
          xattrs[key.slice(13)] = value;
        } else if (key.startsWith('LIBARCHIVE.xattr.')) {
          libarchiveXattrs = true;
        } else if (key.startsWith('SCHILY.acl.') || !rules.tarDialect) {
          (extra ??= {})[key] = value;
        } else {
          dropped = true;
        }
      }
      if (libarchiveXattrs) addLibarchiveXattrs(pax, xattrs === noXattrs ? (xattrs = {}) : xattrs);
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
    const index = this.base + this.records.length;
    if (dropped && this.droppedRecords.entries++ < maxExamples) this.droppedRecords.examples.push(path);
    const entry = new EntryRecord(this.digests, {
      path,
      type,
      mode,
      uid: header.uid,
      gid: header.gid,
      uname: header.uname,
      gname: header.gname,
      mtime: header.mtime,
      atime: header.atime,
      ctime: header.ctime,
      size: type === 'file' ? size : 0,
      linkname: undefined,
      xattrs,
      pax: extra,
      inputIndex: index,
    });
    let root = index;
    if (type === 'symlink') {
      entry.linkname = linkname;
    } else if (type === 'hardlink') {
      // Symlink targets are data (`x -> ../../etc/passwd` is legal); a hardlink target is a path in the layer.
      const target = canonicalizePath(linkname, false);
      if (target === null) throw leavesRoot(`hard link ${JSON.stringify(name)}: target`, linkname, offset);
      if (target === rootPath) throw namesRoot(`hard link ${JSON.stringify(name)}: target`, linkname, offset);
      entry.linkname = rules.pathSpelling ? target : linkname;
      // Once spilled, a target (or its group's root) may be on disk: then the merge resolves the link,
      // and the header is not final until then. In order, a link usually finds both in memory.
      const found = this.findLatest(pathKey(entry.linkname));
      const inMemory = found !== undefined && (this.roots[found - this.base] < 0 || this.roots[found - this.base] >= this.base);
      if (this.spilled !== null && !inMemory) {
        this.spilled.pending.push({ inputIndex: index, target: pathKey(entry.linkname), name, linkname, offset });
        root = pendingRoot;
        this.unordered();
      } else {
        root = found === undefined ? -1 : this.roots[found - this.base];
        // link(2) refuses directories; a canonical tar would give the directory's path to the link.
        if (root >= 0 && this.records[root - this.base].type === 'directory') {
          throw badInput(`hard link ${JSON.stringify(name)} at offset ${offset}: target ${JSON.stringify(linkname)} is a directory`, {
            hint: 'a hard link cannot name a directory; the layer may be corrupt',
            data: { offset, path: name },
          });
        }
        if (root >= 0) this.joinGroup(entry, this.records[root - this.base]);
      }
    } else if (type === 'char' || type === 'block') {
      entry.devmajor = header.devmajor;
      entry.devminor = header.devminor;
    }
    if (type === 'file' && size === 0 && this.options.contentDigests) this.digests.set(index, emptyDigest);

    this.records.push(entry);
    this.roots.push(root);
    this.spoolOffsets.push(type === 'file' && size > 0 && this.spool !== null ? this.spool.size : -1);
    this.checkOrder(entry, index);

    if (this.mirror?.active && this.writer !== null) {
      const step = this.mirror.member(entry);
      if (step === 'lost') this.mirrorLost();
      else if (step === 'parted') this.writer.header(entry);
    } else {
      this.writer?.header(entry);
    }
    // Data on a non-file (a hardlink with data, a GNU dumpdir listing) is not part of the file tree:
    // the reader skips it.
    if (type !== 'file' || size === 0) return false;
    this.current = entry;
    this.contentHash = this.options.contentDigests ? createHash('sha256') : null;
    return true;
  }

  /** A hardlink shares its target's inode: same content and, with rule 'hardlinks', same metadata. */
  private joinGroup(link: EntryRecord, root: EntryRecord): void {
    this.digests.copy(root.inputIndex, link.inputIndex);
    if (this.rules.hardlinks) shareInodeMetadata(link, root);
  }

  /**
   * Index of the latest entry named `key` (a `pathKey`), if any; once spilled, only among the records
   * in memory, and only while in order (undefined: look on disk).
   */
  private findLatest(key: string): number | undefined {
    if (this.spilled !== null && !this.inCanonicalOrder) return undefined;
    if (this.latestByKey !== null) return this.latestByKey.get(key);
    // In canonical order so far, with no duplicates: the records are sorted by `comparePaths`.
    const index = findPathIndex(this.records, key === '' ? rootPath : key);
    return index < 0 ? undefined : this.base + index;
  }

  private checkOrder(entry: EntryRecord, index: number): void {
    const rules = this.rules;
    const order = this.previousPath === null ? -1 : comparePaths(this.previousPath, entry.path);
    this.previousPath = entry.path;
    if (this.spilled !== null) {
      if (order < 0) return;
      this.inCanonicalOrder = false;
      // A duplicate is the previous path (order 0) or out of order (order > 0); the merge drops it.
      if (order > 0 || rules.duplicatePaths) this.unordered();
      return;
    }
    let byKey = this.latestByKey;
    if (byKey === null) {
      if (order < 0) return; // still in canonical order: nothing else to check or record
      // The input leaves canonical order here: index the paths seen so far, once.
      this.inCanonicalOrder = false;
      const records = this.records;
      byKey = this.latestByKey = new PathIndex((i) => records[i].path);
      for (let i = 0; i < index; i++) byKey.set(i);
    }
    let ordered = !(order > 0 && rules.entryOrder);
    const previous = byKey.set(index);
    if (previous !== undefined) {
      this.duplicateKeys.add(pathKey(entry.path));
      this.superseded.add(previous);
      if (rules.duplicatePaths) ordered = false;
    }
    if (!ordered && (this.writer !== null || this.options.stopWhenUnordered)) {
      if (this.options.stopWhenUnordered) throw new StopPass();
      this.writer = null;
      this.mirror = null;
    }
  }
}

/** bsdtar writes `LIBARCHIVE.xattr.<url-encoded name>=<base64>`; used where no SCHILY form exists. */
function addLibarchiveXattrs(pax: Map<string, string>, xattrs: Record<string, string>): void {
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
  const kind = memberKind(typeflag, name);
  if (kind !== null) return kind;
  throw unsupported(`unknown tar entry type ${JSON.stringify(String.fromCharCode(typeflag))} at offset ${offset}`, {
    hint: 'layers hold files, directories, links, devices and fifos',
  });
}
