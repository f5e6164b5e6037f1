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
 * - zstd runs single-threaded with pinned parameters (compression-params.ts), from node:zlib where Node
 *   has it and from the zstd-napi addon elsewhere (compression-zstd.ts): both write the same bytes. It is
 *   fed blocks of exactly COMPRESS_BLOCK_SIZE bytes and ended only once every block was consumed, as
 *   node:zlib needs (see createZstdCompressor).
 */
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { ParallelGzip } from './compression-gzip.js';
import { gzipEngine } from './compression-engine.js';
import { COMPRESS_BLOCK_SIZE, type GzipEngine } from './compression-params.js';
import { createZstdCompressor, type ZstdBackend } from './compression-zstd.js';
import type { Compression } from './media-types.js';

export { detectCompression, openDecompressed } from './compression-detect.js';
export { gzipEngine } from './compression-engine.js';
export {
  ZSTD_BACKEND_ENV,
  assertZstd,
  availableZstdBackends,
  compressZstdSync,
  zstdBackend,
  type ZstdBackend,
  type ZstdUse,
} from './compression-zstd.js';
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
  /** Force a zstd backend (tests: both must write the same bytes); default zstdBackend(). */
  zstdBackend?: ZstdBackend;
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
      return new BlockCompressor(createZstdCompressor(options.zstdBackend));
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
  /** Writes the engine has not consumed yet: it is ended only at 0 (see createZstdCompressor). */
  private unconsumed = 0;
  private whenConsumed: (() => void) | undefined;

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
        if (!this.writeBlock(block, this.release(block))) ready = false;
        // Another buffer: the engine holds this one until its callback.
        this.block = this.freeBlocks.pop() ?? Buffer.allocUnsafe(COMPRESS_BLOCK_SIZE);
        this.filled = 0;
      }
    }
    if (ready) callback();
    else this.engine.once('drain', () => callback());
  }

  private writeBlock(block: Buffer, done?: () => void): boolean {
    this.unconsumed++;
    return this.engine.write(block, (error) => {
      this.unconsumed--;
      if (!error) done?.();
      if (this.unconsumed === 0) this.whenConsumed?.();
    });
  }

  override _flush(callback: TransformCallback): void {
    this.engine.once('end', () => callback());
    if (this.filled > 0) this.writeBlock(this.block.subarray(0, this.filled));
    if (this.unconsumed === 0) this.engine.end();
    else this.whenConsumed = () => this.engine.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.engine.destroyed) this.engine.destroy();
    callback(error);
  }
}
