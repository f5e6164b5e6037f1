/**
 * gzip member headers (RFC 1952): the mtime, original name, comment, OS and XFL a compressor writes
 * before the deflate data. `gzip` without `-n` records the input file's name and mtime, so two builds
 * of the same bytes differ in the header alone. Each member's deflate data is inflated only to find its
 * end (output discarded as it streams), so memory is bounded whatever the size.
 */
import { createInflateRaw } from 'node:zlib';
import { type ByteSource, type FieldChange, formatError, isoFromEpoch, pushChange, readRange } from './model.js';

export interface GzipMember {
  /** Byte offset of the member in the file. */
  offset: number;
  /** FLG bits set: `text`, `hcrc`, `extra`, `name`, `comment`. */
  flags: string[];
  /** The MTIME field, seconds since the epoch; 0 means none recorded. */
  mtime: number;
  /** XFL: 2 = slowest (best) compression, 4 = fastest. */
  xfl: number;
  /** The OS byte: 0 FAT, 3 Unix, 7 Macintosh, 11 NTFS, 255 unknown. */
  os: number;
  name?: string;
  comment?: string;
  /** The FEXTRA bytes, hex. */
  extra?: string;
  /** Bytes of deflate data. */
  compressedSize: number;
  /** CRC-32 of the uncompressed data (trailer), hex. */
  crc: string;
  /** Uncompressed size modulo 2^32 (trailer). */
  isize: number;
}

export interface GzipDecoding {
  members: GzipMember[];
  /** Bytes after the last member that do not start another (gzip ignores trailing zeros). */
  trailingBytes: number;
}

export interface GzipOptions {
  /** Members decoded at most (default 1000); more is an error rather than an unbounded list. */
  maxMembers?: number;
  /**
   * Bytes inflated at most, all members together, while finding where each member ends (default: no
   * limit); more is an error, so a compression bomb costs bounded time.
   */
  maxInflatedBytes?: number;
}

const chunkSize = 64 * 1024;
const maxHeaderString = 64 * 1024;

/** Decodes every member header of a gzip file. */
export async function decodeGzip(source: ByteSource, options: GzipOptions = {}): Promise<GzipDecoding> {
  const maxMembers = options.maxMembers ?? 1000;
  const members: GzipMember[] = [];
  const budget = { left: options.maxInflatedBytes ?? Number.POSITIVE_INFINITY, limit: options.maxInflatedBytes ?? 0 };
  let offset = 0;
  while (offset < source.size) {
    const magic = await readRange(source, offset, Math.min(2, source.size - offset), 'gzip', 'member magic');
    if (magic.length < 2 || magic[0] !== 0x1f || magic[1] !== 0x8b) {
      if (members.length === 0) throw formatError('gzip', 'no gzip magic (1f 8b) at byte 0', 'not a gzip file');
      break;
    }
    if (members.length >= maxMembers) throw formatError('gzip', `more than ${maxMembers} members`);
    const member = await decodeMember(source, offset, members.length + 1, budget);
    members.push(member.header);
    offset = member.end;
  }
  return { members, trailingBytes: source.size - offset };
}

async function decodeMember(source: ByteSource, start: number, index: number, budget: InflateBudget): Promise<{ header: GzipMember; end: number }> {
  const what = `member ${index}`;
  const fixed = await readRange(source, start, 10, 'gzip', `${what} header`);
  if (fixed[2] !== 8) throw formatError('gzip', `${what}: compression method ${fixed[2]} is not deflate (8)`);
  const flg = fixed[3]!;
  if (flg & 0xe0) throw formatError('gzip', `${what}: reserved flag bits set (0x${flg.toString(16)})`);
  let at = start + 10;
  let extra: string | undefined;
  if (flg & 4) {
    const xlen = (await readRange(source, at, 2, 'gzip', `${what} extra length`)).readUInt16LE(0);
    extra = (await readRange(source, at + 2, xlen, 'gzip', `${what} extra field`)).toString('hex');
    at += 2 + xlen;
  }
  let name: string | undefined;
  if (flg & 8) ({ text: name, next: at } = await readZeroTerminated(source, at, `${what} file name`));
  let comment: string | undefined;
  if (flg & 16) ({ text: comment, next: at } = await readZeroTerminated(source, at, `${what} comment`));
  if (flg & 2) at += 2;
  const compressedSize = await deflateLength(source, at, what, budget);
  const trailer = await readRange(source, at + compressedSize, 8, 'gzip', `${what} trailer`);
  const flags = (['text', 'hcrc', 'extra', 'name', 'comment'] as const).filter((_, bit) => flg & (1 << bit));
  return {
    header: {
      offset: start,
      flags,
      mtime: fixed.readUInt32LE(4),
      xfl: fixed[8]!,
      os: fixed[9]!,
      name,
      comment,
      extra,
      compressedSize,
      crc: trailer.readUInt32LE(0).toString(16).padStart(8, '0'),
      isize: trailer.readUInt32LE(4),
    },
    end: at + compressedSize + 8,
  };
}

async function readZeroTerminated(source: ByteSource, at: number, what: string): Promise<{ text: string; next: number }> {
  const parts: Buffer[] = [];
  for (let pos = at; pos < source.size && pos - at < maxHeaderString; pos += 4096) {
    const piece = await readRange(source, pos, Math.min(4096, source.size - pos), 'gzip', what);
    const zero = piece.indexOf(0);
    if (zero >= 0) {
      parts.push(piece.subarray(0, zero));
      const text = Buffer.concat(parts).toString('latin1');
      return { text, next: at + Buffer.byteLength(text, 'latin1') + 1 };
    }
    parts.push(piece);
  }
  throw formatError('gzip', `${what} has no terminating zero within ${maxHeaderString} bytes`, 'the file may be truncated');
}

/** Inflated bytes left to spend, and the limit they started from (for the message). */
interface InflateBudget {
  left: number;
  limit: number;
}

/** Bytes of the deflate stream starting at `at`: inflated in chunks, the output counted and dropped. */
function deflateLength(source: ByteSource, at: number, what: string, budget: InflateBudget): Promise<number> {
  return new Promise((resolve, reject) => {
    const inflate = createInflateRaw();
    let failed = false;
    let written = 0;
    inflate.on('data', (chunk: Buffer) => {
      budget.left -= chunk.length;
      if (budget.left < 0 && !failed) {
        failed = true;
        inflate.destroy();
        reject(formatError('gzip', `${what}: inflates to more than ${budget.limit} bytes`, 'a very large file, or a compression bomb'));
      }
    });
    inflate.on('error', (error: Error) => {
      failed = true;
      reject(formatError('gzip', `${what}: corrupt deflate data (${error.message})`, 'the file may be truncated or damaged'));
    });
    inflate.on('end', () => {
      if (!failed) resolve(inflate.bytesWritten);
    });
    const pump = async (): Promise<void> => {
      // The stream has ended inside the chunk last written when zlib consumed less than it was given.
      while (!failed && at + written < source.size && inflate.bytesWritten === written) {
        const length = Math.min(chunkSize, source.size - at - written);
        const chunk = await readRange(source, at + written, length, 'gzip', `${what} data`);
        written += length;
        await new Promise<void>((done) => inflate.write(chunk, () => done()));
      }
      inflate.end();
    };
    pump().catch((error: unknown) => {
      failed = true;
      inflate.destroy();
      reject(error);
    });
  });
}

const osNames: Record<number, string> = { 0: 'FAT', 3: 'Unix', 7: 'Macintosh', 10: 'TOPS-20', 11: 'NTFS', 255: 'unknown' };
const describeOs = (os: number): string => `${os} (${osNames[os] ?? 'other'})`;
const describeMtime = (mtime: number): string | number => (mtime === 0 ? 'none (0)' : isoFromEpoch(mtime));

/** Header and trailer fields that differ, member by member. */
export function compareGzip(a: GzipDecoding, b: GzipDecoding): FieldChange[] {
  const changes: FieldChange[] = [];
  pushChange(changes, 'file', 'members', a.members.length, b.members.length, 'how many gzip members the file holds');
  pushChange(changes, 'file', 'trailing-bytes', a.trailingBytes, b.trailingBytes, 'bytes after the last member, which gzip ignores');
  const single = a.members.length === 1 && b.members.length === 1;
  for (let i = 0; i < Math.min(a.members.length, b.members.length); i++) {
    const ma = a.members[i]!;
    const mb = b.members[i]!;
    const at = single ? 'header' : `member ${i + 1}`;
    pushChange(changes, at, 'mtime', describeMtime(ma.mtime), describeMtime(mb.mtime), "the input file's modification time, or the time of compression (0 with gzip -n)");
    pushChange(changes, at, 'name', ma.name, mb.name, "the input file's name (absent with gzip -n)");
    pushChange(changes, at, 'comment', ma.comment, mb.comment, 'a free-text comment');
    pushChange(changes, at, 'os', describeOs(ma.os), describeOs(mb.os), 'the operating system the compressor ran on');
    pushChange(changes, at, 'xfl', ma.xfl, mb.xfl, 'the compression level used: 2 best, 4 fastest');
    pushChange(changes, at, 'flags', ma.flags, mb.flags, 'which optional header fields are present');
    pushChange(changes, at, 'extra', ma.extra, mb.extra, 'an extra field (FEXTRA) of subfields a compressor chose to add');
    pushChange(changes, at, 'compressed-size', ma.compressedSize, mb.compressedSize, 'bytes of deflate data: a different compressor, level or input');
    pushChange(changes, at, 'crc32', ma.crc, mb.crc, 'CRC-32 of the uncompressed content: differs when the content does');
    pushChange(changes, at, 'size', ma.isize, mb.isize, 'the uncompressed size modulo 2^32');
  }
  return changes;
}
