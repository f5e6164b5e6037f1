/**
 * The one content pass per layer per side: every changed file a report needs from that layer is served
 * from a single read of its tar. Small files are held (decoders, text diffs); files too large to hold
 * are appended to a content spool (normalize/spool.ts: a temp file unlinked at once, so nothing is left
 * on any path) and compared afterwards side by side in chunks (formats/binary.ts). Memory is the small
 * files plus one chunk of each side, whatever the large files' sizes.
 */
import { createHash } from 'node:crypto';
import { compareByteStreams } from '../formats/binary.js';
import type { ByteSource } from '../formats/model.js';
import { badInput } from '../errors.js';
import { canonicalizePath } from '../normalize/entry.js';
import type { ContentSpool } from '../normalize/spool.js';
import { memberKind } from '../tar/blocks.js';
import type { TarHeader } from '../tar/decode.js';
import { TarReader, type TarHandler } from '../tar/reader.js';
import type { Difference } from '../diff/model.js';

/** Large changed files compared byte by byte per report; the rest keep sizes and digests. */
export const maxStreamedFiles = 8;

/** A large file's bytes in the spool, with the digest they had as they streamed. */
export interface SpooledFile {
  offset: number;
  size: number;
  /** Absent when not hashed as they streamed (CollectorOptions.hashLarge): see spooledDigest. */
  digest?: string;
}

/** What one pass over a layer found: small files whole, large ones in the spool. */
export interface LayerFiles {
  small: Map<string, Buffer>;
  large: Map<string, SpooledFile>;
}

/** Files already read (verify's prefetch, content-prefetch.ts), large ones in their own spool. */
export interface PrefetchedFiles extends LayerFiles {
  spool?: ContentSpool;
}

/**
 * Reads, in one pass over an uncompressed layer tar, the regular files among `small` no larger than
 * `limit` (held) and those among `large` (appended to `spool`), matching member names by their
 * canonical spelling (or exactly as given, for tables made with rule 'path-spelling' off). The last
 * entry for a path wins, as when the layer is applied; a hardlink to a file read earlier gets that
 * file's content. Reads the whole stream, so a digest-checking stream still reports a mismatch at its end.
 */
export async function readLayerFiles(
  tar: AsyncIterable<Buffer | string>,
  small: ReadonlySet<string>,
  large: ReadonlySet<string>,
  limit: number,
  spool?: ContentSpool,
): Promise<LayerFiles> {
  const collector = new LayerFileCollector(small, spool ? large : new Set(), limit, spool);
  const reader = new TarReader(collector);
  for await (const chunk of tar) {
    reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
    if (spool?.needsDrain) await spool.drain();
  }
  reader.end();
  return { small: collector.small, large: collector.large };
}

/** Where a collector sends small files instead of keeping them (verify's prefetch: content-prefetch.ts). */
export interface CollectorOptions {
  /** Receives each wanted small file's content (the last entry for a path last); none is kept. */
  sink?: (path: string, content: Buffer) => void;
  /** Asked before a large file of `bytes` is spooled: false skips it (a budget spent). */
  reserve?: (bytes: number) => boolean;
  /**
   * Hash large files as they are spooled (default true). False where most are never used (verify's
   * prefetch spools every large candidate): `spooledDigest` hashes the few that are, when they are.
   */
  hashLarge?: boolean;
}

/** The tar handler of readLayerFiles. */
export class LayerFileCollector implements TarHandler {
  readonly small = new Map<string, Buffer>();
  readonly large = new Map<string, SpooledFile>();
  private current = '';
  private chunks: Buffer[] = [];
  private spooling: { offset: number; size: number; hash: ReturnType<typeof createHash> | null } | null = null;

  constructor(
    private readonly wantedSmall: ReadonlySet<string>,
    private readonly wantedLarge: ReadonlySet<string>,
    private readonly limit: number,
    private readonly spool?: ContentSpool,
    private readonly options: CollectorOptions = {},
  ) {}

  private match(canonical: string, name: string): string | null {
    const wanted = (path: string) => this.wantedSmall.has(path) || this.wantedLarge.has(path);
    return wanted(canonical) ? canonical : wanted(name) ? name : null;
  }

  entry(header: TarHeader): boolean {
    const name = header.name;
    // The layer pass refuses names that are not UTF-8, so no table path can name one.
    if (name === null) return false;
    const kind = memberKind(header.typeflag, name);
    const canonical = canonicalizePath(name, kind === 'directory');
    // The layer pass refuses these first; a reader of the same bytes must not launder one either.
    if (canonical === null) throw escapingEntry(name);
    const path = this.match(canonical, name);
    if (path === null) return false;
    const { small, large } = this;
    small.delete(path);
    large.delete(path);
    if (kind === 'file') {
      this.current = path;
      if (this.wantedSmall.has(path) && header.size <= this.limit) {
        this.chunks = [];
        if (header.size > 0) return true;
        this.keepSmall(path, Buffer.alloc(0));
        return false;
      }
      if (this.wantedLarge.has(path) && this.spool && (this.options.reserve?.(header.size) ?? true)) {
        this.spooling = { offset: this.spool.size, size: 0, hash: this.options.hashLarge === false ? null : createHash('sha256') };
        if (header.size > 0) return true;
        this.contentEnd();
      }
      return false;
    }
    const link = kind === 'hardlink' ? header.linkname : null;
    const linkPath = link ? canonicalizePath(link, false) : null;
    if (link && linkPath === null) throw escapingEntry(link);
    if (!link) return false;
    const held = small.get(linkPath!) ?? small.get(link);
    if (held !== undefined && this.wantedSmall.has(path)) small.set(path, held);
    const spooled = large.get(linkPath!) ?? large.get(link);
    if (spooled !== undefined && this.wantedLarge.has(path)) large.set(path, spooled);
    return false;
  }

  content(slice: Buffer): void {
    if (this.spooling) {
      // A view of the pushed chunk, which the tar reader does not reuse: the spool may keep it.
      this.spooling.hash?.update(slice);
      this.spooling.size += slice.length;
      this.spool!.append(slice);
      return;
    }
    // A slice is a view of the pushed chunk: keep a copy.
    this.chunks.push(Buffer.from(slice));
  }

  contentEnd(): void {
    if (this.spooling) {
      const { offset, size, hash } = this.spooling;
      this.large.set(this.current, hash === null ? { offset, size } : { offset, size, digest: `sha256:${hash.digest('hex')}` });
      this.spooling = null;
      return;
    }
    this.keepSmall(this.current, this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks));
    this.chunks = [];
  }

  private keepSmall(path: string, content: Buffer): void {
    if (this.options.sink) this.options.sink(path, content);
    else this.small.set(path, content);
  }
}

function escapingEntry(name: string) {
  return badInput(`entry ${JSON.stringify(name)} leaves the root`, {
    hint: 'its ".." segments climb above the layer root; a runtime would refuse or rewrite it',
  });
}

/** The large content differences to compare byte by byte: over the limit, not neutralized, still without ranges. */
export function isStreamable(difference: Difference): boolean {
  if (difference.kind !== 'file-attribute' || difference.attribute !== 'content' || difference.neutralized) return false;
  const detail = difference.detail;
  return detail?.format === 'binary' && detail.differingBytes === undefined;
}

/** A spooled file and the spool that holds it. */
export interface SpooledIn {
  spool: ContentSpool;
  file: SpooledFile | undefined;
}

/**
 * Sets the differing byte ranges on `difference` from both sides' spooled bytes, when each side's
 * bytes are the file the entry table digested (another entry of the same path would not be).
 * Only after each spool's `finishWriting()`.
 */
export async function attachSpooledRanges(difference: Difference, a: SpooledIn | undefined, b: SpooledIn | undefined): Promise<void> {
  const detail = difference.detail;
  if (a?.file === undefined || b?.file === undefined || detail?.format !== 'binary') return;
  if (spooledDigest(a.spool, a.file) !== detail.digestA || spooledDigest(b.spool, b.file) !== detail.digestB) return;
  const found = await compareByteStreams(spooledChunks(a.spool, a.file), spooledChunks(b.spool, b.file));
  difference.detail = { ...detail, differingBytes: found.differingBytes, ranges: found.ranges, moreRanges: found.moreRanges };
}

const readChunk = 1 << 20;

/** The digest of a spooled file's bytes: as they streamed, else read back and kept on `file`. Only after `finishWriting()`. */
export function spooledDigest(spool: ContentSpool, file: SpooledFile): string {
  if (file.digest !== undefined) return file.digest;
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(Math.min(readChunk, file.size));
  for (let done = 0; done < file.size; ) {
    const n = Math.min(readChunk, file.size - done);
    spool.readInto(file.offset + done, n, chunk, 0);
    hash.update(n === chunk.length ? chunk : chunk.subarray(0, n));
    done += n;
  }
  file.digest = `sha256:${hash.digest('hex')}`;
  return file.digest;
}

/**
 * A spooled file as a `ByteSource` (formats/model.ts): the archive decoders read the ranges they need
 * (a zip's directory, an ar member, a tar in chunks) from the spool, so the file is never held whole.
 * Only after `finishWriting()`.
 */
export function spooledSource(spool: ContentSpool, file: SpooledFile): ByteSource {
  return {
    size: file.size,
    read: async (offset, length) => {
      const n = Math.max(0, Math.min(length, file.size - offset));
      const bytes = Buffer.allocUnsafe(n);
      if (n > 0) spool.readInto(file.offset + offset, n, bytes, 0);
      return bytes;
    },
  };
}

async function* spooledChunks(spool: ContentSpool, file: SpooledFile): AsyncGenerator<Buffer> {
  for (let done = 0; done < file.size; ) {
    const n = Math.min(readChunk, file.size - done);
    // A fresh buffer per chunk: the comparer may keep the previous one for a dump row.
    const chunk = Buffer.allocUnsafe(n);
    spool.readInto(file.offset + done, n, chunk, 0);
    done += n;
    yield chunk;
  }
}
