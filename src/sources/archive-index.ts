import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { corruptArchive, OciReproError } from '../errors.js';
import { blockSize, isZeroBlock, memberKind, paddedSize, TypeFlag, type MemberKind } from '../tar/blocks.js';
import { applyPaxRecords, decodeLongName, decodeTarHeader, emptyHeader, parsePaxRecords, type TarHeader } from '../tar/decode.js';
import { maxMetaSize } from '../tar/reader.js';
import { normalizeMemberPath } from './paths.js';

/** One member of a tar archive, located by offset so it can be streamed in place. */
export interface ArchiveMember {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  offset: number;
  size: number;
  linkname?: string;
}

// Headers are read in batches so that indexing an archive of many members costs few syscalls.
const readAhead = 64 * 1024;

/**
 * Indexes a tar archive's members by reading only the headers and seeking past the data,
 * so a multi-gigabyte `docker save` is indexed in milliseconds and never extracted. Headers are
 * decoded by the tar codec (tar/decode.ts, docs/architecture.md section 2); the push-based
 * TarReader is not used because it would read every data byte this index seeks past.
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
      // A link without a target (or one not UTF-8) leads nowhere.
      if (member.linkname === undefined) return undefined;
      const target =
        member.type === 'symlink' && !member.linkname.startsWith('/')
          ? joinRelative(member.name, member.linkname)
          : member.linkname;
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
  const header = emptyHeader();
  let position = 0;
  let longName: string | null | undefined;
  let longLink: string | null | undefined;
  // As tar/reader.ts: a member's PAX records over the global ones.
  let pax: Map<string, string> | null = null;
  let globalPax: Map<string, string> | null = null;
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
    return buffer;
  };
  const readData = async (at: number, length: number): Promise<Buffer> => {
    const data = Buffer.alloc(length);
    const { bytesRead } = await handle.read(data, 0, length, at);
    if (bytesRead !== length) throw corruptArchive(`${path}: unexpected end of archive`, { hint: 'the file may be truncated' });
    return data;
  };
  // The codec's errors say "offset" in a layer; here they name the archive and the byte.
  const inArchive = (error: unknown, at: number): unknown => {
    if (!(error instanceof OciReproError) || error.code !== 'CORRUPT_ARCHIVE') return error;
    const reason = error.data?.reason;
    if (reason === undefined) return corruptArchive(`${path}: ${error.message}`, { hint: error.hint, cause: error, data: error.data });
    return corruptArchive(`${path}: invalid tar header at byte ${at}`, {
      hint: reason === 'checksum mismatch' ? 'not a tar archive, or a compressed one: decompress it first' : `${String(reason)}; the archive may be corrupt`,
      cause: error,
      data: { offset: at },
    });
  };

  while (position + blockSize <= fileSize) {
    const block = await readBlock(position);
    const at = position - bufferStart;
    if (isZeroBlock(block, at)) {
      sawEnd = true;
      break;
    }
    try {
      decodeTarHeader(block, at, position, header);
    } catch (error) {
      throw inArchive(error, position);
    }
    const typeflag = header.typeflag;
    const isMeta =
      typeflag === TypeFlag.gnuLongName || typeflag === TypeFlag.gnuLongLink || typeflag === TypeFlag.paxHeader || typeflag === TypeFlag.paxGlobal;
    if (!isMeta) {
      if (longName !== undefined) header.name = longName;
      if (longLink !== undefined) header.linkname = longLink;
      const records = pax ?? globalPax;
      // A PAX size record overrides the header's size field for the member that follows it.
      if (records !== null) {
        try {
          applyPaxRecords(header, records, position);
        } catch (error) {
          throw inArchive(error, position);
        }
      }
    }
    const size = header.size;
    const dataOffset = position + blockSize;
    if (dataOffset + size > fileSize) {
      throw corruptArchive(`${path}: unexpected end of archive in member ${header.name ?? '(a name not UTF-8)'}`, {
        hint: 'the file may be truncated',
      });
    }

    if (isMeta) {
      if (size > maxMetaSize) {
        throw corruptArchive(`${path}: invalid tar header at byte ${position}`, {
          hint: `an extended header of ${size} bytes is implausible`,
          data: { offset: position },
        });
      }
      const data = await readData(dataOffset, size);
      try {
        if (typeflag === TypeFlag.gnuLongName) longName = decodeLongName(data);
        else if (typeflag === TypeFlag.gnuLongLink) longLink = decodeLongName(data);
        else if (typeflag === TypeFlag.paxGlobal) parsePaxRecords(data, (globalPax ??= new Map()), position);
        else parsePaxRecords(data, (pax ??= new Map(globalPax ?? [])), position);
      } catch (error) {
        throw inArchive(error, position);
      }
    } else {
      indexMember(members, header, dataOffset, pax ?? globalPax);
      longName = undefined;
      longLink = undefined;
      pax = null;
    }
    position = dataOffset + paddedSize(size);
  }
  if (!sawEnd && members.size === 0) {
    throw corruptArchive(`${path}: not a tar archive`, { hint: 'expected docker save or oci-archive output' });
  }
  return members;
}

/**
 * Adds a member under its normalized path. Members whose path leaves the archive or is not UTF-8, and
 * headers that name no file (volume labels), are not indexed: no image document can reach them.
 */
function indexMember(members: Map<string, ArchiveMember>, header: TarHeader, offset: number, pax: Map<string, string> | null): void {
  if (header.name === null) return;
  const kind = memberKind(header.typeflag, header.name);
  if (kind === null) return;
  const name = normalizeMemberPath(header.name);
  if (name === undefined) return;
  const type = memberType(kind, pax);
  const linkname = header.linkname || undefined;
  members.set(name, { name, type, offset, size: type === 'file' ? header.size : 0, linkname });
}

function memberType(kind: MemberKind, pax: Map<string, string> | null): ArchiveMember['type'] {
  switch (kind) {
    case 'file':
      // A PAX sparse file's data is a map and fragments, not the file's bytes: not readable in place.
      // (GNU 'S' members have no kind at all.)
      return hasSparseRecords(pax) ? 'other' : 'file';
    case 'directory':
    case 'symlink':
    case 'hardlink':
      return kind;
    default:
      return 'other';
  }
}

function hasSparseRecords(pax: Map<string, string> | null): boolean {
  if (pax === null) return false;
  for (const key of pax.keys()) if (key.startsWith('GNU.sparse.')) return true;
  return false;
}
