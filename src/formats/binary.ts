/**
 * Where two byte streams differ: how many bytes, the first few differing ranges (merged when close)
 * and an aligned hexdump of each side per range. One lockstep pass over both streams, holding at most
 * one chunk of each plus a few small dumps, so memory is bounded whatever the sizes; sizes may differ
 * (the longer side's tail counts as differing bytes).
 */

export interface BinaryRange {
  /** First differing byte offset. */
  start: number;
  /** One past the last differing byte of the range. */
  end: number;
  /** Hexdump rows of each side, 16 bytes a row from `start` rounded down to 16: `00000010  de ad …  |..|`. */
  hexA: string[];
  hexB: string[];
}

export interface BinaryComparison {
  sizeA: number;
  sizeB: number;
  /** Bytes that differ at the same offset, plus the longer side's extra bytes. */
  differingBytes: number;
  /** The first ranges, in offset order. */
  ranges: BinaryRange[];
  /** Further ranges found but not listed. */
  moreRanges: number;
}

export interface BinaryOptions {
  /** How many ranges to list (default 4). */
  maxRanges?: number;
  /** Differences at most this many equal bytes apart are one range (default 16). */
  mergeGap?: number;
  /** Bytes shown per range and side (default 64, four rows). */
  maxDumpBytes?: number;
}

const rowBytes = 16;
const subBlock = 256;
const empty = Buffer.alloc(0);

interface Capture {
  range: BinaryRange;
  from: number;
  a: Buffer;
  b: Buffer;
  lenA: number;
  lenB: number;
}

/** Compares two byte streams (Readable streams, async generators of chunks). */
export async function compareByteStreams(
  streamA: AsyncIterable<Uint8Array>,
  streamB: AsyncIterable<Uint8Array>,
  options: BinaryOptions = {},
): Promise<BinaryComparison> {
  const maxRanges = options.maxRanges ?? 4;
  const mergeGap = options.mergeGap ?? 16;
  const dumpCap = Math.max(rowBytes, Math.ceil((options.maxDumpBytes ?? 64) / rowBytes) * rowBytes);
  const readerA = chunkReader(streamA);
  const readerB = chunkReader(streamB);
  const ranges: BinaryRange[] = [];
  const captures: Capture[] = [];
  let moreRanges = 0;
  let differing = 0;
  let open: { end: number; range?: BinaryRange } | undefined;
  let pos = 0;
  // The 16 bytes before the current piece on each side, for a dump row that starts before it.
  let tailA: Buffer = Buffer.alloc(0);
  let tailB: Buffer = Buffer.alloc(0);

  const noteRun = (start: number, end: number): void => {
    differing += end - start;
    if (open && start - open.end <= mergeGap) {
      open.end = end;
      if (open.range) open.range.end = end;
      return;
    }
    if (ranges.length < maxRanges) {
      const range: BinaryRange = { start, end, hexA: [], hexB: [] };
      ranges.push(range);
      const from = start - (start % rowBytes);
      captures.push({ range, from, a: Buffer.alloc(dumpCap), b: Buffer.alloc(dumpCap), lenA: 0, lenB: 0 });
      open = { end, range };
    } else {
      moreRanges++;
      open = { end };
    }
  };

  // Copies the bytes of [from, from + cap) that this piece (and the tail before it) holds into each
  // dump; a piece no dump wants (the usual case) is not copied at all.
  let seenA = 0;
  let seenB = 0;
  const fill = (pieceA: Buffer, pieceB: Buffer): void => {
    const startA = seenA - tailA.length;
    const startB = seenB - tailB.length;
    const wantsA = captures.filter((c) => wants(c.from + c.lenA, c.lenA, startA, seenA + pieceA.length));
    const wantsB = captures.filter((c) => wants(c.from + c.lenB, c.lenB, startB, seenB + pieceB.length));
    if (wantsA.length > 0) {
      const window = Buffer.concat([tailA, pieceA]);
      for (const c of wantsA) c.lenA = copyInto(c.a, c.lenA, c.from, window, startA);
    }
    if (wantsB.length > 0) {
      const window = Buffer.concat([tailB, pieceB]);
      for (const c of wantsB) c.lenB = copyInto(c.b, c.lenB, c.from, window, startB);
    }
    seenA += pieceA.length;
    seenB += pieceB.length;
    tailA = lastBytes(tailA, pieceA);
    tailB = lastBytes(tailB, pieceB);
  };
  // A dump wants this window when its next byte lies in it; one whose side has ended past it never will.
  const wants = (next: number, filled: number, windowStart: number, windowEnd: number): boolean =>
    filled < dumpCap && next >= windowStart && next < windowEnd;

  for (;;) {
    const [pa, pb] = await Promise.all([readerA.peek(), readerB.peek()]);
    if (!pa && !pb) break;
    if (pa && pb) {
      const n = Math.min(pa.length, pb.length);
      const a = pa.subarray(0, n);
      const b = pb.subarray(0, n);
      if (!a.equals(b)) findRuns(a, b, pos, noteRun);
      fill(a, b);
      readerA.consume(n);
      readerB.consume(n);
      pos += n;
      continue;
    }
    // One side has ended: the other's remaining bytes all differ.
    const rest = (pa ?? pb)!;
    noteRun(pos, pos + rest.length);
    fill(pa ? rest : empty, pa ? empty : rest);
    (pa ? readerA : readerB).consume(rest.length);
    pos += rest.length;
  }

  for (const capture of captures) {
    const shown = Math.min(dumpCap, roundUp(capture.range.end) - capture.from);
    capture.range.hexA = hexRows(capture.a.subarray(0, Math.min(capture.lenA, shown)), capture.from, shown);
    capture.range.hexB = hexRows(capture.b.subarray(0, Math.min(capture.lenB, shown)), capture.from, shown);
  }
  return { sizeA: readerA.total, sizeB: readerB.total, differingBytes: differing, ranges, moreRanges };
}

/** Reports each run of differing bytes of two equal-length pieces; equal sub-blocks are skipped by memcmp. */
function findRuns(a: Buffer, b: Buffer, base: number, noteRun: (start: number, end: number) => void): void {
  let runStart = -1;
  for (let block = 0; block < a.length; block += subBlock) {
    const blockEnd = Math.min(a.length, block + subBlock);
    if (a.subarray(block, blockEnd).equals(b.subarray(block, blockEnd))) {
      if (runStart >= 0) {
        noteRun(base + runStart, base + block);
        runStart = -1;
      }
      continue;
    }
    for (let i = block; i < blockEnd; i++) {
      if (a[i] !== b[i]) {
        if (runStart < 0) runStart = i;
      } else if (runStart >= 0) {
        noteRun(base + runStart, base + i);
        runStart = -1;
      }
    }
  }
  if (runStart >= 0) noteRun(base + runStart, base + a.length);
}

/** Copies window bytes at offsets [from + filled, from + capacity) into `into`; returns the new fill. */
function copyInto(into: Buffer, filled: number, from: number, window: Buffer, windowStart: number): number {
  const want = from + filled;
  if (filled >= into.length || want < windowStart || want >= windowStart + window.length) return filled;
  const copied = window.copy(into, filled, want - windowStart, Math.min(window.length, want - windowStart + into.length - filled));
  return filled + copied;
}

/** The last row's worth of bytes of `tail` followed by `piece`, copied so no chunk is kept alive. */
function lastBytes(tail: Buffer, piece: Buffer): Buffer {
  if (piece.length >= rowBytes) return Buffer.from(piece.subarray(piece.length - rowBytes));
  const joined = Buffer.concat([tail, piece]);
  return joined.subarray(Math.max(0, joined.length - rowBytes));
}

const roundUp = (n: number): number => Math.ceil(n / rowBytes) * rowBytes;

/** `00000010  de ad be ef …  |....|`; bytes the side lacks (past its end) are blank. */
export function hexRows(bytes: Uint8Array, from: number, length: number): string[] {
  const rows: string[] = [];
  for (let row = 0; row < length; row += rowBytes) {
    const hex: string[] = [];
    let text = '';
    for (let i = row; i < row + rowBytes; i++) {
      if (i < bytes.length) {
        const byte = bytes[i]!;
        hex.push(byte.toString(16).padStart(2, '0'));
        text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
      } else hex.push('  ');
    }
    rows.push(`${(from + row).toString(16).padStart(8, '0')}  ${hex.slice(0, 8).join(' ')}  ${hex.slice(8).join(' ')}  |${text}|`);
  }
  return rows;
}

interface ChunkReader {
  /** The unread part of the current chunk, reading the next when it is used up; undefined at the end. */
  peek(): Promise<Buffer | undefined>;
  consume(n: number): void;
  readonly total: number;
}

function chunkReader(stream: AsyncIterable<Uint8Array>): ChunkReader {
  const iterator = stream[Symbol.asyncIterator]();
  let current: Buffer | undefined;
  let done = false;
  let total = 0;
  return {
    async peek() {
      while (!done && (!current || current.length === 0)) {
        const next = await iterator.next();
        if (next.done) done = true;
        else {
          const chunk = next.value;
          current = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          total += current.length;
        }
      }
      return current && current.length > 0 ? current : undefined;
    },
    consume(n) {
      current = current?.subarray(n);
    },
    get total() {
      return total;
    },
  };
}
