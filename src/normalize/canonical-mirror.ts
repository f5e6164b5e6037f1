/**
 * A layer that is already its own canonical tar (the output of `normalize`, or of a writer with the
 * same rules) hashes once: while each member's canonical header equals the input's header block, its
 * padding is zero and nothing else lies between members, the canonical tar is the input's bytes, and
 * the pass's sha256 of the input serves for both. The writer only counts (`CanonicalWriter.mirroring`).
 *
 * At the first byte where they part (offset X), the writer takes over with the sha256 of input[0..X),
 * from a copy of the input hash taken at the start of the chunk that holds X (or of the chunk
 * before), and writes the rest itself. An X further back than that (extended headers larger than a
 * chunk, or chunks smaller than a block) cannot be hashed any more: the pass then proceeds as for an
 * unordered layer (`member` returns 'lost'). For a 1 GiB in-order layer this saves one of the two
 * sha256 passes over the tar; a layer that is not canonical parts at its first header, for the cost
 * of one hash copy per chunk until then.
 */
import type { Hash } from 'node:crypto';
import type { TarReader } from '../tar/reader.js';
import type { LayerEntry } from './entry.js';
import type { CanonicalWriter } from './layer-writer.js';

/** What `member` found: the writer skips the header, writes it (mirroring ended), or is of no more use. */
export type MirrorStep = 'same' | 'parted' | 'lost';

export class CanonicalMirror {
  private chunk: Buffer | null = null;
  private chunkStart = 0;
  /** The input hash before `chunk` (and before the chunk ahead of it). */
  private hashAtChunk: Hash | null = null;
  private previous: Buffer | null = null;
  private previousStart = 0;
  private hashAtPrevious: Hash | null = null;

  constructor(
    private readonly writer: CanonicalWriter,
    private readonly reader: TarReader,
  ) {
    writer.mirroring = true;
    reader.checkPadding = true;
  }

  get active(): boolean {
    return this.writer.mirroring;
  }

  /** Before `input` (the hash of every byte so far) takes `chunk`. */
  beforeChunk(chunk: Buffer, input: Hash): void {
    this.previous = this.chunk;
    this.previousStart = this.chunkStart;
    this.hashAtPrevious = this.hashAtChunk;
    this.chunkStart = this.reader.consumed;
    this.chunk = chunk;
    this.hashAtChunk = input.copy();
  }

  /** At a member's header, before the writer writes it (see MirrorStep). */
  member(entry: LayerEntry): MirrorStep {
    const { reader, writer } = this;
    const expected = writer.size;
    if (reader.memberOffset === expected && writer.mirrorHeader(entry, reader.headerBlock, reader.headerAt)) return 'same';
    return this.part(expected) ? 'parted' : 'lost';
  }

  /** Padding holds a non-zero byte at `offset`. */
  paddingNotZero(offset: number): boolean {
    return this.part(offset);
  }

  /** The end marker ends at `offset`: the input up to there is the whole canonical tar. */
  endOfArchive(offset: number): boolean {
    const end = this.writer.size + 1024;
    if (offset !== end) return this.part(this.writer.size);
    const hash = this.hashUpTo(end);
    if (hash === null) return this.part(this.writer.size);
    this.writer.finishMirror(hash, end);
    this.release();
    return true;
  }

  /** The input ended without an end marker: the canonical tar adds one. */
  finish(): boolean {
    return this.part(this.writer.size);
  }

  /** Hands the writer the input's hash up to `offset`; false when that point is gone. */
  private part(offset: number): boolean {
    const hash = this.hashUpTo(offset);
    this.release();
    this.reader.checkPadding = false;
    if (hash === null) {
      this.writer.mirroring = false;
      return false;
    }
    this.writer.adopt(hash, offset);
    return true;
  }

  /** sha256 state of input[0..offset), if `offset` lies in the current chunk or the one before. */
  private hashUpTo(offset: number): Hash | null {
    if (this.chunk !== null && this.hashAtChunk !== null && offset >= this.chunkStart) {
      return this.hashAtChunk.copy().update(this.chunk.subarray(0, offset - this.chunkStart));
    }
    if (this.previous !== null && this.hashAtPrevious !== null && offset >= this.previousStart) {
      return this.hashAtPrevious.copy().update(this.previous.subarray(0, offset - this.previousStart));
    }
    return null;
  }

  private release(): void {
    this.chunk = this.previous = null;
    this.hashAtChunk = this.hashAtPrevious = null;
  }
}
