/**
 * Entry tables past a bound go to disk as sorted runs (issue 12, "Memory flat in entries"), the way
 * `sort(1)` spills: the layer pass keeps at most `spillEntries()` records in memory, sorts them by
 * (`comparePaths`, input position) and appends them as one run to the table's run file; entry-merge.ts
 * merges the runs back in canonical order. This file holds the bound, the record codec and the file.
 *
 * - A record is a fixed block of numbers followed by its strings as length-prefixed bytes (UTF-8 for
 *   names, latin1 for xattr and PAX values, which are binary strings), so nothing in a run is a JS
 *   object and a read record costs one small allocation per string.
 * - All runs of a table share one file, unlinked as soon as it is open (as the content spool is): it
 *   exists only as a descriptor, so nothing is left in the temp dir however the process ends (an
 *   error, a signal, SIGKILL). `close()` frees it; a table nobody closed is closed when collected.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeContext } from '../errors.js';
import { noXattrs, type EntryType, type LayerEntry } from './entry.js';

/**
 * Records a layer pass holds before it spills (about 240 bytes each, so ~4 MB): past it, memory no
 * longer grows with the layer. Measured with verify of two layers (peak RSS): 100,000 files 224 MB
 * in memory, 183 MB at this bound; 1,000,000 files 420 MB at 131,072, 203 MB at this bound, for
 * ~4% more CPU at 100,000. `OCI_REPRO_SPILL_ENTRIES` overrides it (tests force spilling with it).
 */
export const defaultSpillEntries = 1 << 14;

/** The bound in force: `OCI_REPRO_SPILL_ENTRIES` when set to a positive integer, else the default. */
export function spillEntries(): number {
  const value = Number(process.env.OCI_REPRO_SPILL_ENTRIES);
  return Number.isInteger(value) && value > 0 ? value : defaultSpillEntries;
}

/** A record of a spilled table: the entry, the record carrying its group's data, its spooled content. */
export interface SpilledRecord {
  entry: LayerEntry;
  /** As `LayerScan.roots`: the record carrying its data (itself; a link's target's), -1 if none. */
  root: number;
  /** Offset of its content in the content spool, -1 if none. */
  spoolOffset: number;
}

const types: readonly EntryType[] = ['file', 'directory', 'symlink', 'hardlink', 'char', 'block', 'fifo'];
const typeCodes = new Map(types.map((type, code) => [type, code]));

const hasAtime = 1;
const hasCtime = 2;
const hasDevice = 4;
const hasDigest = 8;
const hasLinkname = 16;
const hasPax = 32;
const hasXattrs = 64;

/** Fixed part: length u32, inputIndex u32, root i32, type u8, flags u8, mode u32, then float64s: spool offset, uid, gid, mtime, size. */
const fixedSize = 4 + 4 + 4 + 1 + 1 + 4 + 8 * 5;
const digestPrefix = 'sha256:';

/** Bytes a record takes: an upper bound for the strings (3 bytes per UTF-16 unit). */
function boundOf(entry: LayerEntry): number {
  let size = fixedSize + 8 * 4 + 32 + 4 * 4 + 3 * (entry.path.length + entry.uname.length + entry.gname.length + (entry.linkname?.length ?? 0));
  for (const record of [entry.xattrs, entry.pax]) {
    if (record === undefined) continue;
    size += 4;
    for (const key in record) size += 8 + 3 * key.length + record[key].length;
  }
  return size;
}

/** Writes one record at `at` in `buffer` (which has room for `boundOf(entry)` bytes); returns the end. */
function encodeRecord(record: SpilledRecord, buffer: Buffer, at: number): number {
  const { entry } = record;
  const start = at;
  let flags = 0;
  if (entry.atime !== undefined) flags |= hasAtime;
  if (entry.ctime !== undefined) flags |= hasCtime;
  if (entry.devmajor !== undefined || entry.devminor !== undefined) flags |= hasDevice;
  const digest = entry.contentDigest;
  if (digest !== undefined) flags |= hasDigest;
  if (entry.linkname !== undefined) flags |= hasLinkname;
  if (entry.pax !== undefined) flags |= hasPax;
  if (entry.xattrs !== noXattrs && Object.keys(entry.xattrs).length > 0) flags |= hasXattrs;
  at += 4; // length, written last
  buffer.writeUInt32LE(entry.inputIndex, at);
  buffer.writeInt32LE(record.root, at + 4);
  buffer[at + 8] = typeCodes.get(entry.type)!;
  buffer[at + 9] = flags;
  buffer.writeUInt32LE(entry.mode, at + 10);
  buffer.writeDoubleLE(record.spoolOffset, at + 14);
  buffer.writeDoubleLE(entry.uid, at + 22);
  buffer.writeDoubleLE(entry.gid, at + 30);
  buffer.writeDoubleLE(entry.mtime, at + 38);
  buffer.writeDoubleLE(entry.size, at + 46);
  at = start + fixedSize;
  if (flags & hasAtime) at = buffer.writeDoubleLE(entry.atime!, at);
  if (flags & hasCtime) at = buffer.writeDoubleLE(entry.ctime!, at);
  if (flags & hasDevice) {
    at = buffer.writeDoubleLE(entry.devmajor ?? -1, at);
    at = buffer.writeDoubleLE(entry.devminor ?? -1, at);
  }
  if (flags & hasDigest) at += buffer.write(digest!.slice(digestPrefix.length), at, 32, 'hex');
  at = writeString(buffer, at, entry.path, 'utf8');
  at = writeString(buffer, at, entry.uname, 'utf8');
  at = writeString(buffer, at, entry.gname, 'utf8');
  if (flags & hasLinkname) at = writeString(buffer, at, entry.linkname!, 'utf8');
  if (flags & hasXattrs) at = writeRecord(buffer, at, entry.xattrs);
  if (flags & hasPax) at = writeRecord(buffer, at, entry.pax!);
  buffer.writeUInt32LE(at - start, start);
  return at;
}

function writeString(buffer: Buffer, at: number, value: string, encoding: 'utf8' | 'latin1'): number {
  const length = buffer.write(value, at + 4, encoding);
  buffer.writeUInt32LE(length, at);
  return at + 4 + length;
}

function writeRecord(buffer: Buffer, at: number, record: Readonly<Record<string, string>>): number {
  const keys = Object.keys(record);
  at = buffer.writeUInt32LE(keys.length, at);
  for (const key of keys) {
    at = writeString(buffer, at, key, 'utf8');
    at = writeString(buffer, at, record[key], 'latin1');
  }
  return at;
}

/** Reads the record at `at` in `buffer` (`buffer` holds all of it). */
function decodeRecord(buffer: Buffer, at: number): SpilledRecord {
  const inputIndex = buffer.readUInt32LE(at + 4);
  const root = buffer.readInt32LE(at + 8);
  const type = types[buffer[at + 12]];
  const flags = buffer[at + 13];
  const entry: LayerEntry = {
    path: '',
    type,
    mode: buffer.readUInt32LE(at + 14),
    uid: buffer.readDoubleLE(at + 26),
    gid: buffer.readDoubleLE(at + 34),
    uname: '',
    gname: '',
    mtime: buffer.readDoubleLE(at + 42),
    size: buffer.readDoubleLE(at + 50),
    linkname: undefined,
    xattrs: noXattrs,
    inputIndex,
  };
  const spoolOffset = buffer.readDoubleLE(at + 18);
  let pos = at + fixedSize;
  if (flags & hasAtime) entry.atime = buffer.readDoubleLE((pos += 8) - 8);
  if (flags & hasCtime) entry.ctime = buffer.readDoubleLE((pos += 8) - 8);
  if (flags & hasDevice) {
    const major = buffer.readDoubleLE(pos);
    const minor = buffer.readDoubleLE(pos + 8);
    pos += 16;
    if (major >= 0) entry.devmajor = major;
    if (minor >= 0) entry.devminor = minor;
  }
  if (flags & hasDigest) {
    entry.contentDigest = digestPrefix + buffer.toString('hex', pos, pos + 32);
    pos += 32;
  }
  const read = (encoding: 'utf8' | 'latin1'): string => {
    const length = buffer.readUInt32LE(pos);
    pos += 4 + length;
    return buffer.toString(encoding, pos - length, pos);
  };
  const readRecord = (): Record<string, string> => {
    const record: Record<string, string> = {};
    for (let n = buffer.readUInt32LE((pos += 4) - 4); n > 0; n--) {
      const key = read('utf8');
      record[key] = read('latin1');
    }
    return record;
  };
  entry.path = read('utf8');
  entry.uname = read('utf8');
  entry.gname = read('utf8');
  if (flags & hasLinkname) entry.linkname = read('utf8');
  if (flags & hasXattrs) entry.xattrs = readRecord();
  if (flags & hasPax) entry.pax = readRecord();
  return { entry, root, spoolOffset };
}

/** Where one run sits in the run file. */
export interface Run {
  start: number;
  end: number;
  count: number;
}

const writeChunk = 1 << 20;
const readChunk = 64 << 10;

const unclosed = new FinalizationRegistry<{ fd: number }>((handle) => {
  if (handle.fd >= 0) closeSync(handle.fd);
});

/** The runs of one table, in one unlinked temp file. */
export class RunFile {
  readonly runs: Run[] = [];
  private readonly handle = { fd: -1 };
  private size = 0;

  constructor(private readonly dir: string = tmpdir()) {}

  /** Appends `records`, already in merge order, as one run. */
  appendRun(records: readonly SpilledRecord[]): void {
    if (this.handle.fd === -1) this.open();
    const start = this.size;
    let buffer = Buffer.allocUnsafe(writeChunk);
    let used = 0;
    for (const record of records) {
      const bound = boundOf(record.entry);
      if (used + bound > buffer.length) {
        this.write(buffer, used);
        used = 0;
        if (bound > buffer.length) buffer = Buffer.allocUnsafe(bound);
      }
      used = encodeRecord(record, buffer, used);
    }
    this.write(buffer, used);
    this.runs.push({ start, end: this.size, count: records.length });
  }

  /** A reader of run `index` from its first record. */
  openRun(index: number): RunReader {
    return new RunReader(this, this.runs[index]);
  }

  /** Fills `into` from `position`; returns the bytes read. */
  readAt(into: Buffer, length: number, position: number): number {
    if (this.handle.fd < 0) throw new Error('run file read after close');
    let done = 0;
    while (done < length) {
      const n = readSync(this.handle.fd, into, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  /** Frees the file (it is already unlinked); safe to call more than once. */
  close(): void {
    const fd = this.handle.fd;
    if (fd < 0) return;
    this.handle.fd = -2;
    unclosed.unregister(this);
    closeSync(fd);
  }

  private write(buffer: Buffer, length: number): void {
    let done = 0;
    try {
      while (done < length) done += writeSync(this.handle.fd, buffer, done, length - done, this.size + done);
    } catch (error) {
      throw writeContext(`cannot spill the entry table to ${this.dir}`, error, 'set TMPDIR to a larger disk');
    }
    this.size += length;
  }

  private open(): void {
    const path = join(this.dir, `oci-repro-entries-${process.pid}-${randomBytes(6).toString('hex')}`);
    let fd: number;
    try {
      fd = openSync(path, 'wx+', 0o600);
    } catch (error) {
      throw writeContext(`cannot create the entry spill in ${this.dir}`, error, 'set TMPDIR to a writable directory with space');
    }
    try {
      unlinkSync(path);
    } catch (error) {
      closeSync(fd);
      throw writeContext(`cannot unlink the entry spill ${path}`, error);
    }
    this.handle.fd = fd;
    unclosed.register(this, this.handle, this);
  }
}

/** Reads one run's records in order, through a 64 KiB window. */
export class RunReader {
  /** The record at the cursor; undefined once the run is done. */
  current: SpilledRecord | undefined;
  private buffer = Buffer.allocUnsafe(readChunk);
  private bufferStart = 0;
  private bufferEnd = 0;
  private position: number;

  constructor(
    private readonly file: RunFile,
    private readonly run: Run,
  ) {
    this.position = run.start;
    this.advance();
  }

  /** Moves to the next record. */
  advance(): void {
    if (this.position >= this.run.end) {
      this.current = undefined;
      return;
    }
    if (this.position + 4 > this.bufferEnd) this.fill(4);
    const length = this.buffer.readUInt32LE(this.position - this.bufferStart);
    if (this.position + length > this.bufferEnd) this.fill(length);
    this.current = decodeRecord(this.buffer, this.position - this.bufferStart);
    this.position += length;
  }

  /** Reads from `position` so that at least `needed` bytes are in the window. */
  private fill(needed: number): void {
    if (needed > this.buffer.length) this.buffer = Buffer.allocUnsafe(needed);
    const length = Math.min(this.buffer.length, this.run.end - this.position);
    const got = this.file.readAt(this.buffer, length, this.position);
    if (got < needed) throw new Error(`entry spill: short read at ${this.position}`);
    this.bufferStart = this.position;
    this.bufferEnd = this.position + got;
  }
}
