/**
 * Layer compression, both directions.
 *
 * Reading: the magic bytes of a blob are checked against the compression its media type declares, and the
 * blob is inflated as a stream.
 *
 * Writing: the same uncompressed bytes must give the same compressed bytes on any machine and any Node
 * version, because the compressed bytes are what the layer digest (and so the manifest digest) covers.
 * Three things make that hold:
 * - the compressor sees the input in blocks of exactly `COMPRESS_BLOCK_SIZE` bytes (the last one shorter),
 *   whatever the writes looked like, so the calls into zlib or zstd are a pure function of the input;
 * - every parameter is pinned (level, window, memory level, strategy, gzip header, zstd frame flags);
 * - for gzip, Node's bundled zlib is used only when a probe shows it writes the same bytes as pako, a pure
 *   JavaScript port of zlib whose output does not depend on the machine; otherwise pako does the work.
 */
import { PassThrough, type Readable, Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import zlib from 'node:zlib';
import { Deflate } from 'pako';
import { CompressStream, DecompressStream } from 'zstd-napi';
import { OciReproError, badInput, corruptArchive, unsupported } from '../errors.js';
import type { Compression } from './media-types.js';

const MiB = 1024 * 1024;

/**
 * gzip level 6: zlib's default, and what `gzip`, Docker and containerd write, so sizes and speed are what
 * users expect; higher levels cost much more time for a few percent.
 */
export const GZIP_LEVEL = 6;

/** zstd level 3: the library's default and what `skopeo --dest-compress-format zstd` writes. */
export const ZSTD_LEVEL = 3;

/**
 * Compressors are fed exactly this many bytes at a time. Tar writers emit 512-byte blocks and every zlib
 * call has a fixed cost (a round trip through the libuv pool for Node's zlib), so small writes are
 * coalesced; fixed-size blocks also make the call sequence independent of how the input was written.
 */
export const COMPRESS_BLOCK_SIZE = MiB;

/** Inflate output chunk size: with zlib's 16 KiB default, inflating a layer took 1.5 times as long. */
const DECOMPRESS_CHUNK_SIZE = MiB;

/**
 * The 10-byte header of every gzip stream we write (RFC 1952): deflate (8), no flags (so no file name,
 * comment, extra field or header CRC), mtime 0, XFL 0 (what zlib writes for level 6), OS 3 (Unix).
 * OS is forced: zlib writes 3 on Linux but 10 on Windows and 19 on macOS builds.
 */
export const GZIP_HEADER: Readonly<Buffer> = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

/** zlib parameters besides the level, pinned so that a changed default cannot change our bytes. */
const DEFLATE_WINDOW_BITS = 15;
const DEFLATE_MEM_LEVEL = 8;

/**
 * zstd frame parameters. No content size in the header (a streamed frame cannot know it, and an empty
 * input ended in one call would otherwise get one), a checksum so `zstd -t` can check a blob on its own,
 * and no worker threads (the multi-threaded compressor splits the input into jobs).
 */
const ZSTD_PARAMETERS = {
  compressionLevel: ZSTD_LEVEL,
  checksumFlag: true,
  contentSizeFlag: false,
  nbWorkers: 0,
} as const;

export type GzipEngine = 'node-zlib' | 'pako';

export interface CompressorOptions {
  /** Force a gzip engine (tests, benchmarks); the default is the one `gzipEngine()` chose. */
  gzipEngine?: GzipEngine;
}

// ---------------------------------------------------------------------------------------------
// Detecting and decompressing

/** How many bytes `openDecompressed` looks at: a whole tar header, so a mismatch can say "a tar". */
const PEEK_SIZE = 512;

/** The compression a blob's first bytes show; anything that is not gzip or zstd is 'none'. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd && head[0] === 0x28) {
    return 'zstd';
  }
  // A zstd stream may start with a skippable frame: magic 0x184D2A50..0x184D2A5F, little-endian.
  if (head.length >= 4 && (head[0]! & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) {
    return 'zstd';
  }
  return 'none';
}

/**
 * The uncompressed bytes of a blob. The first bytes are checked against `declared` (undefined: trust the
 * magic bytes); a mismatch is bad input. Errors of `raw` come through unchanged; corrupt or truncated
 * compressed data is a corrupt-archive error. `what` names the blob in messages ("layer 2 of a.tar").
 */
export function openDecompressed(raw: Readable, declared: Compression | undefined, what: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    // Everything is wired inside the callback, so no error of `raw` can fall between two ticks unheard.
    peekHead(raw, PEEK_SIZE, (error, head, ended) => {
      if (error) {
        reject(error);
        return;
      }
      const found = detectCompression(head);
      if (declared !== undefined && declared !== found) {
        raw.destroy();
        reject(badInput(`${what}: media type says ${nameOf(declared)} but the blob ${describeHead(head)}`));
        return;
      }
      if (found === 'none') {
        const other = otherCompression(head);
        if (other) {
          raw.destroy();
          reject(unsupported(`${what}: the blob starts with ${other} data, which layers cannot use`));
          return;
        }
        resolve(continueAfterHead(raw, head, ended, undefined, what));
        return;
      }
      resolve(continueAfterHead(raw, head, ended, found, what));
    });
  });
}

/**
 * The rest of `raw` after its first bytes `head`, inflated unless `compression` is undefined. Data and
 * errors start at the first read: an error of `raw` that comes before the caller listens (a small blob
 * that fails its digest check while the caller is still awaiting this stream) waits for that read
 * instead of being thrown.
 */
function continueAfterHead(raw: Readable, head: Buffer, ended: boolean, compression: 'gzip' | 'zstd' | undefined, what: string): Readable {
  const decompressor: Transform | undefined =
    compression === 'gzip' ? zlib.createGunzip({ chunkSize: DECOMPRESS_CHUNK_SIZE }) : compression === 'zstd' ? new DecompressStream() : undefined;
  // Back now, while `raw` still holds unread data: after its end an unshift would be an error.
  if (decompressor === undefined && !ended && head.length > 0) raw.unshift(head);
  let started = false;
  let pending: Error | undefined;
  const out: StartOnRead = new StartOnRead(() => {
    started = true;
    if (pending !== undefined) {
      out.destroy(pending);
      return;
    }
    if (decompressor === undefined) {
      if (ended) out.end(head);
      else raw.pipe(out);
      return;
    }
    if (ended) {
      decompressor.end(head);
    } else {
      decompressor.write(head);
      raw.pipe(decompressor);
    }
    decompressor.pipe(out);
  });
  const fail = (error: Error) => {
    if (out.destroyed) return;
    if (started) out.destroy(error);
    else pending ??= error;
  };
  raw.on('error', fail);
  decompressor?.on('error', (error) => fail(decompressError(error, compression!, what)));
  out.on('close', () => {
    // The reader stopped early or something failed: release the file or socket behind `raw`.
    if (!raw.destroyed) raw.destroy();
    if (decompressor !== undefined && !decompressor.destroyed) decompressor.destroy();
  });
  return out;
}

/** A PassThrough that calls `start` when it is first read from. */
class StartOnRead extends PassThrough {
  constructor(private start: (() => void) | undefined) {
    super({ readableHighWaterMark: DECOMPRESS_CHUNK_SIZE });
  }

  override _read(size: number): void {
    const start = this.start;
    this.start = undefined;
    start?.();
    super._read(size);
  }
}

/**
 * Reads at least `size` bytes of `stream` (fewer at its end) and hands them over without pushing them
 * back: the caller decides whether to `unshift` them or write them elsewhere.
 */
function peekHead(
  stream: Readable,
  size: number,
  done: (error: Error | null, head: Buffer, ended: boolean) => void,
): void {
  if (stream.errored) {
    done(stream.errored, Buffer.alloc(0), false);
    return;
  }
  if (stream.readableEnded) {
    done(null, Buffer.alloc(0), true);
    return;
  }
  const chunks: Buffer[] = [];
  let length = 0;
  let settled = false;
  const finish = (error: Error | null, ended: boolean) => {
    if (settled) return;
    settled = true;
    stream.off('readable', onReadable);
    stream.off('end', onEnd);
    stream.off('error', onError);
    done(error, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length), ended);
  };
  const onReadable = () => {
    let chunk: Buffer | null;
    while (length < size && (chunk = stream.read() as Buffer | null) !== null) {
      chunks.push(chunk);
      length += chunk.length;
    }
    if (length >= size) finish(null, false);
  };
  const onEnd = () => finish(null, true);
  const onError = (error: Error) => finish(error, false);
  stream.on('error', onError);
  stream.on('end', onEnd);
  stream.on('readable', onReadable);
}

function nameOf(compression: Compression): string {
  return compression === 'none' ? 'uncompressed' : compression;
}

/** Words for a blob's first bytes, for mismatch messages. */
function describeHead(head: Buffer): string {
  if (head.length === 0) return 'is empty';
  const found = detectCompression(head);
  if (found !== 'none') return `starts with ${found} data`;
  if (isTarHeader(head)) return 'starts with a tar header (it is not compressed)';
  const other = otherCompression(head);
  if (other) return `starts with ${other} data`;
  const shown = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `starts with bytes ${shown}`;
}

/** Compressions Docker once accepted for layers but OCI media types cannot declare. */
function otherCompression(head: Buffer): string | undefined {
  if (isTarHeader(head)) return undefined; // a tar whose first name happens to start with "BZh"
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 4 && head.subarray(0, 3).toString('latin1') === 'BZh' && head[3]! >= 0x31 && head[3]! <= 0x39) {
    return 'bzip2';
  }
  return undefined;
}

/** Whether the first 512 bytes are a tar header whose checksum adds up. */
function isTarHeader(head: Buffer): boolean {
  if (head.length < 512) return false;
  const field = head.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : head[i]!;
  return sum === parseInt(field, 8);
}

function decompressError(error: unknown, compression: 'gzip' | 'zstd', what: string): OciReproError {
  if (error instanceof OciReproError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (compression === 'zstd' && /too much memory/i.test(message)) {
    return unsupported(`${what}: the zstd data needs a window larger than 128 MiB`, {
      cause: error,
      hint: 'it was compressed with --long; recompress it without',
    });
  }
  const truncated = /unexpected end|ended in middle/i.test(message);
  const cause = message.charAt(0).toLowerCase() + message.slice(1);
  return corruptArchive(`${what}: corrupt ${compression} data (${cause})`, {
    cause: error,
    hint: truncated ? 'the blob may be truncated' : undefined,
  });
}

// ---------------------------------------------------------------------------------------------
// Compressing

/**
 * A stream that compresses its input deterministically: the same bytes in, in any chunking, give the same
 * bytes out on any machine. 'none' passes bytes through.
 */
export function createCompressor(compression: Compression, options: CompressorOptions = {}): Transform {
  switch (compression) {
    case 'none':
      return new PassThrough();
    case 'gzip': {
      const engine = options.gzipEngine ?? gzipEngine();
      return new BlockCompressor(engine === 'node-zlib' ? createNodeGzip() : new PakoGzip(), true);
    }
    case 'zstd':
      return new BlockCompressor(new CompressStream(ZSTD_PARAMETERS), false);
  }
}

/**
 * Whether `stream` (made by createCompressor) is done with each written chunk once its write callback
 * fired, so the writer may reuse the buffer: true for gzip and zstd, which copy into their blocks; the
 * 'none' PassThrough hands chunks on as they are.
 */
export function releasesChunks(stream: Transform): boolean {
  return stream instanceof BlockCompressor;
}

// Two blocks: one being compressed while the writer fills the next.
const ENGINE_HIGH_WATER_MARK = 2 * COMPRESS_BLOCK_SIZE;
/** Blocks in flight: the one compressing, up to two queued, one being filled. */
const MAX_FREE_BLOCKS = 4;

function createNodeGzip(): Transform {
  // Node passes stream options on to the Transform; its typings just do not say so.
  const options: zlib.ZlibOptions & TransformOptions = {
    level: GZIP_LEVEL,
    windowBits: DEFLATE_WINDOW_BITS,
    memLevel: DEFLATE_MEM_LEVEL,
    strategy: zlib.constants.Z_DEFAULT_STRATEGY,
    chunkSize: 256 * 1024,
    writableHighWaterMark: ENGINE_HIGH_WATER_MARK,
  };
  return zlib.createGzip(options);
}

function pakoOptions() {
  return {
    level: GZIP_LEVEL,
    windowBits: DEFLATE_WINDOW_BITS,
    memLevel: DEFLATE_MEM_LEVEL,
    strategy: 0 as const,
    gzip: true,
    // pako's default hash, the one Chromium's zlib (bundled by Node) uses; the classic one differs.
    legacyHash: false,
    chunkSize: 256 * 1024,
  };
}

/** pako's streaming deflate as a Transform: pure JavaScript, on the main thread, machine-independent. */
class PakoGzip extends Transform {
  private readonly deflate = new Deflate(pakoOptions());

  constructor() {
    super({ writableHighWaterMark: ENGINE_HIGH_WATER_MARK });
    // pako hands out each output buffer once and allocates a new one, so wrapping needs no copy.
    this.deflate.onData = (chunk) => {
      this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(this.deflate.push(chunk, false) ? null : pakoError(this.deflate.msg));
  }

  override _flush(callback: TransformCallback): void {
    callback(this.deflate.push(new Uint8Array(0), true) ? null : pakoError(this.deflate.msg));
  }
}

function pakoError(message: string): OciReproError {
  return new OciReproError('INTERNAL', `gzip compression failed (pako: ${message || 'unknown error'})`);
}

/**
 * Cuts its input into blocks of exactly COMPRESS_BLOCK_SIZE bytes for an inner compressor and passes the
 * compressed output on; for gzip it also writes our fixed header over the one the engine produced.
 */
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
  private emitted = 0;

  constructor(
    private readonly engine: Transform,
    private readonly gzip: boolean,
  ) {
    super();
    engine.on('data', (chunk: Buffer) => {
      if (this.gzip && this.emitted < GZIP_HEADER.length && !this.fixHeader(chunk)) return;
      this.emitted += chunk.length;
      this.push(chunk);
    });
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

  /** Overwrites header bytes in place; false (and the stream destroyed) if the engine wrote another kind. */
  private fixHeader(chunk: Buffer): boolean {
    const end = Math.min(chunk.length, GZIP_HEADER.length - this.emitted);
    for (let i = 0; i < end; i++) {
      const at = this.emitted + i;
      // Magic, method and flags must already match: with any flag set the header is longer than 10 bytes.
      if (at < 4 && chunk[i] !== GZIP_HEADER[at]) {
        this.destroy(new OciReproError('INTERNAL', `gzip engine wrote an unexpected header byte ${chunk[i]} at ${at}`));
        return false;
      }
      chunk[i] = GZIP_HEADER[at]!;
    }
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Choosing the gzip engine

let chosenGzipEngine: GzipEngine | undefined;

/**
 * The gzip engine this process uses, chosen by a probe at first use: Node's zlib (native, runs on the
 * libuv pool while the main thread parses and hashes) when it writes exactly what pako writes, else pako.
 *
 * Why the probe is enough: zlib and pako run the same algorithm (deflate_slow at level 6, a 32 KiB
 * window, memLevel 8), which is deterministic. What can make two builds differ is the hash function and
 * table size, the match-search limits, when blocks are cut (the symbol buffer size), how a block's type
 * (stored, fixed, dynamic) is chosen, window sliding, or the gzip framing. The probe input has data that
 * exercises each: text with many repeats (hash and chains, lazy matching), tar headers and long zero runs
 * (maximum-length matches), incompressible bytes (stored blocks), low-entropy binary, repeats just inside
 * and just beyond the 32 KiB window, and about 350 KiB in total, so the window slides many times and
 * there are many blocks. A different hash changes match choices within the first kilobytes; a different
 * block cut changes every block after it. A difference that only shows on data unlike all of that would
 * escape the probe; the golden test (golden/compression.json) is the backstop, run on every Node version
 * CI covers, and the canonical digest does not depend on compression anyway.
 *
 * The Node side is compressed in one call and pako's in many: deflate's output does not depend on how its
 * input is split (it only works ahead once a full look-ahead is buffered), which the tests check too.
 */
export function gzipEngine(): GzipEngine {
  chosenGzipEngine ??= probeGzipEngine();
  return chosenGzipEngine;
}

function probeGzipEngine(): GzipEngine {
  const input = buildProbeInput();
  let viaNode: Buffer;
  try {
    viaNode = zlib.gzipSync(input, {
      level: GZIP_LEVEL,
      windowBits: DEFLATE_WINDOW_BITS,
      memLevel: DEFLATE_MEM_LEVEL,
      strategy: zlib.constants.Z_DEFAULT_STRATEGY,
    });
  } catch {
    return 'pako';
  }
  if (viaNode.length < GZIP_HEADER.length || !viaNode.subarray(0, 4).equals(GZIP_HEADER.subarray(0, 4))) return 'pako';
  GZIP_HEADER.copy(viaNode, 0);

  const deflate = new Deflate(pakoOptions());
  const parts: Buffer[] = [];
  deflate.onData = (chunk) => parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  // Uneven pieces, as a stream would bring them.
  for (let offset = 0, piece = 40_000; offset < input.length; offset += piece, piece += 7_919) {
    deflate.push(input.subarray(offset, offset + piece), false);
  }
  if (!deflate.push(new Uint8Array(0), true)) return 'pako';
  const viaPako = Buffer.concat(parts);
  GZIP_HEADER.copy(viaPako, 0);
  return viaNode.equals(viaPako) ? 'node-zlib' : 'pako';
}

/** About 350 KiB mixing the kinds of data a layer holds; built from a fixed seed, never random. */
function buildProbeInput(): Buffer {
  let state = 0x2545f491;
  const next = () => {
    // xorshift32: small, fast, and the same everywhere.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const words = ['usr', 'lib', 'share', 'doc', 'bin', 'python3', 'site-packages', 'x86_64-linux-gnu', 'libc.so.6',
    'README', 'copyright', 'changelog.Debian.gz', 'locale', 'en_US', 'LC_MESSAGES', 'config', '__init__.py'];
  const opcodes = [0x00, 0x48, 0x89, 0xe5, 0xc3, 0xff, 0x8b, 0x0f];
  const parts: Buffer[] = [];
  for (let round = 0; round < 3; round++) {
    // A tar header: a path, octal fields, and zero padding.
    const header = Buffer.alloc(512);
    header.write(`${words[round]}/${words[round + 4]}/${words[(round * 7) % words.length]}`, 0, 'latin1');
    header.write('0000644', 100, 'latin1');
    header.write('0000000', 108, 'latin1');
    header.write('0000000', 116, 'latin1');
    header.write((next() % 0o777777).toString(8).padStart(11, '0'), 124, 'latin1');
    header.write('ustar', 257, 'latin1');
    parts.push(header);
    // Text: lines of paths and numbers, with plenty of repeats.
    const lines: string[] = [];
    for (let i = 0, size = 0; size < 40 * 1024; i++) {
      const line = `${words[next() % words.length]}/${words[next() % words.length]}:${i} ${next() % 1000} ok\n`;
      lines.push(line);
      size += line.length;
    }
    parts.push(Buffer.from(lines.join(''), 'latin1'));
    // Incompressible bytes: stored blocks.
    const noise = Buffer.alloc(24 * 1024);
    for (let i = 0; i < noise.length; i += 4) noise.writeUInt32LE(next(), i);
    parts.push(noise);
    // Low-entropy binary, like machine code or tables: few distinct byte values.
    const binary = Buffer.alloc(32 * 1024);
    for (let i = 0; i < binary.length; i++) binary[i] = opcodes[next() & 7]!;
    parts.push(binary);
    // Long zero runs (tar padding) and a short period repeated past the maximum match length.
    parts.push(Buffer.alloc(6000 + round * 1000));
    parts.push(Buffer.from('abcabcabd'.repeat(700), 'latin1'));
    // Repeats of earlier data from just inside and just beyond the 32 KiB window.
    const sofar = Buffer.concat(parts);
    parts.push(sofar.subarray(sofar.length - 32_700, sofar.length - 32_700 + 4096));
    parts.push(sofar.subarray(sofar.length - 40_000, sofar.length - 40_000 + 4096));
  }
  return Buffer.concat(parts);
}
