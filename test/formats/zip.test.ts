// Zip archives from zip(1) and python3 zipfile: pairs that differ only in what the decoder reads.
import { chown, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource, type FieldChange, openFileSource } from '../../src/formats/model.js';
import { compareZip, decodeZip, type ZipDecoding } from '../../src/formats/zip.js';
import { caughtError } from '../helpers/errors.js';
import { makeTempDir, removeTempDir, runTool, skipWithoutTools } from '../helpers/real-tools.js';

const brief = (changes: FieldChange[]) => changes.map(({ where, field, a, b }) => [where, field, a, b]);
// DOS times are local time: pin the zone so the expected values hold on any machine.
const utc = { ...process.env, TZ: 'UTC' };

async function decodeFile(path: string): Promise<ZipDecoding> {
  const source = await openFileSource(path);
  try {
    return await decodeZip(source);
  } finally {
    await source.close();
  }
}

describe.skipIf(skipWithoutTools('zip'))('zip(1): times and owners in the extra fields', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('oci-repro-zip-');
  });
  afterAll(() => removeTempDir(dir));

  it('the same file zipped at two mtimes and owners: DOS time, UT times and ux owner differ, nothing else', async () => {
    const file = join(dir, 'f.txt');
    await writeFile(file, 'hello\n');
    await utimes(file, 1_700_000_000, 1_700_000_000);
    await runTool('zip', ['-q', 'a.zip', 'f.txt'], { cwd: dir, env: utc });
    const canChown = process.getuid?.() === 0;
    if (canChown) await chown(file, 1000, 1001);
    await utimes(file, 1_700_003_600, 1_700_003_600);
    await runTool('zip', ['-q', 'b.zip', 'f.txt'], { cwd: dir, env: utc });
    await runTool('zip', ['-q', '-X', 'c.zip', 'f.txt'], { cwd: dir, env: utc });
    const [a, b, c] = await Promise.all(['a.zip', 'b.zip', 'c.zip'].map((n) => decodeFile(join(dir, n))));
    expect(a.members[0]).toMatchObject({ name: 'f.txt', host: 3, mode: '100644', method: 0, localExtraIds: ['0x5455', '0x7875'] });
    expect(brief(compareZip(a, b))).toEqual([
      ['f.txt', 'dos-time', '2023-11-14 22:13:20', '2023-11-14 23:13:20'],
      ['f.txt', 'mtime', '2023-11-14T22:13:20Z', '2023-11-14T23:13:20Z'],
      ['f.txt', 'atime', '2023-11-14T22:13:20Z', '2023-11-14T23:13:20Z'],
      ...(canChown ? [['f.txt', 'uid', 0, 1000], ['f.txt', 'gid', 0, 1001]] : []),
    ]);
    // zip -X leaves the extra fields out: what they recorded is gone, and the list of fields says so.
    expect(brief(compareZip(b, c)).map(([, field, , after]) => [field, after])).toEqual([
      ['mtime', undefined],
      ['atime', undefined],
      ['uid', undefined],
      ['gid', undefined],
      ['extra-fields', [[], []]],
    ]);
    expect(compareZip(a, a)).toEqual([]);
  });
});

describe.skipIf(skipWithoutTools('python3'))('python3 zipfile: order, presence, times, methods', () => {
  let dir: string;
  let archives: ZipDecoding[];
  beforeAll(async () => {
    dir = await makeTempDir('oci-repro-zipfile-');
    // Each archive: a list of [name, date_time, compress_type]; one python run writes them all.
    const script = `
import json, sys, zipfile
for i, members in enumerate(json.loads(sys.argv[2])):
    with zipfile.ZipFile('%s/%d.zip' % (sys.argv[1], i), 'w') as z:
        for name, when, method in members:
            info = zipfile.ZipInfo(name, date_time=tuple(when))
            info.compress_type = method
            info.external_attr = 0o100644 << 16
            z.writestr(info, ('content of %s\\n' % name) * 20)
`;
    const t1 = [2024, 1, 2, 3, 4, 6];
    const t2 = [2024, 1, 2, 3, 4, 8];
    const specs = [
      [['a.py', t1, 8], ['b.py', t1, 8], ['c.py', t1, 8]],
      [['a.py', t2, 8], ['b.py', t1, 8], ['c.py', t1, 8]],
      [['c.py', t1, 8], ['a.py', t1, 8], ['b.py', t1, 8]],
      [['a.py', t1, 8], ['b.py', t1, 0], ['d.py', t1, 8]],
    ];
    await runTool('python3', ['-c', script, dir, JSON.stringify(specs)]);
    archives = await Promise.all(specs.map(async (_, i) => decodeZip(bufferSource(await readFile(join(dir, `${i}.zip`))))));
  });
  afterAll(() => removeTempDir(dir));

  it('two date_times: only that member\'s DOS time differs (python writes no extra fields)', () => {
    expect(archives[0]!.members.map((m) => [m.name, m.index, m.dosTime, m.localExtraIds])).toEqual([
      ['a.py', 0, '2024-01-02 03:04:06', []],
      ['b.py', 1, '2024-01-02 03:04:06', []],
      ['c.py', 2, '2024-01-02 03:04:06', []],
    ]);
    expect(brief(compareZip(archives[0]!, archives[1]!))).toEqual([['a.py', 'dos-time', '2024-01-02 03:04:06', '2024-01-02 03:04:08']]);
  });

  it('another order: one order change naming the members from the first that moved', () => {
    expect(brief(compareZip(archives[0]!, archives[2]!))).toEqual([['archive', 'order', ['a.py', 'b.py', 'c.py'], ['c.py', 'a.py', 'b.py']]]);
  });

  it('a member on one side only, and another compression method', () => {
    expect(brief(compareZip(archives[0]!, archives[3]!))).toEqual([
      ['b.py', 'method', '8 (deflated)', '0 (stored)'],
      ['b.py', 'compressed-size', archives[0]!.members[1]!.compressedSize, archives[3]!.members[1]!.size],
      ['c.py', 'presence', 'present', 'absent'],
      ['d.py', 'presence', 'absent', 'present'],
    ]);
  });

  it('zip64: an end record and sizes moved to zip64 fields (checked by python3 zipfile) read as before', async () => {
    const plain = await readFile(join(dir, '0.zip'));
    const wide = toZip64(plain);
    await writeFile(join(dir, 'wide.zip'), wide);
    // python3 is the oracle that the rewritten archive is a valid zip64 one
    const { stdout } = await runTool('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.testzip(), [i.file_size for i in z.infolist()])', join(dir, 'wide.zip')]);
    expect(stdout.toString().trim()).toBe('None [320, 320, 320]');
    const decoded = await decodeZip(bufferSource(wide));
    expect(decoded.members[0]!.centralExtraIds).toEqual(['0x0001']);
    expect(brief(compareZip(archives[0]!, decoded))).toEqual([['a.py', 'extra-fields', [[], []], [[], ['0x0001']]]]);
  });

  it('bad input: not a zip, truncated, damaged directory or local header: one line, exit 3', async () => {
    const good = await readFile(join(dir, '0.zip'));
    const notZip = await caughtError(decodeZip(bufferSource(Buffer.from('x'.repeat(100)))));
    expect(notZip).toMatchObject({ code: 'CORRUPT_ARCHIVE', exitCode: 3 });
    expect(notZip.line).toBe('zip: no end of central directory record (hint: not a zip file, or truncated)');
    expect((await caughtError(decodeZip(bufferSource(good.subarray(0, good.length - 30))))).message).toBe('zip: no end of central directory record');
    expect((await caughtError(decodeZip(bufferSource(good.subarray(0, 10))))).message).toBe('zip: 10 bytes is too short for a zip');
    const cdOffset = good.readUInt32LE(good.length - 6);
    const damaged = Buffer.from(good);
    damaged.writeUInt32LE(0, cdOffset);
    expect((await caughtError(decodeZip(bufferSource(damaged)))).message).toBe(`zip: central directory entry 1 of 3 is damaged at byte ${cdOffset}`);
    const noLocal = Buffer.from(good);
    noLocal.writeUInt32LE(0, 0);
    expect((await caughtError(decodeZip(bufferSource(noLocal)))).message).toBe('zip: local header of a.py at byte 0 has no signature');
    const beyond = Buffer.from(good);
    beyond.writeUInt32LE(good.length, good.length - 6);
    expect((await caughtError(decodeZip(bufferSource(beyond)))).message).toMatch(/^zip: central directory \(bytes \d+\.\.\d+\) lies past the end of the \d+-byte file$/);
    expect((await caughtError(decodeZip(bufferSource(good), { maxMembers: 2 }))).message).toBe('zip: 3 members, more than the limit of 2');
  });
});

/**
 * The same archive in zip64 form: the first member's sizes saturated in its central entry and given in
 * a zip64 extra field (0x0001), and the end record saturated with a zip64 end record and locator.
 */
function toZip64(zip: Buffer): Buffer {
  const count = zip.readUInt16LE(zip.length - 12);
  const cdSize = zip.readUInt32LE(zip.length - 10);
  const cdOffset = zip.readUInt32LE(zip.length - 6);
  const firstLength = 46 + zip.readUInt16LE(cdOffset + 28) + zip.readUInt16LE(cdOffset + 30) + zip.readUInt16LE(cdOffset + 32);
  const first = Buffer.from(zip.subarray(cdOffset, cdOffset + firstLength));
  const extra = Buffer.alloc(20);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(16, 2);
  extra.writeBigUInt64LE(BigInt(first.readUInt32LE(24)), 4); // uncompressed size first
  extra.writeBigUInt64LE(BigInt(first.readUInt32LE(20)), 12);
  first.writeUInt32LE(0xffffffff, 20);
  first.writeUInt32LE(0xffffffff, 24);
  const nameLength = first.readUInt16LE(28);
  const extraLength = first.readUInt16LE(30);
  first.writeUInt16LE(extraLength + extra.length, 30);
  const entry = Buffer.concat([first.subarray(0, 46 + nameLength + extraLength), extra, first.subarray(46 + nameLength + extraLength)]);
  const directory = Buffer.concat([entry, zip.subarray(cdOffset + firstLength, cdOffset + cdSize)]);
  const end64 = Buffer.alloc(56);
  end64.writeUInt32LE(0x06064b50, 0);
  end64.writeBigUInt64LE(44n, 4);
  end64.writeUInt16LE(45, 12);
  end64.writeUInt16LE(45, 14);
  end64.writeBigUInt64LE(BigInt(count), 24);
  end64.writeBigUInt64LE(BigInt(count), 32);
  end64.writeBigUInt64LE(BigInt(directory.length), 40);
  end64.writeBigUInt64LE(BigInt(cdOffset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(cdOffset + directory.length), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([zip.subarray(0, cdOffset), directory, end64, locator, end]);
}
