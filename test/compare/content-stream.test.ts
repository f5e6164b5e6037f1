import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachContentDetails, type ContentReader } from '../../src/compare/content.js';
import { readLayerFiles } from '../../src/compare/content-stream.js';
import { ContentSpool } from '../../src/normalize/spool.js';
import { contentDifference } from '../helpers/differences.js';
import { sha256Of } from '../helpers/digest.js';
import { buildTar, tarStream, type TestEntry } from '../helpers/tar.js';

const size = 200 * 1024;

/** A reader over one layer tar per side that counts how often each side's layer is opened. */
function tarReader(entries: { a: TestEntry[]; b: TestEntry[] }): ContentReader & { opened: string[] } {
  const opened: string[] = [];
  return {
    opened,
    async openTar(layer, side) {
      opened.push(`${side}:${layer}`);
      return tarStream(await buildTar(entries[side]), 8192);
    },
  };
}

async function spooledBytes(spool: ContentSpool, file: { offset: number; size: number }): Promise<Buffer> {
  await spool.finishWriting();
  const out = Buffer.alloc(file.size);
  spool.readInto(file.offset, file.size, out, 0);
  return out;
}

describe('readLayerFiles', () => {
  it('holds small files and spools large ones in one pass, last entry winning, hardlinks resolved', async () => {
    const first = randomBytes(size);
    const second = randomBytes(size);
    const tar = await buildTar([
      { name: './usr/', type: 'directory' },
      { name: './usr/big.so', content: first },
      { name: './usr/small.conf', content: 'x=1\n' },
      { name: './usr/big.so', content: second },
      { name: './usr/other', content: randomBytes(size) },
      { name: './usr/big-link', type: 'link', linkname: './usr/big.so' },
      { name: './usr/sym', type: 'symlink', linkname: 'big.so' },
    ]);
    const spool = new ContentSpool();
    try {
      const found = await readLayerFiles(tarStream(tar, 4096), new Set(['usr/small.conf']), new Set(['usr/big.so', 'usr/big-link', 'usr/sym']), 1024, spool);
      expect([...found.small.keys()]).toEqual(['usr/small.conf']);
      expect(found.small.get('usr/small.conf')!.toString()).toBe('x=1\n');
      expect([...found.large.keys()].sort()).toEqual(['usr/big-link', 'usr/big.so']);
      expect(found.large.get('usr/big.so')).toMatchObject({ size, digest: sha256Of(second) });
      expect(found.large.get('usr/big-link')).toEqual(found.large.get('usr/big.so'));
      expect(await spooledBytes(spool, found.large.get('usr/big.so')!)).toEqual(second);
      // Only the wanted files went to the spool: both entries of big.so, not `other`.
      expect(spool.size).toBe(2 * size);
    } finally {
      await spool.close();
    }
  });
});

describe('attachContentDetails with large files', () => {
  const a = randomBytes(size);
  const b = Buffer.from(a);
  b[0x9000] = b[0x9000]! ^ 1;
  b[0x20000] = b[0x20000]! ^ 1;

  it('reads each side once for small and large files together, and sets the large ones byte ranges', async () => {
    const big = contentDifference('usr/lib/big.so', a, b);
    const other = contentDifference('usr/lib/other.so', b, a);
    const small = contentDifference('etc/app.conf', Buffer.from('x=1\n'), Buffer.from('x=2\n'));
    const reader = tarReader({
      a: [{ name: 'etc/app.conf', content: 'x=1\n' }, { name: 'usr/lib/big.so', content: a }, { name: 'usr/lib/other.so', content: b }],
      b: [{ name: 'usr/lib/other.so', content: a }, { name: 'usr/lib/big.so', content: b }, { name: 'etc/app.conf', content: 'x=2\n' }],
    });
    await attachContentDetails([big, small, other], reader);
    expect(reader.opened).toEqual(['a:0', 'b:0']);
    const ranges = [
      { start: 0x9000, end: 0x9001 },
      { start: 0x20000, end: 0x20001 },
    ];
    expect(big.detail).toMatchObject({ format: 'binary', differingBytes: 2, ranges, moreRanges: 0 });
    expect(other.detail).toMatchObject({ format: 'binary', differingBytes: 2, ranges });
    expect(small.detail).toMatchObject({ format: 'unified' });
  });

  it('keeps the detail on a digest mismatch, for a neutralized difference, past maxFiles, or when ranges are not worth a pass', async () => {
    const entries = { a: [{ name: 'usr/lib/big.so', content: a }], b: [{ name: 'usr/lib/big.so', content: b }] };
    const before = structuredClone(contentDifference('usr/lib/big.so', a, b).detail);

    const mismatch = contentDifference('usr/lib/big.so', a, b);
    await attachContentDetails([mismatch], tarReader({ ...entries, b: [{ name: 'usr/lib/big.so', content: randomBytes(size) }] }));
    expect(mismatch.detail).toEqual(before);

    const neutralized = contentDifference('usr/lib/big.so', a, b, { neutralized: true });
    const unread = tarReader(entries);
    await attachContentDetails([neutralized], unread);
    expect(neutralized.detail).toEqual(before);
    expect(unread.opened).toEqual([]);

    const explained = contentDifference('usr/lib/big.so', a, b, { cause: { id: 'apt-cache', title: 'apt caches' } });
    const skipped = tarReader(entries);
    await attachContentDetails([explained], skipped, undefined, undefined, { wantsRanges: (d) => d.cause === null });
    expect(explained.detail).toEqual(before);
    expect(skipped.opened).toEqual([]);

    // Not wanted, but its layer is read anyway for a small file: the ranges come from that pass.
    const riding = contentDifference('usr/lib/big.so', a, b, { cause: { id: 'apt-cache', title: 'apt caches' } });
    const withSmall = tarReader({
      a: [...entries.a, { name: 'etc/app.conf', content: 'x=1\n' }],
      b: [...entries.b, { name: 'etc/app.conf', content: 'x=2\n' }],
    });
    const small = contentDifference('etc/app.conf', Buffer.from('x=1\n'), Buffer.from('x=2\n'));
    await attachContentDetails([riding, small], withSmall, undefined, undefined, { wantsRanges: (d) => d.cause === null });
    expect(riding.detail).toMatchObject({ differingBytes: 2 });
    expect(withSmall.opened).toEqual(['a:0', 'b:0']);

    // The same difference wanted: the pass happens and the ranges are set.
    const wanted = contentDifference('usr/lib/big.so', a, b);
    await attachContentDetails([wanted], tarReader(entries), undefined, undefined, { wantsRanges: (d) => d.cause === null });
    expect(wanted.detail).toMatchObject({ differingBytes: 2 });

    const many = Array.from({ length: 9 }, () => contentDifference('usr/lib/big.so', a, b));
    await attachContentDetails(many, tarReader(entries));
    expect(many.map((d) => d.detail?.format === 'binary' && d.detail.differingBytes)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, undefined]);
  });

  it('rejects with the stream error and leaves no spool behind', async () => {
    const reader: ContentReader = {
      async openTar() {
        const stream = tarStream(await buildTar([{ name: 'usr/lib/big.so', content: a }]), 8192);
        stream.once('data', () => stream.destroy(new Error('digest mismatch')));
        return stream;
      },
    };
    const dir = await mkdtemp(join(tmpdir(), 'content-stream-'));
    try {
      await expect(attachContentDetails([contentDifference('usr/lib/big.so', a, b)], reader, undefined, undefined, { tempDir: dir })).rejects.toThrow('digest mismatch');
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
