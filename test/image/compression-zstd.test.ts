/**
 * zstd from node:zlib (Node 22.15+, 24) or the optional zstd-napi addon: the two must write the same bytes
 * (layer digests must not depend on the Node version), both must read what zstd writes, and with neither
 * a zstd layer is an exit-4 error naming it, for reading and writing alike.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  COMPRESS_BLOCK_SIZE,
  ZSTD_BACKEND_ENV,
  availableZstdBackends,
  compressZstdSync,
  createCompressor,
  openDecompressed,
  zstdBackend,
  type ZstdBackend,
} from '../../src/image/compression.js';
import { runCli } from '../helpers/cli.js';
import { sha256Hex } from '../helpers/digest.js';
import { caughtError, thrownError } from '../helpers/errors.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { inCi, runTool, skipWithoutTools } from '../helpers/real-tools.js';
import { buildTar } from '../helpers/tar.js';
import { chunked, compress, mixedSample } from './compression-helpers.js';

const backends = availableZstdBackends();
const readers = availableZstdBackends('read');
/** Whether this Node's zlib has zstd; where it does, CI also has the addon (.ci/run builds it), so both run. */
const nodeHasZstd = typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === 'function';
const bothExpected = backends.length === 2 || (inCi && nodeHasZstd);

const withBackend = (backend: ZstdBackend | 'none') => {
  process.env[ZSTD_BACKEND_ENV] = backend;
};
afterEach(() => {
  delete process.env[ZSTD_BACKEND_ENV];
});

const decompress = async (blob: Buffer, what = 'layer 1 of a.tar') =>
  buffer(await openDecompressed(Readable.from([blob], { objectMode: false }), 'zstd', what));

describe('which backend', () => {
  it('node:zlib where Node has zstd, else the addon; the environment variable forces one', () => {
    if (inCi) expect(readers.length, 'CI builds zstd-napi: at least one backend reads zstd').toBeGreaterThan(0);
    expect(zstdBackend()).toBe(nodeHasZstd ? 'node-zlib' : backends[0]);
    process.stderr.write(`[compression-zstd] Node ${process.version}: backends ${backends.join(', ') || 'none'}\n`);
    for (const backend of backends) {
      withBackend(backend);
      expect(zstdBackend()).toBe(backend);
    }
    withBackend('none');
    expect(zstdBackend()).toBeUndefined();
  });

  it.skipIf(!nodeHasZstd)("node:zlib reads zstd exactly when its stream reads every frame (the probe agrees with the stream)", async () => {
    const skippable = Buffer.alloc(8 + 5);
    skippable.writeUInt32LE(0x184d2a5a, 0);
    skippable.writeUInt32LE(5, 4);
    const stream = (zlib as unknown as { createZstdDecompress(): NodeJS.ReadWriteStream }).createZstdDecompress();
    const blob = Buffer.concat([skippable, compressZstdSync(Buffer.from('one\n'), 3, 'node-zlib'), compressZstdSync(Buffer.from('two\n'), 3, 'node-zlib')]);
    const read = (await buffer(Readable.from([blob], { objectMode: false }).pipe(stream))).toString();
    process.stderr.write(`[compression-zstd] Node ${process.version}: node:zlib read ${JSON.stringify(read)}, readers ${readers.join(', ') || 'none'}\n`);
    expect(readers.includes('node-zlib')).toBe(read === 'one\ntwo\n');
    if (process.versions.node.startsWith('24.')) expect(readers[0]).toBe('node-zlib');
  });
});

describe.skipIf(!bothExpected)('node:zlib and zstd-napi write the same bytes', () => {
  it('both backends load (CI, on a Node with zstd in zlib)', () => {
    expect(backends).toEqual(['node-zlib', 'zstd-napi']);
  });

  const inputs: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['a few bytes', Buffer.from('hello\n')],
    ['one block and a bit', mixedSample(COMPRESS_BLOCK_SIZE + 4321, 3)],
    ['18 MB, many blocks', mixedSample(18 * 1000 * 1000, 17)],
  ];
  for (const [name, input] of inputs) {
    it(`createCompressor: ${name}`, async () => {
      const pieces = chunked(input, [512, 70_000]);
      const [viaNode, viaAddon] = await Promise.all([
        compress(pieces, 'zstd', undefined, { zstdBackend: 'node-zlib' }),
        compress(pieces, 'zstd', undefined, { zstdBackend: 'zstd-napi' }),
      ]);
      expect(viaNode.length, 'node:zlib wrote one frame, no trailing empty frame').toBe(viaAddon.length);
      expect(sha256Hex(viaNode)).toBe(sha256Hex(viaAddon));
      expect(sha256Hex(await decompress(viaNode))).toBe(sha256Hex(input));
    });
  }

  it('compressZstdSync (test inputs at other levels): the same bytes at levels 3 and 19', () => {
    const input = mixedSample(512 * 1024, 4);
    for (const level of [3, 19]) {
      expect(sha256Hex(compressZstdSync(input, level, 'node-zlib')), `level ${level}`).toBe(sha256Hex(compressZstdSync(input, level, 'zstd-napi')));
    }
  });
});

describe.skipIf(readers.length === 0)('reading zstd, with each backend this Node has', () => {
  const sample = mixedSample(1_500_000, 21);
  let written: Buffer;
  beforeAll(async () => {
    written = await compress(sample, 'zstd');
  });

  for (const backend of readers) {
    it(`${backend}: several frames, a skippable frame, and what zstd -19 wrote`, async () => {
      withBackend(backend);
      const skippable = Buffer.alloc(8 + 5);
      skippable.writeUInt32LE(0x184d2a5a, 0);
      skippable.writeUInt32LE(5, 4);
      const blob = Buffer.concat([skippable, written, compressZstdSync(Buffer.from('two\n'), 19)]);
      expect(sha256Hex(await decompress(blob))).toBe(sha256Hex(Buffer.concat([sample, Buffer.from('two\n')])));
    });

    it(`${backend}: truncated and corrupt data are corrupt archives (exit 3)`, async () => {
      withBackend(backend);
      const truncated = await caughtError(decompress(written.subarray(0, written.length >> 1), 'layer 6'));
      expect(truncated.code).toBe('CORRUPT_ARCHIVE');
      expect(truncated.exitCode).toBe(3);
      expect(truncated.message).toMatch(/^layer 6: corrupt zstd data \([a-z].+\)$/);
      expect(truncated.hint).toBe('the blob may be truncated');
      const garbled = Buffer.from(written);
      for (let i = 1000; i < 1100; i++) garbled[i] = 0xaa;
      const corrupt = await caughtError(decompress(garbled, 'layer 6'));
      expect(corrupt.code).toBe('CORRUPT_ARCHIVE');
    });

    it.skipIf(skipWithoutTools('zstd'))(`${backend}: a window over 128 MiB (zstd --long=28) is refused with a hint`, async () => {
      const dir = await TempDir.create('oci-repro-zstd-long-');
      try {
        const file = dir.join('in.bin');
        await writeFile(file, sample.subarray(0, 300_000));
        // Through a pipe the size is unknown, so zstd keeps the 256 MiB window in the frame header.
        const long = (await runTool('sh', ['-c', `zstd -q --long=28 -c < '${file}'`])).stdout;
        withBackend(backend);
        const error = await caughtError(decompress(long, 'layer 7'));
        expect(error.code).toBe('UNSUPPORTED');
        expect(error.message).toBe('layer 7: the zstd data needs a window larger than 128 MiB');
        expect(error.hint).toBe('it was compressed with --long; recompress it without');
      } finally {
        await dir.remove();
      }
    });
  }
});

describe('without zstd: exit 4, one line naming what needed it', () => {
  it('reading a zstd layer', async () => {
    const blob = await compress(Buffer.from('hello\n'), 'zstd');
    withBackend('none');
    const error = await caughtError(decompress(blob, 'layer 2 of a.tar'));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.exitCode).toBe(4);
    expect(error.message).toBe(`layer 2 of a.tar: no zstd support (${ZSTD_BACKEND_ENV}=none)`);
    expect(error.hint).toBe(`unset ${ZSTD_BACKEND_ENV} to use what this Node has`);
    // gzip and plain layers still read.
    expect((await buffer(await openDecompressed(Readable.from([await compress(Buffer.from('x'), 'gzip')]), 'gzip', 'l'))).toString()).toBe('x');
  });

  it('writing zstd', () => {
    withBackend('none');
    const error = thrownError(() => createCompressor('zstd'));
    expect(error.exitCode).toBe(4);
    expect(error.message).toBe(`zstd compression: no zstd support (${ZSTD_BACKEND_ENV}=none)`);
  });
});

describe('normalize --compression zstd without zstd: exit 4 before anything is written', () => {
  let dir: TempDir;
  let layout: string;
  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-zstd-cli-');
    const image = buildImage({ layers: [{ tar: await buildTar([{ name: 'etc/motd', content: 'hello\n', mtime: new Date(0) }]) }] });
    layout = await dir.writeDirectory('layout', singleImageLayout(image));
  });
  afterAll(async () => dir?.remove());

  it('one line on stderr, no output file, no temp file', { timeout: 60_000 }, async () => {
    const out = dir.join('out.tar');
    const run = await runCli(['normalize', `oci:${layout}`, '-o', out, '--compression', 'zstd'], { env: { [ZSTD_BACKEND_ENV]: 'none' } });
    expect(run.code, run.stderr).toBe(4);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
    expect(run.stderr).toMatch(/no zstd support \(OCI_REPRO_ZSTD_BACKEND=none\)/);
    expect(existsSync(out)).toBe(false);
    expect((await readdir(dir.path)).sort()).toEqual(['layout']);
    // The same command with zstd available writes the image: the failure above was the missing zstd.
    const ok = await runCli(['normalize', `oci:${layout}`, '-o', out, '--compression', 'zstd']);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await readFile(out)).length).toBeGreaterThan(0);
  });
});
