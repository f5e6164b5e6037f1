import { describe, expect, test } from 'vitest';
import {
  canonicalizePath,
  comparePaths,
  noXattrs,
  resolveLayerRules,
  type LayerEntry,
} from '../../src/normalize/entry.js';
import { defaultNormalizeOptions, type RuleName } from '../../src/normalize/options.js';
import { encodeCanonicalHeader, paxHeaderName } from '../../src/normalize/canonical-tar.js';
import { isZeroBlock } from '../../src/tar/blocks.js';
import { decodeTarHeader, parsePaxRecords } from '../../src/tar/decode.js';
import { OciReproError } from '../../src/errors.js';

const rules = resolveLayerRules(defaultNormalizeOptions);
const rulesWithout = (...names: RuleName[]) =>
  resolveLayerRules({ ...defaultNormalizeOptions, disabledRules: new Set(names) });

function entry(overrides: Partial<LayerEntry> = {}): LayerEntry {
  return {
    path: 'usr/bin/tool',
    type: 'file',
    mode: 0o755,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    mtime: 1700000000.5,
    size: 1234,
    xattrs: noXattrs,
    inputIndex: 0,
    ...overrides,
  };
}

/** `<len> key=value\n` records of a PAX data area, as [key, raw value bytes]. */
function paxRecordsOf(block: Buffer): Array<[string, Buffer]> {
  const records: Array<[string, Buffer]> = [];
  let pos = 0;
  while (pos < block.length && block[pos] !== 0) {
    const space = block.indexOf(0x20, pos);
    const length = Number(block.toString('latin1', pos, space));
    const eq = block.indexOf(0x3d, space);
    records.push([block.toString('utf8', space + 1, eq), block.subarray(eq + 1, pos + length - 1)]);
    pos += length;
  }
  return records;
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return parseInt(block.toString('latin1', 148, 154), 8) === sum;
}

describe('canonical header encoder', () => {
  test('a short path is one USTAR block: set mtime, empty owner names, ustar magic', () => {
    const block = encodeCanonicalHeader(entry(), rules);
    expect(block.length).toBe(512);
    expect(block.toString('latin1', 0, 12)).toBe('usr/bin/tool');
    expect(block.toString('latin1', 100, 108)).toBe('0000755\0');
    expect(block.toString('latin1', 124, 136)).toBe('00000002322\0'); // 1234
    expect(block.toString('latin1', 136, 148)).toBe('00000000000\0'); // epoch 0
    expect(block.toString('latin1', 257, 265)).toBe('ustar\u000000');
    expect(block.subarray(265, 329).every((b) => b === 0)).toBe(true); // uname, gname
    expect(block.subarray(329, 512).every((b) => b === 0)).toBe(true); // no dev numbers, no prefix
    expect(block[156]).toBe(0x30);
    expect(checksumOk(block)).toBe(true);
  });

  test('clamp keeps earlier mtimes in whole seconds and rewrites later ones', () => {
    const clamp = resolveLayerRules({ ...defaultNormalizeOptions, epoch: 1600000000, timestampMode: 'clamp' });
    const early = encodeCanonicalHeader(entry({ mtime: 1500000000.9 }), clamp);
    const late = encodeCanonicalHeader(entry({ mtime: 1700000000 }), clamp);
    expect(parseInt(early.toString('latin1', 136, 147), 8)).toBe(1500000000);
    expect(parseInt(late.toString('latin1', 136, 147), 8)).toBe(1600000000);
  });

  test('a path up to 256 bytes splits into prefix and name without PAX', () => {
    const path = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const block = encodeCanonicalHeader(entry({ path }), rules);
    expect(block.length).toBe(512);
    expect(block.toString('latin1', 0, 100).replace(/\0+$/, '')).toBe('f'.repeat(90));
    expect(block.toString('latin1', 345, 500).replace(/\0+$/, '')).toBe('d'.repeat(120));
  });

  test('a directory path keeps its trailing slash in the name part', () => {
    const path = `${'d'.repeat(120)}/${'e'.repeat(60)}/`;
    const block = encodeCanonicalHeader(entry({ path, type: 'directory', size: 0 }), rules);
    expect(block.length).toBe(512);
    expect(block.toString('latin1', 0, 100).replace(/\0+$/, '')).toBe(`${'e'.repeat(60)}/`);
  });

  test('longer paths, long link targets, huge sizes and uids go to sorted PAX records under a fixed name', () => {
    const path = `${'p/'.repeat(150)}file`;
    const linkname = 'l'.repeat(150);
    const blocks = encodeCanonicalHeader(
      entry({ path, type: 'symlink', size: 0, linkname, uid: 3_000_000 }),
      rules,
    );
    expect(blocks.toString('latin1', 0, 100).replace(/\0+$/, '')).toBe(paxHeaderName);
    expect(blocks[156]).toBe(0x78); // 'x'
    expect(blocks.toString('latin1', 136, 148)).toBe('00000000000\0');
    expect(checksumOk(blocks)).toBe(true);
    const records = paxRecordsOf(blocks.subarray(512, blocks.length - 512));
    expect(records.map(([key]) => key)).toEqual(['linkpath', 'path', 'uid']);
    expect(records[1][1].toString()).toBe(path);
    const header = blocks.subarray(blocks.length - 512);
    expect(header[156]).toBe(0x32);
    expect(header.toString('latin1', 108, 116)).toBe('0000000\0');
    expect(checksumOk(header)).toBe(true);

    const big = encodeCanonicalHeader(entry({ size: 9 * 2 ** 30 }), rules);
    expect(paxRecordsOf(big.subarray(512, big.length - 512))).toEqual([['size', Buffer.from(String(9 * 2 ** 30))]]);
  });

  test('xattrs become SCHILY.xattr records, byte-exact and sorted by key', () => {
    const capability = Buffer.from([1, 0, 0, 2, 0x80, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const blocks = encodeCanonicalHeader(
      entry({ xattrs: { 'user.z': 'zz', 'security.capability': capability.toString('latin1'), 'user.a': 'a\nb' } }),
      rules,
    );
    const records = paxRecordsOf(blocks.subarray(512, blocks.length - 512));
    expect(records.map(([key]) => key)).toEqual(['SCHILY.xattr.security.capability', 'SCHILY.xattr.user.a', 'SCHILY.xattr.user.z']);
    expect(records[0][1].equals(capability)).toBe(true);
    expect(records[1][1].toString()).toBe('a\nb');
  });

  test('no atime/ctime unless extra-times is off; fractional mtime only when mtime is off', () => {
    const withTimes = entry({ atime: 1700000001.25, ctime: 1700000002 });
    expect(encodeCanonicalHeader(withTimes, rules).length).toBe(512);
    const kept = encodeCanonicalHeader(withTimes, rulesWithout('extra-times', 'mtime'));
    const records = paxRecordsOf(kept.subarray(512, kept.length - 512));
    expect(records.map(([key, value]) => `${key}=${value}`)).toEqual([
      'atime=1700000001.25',
      'ctime=1700000002',
      'mtime=1700000000.5',
    ]);
    const header = kept.subarray(kept.length - 512);
    expect(parseInt(header.toString('latin1', 136, 147), 8)).toBe(1700000000);
  });

  test('owner names are written only with owner-names off', () => {
    const block = encodeCanonicalHeader(entry({ uname: 'builder', gname: 'staff' }), rulesWithout('owner-names'));
    expect(block.toString('latin1', 265, 272)).toBe('builder');
    expect(block.toString('latin1', 297, 302)).toBe('staff');
  });

  test('devices carry their numbers', () => {
    const block = encodeCanonicalHeader(entry({ path: 'dev/null', type: 'char', size: 0, devmajor: 1, devminor: 3 }), rules);
    expect(block[156]).toBe(0x33);
    expect(block.toString('latin1', 329, 345)).toBe('0000001\u00000000003\0');
    expect(block.toString('latin1', 124, 136)).toBe('00000000000\0');
  });
});

describe('header decoder', () => {
  test('reads back what the encoder wrote', () => {
    const path = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const block = encodeCanonicalHeader(entry({ path, mode: 0o4755, uid: 1000, gid: 1001 }), rulesWithout('owner-names'));
    const header = decodeTarHeader(block, 0, 0);
    expect(header).toMatchObject({
      name: path,
      mode: 0o4755,
      uid: 1000,
      gid: 1001,
      size: 1234,
      mtime: 0,
      typeflag: 0x30,
      uname: 'root',
      gname: 'root',
      format: 'ustar',
    });
  });

  test('owner names: shared decoding never mixes names up (prefixes, 32 bytes, UTF-8, many names)', () => {
    const names = ['root', 'roo', 'rootx', 'a'.repeat(31), 'café', ...Array.from({ length: 40 }, (_, i) => `user${i}`)];
    // Twice through, so the second round reads names the first one remembered (and some it could not).
    for (const round of [0, 1]) {
      for (const [i, uname] of names.entries()) {
        const gname = names[(i + 1 + round) % names.length];
        const block = encodeCanonicalHeader(entry({ uname, gname }), rulesWithout('owner-names'));
        const header = decodeTarHeader(block, 0, 0);
        expect([header.uname, header.gname]).toEqual([uname, gname]);
      }
    }
    // A full 32-byte field has no NUL: the name ends at the field, not at the next NUL.
    const block = encodeCanonicalHeader(entry(), rulesWithout('owner-names'));
    block.write('b'.repeat(32), 265, 'latin1');
    resum(block);
    expect(decodeTarHeader(block, 0, 0).uname).toBe('b'.repeat(32));
    block.write('c', 296, 'latin1');
    resum(block);
    expect(decodeTarHeader(block, 0, 0).uname).toBe(`${'b'.repeat(31)}c`);
  });

  test('GNU base-256 numbers, GNU magic and pre-POSIX tars', () => {
    const block = encodeCanonicalHeader(entry(), rules);
    block.write('ustar  \0', 257, 'latin1');
    // size 2^40 in base-256, mtime -1 in two's complement
    block.fill(0, 124, 136);
    block[124] = 0x80;
    block[130] = 0x01;
    block.fill(0xff, 136, 148);
    resum(block);
    const gnu = decodeTarHeader(block, 0, 0);
    expect(gnu.format).toBe('gnu');
    expect(gnu.size).toBe(2 ** 40);
    expect(gnu.mtime).toBe(-1);

    const v7 = encodeCanonicalHeader(entry(), rules);
    v7.fill(0, 257, 265);
    resum(v7);
    expect(decodeTarHeader(v7, 0, 0).format).toBe('v7');
  });

  test('a bad checksum is an invalid tar header naming the offset', () => {
    const block = encodeCanonicalHeader(entry(), rules);
    block[10] ^= 1;
    expect(() => decodeTarHeader(block, 0, 4096)).toThrow(/^invalid tar header at offset 4096$/);
    try {
      decodeTarHeader(block, 0, 4096);
    } catch (error) {
      expect((error as OciReproError).code).toBe('CORRUPT_ARCHIVE');
    }
  });

  test('names that are not UTF-8 decode to null', () => {
    const block = encodeCanonicalHeader(entry({ path: 'abc' }), rules);
    block[1] = 0xff;
    resum(block);
    expect(decodeTarHeader(block, 0, 0).name).toBeNull();
  });

  test('zero blocks', () => {
    expect(isZeroBlock(Buffer.alloc(1024), 512)).toBe(true);
    const b = Buffer.alloc(512);
    b[511] = 1;
    expect(isZeroBlock(b, 0)).toBe(false);
  });
});

describe('pax records', () => {
  test('binary values survive, empty values delete, malformed records throw', () => {
    const value = Buffer.from([0, 0xff, 0x0a, 0x80]);
    const body = Buffer.concat([Buffer.from(' SCHILY.xattr.user.x='), value, Buffer.from('\n')]);
    const record = Buffer.concat([Buffer.from(String(body.length + 2)), body]);
    const map = new Map([['comment', 'old']]);
    parsePaxRecords(Buffer.concat([record, Buffer.from('12 comment=\n')]), map, 0);
    expect(Buffer.from(map.get('SCHILY.xattr.user.x')!, 'latin1').equals(value)).toBe(true);
    expect(map.has('comment')).toBe(false);
    expect(() => parsePaxRecords(Buffer.from('99 path=x\n'), new Map(), 512)).toThrow(/invalid pax header at offset 512/);
  });
});

describe('paths', () => {
  test('canonical spelling', () => {
    expect(canonicalizePath('./usr/bin/', true)).toBe('usr/bin/');
    expect(canonicalizePath('/usr//bin/./sh', false)).toBe('usr/bin/sh');
    expect(canonicalizePath('usr/bin', true)).toBe('usr/bin/');
    expect(canonicalizePath('usr/bin/', false)).toBe('usr/bin');
    expect(canonicalizePath('./', true)).toBe('./');
    expect(canonicalizePath('/', true)).toBe('./');
    expect(canonicalizePath('.', true)).toBe('./');
    // `..` resolves lexically, as runtimes do; above the root it is refused (null), never dropped.
    expect(canonicalizePath('a/../b', false)).toBe('b');
    expect(canonicalizePath('a/..', true)).toBe('./');
    expect(canonicalizePath('a/../../b', false)).toBeNull();
    expect(canonicalizePath('.wh..wh..opq', false)).toBe('.wh..wh..opq');
    expect(canonicalizePath('a/..b/c..', false)).toBe('a/..b/c..');
  });

  test('order: "/" before every other byte, trailing slash ignored, root first, UTF-8 byte order', () => {
    const paths = ['a0', 'a-b/', 'a/x', 'a/', 'a.c', './', 'b', 'a-b/y', '\u{1F600}', '\uFFFD', 'é', 'Z'];
    const sorted = [...paths].sort(comparePaths);
    expect(sorted).toEqual(['./', 'Z', 'a/', 'a/x', 'a-b/', 'a-b/y', 'a.c', 'a0', 'b', 'é', '\uFFFD', '\u{1F600}']);
    const bytes = ['é', '\uFFFD', '\u{1F600}'].map((p) => Buffer.from(p));
    expect(Buffer.compare(bytes[0], bytes[1])).toBeLessThan(0);
    expect(Buffer.compare(bytes[1], bytes[2])).toBeLessThan(0);
    expect(comparePaths('a', 'a/')).toBe(0);
  });
});

function resum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += block[i];
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}
