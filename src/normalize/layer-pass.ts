/** One layer pass: decompress, diff_id check, normalizeLayer, optional recompression to a temp file. */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { environmentErrno, OciReproError, withContext, writeContext } from '../errors.js';
import { createCompressor, openDecompressed, releasesChunks, type GzipEngine } from '../image/compression.js';
import { HashingStream, VerifyingStream } from '../image/digest.js';
import type { Compression } from '../image/media-types.js';
import { chain } from '../image/stream.js';
import type { LayerSummary } from './entry.js';
import { normalizeLayer, type KnownDigests } from './layer.js';
import type { NormalizeOptions } from './options.js';

/** What a layer pass needs. */
export interface LayerTask {
  /** Context of every message: `layer N (digest) of REFERENCE`. */
  what: string;
  compression: Compression;
  diffId: string;
  normalize: NormalizeOptions;
  /** Per-file content digests in the table (default true); see NormalizeLayerOptions.contentDigests. */
  contentDigests?: boolean;
  /**
   * Recompress the canonical tar to this file; with `sync`, fsync it when written (for a file that
   * will be linked into place rather than copied: it must be on disk, and this is before other
   * layers are done, not after).
   */
  output?: { compression: Compression; path: string; gzipEngine?: GzipEngine; sync?: boolean };
  /** See NormalizeLayerOptions.known: a table-only pass. Not with `output`. */
  known?: KnownDigests;
  /** Sees the uncompressed tar as the pass reads it (not with `output`). */
  tap?: TarTap;
}

/**
 * Sees every byte of a layer's uncompressed tar as the pass reads it, so a caller can take what it
 * needs from the same read (verify: the changed files' contents). `end` is called only when the whole
 * tar was read; a tap that fails must keep its error to itself (the pass reports the layer's own).
 */
export interface TarTap {
  push(chunk: Buffer): void;
  /** True while the tap has too many bytes in flight: the pass waits on `drain`. */
  readonly needsDrain: boolean;
  drain(): Promise<void>;
  end(): void;
}

export interface LayerPassResult {
  summary: LayerSummary;
  /** With `output`: digest and size of the file written. */
  blob?: { digest: string; size: number };
}

/**
 * Runs one layer pass over the verified blob bytes that `openBlob` gives (called again when an
 * out-of-order layer has to be read a second time). Errors carry the layer context.
 */
export async function runLayerPass(task: LayerTask, openBlob: () => Promise<Readable>): Promise<LayerPassResult> {
  const { what, contentDigests } = task;
  try {
    // The pass hashes the whole tar anyway: for sha256 it checks the diff_id itself (one hash, not two).
    // A table-only pass (`known`) hashes no tar: the blob check of this read and the diff_id check of
    // the earlier one over the same bytes stand for it.
    const checkedByPass = task.diffId.startsWith('sha256:') || (task.known !== undefined && !task.output);
    const expectTarDigest = checkedByPass && task.known === undefined ? { digest: task.diffId, what: `${what}: diff_id` } : undefined;
    const openTar = async (): Promise<Readable> => {
      const tar = await openDecompressed(await openBlob(), task.compression, what);
      return checkedByPass ? tar : chain(tar, new VerifyingStream(task.diffId, `${what}: diff_id`));
    };
    if (!task.output) {
      // Without output, an in-order layer is hashed in one pass and an unordered one read twice, not spooled.
      const tar = task.tap ? Readable.from(tapped(await openTar(), task.tap)) : await openTar();
      const summary = await normalizeLayer(tar, { ...task.normalize, reopen: openTar, expectTarDigest, contentDigests, known: task.known });
      return { summary };
    }
    const tar = await openTar();
    const compressor = createCompressor(task.output.compression, { gzipEngine: task.output.gzipEngine });
    const hashing = new HashingStream();
    const { path } = task.output;
    let writeFailure: unknown;
    const written = pipeline(compressor, hashing, createWriteStream(path, { highWaterMark: 1 << 20, mode: 0o644, flush: task.output.sync ?? false }));
    // normalizeLayer destroys the compressor on failure; its error is the one to report, not this one...
    written.catch((error: unknown) => (writeFailure = error));
    try {
      const summary = await normalizeLayer(tar, {
        ...task.normalize,
        output: compressor,
        outputReleasesChunks: releasesChunks(compressor),
        expectTarDigest,
        contentDigests,
      });
      await written;
      return { summary, blob: { digest: hashing.digest!, size: hashing.size } };
    } catch (error) {
      // ...unless the disk refused the file (full, read-only): then name the file.
      await Promise.race([written.catch(() => {}), new Promise((resolve) => setImmediate(resolve))]);
      const failure = writeFailure ?? error;
      if (!(failure instanceof OciReproError) && environmentErrno(failure, true)) throw writeContext(`cannot write ${path}`, failure);
      throw error;
    }
  } catch (error) {
    throw withContext(what, error);
  }
}

/** The tar's chunks, each also given to `tap`; `tap.end()` once the tar ended. */
async function* tapped(tar: Readable, tap: TarTap): AsyncGenerator<Buffer> {
  for await (const chunk of tar) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer);
    yield buffer;
    tap.push(buffer);
    if (tap.needsDrain) await tap.drain();
  }
  tap.end();
}
