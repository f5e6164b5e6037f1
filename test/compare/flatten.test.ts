import { describe, expect, it } from 'vitest';
import { compareLayers } from '../../src/compare/index.js';
import { applyLayer, compareFlattened, flattenLayers } from '../../src/compare/flatten.js';
import { comparePaths, type LayerEntry } from '../../src/normalize/entry.js';
import { OciReproError } from '../../src/errors.js';
import { thrownError } from '../helpers/errors.js';
import { digest, entry, identity, optionsWith, summary, table } from './entries.js';

const defaults = optionsWith();

function view(layers: LayerEntry[][]): string[] {
  const flat = flattenLayers(layers.map((l) => table(l)));
  return flat.entries.map((e, i) => `${e.path}@${flat.layers[i]}`);
}

describe('flattenLayers', () => {
  it('stacks layers, the upper entry winning for a path', () => {
    expect(
      view([
        [entry('./'), entry('etc/'), entry('etc/a', { size: 1 }), entry('etc/b')],
        [entry('etc/'), entry('etc/a', { size: 2 }), entry('usr/')],
      ]),
    ).toEqual(['./@0', 'etc/@1', 'etc/a@1', 'etc/b@0', 'usr/@1']);
    const flat = flattenLayers([[entry('x', { size: 1 })], [entry('x', { size: 2 })]]);
    expect(flat.entries[0]!.size).toBe(2);
  });

  it('a whiteout deletes a file, or a directory with its subtree, from the lower layers', () => {
    expect(
      view([
        [entry('a/'), entry('a/keep'), entry('a/gone'), entry('d/'), entry('d/x'), entry('d/y/'), entry('d/y/z'), entry('d-sibling')],
        [entry('a/'), entry('a/.wh.gone'), entry('.wh.d')],
      ]),
    ).toEqual(['a/@1', 'a/keep@0', 'd-sibling@0']);
  });

  it('a whiteout whose name sorts before its target still deletes it', () => {
    // `-` sorts before `.`, so `a/-x` comes before `a/.wh.-x` in the table.
    expect(view([[entry('a/'), entry('a/-x')], [entry('a/.wh.-x')]])).toEqual(['a/@0']);
  });

  it('an opaque whiteout hides what lower layers had in the directory, not what its own layer adds', () => {
    expect(
      view([
        [entry('d/'), entry('d/old'), entry('d/sub/'), entry('d/sub/deep'), entry('e/'), entry('e/keep')],
        [entry('d/'), entry('d/.wh..wh..opq'), entry('d/new')],
      ]),
    ).toEqual(['d/@1', 'd/new@1', 'e/@0', 'e/keep@0']);
  });

  it('an opaque whiteout at the root hides every lower path', () => {
    expect(view([[entry('./'), entry('a'), entry('b/'), entry('b/c')], [entry('.wh..wh..opq'), entry('n')]])).toEqual(['./@0', 'n@1']);
  });

  it('whiteouts apply to lower layers only, and whiteout files never appear', () => {
    expect(view([[entry('keep')], [entry('.wh.x'), entry('x')], [entry('y')]])).toEqual(['keep@0', 'x@1', 'y@2']);
  });

  it('a file replacing a directory takes the directory contents with it', () => {
    expect(view([[entry('p/'), entry('p/q'), entry('p-r')], [entry('p', { type: 'symlink', linkname: '/x', size: 0 })]])).toEqual([
      'p@1',
      'p-r@0',
    ]);
  });

  it('agrees with a naive map-based flattening on random layers', () => {
    const universe = [
      'a/', 'a/x', 'a/b/', 'a/b/y', 'a/b-y', 'a-x', 'c/', 'c/z', 'c/d/', 'c/d/w',
      '.wh.a', '.wh.c', '.wh.a-x', 'a/.wh.b', 'a/.wh.x', 'a/.wh..wh..opq', 'a/b/.wh..wh..opq', 'c/.wh.z', 'c/.wh.d', '.wh..wh..opq',
      'a', 'c/d',
    ];
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 300; round++) {
      const layers: LayerEntry[][] = [];
      const count = 1 + Math.floor(random() * 4);
      for (let l = 0; l < count; l++) {
        const byKey = new Map<string, LayerEntry>();
        for (const path of universe) {
          if (random() < 0.35) byKey.set(path.replace(/\/$/, ''), entry(path, { size: l * 100 + universe.indexOf(path) }));
        }
        layers.push(table([...byKey.values()]));
      }
      const expected = naiveFlatten(layers);
      const actual = flattenLayers(layers);
      expect(actual.entries.map((e, i) => `${e.path}@${actual.layers[i]}:${e.size}`), `round ${round}`).toEqual(expected);
    }
  });

  it('applyLayer leaves its input alone', () => {
    const lower = flattenLayers([[entry('a')]]);
    applyLayer(lower, [entry('.wh.a')], 1);
    expect(lower.entries.map((e) => e.path)).toEqual(['a']);
  });
});

describe('compareFlattened', () => {
  it('reports the layer count, then file differences at fs/ paths with their origins', () => {
    const a = [summary(table([entry('bin/'), entry('bin/sh'), entry('etc/'), entry('etc/motd', { contentDigest: digest('1') })]))];
    const b = [
      summary(table([entry('bin/'), entry('bin/sh'), entry('etc/'), entry('etc/motd'), entry('tmp/')])),
      summary(table([entry('etc/'), entry('etc/motd', { contentDigest: digest('2'), mtime: 5 }), entry('.wh.tmp')])),
    ];
    const { differences, counts } = compareFlattened(a, b, defaults);
    expect(differences[0]).toEqual({ kind: 'layer-count', path: 'layers', a: 1, b: 2, neutralized: false, cause: null });
    expect(differences.slice(1).map((d) => [d.path, d.layer, d.origin, d.neutralized])).toEqual([
      ['fs/etc/motd#content', 0, { a: 0, b: 1 }, false],
      ['fs/etc/motd#mtime', 0, { a: 0, b: 1 }, true],
    ]);
    expect(counts).toEqual({ added: 0, removed: 0, changed: 1 });
  });

  it('gives added files the layer they came from in B', () => {
    const { differences } = compareFlattened([summary([entry('a')])], [summary([entry('a')]), summary([entry('b')])], defaults);
    expect(differences[1]).toMatchObject({ kind: 'file-added', path: 'fs/b', layer: 1, origin: { a: null, b: 1 } });
  });
});

describe('compareLayers', () => {
  const layer = (index: number, entries: LayerEntry[], diffId: string) => ({
    identity: identity(index, { digest: diffId, diffId }),
    summary: summary(table(entries), { tarDigest: diffId, canonicalDigest: diffId }),
    contentDigests: true,
  });

  it('pairs layers by index when counts match', () => {
    const result = compareLayers(
      [layer(0, [entry('a')], digest('1')), layer(1, [entry('b')], digest('2'))],
      [layer(0, [entry('a')], digest('1')), layer(1, [entry('b', { uid: 7 })], digest('3'))],
      defaults,
    );
    expect(result.flattened).toBe(false);
    expect(result.layers.map((l) => l.status)).toEqual(['identical', 'content']);
    expect(result.differences.map((d) => d.path)).toEqual(['layers/1/b#uid']);
  });

  it('compares flattened filesystems when counts differ', () => {
    const result = compareLayers(
      [layer(0, [entry('a'), entry('b')], digest('1'))],
      [layer(0, [entry('a')], digest('2')), layer(1, [entry('b')], digest('3'))],
      defaults,
    );
    expect(result.flattened).toBe(true);
    expect(result.layers.map((l) => l.status)).toEqual(['content', 'missing']);
    expect(result.differences.map((d) => d.kind)).toEqual(['layer-count']);
  });

  it('refuses to flatten without every layer read', () => {
    const unread = { identity: identity(0, { foreign: true }) };
    expect(() => compareLayers([unread], [unread, unread], defaults)).toThrow(OciReproError);
  });

  it('refuses to flatten a table without content digests', () => {
    const flat = (digests: boolean) => () =>
      compareLayers([layer(0, [entry('a')], digest('1'))], [layer(0, [entry('a')], digest('2')), { ...layer(1, [entry('b')], digest('3')), contentDigests: digests }], defaults);
    expect(flat(true)().differences.map((d) => d.kind)).toEqual(['layer-count', 'file-added']);
    const error = thrownError(flat(false));
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toMatch(/^layer 1 of image B: entry table without content digests/);
  });
});

/** The obvious quadratic reading of the OCI whiteout rules, as an oracle. */
function naiveFlatten(layers: LayerEntry[][]): string[] {
  const state = new Map<string, { entry: LayerEntry; layer: number }>();
  const keyOf = (path: string) => (path.endsWith('/') ? path.slice(0, -1) : path);
  const within = (key: string, target: string) => target === '' || key === target || key.startsWith(`${target}/`);
  layers.forEach((layer, index) => {
    for (const e of layer) {
      const key = keyOf(e.path);
      const slash = key.lastIndexOf('/');
      const dir = slash < 0 ? '' : key.slice(0, slash);
      const base = key.slice(slash + 1);
      if (base === '.wh..wh..opq') {
        for (const k of [...state.keys()]) if (within(k, dir) && k !== dir) state.delete(k);
      } else if (base.startsWith('.wh.')) {
        const target = dir === '' ? base.slice(4) : `${dir}/${base.slice(4)}`;
        for (const k of [...state.keys()]) if (within(k, target)) state.delete(k);
      }
    }
    for (const e of layer) {
      const key = keyOf(e.path);
      if (key.slice(key.lastIndexOf('/') + 1).startsWith('.wh.')) continue;
      const lower = state.get(key);
      if (lower !== undefined && lower.entry.type === 'directory' && e.type !== 'directory') {
        for (const k of [...state.keys()]) if (within(k, key)) state.delete(k);
      }
      state.set(key, { entry: e, layer: index });
    }
  });
  return [...state.values()]
    .sort((x, y) => comparePaths(x.entry.path, y.entry.path))
    .map(({ entry: e, layer }) => `${e.path}@${layer}:${e.size}`);
}
