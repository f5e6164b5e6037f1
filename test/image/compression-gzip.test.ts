/**
 * Parallel deterministic gzip (src/image/compression-gzip.ts): the block scheme itself, checked against
 * a reference written here from its description; the same bytes for any pool size and any chunking;
 * bounded read-ahead; and readers other than Node's zlib (gzip, pigz, Python, Go via skopeo).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GZIP_BLOCK_SIZE, GZIP_DICTIONARY_SIZE, GZIP_HEADER, createCompressor, gzipEngine } from '../../src/image/compression.js';
import { crc32Js } from '../../src/image/compression-crc32.js';
import { gzipBlocksInFlight } from '../../src/image/compression-gzip.js';
import { sha256Hex, sha256Of } from '../helpers/digest.js';
import { TempDir, buildImage, singleImageLayout } from '../helpers/images.js';
import { runTool, skipWithoutTools, skopeoCopy } from '../helpers/real-tools.js';
import { buildTar } from '../helpers/tar.js';
import { chunked, compress, mixedSample } from './compression-helpers.js';

const distCompression = fileURLToPath(new URL('../../dist/image/compression.js', import.meta.url));

let temp: TempDir;
beforeAll(async () => {
  temp = await TempDir.create('oci-repro-pgzip-');
});
afterAll(async () => {
  await temp.remove();
});

/**
 * The gzip stream the scheme describes, written from its description with one synchronous zlib call per
 * block: header; blocks of GZIP_BLOCK_SIZE (the last shorter, maybe empty), raw deflate level 6, the
 * previous 32 KiB as dictionary, sync flush but the last, which finishes; CRC-32 and size.
 */
function referenceGzip(input: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from(GZIP_HEADER)];
  for (let offset = 0; ; offset += GZIP_BLOCK_SIZE) {
    const block = input.subarray(offset, offset + GZIP_BLOCK_SIZE);
    const last = block.length < GZIP_BLOCK_SIZE;
    // Output space for the whole block: a sync flush cut short by a full buffer may repeat its marker.
    const options: zlib.ZlibOptions = { level: 6, windowBits: 15, memLevel: 8, chunkSize: 1 << 20, finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH };
    if (offset > 0) options.dictionary = input.subarray(offset - GZIP_DICTIONARY_SIZE, offset);
    parts.push(zlib.deflateRawSync(block, options));
    if (last) break;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(zlib.crc32(input), 0);
  trailer.writeUInt32LE(input.length, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

/** Bytes no compressor can shrink, from a fixed seed. */
function noise(size: number): Buffer {
  const out = Buffer.alloc(size);
  let state = 0x1234567;
  for (let i = 0; i < size; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

const inputs: Array<[string, Buffer]> = [
  ['five blocks and a part', mixedSample(5 * GZIP_BLOCK_SIZE + 777, 41)],
  ['exactly four blocks (an empty last block)', mixedSample(4 * GZIP_BLOCK_SIZE, 42)],
  ['incompressible (stored blocks, the largest output)', noise(3 * GZIP_BLOCK_SIZE + 10)],
  ['shorter than a block', Buffer.from('hello\n')],
  ['empty', Buffer.alloc(0)],
];

describe('the block scheme', () => {
  for (const [name, input] of inputs) {
    it(`node-zlib writes header, blocks, CRC and size exactly: ${name}`, async () => {
      const output = await compress(chunked(input, [512, 70_000]), 'gzip', 'node-zlib');
      expect(sha256Hex(output)).toBe(sha256Hex(referenceGzip(input)));
      expect(sha256Hex(zlib.gunzipSync(output))).toBe(sha256Hex(input));
    });
  }

  it('pako writes the same bytes when the probe chose node-zlib', async () => {
    const input = inputs[0]![1];
    const viaPako = await compress(input, 'gzip', 'pako');
    expect(viaPako.equals(referenceGzip(input))).toBe(gzipEngine() === 'node-zlib');
    expect(sha256Hex(zlib.gunzipSync(viaPako))).toBe(sha256Hex(input));
  });

  it('each block sees the 32 KiB before it: a 20 KiB pattern repeated costs about one copy, not one per block', async () => {
    const pattern = mixedSample(20 * 1024, 43);
    for (let i = 0; i < pattern.length; i += 7) pattern[i] = (i * 131) & 0xff; // less compressible on its own
    const input = Buffer.concat(Array.from({ length: 8 * Math.ceil(GZIP_BLOCK_SIZE / pattern.length) }, () => pattern)); // 8 blocks
    const alone = zlib.deflateRawSync(pattern).length;
    for (const engine of ['node-zlib', 'pako'] as const) {
      const output = await compress(input, 'gzip', engine);
      // Without dictionaries every one of the 8 blocks would carry the pattern once.
      expect(output.length, engine).toBeLessThan(2 * alone);
      expect(sha256Hex(zlib.gunzipSync(output)), engine).toBe(sha256Hex(input));
    }
  });
});

describe('the same bytes whatever the pool size and chunking', () => {
  const run = promisify(execFile);
  // A child process over the build, so the libuv pool size (fixed at a process's first pool use) can vary.
  const script = `
    import { createHash } from 'node:crypto';
    import { readFileSync } from 'node:fs';
    import { createCompressor } from ${JSON.stringify(distCompression)};
    const [file, size] = process.argv.slice(1);
    const data = readFileSync(file);
    const compressor = createCompressor('gzip', { gzipEngine: 'node-zlib' });
    const hash = createHash('sha256');
    compressor.on('data', (chunk) => hash.update(chunk));
    compressor.on('end', () => process.stdout.write(hash.digest('hex')));
    (async () => {
      for (let offset = 0; offset < data.length; offset += Number(size)) {
        if (!compressor.write(data.subarray(offset, offset + Number(size)))) await new Promise((r) => compressor.once('drain', r));
      }
      compressor.end();
    })();
  `;

  // Four child processes: slow on a busy machine.
  it('UV_THREADPOOL_SIZE=1 and =8, 512-byte and 1 MiB writes, and this process agree', { timeout: 180_000 }, async () => {
    expect(existsSync(distCompression), 'dist/ is missing: npm run build').toBe(true);
    const input = mixedSample(20 * GZIP_BLOCK_SIZE + 5000, 44);
    const file = temp.join('pool-input.bin');
    await writeFile(file, input);
    const digests = new Set<string>();
    for (const [pool, size] of [['1', 512], ['8', 1 << 20], ['8', 4096], ['2', 200_003]] as const) {
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, file, String(size)], {
        env: { ...process.env, UV_THREADPOOL_SIZE: pool },
      });
      expect(stdout, `pool ${pool}, writes of ${size}`).toMatch(/^[0-9a-f]{64}$/);
      digests.add(stdout);
    }
    digests.add(sha256Hex(await compress(input, 'gzip', 'node-zlib')));
    expect([...digests]).toEqual([sha256Hex(referenceGzip(input))]);
  });
});

describe('streaming behaviour', () => {
  it('reads only a few blocks ahead while nobody reads its output', async () => {
    let pulled = 0;
    const piece = mixedSample(64 * 1024, 45);
    const source = new Readable({
      read() {
        pulled += piece.length;
        this.push(pulled > 64 << 20 ? null : piece);
      },
    });
    const compressor = createCompressor('gzip', { gzipEngine: 'node-zlib' });
    source.pipe(compressor);
    // Let every block that can be dispatched finish deflating.
    for (let before = -1; before !== pulled; ) {
      before = pulled;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(pulled).toBeLessThan(4 << 20);
    source.destroy();
    compressor.destroy();
  });

  it('a destroyed compressor drops the blocks still deflating, quietly', async () => {
    const compressor = createCompressor('gzip', { gzipEngine: 'node-zlib' });
    const seen: string[] = [];
    compressor.on('data', () => seen.push('data'));
    compressor.on('error', (error) => seen.push(`error ${error.message}`));
    compressor.write(mixedSample(8 * GZIP_BLOCK_SIZE, 46));
    await new Promise((resolve) => setImmediate(resolve));
    const before = seen.length;
    compressor.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen.length).toBe(before);
    expect(compressor.destroyed).toBe(true);
  });
});

describe('blocks in flight', () => {
  it('more than the pool threads that deflate, so a thread never waits for the main thread; bounded', () => {
    for (const [cores, pool] of [[1, 1], [1, 2], [2, 2], [2, 4], [4, 2], [16, 16], [64, 64], [256, 1024]] as const) {
      const inFlight = gzipBlocksInFlight(cores, pool);
      const threads = Math.min(cores, pool, 64);
      expect(inFlight, `${cores} cores, pool ${pool}`).toBeGreaterThanOrEqual(2 * threads);
      expect(inFlight, `${cores} cores, pool ${pool}`).toBeLessThanOrEqual(4 * threads);
    }
    // Threads the pool has but cores cannot run, or cores with no pool thread, add nothing.
    expect(gzipBlocksInFlight(2, 16)).toBe(gzipBlocksInFlight(2, 2));
    expect(gzipBlocksInFlight(16, 2)).toBe(gzipBlocksInFlight(2, 2));
    expect(gzipBlocksInFlight(8, 8)).toBeGreaterThan(gzipBlocksInFlight(2, 2));
  });
});

describe('crc32 without zlib.crc32 (Node 20 before 20.15)', () => {
  it('the JavaScript fallback agrees with zlib.crc32, in one call or in pieces', () => {
    const data = mixedSample(1_000_003, 47);
    for (let length = 0; length < 70; length++) {
      expect(crc32Js(data.subarray(0, length), 0), `length ${length}`).toBe(zlib.crc32(data.subarray(0, length)));
    }
    expect(crc32Js(data, 0)).toBe(zlib.crc32(data));
    let value = 0;
    for (const piece of chunked(data, [1, 3, 4096, 65_537])) value = crc32Js(piece, value);
    expect(value).toBe(zlib.crc32(data));
  });
});

describe.skipIf(skipWithoutTools('gzip', 'pigz', 'python3', 'skopeo'))('readers other than zlib', () => {
  const python = [
    '-c',
    'import gzip, hashlib, sys\nwith gzip.open(sys.argv[1], "rb") as f: sys.stdout.write(hashlib.sha256(f.read()).hexdigest())',
  ];

  for (const [name, input] of [...inputs, ['3 MB', mixedSample(3_000_000, 48)] as [string, Buffer]]) {
    it(`gzip -t, gzip -dc, pigz -t, pigz -dc and Python's gzip module: ${name}`, async () => {
      const file = temp.join(`${sha256Hex(input).slice(0, 12)}.gz`);
      await writeFile(file, await compress(input, 'gzip'));
      const expected = sha256Hex(input);
      await runTool('gzip', ['-t', file]);
      expect(sha256Hex((await runTool('gzip', ['-dc', file])).stdout), 'gzip').toBe(expected);
      await runTool('pigz', ['-t', file]);
      expect(sha256Hex((await runTool('pigz', ['-dc', file])).stdout), 'pigz').toBe(expected);
      expect((await runTool('python3', [...python, file])).stdout.toString(), 'python').toBe(expected);
    });
  }

  it("Go's reader (skopeo copy --dest-decompress) gets the layer tar back", async () => {
    const tar = await buildTar([
      { name: 'data/', mtime: new Date(0) },
      { name: 'data/mixed.bin', mtime: new Date(0), content: mixedSample(3 * GZIP_BLOCK_SIZE + 99, 49) },
      { name: 'data/text', mtime: new Date(0), content: 'line\n'.repeat(50_000) },
    ]);
    const blob = await compress(chunked(tar, [512]), 'gzip');
    const image = buildImage({ layers: [{ tar }] }, () => blob);
    const layout = await temp.writeDirectory('go-oci', singleImageLayout(image, 'v1'));
    const out = temp.join('go-dir');
    await skopeoCopy(`oci:${layout}:v1`, `dir:${out}`, ['--dest-decompress']);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as { layers: Array<{ digest: string }> };
    const diffId = sha256Of(tar);
    expect(manifest.layers.map((layer) => layer.digest)).toEqual([diffId]);
    expect(sha256Of(await readFile(join(out, diffId.slice('sha256:'.length))))).toBe(diffId);
  });
});
