import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMPRESS_BLOCK_SIZE,
  GZIP_BLOCK_SIZE,
  GZIP_HEADER,
  detectCompression,
  gzipEngine,
  openDecompressed,
  zstdBackend,
} from '../../src/image/compression.js';
import type { Compression } from '../../src/image/media-types.js';
// Big buffers are compared by digest: vitest's deep equality walks a Buffer element by element, slowly.
import { sha256Hex } from '../helpers/digest.js';
import { buildTar } from '../helpers/tar.js';
import { caughtError } from '../helpers/errors.js';
import { chunked, compress, mixedSample } from './compression-helpers.js';
import { inCi, runTool, skipWithoutTools } from '../helpers/real-tools.js';

const updateGolden = process.env.UPDATE_GOLDEN === '1';
const goldenPath = fileURLToPath(new URL('../../golden/compression.json', import.meta.url));

async function decompress(data: Buffer, declared: Compression | undefined, what = 'test blob'): Promise<Buffer> {
  return buffer(await openDecompressed(Readable.from([data], { objectMode: false }), declared, what));
}

/** Rejection of a promise, for asserting on the error's fields. */
const makeTar = () =>
  buildTar([
    { name: 'etc/hostname', mtime: new Date(0), content: 'builder\n' },
    { name: 'etc/motd', mtime: new Date(0), content: 'hello\n'.repeat(200) },
  ]);

/** A real tool's stdout: the oracles below. */
const run = async (tool: string, args: string[]): Promise<Buffer> => (await runTool(tool, args)).stdout;

let tempDir: string;
beforeAll(async () => {
  tempDir = await mkdtemp(join(tmpdir(), 'oci-repro-compression-'));
});
afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

describe('detectCompression', () => {
  it('reads gzip, zstd and zstd skippable-frame magic; anything else is none', async () => {
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 0x08, 0x00]))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04]))).toBe('zstd');
    expect(detectCompression(Buffer.from([0x50, 0x2a, 0x4d, 0x18]))).toBe('zstd');
    expect(detectCompression(Buffer.from([0x5e, 0x2a, 0x4d, 0x18]))).toBe('zstd');
    expect(detectCompression(Buffer.from([0x60, 0x2a, 0x4d, 0x18]))).toBe('none');
    expect(detectCompression(await makeTar())).toBe('none');
    expect(detectCompression(Buffer.alloc(0))).toBe('none');
    expect(detectCompression(Buffer.from([0x1f]))).toBe('none');
  });
});

describe('createCompressor is deterministic', () => {
  const sample = mixedSample(3 * COMPRESS_BLOCK_SIZE + 12_345, 7);
  const chunkings: Array<[string, Buffer[]]> = [
    ['one chunk', [sample]],
    ['512-byte tar blocks', chunked(sample, [512])],
    ['exact zstd blocks', chunked(sample, [COMPRESS_BLOCK_SIZE])],
    ['exact gzip blocks', chunked(sample, [GZIP_BLOCK_SIZE])],
    ['gzip blocks and one byte', chunked(sample, [GZIP_BLOCK_SIZE + 1])],
    ['uneven pieces', chunked(sample, [1, 7919, 3, 65_536, 1_500_000, 100])],
  ];

  for (const [compression, engine] of [['gzip', 'node-zlib'], ['gzip', 'pako'], ['zstd', undefined]] as const) {
    it(`${compression}${engine ? ` (${engine})` : ''}: every chunking gives the same bytes`, async () => {
      const outputs = await Promise.all(chunkings.map(([, pieces]) => compress(pieces, compression, engine)));
      for (const [i, output] of outputs.entries()) {
        expect(sha256Hex(output), chunkings[i]![0]).toBe(sha256Hex(outputs[0]!));
      }
      expect(sha256Hex(await decompress(outputs[0]!, compression))).toBe(sha256Hex(sample));
    });
  }

  it('zstd: the bytes do not depend on the writes over several MiB (single-threaded mode)', async () => {
    const large = mixedSample(18 * 1000 * 1000, 17);
    const digests = new Set<string>();
    for (const sizes of [[512, 1_000_000], [COMPRESS_BLOCK_SIZE], [18 * 1000 * 1000]]) {
      digests.add(sha256Hex(await compress(chunked(large, sizes), 'zstd')));
    }
    expect(digests.size).toBe(1);
  });

  it('gzip starts with the fixed header: no name, mtime 0, XFL 0, OS 3', async () => {
    expect(GZIP_HEADER.toString('hex')).toBe('1f8b0800000000000003');
    for (const engine of ['node-zlib', 'pako'] as const) {
      const output = await compress(Buffer.from('hello\n'), 'gzip', engine);
      expect(output.subarray(0, 10).toString('hex'), engine).toBe('1f8b0800000000000003');
    }
  });

  it('compresses empty input to a valid stream', async () => {
    for (const compression of ['gzip', 'zstd'] as const) {
      const output = await compress([], compression);
      expect(output.length).toBeGreaterThan(0);
      expect(await decompress(output, compression)).toEqual(Buffer.alloc(0));
    }
    expect(await compress([], 'none')).toEqual(Buffer.alloc(0));
  });

  it("'none' passes bytes through", async () => {
    const data = mixedSample(100_000, 3);
    expect(sha256Hex(await compress(chunked(data, [4096]), 'none'))).toBe(sha256Hex(data));
  });
});

describe('gzip engines', () => {
  // Five times what the golden uses, and unlike the probe's data: checks that the probe was not fooled.
  const sample = mixedSample(5 * 1000 * 1000, 2024);

  it("Node's zlib writes exactly pako's bytes when the probe chose it", async () => {
    const engine = gzipEngine();
    const [viaNode, viaPako] = await Promise.all([compress(sample, 'gzip', 'node-zlib'), compress(sample, 'gzip', 'pako')]);
    process.stderr.write(`[compression] gzip engine: ${engine}\n`);
    expect(viaNode.equals(viaPako)).toBe(engine === 'node-zlib');
  });
});

describe('golden digests', () => {
  it('compressed bytes of a fixed input match golden/compression.json', async (context) => {
    const input = mixedSample(2 * 1024 * 1024, 1);
    const gzipped = await compress(chunked(input, [512]), 'gzip');
    const pakoGzipped = await compress(input, 'gzip', 'pako');
    const zstded = await compress(chunked(input, [512]), 'zstd');
    const actual = {
      comment: 'sha256 of createCompressor output for mixedSample(2 MiB, seed 1) in test/image/compression.test.ts; gzip in 256 KiB blocks, each with the previous 32 KiB as dictionary; zstd level 3 single-threaded, from node:zlib or zstd-napi (the same bytes)',
      input: { size: input.length, sha256: sha256Hex(input) },
      gzip: { size: gzipped.length, sha256: sha256Hex(gzipped) },
      zstd: { size: zstded.length, sha256: sha256Hex(zstded) },
    };
    expect(sha256Hex(pakoGzipped), 'pako, the reference engine').toBe(actual.gzip.sha256);

    if (updateGolden) {
      if (inCi) throw new Error('UPDATE_GOLDEN=1 with CI=true: goldens are updated on purpose, locally');
      await writeFile(goldenPath, `${JSON.stringify(actual, null, 2)}\n`);
      return;
    }
    if (!existsSync(goldenPath)) {
      if (inCi) throw new Error(`${goldenPath} is missing (run UPDATE_GOLDEN=1 npx vitest run ${'test/image/compression.test.ts'})`);
      process.stderr.write(`[compression] no golden at ${goldenPath}; UPDATE_GOLDEN=1 writes it\n`);
      context.skip();
      return;
    }
    const golden = JSON.parse(await readFile(goldenPath, 'utf8')) as typeof actual;
    // A changed input means the generator was edited, not that compression drifted.
    expect(actual.input, 'the generated input').toEqual(golden.input);
    expect(actual.gzip, `gzip via ${gzipEngine()}`).toEqual(golden.gzip);
    expect(actual.zstd, `zstd via ${zstdBackend()}`).toEqual(golden.zstd);
  });
});

describe.skipIf(skipWithoutTools('gzip', 'zstd'))('real tools as oracles', () => {
  const sample = mixedSample(3 * 1000 * 1000, 99);

  it('gzip -t and gzip -dc accept our gzip, from both engines', async () => {
    for (const engine of ['node-zlib', 'pako'] as const) {
      const file = join(tempDir, `sample-${engine}.gz`);
      await writeFile(file, await compress(chunked(sample, [512]), 'gzip', engine));
      await run('gzip', ['-t', file]);
      expect(sha256Hex(await run('gzip', ['-dc', file])), engine).toBe(sha256Hex(sample));
    }
  });

  it('zstd -t and zstd -dc accept our zstd', async () => {
    const file = join(tempDir, 'sample.zst');
    await writeFile(file, await compress(chunked(sample, [512]), 'zstd'));
    await run('zstd', ['-q', '-t', file]);
    expect(sha256Hex(await run('zstd', ['-q', '-dc', file]))).toBe(sha256Hex(sample));
  });

  // zstd -19 and gzip -9 of 3 MB: seconds of CPU, several times that on a loaded machine.
  it('openDecompressed reads what gzip and zstd wrote, with names, checksums and content sizes', { timeout: 120_000 }, async () => {
    const file = join(tempDir, 'plain.tar');
    await writeFile(file, sample);
    const viaGzip = await run('gzip', ['-c', '-9', file]);
    expect(viaGzip[3]! & 0x08).toBe(0x08); // the header carries the file name
    expect(sha256Hex(await decompress(viaGzip, 'gzip'))).toBe(sha256Hex(sample));
    const viaZstd = await run('zstd', ['-q', '-c', '-19', '--content-size', file]);
    expect(sha256Hex(await decompress(viaZstd, 'zstd'))).toBe(sha256Hex(sample));
  });
});

describe('openDecompressed', () => {
  it('round-trips gzip, zstd and none, declared or detected', async () => {
    const data = mixedSample(1_500_000, 5);
    for (const compression of ['gzip', 'zstd', 'none'] as const) {
      const blob = await compress(data, compression);
      expect(sha256Hex(await decompress(blob, compression)), compression).toBe(sha256Hex(data));
      expect(sha256Hex(await decompress(blob, undefined)), `${compression}, detected`).toBe(sha256Hex(data));
    }
  });

  it('keeps the peeked bytes when the raw stream comes in tiny chunks', async () => {
    const data = mixedSample(200_000, 6);
    for (const compression of ['gzip', 'zstd', 'none'] as const) {
      const blob = await compress(data, compression);
      const raw = Readable.from(chunked(blob, [1, 2, 3, 100, 4096]), { objectMode: false });
      expect(sha256Hex(await buffer(await openDecompressed(raw, compression, 'x'))), compression).toBe(sha256Hex(data));
    }
  });

  it('handles blobs shorter than the peek', async () => {
    for (const compression of ['gzip', 'zstd', 'none'] as const) {
      const blob = await compress(Buffer.from('hi\n'), compression);
      expect(blob.length).toBeLessThan(512);
      expect(await decompress(blob, compression), compression).toEqual(Buffer.from('hi\n'));
    }
    expect(await decompress(Buffer.alloc(0), 'none')).toEqual(Buffer.alloc(0));
    expect(await decompress(Buffer.alloc(0), undefined)).toEqual(Buffer.alloc(0));
  });

  it('reads multi-member gzip', async () => {
    const first = Buffer.from('first member\n'.repeat(1000));
    const second = mixedSample(300_000, 8);
    const blob = Buffer.concat([zlib.gzipSync(first), await compress(second, 'gzip')]);
    expect(sha256Hex(await decompress(blob, 'gzip'))).toBe(sha256Hex(Buffer.concat([first, second])));
  });

  it('reads zstd with several frames and a skippable frame', async () => {
    const skippable = Buffer.alloc(8 + 5);
    skippable.writeUInt32LE(0x184d2a5a, 0);
    skippable.writeUInt32LE(5, 4);
    const blob = Buffer.concat([skippable, await compress(Buffer.from('one\n'), 'zstd'), await compress(Buffer.from('two\n'), 'zstd')]);
    expect(detectCompression(blob)).toBe('zstd');
    expect((await decompress(blob, 'zstd')).toString()).toBe('one\ntwo\n');
  });

  it('rejects gzip declared for a plain tar', async () => {
    const error = await caughtError(decompress(await makeTar(), 'gzip', 'layer 1 of a.tar'));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.exitCode).toBe(3);
    expect(error.message).toBe('layer 1 of a.tar: media type says gzip but the blob starts with a tar header (it is not compressed)');
  });

  it('rejects none declared for gzip or zstd data', async () => {
    const gz = await compress(await makeTar(), 'gzip');
    const gzError = await caughtError(decompress(gz, 'none', 'layer 2'));
    expect(gzError.exitCode).toBe(3);
    expect(gzError.message).toBe('layer 2: media type says uncompressed but the blob starts with gzip data');
    const zstError = await caughtError(decompress(await compress(await makeTar(), 'zstd'), 'none', 'layer 3'));
    expect(zstError.message).toBe('layer 3: media type says uncompressed but the blob starts with zstd data');
  });

  it('rejects the other compression and an empty blob', async () => {
    const gz = await compress(Buffer.from('x'), 'gzip');
    expect((await caughtError(decompress(gz, 'zstd', 'l'))).message).toBe('l: media type says zstd but the blob starts with gzip data');
    expect((await caughtError(decompress(Buffer.alloc(0), 'gzip', 'l'))).message).toBe('l: media type says gzip but the blob is empty');
    const odd = await caughtError(decompress(Buffer.from('{"not":"a layer"}'), 'gzip', 'l'));
    expect(odd.message).toBe('l: media type says gzip but the blob starts with bytes 7b 22 6e 6f 74 22 3a 22');
  });

  it('refuses xz data, which no layer media type declares', async () => {
    const xz = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(100)]);
    const error = await caughtError(decompress(xz, undefined, 'layer.tar'));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.message).toBe('layer.tar: the blob starts with xz data, which layers cannot use');
  });

  it('fails truncated gzip as a corrupt archive (exit code 3)', async () => {
    const gz = await compress(mixedSample(400_000, 9), 'gzip');
    const error = await caughtError(decompress(gz.subarray(0, gz.length >> 1), 'gzip', 'layer 4'));
    expect(error.code).toBe('CORRUPT_ARCHIVE');
    expect(error.exitCode).toBe(3);
    expect(error.message).toBe('layer 4: corrupt gzip data (unexpected end of file)');
    expect(error.hint).toBe('the blob may be truncated');
  });

  it('fails corrupt gzip (bad data, bad crc)', async () => {
    const gz = await compress(mixedSample(400_000, 10), 'gzip');
    const garbled = Buffer.from(gz);
    for (let i = 1000; i < 1100; i++) garbled[i] = 0xaa;
    const error = await caughtError(decompress(garbled, 'gzip', 'layer 5'));
    expect(error.code).toBe('CORRUPT_ARCHIVE');
    expect(error.message).toMatch(/^layer 5: corrupt gzip data \(.+\)$/);
    const badCrc = Buffer.from(gz);
    badCrc[badCrc.length - 6]! ^= 0xff;
    expect((await caughtError(decompress(badCrc, 'gzip', 'layer 5'))).message).toBe('layer 5: corrupt gzip data (incorrect data check)');
  });

  it('fails corrupt and truncated zstd', async () => {
    const zst = await compress(mixedSample(400_000, 11), 'zstd');
    const garbled = Buffer.from(zst);
    for (let i = 1000; i < 1100; i++) garbled[i] = 0xaa;
    const error = await caughtError(decompress(garbled, 'zstd', 'layer 6'));
    expect(error.code).toBe('CORRUPT_ARCHIVE');
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(/^layer 6: corrupt zstd data \([a-z].+\)$/);
    const truncated = await caughtError(decompress(zst.subarray(0, zst.length >> 1), 'zstd', 'layer 6'));
    expect(truncated.code).toBe('CORRUPT_ARCHIVE');
    expect(truncated.hint).toBe('the blob may be truncated');
  });

  it('passes errors of the raw stream through unchanged, before and after the peek', async () => {
    const boom = new Error('read failed');
    const early = new Readable({ read() {} });
    setImmediate(() => early.destroy(boom));
    await expect(openDecompressed(early, 'gzip', 'x')).rejects.toBe(boom);

    for (const compression of ['gzip', 'zstd', 'none'] as const) {
      const blob = await compress(mixedSample(300_000, 12), compression);
      const raw = new PassThrough();
      raw.write(blob.subarray(0, 100_000));
      const out = await openDecompressed(raw, compression, 'x');
      setImmediate(() => raw.destroy(boom));
      await expect(buffer(out), compression).rejects.toBe(boom);
    }
  });

  it('releases the raw stream when the reader stops early', async () => {
    const blob = await compress(mixedSample(3_000_000, 13), 'gzip');
    const raw = Readable.from(chunked(blob, [64 * 1024]), { objectMode: false });
    const out = await openDecompressed(raw, 'gzip', 'x');
    for await (const chunk of out) {
      expect((chunk as Buffer).length).toBeGreaterThan(0);
      break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(raw.destroyed).toBe(true);
  });
});
