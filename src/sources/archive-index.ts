import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { corruptArchive } from '../errors.js';
import { normalizeMemberPath } from './paths.js';

/** One member of a tar archive, located by offset so it can be streamed in place. */
export interface ArchiveMember {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  offset: number;
  size: number;
  linkname?: string;
}

const blockSize = 512;
// Headers are read in batches so that indexing an archive of many members costs few syscalls.
const readAhead = 64 * 1024;

/**
 * Indexes a tar archive's members by reading only the headers and seeking past the data,
 * so a multi-gigabyte `docker save` is indexed in milliseconds and never extracted.
 */
export class ArchiveIndex {
  private constructor(
    readonly path: string,
    readonly members: Map<string, ArchiveMember>,
  ) {}

  static async open(path: string): Promise<ArchiveIndex> {
    const handle = await open(path, 'r');
    try {
      const members = await readMembers(handle, path);
      return new ArchiveIndex(path, members);
    } finally {
      await handle.close();
    }
  }

  /** The member at `name` (a normalized archive path), following symlinks and hardlinks inside the archive. */
  resolve(name: string): ArchiveMember | undefined {
    let member = this.members.get(name);
    for (let hops = 0; member && (member.type === 'symlink' || member.type === 'hardlink') && hops < 16; hops++) {
      const target =
        member.type === 'symlink' && !member.linkname!.startsWith('/')
          ? joinRelative(member.name, member.linkname!)
          : member.linkname!;
      const normalized = normalizeMemberPath(target);
      member = normalized === undefined ? undefined : this.members.get(normalized);
    }
    return member && member.type === 'file' ? member : undefined;
  }

  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  /** Streams a member's bytes straight from the archive file, unverified, in 1 MiB reads. */
  openMember(member: ArchiveMember): Readable {
    // createReadStream cannot read nothing: without `end` it reads to the end, and end < start throws.
    if (member.size === 0) return Readable.from([]);
    return createReadStream(this.path, { start: member.offset, end: member.offset + member.size - 1, highWaterMark: 1 << 20 });
  }

  async readMember(member: ArchiveMember, limit = 64 * 1024 * 1024): Promise<Buffer> {
    if (member.size > limit) {
      throw corruptArchive(`${member.name} is ${member.size} bytes, more than the ${limit} expected of a JSON document`);
    }
    const handle = await open(this.path, 'r');
    try {
      const buffer = Buffer.alloc(member.size);
      const { bytesRead } = await handle.read(buffer, 0, member.size, member.offset);
      if (bytesRead !== member.size) throw corruptArchive(`${member.name}: unexpected end of archive`);
      return buffer;
    } finally {
      await handle.close();
    }
  }
}

function joinRelative(from: string, target: string): string {
  const slash = from.lastIndexOf('/');
  return slash < 0 ? target : `${from.slice(0, slash + 1)}${target}`;
}

async function readMembers(handle: FileHandle, path: string): Promise<Map<string, ArchiveMember>> {
  const { size: fileSize } = await handle.stat();
  const members = new Map<string, ArchiveMember>();
  let position = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  let sawEnd = false;
  const buffer = Buffer.alloc(readAhead);
  let bufferStart = -1;
  let bufferLength = 0;

  const readBlock = async (at: number): Promise<Buffer> => {
    if (bufferStart < 0 || at < bufferStart || at + blockSize > bufferStart + bufferLength) {
      const { bytesRead } = await handle.read(buffer, 0, readAhead, at);
      bufferStart = at;
      bufferLength = bytesRead;
      if (bytesRead < blockSize) {
        throw corruptArchive(`${path}: unexpected end of archive at byte ${at}`, {
          hint: 'the file may be truncated',
        });
      }
    }
    return buffer.subarray(at - bufferStart, at - bufferStart + blockSize);
  };
  const readData = async (at: number, length: number): Promise<Buffer> => {
    const data = Buffer.alloc(length);
    const { bytesRead } = await handle.read(data, 0, length, at);
    if (bytesRead !== length) throw corruptArchive(`${path}: unexpected end of archive`, { hint: 'the file may be truncated' });
    return data;
  };

  while (position + blockSize <= fileSize) {
    const header = await readBlock(position);
    if (isZeroBlock(header)) {
      sawEnd = true;
      break;
    }
    if (!checksumMatches(header)) {
      throw corruptArchive(`${path}: invalid tar header at byte ${position}`, {
        hint: 'not a tar archive, or a compressed one: decompress it first',
      });
    }
    const typeflag = String.fromCharCode(header[156] || 0x30);
    const isMeta = typeflag === 'L' || typeflag === 'K' || typeflag === 'x' || typeflag === 'g';
    // A PAX size record overrides the header's size field for the member that follows it.
    const size = !isMeta && pax.size !== undefined ? Number(pax.size) : parseNumeric(header.subarray(124, 136));
    const dataOffset = position + blockSize;
    if (!Number.isSafeInteger(size) || size < 0 || dataOffset + size > fileSize) {
      throw corruptArchive(`${path}: unexpected end of archive in member ${readName(header)}`, {
        hint: 'the file may be truncated',
      });
    }

    if (typeflag === 'L' || typeflag === 'K') {
      const text = (await readData(dataOffset, size)).toString('utf8').replace(/\0+$/, '');
      if (typeflag === 'L') longName = text;
      else longLink = text;
    } else if (typeflag === 'x') {
      pax = parsePax(await readData(dataOffset, size));
    } else if (typeflag !== 'g') {
      // Global PAX headers carry no member and no name defaults that matter here.
      const name = normalizeMemberPath(pax.path ?? longName ?? readName(header));
      const linkname = pax.linkpath ?? longLink ?? readString(header.subarray(157, 257));
      const type = memberType(typeflag);
      if (name !== undefined) {
        members.set(name, { name, type, offset: dataOffset, size: type === 'file' ? size : 0, linkname: linkname || undefined });
      }
      longName = undefined;
      longLink = undefined;
      pax = {};
    }
    position = dataOffset + Math.ceil(size / blockSize) * blockSize;
  }
  if (!sawEnd && members.size === 0) {
    throw corruptArchive(`${path}: not a tar archive`, { hint: 'expected docker save or oci-archive output' });
  }
  return members;
}

function memberType(typeflag: string): ArchiveMember['type'] {
  switch (typeflag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    default:
      return 'other';
  }
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < blockSize; i++) if (block[i] !== 0) return false;
  return true;
}

function checksumMatches(header: Buffer): boolean {
  const stored = parseNumeric(header.subarray(148, 156));
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < blockSize; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : header[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

function readString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

function readName(header: Buffer): string {
  const name = readString(header.subarray(0, 100));
  const magic = header.subarray(257, 263).toString('latin1');
  if (magic === 'ustar\u000000' || magic.startsWith('ustar')) {
    const prefix = readString(header.subarray(345, 500));
    if (prefix && magic === 'ustar\u000000') return `${prefix}/${name}`;
  }
  return name;
}

/** Octal, or GNU base-256 for large values. */
function parseNumeric(field: Buffer): number {
  if (field[0] & 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(data.subarray(at, space).toString('latin1'), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return records;
}
