/**
 * The canonical tar writer: header blocks (canonical-tar.ts), contents and padding, coalesced into
 * 1 MiB buffers that go to a sha256 and, when given, an output; and the emission of a whole table
 * from the spool, in canonical order.
 */
import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { endOfArchive, paddedSize } from '../tar/blocks.js';
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
  private readonly hash = createHash('sha256');
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
    if (this.pos + padding > chunkSize) this.flush();
    this.buffer.fill(0, this.pos, this.pos + padding);
    this.pos += padding;
  }

  finish(): { digest: string; size: number } {
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

  // Small contents are read in runs: consecutive entries whose spooled bytes are adjacent (all of them
  // when the input was in order) come from one read of up to 1 MiB.
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
          let end = offset + size;
          for (let j = i + 1; j < entries.length; j++) {
            const next = sizeOf(j);
            if (next === 0) continue;
            if (next > smallContent || offsets[j] !== end || end + next - offset > chunkSize) break;
            end += next;
          }
          spool.readInto(offset, end - offset, window, 0);
          windowStart = offset;
          windowEnd = end;
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
