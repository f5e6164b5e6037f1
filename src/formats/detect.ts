/**
 * Which decoder explains a file, from its first bytes (and its name, for `.pyc`, whose magic is only
 * two bytes and `\r\n`), and one entry point that decodes both sides and compares them. Callers (the
 * file comparer, later) need only this and `FieldChange`.
 */
import { compareAr, decodeAr } from './ar.js';
import { compareElf, decodeElf } from './elf.js';
import { compareGzip, decodeGzip } from './gzip-header.js';
import { type ByteSource, checkCap, type FieldChange, readRange } from './model.js';
import { comparePyc, decodePyc, maxPycBytes } from './pyc.js';
import { compareZip, decodeZip } from './zip.js';

export type FormatKind = 'pyc' | 'gzip' | 'zip' | 'ar' | 'elf';

/** Bytes of a file's head that `detectFormat` looks at. */
export const detectHeadBytes = 8;

/** The format of a file from its name and first bytes (at least `detectHeadBytes` when the file has them). */
export function detectFormat(path: string, head: Uint8Array): FormatKind | undefined {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x7f454c46) return 'elf';
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6))) return 'zip';
  if (bytes.toString('latin1', 0, 8) === '!<arch>\n') return 'ar';
  if (/\.pyc$/i.test(path) && bytes.length >= 4 && bytes[2] === 0x0d && bytes[3] === 0x0a) return 'pyc';
  return undefined;
}

/** Decodes both sides as `kind` and lists the fields that differ. Throws a CORRUPT_ARCHIVE error naming the format. */
export async function compareFormat(kind: FormatKind, a: ByteSource, b: ByteSource): Promise<FieldChange[]> {
  switch (kind) {
    case 'pyc': {
      const [pa, pb] = await Promise.all([wholePyc(a), wholePyc(b)]);
      return comparePyc(decodePyc(pa), decodePyc(pb));
    }
    case 'gzip':
      return compareGzip(await decodeGzip(a), await decodeGzip(b));
    case 'zip':
      return compareZip(await decodeZip(a), await decodeZip(b));
    case 'ar':
      return compareAr(await decodeAr(a), await decodeAr(b));
    case 'elf':
      return compareElf(await decodeElf(a), await decodeElf(b));
  }
}

async function wholePyc(source: ByteSource): Promise<Buffer> {
  checkCap(source.size, maxPycBytes, 'pyc'); // before reading: an oversized file is never read
  return readRange(source, 0, source.size, 'pyc', 'file');
}
