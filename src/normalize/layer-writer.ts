/**
 * The canonical tar writer: header blocks (canonical-tar.ts), contents and padding, coalesced into
 * 1 MiB buffers that go to a sha256 and, when given, an output; and the emission of a whole table
 * from the spool, in canonical order.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { blockSize, endOfArchive, paddedSize } from '../tar/blocks.js';
import { canonicalHeaderSize, canonicalPaxRecords, writeCanonicalHeader } from './canonical-tar.js';
import type { LayerEntry, LayerRules } from './entry.js';
import type { TableCursor } from './layer-table.js';
import type { ContentSpool } from './spool.js';

const chunkSize = 1 << 20;
/** Content up to this size is copied into the writer's buffer; larger pieces pass through. */
const smallContent = 64 << 10;
/** The same without an output: past this size one more hash call is cheaper than a copy. */
const hashCopyLimit = 4 << 10;

/**
 * Writes canonical tar bytes into a hash (and an output) in 1 MiB buffers; without an output, large
 * contents the caller already holds are hashed where they are.
 */
export class CanonicalWriter {
  size = 0;
  needsDrain = false;
  /**
   * Mirroring (canonical-mirror.ts): the canonical tar is, so far, the input's own bytes, so nothing is
   * written or hashed, only counted; `adopt` ends it with the input's hash at the point they part.
   */
  mirroring = false;
  private hash: Hash = createHash('sha256');
  /** The mirrored digest of a canonical tar that was the input to its end (`finishMirror`). */
  private mirrored: { digest: string; size: number } | null = null;
  private scratch: Buffer | null = null;
  private buffer: Buffer = Buffer.allocUnsafe(chunkSize);
  private pos = 0;
  /**
   * Buffers the output has released, for reuse: a fresh 1 MiB buffer per MiB written made most of the
   * garbage collector's work (V8 collects on external memory growth), on the thread that feeds zlib.
   */
  private readonly freeBuffers: Buffer[] = [];

  constructor(
    private readonly rules: LayerRules,
    readonly output?: Writable,
    private readonly outputReleasesChunks = false,
  ) {}

  /**
   * While mirroring: true (and counted) when the canonical header of `entry` is exactly the input's
   * header block at `block[at..at+512)`.
   */
  mirrorHeader(entry: LayerEntry, block: Buffer, at: number): boolean {
    if (canonicalPaxRecords(entry, this.rules) !== null) return false;
    this.scratch ??= Buffer.allocUnsafe(blockSize);
    writeCanonicalHeader(entry, this.rules, null, this.scratch, 0);
    if (block.compare(this.scratch, 0, blockSize, at, at + blockSize) !== 0) return false;
    this.size += blockSize;
    return true;
  }

  /** Stops mirroring at `size` bytes, whose sha256 so far `hash` holds; zeros up to the old size follow. */
  adopt(hash: Hash, size: number): void {
    const counted = this.size;
    this.mirroring = false;
    this.hash = hash;
    this.size = size;
    // Padding the input spelled with non-zero bytes: the canonical tar has zeros there.
    for (let left = counted - size; left > 0; ) {
      const n = Math.min(left, chunkSize - this.pos);
      this.buffer.fill(0, this.pos, this.pos + n);
      this.pos += n;
      left -= n;
      if (this.pos === chunkSize) this.flush();
    }
  }

  /** Ends mirroring with the whole canonical tar: `size` bytes of input, end marker included. */
  finishMirror(hash: Hash, size: number): void {
    this.mirroring = false;
    this.mirrored = { digest: `sha256:${hash.digest('hex')}`, size };
  }

  header(entry: LayerEntry): void {
    const pax = canonicalPaxRecords(entry, this.rules);
    const needed = canonicalHeaderSize(pax);
    if (needed > chunkSize) {
      this.flush();
      const big = Buffer.allocUnsafe(needed);
      writeCanonicalHeader(entry, this.rules, pax, big, 0);
      this.emit(big);
      return;
    }
    if (this.pos + needed > chunkSize) this.flush();
    this.pos = writeCanonicalHeader(entry, this.rules, pax, this.buffer, this.pos);
  }

  /** Content bytes; with an output, `data` must not be reused by the caller. */
  content(data: Buffer): void {
    if (this.mirroring) {
      this.size += data.length;
      return;
    }
    // Hash-only, copying pays only for tiny pieces; an output wants few, large writes.
    if (data.length <= (this.output === undefined ? hashCopyLimit : smallContent)) {
      if (this.pos + data.length > chunkSize) this.flush();
      data.copy(this.buffer, this.pos);
      this.pos += data.length;
      return;
    }
    this.flush();
    this.emit(data);
  }

  /** Room for `length` content bytes in the coalescing buffer, for reading straight into it. */
  reserve(length: number): { buffer: Buffer; at: number } {
    if (this.pos + length > chunkSize) this.flush();
    const at = this.pos;
    this.pos += length;
    return { buffer: this.buffer, at };
  }

  /** Room for up to `length` content bytes (at least one): the rest of the coalescing buffer. */
  reserveUpTo(length: number): { buffer: Buffer; at: number; length: number } {
    if (this.pos === chunkSize) this.flush();
    const at = this.pos;
    const n = Math.min(length, chunkSize - at);
    this.pos += n;
    return { buffer: this.buffer, at, length: n };
  }

  /** Zero padding after `size` content bytes. */
  pad(size: number): void {
    const padding = paddedSize(size) - size;
    if (padding === 0) return;
    if (this.mirroring) {
      this.size += padding;
      return;
    }
    if (this.pos + padding > chunkSize) this.flush();
    this.buffer.fill(0, this.pos, this.pos + padding);
    this.pos += padding;
  }

  finish(): { digest: string; size: number } {
    if (this.mirrored !== null) return this.mirrored;
    if (this.pos + endOfArchive.length > chunkSize) this.flush();
    endOfArchive.copy(this.buffer, this.pos);
    this.pos += endOfArchive.length;
    this.flush();
    return { digest: `sha256:${this.hash.digest('hex')}`, size: this.size };
  }

  flush(): void {
    if (this.pos === 0) return;
    const buffer = this.buffer;
    const data = buffer.subarray(0, this.pos);
    this.pos = 0;
    if (this.output === undefined) {
      // The hash does not keep what it was given.
      this.emit(data);
      return;
    }
    this.emit(data, this.outputReleasesChunks ? () => this.freeBuffers.push(buffer) : undefined);
    // The output holds on to what it was given, at least until the write callback.
    this.buffer = this.freeBuffers.pop() ?? Buffer.allocUnsafe(chunkSize);
  }

  private emit(data: Buffer, release?: () => void): void {
    this.hash.update(data);
    this.size += data.length;
    if (this.output !== undefined && !this.output.write(data, release)) this.needsDrain = true;
  }
}

/** Waits for 'drain'; rejects if the output fails or closes first (so a dead output never hangs us). */
export async function waitForDrain(output: Writable): Promise<void> {
  if (output.errored) throw output.errored;
  if (output.destroyed) throw new Error('output closed before the canonical tar was written');
  if (!output.writableNeedDrain) return;
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      output.off('drain', onDrain);
      output.off('error', onError);
      output.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (error: Error) => done(error);
    const onClose = () => done(output.errored ?? new Error('output closed before the canonical tar was written'));
    output.on('drain', onDrain);
    output.on('error', onError);
    output.on('close', onClose);
  });
}

/** Entries taken from the table at a time: enough for the reads of adjacent contents to coalesce. */
const batchEntries = 4096;

/** Entries a window looks ahead at, at most. */
const windowLookahead = 1024;
/** Bytes a window may read that no entry in it uses, beyond as many as it uses. */
const windowSlack = 16 << 10;

/**
 * The spool range to read for small entry `first` and the small entries after it: it grows while the
 * next entry's bytes keep it within 1 MiB and at most twice the bytes it serves (plus `windowSlack`),
 * so a scattered order costs one read per entry, as before, and never much more copying.
 */
function planWindow(offsets: Float64Array, sizeOf: (i: number) => number, first: number, count: number): { start: number; end: number } {
  let start = offsets[first];
  let end = start + sizeOf(first);
  let used = end - start;
  const last = Math.min(count, first + windowLookahead);
  for (let j = first + 1; j < last; j++) {
    const size = sizeOf(j);
    if (size === 0) continue;
    if (size > smallContent) break;
    const at = offsets[j];
    const newStart = at < start ? at : start;
    const newEnd = at + size > end ? at + size : end;
    if (newEnd - newStart > chunkSize || newEnd - newStart > 2 * (used + size) + windowSlack) break;
    start = newStart;
    end = newEnd;
    used += size;
  }
  return { start, end };
}

/**
 * Emits the canonical tar of the table `cursor` walks (layer-table.ts `openTable`: in memory or
 * spilled), taking contents from `spool` at the offsets the cursor gives.
 */
export async function emitCanonical(cursor: TableCursor, spool: ContentSpool, writer: CanonicalWriter): Promise<void> {
  const entries: LayerEntry[] = [];
  const offsets = new Float64Array(batchEntries);
  const window = Buffer.allocUnsafe(chunkSize);
  for (;;) {
    entries.length = 0;
    while (entries.length < batchEntries) {
      const entry = cursor.next();
      if (entry === undefined) break;
      offsets[entries.length] = cursor.contentOffset;
      entries.push(entry);
    }
    if (entries.length > 0) await emitBatch(entries, offsets, spool, writer, window);
    if (entries.length < batchEntries) return;
  }
}

async function emitBatch(
  entries: readonly LayerEntry[],
  offsets: Float64Array,
  spool: ContentSpool,
  writer: CanonicalWriter,
  window: Buffer,
): Promise<void> {
  const { output } = writer;
  const sizeOf = (i: number) => (offsets[i] < 0 ? 0 : entries[i].size);

  // Small contents are read in windows of up to 1 MiB: the next entries whose spooled bytes lie close
  // together come from one read. In order, they are adjacent; a layer written in readdir order keeps
  // each directory's files together, shuffled, so a window of the directory's bytes serves them all
  // (one read per file was 10% of a verify of 100,000 small files).
  let windowStart = 0;
  let windowEnd = 0;

  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    writer.header(entry);
    const size = sizeOf(i);
    if (size > 0) {
      const offset = offsets[i];
      if (size <= smallContent) {
        if (offset < windowStart || offset + size > windowEnd) {
          ({ start: windowStart, end: windowEnd } = planWindow(offsets, sizeOf, i, entries.length));
          spool.readInto(windowStart, windowEnd - windowStart, window, 0);
        }
        if (output === undefined) {
          writer.content(window.subarray(offset - windowStart, offset - windowStart + size));
        } else {
          const { buffer, at } = writer.reserve(size);
          window.copy(buffer, at, offset - windowStart, offset - windowStart + size);
        }
      } else {
        // Read straight into the writer's buffers, so the output gets full 1 MiB writes in buffers it
        // gives back, not a fresh piece per MiB.
        for (let done = 0; done < size; ) {
          const { buffer, at, length } = writer.reserveUpTo(size - done);
          spool.readInto(offset + done, length, buffer, at);
          done += length;
          if (writer.needsDrain && output !== undefined) {
            writer.needsDrain = false;
            await waitForDrain(output);
          }
        }
      }
      writer.pad(size);
    }
    if (writer.needsDrain && output !== undefined) {
      writer.needsDrain = false;
      await waitForDrain(output);
    }
  }
}
