import { describe, expect, it } from 'vitest';
import {
  attachContentDetails,
  decodableContentLimit,
  defaultContentLimit,
  describeContentChange,
  readFilesFromTar,
  type ContentReader,
} from '../../src/compare/content.js';
import { compareLayerTables } from '../../src/compare/layers.js';
import { normalizeLayer } from '../../src/normalize/layer.js';
import type { Difference } from '../../src/diff/model.js';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { buildTar, tarStream, type TestEntry } from '../helpers/tar.js';
import { optionsWith } from './entries.js';
import { sha256Of } from '../helpers/digest.js';

const sha = sha256Of;

describe('describeContentChange', () => {
  it('gives a unified diff of text with a/ and b/ paths and three lines of context', async () => {
    const a = Buffer.from('1\n2\n3\n4\n5\n6\n7\n8\n');
    const b = Buffer.from('1\n2\n3\n4\nfive\n6\n7\n8\n');
    expect(await describeContentChange('etc/app.conf', a, b)).toEqual({
      format: 'unified',
      diff: '--- a/etc/app.conf\n+++ b/etc/app.conf\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n',
    });
  });

  it('gives the changed pointers of a .json file', async () => {
    const a = Buffer.from(JSON.stringify({ version: 1, built: '2024-01-01', deps: ['x', 'y'], 'a/b': 1 }));
    const b = Buffer.from(JSON.stringify({ version: 1, built: '2024-01-02', deps: ['x'], 'a/b': 2, extra: true }, null, 2));
    expect(await describeContentChange('app/package.JSON', a, b)).toEqual({
      format: 'json',
      changes: [
        { pointer: '/built', a: '2024-01-01', b: '2024-01-02' },
        { pointer: '/deps/1', a: 'y', b: null },
        { pointer: '/a~1b', a: 1, b: 2 },
        { pointer: '/extra', a: null, b: true },
      ],
    });
  });

  it('falls back to a unified diff for JSON that differs only in layout, or does not parse', async () => {
    expect((await describeContentChange('x.json', Buffer.from('{"a":1}\n'), Buffer.from('{ "a": 1 }\n'))).format).toBe('unified');
    expect((await describeContentChange('x.json', Buffer.from('{"a":\n'), Buffer.from('{"a":2}\n'))).format).toBe('unified');
  });

  it('gives sizes, digests and differing ranges for binary content, also when a decoder cannot read it', async () => {
    // ELF magic but truncated: the ELF decoder fails, and the user gets the byte ranges, not an error.
    const a = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1]);
    const b = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 2, 3]);
    expect(await describeContentChange('usr/bin/app', a, b)).toEqual({
      format: 'binary',
      sizeA: 6,
      sizeB: 7,
      digestA: sha(a),
      digestB: sha(b),
      differingBytes: 2,
      ranges: [
        {
          start: 5,
          end: 7,
          hexA: ['00000000  7f 45 4c 46 00 01                                 |.ELF..|'],
          hexB: ['00000000  7f 45 4c 46 00 02 03                              |.ELF...|'],
        },
      ],
      moreRanges: 0,
    });
    // Not valid UTF-8, no NUL: still binary.
    expect((await describeContentChange('f', Buffer.from([0xff, 0xfe]), Buffer.from('ok'))).format).toBe('binary');
  });

  it('says only timestamps differ when every changed line differs only in dates and times', async () => {
    const log = (t: string, d: string) => `start\n${t} INFO built in ${d}\nmiddle\n${t} INFO done\nend\n`;
    const a = Buffer.from(log('2026-12-05 10:55:42', '1.2s'));
    const b = Buffer.from(log('2026-12-06 11:00:01', '3.4s'));
    expect(await describeContentChange('var/log/build.log', a, b)).toEqual({
      format: 'timestamps',
      lines: 2,
      kinds: ['duration', 'iso-8601'],
      example: { a: '2026-12-05 10:55:42 INFO built in 1.2s', b: '2026-12-06 11:00:01 INFO built in 3.4s' },
    });
    // One line that differs in more than a time: the whole diff, as before.
    const c = Buffer.from(log('2026-12-06 11:00:01', '3.4s').replace('done', 'failed'));
    expect((await describeContentChange('var/log/build.log', a, c)).format).toBe('unified');
    // A line added on one side only is not a timestamp change.
    expect((await describeContentChange('var/log/build.log', a, Buffer.concat([b, Buffer.from('2026-12-06 extra\n')]))).format).toBe('unified');
  });

  it('decodes a gzip header change to the fields that differ', async () => {
    const a = gzipSync(Buffer.from('same text\n'));
    const b = Buffer.from(a);
    b.writeUInt32LE(1_700_000_000, 4); // MTIME
    const detail = await describeContentChange('usr/share/doc/x/changelog.gz', a, b);
    expect(detail).toMatchObject({ format: 'decoded', decoder: 'gzip', sizeA: a.length, digestB: sha(b) });
    expect(detail.format === 'decoded' && detail.changes.map((c) => c.field)).toEqual(['mtime']);
    expect(detail.format === 'decoded' && detail.changes[0]!.b).toContain('2023-11-14T22:13:20Z');
  });
});

function contentDifference(file: string, a: string, b: string, fields: Partial<Difference> = {}): Difference {
  return {
    kind: 'file-attribute',
    path: `layers/1/${file}#content`,
    layer: 1,
    file,
    attribute: 'content',
    a: sha(a),
    b: sha(b),
    neutralized: false,
    cause: null,
    detail: { format: 'binary', sizeA: a.length, sizeB: b.length, digestA: sha(a), digestB: sha(b) },
    ...fields,
  } as Difference;
}

/** A reader of layer tars built from fixed contents, that records which layers it opened. */
function fakeReader(files: Record<string, Record<string, string | Buffer>>): ContentReader & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async openTar(layer, side) {
      calls.push(`${side}:${layer}`);
      const layerFiles = files[`${side}:${layer}`] ?? {};
      return tarStream(await buildTar(Object.entries(layerFiles).map(([name, content]) => ({ name, content }))), 4096);
    },
  };
}

describe('attachContentDetails', () => {
  it('reads each layer once per side and refines small text changes', async () => {
    const differences = [
      contentDifference('etc/a.conf', 'x=1\n', 'x=2\n'),
      contentDifference('etc/b.json', '{"v":1}', '{"v":2}'),
      { kind: 'file-attribute', path: 'layers/1/etc/a.conf#mtime', layer: 1, file: 'etc/a.conf', attribute: 'mtime', a: 1, b: 2, neutralized: true, cause: null } as Difference,
    ];
    const reader = fakeReader({
      'a:1': { 'etc/a.conf': 'x=1\n', 'etc/b.json': '{"v":1}' },
      'b:1': { 'etc/a.conf': 'x=2\n', 'etc/b.json': '{"v":2}' },
    });
    await attachContentDetails(differences, reader);
    expect(reader.calls).toEqual(['a:1', 'b:1']);
    expect(differences[0]!.detail).toEqual({ format: 'unified', diff: '--- a/etc/a.conf\n+++ b/etc/a.conf\n@@ -1,1 +1,1 @@\n-x=1\n+x=2\n' });
    expect(differences[1]!.detail).toEqual({ format: 'json', changes: [{ pointer: '/v', a: 1, b: 2 }] });
    expect(differences[2]!.detail).toBeUndefined();
  });

  it('keeps the binary detail over the size limit, on a digest mismatch, or when the reader lacks a file', async () => {
    const big = contentDifference('big.txt', 'a'.repeat(100), 'b'.repeat(100));
    const wrong = contentDifference('wrong.txt', 'one\n', 'two\n');
    const absent = contentDifference('absent.txt', 'one\n', 'two\n');
    const reader = fakeReader({
      'a:1': { 'big.txt': 'a'.repeat(100), 'wrong.txt': 'not one\n' },
      'b:1': { 'big.txt': 'b'.repeat(100), 'wrong.txt': 'two\n', 'absent.txt': 'two\n' },
    });
    await attachContentDetails([big, wrong, absent], reader, 64);
    expect([big, wrong, absent].map((d) => d.detail?.format)).toEqual(['binary', 'binary', 'binary']);
    expect(reader.calls).toEqual(['a:1', 'b:1']);
    // The large one got its byte ranges from the same pass; the others were not read.
    expect(big.detail).toMatchObject({ differingBytes: 100 });
    expect(wrong.detail).not.toHaveProperty('differingBytes');
  });

  it('reads files a decoder explains by name past the plain limit, within the budget; others keep the plain limit', async () => {
    const payload = randomBytes(100 * 1024); // incompressible: the .gz stays over 64 KiB
    const gzA = gzipSync(payload);
    const gzB = Buffer.from(gzA);
    gzB.writeUInt32LE(1_700_000_000, 4);
    const binA = Buffer.from(payload);
    const binB = Buffer.from(payload);
    binB[7] = binB[7]! ^ 1;
    const difference = (file: string, a: Buffer, b: Buffer): Difference =>
      ({ ...contentDifference(file, '', ''), a: sha(a), b: sha(b), detail: { format: 'binary', sizeA: a.length, sizeB: b.length, digestA: sha(a), digestB: sha(b) } }) as Difference;
    const reader = fakeReader({ 'a:1': { 'x.gz': gzA, 'x.bin': binA }, 'b:1': { 'x.gz': gzB, 'x.bin': binB } });
    const gz = difference('x.gz', gzA, gzB);
    const bin = difference('x.bin', binA, binB);
    expect(gzA.length).toBeGreaterThan(defaultContentLimit);
    expect(decodableContentLimit).toBeGreaterThan(gzA.length);
    await attachContentDetails([gz, bin], reader);
    expect(gz.detail).toMatchObject({ format: 'decoded', decoder: 'gzip', changes: [{ field: 'mtime' }] });
    // Over the plain limit: byte ranges only (streamed), no decoding.
    expect(bin.detail).toEqual({
      format: 'binary',
      sizeA: binA.length,
      sizeB: binB.length,
      digestA: sha(binA),
      digestB: sha(binB),
      differingBytes: 1,
      ranges: [expect.objectContaining({ start: 7, end: 8 })],
      moreRanges: 0,
    });
    // The budget still holds: with room for less than both sides, the .gz is not held but spooled, and
    // decoded from the spool (an archive on both sides) rather than given byte ranges.
    const again = difference('x.gz', gzA, gzB);
    await attachContentDetails([again], reader, defaultContentLimit, gzA.length + gzB.length - 1);
    expect(again.detail).toMatchObject({ format: 'decoded', decoder: 'gzip', sizeA: gzA.length, changes: [{ field: 'mtime' }] });
  });

  it('reads each side from the layer its entry came from in a flattened comparison', async () => {
    const difference = contentDifference('f.txt', 'a\n', 'b\n', { path: 'fs/f.txt#content', layer: 0, origin: { a: 0, b: 2 } });
    const reader = fakeReader({ 'a:0': { 'f.txt': 'a\n' }, 'b:2': { 'f.txt': 'b\n' } });
    await attachContentDetails([difference], reader);
    expect(reader.calls).toEqual(['a:0', 'b:2']);
    expect(difference.detail?.format).toBe('unified');
  });

  it('does not call the reader when there is nothing to refine', async () => {
    const reader = fakeReader({});
    await attachContentDetails([], reader);
    expect(reader.calls).toEqual([]);
  });
});

describe('readFilesFromTar', () => {
  it('returns requested regular files by canonical path, last entry winning, hardlinks resolved', async () => {
    const tar = await buildTar([
      { name: './etc/', type: 'directory' },
      { name: './etc/a', content: 'first' },
      { name: './etc/a', content: 'second' },
      { name: './etc/big', content: 'x'.repeat(200) },
      { name: './etc/skip', content: 'not asked' },
      { name: './etc/link', type: 'link', linkname: './etc/a' },
      { name: './etc/sym', type: 'symlink', linkname: 'a' },
    ]);
    const found = await readFilesFromTar(tarStream(tar, 100), new Set(['etc/a', 'etc/big', 'etc/link', 'etc/sym', 'etc/']), 100);
    expect(Object.fromEntries([...found].map(([k, v]) => [k, v.toString()]))).toEqual({ 'etc/a': 'second', 'etc/link': 'second' });
  });

  it('rejects with the stream error', async () => {
    const tar = await buildTar([{ name: 'a', content: 'x' }]);
    const stream = tarStream(tar, 10);
    stream.on('data', () => stream.destroy(new Error('digest mismatch')));
    await expect(readFilesFromTar(stream, new Set(['a']))).rejects.toThrow('digest mismatch');
  });
});

describe('end to end: two layer tars', () => {
  it('normalizes, compares and explains a changed text file and a changed JSON file', async () => {
    const common: TestEntry[] = [
      { name: 'app/', type: 'directory' },
      { name: 'app/bin', content: Buffer.from([0, 1, 2, 3]) },
    ];
    const tarA = await buildTar([
      ...common,
      { name: 'app/config.json', content: '{"name":"app","build":1}' },
      { name: 'app/notes.txt', content: 'alpha\nbeta\ngamma\n', mtime: new Date('2024-01-01T00:00:00Z'), uname: 'root' },
    ]);
    const tarB = await buildTar(
      [
        ...common,
        { name: 'app/config.json', content: '{"name":"app","build":2}' },
        { name: 'app/notes.txt', content: 'alpha\nBETA\ngamma\n', mtime: new Date('2024-02-01T00:00:00Z'), uname: 'builder' },
      ],
      { dialect: 'pax' },
    );
    const options = optionsWith();
    const summaryA = await normalizeLayer(tarStream(tarA), options);
    const summaryB = await normalizeLayer(tarStream(tarB), options);
    const differences = compareLayerTables(0, summaryA, summaryB, options);
    const tars = { a: tarA, b: tarB };
    const reader: ContentReader = { openTar: async (_layer, side) => tarStream(tars[side]) };
    await attachContentDetails(differences, reader);

    expect(differences.map((d) => [d.path, d.neutralized])).toEqual([
      ['layers/0/app/config.json#content', false],
      ['layers/0/app/notes.txt#content', false],
      ['layers/0/app/notes.txt#uname', true],
      ['layers/0/app/notes.txt#mtime', true],
      ['layers/0', true],
    ]);
    expect(differences[0]!.detail).toEqual({ format: 'json', changes: [{ pointer: '/build', a: 1, b: 2 }] });
    expect(differences[1]!.detail).toEqual({
      format: 'unified',
      diff: '--- a/app/notes.txt\n+++ b/app/notes.txt\n@@ -1,3 +1,3 @@\n alpha\n-beta\n+BETA\n gamma\n',
    });
    expect(differences[4]).toMatchObject({ kind: 'tar-dialect', a: ['ustar'], b: ['pax', 'ustar'] });
  });
});
