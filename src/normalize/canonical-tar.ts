/**
 * The canonical tar's header rules (docs/architecture.md, section 2), written with the tar encoder.
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
import { blockSize, paddedSize, TypeFlag } from '../tar/blocks.js';
import {
  encodePaxRecords,
  fitsUstar,
  formatPaxNumber,
  maxOctal11,
  maxOctal7,
  paxRecord,
  utf8Length,
  writeUstarHeader,
  type PaxRecord,
  type UstarFields,
} from '../tar/encode.js';
import { canonicalMode, canonicalMtime, type LayerEntry, type LayerRules } from './entry.js';

export const paxHeaderName = '././@PaxHeader';

const typeflagOf: Record<LayerEntry['type'], number> = {
  file: TypeFlag.file,
  hardlink: TypeFlag.hardlink,
  symlink: TypeFlag.symlink,
  char: TypeFlag.char,
  block: TypeFlag.block,
  directory: TypeFlag.directory,
  fifo: TypeFlag.fifo,
};

/**
 * The PAX records an entry needs in the canonical tar, already framed and sorted, or null when the
 * USTAR header says everything (the common case, which allocates nothing).
 */
export function canonicalPaxRecords(entry: LayerEntry, rules: LayerRules): Buffer | null {
  let records: PaxRecord[] | null = null;
  const add = (record: PaxRecord) => (records ??= []).push(record);

  if (!fitsUstar(entry.path)) add(paxRecord('path', entry.path));
  if (entry.linkname !== undefined && utf8Length(entry.linkname) > 100) {
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
    if (utf8Length(entry.uname) > 31) add(paxRecord('uname', entry.uname));
    if (utf8Length(entry.gname) > 31) add(paxRecord('gname', entry.gname));
  }
  for (const name in entry.xattrs) add(paxRecord(`SCHILY.xattr.${name}`, entry.xattrs[name], true));
  if (entry.pax !== undefined) for (const key in entry.pax) add(paxRecord(key, entry.pax[key], true));

  if (records === null) return null;
  const list: PaxRecord[] = records;
  list.sort((a, b) => Buffer.compare(a.key, b.key));
  return encodePaxRecords(list);
}

/** Bytes the canonical header of an entry takes, given its PAX records. */
export function canonicalHeaderSize(pax: Buffer | null): number {
  return pax === null ? blockSize : 2 * blockSize + paddedSize(pax.length);
}

/** The fixed PAX header block, reused; only its size varies. */
const paxFields: UstarFields = {
  path: paxHeaderName,
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
  typeflag: TypeFlag.paxHeader,
  linkname: '',
  uname: '',
  gname: '',
  devmajor: undefined,
  devminor: undefined,
};

/** The fields of the entry's own header, reused: writing a header allocates nothing. */
const fields: UstarFields = { ...paxFields };

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
    paxFields.size = pax.length;
    pos = writeUstarHeader(paxFields, out, pos);
    pax.copy(out, pos);
    const padded = paddedSize(pax.length);
    out.fill(0, pos + pax.length, pos + padded);
    pos += padded;
  }

  const size = entry.type === 'file' ? entry.size : 0;
  const mtime = Math.floor(canonicalMtime(entry.mtime, rules));
  const devices = entry.type === 'char' || entry.type === 'block';
  fields.path = entry.path;
  fields.mode = canonicalMode(entry.mode, rules);
  fields.uid = entry.uid > maxOctal7 ? 0 : entry.uid;
  fields.gid = entry.gid > maxOctal7 ? 0 : entry.gid;
  fields.size = size > maxOctal11 ? 0 : size;
  fields.mtime = mtime < 0 || mtime > maxOctal11 ? 0 : mtime;
  fields.typeflag = typeflagOf[entry.type];
  // Names too long for USTAR are in the PAX records, and the fields stay empty.
  fields.linkname = entry.linkname ?? '';
  fields.uname = rules.ownerNames ? '' : entry.uname;
  fields.gname = rules.ownerNames ? '' : entry.gname;
  fields.devmajor = devices ? (entry.devmajor ?? 0) : undefined;
  fields.devminor = devices ? (entry.devminor ?? 0) : undefined;
  return writeUstarHeader(fields, out, pos);
}

/** The canonical header blocks of one entry as a new buffer (for tests and one-off use). */
export function encodeCanonicalHeader(entry: LayerEntry, rules: LayerRules): Buffer {
  const pax = canonicalPaxRecords(entry, rules);
  const out = Buffer.allocUnsafe(canonicalHeaderSize(pax));
  writeCanonicalHeader(entry, rules, pax, out, 0);
  return out;
}
