/**
 * Tar header blocks: a tolerant decoder for the dialects layers come in (v7, USTAR, GNU, PAX) and a
 * deterministic encoder for the canonical tar.
 *
 * The canonical header is USTAR ("ustar\0" "00") with, only where USTAR cannot say it, one PAX 'x'
 * header before it. The PAX header block is fixed: name `././@PaxHeader` (constant, so no entry path or
 * process id leaks into it; no real file is spelled that way), mode 0644, uid/gid/mtime 0, empty owner
 * names; only its size varies. Its records are sorted bytewise by key. A PAX record is written for:
 * a path longer than USTAR name+prefix can split, a link target over 100 bytes, size >= 8 GiB,
 * uid/gid > 07777777, an mtime outside 0..8^11-1 or with a fraction (only with rule 'mtime' off),
 * atime/ctime (only with 'extra-times' off), owner names over 31 bytes (only with 'owner-names' off),
 * every xattr as `SCHILY.xattr.<name>`, and `LayerEntry.pax` records. When a PAX record carries a value,
 * the USTAR field holds 0 or is left empty.
 */
import { corruptArchive } from '../errors.js';
import { canonicalMode, canonicalMtime, type LayerEntry, type LayerRules } from './entry.js';

export const blockSize = 512;
/** The end-of-archive marker: two zero blocks, and nothing after it. */
export const endOfArchive: Buffer = Buffer.alloc(2 * blockSize);

export const paxHeaderName = '././@PaxHeader';

/** Typeflag bytes. */
export const TypeFlag = {
  file: 0x30, // '0'
  oldFile: 0x00, // NUL, pre-POSIX regular file
  hardlink: 0x31, // '1'
  symlink: 0x32, // '2'
  char: 0x33, // '3'
  block: 0x34, // '4'
  directory: 0x35, // '5'
  fifo: 0x36, // '6'
  contiguous: 0x37, // '7', a regular file everywhere that matters
  paxHeader: 0x78, // 'x'
  paxGlobal: 0x67, // 'g'
  gnuLongName: 0x4c, // 'L'
  gnuLongLink: 0x4b, // 'K'
  gnuDumpDir: 0x44, // 'D', GNU incremental directory listing
  gnuSparse: 0x53, // 'S'
  gnuVolume: 0x56, // 'V'
  gnuMultiVolume: 0x4d, // 'M'
} as const;

export type HeaderFormat = 'v7' | 'ustar' | 'gnu';

/** One decoded header block. Names are `null` when their bytes are not valid UTF-8. */
export interface TarHeader {
  name: string | null;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: number;
  linkname: string | null;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  format: HeaderFormat;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');

/** True when the 512 bytes at `at` are all zero (an end-of-archive block). */
export function isZeroBlock(buf: Buffer, at: number): boolean {
  const end = at + blockSize;
  for (let i = at; i < end; i += 8) {
    // Checking 8 bytes per step keeps this cheap; the tail is the same loop.
    if (buf[i] | buf[i + 1] | buf[i + 2] | buf[i + 3] | buf[i + 4] | buf[i + 5] | buf[i + 6] | buf[i + 7]) {
      return false;
    }
  }
  return true;
}

function invalidHeader(inputOffset: number, why: string) {
  return corruptArchive(`invalid tar header at offset ${inputOffset}`, {
    hint: `${why}; the layer may be corrupt, or still compressed`,
    data: { offset: inputOffset },
  });
}

/** A header to decode into, so a pass over many entries allocates none. */
export function emptyHeader(): TarHeader {
  return {
    name: null,
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
    typeflag: 0,
    linkname: null,
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
    format: 'v7',
  };
}

/**
 * Decodes the header block at `buf[at..at+512)` (into `into`, when given); `inputOffset` is its
 * position in the input, for messages. Throws corruptArchive on a bad checksum or a malformed number.
 * Callers test for a zero block first.
 */
export function decodeTarHeader(buf: Buffer, at: number, inputOffset: number, into: TarHeader = emptyHeader()): TarHeader {
  const stored = parseOctalField(buf, at + 148, 8);
  let sum = 8 * 0x20;
  for (let i = at; i < at + 148; i++) sum += buf[i];
  for (let i = at + 156; i < at + blockSize; i++) sum += buf[i];
  // Some old writers summed signed chars; accept either, as GNU tar and Go do.
  if (stored !== sum && stored !== signedChecksum(buf, at)) {
    throw invalidHeader(inputOffset, 'checksum mismatch');
  }

  const format = formatOf(buf, at);
  const typeflag = buf[at + 156];
  let name = decodeName(buf, at, 100);
  if (format === 'ustar' && buf[at + 345] !== 0) {
    const prefix = decodeName(buf, at + 345, 155);
    name = prefix === null || name === null ? null : `${prefix}/${name}`;
  }
  const devices = typeflag === TypeFlag.char || typeflag === TypeFlag.block;
  into.name = name;
  into.mode = numberField(buf, at + 100, 8, inputOffset, 'mode');
  into.uid = numberField(buf, at + 108, 8, inputOffset, 'uid');
  into.gid = numberField(buf, at + 116, 8, inputOffset, 'gid');
  into.size = numberField(buf, at + 124, 12, inputOffset, 'size');
  into.mtime = numberField(buf, at + 136, 12, inputOffset, 'mtime');
  into.typeflag = typeflag;
  into.linkname = buf[at + 157] === 0 ? '' : decodeName(buf, at + 157, 100);
  into.uname = format === 'v7' ? '' : decodeOwnerName(buf, at + 265);
  into.gname = format === 'v7' ? '' : decodeOwnerName(buf, at + 297);
  // Writers leave garbage in the device fields of other types; only devices need them.
  into.devmajor = devices && format !== 'v7' ? numberField(buf, at + 329, 8, inputOffset, 'devmajor') : 0;
  into.devminor = devices && format !== 'v7' ? numberField(buf, at + 337, 8, inputOffset, 'devminor') : 0;
  into.format = format;
  return into;
}

function signedChecksum(buf: Buffer, at: number): number {
  let sum = 8 * 0x20;
  for (let i = at; i < at + 148; i++) sum += (buf[i] << 24) >> 24;
  for (let i = at + 156; i < at + blockSize; i++) sum += (buf[i] << 24) >> 24;
  return sum;
}

function formatOf(buf: Buffer, at: number): HeaderFormat {
  const m = at + 257;
  if (buf[m] === 0x75 && buf[m + 1] === 0x73 && buf[m + 2] === 0x74 && buf[m + 3] === 0x61 && buf[m + 4] === 0x72) {
    if (buf[m + 5] === 0) return 'ustar';
    if (buf[m + 5] === 0x20 && buf[m + 6] === 0x20 && buf[m + 7] === 0) return 'gnu';
  }
  return 'v7';
}

function fieldEnd(buf: Buffer, start: number, length: number): number {
  const nul = buf.indexOf(0, start);
  return nul === -1 || nul > start + length ? start + length : nul;
}

function isAscii(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] >= 0x80) return false;
  return true;
}

/** A NUL-terminated name field; `null` when it is not valid UTF-8. */
function decodeName(buf: Buffer, start: number, length: number): string | null {
  const end = fieldEnd(buf, start, length);
  if (isAscii(buf, start, end)) return buf.toString('latin1', start, end);
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    return null;
  }
}

/**
 * Owner names recently decoded, by their header bytes. A layer repeats a handful of names on every
 * entry; one shared string per name instead of one per entry saved ~10 MB on a 100,000-entry verify.
 */
const ownerNames: { bytes: Buffer; name: string }[] = [];
const maxOwnerNames = 16;

function decodeOwnerName(buf: Buffer, start: number): string {
  const end = fieldEnd(buf, start, 32);
  const length = end - start;
  for (const known of ownerNames) {
    if (known.bytes.length === length && buf.compare(known.bytes, 0, length, start, end) === 0) return known.name;
  }
  const name = decodeLenient(buf, start, 32);
  if (ownerNames.length < maxOwnerNames) ownerNames.push({ bytes: Buffer.from(buf.subarray(start, end)), name });
  return name;
}

function decodeLenient(buf: Buffer, start: number, length: number): string {
  const end = fieldEnd(buf, start, length);
  if (isAscii(buf, start, end)) return buf.toString('latin1', start, end);
  return utf8Lenient.decode(buf.subarray(start, end));
}

/** Octal (space/NUL padded or terminated), or GNU base-256 when the high bit is set; -1 if malformed. */
function parseOctalField(buf: Buffer, start: number, length: number): number {
  const b0 = buf[start];
  if (b0 & 0x80) {
    const negative = b0 === 0xff;
    let value = negative ? 0 : b0 & 0x7f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + (negative ? 0xff - buf[i] : buf[i]);
    return negative ? -(value + 1) : value;
  }
  let value = 0;
  let i = start;
  const end = start + length;
  while (i < end && (buf[i] === 0x20 || buf[i] === 0)) i++;
  if (i === end) return 0;
  for (; i < end; i++) {
    const c = buf[i];
    if (c >= 0x30 && c <= 0x37) value = value * 8 + (c - 0x30);
    else if (c === 0x20 || c === 0) break;
    else return Number.NaN;
  }
  for (; i < end; i++) if (buf[i] !== 0x20 && buf[i] !== 0) return Number.NaN;
  return value;
}

function numberField(buf: Buffer, start: number, length: number, inputOffset: number, what: string): number {
  const value = parseOctalField(buf, start, length);
  if (Number.isNaN(value)) throw invalidHeader(inputOffset, `malformed ${what} field`);
  // Base-256 reaches ±2^63: a number a double cannot hold exactly would be written back as another
  // one, and only a time may be negative (before 1970); an id, size or device number may not.
  if (!Number.isSafeInteger(value) || (value < 0 && what !== 'mtime')) throw invalidHeader(inputOffset, `${what} field out of range`);
  return value;
}

/**
 * Parses PAX extended header records (`<len> <key>=<value>\n`) into `into`. Keys are decoded as UTF-8;
 * values are kept as binary strings (one char per byte) so xattr values survive exactly. An empty
 * value deletes the key, as POSIX says.
 */
export function parsePaxRecords(data: Buffer, into: Map<string, string>, inputOffset: number): void {
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad the records with NULs
    let length = 0;
    let i = pos;
    while (i < data.length && data[i] >= 0x30 && data[i] <= 0x39) length = length * 10 + (data[i++] - 0x30);
    const end = pos + length;
    if (i === pos || data[i] !== 0x20 || end > data.length || end <= i + 1 || data[end - 1] !== 0x0a) {
      throw corruptArchive(`invalid pax header at offset ${inputOffset}`, {
        hint: 'a record is not "<length> <key>=<value>\\n"; the layer may be corrupt',
        data: { offset: inputOffset },
      });
    }
    const eq = data.indexOf(0x3d, i + 1);
    if (eq === -1 || eq >= end - 1) {
      throw corruptArchive(`invalid pax header at offset ${inputOffset}`, {
        hint: 'a record has no "="',
        data: { offset: inputOffset },
      });
    }
    const key = utf8Lenient.decode(data.subarray(i + 1, eq));
    const value = data.toString('latin1', eq + 1, end - 1);
    if (value === '') into.delete(key);
    else into.set(key, value);
    pos = end;
  }
}

/** A NUL-terminated GNU long name ('L' or 'K' data); `null` when not valid UTF-8. */
export function decodeLongName(data: Buffer): string | null {
  const end = fieldEnd(data, 0, data.length);
  return decodeName(data, 0, end);
}

// ---------------------------------------------------------------------------------------------
// Encoder

const maxOctal7 = 0o7777777;
const maxOctal11 = 0o77777777777;

function writeOctal(out: Buffer, at: number, digits: number, value: number): void {
  let v = value;
  for (let i = digits - 1; i >= 0; i--) {
    out[at + i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  out[at + digits] = 0;
}

/** Decimal for PAX: integers as is, fractions with up to 9 digits and no trailing zeros. */
export function formatPaxNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(9).replace(/0+$/, '');
}

const typeflagOf: Record<LayerEntry['type'], number> = {
  file: TypeFlag.file,
  hardlink: TypeFlag.hardlink,
  symlink: TypeFlag.symlink,
  char: TypeFlag.char,
  block: TypeFlag.block,
  directory: TypeFlag.directory,
  fifo: TypeFlag.fifo,
};

/** Where a path goes in a USTAR header: [prefix bytes, name bytes], or null when only PAX can hold it. */
function splitUstarPath(path: string): { prefix: Buffer | null; nameLength: number } | null {
  const length = Buffer.byteLength(path, 'utf8');
  if (length <= 100) return { prefix: null, nameLength: length };
  if (length > 256) return null;
  const bytes = Buffer.from(path, 'utf8');
  // The last '/' (not a directory's trailing one) within 155 bytes gives the shortest name part.
  const searchEnd = Math.min(155, length - 2);
  const cut = bytes.lastIndexOf(0x2f, searchEnd);
  if (cut <= 0 || length - cut - 1 > 100) return null;
  return { prefix: bytes, nameLength: length - cut - 1 };
}

interface PaxRecord {
  key: Buffer;
  value: Buffer;
}

function paxRecord(key: string, value: string | Buffer, binary = false): PaxRecord {
  return {
    key: Buffer.from(key, 'utf8'),
    value: typeof value === 'string' ? Buffer.from(value, binary ? 'latin1' : 'utf8') : value,
  };
}

/**
 * The PAX records an entry needs in the canonical tar, already framed and sorted, or null when the
 * USTAR header says everything (the common case, which allocates nothing).
 */
export function canonicalPaxRecords(entry: LayerEntry, rules: LayerRules): Buffer | null {
  let records: PaxRecord[] | null = null;
  const add = (record: PaxRecord) => (records ??= []).push(record);

  if (splitUstarPath(entry.path) === null) add(paxRecord('path', entry.path));
  if (entry.linkname !== undefined && Buffer.byteLength(entry.linkname, 'utf8') > 100) {
    add(paxRecord('linkpath', entry.linkname));
  }
  if (entry.type === 'file' && entry.size > maxOctal11) add(paxRecord('size', String(entry.size)));
  if (entry.uid > maxOctal7) add(paxRecord('uid', String(entry.uid)));
  if (entry.gid > maxOctal7) add(paxRecord('gid', String(entry.gid)));
  const mtime = canonicalMtime(entry.mtime, rules);
  if (!Number.isInteger(mtime) || mtime < 0 || mtime > maxOctal11) add(paxRecord('mtime', formatPaxNumber(mtime)));
  if (!rules.extraTimes) {
    if (entry.atime !== undefined) add(paxRecord('atime', formatPaxNumber(entry.atime)));
    if (entry.ctime !== undefined) add(paxRecord('ctime', formatPaxNumber(entry.ctime)));
  }
  if (!rules.ownerNames) {
    if (Buffer.byteLength(entry.uname, 'utf8') > 31) add(paxRecord('uname', entry.uname));
    if (Buffer.byteLength(entry.gname, 'utf8') > 31) add(paxRecord('gname', entry.gname));
  }
  for (const name in entry.xattrs) add(paxRecord(`SCHILY.xattr.${name}`, entry.xattrs[name], true));
  if (entry.pax !== undefined) for (const key in entry.pax) add(paxRecord(key, entry.pax[key], true));

  if (records === null) return null;
  const list: PaxRecord[] = records;
  list.sort((a, b) => Buffer.compare(a.key, b.key));
  const parts: Buffer[] = [];
  for (const { key, value } of list) {
    const body = key.length + value.length + 3; // ' ', '=', '\n'
    let length = body + String(body).length;
    if (String(length).length !== String(body).length) length = body + String(length).length;
    parts.push(Buffer.from(`${length} `, 'latin1'), key, Buffer.from('=', 'latin1'), value, Buffer.from('\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

/** Bytes the canonical header of an entry takes, given its PAX records. */
export function canonicalHeaderSize(pax: Buffer | null): number {
  return pax === null ? blockSize : 2 * blockSize + paddedSize(pax.length);
}

/** `size` rounded up to whole blocks. */
export function paddedSize(size: number): number {
  const rest = size % blockSize;
  return rest === 0 ? size : size + blockSize - rest;
}

/**
 * Writes the canonical header blocks of `entry` (PAX header + records when `pax` is given, then the
 * USTAR header) into `out` at `at`; returns the offset after them. `out` must have
 * `canonicalHeaderSize(pax)` bytes of room.
 */
export function writeCanonicalHeader(
  entry: LayerEntry,
  rules: LayerRules,
  pax: Buffer | null,
  out: Buffer,
  at: number,
): number {
  let pos = at;
  if (pax !== null) {
    out.fill(0, pos, pos + blockSize);
    out.write(paxHeaderName, pos, 'latin1');
    writeOctal(out, pos + 100, 7, 0o644);
    writeOctal(out, pos + 108, 7, 0);
    writeOctal(out, pos + 116, 7, 0);
    writeOctal(out, pos + 124, 11, pax.length);
    writeOctal(out, pos + 136, 11, 0);
    out[pos + 156] = TypeFlag.paxHeader;
    writeMagicAndChecksum(out, pos);
    pos += blockSize;
    pax.copy(out, pos);
    const padded = paddedSize(pax.length);
    out.fill(0, pos + pax.length, pos + padded);
    pos += padded;
  }

  out.fill(0, pos, pos + blockSize);
  // Only the bytes written below are non-zero, so the checksum sums just those ranges.
  let nameBytes = 0;
  let prefixBytes = 0;
  const split = splitUstarPath(entry.path);
  if (split !== null) {
    if (split.prefix === null) {
      nameBytes = out.write(entry.path, pos, 'utf8');
    } else {
      const bytes = split.prefix;
      prefixBytes = bytes.length - split.nameLength - 1;
      nameBytes = bytes.copy(out, pos, prefixBytes + 1);
      bytes.copy(out, pos + 345, 0, prefixBytes);
    }
  }
  const size = entry.type === 'file' ? entry.size : 0;
  writeOctal(out, pos + 100, 7, canonicalMode(entry.mode, rules));
  writeOctal(out, pos + 108, 7, entry.uid > maxOctal7 ? 0 : entry.uid);
  writeOctal(out, pos + 116, 7, entry.gid > maxOctal7 ? 0 : entry.gid);
  writeOctal(out, pos + 124, 11, size > maxOctal11 ? 0 : size);
  const mtime = Math.floor(canonicalMtime(entry.mtime, rules));
  writeOctal(out, pos + 136, 11, mtime < 0 || mtime > maxOctal11 ? 0 : mtime);
  out.fill(0x20, pos + 148, pos + 156);
  out[pos + 156] = typeflagOf[entry.type];
  let linkBytes = 0;
  if (entry.linkname !== undefined && Buffer.byteLength(entry.linkname, 'utf8') <= 100) {
    linkBytes = out.write(entry.linkname, pos + 157, 'utf8');
  }
  out.write('ustar\u000000', pos + 257, 'latin1');
  let unameBytes = 0;
  let gnameBytes = 0;
  if (!rules.ownerNames) {
    if (Buffer.byteLength(entry.uname, 'utf8') <= 31) unameBytes = out.write(entry.uname, pos + 265, 'utf8');
    if (Buffer.byteLength(entry.gname, 'utf8') <= 31) gnameBytes = out.write(entry.gname, pos + 297, 'utf8');
  }
  if (entry.type === 'char' || entry.type === 'block') {
    writeOctal(out, pos + 329, 7, entry.devmajor ?? 0);
    writeOctal(out, pos + 337, 7, entry.devminor ?? 0);
  }
  const sum =
    sumBytes(out, pos, pos + nameBytes) +
    sumBytes(out, pos + 100, pos + 157 + linkBytes) +
    sumBytes(out, pos + 257, pos + 265 + unameBytes) +
    sumBytes(out, pos + 297, pos + 297 + gnameBytes) +
    sumBytes(out, pos + 329, pos + 345 + prefixBytes);
  writeChecksum(out, pos, sum);
  return pos + blockSize;
}

function sumBytes(buf: Buffer, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += buf[i];
  return sum;
}

function writeChecksum(out: Buffer, at: number, sum: number): void {
  writeOctal(out, at + 148, 6, sum);
  out[at + 155] = 0x20;
}

function writeMagicAndChecksum(out: Buffer, at: number): void {
  out.write('ustar\u000000', at + 257, 'latin1');
  out.fill(0x20, at + 148, at + 156);
  writeChecksum(out, at, sumBytes(out, at, at + blockSize));
}

/** The canonical header blocks of one entry as a new buffer (for tests and one-off use). */
export function encodeCanonicalHeader(entry: LayerEntry, rules: LayerRules): Buffer {
  const pax = canonicalPaxRecords(entry, rules);
  const out = Buffer.allocUnsafe(canonicalHeaderSize(pax));
  writeCanonicalHeader(entry, rules, pax, out, 0);
  return out;
}
