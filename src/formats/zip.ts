/**
 * Zip-family archives (`.zip`, `.jar`, `.whl`, `.apk`, `.egg`; PKWARE APPNOTE): the central directory
 * and each member's local header, decoded to the fields that make two archives of the same files
 * differ: member order, DOS times, extended timestamps, Unix owners and modes, compression. Only the
 * directory and headers are read, never the member data, and the directory's size is capped.
 */
import { type ByteSource, compareMembers, type FieldChange, formatError, isoFromEpoch, pushChange, readRange } from './model.js';
import { decodeExtras, hexId, splitExtra } from './zip-extra.js';

export interface ZipMember {
  name: string;
  /** Position in the central directory, from 0. */
  index: number;
  /** Host system of "version made by": 0 MS-DOS, 3 Unix, 10 NTFS, 19 OS X. */
  host: number;
  versionNeeded: number;
  /** General purpose bit flags. */
  flags: number;
  /** 0 stored, 8 deflated, 12 bzip2, 14 lzma, 93 zstd. */
  method: number;
  /** The DOS date and time, local time without a zone, two-second resolution: `2024-01-02 03:04:06`. */
  dosTime: string;
  crc: string;
  compressedSize: number;
  size: number;
  /** Unix mode in octal when the host is Unix (external attributes >> 16). */
  mode?: string;
  externalAttributes: number;
  comment: string;
  /** Times and owners from the extra fields: local header first, central directory for what it lacks. */
  mtime?: number;
  atime?: number;
  ctime?: number;
  uid?: number;
  gid?: number;
  /** Extra field ids in the local header and the central directory. */
  localExtraIds: string[];
  centralExtraIds: string[];
  /** Extra fields not decoded, by id, as hex (local and central merged). */
  otherExtras: Record<string, string>;
  /** Where the member's (compressed) data starts, after its local header. */
  dataOffset: number;
}

export interface ZipDecoding {
  members: ZipMember[];
  comment: string;
}

export interface ZipOptions {
  /** Largest central directory read (default 64 MiB). */
  maxDirectoryBytes?: number;
  /** Most members decoded (default 200,000). */
  maxMembers?: number;
}

const eocdSize = 22;
const maxCommentSize = 0xffff;

/** Decodes the central directory and local headers of a zip archive. */
export async function decodeZip(source: ByteSource, options: ZipOptions = {}): Promise<ZipDecoding> {
  const maxDirectory = options.maxDirectoryBytes ?? 64 * 1024 * 1024;
  const maxMembers = options.maxMembers ?? 200_000;
  const end = await findEndRecord(source);
  const { count, cdSize, cdOffset, comment } = end;
  if (count > maxMembers) throw formatError('zip', `${count} members, more than the limit of ${maxMembers}`);
  if (cdSize > maxDirectory) throw formatError('zip', `central directory of ${cdSize} bytes, more than the limit of ${maxDirectory}`);
  const directory = await readRange(source, cdOffset, cdSize, 'zip', 'central directory');
  const members: ZipMember[] = [];
  let at = 0;
  for (let index = 0; index < count; index++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== 0x02014b50) {
      throw formatError('zip', `central directory entry ${index + 1} of ${count} is damaged at byte ${cdOffset + at}`, 'the file may be truncated or damaged');
    }
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > directory.length) throw formatError('zip', `central directory entry ${index + 1} runs past the directory`);
    const name = decodeName(directory.subarray(at + 46, at + 46 + nameLength), directory.readUInt16LE(at + 8));
    const centralFields = splitExtra(directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength));
    let compressedSize = directory.readUInt32LE(at + 20);
    let size = directory.readUInt32LE(at + 24);
    let localOffset = directory.readUInt32LE(at + 42);
    const zip64 = centralFields.find((f) => f.id === 0x0001)?.data;
    if (zip64) {
      // Only the fields saturated in the record are present, in this order.
      let z = 0;
      const take = (value: number): number => {
        if (value !== 0xffffffff || z + 8 > zip64.length) return value;
        z += 8;
        return Number(zip64.readBigUInt64LE(z - 8));
      };
      size = take(size);
      compressedSize = take(compressedSize);
      localOffset = take(localOffset);
    }
    const { fields: localFields, dataOffset } = await readLocalExtras(source, localOffset, name);
    const local = decodeExtras(localFields);
    const central = decodeExtras(centralFields);
    const madeBy = directory.readUInt16LE(at + 4);
    const external = directory.readUInt32LE(at + 38);
    const host = madeBy >> 8;
    members.push({
      name,
      index,
      host,
      versionNeeded: directory.readUInt16LE(at + 6),
      flags: directory.readUInt16LE(at + 8),
      method: directory.readUInt16LE(at + 10),
      dosTime: dosDateTime(directory.readUInt16LE(at + 14), directory.readUInt16LE(at + 12)),
      crc: directory.readUInt32LE(at + 16).toString(16).padStart(8, '0'),
      compressedSize,
      size,
      mode: host === 3 || host === 19 ? (external >>> 16).toString(8) : undefined,
      externalAttributes: external,
      comment: directory.subarray(at + 46 + nameLength + extraLength, next).toString('latin1'),
      mtime: local.mtime ?? central.mtime,
      atime: local.atime ?? central.atime,
      ctime: local.ctime ?? central.ctime,
      uid: local.uid ?? central.uid,
      gid: local.gid ?? central.gid,
      localExtraIds: localFields.map((f) => hexId(f.id)),
      centralExtraIds: centralFields.map((f) => hexId(f.id)),
      otherExtras: { ...central.other, ...local.other },
      dataOffset,
    });
    at = next;
  }
  return { members, comment };
}

async function findEndRecord(source: ByteSource): Promise<{ count: number; cdSize: number; cdOffset: number; comment: string }> {
  if (source.size < eocdSize) throw formatError('zip', `${source.size} bytes is too short for a zip`, 'not a zip file, or truncated');
  const tailLength = Math.min(source.size, eocdSize + maxCommentSize);
  const tailStart = source.size - tailLength;
  const tail = await readRange(source, tailStart, tailLength, 'zip', 'end of central directory');
  for (let at = tail.length - eocdSize; at >= 0; at--) {
    if (tail.readUInt32LE(at) !== 0x06054b50) continue;
    const commentLength = tail.readUInt16LE(at + 20);
    if (at + eocdSize + commentLength > tail.length) continue;
    const comment = tail.subarray(at + eocdSize, at + eocdSize + commentLength).toString('latin1');
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      ({ count, cdSize, cdOffset } = await readZip64End(source, tailStart + at));
    }
    if (cdOffset + cdSize > source.size) {
      throw formatError('zip', `central directory (bytes ${cdOffset}..${cdOffset + cdSize}) lies past the end of the ${source.size}-byte file`, 'the file may be truncated');
    }
    return { count, cdSize, cdOffset, comment };
  }
  throw formatError('zip', 'no end of central directory record', 'not a zip file, or truncated');
}

async function readZip64End(source: ByteSource, eocdOffset: number): Promise<{ count: number; cdSize: number; cdOffset: number }> {
  const locator = await readRange(source, eocdOffset - 20, 20, 'zip', 'zip64 end locator');
  if (locator.readUInt32LE(0) !== 0x07064b50) throw formatError('zip', 'saturated end record without a zip64 locator');
  const record = await readRange(source, Number(locator.readBigUInt64LE(8)), 56, 'zip', 'zip64 end record');
  if (record.readUInt32LE(0) !== 0x06064b50) throw formatError('zip', 'zip64 end record signature missing');
  return {
    count: Number(record.readBigUInt64LE(32)),
    cdSize: Number(record.readBigUInt64LE(40)),
    cdOffset: Number(record.readBigUInt64LE(48)),
  };
}

async function readLocalExtras(source: ByteSource, offset: number, name: string) {
  const header = await readRange(source, offset, 30, 'zip', `local header of ${name}`);
  if (header.readUInt32LE(0) !== 0x04034b50) throw formatError('zip', `local header of ${name} at byte ${offset} has no signature`, 'the file may be damaged');
  const nameLength = header.readUInt16LE(26);
  const extraLength = header.readUInt16LE(28);
  const fields = splitExtra(await readRange(source, offset + 30 + nameLength, extraLength, 'zip', `local extra field of ${name}`));
  return { fields, dataOffset: offset + 30 + nameLength + extraLength };
}

/** UTF-8 when general purpose bit 11 says so, else CP437, read here as latin1 (ASCII names agree). */
const decodeName = (bytes: Buffer, flags: number): string => bytes.toString(flags & 0x800 ? 'utf8' : 'latin1');

function dosDateTime(date: number, time: number): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const year = 1980 + (date >> 9);
  return `${year}-${pad((date >> 5) & 15)}-${pad(date & 31)} ${pad(time >> 11)}:${pad((time >> 5) & 63)}:${pad((time & 31) * 2)}`;
}

const describeTime = (seconds: number | undefined) => (seconds === undefined ? undefined : isoFromEpoch(seconds));
const methodNames: Record<number, string> = { 0: 'stored', 8: 'deflated', 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz' };
const describeMethod = (m: number) => `${m} (${methodNames[m] ?? 'other'})`;

/** Archive- and member-level fields that differ; members present on one side only; order. */
export function compareZip(a: ZipDecoding, b: ZipDecoding): FieldChange[] {
  const changes: FieldChange[] = [];
  pushChange(changes, 'archive', 'comment', a.comment, b.comment, "the archive's comment");
  changes.push(...compareMembers(a.members, b.members, (changes, at, ma, mb) => {
    pushChange(changes, at, 'dos-time', ma.dosTime, mb.dosTime, "the member's modification time in DOS form (local time, 2-second steps)");
    pushChange(changes, at, 'mtime', describeTime(ma.mtime), describeTime(mb.mtime), 'the modification time in the extended timestamp or Unix extra field');
    pushChange(changes, at, 'atime', describeTime(ma.atime), describeTime(mb.atime), 'the access time in the extended timestamp or Unix extra field');
    pushChange(changes, at, 'ctime', describeTime(ma.ctime), describeTime(mb.ctime), 'the change (or creation) time in the extended timestamp extra field');
    pushChange(changes, at, 'uid', ma.uid, mb.uid, 'the Unix owner in the Info-ZIP Unix extra field');
    pushChange(changes, at, 'gid', ma.gid, mb.gid, 'the Unix group in the Info-ZIP Unix extra field');
    pushChange(changes, at, 'mode', ma.mode, mb.mode, 'the Unix file mode in the external attributes');
    pushChange(changes, at, 'external-attributes', ma.externalAttributes, mb.externalAttributes, 'host file attributes (Unix mode, DOS flags)');
    pushChange(changes, at, 'host', ma.host, mb.host, 'the system the zip tool ran on (version made by)');
    pushChange(changes, at, 'version-needed', ma.versionNeeded, mb.versionNeeded, 'the zip version needed to extract');
    pushChange(changes, at, 'flags', ma.flags, mb.flags, 'general purpose bits: data descriptor, UTF-8 names, encryption');
    pushChange(changes, at, 'method', describeMethod(ma.method), describeMethod(mb.method), 'the compression method');
    pushChange(changes, at, 'crc32', ma.crc, mb.crc, 'CRC-32 of the content: differs when the content does');
    pushChange(changes, at, 'size', ma.size, mb.size, 'the uncompressed size');
    pushChange(changes, at, 'compressed-size', ma.compressedSize, mb.compressedSize, 'the compressed size: a different level or compressor when the content is the same');
    pushChange(changes, at, 'comment', ma.comment, mb.comment, "the member's comment");
    pushChange(changes, at, 'extra-fields', [ma.localExtraIds, ma.centralExtraIds], [mb.localExtraIds, mb.centralExtraIds], 'which extra fields the local header and central directory carry');
    for (const id of new Set([...Object.keys(ma.otherExtras), ...Object.keys(mb.otherExtras)])) {
      pushChange(changes, at, `extra ${id}`, ma.otherExtras[id], mb.otherExtras[id], 'an extra field not decoded here, as hex');
    }
  }));
  return changes;
}
