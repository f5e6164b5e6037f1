/**
 * `ar` archives (static libraries `.a`, Debian packages `.deb`): each member's header records its
 * date, uid, gid and mode, which `ar` without `D` (and `dpkg-deb` without SOURCE_DATE_EPOCH) fill from
 * the files and the clock. Long names: GNU (`//` table, `/N` references) and BSD (`#1/N`). Member data
 * is hashed in chunks, never held whole.
 */
import { createHash } from 'node:crypto';
import { type ByteSource, compareMembers, type FieldChange, formatError, isoFromEpoch, pushChange, readRange } from './model.js';

export interface ArMember {
  /** The member name; the GNU symbol table is `/`, BSD's `__.SYMDEF`. */
  name: string;
  index: number;
  /** Seconds since the epoch. */
  date: number;
  uid: number;
  gid: number;
  /** Octal, as stored: `100644`. */
  mode: string;
  /** Bytes of member data (a BSD long name not counted). */
  size: number;
  /** sha256 of the member data, hex. */
  sha256: string;
  /** Where the member data starts in the archive (for opening a member that is itself an archive). */
  offset: number;
}

export interface ArDecoding {
  members: ArMember[];
}

export interface ArOptions {
  /** Most members decoded (default 100,000). */
  maxMembers?: number;
  /** Largest GNU long-name table read (default 16 MiB). */
  maxNameTable?: number;
}

const headerSize = 60;
const hashChunk = 1024 * 1024;

/** Decodes the member headers of an ar archive, hashing each member's data. */
export async function decodeAr(source: ByteSource, options: ArOptions = {}): Promise<ArDecoding> {
  const maxMembers = options.maxMembers ?? 100_000;
  const maxNameTable = options.maxNameTable ?? 16 * 1024 * 1024;
  const magic = await readRange(source, 0, Math.min(8, source.size), 'ar', 'magic');
  const text = magic.toString('latin1');
  if (text === '!<thin>\n') throw formatError('ar', 'a thin archive (members stored outside it) is not supported');
  if (text !== '!<arch>\n') throw formatError('ar', 'no !<arch> magic at byte 0', 'not an ar archive');
  const members: ArMember[] = [];
  let longNames: Buffer | undefined;
  let at = 8;
  while (at < source.size) {
    if (source.size - at === 1) break; // a final padding byte
    const header = await readRange(source, at, headerSize, 'ar', `member header at byte ${at}`);
    if (header[58] !== 0x60 || header[59] !== 0x0a) throw formatError('ar', `member header at byte ${at} lacks its \`\\n terminator`, 'the file may be damaged');
    const field = (from: number, length: number) => header.subarray(from, from + length).toString('latin1').trimEnd();
    const rawName = field(0, 16);
    const size = decimal(field(48, 10), 'size', at);
    let dataStart = at + headerSize;
    let dataSize = size;
    if (dataStart + size > source.size) {
      throw formatError('ar', `member at byte ${at} claims ${size} bytes but the file ends at ${source.size}`, 'the file may be truncated');
    }
    let name: string;
    if (rawName === '//') {
      if (size > maxNameTable) throw formatError('ar', `long-name table of ${size} bytes, more than the limit of ${maxNameTable}`);
      longNames = await readRange(source, dataStart, size, 'ar', 'long-name table');
      at = dataStart + size + (size % 2);
      continue;
    } else if (rawName === '/' || rawName === '/SYM64/') {
      name = rawName;
    } else if (/^\/\d+$/.test(rawName)) {
      name = gnuLongName(longNames, Number(rawName.slice(1)), at);
    } else if (/^#1\/\d+$/.test(rawName)) {
      const length = Number(rawName.slice(3));
      if (length > size) throw formatError('ar', `member at byte ${at}: BSD name of ${length} bytes exceeds its ${size}-byte data`);
      name = (await readRange(source, dataStart, length, 'ar', 'BSD long name')).toString('utf8').replace(/\0+$/, '');
      dataStart += length;
      dataSize -= length;
    } else {
      name = rawName.endsWith('/') ? rawName.slice(0, -1) : rawName;
    }
    if (members.length >= maxMembers) throw formatError('ar', `more than ${maxMembers} members`);
    members.push({
      name,
      index: members.length,
      date: decimal(field(16, 12), 'date', at),
      uid: decimal(field(28, 6), 'uid', at),
      gid: decimal(field(34, 6), 'gid', at),
      mode: field(40, 8) || '0',
      size: dataSize,
      sha256: await hashRange(source, dataStart, dataSize),
      offset: dataStart,
    });
    at = at + headerSize + size + (size % 2);
  }
  return { members };
}

/** A header number; blank is 0 (GNU leaves the symbol table's fields blank). */
function decimal(text: string, what: string, at: number): number {
  if (text === '') return 0;
  if (!/^\d+$/.test(text)) throw formatError('ar', `member header at byte ${at}: ${what} "${text}" is not a decimal number`, 'the file may be damaged');
  return Number(text);
}

function gnuLongName(table: Buffer | undefined, offset: number, at: number): string {
  if (!table) throw formatError('ar', `member at byte ${at} refers to a long name but the archive has no // table`);
  if (offset >= table.length) throw formatError('ar', `member at byte ${at}: long name offset ${offset} is past the ${table.length}-byte table`);
  let end = table.indexOf('\n', offset);
  if (end < 0) end = table.length;
  const name = table.subarray(offset, end).toString('utf8');
  return name.endsWith('/') ? name.slice(0, -1) : name;
}

async function hashRange(source: ByteSource, start: number, length: number): Promise<string> {
  const hash = createHash('sha256');
  for (let done = 0; done < length; done += hashChunk) {
    hash.update(await readRange(source, start + done, Math.min(hashChunk, length - done), 'ar', 'member data'));
  }
  return hash.digest('hex');
}

/** Member header fields and contents that differ; members on one side only; order. */
export function compareAr(a: ArDecoding, b: ArDecoding): FieldChange[] {
  return compareMembers(a.members, b.members, (changes, key, ma, mb) => {
    pushChange(changes, key, 'date', isoFromEpoch(ma.date), isoFromEpoch(mb.date), "the member file's modification time (0 with ar D or SOURCE_DATE_EPOCH)");
    pushChange(changes, key, 'uid', ma.uid, mb.uid, "the member file's owner (0 with ar D)");
    pushChange(changes, key, 'gid', ma.gid, mb.gid, "the member file's group (0 with ar D)");
    pushChange(changes, key, 'mode', ma.mode, mb.mode, "the member file's mode, octal (644 with ar D)");
    pushChange(changes, key, 'size', ma.size, mb.size, "the member's size in bytes");
    pushChange(changes, key, 'sha256', ma.sha256, mb.sha256, "the member's content");
  });
}
