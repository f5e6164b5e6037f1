import { describe, expect, it } from 'vitest';
import { compareLayerTables } from '../../src/compare/layers.js';
import { compareEntryTables, formatBinaryValue, sortEntries } from '../../src/compare/files.js';
import { formatMode } from '../../src/diff/mode.js';
import { resolveLayerRules, type LayerEntry } from '../../src/normalize/entry.js';
import type { Difference } from '../../src/diff/model.js';
import { digest, entry, optionsWith, summary, table } from './entries.js';

const defaults = optionsWith();

function attributeDiffs(a: LayerEntry, b: LayerEntry, options = defaults, index = 2): Difference[] {
  return compareLayerTables(index, summary([a]), summary([b]), options);
}

describe('compareLayerTables: attributes', () => {
  it('reports mode, mtime and uname of one path as three independent records', () => {
    const diffs = attributeDiffs(
      entry('usr/bin/ping', { mode: 0o755, mtime: 100, uname: 'root' }),
      entry('usr/bin/ping', { mode: 0o4755, mtime: 200, uname: 'builder' }),
    );
    expect(diffs.map((d) => d.path)).toEqual([
      'layers/2/usr/bin/ping#mode',
      'layers/2/usr/bin/ping#uname',
      'layers/2/usr/bin/ping#mtime',
    ]);
    expect(diffs[0]).toEqual({
      kind: 'file-attribute',
      path: 'layers/2/usr/bin/ping#mode',
      layer: 2,
      file: 'usr/bin/ping',
      attribute: 'mode',
      a: 0o755,
      b: 0o4755,
      neutralized: false,
      cause: null,
    });
    expect(diffs.map((d) => [d.attribute, d.neutralized])).toEqual([
      ['mode', false],
      ['uname', true],
      ['mtime', true],
    ]);
  });

  it('detects every attribute kind on its own', () => {
    const base = entry('x');
    const cases: [Partial<LayerEntry>, string, unknown, unknown][] = [
      [{ type: 'symlink', contentDigest: undefined, size: 0, linkname: 'y' }, 'type', 'file', 'symlink'],
      [{ contentDigest: digest('e') }, 'content', digest('c'), digest('e')],
      [{ size: 6 }, 'size', 5, 6],
      [{ mode: 0o600 }, 'mode', 0o644, 0o600],
      [{ uid: 1000 }, 'uid', 0, 1000],
      [{ gid: 1000 }, 'gid', 0, 1000],
      [{ uname: 'app' }, 'uname', 'root', 'app'],
      [{ gname: 'app' }, 'gname', 'root', 'app'],
      [{ mtime: 1 }, 'mtime', 1_700_000_000, 1],
      [{ atime: 5 }, 'atime', null, 5],
      [{ ctime: 6 }, 'ctime', null, 6],
    ];
    for (const [fields, attribute, a, b] of cases) {
      const diffs = attributeDiffs(base, entry('x', fields));
      const found = diffs.find((d) => d.attribute === attribute);
      expect(found, attribute).toMatchObject({ a, b, path: `layers/2/x#${attribute}` });
      if (attribute !== 'type') expect(diffs, attribute).toHaveLength(1);
    }
  });

  it('reports linkname and device changes', () => {
    const link = attributeDiffs(
      entry('l', { type: 'symlink', linkname: 'a', size: 0, contentDigest: undefined }),
      entry('l', { type: 'symlink', linkname: 'b', size: 0, contentDigest: undefined }),
    );
    expect(link).toMatchObject([{ attribute: 'linkname', a: 'a', b: 'b', neutralized: false }]);
    const device = attributeDiffs(
      entry('dev/null', { type: 'char', devmajor: 1, devminor: 3, size: 0, contentDigest: undefined }),
      entry('dev/null', { type: 'char', devmajor: 1, devminor: 5, size: 0, contentDigest: undefined }),
    );
    expect(device).toMatchObject([{ attribute: 'device', a: '1,3', b: '1,5', path: 'layers/2/dev/null#device' }]);
  });

  it('reports one record per xattr and PAX key, with binary values in hex', () => {
    const capability = '\x01\x00\x00\x02\x00\x20\x00\x00';
    const diffs = attributeDiffs(
      entry('usr/bin/ping', { xattrs: { 'security.capability': capability, 'user.same': 'v' }, pax: { 'SCHILY.acl.access': 'u::rw-' } }),
      entry('usr/bin/ping', { xattrs: { 'user.same': 'v', 'user.new': 'text' }, pax: { 'SCHILY.acl.access': 'u::r--' } }),
    );
    expect(diffs.map((d) => [d.path, d.key, d.a, d.b, d.neutralized])).toEqual([
      ['layers/2/usr/bin/ping#xattr:security.capability', 'security.capability', '0x0100000200200000', null, false],
      ['layers/2/usr/bin/ping#xattr:user.new', 'user.new', null, 'text', false],
      ['layers/2/usr/bin/ping#pax:SCHILY.acl.access', 'SCHILY.acl.access', 'u::rw-', 'u::r--', false],
    ]);
  });

  it('puts a binary detail with sizes and digests on content changes', () => {
    const [diff] = attributeDiffs(entry('f', { size: 5 }), entry('f', { size: 5, contentDigest: digest('e') }));
    expect(diff!.detail).toEqual({ format: 'binary', sizeA: 5, sizeB: 5, digestA: digest('c'), digestB: digest('e') });
  });

  it('reports nothing for equal entries, whatever their input position', () => {
    expect(attributeDiffs(entry('a', { inputIndex: 0 }), entry('a', { inputIndex: 9 }))).toEqual([]);
  });
});

describe('compareLayerTables: neutralized', () => {
  const a = entry('f', { mtime: 100, uname: 'root', gname: 'root' });
  const b = entry('f', { mtime: 200, uname: 'app', gname: 'app' });
  const flags = (options = defaults) =>
    Object.fromEntries(attributeDiffs(a, b, options).map((d) => [d.attribute, d.neutralized]));

  it('neutralizes mtimes and owner names under the default rules', () => {
    expect(flags()).toEqual({ uname: true, gname: true, mtime: true });
  });

  it('clamp neutralizes only mtimes that both end up at the epoch', () => {
    expect(flags(optionsWith({ timestampMode: 'clamp', epoch: 150 })).mtime).toBe(false);
    expect(flags(optionsWith({ timestampMode: 'clamp', epoch: 100 })).mtime).toBe(true);
    expect(flags(optionsWith({ timestampMode: 'set', epoch: 150 })).mtime).toBe(true);
  });

  it('rules turned off leave their attributes standing', () => {
    expect(flags(optionsWith({ off: ['owner-names'] }))).toEqual({ uname: false, gname: false, mtime: true });
    expect(flags(optionsWith({ off: ['mtime'] }))).toEqual({ uname: true, gname: true, mtime: false });
  });

  it('neutralizes sub-second mtimes and extra times unless their rules are off', () => {
    const x = entry('f', { mtime: 100.25, atime: 1 });
    const y = entry('f', { mtime: 100.5, ctime: 2 });
    const at = (options = defaults) => attributeDiffs(x, y, options).map((d) => [d.attribute, d.neutralized]);
    expect(at()).toEqual([
      ['mtime', true],
      ['atime', true],
      ['ctime', true],
    ]);
    expect(at(optionsWith({ off: ['extra-times'] }))).toEqual([
      ['mtime', true],
      ['atime', false],
      ['ctime', false],
    ]);
    // With rule 'mtime' off the exact input time is kept, fractions included.
    expect(at(optionsWith({ off: ['mtime'] }))[0]).toEqual(['mtime', false]);
  });
});

describe('compareLayerTables: paths', () => {
  it('reports added and removed paths with a compact view of the entry', () => {
    const diffs = compareLayerTables(
      0,
      summary(table([entry('etc/'), entry('etc/old'), entry('etc/same')])),
      summary(table([entry('etc/'), entry('etc/new', { mode: 0o600 }), entry('etc/same')])),
      defaults,
    );
    expect(diffs).toEqual([
      {
        kind: 'file-added',
        path: 'layers/0/etc/new',
        layer: 0,
        file: 'etc/new',
        a: null,
        b: { type: 'file', mode: 0o600, uid: 0, gid: 0, size: 5, contentDigest: digest('c') },
        neutralized: false,
        cause: null,
      },
      {
        kind: 'file-removed',
        path: 'layers/0/etc/old',
        layer: 0,
        file: 'etc/old',
        a: { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5, contentDigest: digest('c') },
        b: null,
        neutralized: false,
        cause: null,
      },
    ]);
  });

  it('treats `a` and `a/` as one path whose type changed', () => {
    const diffs = compareLayerTables(0, summary([entry('a')]), summary([entry('a/')]), defaults);
    expect(diffs.map((d) => d.kind)).toEqual(['file-attribute', 'file-attribute', 'file-attribute', 'file-attribute']);
    expect(diffs.map((d) => d.attribute)).toEqual(['type', 'content', 'size', 'mode']);
    expect(diffs[0]).toMatchObject({ path: 'layers/0/a#type', a: 'file', b: 'directory' });
  });

  it('merge-joins 20,000-entry tables with interleaved adds, removes and changes', () => {
    const a: LayerEntry[] = [];
    const b: LayerEntry[] = [];
    const expected = { added: 0, removed: 0, changed: 0 };
    for (let i = 0; i < 20_000; i++) {
      const dir = `d${i % 97}/`;
      const path = `${dir}f${i}`;
      if (i % 7 === 0) {
        a.push(entry(path));
        expected.removed++;
      } else if (i % 11 === 0) {
        b.push(entry(path));
        expected.added++;
      } else if (i % 13 === 0) {
        a.push(entry(path));
        b.push(entry(path, { mode: 0o600 }));
        expected.changed++;
      } else {
        a.push(entry(path));
        b.push(entry(path));
      }
    }
    for (let d = 0; d < 97; d++) {
      a.push(entry(`d${d}/`));
      b.push(entry(`d${d}/`));
    }
    const out: Difference[] = [];
    const counts = compareEntryTables(table(a), table(b), resolveLayerRules(defaults), { prefix: 'layers/0/', layer: 0 }, out);
    expect(counts).toEqual(expected);
    expect(out).toHaveLength(expected.added + expected.removed + expected.changed);
    expect(out.filter((d) => d.kind === 'file-removed').every((d) => Number(d.file!.split('/f')[1]) % 7 === 0)).toBe(true);
    expect(out.filter((d) => d.kind === 'file-added').every((d) => Number(d.file!.split('/f')[1]) % 11 === 0)).toBe(true);
    expect(out.filter((d) => d.kind === 'file-attribute').every((d) => d.attribute === 'mode')).toBe(true);
    // Differences come out in path order.
    const files = out.map((d) => d.file!);
    expect(files).toEqual(sortEntries(files.map((f) => entry(f))).map((e) => e.path));
  });

  it('sorts tables kept in input order (rule entry-order off) before joining', () => {
    const a = [entry('b'), entry('a')];
    const b = [entry('a'), entry('b', { uid: 1 })];
    const diffs = compareLayerTables(0, summary(a, { inCanonicalOrder: false }), summary(b), optionsWith({ off: ['entry-order'] }));
    expect(diffs.map((d) => d.path)).toContain('layers/0/b#uid');
    expect(diffs.filter((d) => d.kind === 'file-added' || d.kind === 'file-removed')).toEqual([]);
  });

  it('pairs duplicate paths in order and counts the extras (rule duplicate-paths off)', () => {
    const diffs = compareLayerTables(
      0,
      summary([entry('a', { inputIndex: 0 }), entry('a', { inputIndex: 1, mode: 0o600 })]),
      summary([entry('a', { inputIndex: 0 })]),
      optionsWith({ off: ['duplicate-paths'] }),
    );
    expect(diffs.map((d) => d.kind)).toEqual(['file-removed']);
    expect(diffs[0]!.a).toMatchObject({ mode: 0o600 });
  });
});

describe('formatting', () => {
  it('writes modes in octal with a leading zero', () => {
    expect(formatMode(0o644)).toBe('0644');
    expect(formatMode(0o4755)).toBe('04755');
    expect(formatMode(0)).toBe('0000');
  });
  it('shows printable values as text and others as hex', () => {
    expect(formatBinaryValue('user::rw-')).toBe('user::rw-');
    expect(formatBinaryValue(Buffer.from('é', 'utf8').toString('latin1'))).toBe('é');
    expect(formatBinaryValue('\x00\x01')).toBe('0x0001');
  });
});
