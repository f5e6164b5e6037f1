/**
 * The encoder, read back by independent readers: Python's tarfile (every header field, PAX records,
 * base-256 sizes) and GNU tar (listing and extraction). Our own decoder reads the same bytes too.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { blockSize, endOfArchive, headerChecksum, paddedSize, TypeFlag } from '../../src/tar/blocks.js';
import { decodeTarHeader } from '../../src/tar/decode.js';
import {
  encodePaxRecords,
  formatPaxNumber,
  paxRecord,
  splitUstarPath,
  writeUstarHeader,
  type UstarFields,
} from '../../src/tar/encode.js';
import { inCi } from '../helpers/real-tools.js';
import { readAll } from './read-all.js';

const fields = (overrides: Partial<UstarFields>): UstarFields => ({
  path: 'a',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
  typeflag: TypeFlag.file,
  linkname: '',
  uname: '',
  gname: '',
  devmajor: undefined,
  devminor: undefined,
  ...overrides,
});

/** A tar of members given as header fields (+ content, + PAX records before them), then the end marker. */
function tarOf(members: { fields: UstarFields; content?: Buffer; pax?: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc(paddedSize(data.length) - data.length)]);
  for (const member of members) {
    if (member.pax !== undefined) {
      const header = Buffer.alloc(blockSize);
      writeUstarHeader(fields({ path: '././@PaxHeader', typeflag: TypeFlag.paxHeader, size: member.pax.length }), header, 0);
      parts.push(header, padded(member.pax));
    }
    const header = Buffer.alloc(blockSize);
    writeUstarHeader(member.fields, header, 0);
    parts.push(header);
    if (member.content !== undefined) parts.push(padded(member.content));
  }
  parts.push(endOfArchive);
  return Buffer.concat(parts);
}

const prefixed = `${'p'.repeat(150)}/${'n'.repeat(90)}`; // 241 bytes: needs the prefix field
const members = [
  { fields: fields({ path: 'dir/', typeflag: TypeFlag.directory, mode: 0o755, mtime: 1700000000 }) },
  {
    fields: fields({ path: 'dir/file', size: 5, uid: 1000, gid: 2000, uname: 'alice', gname: 'staff', mode: 0o4755, mtime: 0o77777777777 }),
    content: Buffer.from('hello'),
  },
  { fields: fields({ path: 'dir/sym', typeflag: TypeFlag.symlink, linkname: '../target', mode: 0o777 }) },
  { fields: fields({ path: 'dir/hard', typeflag: TypeFlag.hardlink, linkname: 'dir/file' }) },
  { fields: fields({ path: 'dev/null', typeflag: TypeFlag.char, devmajor: 1, devminor: 3 }) },
  { fields: fields({ path: prefixed, size: 2 }), content: Buffer.from('ok') },
  {
    // Too long for USTAR: the PAX records carry path and an xattr with a binary value.
    fields: fields({ path: 'x'.repeat(300), size: 1 }),
    content: Buffer.from('z'),
    pax: encodePaxRecords([
      paxRecord('SCHILY.xattr.security.capability', '\x01\x00\xff', true),
      paxRecord('mtime', formatPaxNumber(1.5)),
      paxRecord('path', 'x'.repeat(300)),
    ]),
  },
];

const hasPython = spawnSync('python3', ['--version']).status === 0;
const hasGnuTar = spawnSync('tar', ['--version'], { encoding: 'utf8' }).stdout?.includes('GNU tar') ?? false;
const work = mkdtempSync(join(tmpdir(), 'oci-repro-tar-encode-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const pythonList = `
import json, sys, tarfile
out = []
with tarfile.open(sys.argv[1], encoding='utf-8', errors='surrogateescape') as t:
    for m in t.getmembers():
        data = t.extractfile(m).read().decode('latin1') if m.isfile() else None
        out.append(dict(name=m.name, type=m.type.decode('latin1'), mode=m.mode, uid=m.uid, gid=m.gid, size=m.size,
                        mtime=m.mtime, linkname=m.linkname, uname=m.uname, gname=m.gname, devmajor=m.devmajor,
                        devminor=m.devminor, pax={k: v.encode('utf-8', 'surrogateescape').decode('latin1') for k, v in m.pax_headers.items()},
                        data=data))
print(json.dumps(out))
`;

describe.skipIf(!hasPython && !inCi)("Python's tarfile reads what the encoder writes", () => {
  test('every field of every member type, the prefix field and PAX records', () => {
    const file = join(work, 'members.tar');
    writeFileSync(file, tarOf(members));
    const listed = JSON.parse(execFileSync('python3', ['-c', pythonList, file], { encoding: 'utf8' })) as Record<string, unknown>[];
    expect(listed.map((m) => m.name)).toEqual(['dir', 'dir/file', 'dir/sym', 'dir/hard', 'dev/null', prefixed, 'x'.repeat(300)]);
    expect(listed[0]).toMatchObject({ type: '5', mode: 0o755, mtime: 1700000000 });
    expect(listed[1]).toMatchObject({ type: '0', mode: 0o4755, uid: 1000, gid: 2000, uname: 'alice', gname: 'staff', size: 5, mtime: 0o77777777777, data: 'hello' });
    expect(listed[2]).toMatchObject({ type: '2', linkname: '../target', mode: 0o777 });
    expect(listed[3]).toMatchObject({ type: '1', linkname: 'dir/file' });
    expect(listed[4]).toMatchObject({ type: '3', devmajor: 1, devminor: 3 });
    expect(listed[5]).toMatchObject({ data: 'ok' });
    expect(listed[6]).toMatchObject({ mtime: 1.5, data: 'z' });
    expect((listed[6].pax as Record<string, string>)['SCHILY.xattr.security.capability']).toBe('\x01\x00\xff');
  });

  test('a size of 8 GiB and more in base-256', () => {
    const size = 9 * 1024 ** 3 + 7;
    const header = Buffer.alloc(blockSize);
    writeUstarHeader(fields({ path: 'big', size }), header, 0);
    expect(header[124]).toBe(0x80);
    const file = join(work, 'big.tar');
    // Only the header: tarfile reads headers lazily, so the missing data is not an error for a listing.
    writeFileSync(file, Buffer.concat([header, endOfArchive]));
    const script = "import sys, tarfile; t = tarfile.TarFile(sys.argv[1]); print(t.next().size)";
    expect(Number(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' }))).toBe(size);
    expect(decodeTarHeader(header, 0, 0).size).toBe(size);
  });
});

describe.skipIf(!hasGnuTar && !inCi)('GNU tar reads what the encoder writes', () => {
  test('tar -tv lists the members; tar -x extracts contents and links', () => {
    const file = join(work, 'gnu.tar');
    writeFileSync(file, tarOf(members.filter((m) => m.fields.typeflag !== TypeFlag.char)));
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(listing.map((line) => line.split(/\s+/).slice(5).join(' '))).toEqual([
      'dir/',
      'dir/file',
      'dir/sym -> ../target',
      'dir/hard link to dir/file',
      prefixed,
      'x'.repeat(300),
    ]);
    expect(listing[1]).toMatch(/^-rwsr-xr-x 1000\/2000 +5 /);
    const dir = join(work, 'out');
    mkdirSync(dir);
    // -m: the far-future mtime would only make GNU tar warn. The 300-byte name is no file name here.
    execFileSync('tar', ['-m', '-xf', file, '-C', dir, 'dir/', prefixed]);
    expect(readFileSync(join(dir, 'dir/hard'), 'utf8')).toBe('hello');
    expect(readFileSync(join(dir, prefixed), 'utf8')).toBe('ok');
  });
});

describe('the encoder and the decoder agree', () => {
  test('checksums verify and every field reads back', () => {
    const { members: read } = readAll(tarOf(members), 100);
    expect(read.map((m) => m.header.name)).toEqual(['dir/', 'dir/file', 'dir/sym', 'dir/hard', 'dev/null', prefixed, 'x'.repeat(300)]);
    expect(read[1].header).toMatchObject({ mode: 0o4755, uid: 1000, gid: 2000, uname: 'alice', gname: 'staff', size: 5, mtime: 0o77777777777 });
    expect(read[4].header).toMatchObject({ devmajor: 1, devminor: 3 });
    expect(read[6].header.mtime).toBe(1.5);
  });

  test('the checksum covers exactly the bytes written (six octal digits, NUL, space)', () => {
    const header = Buffer.alloc(blockSize, 0xee);
    writeUstarHeader(fields({ path: prefixed, linkname: 'l', uname: 'u', gname: 'g', devmajor: 7, devminor: 9 }), header, 0);
    expect(header.toString('latin1', 148, 156)).toBe(`${headerChecksum(header, 0).toString(8).padStart(6, '0')}\0 `);
  });

  test('names that do not fit are left empty for a PAX record', () => {
    expect(splitUstarPath('a'.repeat(100))).toEqual({ prefix: null, nameLength: 100 });
    expect(splitUstarPath('a'.repeat(101))).toBeNull();
    expect(splitUstarPath(`${'a'.repeat(156)}/b`)).toBeNull();
    const header = Buffer.alloc(blockSize);
    writeUstarHeader(fields({ path: 'x'.repeat(300), linkname: 'y'.repeat(101), uname: 'u'.repeat(32) }), header, 0);
    expect(header[0]).toBe(0);
    expect(header[157]).toBe(0);
    expect(header[265]).toBe(0);
  });

  test('non-ASCII names that do not fit leave no bytes behind, and ones that fit are UTF-8', () => {
    // Few enough characters for the fields, too many bytes: an ASCII start must not be left written.
    const long = `${'a'.repeat(50)}${'é'.repeat(40)}`;
    const header = Buffer.alloc(blockSize);
    writeUstarHeader(fields({ path: long, linkname: long, uname: `u${'é'.repeat(16)}` }), header, 0);
    expect(header.subarray(0, 100).every((b) => b === 0)).toBe(true);
    expect(header.subarray(157, 257).every((b) => b === 0)).toBe(true);
    expect(header.subarray(265, 297).every((b) => b === 0)).toBe(true);
    expect(header.toString('latin1', 148, 156)).toBe(`${headerChecksum(header, 0).toString(8).padStart(6, '0')}\0 `);
    // A long non-ASCII path goes to name and prefix; a short one straight into the name field.
    const split = `${'é'.repeat(60)}/${'ü'.repeat(40)}`;
    writeUstarHeader(fields({ path: split, linkname: 'ø/x', uname: 'zoë' }), header, 0);
    const read = decodeTarHeader(header, 0, 0);
    expect(read).toMatchObject({ name: split, linkname: 'ø/x', uname: 'zoë' });
  });

  test('PAX record lengths count their own digits', () => {
    // 'k=' + 94 bytes + framing is 99 bytes before the length; with "100 " it becomes 101.
    const record = encodePaxRecords([paxRecord('k', 'v'.repeat(94))]).toString('latin1');
    expect(record.startsWith('101 k=')).toBe(true);
    expect(record.length).toBe(101);
    expect(encodePaxRecords([paxRecord('a', '1')]).toString()).toBe('6 a=1\n');
    expect(formatPaxNumber(1.25)).toBe('1.25');
    expect(formatPaxNumber(-3)).toBe('-3');
  });
});
