/**
 * Layer compression, both directions; this module is the one other code imports.
 *
 * Reading (compression-detect.ts): a blob's magic bytes are checked against its media type, and it is
 * inflated as a stream.
 *
 * Writing: the same uncompressed bytes must give the same compressed bytes on any machine, any number of
 * cores and any Node version, because the compressed bytes are what the layer digest (and so the manifest
 * digest) covers. What makes that hold:
 * - every parameter is pinned (compression-params.ts: level, window, memory level, strategy, gzip header,
 *   block sizes, zstd frame flags);
 * - gzip is deflated in fixed 256 KiB blocks, each with the previous 32 KiB as dictionary, several at
 *   once (compression-gzip.ts, pigz's scheme), so neither the core count nor the input's chunking shows;
 * - Node's bundled zlib does that only when a probe shows it writes the same bytes as pako, a pure
 *   JavaScript port of zlib whose output does not depend on the machine (compression-engine.ts);
 * - zstd runs in zstd's own multi-threaded mode, whose jobs (sized from the level's window, never from
 *   the thread count) write the same bytes for any number of workers from 1 up; it is fed blocks of
 *   exactly COMPRESS_BLOCK_SIZE bytes, so the calls do not depend on how the input was written.
 */
import { availableParallelism } from 'node:os';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { CompressStream } from 'zstd-napi';
import { ParallelGzip } from './compression-gzip.js';
import { gzipEngine } from './compression-engine.js';
import { COMPRESS_BLOCK_SIZE, ZSTD_MAX_WORKERS, ZSTD_PARAMETERS, type GzipEngine } from './compression-params.js';
import type { Compression } from './media-types.js';

export { detectCompression, openDecompressed } from './compression-detect.js';
export { gzipEngine } from './compression-engine.js';
export {
  COMPRESS_BLOCK_SIZE,
  GZIP_BLOCK_SIZE,
  GZIP_DICTIONARY_SIZE,
  GZIP_HEADER,
  GZIP_LEVEL,
  ZSTD_LEVEL,
  type GzipEngine,
} from './compression-params.js';

export interface CompressorOptions {
  /** Force a gzip engine (tests, benchmarks); the default is the one `gzipEngine()` chose. */
  gzipEngine?: GzipEngine;
  /** zstd worker threads, at least 1 (tests: the bytes must not depend on it); default zstdWorkers(). */
  zstdWorkers?: number;
}

/**
 * zstd worker threads: the cores, up to ZSTD_MAX_WORKERS, and never 0. Any count from 1 up gives the same
 * bytes (zstd's streaming multi-threaded mode is built to, and zstd tests it); 0, the single-threaded
 * mode, writes other bytes, so it is never used even on one core.
 */
function zstdWorkers(): number {
  return Math.max(1, Math.min(ZSTD_MAX_WORKERS, availableParallelism()));
}

/**
 * A stream that compresses its input deterministically: the same bytes in, in any chunking, give the same
 * bytes out on any machine. 'none' passes bytes through.
 */
export function createCompressor(compression: Compression, options: CompressorOptions = {}): Transform {
  switch (compression) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return new ParallelGzip(options.gzipEngine ?? gzipEngine());
    case 'zstd':
      return new BlockCompressor(new CompressStream({ ...ZSTD_PARAMETERS, nbWorkers: Math.max(1, options.zstdWorkers ?? zstdWorkers()) }));
  }
}

/**
 * Whether `stream` (made by createCompressor) is done with each written chunk once its write callback
 * fired, so the writer may reuse the buffer: true for gzip and zstd, which copy into their blocks; the
 * 'none' PassThrough hands chunks on as they are.
 */
export function releasesChunks(stream: Transform): boolean {
  return stream instanceof ParallelGzip || stream instanceof BlockCompressor;
}

/** Blocks in flight: the one compressing, up to two queued, one being filled. */
const MAX_FREE_BLOCKS = 4;

/** Cuts its input into blocks of exactly COMPRESS_BLOCK_SIZE bytes for an inner compressor (zstd). */
class BlockCompressor extends Transform {
  private block: Buffer = Buffer.allocUnsafe(COMPRESS_BLOCK_SIZE);
  /**
   * Blocks the engine is done with (its write callback fired), for reuse: a fresh 1 MiB buffer per
   * block made work for the garbage collector, which V8 runs on external memory growth.
   */
  private readonly freeBlocks: Buffer[] = [];
  private readonly release = (block: Buffer) => () => {
    if (this.freeBlocks.length < MAX_FREE_BLOCKS) this.freeBlocks.push(block);
  };
  private filled = 0;

  constructor(private readonly engine: Transform) {
    super();
    engine.on('data', (chunk: Buffer) => this.push(chunk));
    engine.on('error', (error) => this.destroy(error));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let ready = true;
    let offset = 0;
    while (offset < chunk.length) {
      const copied = chunk.copy(this.block, this.filled, offset);
      offset += copied;
      this.filled += copied;
      if (this.filled === COMPRESS_BLOCK_SIZE) {
        const block = this.block;
        if (!this.engine.write(block, this.release(block))) ready = false;
        // Another buffer: the engine holds this one until its callback.
        this.block = this.freeBlocks.pop() ?? Buffer.allocUnsafe(COMPRESS_BLOCK_SIZE);
        this.filled = 0;
      }
    }
    if (ready) callback();
    else this.engine.once('drain', () => callback());
  }

  override _flush(callback: TransformCallback): void {
    this.engine.once('end', () => callback());
    if (this.filled > 0) this.engine.write(this.block.subarray(0, this.filled));
    this.engine.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.engine.destroyed) this.engine.destroy();
    callback(error);
  }
}
