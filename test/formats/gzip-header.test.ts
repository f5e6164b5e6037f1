// gzip member headers from real compressors: pairs that differ only in what the header records.
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createGzip, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareGzip, decodeGzip } from '../../src/formats/gzip-header.js';
import { bufferSource } from '../../src/formats/model.js';
import { caughtError } from '../helpers/errors.js';
import { makeTempDir, removeTempDir, runTool, skipWithoutTools } from '../helpers/real-tools.js';

const decode = (bytes: Buffer) => decodeGzip(bufferSource(bytes));
const content = Buffer.from('usr/share/doc/example/changelog\n'.repeat(200));

describe.skipIf(skipWithoutTools('python3', 'gzip'))('gzip headers from python3 gzip and gzip(1)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('oci-repro-gzip-');
  });
  afterAll(() => removeTempDir(dir));

  it('python3 gzip with two mtimes and names: only mtime and name differ', async () => {
    const script = `
import gzip, sys
for out, name, mtime in ((sys.argv[1], 'a.txt', 1700000000), (sys.argv[2], 'b.txt', 1700003600)):
    with open(out, 'wb') as raw, gzip.GzipFile(filename=name, mode='wb', fileobj=raw, mtime=mtime) as f:
        f.write(b'x' * 5000)
`;
    await runTool('python3', ['-c', script, join(dir, 'a.gz'), join(dir, 'b.gz')]);
    const a = await decode(await readFile(join(dir, 'a.gz')));
    const b = await decode(await readFile(join(dir, 'b.gz')));
    expect(a.members).toHaveLength(1);
    expect(a.members[0]).toMatchObject({ name: 'a.txt', mtime: 1_700_000_000, os: 255, flags: ['name'], isize: 5000 });
    expect(compareGzip(a, b).map(({ where, field, a, b }) => ({ where, field, a, b }))).toEqual([
      { where: 'header', field: 'mtime', a: '2023-11-14T22:13:20Z', b: '2023-11-14T23:13:20Z' },
      { where: 'header', field: 'name', a: 'a.txt', b: 'b.txt' },
    ]);
  });

  it('gzip(1) with and without -n: the name and mtime are recorded only without it', async () => {
    const file = join(dir, 'changelog');
    await writeFile(file, content);
    await utimes(file, 1_600_000_000, 1_600_000_000);
    const plain = await decode((await runTool('gzip', ['-9', '-c', file])).stdout);
    const reproducible = await decode((await runTool('gzip', ['-9', '-n', '-c', file])).stdout);
    expect(plain.members[0]).toMatchObject({ name: 'changelog', mtime: 1_600_000_000, xfl: 2, os: 3 });
    expect(compareGzip(plain, reproducible).map(({ field, a, b }) => [field, a, b])).toEqual([
      ['mtime', '2020-09-13T12:26:40Z', 'none (0)'],
      ['name', 'changelog', undefined],
      ['flags', ['name'], []],
    ]);
  });
});

describe('gzip headers built in code', () => {
  it('walks every member of a multi-member file and counts trailing zeros', async () => {
    const one = gzipSync(content);
    const two = gzipSync(Buffer.from('second member'), { level: 1 });
    const decoded = await decode(Buffer.concat([one, two, Buffer.alloc(7)]));
    expect(decoded.members.map((m) => m.offset)).toEqual([0, one.length]);
    expect(decoded.members[1]!.isize).toBe(13);
    expect(decoded.trailingBytes).toBe(7);
    const single = await decode(one);
    expect(compareGzip(single, decoded).map((c) => c.field)).toEqual(['members', 'trailing-bytes']);
  });

  it('reads the optional fields: extra, comment, header CRC', async () => {
    const body = gzipSync(content).subarray(10);
    const header = Buffer.from([0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3]);
    const extra = Buffer.from([4, 0, 0x41, 0x42, 0, 0]);
    const bytes = Buffer.concat([header, extra, Buffer.from('n\0c\0'), Buffer.from([0xaa, 0xbb]), body]);
    expect((await decode(bytes)).members[0]).toMatchObject({ extra: '41420000', name: 'n', comment: 'c', flags: ['hcrc', 'extra', 'name', 'comment'] });
  });

  it('finds a member end without holding its output: 256 MiB of zeros in bounded memory', async () => {
    const chunk = Buffer.alloc(1024 * 1024);
    const gz = await buffer(Readable.from((function* () { for (let i = 0; i < 256; i++) yield chunk; })()).pipe(createGzip({ level: 1 })));
    const before = process.memoryUsage();
    const decoded = await decode(gz);
    const after = process.memoryUsage();
    expect(decoded.members[0]!.isize).toBe(256 * 1024 * 1024);
    expect(after.arrayBuffers + after.heapUsed - before.arrayBuffers - before.heapUsed).toBeLessThan(64 * 1024 * 1024);
  });

  it('bad input: not gzip, truncated, corrupt data: one line, exit 3', async () => {
    const good = gzipSync(content);
    const notGzip = await caughtError(decode(Buffer.from('plain text')));
    expect(notGzip.line).toBe('gzip: no gzip magic (1f 8b) at byte 0 (hint: not a gzip file)');
    const truncated = await caughtError(decode(good.subarray(0, good.length - 20)));
    expect(truncated).toMatchObject({ code: 'CORRUPT_ARCHIVE', exitCode: 3 });
    expect(truncated.message).toMatch(/^gzip: member 1: corrupt deflate data \(unexpected end of file\)$/);
    const noTrailer = await caughtError(decode(good.subarray(0, good.length - 4)));
    expect(noTrailer.message).toMatch(/^gzip: truncated member 1 trailer/);
    const damaged = Buffer.from(good);
    damaged.fill(0xff, 12, 30);
    expect((await caughtError(decode(damaged))).message).toMatch(/^gzip: member 1: corrupt deflate data/);
    const method = Buffer.from(good);
    method[2] = 7;
    expect((await caughtError(decode(method))).message).toBe('gzip: member 1: compression method 7 is not deflate (8)');
    const many = await caughtError(decodeGzip(bufferSource(Buffer.concat([good, good])), { maxMembers: 1 }));
    expect(many.message).toBe('gzip: more than 1 members');
  });
});

describe('a compression bomb', () => {
  it('is refused past maxInflatedBytes with a one-line error, and read whole under it', async () => {
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024));
    const error = await caughtError(decodeGzip(bufferSource(bomb), { maxInflatedBytes: 1024 * 1024 }));
    expect(error.code).toBe('CORRUPT_ARCHIVE');
    expect(error.message).toBe('gzip: member 1: inflates to more than 1048576 bytes');
    expect((await decodeGzip(bufferSource(bomb), { maxInflatedBytes: 4 * 1024 * 1024 })).members[0]!.isize).toBe(4 * 1024 * 1024);
  });
});
