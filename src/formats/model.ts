/**
 * What the format decoders share: the format-neutral field change they report, the bounded byte source
 * they read, and their errors. A bottom floor (docs/architecture.md section 4): it imports only
 * errors.ts and node:, so compare/, causes/ and report/ can all read a decoder's answer.
 */
import { open } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { corruptArchive, OciReproError } from '../errors.js';

/** One field that differs between two decodings of the same format. */
export interface FieldChange {
  /** Where the field lives: `header`, a member name, a section name. */
  where: string;
  /** The field's name: `mtime`, `uid`, `build-id`. */
  field: string;
  /** The decoded value on each side; undefined where the side lacks it. */
  a: unknown;
  b: unknown;
  /** What this field records, one short sentence. */
  records: string;
  /**
   * The member the field belongs to, as the chain of member names from the outer file (innermost
   * last): `['dir/inner.zip', 'x.txt']` is shown `outer!/dir/inner.zip!/x.txt`. Undefined for fields
   * of the file itself (a gzip header, an archive's order).
   */
  member?: string[];
}

/** A member name as shown in a member path: quoted (JSON escapes) when it could mislead as a path. */
export function displayMemberName(name: string): string {
  const unsafe = /[\u0000-\u001f\u007f]/.test(name) || name.startsWith('/') || name.includes('!/') || name.split('/').includes('..');
  return unsafe ? JSON.stringify(name) : name;
}

/** `outer!/dir/inner.zip!/x.txt`: the file path, then each member of the chain; never a path to open. */
export function memberPath(file: string, member: readonly string[]): string {
  return [file, ...member.map(displayMemberName)].join('!/');
}

/** Appends a change of `field` when `a` and `b` differ (deeply, for arrays and objects). */
export function pushChange(changes: FieldChange[], where: string, field: string, a: unknown, b: unknown, records: string): void {
  if (!isDeepStrictEqual(a, b)) changes.push({ where, field, a, b, records });
}

/**
 * Random-access bytes: decoders of archives and binaries read only the parts they need (a directory, a
 * header, a section in chunks), so memory stays bounded whatever the file's size.
 */
export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset`; the caller checks the range against `size` first. */
  read(offset: number, length: number): Promise<Buffer>;
}

/** A source over bytes already in memory. */
export function bufferSource(bytes: Buffer): ByteSource {
  return {
    size: bytes.length,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/** A source over a file, read with positioned reads; close it when done. */
export async function openFileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    size,
    async read(offset, length) {
      const buffer = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    },
    close: () => handle.close(),
  };
}

/** A one-line corrupt-input error of `format` (exit 3); the caller adds the file and layer in front. */
export function formatError(format: string, message: string, hint?: string): OciReproError {
  return corruptArchive(`${format}: ${message}`, { hint });
}

/** `length` bytes at `offset` of `source`, or a truncation error naming what was being read. */
export async function readRange(source: ByteSource, offset: number, length: number, format: string, what: string): Promise<Buffer> {
  if (offset < 0 || length < 0 || offset + length > source.size) {
    throw formatError(format, `truncated ${what}: needs bytes ${offset}..${offset + length}, the file has ${source.size}`, 'the file may be truncated');
  }
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) throw formatError(format, `short read of ${what} at byte ${offset}`, 'the file may have changed while read');
  return bytes;
}

/** Refuses an input of more than `cap` bytes: decoders that take whole buffers are bounded by it. */
export function checkCap(size: number, cap: number, format: string): void {
  if (size > cap) throw formatError(format, `input of ${size} bytes is larger than the ${cap}-byte limit`);
}

/** Seconds since the epoch as an ISO 8601 date (UTC), or the number when it is out of Date's range. */
export function isoFromEpoch(seconds: number): string | number {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? seconds : date.toISOString().replace('.000Z', 'Z');
}

/**
 * Pairs two archives' members by name (a repeated name becomes `name (#2)`, so duplicates pair in
 * order), then reports: the order of the members both hold, from the first that differs; members on
 * one side only; and whatever `compareOne` finds in each pair.
 */
export function compareMembers<T extends { name: string }>(
  a: readonly T[],
  b: readonly T[],
  compareOne: (changes: FieldChange[], key: string, memberA: T, memberB: T) => void,
  order: { where: string; records: string } = {
    where: 'archive',
    records: 'the order members were added in (from the first that differs): the order the tool walked the files',
  },
): FieldChange[] {
  const changes: FieldChange[] = [];
  const mapA = keyByName(a);
  const mapB = keyByName(b);
  const commonA = [...mapA.keys()].filter((k) => mapB.has(k));
  const commonB = [...mapB.keys()].filter((k) => mapA.has(k));
  const first = commonA.findIndex((k, i) => commonB[i] !== k);
  if (first >= 0) {
    changes.push({
      where: order.where,
      field: 'order',
      a: commonA.slice(first, first + 5),
      b: commonB.slice(first, first + 5),
      records: order.records,
    });
  }
  const presence = 'whether the archive holds this member';
  for (const [key, memberA] of mapA) {
    const memberB = mapB.get(key);
    const from = changes.length;
    if (memberB) compareOne(changes, key, memberA, memberB);
    else changes.push({ where: key, field: 'presence', a: 'present', b: 'absent', records: presence });
    for (let i = from; i < changes.length; i++) changes[i]!.member = [key];
  }
  for (const key of mapB.keys()) {
    if (!mapA.has(key)) changes.push({ where: key, field: 'presence', a: 'absent', b: 'present', records: presence, member: [key] });
  }
  return changes;
}

function keyByName<T extends { name: string }>(members: readonly T[]): Map<string, T> {
  const map = new Map<string, T>();
  for (const member of members) {
    let key = member.name;
    for (let n = 2; map.has(key); n++) key = `${member.name} (#${n})`;
    map.set(key, member);
  }
  return map;
}
