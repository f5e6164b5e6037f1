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
  for (let i = digits - 1; i >= 0; i--) {
    out[at + i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  out[at + digits] = 0;
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

/**
 * Writes the USTAR header block of `fields` into `out` at `at` (512 bytes of room); returns the offset
 * after it. `split` is `splitUstarPath(fields.path)` when the caller has it already.
 */
export function writeUstarHeader(
  fields: UstarFields,
  out: Buffer,
  at: number,
  split: ReturnType<typeof splitUstarPath> = splitUstarPath(fields.path),
): number {
  const pos = at;
  out.fill(0, pos, pos + blockSize);
  // Only the bytes written below are non-zero, so the checksum sums just those ranges.
  let nameBytes = 0;
  let prefixBytes = 0;
  if (split !== null) {
    if (split.prefix === null) {
      nameBytes = out.write(fields.path, pos, 'utf8');
    } else {
      const bytes = split.prefix;
      prefixBytes = bytes.length - split.nameLength - 1;
      nameBytes = bytes.copy(out, pos, prefixBytes + 1);
      bytes.copy(out, pos + 345, 0, prefixBytes);
    }
  }
  writeOctal(out, pos + 100, 7, fields.mode);
  writeOctal(out, pos + 108, 7, fields.uid);
  writeOctal(out, pos + 116, 7, fields.gid);
  if (fields.size <= maxOctal11) writeOctal(out, pos + 124, 11, fields.size);
  else writeBase256(out, pos + 124, 12, fields.size);
  writeOctal(out, pos + 136, 11, fields.mtime);
  out.fill(0x20, pos + 148, pos + 156);
  out[pos + 156] = fields.typeflag;
  let linkBytes = 0;
  if (fields.linkname !== '' && Buffer.byteLength(fields.linkname, 'utf8') <= 100) {
    linkBytes = out.write(fields.linkname, pos + 157, 'utf8');
  }
  out.write('ustar\u000000', pos + 257, 'latin1');
  let unameBytes = 0;
  let gnameBytes = 0;
  if (fields.uname !== '' && Buffer.byteLength(fields.uname, 'utf8') <= 31) unameBytes = out.write(fields.uname, pos + 265, 'utf8');
  if (fields.gname !== '' && Buffer.byteLength(fields.gname, 'utf8') <= 31) gnameBytes = out.write(fields.gname, pos + 297, 'utf8');
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
