/**
 * Tar header encoding: USTAR header blocks ("ustar\0" "00") with their checksum, and PAX records.
 * What goes into them (which records, which fields zeroed) is the caller's dialect: the canonical
 * tar's rules live in normalize/canonical-tar.ts, the OCI layout's in sinks/oci-layout.ts.
 */
import { blockSize, sumBytes } from './blocks.js';

/** Largest value of a 7-digit octal field (mode, uid, gid, device numbers). */
export const maxOctal7 = 0o7777777;
/** Largest value of an 11-digit octal field (size, mtime): 8 GiB - 1. */
export const maxOctal11 = 0o77777777777;

/** The fields of one USTAR header. */
export interface UstarFields {
  /** The member path; left empty when `splitUstarPath` cannot place it (a PAX record holds it). */
  path: string;
  mode: number;
  uid: number;
  gid: number;
  /** Octal up to `maxOctal11`, GNU base-256 beyond. */
  size: number;
  mtime: number;
  typeflag: number;
  /** Written when at most 100 bytes, else left empty. */
  linkname: string;
  /** Written when at most 31 bytes, else left empty. */
  uname: string;
  gname: string;
  /** Left zero (no digits) when undefined. */
  devmajor: number | undefined;
  devminor: number | undefined;
}

/** `digits` zero-padded octal digits and a NUL, as Go and GNU tar write USTAR numbers. */
export function writeOctal(out: Buffer, at: number, digits: number, value: number): void {
  let v = value;
  if (v >= 0 && v <= 0x7fffffff) {
    // Bit operations on a small integer: nearly every field of every header.
    for (let i = digits - 1; i >= 0; i--) {
      out[at + i] = 0x30 + (v & 7);
      v >>>= 3;
    }
  } else {
    for (let i = digits - 1; i >= 0; i--) {
      out[at + i] = 0x30 + (v % 8);
      v = Math.floor(v / 8);
    }
  }
  out[at + digits] = 0;
}

/**
 * Writes `text` at `at` when it is ASCII and at most `max` characters, one byte per character, and
 * returns its length; -1 (nothing written) otherwise. Paths and names are nearly always ASCII, and a
 * loop here costs less than asking for the UTF-8 length and then writing it.
 */
function writeAscii(out: Buffer, at: number, text: string, max: number): number {
  const length = text.length;
  if (length > max) return -1;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      out.fill(0, at, at + i); // the caller may write nothing here
      return -1;
    }
    out[at + i] = c;
  }
  return length;
}

/** Bytes `text` takes in UTF-8 (Buffer.byteLength without the call, for short ASCII strings). */
export function utf8Length(text: string): number {
  const length = text.length;
  if (length > 256) return Buffer.byteLength(text, 'utf8');
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, 'utf8');
  return length;
}

/** True when `splitUstarPath(path)` is not null: the USTAR name and prefix fields can hold it. */
export function fitsUstar(path: string): boolean {
  return utf8Length(path) <= 100 || splitUstarPath(path) !== null;
}

/** GNU base-256 in `width` bytes: 0x80, then the value big-endian (non-negative values only). */
export function writeBase256(out: Buffer, at: number, width: number, value: number): void {
  out[at] = 0x80;
  let rest = value;
  for (let i = at + width - 1; i > at; i--) {
    out[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

/**
 * Where a path goes in a USTAR header: `prefix` (the path's bytes, when it needs the prefix field) and
 * the length of its name part; null when only a PAX record can hold it.
 */
export function splitUstarPath(path: string): { prefix: Buffer | null; nameLength: number } | null {
  const length = utf8Length(path);
  if (length <= 100) return { prefix: null, nameLength: length };
  if (length > 256) return null;
  const bytes = Buffer.from(path, 'utf8');
  // The last '/' (not a directory's trailing one) within 155 bytes gives the shortest name part.
  const searchEnd = Math.min(155, length - 2);
  const cut = bytes.lastIndexOf(0x2f, searchEnd);
  if (cut <= 0 || length - cut - 1 > 100) return null;
  return { prefix: bytes, nameLength: length - cut - 1 };
}

/**
 * Writes the USTAR header block of `fields` into `out` at `at` (512 bytes of room); returns the offset
 * after it. `split` is `splitUstarPath(fields.path)` when the caller has it already.
 */
export function writeUstarHeader(fields: UstarFields, out: Buffer, at: number, split?: ReturnType<typeof splitUstarPath>): number {
  const pos = at;
  out.fill(0, pos, pos + blockSize);
  // Only the bytes written below are non-zero, so the checksum sums just those ranges.
  let nameBytes = split === undefined ? writeAscii(out, pos, fields.path, 100) : -1;
  let prefixBytes = 0;
  if (nameBytes < 0) {
    nameBytes = 0;
    const where = split === undefined ? splitUstarPath(fields.path) : split;
    if (where !== null) {
      if (where.prefix === null) {
        nameBytes = out.write(fields.path, pos, 'utf8');
      } else {
        const bytes = where.prefix;
        prefixBytes = bytes.length - where.nameLength - 1;
        nameBytes = bytes.copy(out, pos, prefixBytes + 1);
        bytes.copy(out, pos + 345, 0, prefixBytes);
      }
    }
  }
  writeOctal(out, pos + 100, 7, fields.mode);
  writeOctal(out, pos + 108, 7, fields.uid);
  writeOctal(out, pos + 116, 7, fields.gid);
  if (fields.size <= maxOctal11) writeOctal(out, pos + 124, 11, fields.size);
  else writeBase256(out, pos + 124, 12, fields.size);
  writeOctal(out, pos + 136, 11, fields.mtime);
  for (let i = pos + 148; i < pos + 156; i++) out[i] = 0x20;
  out[pos + 156] = fields.typeflag;
  const linkBytes = writeName(out, pos + 157, fields.linkname, 100);
  // "ustar\0" "00"
  out[pos + 257] = 0x75;
  out[pos + 258] = 0x73;
  out[pos + 259] = 0x74;
  out[pos + 260] = 0x61;
  out[pos + 261] = 0x72;
  out[pos + 263] = 0x30;
  out[pos + 264] = 0x30;
  const unameBytes = writeName(out, pos + 265, fields.uname, 31);
  const gnameBytes = writeName(out, pos + 297, fields.gname, 31);
  if (fields.devmajor !== undefined) writeOctal(out, pos + 329, 7, fields.devmajor);
  if (fields.devminor !== undefined) writeOctal(out, pos + 337, 7, fields.devminor);
  const sum =
    sumBytes(out, pos, pos + nameBytes) +
    sumBytes(out, pos + 100, pos + 157 + linkBytes) +
    sumBytes(out, pos + 257, pos + 265 + unameBytes) +
    sumBytes(out, pos + 297, pos + 297 + gnameBytes) +
    sumBytes(out, pos + 329, pos + 345 + prefixBytes);
  writeOctal(out, pos + 148, 6, sum);
  out[pos + 155] = 0x20;
  return pos + blockSize;
}

/** Writes `text` in UTF-8 at `at` when it takes at most `max` bytes; returns the bytes written (else 0). */
function writeName(out: Buffer, at: number, text: string, max: number): number {
  if (text === '') return 0;
  const ascii = writeAscii(out, at, text, max);
  if (ascii >= 0) return ascii;
  return utf8Length(text) <= max ? out.write(text, at, 'utf8') : 0;
}

/** Decimal for PAX: integers as is, fractions with up to 9 digits and no trailing zeros. */
export function formatPaxNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(9).replace(/0+$/, '');
}

/** One PAX record: key and value as bytes. */
export interface PaxRecord {
  key: Buffer;
  value: Buffer;
}

/** A record from a UTF-8 key and a value given as bytes, UTF-8 text or (`binary`) a binary string. */
export function paxRecord(key: string, value: string | Buffer, binary = false): PaxRecord {
  return {
    key: Buffer.from(key, 'utf8'),
    value: typeof value === 'string' ? Buffer.from(value, binary ? 'latin1' : 'utf8') : value,
  };
}

/** The data of a PAX header: each record framed as `<length> <key>=<value>\n`, in the order given. */
export function encodePaxRecords(records: readonly PaxRecord[]): Buffer {
  const parts: Buffer[] = [];
  for (const { key, value } of records) {
    const body = key.length + value.length + 3; // ' ', '=', '\n'
    let length = body + String(body).length;
    if (String(length).length !== String(body).length) length = body + String(length).length;
    parts.push(Buffer.from(`${length} `, 'latin1'), key, Buffer.from('=', 'latin1'), value, Buffer.from('\n', 'latin1'));
  }
  return Buffer.concat(parts);
}
