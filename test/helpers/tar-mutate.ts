/**
 * Edit the header blocks of a tar already written (by test/helpers/tar.ts): the fields real writers
 * spell differently (Go's file-type bits in the mode) and the damage a fuzzer does. Independent of
 * the tar codec (src/tar/) on purpose: a test must not check the decoder against itself.
 */

export const block = 512;

/** Offset and length of each header field. */
export const headerFields = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;
export type HeaderField = keyof typeof headerFields;

export interface HeaderBlock {
  /** Offset of the header block in the tar. */
  offset: number;
  typeflag: string;
  /** Bytes of data after the header (not padded). */
  size: number;
}

function octalField(tar: Buffer, at: number, length: number): number {
  const text = tar.toString('latin1', at, at + length).replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** Every header block up to the end-of-archive marker: entries and PAX/GNU meta headers alike. */
export function headerBlocks(tar: Buffer): HeaderBlock[] {
  const blocks: HeaderBlock[] = [];
  let at = 0;
  while (at + block <= tar.length) {
    if (tar.subarray(at, at + block).every((byte) => byte === 0)) break;
    const size = octalField(tar, at + 124, 12);
    const typeflag = String.fromCharCode(tar[at + 156]!);
    blocks.push({ offset: at, typeflag, size });
    // Only files and meta headers carry data; a hardlink's or directory's size is 0 in what we write.
    at += block + Math.ceil(size / block) * block;
  }
  return blocks;
}

/** Recomputes the checksum of the header block at `at` (unsigned sum, six octal digits, NUL, space). */
export function fixChecksum(tar: Buffer, at: number): void {
  tar.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + block; i++) sum += tar[i]!;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
}

/** Writes `value` into a field (NUL-padded to its length, cut to it) and fixes the checksum unless told not to. */
export function setField(tar: Buffer, at: number, field: HeaderField, value: Buffer | string, checksum = true): void {
  const [offset, length] = headerFields[field];
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  tar.fill(0, at + offset, at + offset + length);
  bytes.copy(tar, at + offset, 0, Math.min(bytes.length, length));
  if (checksum && field !== 'checksum') fixChecksum(tar, at);
}

/** The file-type bits of `stat(2)` for a typeflag, as Go's archive/tar (before 1.10) and moby write them. */
const typeBits: Record<string, number> = {
  '0': 0o100000, // S_IFREG
  '\0': 0o100000,
  '1': 0o100000, // a hardlink is a regular file
  '2': 0o120000, // S_IFLNK
  '3': 0o020000, // S_IFCHR
  '4': 0o060000, // S_IFBLK
  '5': 0o040000, // S_IFDIR
  '6': 0o010000, // S_IFIFO
};

/**
 * The same tar as a Go writer with `fillGo18FileTypeBits` (moby, containers/storage, so buildah) writes
 * it: the file-type bits OR-ed into every entry's mode field; checksums fixed, nothing else changed.
 */
export function withGoModeBits(tar: Buffer): Buffer {
  const out = Buffer.from(tar);
  for (const header of headerBlocks(out)) {
    const bits = typeBits[header.typeflag];
    if (bits === undefined) continue;
    const mode = octalField(out, header.offset + 100, 8) | bits;
    setField(out, header.offset, 'mode', `${mode.toString(8).padStart(7, '0')}\0`);
  }
  return out;
}
