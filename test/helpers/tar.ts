/**
 * Build layer tars in code, and inject the kinds of non-determinism real builds have.
 *
 * `buildTar` writes USTAR and PAX tars with tar-stream's pack, always with an explicit mtime (tar-stream
 * fills in the current time otherwise). What tar-stream cannot write -- GNU tars ("ustar  " magic,
 * 'L'/'K' long-name headers) and PAX records with binary values (xattrs such as security.capability) --
 * this helper writes block by block itself. That writer is deliberately separate from the code under
 * test (src/tar/), so the tests do not check the encoder against itself.
 */
import { Readable } from 'node:stream';
import { extract, pack as packTar, type Header } from 'tar-stream';

export type TestEntryType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'link'
  | 'character-device'
  | 'block-device'
  | 'fifo';

export interface TestEntry {
  name: string;
  /** Default 'file' (or 'directory' for a name ending in '/'). */
  type?: TestEntryType;
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  /** Default `baseTime`. */
  mtime?: Date;
  /** Symlink target, or hardlink target (for type 'link'). */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records; Buffer values are written byte for byte (binary xattrs). */
  pax?: Record<string, string | Buffer>;
}

/**
 * - 'ustar': tar-stream's default (USTAR; it switches to PAX by itself for names USTAR cannot hold).
 * - 'pax': a PAX header on every entry (path and linkpath in PAX records).
 * - 'gnu': GNU magic, names over 100 bytes in 'L'/'K' headers, no PAX.
 */
export type TarDialect = 'pax' | 'gnu' | 'ustar';

export interface BuildTarOptions {
  dialect?: TarDialect;
}

/** The mtime entries get unless they say otherwise. */
export const baseTime = new Date('2021-03-04T05:06:07Z');

export async function buildTar(entries: readonly TestEntry[], options: BuildTarOptions = {}): Promise<Buffer> {
  const dialect = options.dialect ?? 'ustar';
  const binaryPax = entries.some((entry) => Object.values(entry.pax ?? {}).some((v) => Buffer.isBuffer(v)));
  if (dialect === 'gnu' || binaryPax) return buildRawTar(entries, dialect);

  const pack = packTar();
  for (const entry of entries) {
    const type = typeOf(entry);
    const header: Partial<Header> & Pick<Header, 'name'> = {
      name: entry.name,
      type,
      mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      uname: entry.uname ?? '',
      gname: entry.gname ?? '',
      mtime: entry.mtime ?? baseTime,
      linkname: entry.linkname,
      devmajor: entry.devmajor ?? 0,
      devminor: entry.devminor ?? 0,
    };
    const pax = entry.pax as Record<string, string> | undefined;
    if (dialect === 'pax' || pax !== undefined) header.pax = { ...pax };
    if (type === 'file') pack.entry(header, toBuffer(entry.content));
    else pack.entry(header);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The mtime of every member `makeTar` writes. */
export const fixedDate = new Date('2024-01-02T03:04:05Z');

/** A member of an archive written by `makeTar`. */
export interface ArchiveFile {
  name: string;
  content?: Buffer | string;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

/**
 * A plain tar of the given members (an image archive, or a small layer): `buildTar` with every mtime
 * `fixedDate`, files 0644, directories 0755 and symlinks 0777 (the bytes tests and goldens were made with).
 */
export function makeTar(files: readonly ArchiveFile[]): Promise<Buffer> {
  return buildTar(
    files.map((file) => {
      const type = file.type ?? 'file';
      return { name: file.name, type, content: file.content, linkname: file.linkname, mtime: fixedDate, mode: type === 'symlink' ? 0o777 : undefined };
    }),
  );
}

/** A Readable over a buffer in chunks of `chunkSize` (to exercise headers split across chunks). */
export function tarStream(data: Buffer, chunkSize = 64 << 10): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) {
        this.push(null);
        return;
      }
      this.push(data.subarray(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

export interface ReadEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds. */
  mtime: number;
  size: number;
  linkname: string | null;
  devmajor: number;
  devminor: number;
  pax: Record<string, string> | null;
  content: Buffer;
}

/** Reads a tar with tar-stream's extractor: an independent reader for checking written tars. */
export async function readTar(data: Buffer): Promise<ReadEntry[]> {
  const entries: ReadEntry[] = [];
  const reader = extract();
  const done = (async () => {
    for await (const entry of reader) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const h = entry.header;
      entries.push({
        name: h.name,
        type: h.type,
        mode: h.mode,
        uid: h.uid,
        gid: h.gid,
        uname: h.uname,
        gname: h.gname,
        mtime: h.mtime.getTime() / 1000,
        size: h.size,
        linkname: h.linkname ?? null,
        devmajor: h.devmajor,
        devminor: h.devminor,
        pax: (h.pax as Record<string, string> | null) ?? null,
        content: Buffer.concat(chunks),
      });
    }
  })();
  reader.end(data);
  await done;
  return entries;
}

function typeOf(entry: TestEntry): TestEntryType {
  return entry.type ?? (entry.name.endsWith('/') ? 'directory' : 'file');
}

function toBuffer(content: string | Buffer | undefined): Buffer {
  if (content === undefined) return Buffer.alloc(0);
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

// ---------------------------------------------------------------------------------------------
// Noise: each helper returns new entries differing from the input in one kind of non-determinism.

/** Every entry gets `mtime`, or `mtime(entry, index)`. */
export function withMtimes(entries: readonly TestEntry[], mtime: Date | ((entry: TestEntry, index: number) => Date)): TestEntry[] {
  return entries.map((entry, i) => ({ ...entry, mtime: typeof mtime === 'function' ? mtime(entry, i) : mtime }));
}

/** Each entry's mtime moved by `index` seconds plus a fraction (written as PAX mtime records). */
export function withSubSecondMtimes(entries: readonly TestEntry[]): TestEntry[] {
  return entries.map((entry, i) => {
    const seconds = (entry.mtime ?? baseTime).getTime() / 1000 + i;
    return { ...entry, pax: { ...entry.pax, mtime: `${seconds}.123456789` } };
  });
}

/** Entries in reverse order (hardlinks stay after their targets: links are moved to the end). */
export function reversed(entries: readonly TestEntry[]): TestEntry[] {
  const links = entries.filter((entry) => typeOf(entry) === 'link');
  return [...entries.filter((entry) => typeOf(entry) !== 'link').reverse(), ...links];
}

/** Entries in a seeded pseudo-random order, hardlinks after their targets. */
export function shuffled(entries: readonly TestEntry[], seed = 1): TestEntry[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  const plain = entries.filter((entry) => typeOf(entry) !== 'link');
  for (let i = plain.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [plain[i], plain[j]] = [plain[j], plain[i]];
  }
  return [...plain, ...entries.filter((entry) => typeOf(entry) === 'link')];
}

/** atime and ctime PAX records, as GNU tar --format=pax writes them. */
export function withExtraTimes(entries: readonly TestEntry[], atime = 1700000000.5, ctime = 1700000001.25): TestEntry[] {
  return entries.map((entry) => ({ ...entry, pax: { ...entry.pax, atime: String(atime), ctime: String(ctime) } }));
}

/** Owner names as a build host's /etc/passwd would give them. */
export function withOwnerNames(entries: readonly TestEntry[], uname = 'builder', gname = 'staff'): TestEntry[] {
  return entries.map((entry) => ({ ...entry, uname, gname }));
}

/** `./` in front of every name and hardlink target, as `tar -C dir -c .` writes them. */
export function withDotSlash(entries: readonly TestEntry[]): TestEntry[] {
  return entries.map((entry) => ({
    ...entry,
    name: `./${entry.name}`,
    linkname: typeOf(entry) === 'link' && entry.linkname !== undefined ? `./${entry.linkname}` : entry.linkname,
  }));
}

/** A leading `/` on every name and hardlink target. */
export function withLeadingSlash(entries: readonly TestEntry[]): TestEntry[] {
  return entries.map((entry) => ({
    ...entry,
    name: `/${entry.name}`,
    linkname: typeOf(entry) === 'link' && entry.linkname !== undefined ? `/${entry.linkname}` : entry.linkname,
  }));
}

/** Directories without their trailing '/', typed by the typeflag alone (as some writers do). */
export function withoutDirectorySlashes(entries: readonly TestEntry[]): TestEntry[] {
  return entries.map((entry) =>
    typeOf(entry) === 'directory' ? { ...entry, type: 'directory', name: entry.name.replace(/\/+$/, '') } : entry,
  );
}

/**
 * Swaps which path of a hardlink group carries the data: `carrier` becomes the file and every other
 * path of its group (the file and the links to it) a link to `carrier`, placed after it.
 */
export function withHardlinkCarrier(entries: readonly TestEntry[], carrier: string): TestEntry[] {
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const carrierEntry = byName.get(carrier);
  if (carrierEntry === undefined) throw new Error(`no entry ${carrier}`);
  const data = typeOf(carrierEntry) === 'link' ? byName.get(carrierEntry.linkname!)! : carrierEntry;
  const members = entries.filter((entry) => entry === data || (typeOf(entry) === 'link' && entry.linkname === data.name));
  const others = entries.filter((entry) => !members.includes(entry));
  const file: TestEntry = { ...data, name: carrier };
  const links: TestEntry[] = members
    .filter((entry) => entry.name !== carrier)
    .map((entry) => ({ ...entry, type: 'link', linkname: carrier, content: undefined }));
  return [...others, file, ...links];
}

// ---------------------------------------------------------------------------------------------
// The raw writer (GNU dialect and binary PAX values)

const block = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

interface RawFields {
  name: string | Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string | Buffer;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

function rawHeader(fields: RawFields, gnu: boolean): Buffer {
  const buf = Buffer.alloc(block);
  const put = (text: string | Buffer, at: number, max: number) => {
    const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
    if (bytes.length > max) throw new Error(`test tar: ${JSON.stringify(String(text))} does not fit ${max} bytes`);
    bytes.copy(buf, at);
  };
  put(fields.name, 0, 100);
  put(octal(fields.mode, 8), 100, 8);
  put(octal(fields.uid, 8), 108, 8);
  put(octal(fields.gid, 8), 116, 8);
  put(octal(fields.size, 12), 124, 12);
  put(octal(fields.mtime, 12), 136, 12);
  put(fields.typeflag, 156, 1);
  put(fields.linkname, 157, 100);
  put(gnu ? 'ustar  \0' : 'ustar\u000000', 257, 8);
  put(fields.uname, 265, 32);
  put(fields.gname, 297, 32);
  put(octal(fields.devmajor, 8), 329, 8);
  put(octal(fields.devminor, 8), 337, 8);
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of buf) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return buf;
}

function padding(size: number): Buffer {
  return Buffer.alloc((block - (size % block)) % block);
}

function paxData(records: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of Object.entries(records)) {
    const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'), Buffer.from('\n')]);
    let length = body.length + String(body.length).length;
    if (String(length).length !== String(body.length).length) length = body.length + String(length).length;
    parts.push(Buffer.from(String(length)), body);
  }
  return Buffer.concat(parts);
}

const typeflags: Record<TestEntryType, string> = {
  file: '0',
  link: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

function buildRawTar(entries: readonly TestEntry[], dialect: TarDialect): Buffer {
  const gnu = dialect === 'gnu';
  const out: Buffer[] = [];
  const meta = (name: string, typeflag: string, data: Buffer) => {
    out.push(
      rawHeader(
        { name, mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0, typeflag, linkname: '', uname: '', gname: '', devmajor: 0, devminor: 0 },
        gnu,
      ),
      data,
      padding(data.length),
    );
  };
  for (const entry of entries) {
    const type = typeOf(entry);
    const content = type === 'file' ? toBuffer(entry.content) : Buffer.alloc(0);
    let name: string | Buffer = type === 'directory' && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
    let linkname: string | Buffer = entry.linkname ?? '';
    const pax: Record<string, string | Buffer> = { ...entry.pax };
    if (gnu) {
      if (Object.keys(pax).length > 0) throw new Error('test tar: the gnu dialect has no PAX records');
      if (typeof name === 'string' && Buffer.byteLength(name) > 100) {
        meta('././@LongLink', 'L', Buffer.from(`${name}\0`, 'utf8'));
        name = Buffer.from(name, 'utf8').subarray(0, 100);
      }
      if (typeof linkname === 'string' && Buffer.byteLength(linkname) > 100) {
        meta('././@LongLink', 'K', Buffer.from(`${linkname}\0`, 'utf8'));
        linkname = Buffer.from(linkname, 'utf8').subarray(0, 100);
      }
    } else {
      if (dialect === 'pax' || Buffer.byteLength(name) > 100) {
        pax.path = name;
        name = '';
      }
      if (dialect === 'pax' || Buffer.byteLength(linkname) > 100) {
        if (linkname !== '') pax.linkpath = linkname;
        linkname = '';
      }
      if (Object.keys(pax).length > 0) meta(`PaxHeaders.0/${entry.name.split('/').pop() || 'x'}`.slice(0, 99), 'x', paxData(pax));
    }
    const header = rawHeader(
      {
        name,
        mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        size: content.length,
        mtime: Math.floor((entry.mtime ?? baseTime).getTime() / 1000),
        typeflag: typeflags[type],
        linkname,
        uname: entry.uname ?? '',
        gname: entry.gname ?? '',
        devmajor: entry.devmajor ?? 0,
        devminor: entry.devminor ?? 0,
      },
      gnu,
    );
    out.push(header, content, padding(content.length));
  }
  out.push(Buffer.alloc(2 * block));
  return Buffer.concat(out);
}

// ---------------------------------------------------------------------------------------------
// Large layers, generated as they stream (never held in memory)

export interface SyntheticFile {
  name: string;
  size: number;
  /** Seeds the content: the same seed and size give the same bytes. */
  seed: number;
}

/**
 * A USTAR layer tar of regular files produced as it is read, in `chunkSize` pieces; names up to
 * 100 bytes. Contents repeat a 64 KiB pseudo-random pattern derived from each file's seed.
 */
export function syntheticTar(files: Iterable<SyntheticFile>, chunkSize = 1 << 20): Readable {
  const iterator = files[Symbol.iterator]();
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let finished = false;
  const patterns = new Map<number, Buffer>();
  const patternOf = (seed: number) => {
    let pattern = patterns.get(seed);
    if (pattern === undefined) {
      pattern = Buffer.allocUnsafe(64 << 10);
      let state = (seed * 2654435761) >>> 0 || 1;
      for (let i = 0; i < pattern.length; i += 4) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        pattern.writeUInt32LE(state >>> 0, i);
      }
      if (patterns.size > 64) patterns.clear();
      patterns.set(seed, pattern);
    }
    return pattern;
  };
  const queue = (data: Buffer) => {
    pending.push(data);
    pendingBytes += data.length;
  };
  let current: SyntheticFile | null = null;
  let written = 0;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      while (pendingBytes < chunkSize && !finished) {
        if (current !== null) {
          const pattern = patternOf(current.seed);
          // Continue the pattern where it stopped, so bytes do not depend on chunk boundaries.
          const from = written % pattern.length;
          const n = Math.min(pattern.length - from, current.size - written, chunkSize - pendingBytes);
          queue(pattern.subarray(from, from + n));
          written += n;
          if (written === current.size) {
            queue(padding(current.size));
            current = null;
          }
          continue;
        }
        const next = iterator.next();
        if (next.done) {
          queue(Buffer.alloc(2 * block));
          finished = true;
          break;
        }
        current = next.value;
        written = 0;
        queue(
          rawHeader(
            {
              name: current.name,
              mode: 0o644,
              uid: 0,
              gid: 0,
              size: current.size,
              mtime: Math.floor(baseTime.getTime() / 1000),
              typeflag: '0',
              linkname: '',
              uname: '',
              gname: '',
              devmajor: 0,
              devminor: 0,
            },
            false,
          ),
        );
        if (current.size === 0) current = null;
      }
      if (pendingBytes === 0) {
        this.push(null);
        return;
      }
      const data = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      pending.length = 0;
      pendingBytes = 0;
      this.push(data);
    },
  });
}
