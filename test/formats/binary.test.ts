// Streaming byte comparison: checked against a plain whole-buffer reference on random pairs and random
// chunkings, on hexdumps of a known pair, and for bounded memory on a large pair streamed lazily.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareByteStreams, hexRows } from '../../src/formats/binary.js';

/** Yields `bytes` in pieces of the given sizes (cycled), as a stream would. */
async function* chunked(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length]!);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

/** The reference: every offset below the longer size compared (a missing byte differs), runs merged by gap. */
function reference(a: Uint8Array, b: Uint8Array, maxRanges: number, mergeGap: number) {
  const runs: Array<[number, number]> = [];
  let differing = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length && i < b.length && a[i] === b[i]) continue;
    differing++;
    const last = runs[runs.length - 1];
    if (last && i - last[1] <= mergeGap) last[1] = i + 1;
    else runs.push([i, i + 1]);
  }
  return { differingBytes: differing, ranges: runs.slice(0, maxRanges), moreRanges: Math.max(0, runs.length - maxRanges) };
}

describe('compareByteStreams', () => {
  it('agrees with the whole-buffer reference on random pairs, sizes and chunkings', async () => {
    const pair = fc
      .uint8Array({ minLength: 0, maxLength: 600 })
      .chain((a) =>
        fc.record({
          a: fc.constant(a),
          // b: a with a few bytes changed, and a tail cut or added
          edits: fc.array(fc.tuple(fc.nat(700), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
          tail: fc.integer({ min: -40, max: 40 }),
          chunksA: fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 5 }),
          chunksB: fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 5 }),
          mergeGap: fc.integer({ min: 0, max: 20 }),
        }),
      );
    await fc.assert(
      fc.asyncProperty(pair, async ({ a, edits, tail, chunksA, chunksB, mergeGap }) => {
        let b = Uint8Array.from(a);
        for (const [at, value] of edits) if (at < b.length) b[at] = value;
        b = tail < 0 ? b.subarray(0, Math.max(0, b.length + tail)) : Uint8Array.from([...b, ...new Array(tail).fill(7)]);
        const got = await compareByteStreams(chunked(a, chunksA), chunked(b, chunksB), { maxRanges: 3, mergeGap });
        const want = reference(a, b, 3, mergeGap);
        expect(got.sizeA).toBe(a.length);
        expect(got.sizeB).toBe(b.length);
        expect(got.differingBytes).toBe(want.differingBytes);
        expect(got.ranges.map((r) => [r.start, r.end])).toEqual(want.ranges);
        expect(got.moreRanges).toBe(want.moreRanges);
        // each dump shows the side's own bytes from the row the range starts in
        for (const range of got.ranges) {
          const from = range.start - (range.start % 16);
          const rows = Math.min(4, Math.ceil((range.end - from) / 16));
          const shown = rows * 16;
          expect(range.hexA).toEqual(hexRows(a.subarray(from, Math.min(a.length, from + shown)), from, shown));
          expect(range.hexB).toEqual(hexRows(b.subarray(from, Math.min(b.length, from + shown)), from, shown));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('dumps each side aligned, with the bytes one side lacks left blank', async () => {
    const a = Buffer.from('0123456789abcdefGHIJKLMNOPQRSTUV');
    const b = Buffer.from('0123456789abcdefGHIJxLMNOPQ');
    const result = await compareByteStreams(chunked(a, [5]), chunked(b, [32]));
    expect(result).toMatchObject({ sizeA: 32, sizeB: 27, differingBytes: 6, moreRanges: 0 });
    expect(result.ranges).toEqual([
      {
        start: 20,
        end: 32,
        hexA: ['00000010  47 48 49 4a 4b 4c 4d 4e  4f 50 51 52 53 54 55 56  |GHIJKLMNOPQRSTUV|'],
        hexB: ['00000010  47 48 49 4a 78 4c 4d 4e  4f 50 51                 |GHIJxLMNOPQ|'],
      },
    ]);
    const same = await compareByteStreams(chunked(a, [3]), chunked(a, [7]));
    expect(same).toEqual({ sizeA: 32, sizeB: 32, differingBytes: 0, ranges: [], moreRanges: 0 });
  });

  it('a 256 MiB pair with scattered changes, streamed lazily in unequal chunks, is compared in bounded memory', async () => {
    const size = 256 * 1024 * 1024;
    const changes = [100, 104, 5_000_000, 150_000_000, size - 1];
    // Chunks made on demand (never the whole file): side A in 1 MiB pieces, side B in 640 KiB pieces.
    async function* lazy(piece: number, changed: boolean): AsyncGenerator<Buffer> {
      for (let at = 0; at < size; at += piece) {
        const chunk = Buffer.alloc(Math.min(piece, size - at), 0x41);
        if (changed) for (const c of changes) if (c >= at && c < at + chunk.length) chunk[c - at] = 0x42;
        yield chunk;
      }
    }
    const before = process.memoryUsage();
    let peak = 0;
    const timer = setInterval(() => {
      const now = process.memoryUsage();
      peak = Math.max(peak, now.arrayBuffers + now.heapUsed - before.arrayBuffers - before.heapUsed);
    }, 5);
    const result = await compareByteStreams(lazy(1024 * 1024, false), lazy(640 * 1024, true), { maxRanges: 3 });
    clearInterval(timer);
    expect(result.differingBytes).toBe(5);
    expect(result.ranges.map((r) => [r.start, r.end])).toEqual([[100, 105], [5_000_000, 5_000_001], [150_000_000, 150_000_001]]);
    expect(result.moreRanges).toBe(1);
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  });
});
