/**
 * Tar blocks: the block size, typeflags, the end-of-archive marker, padding and the header checksum.
 * Shared by the decoder, the reader and the encoder (docs/architecture.md, section 2).
 */

export const blockSize = 512;
/** The end-of-archive marker: two zero blocks, and nothing after it. */
export const endOfArchive: Buffer = Buffer.alloc(2 * blockSize);

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

/** What a member is in the file tree. */
export type MemberKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/**
 * The kind of a member with `typeflag` and (decoded) `name`, or null for a typeflag that names no
 * file-tree member. Pre-POSIX tars mark directories only by the trailing slash; GNU dump-dir listings
 * are directories; contiguous files are regular files.
 */
export function memberKind(typeflag: number, name: string): MemberKind | null {
  switch (typeflag) {
    case TypeFlag.oldFile:
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
      return null;
  }
}

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

/** `size` rounded up to whole blocks. */
export function paddedSize(size: number): number {
  const rest = size % blockSize;
  return rest === 0 ? size : size + blockSize - rest;
}

/** Sum of the bytes `buf[from..to)`. */
export function sumBytes(buf: Buffer, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += buf[i];
  return sum;
}

/** A 32-bit view of the last buffer summed, so a chunk's headers share one. */
let wordsOf: Buffer | null = null;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/**
 * The header checksum of the block at `at` (its checksum field counted as spaces), unsigned bytes.
 * Summed four bytes at a time where the block is 4-byte aligned in memory (it was a byte loop: a
 * visible share of reading a layer of small files): each word adds its bytes in two 16-bit lanes,
 * which cannot overflow in 126 words.
 */
export function headerChecksum(buf: Buffer, at: number): number {
  if (((buf.byteOffset + at) & 3) !== 0) return 8 * 0x20 + sumBytes(buf, at, at + 148) + sumBytes(buf, at + 156, at + blockSize);
  if (wordsOf !== buf) {
    words = new Uint32Array(buf.buffer, buf.byteOffset & ~3, (buf.length + (buf.byteOffset & 3)) >>> 2);
    wordsOf = buf;
  }
  const first = ((buf.byteOffset & 3) + at) >>> 2;
  let lanes = 0;
  // Bytes 0..147, then 156..511: the checksum field (148..155) is counted as spaces above.
  for (let i = first; i < first + 37; i++) {
    const w = words[i];
    lanes += (w & 0x00ff00ff) + ((w >>> 8) & 0x00ff00ff);
  }
  for (let i = first + 39; i < first + 128; i++) {
    const w = words[i];
    lanes += (w & 0x00ff00ff) + ((w >>> 8) & 0x00ff00ff);
  }
  return 8 * 0x20 + (lanes & 0xffff) + (lanes >>> 16);
}

/**
 * Whether `head` starts with a tar header block: its checksum field is octal and adds up (a text or
 * compressed file practically never does). The compression probe and the nested-archive detector use it.
 */
export function isTarHeader(head: Buffer): boolean {
  if (head.length < blockSize) return false;
  const field = head.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(field)) return false;
  return headerChecksum(head, 0) === parseInt(field, 8);
}

/** The same with bytes summed as signed chars, as some old writers did. */
export function signedHeaderChecksum(buf: Buffer, at: number): number {
  let sum = 8 * 0x20;
  for (let i = at; i < at + 148; i++) sum += (buf[i] << 24) >> 24;
  for (let i = at + 156; i < at + blockSize; i++) sum += (buf[i] << 24) >> 24;
  return sum;
}
