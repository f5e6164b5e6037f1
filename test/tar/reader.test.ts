/**
 * The incremental reader: what a handler gets (headers with extended headers applied, content only
 * when asked for), and the format checks on hostile input, each with the message the layer pass shows.
 */
import { describe, expect, test } from 'vitest';
import { TarReader } from '../../src/tar/reader.js';
import { thrownError } from '../helpers/errors.js';
import { buildTar } from '../helpers/tar.js';
import { block, headerBlocks, setField } from '../helpers/tar-mutate.js';
import { readAll } from './read-all.js';

/** A one-member tar whose header we can damage: `a` with 5 bytes, then the end-of-archive marker. */
const oneFile = () => buildTar([{ name: 'a', content: 'hello' }]);

describe('what the handler gets', () => {
  test('content only for members it asks for; skipped data is not delivered', async () => {
    const tar = await buildTar([
      { name: 'skip', content: 'x'.repeat(600) },
      { name: 'keep', content: 'kept' },
    ]);
    const seen: string[] = [];
    const reader = new TarReader({
      entry: (header) => {
        seen.push(`entry ${header.name} ${header.size}`);
        return header.name === 'keep';
      },
      content: (slice) => seen.push(`content ${slice.toString()}`),
      contentEnd: () => seen.push('end'),
    });
    reader.push(tar);
    reader.end();
    expect(seen).toEqual(['entry skip 600', 'entry keep 4', 'content kept', 'end']);
    expect(reader.consumed).toBe(tar.length);
  });

  test('global PAX records apply to every later member, a member record overrides them', async () => {
    const global = Buffer.from('17 comment=hello\n', 'latin1');
    const tar = await buildTar([{ name: 'a', content: '1' }, { name: 'b', content: '2', pax: { comment: 'mine' } }], { dialect: 'pax' });
    // A 'g' header with its data in front of the archive.
    const header = Buffer.from(tar.subarray(0, block));
    setField(header, 0, 'name', 'pax_global_header');
    setField(header, 0, 'typeflag', 'g');
    setField(header, 0, 'size', `${global.length.toString(8).padStart(11, '0')}\0`);
    const data = Buffer.alloc(block);
    global.copy(data);
    const { members, dialects } = readAll(Buffer.concat([header, data, tar]));
    expect(dialects).toContain('pax-global');
    expect(members.map((m) => [m.header.name, m.pax?.comment])).toEqual([
      ['a', 'hello'],
      ['b', 'mine'],
    ]);
  });

  test('everything after the end-of-archive marker is ignored', async () => {
    const tar = Buffer.concat([await oneFile(), Buffer.alloc(block, 0x41)]);
    expect(readAll(tar).members.map((m) => m.header.name)).toEqual(['a']);
  });
});

describe('hostile input', () => {
  const fails = (tar: Buffer, chunkSize?: number) => thrownError(() => readAll(tar, chunkSize));

  test('a truncated archive: unexpected end, at every cut', async () => {
    const tar = await oneFile();
    for (const cut of [1, block - 1, block, block + 3, 2 * block + 100]) {
      const error = fails(tar.subarray(0, cut), 100);
      expect(error.code).toBe('CORRUPT_ARCHIVE');
      expect(error.message).toBe('unexpected end of archive');
      expect(error.hint).toBe('the layer tar is truncated');
    }
  });

  test('a bad checksum names the header offset', async () => {
    const tar = await oneFile();
    setField(tar, 0, 'uid', '0000001\0', false);
    const error = fails(tar);
    expect(error.message).toBe('invalid tar header at offset 0');
    expect(error.hint).toBe('checksum mismatch; the layer may be corrupt, or still compressed');
  });

  test('data after a single zero block: two tars concatenated', async () => {
    const tar = await oneFile();
    const member = tar.subarray(0, 2 * block);
    const joined = Buffer.concat([member, Buffer.alloc(block), tar]);
    const error = fails(joined);
    expect(error.message).toBe(`invalid tar header at offset ${3 * block}`);
    expect(error.hint).toBe('a zero block is followed by data; the layer may be two tars concatenated');
  });

  test('an extended header followed by the end of the archive', async () => {
    const tar = await buildTar([{ name: 'a', content: 'x', pax: { comment: 'c' } }], { dialect: 'pax' });
    const [pax] = headerBlocks(tar);
    const cut = pax.offset + block + Math.ceil(pax.size / block) * block;
    const error = fails(Buffer.concat([tar.subarray(0, cut), Buffer.alloc(2 * block)]));
    expect(error.message).toBe(`invalid tar header at offset ${cut}`);
    expect(error.hint).toBe('an extended header is followed by the end of the archive');
  });

  test('an implausible extended header size, and a malformed PAX record', async () => {
    const tar = await buildTar([{ name: 'a', content: 'x', pax: { comment: 'c' } }], { dialect: 'pax' });
    const huge = Buffer.from(tar);
    setField(huge, 0, 'size', `${(32 << 20).toString(8).padStart(11, '0')}\0`);
    expect(fails(huge).hint).toBe(`an extended header of ${32 << 20} bytes is implausible`);
    const framed = Buffer.from(tar);
    framed[framed.indexOf(0x0a, block)] = 0x78; // the first record's newline
    const error = fails(framed);
    expect(error.message).toBe('invalid pax header at offset 0');
    expect(error.hint).toBe('a record is not "<length> <key>=<value>\\n"; the layer may be corrupt');
  });

  test('a PAX size that is not a number', async () => {
    const tar = await buildTar([{ name: 'a', content: 'x', pax: { size: '1e3' } }], { dialect: 'pax' });
    expect(fails(tar).hint).toBe('size="1e3" is not a number');
  });

  test('GNU sparse members are refused as unsupported, by typeflag and by PAX record', async () => {
    const tar = await oneFile();
    setField(tar, 0, 'typeflag', 'S');
    const error = fails(tar);
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.message).toBe('gnu sparse entry at offset 0');
    const pax = await buildTar([{ name: 'a', content: 'x', pax: { 'GNU.sparse.major': '1' } }], { dialect: 'pax' });
    expect(fails(pax).message).toMatch(/^gnu sparse entry at offset \d+$/);
  });
});
