/**
 * Reading layers: the magic bytes of a blob are checked against the compression its media type declares,
 * and the blob is inflated as a stream.
 */
import { PassThrough, type Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { OciReproError, badInput, corruptArchive, unsupported } from '../errors.js';
import type { Compression } from './media-types.js';
import { createZstdDecompressor, zstdUnavailable } from './compression-zstd.js';
import { isTarHeader } from '../tar/blocks.js';

/** Inflate output chunk size: with zlib's 16 KiB default, inflating a layer took 1.5 times as long. */
const DECOMPRESS_CHUNK_SIZE = 1024 * 1024;


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
      const decompressor = found === 'gzip' ? zlib.createGunzip({ chunkSize: DECOMPRESS_CHUNK_SIZE }) : createZstdDecompressor();
      if (!decompressor) {
        raw.destroy();
        reject(zstdUnavailable(what, 'read'));
        return;
      }
      resolve(continueAfterHead(raw, head, ended, { compression: found, decompressor }, what));
    });
  });
}

/**
 * The rest of `raw` after its first bytes `head`, through `inflate`'s decompressor if there is one. Data and
 * errors start at the first read: an error of `raw` that comes before the caller listens (a small blob
 * that fails its digest check while the caller is still awaiting this stream) waits for that read
 * instead of being thrown.
 */
function continueAfterHead(
  raw: Readable,
  head: Buffer,
  ended: boolean,
  inflate: { compression: 'gzip' | 'zstd'; decompressor: Transform } | undefined,
  what: string,
): Readable {
  const decompressor = inflate?.decompressor;
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
  decompressor?.on('error', (error) => fail(decompressError(error, inflate!.compression, what)));
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
