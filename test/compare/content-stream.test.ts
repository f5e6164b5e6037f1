import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { attachStreamedRanges, streamFileFromTar, type ContentOpener } from '../../src/compare/content-stream.js';
import type { Difference } from '../../src/diff/model.js';
import { sha256Of } from '../helpers/digest.js';
import { buildTar, tarStream } from '../helpers/tar.js';

const size = 200 * 1024;

function largeDifference(a: Buffer, b: Buffer): Difference {
  return {
    kind: 'file-attribute',
    path: 'layers/0/usr/lib/big.so#content',
    layer: 0,
    file: 'usr/lib/big.so',
    attribute: 'content',
    a: sha256Of(a),
    b: sha256Of(b),
    neutralized: false,
    cause: null,
    detail: { format: 'binary', sizeA: a.length, sizeB: b.length, digestA: sha256Of(a), digestB: sha256Of(b) },
  } as Difference;
}

describe('streamFileFromTar', () => {
  it('streams one file in chunks and stops reading the tar after it', async () => {
    const content = randomBytes(size);
    const tar = await buildTar([
      { name: 'usr/', type: 'directory' },
      { name: 'usr/lib/big.so', content },
      { name: 'usr/lib/after', content: randomBytes(size) },
    ]);
    const stream = tarStream(tar, 16 * 1024);
    const chunks: Buffer[] = [];
    for await (const chunk of streamFileFromTar(stream, 'usr/lib/big.so')) chunks.push(Buffer.from(chunk));
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks)).toEqual(content);
    // Closed before the last file's data was read.
    expect(stream.destroyed).toBe(true);
    expect(stream.readableEnded).toBe(false);
  });

  it('yields nothing for a path the tar lacks, or one that is not a regular file', async () => {
    const tar = await buildTar([{ name: 'link', type: 'symlink', linkname: 'x' }]);
    const read = async (path: string) => {
      const out: Buffer[] = [];
      for await (const chunk of streamFileFromTar(tarStream(tar), path)) out.push(chunk);
      return out;
    };
    expect(await read('link')).toEqual([]);
    expect(await read('absent')).toEqual([]);
  });
});

describe('attachStreamedRanges', () => {
  const a = randomBytes(size);
  const b = Buffer.from(a);
  b[0x9000] = b[0x9000]! ^ 1;
  b[0x20000] = b[0x20000]! ^ 1;
  const opener = (files: { a: Buffer; b: Buffer }): ContentOpener => async (_layer, side) => tarStream(files[side], 8192) as AsyncIterable<Buffer>;

  it('sets the differing ranges of a file over the content limit from both streams', async () => {
    const difference = largeDifference(a, b);
    await attachStreamedRanges([difference], opener({ a, b }));
    expect(difference.detail).toMatchObject({
      format: 'binary',
      differingBytes: 2,
      ranges: [
        { start: 0x9000, end: 0x9001 },
        { start: 0x20000, end: 0x20001 },
      ],
      moreRanges: 0,
    });
  });

  it('keeps the detail when a stream is not the file the table digested or the difference is neutralized, and stops after maxFiles', async () => {
    const difference = largeDifference(a, b);
    const before = structuredClone(difference.detail);
    await attachStreamedRanges([difference], opener({ a, b: randomBytes(size) }));
    expect(difference.detail).toEqual(before);
    const neutralized = { ...largeDifference(a, b), neutralized: true } as Difference;
    await attachStreamedRanges([neutralized], opener({ a, b }));
    expect(neutralized.detail).toEqual(before);
    const capped = [largeDifference(a, b), largeDifference(a, b)];
    await attachStreamedRanges(capped, opener({ a, b }), 1);
    expect(capped.map((d) => d.detail?.format === 'binary' && d.detail.differingBytes)).toEqual([2, undefined]);
  });
});
