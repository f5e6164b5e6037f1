/**
 * Changed files too large to read whole (over the content limit): where their bytes differ, computed
 * while both sides stream from their layers in lockstep (formats/binary.ts), so neither file is ever
 * held; memory is one chunk of each side plus a few small hexdumps. Each file costs a read of its layer
 * on each side up to that file, so only the first `maxStreamedFiles` such files are compared.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { compareByteStreams } from '../formats/binary.js';
import { canonicalizePath } from '../normalize/entry.js';
import { memberKind } from '../tar/blocks.js';
import type { TarHeader } from '../tar/decode.js';
import { TarReader, type TarHandler } from '../tar/reader.js';
import type { Difference } from '../diff/model.js';

/** Opens one regular file of one layer of one image as a stream of chunks, or undefined when it cannot. */
export type ContentOpener = (layerIndex: number, side: 'a' | 'b', path: string) => Promise<AsyncIterable<Buffer> | undefined>;

/** Large changed files compared byte by byte per report; the rest keep sizes and digests. */
export const maxStreamedFiles = 8;

/**
 * Sets the differing byte ranges on `content` differences that are not neutralized and whose binary
 * detail has none yet (files over the content limit), streaming both sides through `open`. A side whose streamed bytes do not match the
 * entry table's digest (another entry of the same path, a hardlink) leaves the detail as it was.
 */
export async function attachStreamedRanges(differences: Difference[], open: ContentOpener, maxFiles = maxStreamedFiles): Promise<void> {
  let done = 0;
  for (const difference of differences) {
    if (done >= maxFiles) return;
    // Neutralized ones do not count against the build: not worth a read of their layers.
    if (difference.kind !== 'file-attribute' || difference.attribute !== 'content' || difference.neutralized) continue;
    const detail = difference.detail;
    if (detail?.format !== 'binary' || detail.differingBytes !== undefined) continue;
    const layerA = difference.origin?.a ?? difference.layer;
    const layerB = difference.origin?.b ?? difference.layer;
    if (layerA == null || layerB == null) continue;
    const [streamA, streamB] = await Promise.all([open(layerA, 'a', difference.file), open(layerB, 'b', difference.file)]);
    if (streamA === undefined || streamB === undefined) continue;
    done++;
    const hashA = createHash('sha256');
    const hashB = createHash('sha256');
    const found = await compareByteStreams(hashing(streamA, hashA), hashing(streamB, hashB));
    if (`sha256:${hashA.digest('hex')}` !== detail.digestA || `sha256:${hashB.digest('hex')}` !== detail.digestB) continue;
    difference.detail = { ...detail, differingBytes: found.differingBytes, ranges: found.ranges, moreRanges: found.moreRanges };
  }
}

async function* hashing(chunks: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    hash.update(chunk);
    yield chunk;
  }
}

/**
 * The content of the regular file `path` (a canonical table path, or the name exactly as stored) of an
 * uncompressed layer tar, as it streams: the tar is read only up to the end of that file, then closed.
 * The first regular-file entry of the path is streamed; the caller checks the digest (a later entry of
 * the same path, which the layer applies instead, gives a mismatch there).
 */
export async function* streamFileFromTar(tar: Readable, path: string): AsyncGenerator<Buffer> {
  const pending: Buffer[] = [];
  // An object, not a let: the handler's calls change it between the loop's reads.
  const at: { state: 'before' | 'in' | 'done' } = { state: 'before' };
  const handler: TarHandler = {
    entry(header: TarHeader): boolean {
      if (at.state !== 'before' || header.name === null) return false;
      const kind = memberKind(header.typeflag, header.name);
      if (kind !== 'file') return false;
      if (canonicalizePath(header.name, false) !== path && header.name !== path) return false;
      if (header.size === 0) {
        at.state = 'done';
        return false;
      }
      at.state = 'in';
      return true;
    },
    content(slice) {
      // A view of the pushed chunk, which is not reused: no copy needed.
      pending.push(slice);
    },
    contentEnd() {
      at.state = 'done';
    },
  };
  const reader = new TarReader(handler);
  try {
    for await (const chunk of tar) {
      reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer));
      while (pending.length > 0) yield pending.shift()!;
      if (at.state === 'done') return;
    }
  } finally {
    tar.destroy();
  }
}
