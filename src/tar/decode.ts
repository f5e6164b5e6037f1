/**
 * Tar header decoding: a tolerant decoder for the dialects layers come in (v7, USTAR, GNU with
 * base-256 numbers), PAX records, GNU long names, and the PAX keys that override header fields.
 * Strings from headers are decoded as UTF-8: names strictly (`null` when not UTF-8, so a caller can
 * refuse them), owner names leniently.
 */
import { corruptArchive } from '../errors.js';
import { headerChecksum, signedHeaderChecksum, TypeFlag } from './blocks.js';

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
  /** From PAX records only (`applyPaxRecords`); a header block has no such fields. */
  atime: number | undefined;
  ctime: number | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Lenient = new TextDecoder('utf-8');

/** `data.reason` says why without the hint's advice, for callers that word their own (the archive index). */
function invalidHeader(inputOffset: number, why: string) {
  return corruptArchive(`invalid tar header at offset ${inputOffset}`, {
    hint: `${why}; the layer may be corrupt, or still compressed`,
    data: { offset: inputOffset, reason: why },
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
    atime: undefined,
    ctime: undefined,
  };
}

/**
 * Decodes the header block at `buf[at..at+512)` (into `into`, when given); `inputOffset` is its
 * position in the input, for messages. Throws corruptArchive on a bad checksum or a malformed number.
 * Callers test for a zero block first.
 */
export function decodeTarHeader(buf: Buffer, at: number, inputOffset: number, into: TarHeader = emptyHeader()): TarHeader {
  const stored = parseOctalField(buf, at + 148, 8);
  // Some old writers summed signed chars; accept either, as GNU tar and Go do.
  if (stored !== headerChecksum(buf, at) && stored !== signedHeaderChecksum(buf, at)) {
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
  into.atime = undefined;
  into.ctime = undefined;
  return into;
}

function formatOf(buf: Buffer, at: number): HeaderFormat {
  const m = at + 257;
  if (buf[m] === 0x75 && buf[m + 1] === 0x73 && buf[m + 2] === 0x74 && buf[m + 3] === 0x61 && buf[m + 4] === 0x72) {
    if (buf[m + 5] === 0) return 'ustar';
    if (buf[m + 5] === 0x20 && buf[m + 6] === 0x20 && buf[m + 7] === 0) return 'gnu';
  }
  return 'v7';
}

/** Where the NUL-terminated field ends: a loop, cheaper than Buffer.indexOf for fields this short. */
function fieldEnd(buf: Buffer, start: number, length: number): number {
  const end = start + length;
  for (let i = start; i < end; i++) if (buf[i] === 0) return i;
  return end;
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
    if (known.bytes.length === length && sameBytes(known.bytes, buf, start, length)) return known.name;
  }
  const name = decodeLenient(buf, start, 32);
  if (ownerNames.length < maxOwnerNames) ownerNames.push({ bytes: Buffer.from(buf.subarray(start, end)), name });
  return name;
}

/** `bytes` equals `buf[start..start+length)` (a loop: owner names are a few bytes, a native compare costs more). */
function sameBytes(bytes: Buffer, buf: Buffer, start: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[i] !== buf[start + i]) return false;
  return true;
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

/** The PAX keys `applyPaxRecords` reads into header fields. */
export const headerPaxKeys: ReadonlySet<string> = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime', 'atime', 'ctime']);

/**
 * Sets the fields of `header` that PAX records override: path and linkpath (`null` when not UTF-8),
 * size, uid, gid, mtime, atime, ctime, and uname/gname (kept when not UTF-8). Throws corruptArchive on
 * a number that is not one.
 */
export function applyPaxRecords(header: TarHeader, pax: Map<string, string>, offset: number): void {
  for (const [key, value] of pax) {
    switch (key) {
      case 'path':
        header.name = paxText(value);
        break;
      case 'linkpath':
        header.linkname = paxText(value);
        break;
      case 'size':
        header.size = paxInteger(value, key, offset);
        break;
      case 'uid':
        header.uid = paxInteger(value, key, offset);
        break;
      case 'gid':
        header.gid = paxInteger(value, key, offset);
        break;
      case 'uname':
        header.uname = paxText(value) ?? header.uname;
        break;
      case 'gname':
        header.gname = paxText(value) ?? header.gname;
        break;
      case 'mtime':
        header.mtime = paxTime(value, key, offset);
        break;
      case 'atime':
        header.atime = paxTime(value, key, offset);
        break;
      case 'ctime':
        header.ctime = paxTime(value, key, offset);
        break;
    }
  }
}

/** A PAX text value (kept as a binary string) as UTF-8; null if it is not valid UTF-8. */
export function paxText(value: string): string | null {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return null;
  }
}

function badPaxValue(key: string, value: string, offset: number, reason = 'is not a number') {
  const shown = utf8Lenient.decode(Buffer.from(value.slice(0, 40), 'latin1')) + (value.length > 40 ? '…' : '');
  return corruptArchive(`invalid pax header at offset ${offset}`, {
    hint: `${key}=${JSON.stringify(shown)} ${reason}`,
    data: { offset },
  });
}

function paxInteger(value: string, key: string, offset: number): number {
  if (!/^\d+$/.test(value)) throw badPaxValue(key, value, offset);
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw badPaxValue(key, value, offset);
  return number;
}

/** Times beyond 2^53 seconds (285 million years) are refused: they could not be written back as decimals. */
function paxTime(value: string, key: string, offset: number): number {
  if (!/^-?\d+(\.\d*)?$/.test(value)) throw badPaxValue(key, value, offset);
  const time = Number(value);
  if (!(Math.abs(time) <= Number.MAX_SAFE_INTEGER)) throw badPaxValue(key, value, offset, 'is out of range');
  return time;
}
