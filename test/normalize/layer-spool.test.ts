/**
 * Large layers: an unordered one is spooled to one temp file (unlinked at once, closed afterwards), an ordered
 * one (with `reopen`) is not spooled at all, and memory stays flat as the layer grows.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { createCompressor, releasesChunks } from '../../src/image/compression.js';
import { normalizeLayer } from '../../src/normalize/layer.js';
import { ContentSpool } from '../../src/normalize/spool.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { syntheticTar, type SyntheticFile } from '../helpers/tar.js';
import { sha256Of } from '../helpers/digest.js';

const work = mkdtempSync(join(tmpdir(), 'oci-repro-layer-spool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Big files and many small ones, named so that `sorted` is the canonical order. */
function files(bigCount: number, bigSize: number, smallCount: number): SyntheticFile[] {
  const list: SyntheticFile[] = [];
  for (let i = 0; i < bigCount; i++) list.push({ name: `big/${String(i).padStart(3, '0')}.bin`, size: bigSize, seed: 1000 + i });
  for (let i = 0; i < smallCount; i++) {
    list.push({ name: `small/${String(i).padStart(5, '0')}.txt`, size: (i * 7919) % 20_000, seed: i });
  }
  return list;
}

/** Calls `probe` once, after `atBytes` bytes have gone through. */
function probed(source: Readable, atBytes: number, probe: () => void): Readable {
  let seen = 0;
  let fired = false;
  const through = new PassThrough({ highWaterMark: 1 << 20 });
  source.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (!fired && seen >= atBytes) {
      fired = true;
      probe();
    }
  });
  return source.pipe(through);
}

/**
 * The spool files this process holds open in `dir`. A spool is unlinked as soon as it is open, so it
 * shows only among the descriptors, as `DIR/oci-repro-spool-… (deleted)`; the directory stays empty.
 */
function spoolFiles(dir: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the readdir's own descriptor)
    }
    if (target.startsWith(join(dir, 'oci-repro-spool-'))) open.push(target);
  }
  return open;
}

describe('the content spool', () => {
  test('reads back exactly what was appended, in memory and after spilling to its file', async () => {
    for (const memoryLimit of [0, 3 << 20, 64 << 20]) {
      const dir = mkdtempSync(join(work, 'unit-'));
      const spool = new ContentSpool(dir, memoryLimit);
      const pieces: Array<{ offset: number; data: Buffer }> = [];
      let seed = 1;
      for (const size of [0, 100, 300_000, 5000, 1 << 20, 70_000, 3, 2 << 20, 900_000, 1_048_000, 511]) {
        const data = Buffer.alloc(size);
        for (let i = 0; i < size; i++) data[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
        pieces.push({ offset: spool.append(data), data });
      }
      await spool.finishWriting();
      expect(spool.spilled, String(memoryLimit)).toBe(memoryLimit < spool.size);
      // Only a descriptor holds a spilled spool: nothing to leave behind if the process dies now.
      expect(readdirSync(dir)).toEqual([]);
      expect(spoolFiles(dir).map((target) => target.endsWith(' (deleted)'))).toEqual(spool.spilled ? [true] : []);
      for (const { offset, data } of [...pieces].reverse()) {
        const back = Buffer.alloc(data.length + 2);
        spool.readInto(offset, data.length, back, 1);
        expect(back.subarray(1, -1).equals(data), `${memoryLimit} @${offset}`).toBe(true);
      }
      await spool.close();
      expect(spoolFiles(dir)).toEqual([]);
    }
  });
});

describe('spooling', () => {
  const list = files(6, 8 << 20, 3000); // about 80 MB
  const unordered = [...list].reverse();

  test('an unordered layer is spooled to one temp file, unlinked while in use and closed afterwards', async () => {
    const spoolDir = mkdtempSync(join(work, 'spool-'));
    let during: string[] = [];
    const tar = probed(syntheticTar(unordered), 60 << 20, () => (during = spoolFiles(spoolDir)));
    const summary = await normalizeLayer(tar, { ...defaultNormalizeOptions, spoolDir });
    expect(during).toHaveLength(1);
    expect(spoolFiles(spoolDir)).toEqual([]);
    expect(readdirSync(spoolDir)).toEqual([]);
    expect(summary.inCanonicalOrder).toBe(false);
    expect(summary.entries.map((e) => e.path)).toEqual(list.map((f) => f.name));

    // The same files in canonical order, hashed in the pass without spooling, give the same digest.
    const orderedDir = mkdtempSync(join(work, 'spool-'));
    let duringOrdered: string[] = ['not probed'];
    const ordered = await normalizeLayer(
      probed(syntheticTar(list), 60 << 20, () => (duringOrdered = spoolFiles(orderedDir))),
      { ...defaultNormalizeOptions, spoolDir: orderedDir, reopen: () => syntheticTar(list) },
    );
    expect(duringOrdered).toEqual([]);
    expect(ordered.inCanonicalOrder).toBe(true);
    expect(ordered.canonicalDigest).toBe(summary.canonicalDigest);
    expect(ordered.tarDigest).not.toBe(summary.tarDigest);
  });

  test('contents read back in windows give the same canonical tar in any input order', async () => {
    // 120 directories of 25 small files (and a large one every few directories), about 30 MB: spilled.
    const sorted: SyntheticFile[] = [];
    for (let d = 0; d < 120; d++) {
      for (let f = 0; f < 25; f++) {
        const size = f === 12 && d % 7 === 0 ? 300_000 : (d * 7919 + f * 104_729) % 20_000;
        sorted.push({ name: `d${String(d).padStart(3, '0')}/f${String(f).padStart(2, '0')}`, size, seed: d * 100 + f });
      }
    }
    let state = 12345;
    const random = (n: number) => (state = (state * 1103515245 + 12345) >>> 0) % n;
    const shuffle = <T>(list: T[]): T[] => {
      for (let i = list.length - 1; i > 0; i--) {
        const j = random(i + 1);
        [list[i], list[j]] = [list[j]!, list[i]!];
      }
      return list;
    };
    // readdir order: each directory's files together, shuffled, and the directories shuffled too.
    const byDir = shuffle(Array.from({ length: 120 }, (_, d) => sorted.slice(d * 25, d * 25 + 25)));
    const readdirOrder = byDir.flatMap((files) => shuffle([...files]));
    const scattered = shuffle([...sorted]);
    const ordered = await normalizeLayer(syntheticTar(sorted), { ...defaultNormalizeOptions, spoolDir: mkdtempSync(join(work, 'spool-')) });
    expect(ordered.inCanonicalOrder).toBe(true);
    for (const input of [readdirOrder, scattered, [...sorted].reverse()]) {
      const summary = await normalizeLayer(syntheticTar(input), { ...defaultNormalizeOptions, spoolDir: mkdtempSync(join(work, 'spool-')) });
      expect(summary.inCanonicalOrder).toBe(false);
      expect(summary.canonicalDigest).toBe(ordered.canonicalDigest);
    }
  }, 60_000);

  test('the canonical tar written to an output matches its digest', async () => {
    const spoolDir = mkdtempSync(join(work, 'spool-'));
    const hash = createHash('sha256');
    let size = 0;
    const output = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        setImmediate(callback);
      },
    });
    const summary = await normalizeLayer(syntheticTar(unordered), { ...defaultNormalizeOptions, spoolDir, output });
    expect(`sha256:${hash.digest('hex')}`).toBe(summary.canonicalDigest);
    expect(size).toBe(summary.canonicalSize);
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  test('an output that releases its chunks gets buffers back only after their write callbacks', async () => {
    // Big files (several 1 MiB reads each, read straight into the writer's buffers) and small ones, unordered.
    const list = [...files(4, (3 << 20) + 12_345, 300)].reverse();
    const collect = async (output: Writable, outputReleasesChunks: boolean) =>
      normalizeLayer(syntheticTar(list), { ...defaultNormalizeOptions, spoolDir: mkdtempSync(join(work, 'spool-')), output, outputReleasesChunks });

    // Chunks kept by reference: a writer that reused a buffer without being told it may would corrupt them.
    const kept: Buffer[] = [];
    const keeping = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        kept.push(chunk);
        callback();
      },
    });
    const summary = await collect(keeping, false);
    const tar = Buffer.concat(kept);
    expect(sha256Of(tar)).toBe(summary.canonicalDigest);

    // Each chunk read only when its callback is due: reuse before the callback would change what is read.
    const late = createHash('sha256');
    const slow = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _encoding, callback) {
        setImmediate(() => {
          late.update(chunk);
          callback();
        });
      },
    });
    await collect(slow, true);
    expect(`sha256:${late.digest('hex')}`).toBe(summary.canonicalDigest);

    // The gzip compressor reuses its blocks too: same bytes as compressing the whole tar in one write.
    const compressor = createCompressor('gzip');
    expect(releasesChunks(compressor)).toBe(true);
    const compressed: Buffer[] = [];
    compressor.on('data', (chunk: Buffer) => compressed.push(chunk));
    await collect(compressor, true);
    const once = createCompressor('gzip');
    const expected: Buffer[] = [];
    once.on('data', (chunk: Buffer) => expected.push(chunk));
    once.end(tar);
    await finished(once);
    expect(Buffer.concat(compressed).equals(Buffer.concat(expected))).toBe(true);
    expect(gunzipSync(Buffer.concat(compressed)).equals(tar)).toBe(true);
    expect(releasesChunks(createCompressor('none'))).toBe(false);
  }, 60_000);

  test('the spool is closed when the layer turns out corrupt', async () => {
    const spoolDir = mkdtempSync(join(work, 'spool-'));
    const source = syntheticTar(unordered);
    let bytes = 0;
    const truncated = new Readable({
      read() {},
    });
    source.on('data', (chunk: Buffer) => {
      if (bytes < 50 << 20) truncated.push(chunk);
      bytes += chunk.length;
    });
    source.on('end', () => truncated.push(null));
    await expect(normalizeLayer(truncated, { ...defaultNormalizeOptions, spoolDir })).rejects.toThrow(
      'unexpected end of archive',
    );
    expect(spoolFiles(spoolDir)).toEqual([]);
    expect(readdirSync(spoolDir)).toEqual([]);
  });
});

describe('memory', () => {
  test('stays flat as the layer grows', async () => {
    // 320 MB unordered: big files, which the spool takes without holding, and small ones.
    const list = [...files(36, 8 << 20, 4000)].reverse();
    const before = process.memoryUsage();
    let peak = 0;
    const timer = setInterval(() => {
      const now = process.memoryUsage();
      peak = Math.max(peak, now.arrayBuffers - before.arrayBuffers + (now.heapUsed - before.heapUsed));
    }, 5);
    try {
      const summary = await normalizeLayer(syntheticTar(list), {
        ...defaultNormalizeOptions,
        spoolDir: mkdtempSync(join(work, 'spool-')),
      });
      expect(summary.tarSize).toBeGreaterThan(300 << 20);
    } finally {
      clearInterval(timer);
    }
    // Bounded by the write-behind limit (64 MiB) plus a few 1 MiB buffers, not by the layer.
    expect(peak).toBeLessThan(120 << 20);
  }, 60_000);
});
