/**
 * The header decoder and the reader against tars written by others: tar-stream (USTAR, PAX) and GNU
 * tar (GNU dialect: long names, base-256 numbers, negative times; PAX from `--format=posix`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { blockSize, headerChecksum, isTarHeader, isZeroBlock, memberKind, paddedSize, TypeFlag } from '../../src/tar/blocks.js';
import { applyPaxRecords, decodeLongName, decodeTarHeader, emptyHeader, parsePaxRecords } from '../../src/tar/decode.js';
import { OciReproError } from '../../src/errors.js';
import { thrownError } from '../helpers/errors.js';
import { inCi } from '../helpers/real-tools.js';
import { baseTime, buildTar } from '../helpers/tar.js';
import { readAll } from './read-all.js';

const base = baseTime.getTime() / 1000;

describe('blocks', () => {
  test('padded sizes and zero blocks', () => {
    expect([0, 1, 511, 512, 513, 1024].map(paddedSize)).toEqual([0, 512, 512, 512, 1024, 1024]);
    const zeros = Buffer.alloc(1024);
    expect(isZeroBlock(zeros, 0)).toBe(true);
    zeros[512 + 511] = 1;
    expect(isZeroBlock(zeros, 0)).toBe(true);
    expect(isZeroBlock(zeros, 512)).toBe(false);
  });

  test('member kinds: pre-POSIX directories by their slash, contiguous files, dump dirs; meta types are none', () => {
    expect(memberKind(TypeFlag.oldFile, 'a/')).toBe('directory');
    expect(memberKind(TypeFlag.oldFile, 'a')).toBe('file');
    expect(memberKind(TypeFlag.contiguous, 'a')).toBe('file');
    expect(memberKind(TypeFlag.gnuDumpDir, 'a/')).toBe('directory');
    expect(memberKind(TypeFlag.paxHeader, 'a')).toBeNull();
    expect(memberKind(0x5a, 'a')).toBeNull();
  });
});

describe('tar-stream tars', () => {
  test('USTAR: every field of every member type, contents, the prefix field', async () => {
    const long = `${'dir/'.repeat(30)}file`; // 124 bytes: name + prefix
    const tar = await buildTar([
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/passwd', content: 'root:x:0:0\n', mode: 0o644, uid: 12, gid: 34, uname: 'alice', gname: 'staff' },
      { name: 'etc/link', type: 'link', linkname: 'etc/passwd' },
      { name: 'etc/sym', type: 'symlink', linkname: '../x' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 },
      { name: 'run/fifo', type: 'fifo' },
      { name: long, content: 'deep' },
    ]);
    const { members, dialects } = readAll(tar);
    expect(dialects).toEqual(['ustar']);
    expect(members.map((m) => [m.header.name, memberKind(m.header.typeflag, m.header.name!)])).toEqual([
      ['etc/', 'directory'],
      ['etc/passwd', 'file'],
      ['etc/link', 'hardlink'],
      ['etc/sym', 'symlink'],
      ['dev/null', 'char'],
      ['dev/sda', 'block'],
      ['run/fifo', 'fifo'],
      [long, 'file'],
    ]);
    const passwd = members[1];
    expect(passwd.header).toMatchObject({ mode: 0o644, uid: 12, gid: 34, uname: 'alice', gname: 'staff', mtime: base, size: 11, format: 'ustar' });
    expect(passwd.content.toString()).toBe('root:x:0:0\n');
    expect(members[2].header.linkname).toBe('etc/passwd');
    expect(members[3].header.linkname).toBe('../x');
    expect(members[4].header).toMatchObject({ devmajor: 1, devminor: 3 });
    expect(members[5].header).toMatchObject({ devmajor: 8, devminor: 0 });
    expect(members[7].content.toString()).toBe('deep');
    // Offsets: each header sits after the previous member's padded data.
    expect(members[1].offset).toBe(blockSize);
    expect(members[2].offset).toBe(3 * blockSize);
  });

  test('PAX: long names, UTF-8, binary xattr values and sub-second times override the header', async () => {
    const long = `${'x'.repeat(200)}/${'y'.repeat(120)}`;
    const tar = await buildTar(
      [
        { name: long, content: 'a', pax: { mtime: `${base}.25` } },
        { name: 'caf\u00e9/\u00fc', content: 'b' },
        { name: 'l', type: 'symlink', linkname: 'z'.repeat(150) },
        { name: 'cap', content: 'c', pax: { 'SCHILY.xattr.security.capability': Buffer.from([0x01, 0x00, 0xff]) } },
      ],
      { dialect: 'pax' },
    );
    const { members, dialects } = readAll(tar);
    expect(dialects).toContain('pax');
    expect(members.map((m) => m.header.name)).toEqual([long, 'caf\u00e9/\u00fc', 'l', 'cap']);
    expect(members[0].header.mtime).toBeCloseTo(base + 0.25, 6);
    expect(members[2].header.linkname).toBe('z'.repeat(150));
    expect(Buffer.from(members[3].pax!['SCHILY.xattr.security.capability'], 'latin1')).toEqual(Buffer.from([0x01, 0x00, 0xff]));
  });

  test('the same members whatever the chunking', async () => {
    const tar = await buildTar(
      [
        { name: 'a', content: Buffer.alloc(1000, 1) },
        { name: `${'p'.repeat(120)}/q`, content: 'x' },
        { name: 'b', content: '' },
      ],
      { dialect: 'gnu' },
    );
    const whole = readAll(tar);
    for (const size of [1, 7, 511, 512, 513, 4096]) {
      const chunked = readAll(tar, size);
      expect(chunked.members.map((m) => [m.header.name, m.offset, m.content.toString('hex')])).toEqual(
        whole.members.map((m) => [m.header.name, m.offset, m.content.toString('hex')]),
      );
    }
  });
});

const hasGnuTar = spawnSync('tar', ['--version'], { encoding: 'utf8' }).stdout?.includes('GNU tar') ?? false;
if (!hasGnuTar && !inCi) process.stderr.write('[real-tools] skipping GNU tar fixtures: GNU tar not installed\n');

describe.skipIf(!hasGnuTar && !inCi)('GNU tar fixtures', () => {
  const work = mkdtempSync(join(tmpdir(), 'oci-repro-tar-decode-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const tree = join(work, 'tree');
  const longName = `${'long-directory-name/'.repeat(8)}file.txt`;
  mkdirSync(join(tree, ...longName.split('/').slice(0, -1)), { recursive: true });
  writeFileSync(join(tree, longName), 'long\n');
  writeFileSync(join(tree, 'small'), 'hello\n');
  symlinkSync('t'.repeat(120), join(tree, 'longlink'));

  const gnuTar = (format: string, options: string[], members = ['small', 'longlink', longName]) => {
    const file = join(work, `${format}-${options.length}.tar`);
    execFileSync('tar', [`--format=${format}`, '--sort=name', '-C', tree, '-cf', file, ...options, ...members]);
    return readFileSync(file);
  };

  test('--format=gnu: L and K long names, base-256 uid/gid, a negative mtime in base-256', () => {
    const tar = gnuTar('gnu', ['--owner=big:99999999', '--group=big:88888888', '--mtime=@-1000']);
    const { members, dialects } = readAll(tar, 100);
    expect(dialects).toEqual(['gnu']);
    const byName = new Map(members.map((m) => [m.header.name, m]));
    expect([...byName.keys()].sort()).toEqual([longName, 'longlink', 'small'].sort());
    expect(byName.get('small')!.header).toMatchObject({ uid: 99999999, gid: 88888888, mtime: -1000, uname: 'big', gname: 'big', format: 'gnu' });
    expect(byName.get('small')!.content.toString()).toBe('hello\n');
    expect(byName.get('longlink')!.header.linkname).toBe('t'.repeat(120));
    expect(byName.get(longName)!.content.toString()).toBe('long\n');
  });

  test('--format=posix: PAX records with atime/ctime and a long path', () => {
    const tar = gnuTar('posix', ['--pax-option=delete=atime', '--mtime=@1234567890.5']);
    const { members, dialects } = readAll(tar, 333);
    expect(dialects).toEqual(['pax', 'ustar']);
    const small = members.find((m) => m.header.name === 'small')!;
    expect(small.header.mtime).toBe(1234567890.5);
    expect(small.header.atime).toBeUndefined();
    expect(typeof small.header.ctime).toBe('number');
    expect(members.find((m) => m.header.name === longName)!.content.toString()).toBe('long\n');
  });

  test('--format=v7: no magic, no owner names', () => {
    const tar = gnuTar('v7', ['--owner=someone:7', '--group=grp:8'], ['small']);
    const small = readAll(tar).members.find((m) => m.header.name === 'small')!;
    expect(small.header).toMatchObject({ format: 'v7', uid: 7, gid: 8, uname: '', gname: '' });
  });
});

describe('decodeTarHeader', () => {
  const header = () => {
    const block = Buffer.alloc(blockSize);
    block.write('name', 0, 'latin1');
    block.write('0000644\0', 100, 'latin1');
    block.write('0000000\0', 108, 'latin1');
    block.write('0000000\0', 116, 'latin1');
    block.write('00000000000\0', 124, 'latin1');
    block.write('00000000000\0', 136, 'latin1');
    block[156] = TypeFlag.file;
    block.write('ustar\u000000', 257, 'latin1');
    return block;
  };
  const sign = (block: Buffer) => {
    block.fill(0x20, 148, 156);
    block.write(`${headerChecksum(block, 0).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    return block;
  };

  test('decodes into the object given and resets the PAX-only fields', () => {
    const into = emptyHeader();
    into.atime = 5;
    expect(decodeTarHeader(sign(header()), 0, 0, into)).toBe(into);
    expect(into).toMatchObject({ name: 'name', mode: 0o644, format: 'ustar', atime: undefined });
  });

  test('the checksum is the byte sum with the field as spaces, wherever the block lies in memory', () => {
    let seed = 7;
    const blocks = [Buffer.alloc(blockSize, 0xff), Buffer.alloc(blockSize), header()];
    blocks.push(Buffer.from(Array.from({ length: blockSize }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24)));
    for (const block of blocks) {
      let expected = 8 * 0x20;
      for (let i = 0; i < blockSize; i++) if (i < 148 || i >= 156) expected += block[i]!;
      // At every alignment, in a buffer that is a view into a larger one, and at a later block of it.
      for (let shift = 0; shift < 4; shift++) {
        const backing = Buffer.alloc(3 * blockSize + 8);
        const view = backing.subarray(shift + 1, shift + 1 + 2 * blockSize + 4);
        block.copy(view, blockSize + 3);
        block.copy(view, 0);
        expect(headerChecksum(view, 0)).toBe(expected);
        expect(headerChecksum(view, blockSize + 3)).toBe(expected);
      }
    }
  });

  test('isTarHeader: a header whose checksum adds up, at any alignment; not a damaged one, text or a short head', () => {
    const block = sign(header());
    expect(isTarHeader(block)).toBe(true);
    const backing = Buffer.alloc(blockSize + 3);
    block.copy(backing, 3);
    expect(isTarHeader(backing.subarray(3))).toBe(true);
    const damaged = Buffer.from(block);
    damaged[0] ^= 1;
    expect(isTarHeader(damaged)).toBe(false);
    expect(isTarHeader(Buffer.alloc(blockSize, 'hello world\n'))).toBe(false);
    expect(isTarHeader(block.subarray(0, blockSize - 1))).toBe(false);
  });

  test('a signed-char checksum is accepted; a wrong one is refused with the offset', () => {
    const block = header();
    block[0] = 0xe9; // 'é' in latin1: not UTF-8, and negative as a signed char
    let signed = 8 * 0x20;
    for (let i = 0; i < blockSize; i++) if (i < 148 || i >= 156) signed += (block[i] << 24) >> 24;
    block.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(decodeTarHeader(block, 0, 0).name).toBeNull();
    block[1] = 0x41;
    const error = thrownError(() => decodeTarHeader(block, 0, 1024));
    expect(error).toBeInstanceOf(OciReproError);
    expect(error.message).toBe('invalid tar header at offset 1024');
    expect(error.hint).toContain('checksum mismatch');
  });

  test('malformed and out-of-range numbers are refused', () => {
    const bad = header();
    bad.write('00006x4\0', 100, 'latin1');
    expect(thrownError(() => decodeTarHeader(sign(bad), 0, 0)).hint).toContain('malformed mode field');
    const negative = header();
    negative.fill(0xff, 124, 136); // base-256 -1 as a size
    expect(thrownError(() => decodeTarHeader(sign(negative), 0, 0)).hint).toContain('size field out of range');
  });
});

describe('PAX records and GNU long names', () => {
  test('records override, an empty value deletes, NUL padding ends them', () => {
    const records = new Map([['a', '1'], ['b', '2']]);
    parsePaxRecords(Buffer.from('6 a=9\n5 b=\n\0\0\0', 'latin1'), records, 0);
    expect(Object.fromEntries(records)).toEqual({ a: '9' });
  });

  test('a bad length, a missing "=" and a non-number are refused naming the offset', () => {
    expect(thrownError(() => parsePaxRecords(Buffer.from('9 a=1\n'), new Map(), 512)).message).toBe('invalid pax header at offset 512');
    expect(thrownError(() => parsePaxRecords(Buffer.from('5 ab\n'), new Map(), 0)).hint).toBe('a record has no "="');
    const header = emptyHeader();
    const error = thrownError(() => applyPaxRecords(header, new Map([['size', '12x']]), 1536));
    expect(error.message).toBe('invalid pax header at offset 1536');
    expect(error.hint).toBe('size="12x" is not a number');
  });

  test('a time beyond 2^53 seconds is refused: it could not be written back as a decimal (found by the fuzz test)', () => {
    const huge = `${'9'.repeat(400)}.5`;
    for (const key of ['mtime', 'atime', 'ctime']) {
      const error = thrownError(() => applyPaxRecords(emptyHeader(), new Map([[key, huge]]), 1024));
      expect(error.message).toBe('invalid pax header at offset 1024');
      expect(error.hint).toBe(`${key}="${'9'.repeat(40)}…" is out of range`);
    }
    expect(thrownError(() => applyPaxRecords(emptyHeader(), new Map([['mtime', '-9007199254740992']]), 0)).hint).toContain('out of range');
    const header = emptyHeader();
    applyPaxRecords(header, new Map([['ctime', '9007199254740991']]), 0);
    expect(header.ctime).toBe(Number.MAX_SAFE_INTEGER);
  });

  test('header fields from records: a path that is not UTF-8 becomes null, owner names keep the header value', () => {
    const header = emptyHeader();
    header.uname = 'root';
    applyPaxRecords(header, new Map([['path', '\xff\xfe'], ['uname', '\xff'], ['mtime', '-1.5'], ['uid', '70000000']]), 0);
    expect(header).toMatchObject({ name: null, uname: 'root', mtime: -1.5, uid: 70000000 });
  });

  test('a GNU long name ends at its NUL', () => {
    expect(decodeLongName(Buffer.from('a/b\0junk'))).toBe('a/b');
    expect(decodeLongName(Buffer.from([0xc3, 0x28, 0]))).toBeNull();
  });
});
