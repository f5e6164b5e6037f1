/**
 * Archives inside a changed file, member by member, and the archives inside those: zip family, ar,
 * tar and the tar inside `.tar.gz`/`.tgz`/`.tar.zst`, each compared by its decoder (formats/), then the
 * members whose content differs opened in turn when they are archives themselves (or `.pyc`/ELF/gzip
 * files a decoder explains), to `maxDepth` levels. Every field change carries its member chain, shown
 * `outer!/dir/inner.zip!/x.txt`.
 *
 * The outer file is read through a `ByteSource` (held in memory, or spooled to disk for a large file:
 * compare/content.ts), never whole: zip reads its directory and the members it opens, ar the member
 * ranges, tar (and the tar inside gzip/zstd) streams the source in chunks. Members stored as they are
 * (ar members, stored zip members) are opened in place, as ranges of their archive.
 *
 * Bounded whatever the input (zip bombs, deep nesting, huge declared sizes): inflated bytes are counted
 * as they stream and the pass stops at `maxInflatedBytes`; only the content of members that differ and
 * will be opened (inflated zip members, tar members) is held, at most `maxHeldBytes` together; members,
 * listed changes and depth are capped. What a bound left unopened is said in `notes`, never an error:
 * the outer file's own decoding stands.
 */
import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { OciReproError } from '../errors.js';
import { compareAr, decodeAr, type ArMember } from '../formats/ar.js';
import { compareFormat, detectFormat, detectHeadBytes } from '../formats/detect.js';
import { compareGzip, decodeGzip } from '../formats/gzip-header.js';
import { type ByteSource, bufferSource, type FieldChange, formatError, memberPath, readRange } from '../formats/model.js';
import { compareTarMembers, decodeTarMembers } from '../formats/tar-members.js';
import { compareZip, decodeZip, type ZipMember } from '../formats/zip.js';
import { openDecompressed } from '../image/compression.js';
import { isTarHeader } from '../tar/blocks.js';

export { displayMemberName, memberPath } from '../formats/model.js';

export interface NestedLimits {
  /** Archive levels opened: 1 is the file's own members; members of members up to this level. */
  maxDepth: number;
  /** Bytes inflated (gzip, zstd, deflated zip members), both sides together, for one outer file. */
  maxInflatedBytes: number;
  /** Bytes of member content held for opening, both sides together. */
  maxHeldBytes: number;
  /** Members decoded per archive. */
  maxMembers: number;
  /** Field changes listed per outer file; more are counted in a note. */
  maxChanges: number;
}

export const defaultNestedLimits: NestedLimits = {
  maxDepth: 3,
  maxInflatedBytes: 128 * 1024 * 1024,
  maxHeldBytes: 32 * 1024 * 1024,
  maxMembers: 20_000,
  maxChanges: 500,
};

export interface NestedComparison {
  /** What the outer file is: `zip`, `ar`, `tar`, `tar.gz`, `tar.zst`, `gzip`. */
  decoder: string;
  changes: FieldChange[];
  /** What a bound or a damaged member left unopened. */
  notes: string[];
}

type ArchiveKind = 'zip' | 'ar' | 'tar' | 'gzip' | 'zstd';

/** The archive kind of a file's first bytes (tar: a header whose checksum adds up), or undefined. */
export function detectArchive(head: Buffer): ArchiveKind | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6))) return 'zip';
  if (head.length >= 8 && head.toString('latin1', 0, 8) === '!<arch>\n') return 'ar';
  if (isTarHeader(head)) return 'tar';
  return undefined;
}


/** Stops a pass that reached a bound; caught where the bound is turned into a note. */
class LimitReached extends Error {}

interface State {
  /** The outer file's path: notes name members from it. */
  file: string;
  limits: NestedLimits;
  inflated: number;
  held: number;
  notes: string[];
}

/**
 * Compares a changed file as an archive with members, or undefined when it is none (or the two sides
 * are not the same kind). Throws a CORRUPT_ARCHIVE error when the outer archive itself cannot be read.
 */
export async function compareNested(name: string, a: ByteSource, b: ByteSource, limits: NestedLimits = defaultNestedLimits): Promise<NestedComparison | undefined> {
  const kind = detectArchive(await headOf(a));
  if (kind === undefined || kind !== detectArchive(await headOf(b))) return undefined;
  const state: State = { file: name, limits, inflated: 0, held: 0, notes: [] };
  const result = await compareArchives(kind, name, a, b, [], 1, state);
  if (result === undefined) return undefined;
  let changes = result.changes;
  if (changes.length > limits.maxChanges) {
    state.notes.push(`${changes.length - limits.maxChanges} more field changes not listed (limit ${limits.maxChanges})`);
    changes = changes.slice(0, limits.maxChanges);
  }
  return { decoder: result.decoder, changes, notes: state.notes };
}

/** One archive level: its own changes, then the differing members opened one level down. */
async function compareArchives(
  kind: ArchiveKind,
  name: string,
  a: ByteSource,
  b: ByteSource,
  chain: string[],
  depth: number,
  state: State,
): Promise<{ decoder: string; changes: FieldChange[] } | undefined> {
  const tag = (changes: FieldChange[]) => changes.map((c) => withChain(c, chain));
  switch (kind) {
    case 'zip': {
      const [za, zb] = await Promise.all([decodeZip(a, { maxMembers: state.limits.maxMembers }), decodeZip(b, { maxMembers: state.limits.maxMembers })]);
      const changes = tag(compareZip(za, zb));
      const pairs = differingPairs(za.members, zb.members, (m) => `${m.crc}:${m.size}`);
      changes.push(...(await openMembers(pairs, chain, depth, state, (m, side) => zipMemberContent(m, side === 'a' ? a : b, state))));
      return { decoder: 'zip', changes };
    }
    case 'ar': {
      const [ra, rb] = await Promise.all([decodeAr(a, { maxMembers: state.limits.maxMembers }), decodeAr(b, { maxMembers: state.limits.maxMembers })]);
      const changes = tag(compareAr(ra, rb));
      const pairs = differingPairs(ra.members, rb.members, (m) => m.sha256);
      changes.push(...(await openMembers(pairs, chain, depth, state, async (m: ArMember, side) => rangeOf(side === 'a' ? a : b, m.offset, m.size, 'ar', `data of ${m.name}`))));
      return { decoder: 'ar', changes };
    }
    case 'tar':
      return { decoder: 'tar', changes: await compareTars(chunksOf(a), chunksOf(b), () => [chunksOf(a), chunksOf(b)], chain, depth, state) };
    case 'gzip':
    case 'zstd': {
      const changes: FieldChange[] = [];
      if (kind === 'gzip') {
        // Finding each gzip member's end inflates it too: within what is left of the budget.
        const gzipOptions = () => ({ maxInflatedBytes: Math.max(0, state.limits.maxInflatedBytes - state.inflated) });
        try {
          changes.push(...tag(compareGzip(await decodeGzip(a, gzipOptions()), await decodeGzip(b, gzipOptions()))));
        } catch (error) {
          if (!(error instanceof OciReproError) || !/inflates to more than/.test(error.message)) throw error;
          state.notes.push(`${memberPath(state.file, chain)}: not read past ${state.limits.maxInflatedBytes} inflated bytes (a larger archive, or a compression bomb)`);
          return { decoder: 'gzip', changes: [] };
        }
      }
      const open = () => [inflate(a, name, state), inflate(b, name, state)] as const;
      const [ia, ib] = open();
      try {
        const members = await compareTars(ia, ib, open, chain, depth, state);
        // The members explain the content: the header's sums of it (CRC, sizes) add nothing.
        const header = changes.filter((c) => !contentSums.has(c.field));
        return { decoder: kind === 'gzip' ? 'tar.gz' : 'tar.zst', changes: [...header, ...members] };
      } catch (error) {
        if (error instanceof LimitReached) {
          state.notes.push(`${memberPath(state.file, chain)}: not read past ${state.limits.maxInflatedBytes} inflated bytes (a larger archive, or a compression bomb)`);
          return { decoder: kind === 'gzip' ? 'tar.gz' : 'tar.zst', changes };
        }
        if (!(error instanceof OciReproError)) throw error;
        // Not a tar inside (a gzip'd man page): the gzip header is all there is to say.
        if (/\.(?:tar\.[a-z0-9]+|tgz|tzst)$/i.test(chain.at(-1) ?? name)) state.notes.push(`${memberPath(state.file, chain)}: the tar inside could not be read (${error.message})`);
        return kind === 'gzip' ? { decoder: 'gzip', changes } : undefined;
      }
    }
  }
}

const contentSums = new Set(['crc32', 'size', 'compressed-size']);

/** Two tar streams compared member by member; differing members re-read (a second pass) and opened. */
async function compareTars(
  a: AsyncIterable<Uint8Array>,
  b: AsyncIterable<Uint8Array>,
  reopen: () => readonly [AsyncIterable<Uint8Array>, AsyncIterable<Uint8Array>],
  chain: string[],
  depth: number,
  state: State,
): Promise<FieldChange[]> {
  const maxMembers = state.limits.maxMembers;
  const [ta, tb] = await Promise.all([decodeTarMembers(a, { maxMembers }), decodeTarMembers(b, { maxMembers })]);
  const changes = compareTarMembers(ta.decoding, tb.decoding).map((c) => withChain(c, chain));
  const pairs = differingPairs(
    ta.decoding.members.filter((m) => m.sha256 !== undefined),
    tb.decoding.members.filter((m) => m.sha256 !== undefined),
    (m) => m.sha256!,
  );
  if (pairs.length === 0) return changes;
  // Keep only what will be opened: members whose content differs, within the held budget.
  const wanted = new Set(pairs.map((p) => p.key));
  const [sa, sb] = reopen();
  const budget = Math.max(0, state.limits.maxHeldBytes - state.held);
  const keep = (key: string) => wanted.has(key);
  const [ka, kb] = await Promise.all([
    decodeTarMembers(sa, { maxMembers, keep, maxHeldBytes: budget / 2 }),
    decodeTarMembers(sb, { maxMembers, keep, maxHeldBytes: budget / 2 }),
  ]);
  for (const kept of [ka.kept, kb.kept]) for (const content of kept.values()) state.held += content.length;
  changes.push(...(await openMembers(pairs, chain, depth, state, async (_m, side, key) => held((side === 'a' ? ka : kb).kept.get(key)))));
  return changes;
}

/** A change of an archive at `chain`: its member chain gets `chain` in front (none for the outer file's own fields). */
function withChain(change: FieldChange, chain: readonly string[]): FieldChange {
  const member = [...chain, ...(change.member ?? [])];
  return member.length > 0 ? { ...change, member } : change;
}

interface Pair<T> {
  key: string;
  a: T;
  b: T;
}

/** Members present on both sides (paired by name, repeats in order) whose content differs. */
function differingPairs<T extends { name: string }>(a: readonly T[], b: readonly T[], content: (member: T) => string): Pair<T>[] {
  const byKey = (members: readonly T[]) => {
    const map = new Map<string, T>();
    for (const member of members) {
      let key = member.name;
      for (let n = 2; map.has(key); n++) key = `${member.name} (#${n})`;
      map.set(key, member);
    }
    return map;
  };
  const mapB = byKey(b);
  const pairs: Pair<T>[] = [];
  for (const [key, ma] of byKey(a)) {
    const mb = mapB.get(key);
    if (mb && content(ma) !== content(mb)) pairs.push({ key, a: ma, b: mb });
  }
  return pairs;
}

/**
 * Opens each differing member pair one level down: an archive is compared member by member, a
 * `.pyc`/ELF file by its decoder. Content a bound or damage keeps out becomes a note.
 */
async function openMembers<T>(
  pairs: Pair<T>[],
  chain: string[],
  depth: number,
  state: State,
  content: (member: T, side: 'a' | 'b', key: string) => Promise<ByteSource | undefined>,
): Promise<FieldChange[]> {
  const changes: FieldChange[] = [];
  for (const pair of pairs) {
    const inner = [...chain, pair.key];
    const where = memberPath(state.file, inner);
    let ca: ByteSource | undefined;
    let cb: ByteSource | undefined;
    try {
      [ca, cb] = [await content(pair.a, 'a', pair.key), await content(pair.b, 'b', pair.key)];
    } catch (error) {
      if (error instanceof LimitReached) state.notes.push(`${where}: not opened, the inflate limit (${state.limits.maxInflatedBytes} bytes) was reached`);
      else if (error instanceof OciReproError) state.notes.push(`${where}: not opened (${error.message})`);
      else throw error;
      continue;
    }
    if (ca === undefined || cb === undefined) {
      if (archiveName.test(pair.key)) {
        state.notes.push(`${where}: not opened, its content is over the ${state.limits.maxHeldBytes}-byte limit for members held`);
      }
      continue;
    }
    const kind = detectArchive(await headOf(ca));
    try {
      if (kind !== undefined && kind === detectArchive(await headOf(cb))) {
        if (depth + 1 > state.limits.maxDepth) {
          state.notes.push(`${where}: an archive at depth ${depth + 1}, not opened (limit ${state.limits.maxDepth})`);
          continue;
        }
        const result = await compareArchives(kind, pair.key, ca, cb, inner, depth + 1, state);
        if (result) changes.push(...result.changes);
        continue;
      }
      const format = detectFormat(pair.key, await headOf(ca, detectHeadBytes));
      if (format !== undefined && format === detectFormat(pair.key, await headOf(cb, detectHeadBytes))) {
        const found = await compareFormat(format, ca, cb);
        changes.push(...found.map((c) => ({ ...c, member: inner })));
      }
    } catch (error) {
      if (error instanceof LimitReached) state.notes.push(`${where}: not read past the inflate limit (${state.limits.maxInflatedBytes} bytes)`);
      else if (error instanceof OciReproError) state.notes.push(`${where}: could not be decoded (${error.message})`);
      else throw error;
    }
  }
  return changes;
}

const archiveName = /\.(?:zip|jar|war|ear|whl|egg|apk|a|deb|tar|tgz|tzst|gz|zst)$/i;

/**
 * A zip member's content: a stored one as a range of the archive (read, not held), a deflated one
 * inflated with the inflate and held budgets counted; undefined when over them.
 */
async function zipMemberContent(member: ZipMember, archive: ByteSource, state: State): Promise<ByteSource | undefined> {
  if (member.method === 0) return rangeOf(archive, member.dataOffset, member.compressedSize, 'zip', `data of ${member.name}`);
  if (member.method !== 8) return undefined;
  if (member.size > state.limits.maxHeldBytes - state.held) return undefined;
  // Range-checked before streaming: a member that claims bytes past the file is damage, said as such.
  if (member.dataOffset + member.compressedSize > archive.size) await readRange(archive, member.dataOffset, member.compressedSize, 'zip', `data of ${member.name}`);
  const parts: Buffer[] = [];
  let length = 0;
  const input = Readable.from(chunksOf(archive, member.dataOffset, member.compressedSize));
  const inflater = createInflateRaw();
  // pipe() does not pass a read error on: without this the inflater would wait forever.
  input.on('error', (error) => inflater.destroy(error));
  try {
    for await (const chunk of input.pipe(inflater)) {
      const piece = chunk as Buffer;
      count(state, piece.length);
      length += piece.length;
      // A declared size can lie: the held budget is checked on what actually comes out.
      if (state.held + length > state.limits.maxHeldBytes) return undefined;
      parts.push(piece);
    }
  } catch (error) {
    // zlib's own errors (a damaged deflate stream) are about the bytes: a note on this member, not a crash.
    if (error instanceof LimitReached || error instanceof OciReproError || !(error instanceof Error)) throw error;
    throw formatError('zip', `${member.name}: ${error.message}`, 'the member may be damaged');
  } finally {
    input.destroy();
  }
  state.held += length;
  return bufferSource(Buffer.concat(parts));
}

/** Bytes a member holds in memory are already counted (tar's kept members); undefined stays undefined. */
const held = (bytes: Buffer | undefined) => (bytes === undefined ? undefined : bufferSource(bytes));

/**
 * `length` bytes of `source` at `offset` as a source of their own: a stored member read in place, so a
 * large one (a .deb's data.tar.gz in a spooled .deb) is opened without being held. A range past the
 * end is damage: a CORRUPT_ARCHIVE error, which the caller turns into a note.
 */
function rangeOf(source: ByteSource, offset: number, length: number, format: string, what: string): ByteSource {
  if (offset < 0 || length < 0 || offset + length > source.size) {
    throw formatError(format, `truncated ${what}: needs bytes ${offset}..${offset + length}, the file has ${source.size}`, 'the file may be truncated');
  }
  return { size: length, read: (at, n) => source.read(offset + at, Math.max(0, Math.min(n, length - at))) };
}

function count(state: State, bytes: number): void {
  state.inflated += bytes;
  if (state.inflated > state.limits.maxInflatedBytes) throw new LimitReached();
}

/** The uncompressed bytes of a gzip or zstd file, counted against the inflate budget as they stream. */
async function* inflate(data: ByteSource, name: string, state: State): AsyncGenerator<Buffer> {
  const stream = await openDecompressed(Readable.from(chunksOf(data)), undefined, name);
  try {
    for await (const chunk of stream) {
      const piece = chunk as Buffer;
      count(state, piece.length);
      yield piece;
    }
  } finally {
    stream.destroy();
  }
}

/** Bytes a tar header needs to be told (`detectArchive`). */
const headBytes = 512;
const readChunk = 1024 * 1024;

async function headOf(source: ByteSource, bytes = headBytes): Promise<Buffer> {
  return source.read(0, Math.min(bytes, source.size));
}

/** `length` bytes of `source` from `offset` (default: all of it), in chunks: a large source is never held whole. */
async function* chunksOf(source: ByteSource, offset = 0, length = source.size - offset): AsyncGenerator<Buffer> {
  for (let done = 0; done < length; ) {
    const n = Math.min(readChunk, length - done);
    const chunk = await readRange(source, offset + done, n, 'archive', 'content');
    done += n;
    yield chunk;
  }
}
