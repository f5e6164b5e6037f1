/**
 * Parallel deterministic gzip, pigz's scheme: the input is cut into blocks of exactly GZIP_BLOCK_SIZE
 * bytes (the last one shorter, maybe empty); each block is deflated on its own, raw, with the 32 KiB of
 * input before it as preset dictionary, and ended with a sync flush (an empty stored block, so the block
 * ends on a byte boundary and the next one can follow it directly), the last one with finish. The blocks'
 * deflate streams concatenated make one deflate stream; our fixed header and the trailer (CRC-32 of the
 * input, its size mod 2^32) make it a gzip member any reader accepts.
 *
 * Each block's bytes depend only on its input and its dictionary, so the output is a pure function of
 * the input: the same on 1 core or 64, whatever the pool size, the order in which blocks finish, or how
 * the input was written. With Node's zlib, several blocks deflate at once on the libuv pool while the
 * main thread fills the next; with pako they deflate one at a time on the main thread.
 */
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { Deflate, Z_FINISH, Z_SYNC_FLUSH } from 'pako';
import { OciReproError } from '../errors.js';
import { crc32 } from './compression-crc32.js';
import { DEFLATE_OPTIONS, GZIP_BLOCK_SIZE, GZIP_DICTIONARY_SIZE, GZIP_HEADER, type GzipEngine } from './compression-params.js';

/**
 * Output space for one block, in one piece. This decides bytes: when a sync flush runs out of output
 * space zlib may write its flush marker twice (the zlib manual asks for more than 6 bytes free), and
 * Node and pako refill at different points. So every block's output must fit with room to spare:
 * deflate's worst case (deflateBound) for 256 KiB is 256 KiB + 93 bytes, plus 5 for the sync marker.
 */
const OUTPUT_CHUNK_SIZE = GZIP_BLOCK_SIZE + 4096;
const OUTPUT_SPARE = 64;

/** zlib options for one block; `finishFlush` is the flush of its single (whole-block) write. */
function nodeOptions(dictionary: Buffer | undefined, last: boolean): zlib.ZlibOptions {
  return {
    ...DEFLATE_OPTIONS,
    finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    chunkSize: OUTPUT_CHUNK_SIZE,
    ...(dictionary ? { dictionary } : {}),
  };
}

/** One block through pako: pure JavaScript, machine-independent, synchronous. */
function deflatePako(block: Buffer, dictionary: Buffer | undefined, last: boolean): Buffer {
  const deflate = new Deflate({
    ...DEFLATE_OPTIONS,
    strategy: 0,
    raw: true,
    // pako's default hash, the one Chromium's zlib (bundled by Node) uses; the classic one differs.
    legacyHash: false,
    chunkSize: OUTPUT_CHUNK_SIZE,
    ...(dictionary ? { dictionary } : {}),
  });
  const parts: Buffer[] = [];
  // pako hands out each output buffer once and allocates a new one, so wrapping needs no copy.
  deflate.onData = (chunk) => parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  if (!deflate.push(block, last ? Z_FINISH : Z_SYNC_FLUSH)) {
    throw new OciReproError('INTERNAL', `gzip compression failed (pako: ${deflate.msg || 'unknown error'})`);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** A block's output, refused if it came near the end of its output space (see OUTPUT_CHUNK_SIZE). */
function checked(output: Buffer): Buffer {
  checkedSize(output.length);
  return output;
}

function checkedSize(size: number): void {
  if (size > OUTPUT_CHUNK_SIZE - OUTPUT_SPARE) {
    throw new OciReproError('INTERNAL', `gzip compression failed (a block deflated to ${size} bytes, more than its output space allows)`);
  }
}

/** The raw deflate of one block, synchronously (the probe and pako's path). */
export function deflateBlockSync(engine: GzipEngine, block: Buffer, dictionary: Buffer | undefined, last: boolean): Buffer {
  return checked(engine === 'pako' ? deflatePako(block, dictionary, last) : zlib.deflateRawSync(block, nodeOptions(dictionary, last)));
}

/**
 * The raw deflate of one block, as the pieces zlib handed out (views of one output buffer, never
 * copied: zlib.deflateRaw would concatenate them, a copy and an allocation per block on the thread that
 * feeds the pool); with Node's zlib it runs on the libuv pool and `done` comes later.
 */
function deflateBlock(
  engine: GzipEngine,
  block: Buffer,
  dictionary: Buffer | undefined,
  last: boolean,
  done: (error: Error | null, output: Buffer[]) => void,
): void {
  if (engine === 'node-zlib') {
    // Node copies the dictionary when it makes the deflater (here, synchronously): the caller may reuse it.
    const deflater = zlib.createDeflateRaw(nodeOptions(dictionary, last));
    const pieces: Buffer[] = [];
    let size = 0;
    deflater.on('data', (piece: Buffer) => {
      pieces.push(piece);
      size += piece.length;
    });
    deflater.once('error', (error) => done(error, []));
    deflater.once('end', () => {
      try {
        checkedSize(size);
      } catch (refused) {
        done(refused as Error, []);
        return;
      }
      done(null, pieces);
    });
    deflater.end(block);
    return;
  }
  let output: Buffer;
  try {
    output = checked(deflatePako(block, dictionary, last));
  } catch (error) {
    done(error as Error, []);
    return;
  }
  done(null, [output]);
}

/** The dictionary for the block after `block`: the last 32 KiB of the input before it. */
function dictionaryAfter(block: Buffer | undefined): Buffer | undefined {
  return block?.subarray(block.length - GZIP_DICTIONARY_SIZE);
}

/**
 * The raw deflate stream of `input` by the block scheme, in one synchronous call: what the probe compares
 * between engines. `blockSize` other than GZIP_BLOCK_SIZE is for tests only.
 */
export function deflateBlocksSync(engine: GzipEngine, input: Buffer, blockSize = GZIP_BLOCK_SIZE): Buffer {
  const parts: Buffer[] = [];
  let previous: Buffer | undefined;
  for (let offset = 0; ; offset += blockSize) {
    const block = input.subarray(offset, offset + blockSize);
    const last = block.length < blockSize;
    parts.push(deflateBlockSync(engine, block, dictionaryAfter(previous), last));
    if (last) return Buffer.concat(parts);
    previous = block;
  }
}

/**
 * Blocks dispatched but not yet written out, at most: four per pool thread that can deflate at once
 * (threads: the pool's size, at most one per core), so a thread that finishes a block takes the next one
 * queued on the pool at once instead of waiting for the main thread to hand it one. With one block per
 * thread the pool threads sat idle (neither running nor waiting for a CPU) 18-21% of a 1 GiB
 * `normalize --output` on 2 cores; with two per thread 11-14%, with four 8-11% (the window measured includes the read
 * before the first block). Blocks queued ahead of an inflate or a file read delay it, but while
 * deflate keeps every thread busy that costs nothing: the pool is the bottleneck. Each block in flight
 * costs about a MiB (input, zlib's state, output). It changes when blocks run, never what they produce.
 */
export function gzipBlocksInFlight(cores: number, poolSize: number): number {
  return Math.max(2, 4 * Math.max(1, Math.min(cores, poolSize, 64)));
}

function maxInFlight(): number {
  const configured = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10);
  return gzipBlocksInFlight(availableParallelism(), configured > 0 ? configured : 4);
}

/** A gzip stream by the block scheme; its write callbacks fire once a chunk is copied (chunks may be reused). */
export class ParallelGzip extends Transform {
  private block: Buffer = Buffer.allocUnsafe(GZIP_BLOCK_SIZE);
  private filled = 0;
  /** The last full block dispatched: the next block's dictionary comes from it. */
  private previous: Buffer | undefined;
  private crc = 0;
  private size = 0;
  private dispatched = 0;
  private written = 0;
  /** Deflated blocks that finished before an earlier one, by index. */
  private readonly done = new Map<number, Buffer[]>();
  /** Full blocks nothing refers to any more (no job, no dictionary), for reuse. */
  private readonly free: Buffer[] = [];
  /** How many things (its job, its role as dictionary source) still hold each full block. */
  private readonly holds = new Map<Buffer, number>();
  /** The rest of a write, waiting for a block to be written out. */
  private waitingWrite: (() => void) | undefined;
  private finish: TransformCallback | undefined;
  private readonly limit: number;

  constructor(private readonly engine: GzipEngine) {
    super();
    this.limit = engine === 'node-zlib' ? maxInFlight() : 1;
    this.push(Buffer.from(GZIP_HEADER));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    this.size += chunk.length;
    this.fill(chunk, 0, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.dispatch(this.block.subarray(0, this.filled), true);
    this.finish = callback;
    this.writeOut();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Jobs still on the pool finish on their own; their results are dropped (see dispatch).
    this.done.clear();
    this.waitingWrite = undefined;
    this.finish = undefined;
    callback(error);
  }

  private fill(chunk: Buffer, from: number, callback: TransformCallback): void {
    let offset = from;
    while (offset < chunk.length) {
      if (this.dispatched - this.written >= this.limit) {
        this.waitingWrite = () => this.fill(chunk, offset, callback);
        return;
      }
      const copied = chunk.copy(this.block, this.filled, offset);
      offset += copied;
      this.filled += copied;
      if (this.filled === GZIP_BLOCK_SIZE) {
        this.dispatch(this.block, false);
        this.block = this.free.pop() ?? Buffer.allocUnsafe(GZIP_BLOCK_SIZE);
        this.filled = 0;
      }
    }
    callback();
  }

  private dispatch(block: Buffer, last: boolean): void {
    const index = this.dispatched++;
    const previous = this.previous;
    if (!last) {
      this.holds.set(block, 2);
      this.previous = block;
    }
    deflateBlock(this.engine, block, dictionaryAfter(previous), last, (error, output) => {
      if (this.destroyed) return;
      if (error) {
        this.destroy(error instanceof OciReproError ? error : new OciReproError('INTERNAL', `gzip compression failed (zlib: ${error.message})`, { cause: error }));
        return;
      }
      if (!last) this.release(block);
      this.done.set(index, output);
      this.writeOut();
    });
    // The deflater has copied its dictionary by now.
    if (previous) this.release(previous);
  }

  private release(block: Buffer): void {
    const holds = this.holds.get(block)! - 1;
    if (holds > 0) {
      this.holds.set(block, holds);
      return;
    }
    this.holds.delete(block);
    if (this.free.length <= this.limit) this.free.push(block);
  }

  /** Pushes finished blocks in order, then lets a waiting write go on, then ends with the trailer. */
  private writeOut(): void {
    let output: Buffer[] | undefined;
    while ((output = this.done.get(this.written)) !== undefined) {
      this.done.delete(this.written);
      this.written++;
      for (const piece of output) if (piece.length > 0) this.push(piece);
    }
    const waitingWrite = this.waitingWrite;
    if (waitingWrite && this.dispatched - this.written < this.limit) {
      this.waitingWrite = undefined;
      waitingWrite();
    }
    const finish = this.finish;
    if (finish && this.written === this.dispatched) {
      this.finish = undefined;
      const trailer = Buffer.allocUnsafe(8);
      trailer.writeUInt32LE(this.crc, 0);
      // ISIZE: the input size modulo 2^32 (RFC 1952); >>> 0 takes exactly that.
      trailer.writeUInt32LE(this.size >>> 0, 4);
      this.push(trailer);
      finish();
    }
  }
}

