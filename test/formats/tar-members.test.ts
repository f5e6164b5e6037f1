import { describe, expect, it } from 'vitest';
import { compareTarMembers, decodeTarMembers } from '../../src/formats/tar-members.js';
import type { FieldChange } from '../../src/formats/model.js';
import { caughtError } from '../helpers/errors.js';
import { buildTar, tarStream, type TestEntry } from '../helpers/tar.js';

const when = new Date('2024-01-02T03:04:05Z');
const decode = async (entries: TestEntry[], dialect: 'ustar' | 'pax' | 'gnu' = 'ustar') =>
  (await decodeTarMembers(tarStream(await buildTar(entries.map((e) => ({ mtime: when, ...e })), { dialect }), 1000))).decoding;
const brief = (changes: FieldChange[]) => changes.map((c) => [c.where, c.field, c.a, c.b]);

describe('tar members inside a file', () => {
  const base: TestEntry[] = [
    { name: 'bin/', type: 'directory', mode: 0o755 },
    { name: 'bin/tool', content: 'x', mode: 0o755, uid: 0, uname: 'root' },
    { name: 'etc/conf', content: 'y', mode: 0o644 },
  ];

  it('decodes each member like a layer entry, content hashed, and finds nothing between equal archives', async () => {
    const a = await decode(base);
    expect(a.members.map((m) => [m.name, m.type, m.mode, m.uname, m.mtime, m.size])).toEqual([
      ['bin/', 'directory', '755', '', 1704164645, 0],
      ['bin/tool', 'file', '755', 'root', 1704164645, 1],
      ['etc/conf', 'file', '644', '', 1704164645, 1],
    ]);
    expect(a.members[1]!.sha256).toBe('2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
    expect(compareTarMembers(a, await decode(base))).toEqual([]);
  });

  it('one field each: owner name, mode, mtime, content; order; presence; dialect', async () => {
    const a = await decode(base);
    const edit = (name: string, change: Partial<TestEntry>) => base.map((e) => (e.name === name ? { ...e, ...change } : e));
    expect(brief(compareTarMembers(a, await decode(edit('bin/tool', { uname: 'builder' }))))).toEqual([['bin/tool', 'uname', 'root', 'builder']]);
    expect(brief(compareTarMembers(a, await decode(edit('etc/conf', { mode: 0o600 }))))).toEqual([['etc/conf', 'mode', '644', '600']]);
    expect(brief(compareTarMembers(a, await decode(edit('etc/conf', { mtime: new Date('2024-01-02T03:04:06Z') }))))).toEqual([
      ['etc/conf', 'mtime', '2024-01-02T03:04:05Z', '2024-01-02T03:04:06Z'],
    ]);
    expect(brief(compareTarMembers(a, await decode(edit('etc/conf', { content: 'z' })))).map(([w, f]) => [w, f])).toEqual([['etc/conf', 'content']]);
    expect(brief(compareTarMembers(a, await decode([base[2]!, base[0]!, base[1]!])))).toEqual([['archive', 'order', ['bin/', 'bin/tool', 'etc/conf'], ['etc/conf', 'bin/', 'bin/tool']]]);
    expect(brief(compareTarMembers(a, await decode(base.slice(0, 2))))).toEqual([['etc/conf', 'presence', 'present', 'absent']]);
    expect(brief(compareTarMembers(a, await decode(base, 'pax'))).filter(([, field]) => field === 'dialects')).toEqual([['archive', 'dialects', ['ustar'], ['pax', 'ustar']]]);
    // Every member change names its member.
    expect(compareTarMembers(a, await decode(edit('etc/conf', { mode: 0o600 })))[0]!.member).toEqual(['etc/conf']);
  });

  it('keeps the content of the members asked for, within the held budget', async () => {
    const bytes = await buildTar([{ name: 'a', content: 'aaaa', mtime: when }, { name: 'b', content: 'bbbbbbbb', mtime: when }]);
    const all = await decodeTarMembers(tarStream(bytes, 7), { keep: () => true });
    expect([...all.kept]).toEqual([['a', Buffer.from('aaaa')], ['b', Buffer.from('bbbbbbbb')]]);
    const some = await decodeTarMembers(tarStream(bytes), { keep: () => true, maxHeldBytes: 10 });
    expect([...some.kept.keys()]).toEqual(['a']);
  });

  it('a truncated archive or too many members: a one-line CORRUPT_ARCHIVE error naming tar', async () => {
    const bytes = await buildTar([{ name: 'a', content: 'x'.repeat(2000), mtime: when }]);
    const truncated = await caughtError(decodeTarMembers(tarStream(bytes.subarray(0, 1024))));
    expect(truncated.code).toBe('CORRUPT_ARCHIVE');
    expect(truncated.message).toMatch(/^tar: unexpected end of archive/);
    const many = await caughtError(decodeTarMembers(tarStream(bytes), { maxMembers: 0 }));
    expect(many.message).toBe('tar: more than 0 members');
  });
});
