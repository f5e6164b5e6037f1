// ar archives from ar(1) and dpkg-deb: pairs that differ in the member headers the decoder reads.
import { chown, copyFile, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareAr, decodeAr } from '../../src/formats/ar.js';
import { bufferSource, type FieldChange } from '../../src/formats/model.js';
import { sha256Hex } from '../helpers/digest.js';
import { caughtError } from '../helpers/errors.js';
import { makeTempDir, removeTempDir, runTool, skipWithoutTools } from '../helpers/real-tools.js';

const brief = (changes: FieldChange[]) => changes.map(({ where, field, a, b }) => [where, field, a, b]);
const decode = async (path: string) => decodeAr(bufferSource(await readFile(path)));
const longName = 'a_very_long_object_name.o';

describe.skipIf(skipWithoutTools('ar', 'gcc'))('ar(1): U against D, and GNU long names', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('oci-repro-ar-');
    await writeFile(join(dir, 'a.c'), 'int answer = 42;\n');
    await runTool('gcc', ['-c', 'a.c', '-o', longName], { cwd: dir });
    await copyFile(join(dir, longName), join(dir, 's.o'));
    for (const name of [longName, 's.o']) await utimes(join(dir, name), 1_700_000_000, 1_700_000_000);
    if (process.getuid?.() === 0) await chown(join(dir, 's.o'), 1000, 1001);
  });
  afterAll(() => removeTempDir(dir));

  it('decodes members under their GNU long names, with the data hashed', async () => {
    await runTool('ar', ['rcU', 'u.a', longName, 's.o'], { cwd: dir });
    const u = await decode(join(dir, 'u.a'));
    expect(u.members.map((m) => m.name)).toEqual(['/', longName, 's.o']);
    const object = await readFile(join(dir, 's.o'));
    expect(u.members[2]).toMatchObject({ date: 1_700_000_000, mode: '100644', size: object.length, sha256: sha256Hex(object) });
  });

  it('ar U against ar D on the same objects: dates, owners and modes differ, contents do not', async () => {
    await runTool('ar', ['rcU', 'u2.a', longName, 's.o'], { cwd: dir });
    await runTool('ar', ['rcD', 'd.a', longName, 's.o'], { cwd: dir });
    const changes = compareAr(await decode(join(dir, 'u2.a')), await decode(join(dir, 'd.a')));
    const owned = process.getuid?.() === 0;
    // The symbol table's date is the clock's under U: only its D side is fixed.
    expect(changes[0]).toMatchObject({ where: '/', field: 'date', b: '1970-01-01T00:00:00Z' });
    expect(brief(changes.slice(1))).toEqual([
      [longName, 'date', '2023-11-14T22:13:20Z', '1970-01-01T00:00:00Z'],
      [longName, 'mode', '100644', '644'],
      ['s.o', 'date', '2023-11-14T22:13:20Z', '1970-01-01T00:00:00Z'],
      ...(owned ? [['s.o', 'uid', 1000, 0], ['s.o', 'gid', 1001, 0]] : []),
      ['s.o', 'mode', '100644', '644'],
    ]);
  });

  it('another member order and a member on one side only', async () => {
    await runTool('ar', ['rcD', 'x.a', longName, 's.o'], { cwd: dir });
    await runTool('ar', ['rcD', 'y.a', 's.o', longName], { cwd: dir });
    await runTool('ar', ['rcD', 'z.a', 's.o'], { cwd: dir });
    const [x, y, z] = await Promise.all(['x.a', 'y.a', 'z.a'].map((n) => decode(join(dir, n))));
    expect(brief(compareAr(x, y)).filter(([where]) => where !== '/')).toEqual([['archive', 'order', [longName, 's.o'], ['s.o', longName]]]);
    expect(brief(compareAr(x, z)).filter(([where]) => where !== '/')).toEqual([[longName, 'presence', 'present', 'absent']]);
  });
});

describe.skipIf(skipWithoutTools('dpkg-deb'))('dpkg-deb: a .deb built at two SOURCE_DATE_EPOCHs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('oci-repro-deb-');
  });
  afterAll(() => removeTempDir(dir));

  it('every member date follows SOURCE_DATE_EPOCH; debian-binary is the same bytes', async () => {
    const root = join(dir, 'pkg');
    await mkdir(join(root, 'DEBIAN'), { recursive: true });
    await mkdir(join(root, 'usr/share/doc/hello'), { recursive: true });
    await writeFile(join(root, 'DEBIAN/control'), 'Package: hello\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\nDescription: test\n');
    await writeFile(join(root, 'usr/share/doc/hello/README'), 'hello\n');
    const build = (epoch: number, out: string) =>
      runTool('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, join(dir, out)], { env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) } });
    await build(1_700_000_000, 'a.deb');
    await build(1_700_086_400, 'b.deb');
    const a = await decode(join(dir, 'a.deb'));
    expect(a.members.map((m) => [m.name, m.uid, m.gid, m.mode])).toEqual([
      ['debian-binary', 0, 0, '100644'],
      ['control.tar.gz', 0, 0, '100644'],
      ['data.tar.gz', 0, 0, '100644'],
    ]);
    const changes = compareAr(a, await decode(join(dir, 'b.deb')));
    expect(changes.filter((c) => c.field === 'date').map((c) => [c.where, c.a, c.b])).toEqual(
      ['debian-binary', 'control.tar.gz', 'data.tar.gz'].map((n) => [n, '2023-11-14T22:13:20Z', '2023-11-15T22:13:20Z']),
    );
    // the tars inside record the epoch as file times too, so their bytes differ; debian-binary does not
    expect(changes.filter((c) => c.field === 'sha256').map((c) => c.where)).toEqual(['control.tar.gz', 'data.tar.gz']);
  });
});

describe('ar archives built in code', () => {
  const header = (name: string, size: number, fields: { date?: number; uid?: number; gid?: number; mode?: string } = {}) =>
    Buffer.from(
      name.padEnd(16) + String(fields.date ?? 0).padEnd(12) + String(fields.uid ?? 0).padEnd(6) + String(fields.gid ?? 0).padEnd(6) +
        (fields.mode ?? '644').padEnd(8) + String(size).padEnd(10) + '`\n',
      'latin1',
    );
  const member = (name: string, data: Buffer, fields?: Parameters<typeof header>[2]) =>
    Buffer.concat([header(name, data.length, fields), data, data.length % 2 ? Buffer.from('\n') : Buffer.alloc(0)]);
  const archive = (...members: Buffer[]) => Buffer.concat([Buffer.from('!<arch>\n'), ...members]);

  it('reads BSD #1/N names (the name counted in the size, not in the member)', async () => {
    const name = Buffer.from('a_bsd_long_member_name.o\0\0\0\0');
    const data = Buffer.from('ELF-ish content');
    const bytes = archive(Buffer.concat([header(`#1/${name.length}`, name.length + data.length, { date: 5, uid: 501, gid: 20 }), name, data, Buffer.from('\n')]));
    expect((await decodeAr(bufferSource(bytes))).members).toEqual([
      { name: 'a_bsd_long_member_name.o', index: 0, date: 5, uid: 501, gid: 20, mode: '644', size: data.length, sha256: sha256Hex(data), offset: 8 + 60 + name.length },
    ]);
    // The offset is where the data starts, after the BSD name.
    expect(bytes.subarray(8 + 60 + name.length, 8 + 60 + name.length + data.length)).toEqual(data);
  });

  it('bad input: not ar, thin, damaged header, truncated, bad long-name reference: one line, exit 3', async () => {
    const one = archive(member('x.o/', Buffer.from('abc')));
    const notAr = await caughtError(decodeAr(bufferSource(Buffer.from('PK\x03\x04 not an ar'))));
    expect(notAr).toMatchObject({ code: 'CORRUPT_ARCHIVE', exitCode: 3 });
    expect(notAr.line).toBe('ar: no !<arch> magic at byte 0 (hint: not an ar archive)');
    expect((await caughtError(decodeAr(bufferSource(Buffer.from('!<thin>\n'))))).message).toBe('ar: a thin archive (members stored outside it) is not supported');
    expect((await caughtError(decodeAr(bufferSource(one.subarray(0, 40))))).message).toBe('ar: truncated member header at byte 8: needs bytes 8..68, the file has 40');
    expect((await caughtError(decodeAr(bufferSource(one.subarray(0, 69))))).line).toBe('ar: member at byte 8 claims 3 bytes but the file ends at 69 (hint: the file may be truncated)');
    const badDate = Buffer.from(one);
    badDate.write('12x', 8 + 16, 'latin1');
    expect((await caughtError(decodeAr(bufferSource(badDate)))).message).toBe('ar: member header at byte 8: date "12x" is not a decimal number');
    const noTerminator = Buffer.from(one);
    noTerminator.write('xx', 8 + 58, 'latin1');
    expect((await caughtError(decodeAr(bufferSource(noTerminator)))).message).toBe('ar: member header at byte 8 lacks its `\\n terminator');
    expect((await caughtError(decodeAr(bufferSource(archive(member('/4', Buffer.from('abc'))))))).message).toBe('ar: member at byte 8 refers to a long name but the archive has no // table');
    const table = member('//', Buffer.from('long_name.o/\n'));
    expect((await caughtError(decodeAr(bufferSource(archive(table, member('/99', Buffer.from('abc'))))))).message).toBe('ar: member at byte 82: long name offset 99 is past the 13-byte table');
  });
});
