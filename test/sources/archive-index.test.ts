/**
 * ArchiveIndex indexes an image archive by its headers (decoded by src/tar/) and seeks past the data.
 * openMember streams a member straight from its byte range: exactly its bytes, nothing of the next
 * member, and an empty member as empty (createReadStream without `end` would read to the end of the
 * file). Hostile archives: a path that leaves the archive is not indexed, a link never resolves outside
 * it, and sizes, numbers and extended headers that do not fit are one-line errors naming the archive
 * (exit 3), never a crash or an allocation the size of a header field.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { truncate, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { ArchiveIndex } from '../../src/sources/archive-index.js';
import { TempDir } from '../helpers/images.js';
import { buildTar, makeTar, type TestEntry } from '../helpers/tar.js';
import { block, fixChecksum, headerBlocks, setField } from '../helpers/tar-mutate.js';
import { caughtError } from '../helpers/errors.js';

let dir: TempDir;
let index: ArchiveIndex;
let written = 0;

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Writes `tar` to a new file and indexes it. */
async function indexOf(tar: Buffer): Promise<ArchiveIndex> {
  const path = dir.join(`t${written++}.tar`);
  await writeFile(path, tar);
  return ArchiveIndex.open(path);
}

async function read(archive: ArchiveIndex, name: string): Promise<string | undefined> {
  const member = archive.resolve(name);
  return member === undefined ? undefined : (await collect(archive.openMember(member))).toString();
}

/** The offset of the header block of the member (not meta header) named `name`'s last path part. */
function headerOf(tar: Buffer, typeflag: string, nth = 0): number {
  return headerBlocks(tar).filter((header) => header.typeflag === typeflag)[nth]!.offset;
}

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-archive-index-');
  const path = await dir.writeArchive('a.tar', [
    { name: 'empty', content: '' },
    { name: 'middle', content: 'abcdef' },
    { name: 'last', content: 'x'.repeat(1500) },
  ]);
  index = await ArchiveIndex.open(path);
});
afterAll(async () => dir?.remove());

describe('ArchiveIndex.openMember', () => {
  it('reads each member as exactly its bytes', async () => {
    expect((await collect(index.openMember(index.resolve('middle')!))).toString()).toBe('abcdef');
    expect((await collect(index.openMember(index.resolve('last')!))).toString()).toBe('x'.repeat(1500));
  });

  it('reads an empty member as empty, not the rest of the archive', async () => {
    const member = index.resolve('empty')!;
    expect(member.size).toBe(0);
    expect((await collect(index.openMember(member))).length).toBe(0);
  });
});

describe('ArchiveIndex over the tar dialects', () => {
  const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/manifest.json`;
  const entries: TestEntry[] = [
    { name: 'blobs/', type: 'directory' },
    { name: long, content: 'long' },
    { name: 'short', content: 'short' },
  ];

  it.each(['ustar', 'gnu'] as const)('%s: long names (USTAR prefix, GNU L header) and short ones', async (dialect) => {
    const archive = await indexOf(await buildTar(entries, { dialect }));
    expect(await read(archive, long)).toBe('long');
    expect(await read(archive, 'short')).toBe('short');
    expect(archive.members.get('blobs')?.type).toBe('directory');
  });

  it('pax: names from path records, and a size record over the header size field', async () => {
    // A binary PAX value makes the helper write every name as a PAX path record (an empty name field).
    const tar = await buildTar(
      entries.map((entry) => ({ ...entry, pax: { 'SCHILY.xattr.user.x': Buffer.from([0xff]) } })),
      { dialect: 'pax' },
    );
    expect(await read(await indexOf(tar), long)).toBe('long');
    const sized = await buildTar([{ name: 'six', content: 'abcdef', pax: { size: '6', 'SCHILY.xattr.user.x': Buffer.from([1]) } }, { name: 'next', content: 'n' }]);
    setField(sized, headerOf(sized, '0'), 'size', '00000000000\0');
    const archive = await indexOf(sized);
    expect(await read(archive, 'six')).toBe('abcdef');
    expect(await read(archive, 'next')).toBe('n');
  });

  it('global pax records apply to the members after them', async () => {
    const tar = await buildTar([{ name: 'g', content: 'abc' }]);
    // Turn the member into a global header whose size record is 3, then a member with size field 0.
    const records = Buffer.from('10 size=3\n');
    const global = Buffer.alloc(block * 2);
    tar.copy(global, 0, 0, block);
    setField(global, 0, 'typeflag', 'g');
    setField(global, 0, 'size', `${records.length.toString(8).padStart(11, '0')}\0`);
    records.copy(global, block);
    const member = Buffer.from(tar);
    setField(member, 0, 'size', '00000000000\0');
    const archive = await indexOf(Buffer.concat([global, member]));
    expect(archive.resolve('g')?.size).toBe(3);
  });
});

describe('ArchiveIndex refuses what leaves the archive', () => {
  it('does not index members whose path climbs out; absolute paths are read from the archive root', async () => {
    const archive = await indexOf(
      await buildTar([
        { name: '../evil', content: 'x' },
        { name: 'a/../../evil2', content: 'x' },
        { name: '/abs', content: 'abs' },
        { name: 'ok', content: 'ok' },
      ]),
    );
    expect([...archive.members.keys()].sort()).toEqual(['abs', 'ok']);
    expect(await read(archive, 'abs')).toBe('abs');
  });

  it('links resolve inside the archive only, loops end, and a link without a target leads nowhere', async () => {
    const tar = await buildTar([
      { name: 'dir/file', content: 'inside' },
      { name: 'dir/rel', type: 'symlink', linkname: 'file' },
      { name: 'dir/abs', type: 'symlink', linkname: '/dir/file' },
      { name: 'dir/up', type: 'symlink', linkname: '../../../etc/passwd' },
      { name: 'hard', type: 'link', linkname: 'dir/file' },
      { name: 'hard-out', type: 'link', linkname: '../dir/file' },
      { name: 'loop-a', type: 'symlink', linkname: 'loop-b' },
      { name: 'loop-b', type: 'symlink', linkname: 'loop-a' },
      { name: 'blank', type: 'symlink', linkname: 'x' },
    ]);
    setField(tar, headerOf(tar, '2', 5), 'linkname', '');
    const archive = await indexOf(tar);
    expect(await read(archive, 'dir/rel')).toBe('inside');
    expect(await read(archive, 'dir/abs')).toBe('inside');
    expect(await read(archive, 'hard')).toBe('inside');
    for (const name of ['dir/up', 'hard-out', 'loop-a', 'blank']) expect(archive.resolve(name), name).toBeUndefined();
  });

  it('does not index a name that is not UTF-8; the other members stay', async () => {
    const tar = await buildTar([
      { name: 'bad', content: 'x' },
      { name: 'good', content: 'good' },
    ]);
    setField(tar, 0, 'name', Buffer.from([0x62, 0xff, 0x64]));
    const archive = await indexOf(tar);
    expect([...archive.members.keys()]).toEqual(['good']);
  });
});

describe('ArchiveIndex on malformed archives: one line naming the archive, exit 3', () => {
  async function failure(tar: Buffer) {
    const path = dir.join(`bad${written++}.tar`);
    await writeFile(path, tar);
    const error = await caughtError(ArchiveIndex.open(path));
    expect(error.exitCode).toBe(3);
    expect(error.line.startsWith(`${path}: `)).toBe(true);
    expect(error.line).not.toContain('\n');
    return error;
  }
  const twoFiles = () => makeTar([{ name: 'a', content: 'a'.repeat(600) }, { name: 'b', content: 'b' }]);

  it('a bad checksum is an invalid tar header at its byte', async () => {
    const tar = await twoFiles();
    const second = headerOf(tar, '0', 1);
    tar[second + 10] ^= 1;
    const error = await failure(tar);
    expect(error.line).toMatch(new RegExp(`: invalid tar header at byte ${second} \\(hint: not a tar archive, or a compressed one: decompress it first\\)$`));
  });

  it('a compressed archive is an invalid tar header at byte 0', async () => {
    const tar = await makeTar([{ name: 'noise', content: randomBytes(4096) }]);
    expect((await failure(gzipSync(tar))).message).toMatch(/: invalid tar header at byte 0$/);
  });

  it('a malformed number field is an invalid tar header naming the field', async () => {
    const tar = await twoFiles();
    setField(tar, 0, 'mode', '0z44\0');
    expect((await failure(tar)).line).toMatch(/: invalid tar header at byte 0 \(hint: malformed mode field; the archive may be corrupt\)$/);
  });

  it('a size past the end of the file (octal, base-256 or PAX) is an unexpected end in that member', async () => {
    const octal = await twoFiles();
    setField(octal, 0, 'size', '77777777777\0');
    expect((await failure(octal)).message).toMatch(/: unexpected end of archive in member a$/);

    const base256 = await twoFiles();
    const field = Buffer.alloc(12);
    field[0] = 0x80;
    field.writeUIntBE(2 ** 47, 6, 6); // 2^47 bytes: a number a double holds, past any file
    setField(base256, 0, 'size', field);
    expect((await failure(base256)).message).toMatch(/: unexpected end of archive in member a$/);

    // The helper writes the PAX records as given and the content's own size in the header.
    const pax = await buildTar([{ name: 'p', content: 'p', pax: { size: String(2 ** 40), 'SCHILY.xattr.user.x': Buffer.from([1]) } }]);
    expect((await failure(pax)).message).toMatch(/: unexpected end of archive in member p$/);
  });

  it('a negative or unrepresentable size is an invalid header, not a number to seek by', async () => {
    const negative = await twoFiles();
    setField(negative, 0, 'size', Buffer.alloc(12, 0xff));
    expect((await failure(negative)).line).toMatch(/: invalid tar header at byte 0 \(hint: size field out of range; /);

    const huge = await twoFiles();
    setField(huge, 0, 'size', Buffer.from([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect((await failure(huge)).line).toMatch(/: invalid tar header at byte 0 \(hint: size field out of range; /);

    // A size record is read with the member it applies to: at 1024, after the PAX header and its data.
    for (const size of ['-1', String(2 ** 60)]) {
      const pax = await buildTar([{ name: 'p', content: 'p', pax: { size, 'SCHILY.xattr.user.x': Buffer.from([1]) } }]);
      expect((await failure(pax)).line).toMatch(new RegExp(`: invalid pax header at offset 1024 \\(hint: size="${size}" is not a number\\)$`));
    }
  });

  it('a PAX record that is not framed as one is an invalid pax header', async () => {
    const pax = await buildTar([{ name: 'p', content: 'p', pax: { 'SCHILY.xattr.user.x': Buffer.from([1]) } }]);
    pax.write('99', headerOf(pax, 'x') + block, 'latin1');
    expect((await failure(pax)).message).toMatch(/: invalid pax header at offset 0$/);
  });

  it('an implausibly large extended header is refused before it is read', async () => {
    const tar = await buildTar([{ name: 'p', content: 'p', pax: { 'SCHILY.xattr.user.x': Buffer.from([1]) } }]);
    const size = 64 << 20;
    setField(tar, 0, 'size', `${size.toString(8).padStart(11, '0')}\0`);
    const path = dir.join('implausible.tar');
    await writeFile(path, tar);
    await truncate(path, block + size + 2 * block); // sparse: the header's size fits the file
    const error = await caughtError(ArchiveIndex.open(path));
    expect(error.exitCode).toBe(3);
    expect(error.line).toBe(`${path}: invalid tar header at byte 0 (hint: an extended header of ${size} bytes is implausible)`);
  });

  it('a truncated header block, and a file that is no tar at all', async () => {
    const tar = await twoFiles();
    expect((await failure(tar.subarray(0, 100))).message).toMatch(/: not a tar archive$/);
    fixChecksum(tar, 0);
    expect((await failure(Buffer.alloc(2048, 7))).message).toMatch(/: invalid tar header at byte 0$/);
  });
});
