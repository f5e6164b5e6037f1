// Format detection, the one compare entry point, and every decoder fed damaged copies of real files:
// each either decodes or fails with a one-line CORRUPT_ARCHIVE error, never another exception.
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareFormat, detectFormat, type FormatKind } from '../../src/formats/detect.js';
import { bufferSource } from '../../src/formats/model.js';
import { OciReproError } from '../../src/errors.js';
import { gzipWithHeader } from '../helpers/noise.js';
import { makeTempDir, removeTempDir, runTool, skipWithoutTools } from '../helpers/real-tools.js';

function pycBytes(mtime: number): Buffer {
  const bytes = Buffer.alloc(40, 0xe3);
  bytes.writeUInt16LE(3495, 0);
  bytes.write('\r\n', 2, 'latin1');
  bytes.writeUInt32LE(0, 4);
  bytes.writeUInt32LE(mtime, 8);
  bytes.writeUInt32LE(12, 12);
  return bytes;
}

describe('detectFormat and compareFormat', () => {
  it('tells formats apart by their first bytes (pyc by its name too)', () => {
    const pyc = pycBytes(1);
    expect(detectFormat('x/__pycache__/m.cpython-311.pyc', pyc)).toBe('pyc');
    expect(detectFormat('m.bin', pyc)).toBeUndefined();
    expect(detectFormat('a.gz', gzipSync('x'))).toBe('gzip');
    expect(detectFormat('a.whl', Buffer.from('PK\x03\x04rest', 'latin1'))).toBe('zip');
    expect(detectFormat('empty.zip', Buffer.from('PK\x05\x06', 'latin1'))).toBe('zip');
    expect(detectFormat('libx.a', Buffer.from('!<arch>\n', 'latin1'))).toBe('ar');
    expect(detectFormat('bin/sh', Buffer.from('\x7fELF\x02\x01\x01\x00', 'latin1'))).toBe('elf');
    expect(detectFormat('a.txt', Buffer.from('hello'))).toBeUndefined();
    expect(detectFormat('a.gz', Buffer.alloc(0))).toBeUndefined();
  });

  it('decodes both sides and lists what differs', async () => {
    expect((await compareFormat('pyc', bufferSource(pycBytes(1_700_000_000)), bufferSource(pycBytes(1_700_000_002)))).map((c) => c.field)).toEqual(['source-mtime']);
    const a = gzipWithHeader(Buffer.from('x'), { mtime: 1, name: 'a' });
    const b = gzipWithHeader(Buffer.from('x'), { mtime: 1, name: 'b' });
    expect(await compareFormat('gzip', bufferSource(a), bufferSource(b))).toEqual([expect.objectContaining({ field: 'name', a: 'a', b: 'b' })]);
  });

  it('refuses a pyc over the cap before reading it', async () => {
    const reads: number[] = [];
    const huge = { size: 1 << 30, read: async (offset: number, length: number) => (reads.push(length), Buffer.alloc(length)) };
    await expect(compareFormat('pyc', huge, huge)).rejects.toThrow(/^pyc: input of 1073741824 bytes is larger than the \d+-byte limit$/);
    expect(reads).toEqual([]);
  });
});

describe.skipIf(skipWithoutTools('zip', 'ar', 'gcc'))('damaged copies of real files', () => {
  let dir: string;
  const samples = new Map<FormatKind, Buffer>();
  beforeAll(async () => {
    dir = await makeTempDir('oci-repro-fuzz-');
    await writeFile(join(dir, 'long_source_file_name.c'), 'int f(int x) { return x * 3; }\n');
    await utimes(join(dir, 'long_source_file_name.c'), 1_700_000_000, 1_700_000_000);
    await runTool('gcc', ['-c', 'long_source_file_name.c', '-o', 'long_object_file_name.o', '-Wl,--build-id'], { cwd: dir });
    await runTool('ar', ['rcU', 'lib.a', 'long_object_file_name.o', 'long_source_file_name.c'], { cwd: dir });
    await runTool('zip', ['-q', 'a.zip', 'long_source_file_name.c', 'long_object_file_name.o'], { cwd: dir });
    samples.set('elf', await readFile(join(dir, 'long_object_file_name.o')));
    samples.set('ar', await readFile(join(dir, 'lib.a')));
    samples.set('zip', await readFile(join(dir, 'a.zip')));
    samples.set('gzip', Buffer.concat([gzipWithHeader(Buffer.from('abc'.repeat(300)), { name: 'abc', mtime: 5 }), gzipSync('second')]));
    samples.set('pyc', pycBytes(1_700_000_000));
  });
  afterAll(() => removeTempDir(dir));

  // A damage: bytes overwritten at some places, then the file cut or extended.
  const damage = fc.record({
    writes: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.uint8Array({ minLength: 1, maxLength: 8 })), { minLength: 1, maxLength: 6 }),
    keep: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  });

  for (const kind of ['pyc', 'gzip', 'zip', 'ar', 'elf'] as const) {
    it(`${kind}: decodes or fails with a one-line CORRUPT_ARCHIVE error`, async () => {
      await fc.assert(
        fc.asyncProperty(damage, async ({ writes, keep }) => {
          const copy = Buffer.from(samples.get(kind)!);
          for (const [where, bytes] of writes) Buffer.from(bytes).copy(copy, Math.floor(where * copy.length));
          const damaged = copy.subarray(0, Math.floor(keep * copy.length));
          try {
            await compareFormat(kind, bufferSource(samples.get(kind)!), bufferSource(damaged));
          } catch (error) {
            expect(error).toBeInstanceOf(OciReproError);
            expect((error as OciReproError).code).toBe('CORRUPT_ARCHIVE');
            expect((error as OciReproError).line).not.toMatch(/\n/);
            expect((error as OciReproError).message).toMatch(new RegExp(`^${kind}: `));
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});
