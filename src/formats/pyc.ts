/**
 * Python `.pyc` headers (PEP 552): the magic (which Python wrote it), the flags (timestamp- or
 * hash-based), then either the source's mtime and size or a hash of the source. A timestamp-based pyc
 * changes whenever the source file's mtime does, which is the usual reason two builds' pycs differ.
 */
import { createHash } from 'node:crypto';
import { checkCap, type FieldChange, formatError, isoFromEpoch, pushChange } from './model.js';

export type PycKind = 'timestamp' | 'checked-hash' | 'unchecked-hash';

export interface PycHeader {
  /** The 16-bit magic number (the bytes before `\r\n`). */
  magic: number;
  /** `3.11` when the magic is in a known release's range. */
  python?: string;
  /** The flags word (Python 3.7+), else undefined. */
  flags?: number;
  kind: PycKind;
  /** The source's mtime as an ISO date (timestamp-based). */
  sourceMtime?: string | number;
  /** The source's size modulo 2^32 (timestamp-based, Python 3.3+). */
  sourceSize?: number;
  /** The SipHash of the source, hex (hash-based). */
  sourceHash?: string;
  /** Bytes of the header; the marshalled code object follows. */
  headerSize: number;
  /** sha256 of the marshalled code object, hex. */
  codeDigest: string;
}

/** Default largest pyc decoded whole (the biggest in CPython's own library are about 200 KiB). */
export const maxPycBytes = 16 * 1024 * 1024;

// [first magic, last magic, version] per release line, from CPython's importlib magic number history.
const magicRanges: ReadonlyArray<readonly [number, number, string]> = [
  [62171, 62211, '2.7'],
  [3000, 3131, '3.0'],
  [3141, 3151, '3.1'],
  [3160, 3180, '3.2'],
  [3190, 3230, '3.3'],
  [3250, 3310, '3.4'],
  [3320, 3351, '3.5'],
  [3360, 3379, '3.6'],
  [3390, 3394, '3.7'],
  [3400, 3413, '3.8'],
  [3420, 3425, '3.9'],
  [3430, 3439, '3.10'],
  [3450, 3495, '3.11'],
  [3500, 3531, '3.12'],
  [3550, 3571, '3.13'],
  [3600, 3649, '3.14'],
];

/** The Python release line a magic number belongs to, when known. */
export function pythonOfMagic(magic: number): string | undefined {
  return magicRanges.find(([first, last]) => magic >= first && magic <= last)?.[2];
}

/** Decodes the header of a `.pyc` held in memory (at most `cap` bytes). */
export function decodePyc(bytes: Buffer, cap = maxPycBytes): PycHeader {
  checkCap(bytes.length, cap, 'pyc');
  if (bytes.length < 8 || bytes[2] !== 0x0d || bytes[3] !== 0x0a) {
    throw formatError('pyc', 'no magic number followed by \\r\\n in the first 4 bytes', 'not a compiled Python file');
  }
  const magic = bytes.readUInt16LE(0);
  const python = pythonOfMagic(magic);
  // Layout by era: 1.x-3.2 (magics 20000+ and below 3190) magic+mtime; 3.3-3.6 +size; 3.7+ (and unknown newer magics) flags first.
  const era = magic >= 20000 || magic < 3190 ? 'mtime' : magic < 3390 ? 'mtime-size' : 'flags';
  const headerSize = era === 'mtime' ? 8 : era === 'mtime-size' ? 12 : 16;
  if (bytes.length < headerSize) {
    throw formatError('pyc', `header of ${headerSize} bytes truncated at ${bytes.length}`, 'the file may be truncated');
  }
  const codeDigest = createHash('sha256').update(bytes.subarray(headerSize)).digest('hex');
  const base = { magic, python, headerSize, codeDigest };
  if (era !== 'flags') {
    return {
      ...base,
      kind: 'timestamp',
      sourceMtime: isoFromEpoch(bytes.readUInt32LE(4)),
      sourceSize: era === 'mtime-size' ? bytes.readUInt32LE(8) : undefined,
    };
  }
  const flags = bytes.readUInt32LE(4);
  if ((flags & 1) === 0) {
    return { ...base, flags, kind: 'timestamp', sourceMtime: isoFromEpoch(bytes.readUInt32LE(8)), sourceSize: bytes.readUInt32LE(12) };
  }
  return {
    ...base,
    flags,
    kind: (flags & 2) !== 0 ? 'checked-hash' : 'unchecked-hash',
    sourceHash: bytes.subarray(8, 16).toString('hex'),
  };
}

/** The header fields (and the code object, as a digest) that differ between two pycs. */
export function comparePyc(a: PycHeader, b: PycHeader): FieldChange[] {
  const changes: FieldChange[] = [];
  const at = 'header';
  pushChange(changes, at, 'magic', describeMagic(a), describeMagic(b), 'the bytecode format: which Python version compiled the file');
  pushChange(changes, at, 'invalidation', a.kind, b.kind, 'how Python checks the cache is current: by the source mtime and size, or by a hash of the source (PEP 552)');
  pushChange(changes, at, 'source-mtime', a.sourceMtime, b.sourceMtime, "the source file's modification time when it was compiled");
  pushChange(changes, at, 'source-size', a.sourceSize, b.sourceSize, "the source file's size in bytes (modulo 2^32) when it was compiled");
  pushChange(changes, at, 'source-hash', a.sourceHash, b.sourceHash, 'a SipHash of the source bytes, checked instead of the mtime');
  pushChange(changes, 'code', 'sha256', a.codeDigest, b.codeDigest, 'the marshalled code object: the compiled module itself');
  return changes;
}

const describeMagic = (h: PycHeader): string => (h.python ? `${h.magic} (Python ${h.python})` : String(h.magic));
