import { describe, expect, it } from 'vitest';
import { DifferenceCollector, defaultNeutralizedLimit } from '../../src/compare/collect.js';
import { compareLayers, compareLayersInto, type LayerInput } from '../../src/compare/index.js';
import { explainDifferences } from '../../src/causes/match.js';
import type { Difference } from '../../src/diff/model.js';
import { differenceScope } from '../../src/diff/count.js';
import { digest, entry, identity, optionsWith, summary, table } from './entries.js';

const defaults = optionsWith();

/** Layer `index` of both images: `count` files, B's with other mtimes (and every 7th with other content). */
function mtimePair(index: number, count: number, contentEvery = 0): [LayerInput, LayerInput] {
  const names = Array.from({ length: count }, (_, i) => `data/f${String(i).padStart(5, '0')}`);
  const a = table(names.map((name) => entry(name)));
  const b = table(
    names.map((name, i) =>
      entry(name, { mtime: 1_700_000_000 + i + 1, ...(contentEvery > 0 && i % contentEvery === 0 ? { contentDigest: digest('e') } : {}) }),
    ),
  );
  const same = contentEvery === 0;
  return [
    { identity: identity(index, { digest: digest('1'), diffId: digest('3') }), summary: summary(a, { tarDigest: digest('3') }), contentDigests: true },
    {
      identity: identity(index, { digest: digest('2'), diffId: digest('4') }),
      summary: summary(b, { tarDigest: digest('4'), canonicalDigest: same ? digest('2') : digest('5') }),
      contentDigests: true,
    },
  ];
}

function file(layer: number | undefined, name: string, neutralized: boolean, attribute: Difference['attribute'] = 'mtime'): Difference {
  const difference: Difference = {
    kind: 'file-attribute',
    path: `${layer === undefined ? 'fs/' : `layers/${layer}/`}${name}#${attribute}`,
    file: name,
    attribute,
    a: 1,
    b: 2,
    neutralized,
    cause: null,
  } as Difference;
  if (layer !== undefined) difference.layer = layer;
  return difference;
}

describe('DifferenceCollector', () => {
  it('keeps the first `limit` neutralized differences per scope and cause and counts the rest', () => {
    const collector = new DifferenceCollector(3);
    for (let i = 0; i < 10; i++) collector.push(file(0, `a${i}`, true));
    for (let i = 0; i < 2; i++) collector.push(file(1, `b${i}`, true));
    for (let i = 0; i < 5; i++) collector.push(file(1, `c${i}`, true, 'uname'));
    expect(collector.differences.map((d) => d.file)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'c0', 'c1', 'c2']);
    expect(collector.omitted()).toEqual([
      { scope: 'layers/0', cause: 'file-mtime', count: 7 },
      { scope: 'layers/1', cause: 'owner-names', count: 2 },
    ]);
  });

  it('keeps every remaining difference, however many', () => {
    const collector = new DifferenceCollector(1);
    for (let i = 0; i < 50; i++) collector.push(file(0, `x${i}`, false, 'content'));
    expect(collector.differences).toHaveLength(50);
    expect(collector.omitted()).toEqual([]);
  });

  it('explains as it collects, as explainDifferences does', () => {
    const collector = new DifferenceCollector();
    const pushed = [file(0, 'a', true), file(0, 'var/log/dpkg.log', false, 'content'), file(0, 'weird', false, 'device')];
    const expected = explainDifferences(pushed.map((d) => structuredClone(d)));
    for (const difference of pushed) collector.push(difference);
    expect(collector.differences).toEqual(expected);
    expect(expected.map((d) => d.cause?.id ?? null)).toEqual(['file-mtime', 'apt-logs', null]);
  });

  it('tells the config, each layer and the flattened filesystem apart', () => {
    const collector = new DifferenceCollector(1);
    const config = (path: string): Difference => ({ kind: 'config-field', path, a: 'x', b: 'y', neutralized: true, cause: null });
    const flat = (name: string): Difference => ({ ...file(undefined, name, true), layer: 0, origin: { a: 0, b: 0 } }) as Difference;
    const pushed = [config('/history/0/created'), config('/history/1/created'), file(0, 'a', true), file(0, 'b', true), flat('a'), flat('b'), flat('c')];
    for (const difference of pushed) collector.push(difference);
    expect(pushed.map(differenceScope)).toEqual(['config', 'config', 'layers/0', 'layers/0', 'fs', 'fs', 'fs']);
    expect(collector.omitted()).toEqual([
      { scope: 'config', cause: 'history-created', count: 1 },
      { scope: 'layers/0', cause: 'file-mtime', count: 1 },
      { scope: 'fs', cause: 'file-mtime', count: 2 },
    ]);
  });

  it('Infinity keeps all; a negative or NaN limit is refused', () => {
    const collector = new DifferenceCollector(Infinity);
    for (let i = 0; i < 100; i++) collector.push(file(0, `a${i}`, true));
    expect(collector.differences).toHaveLength(100);
    expect(collector.omitted()).toEqual([]);
    expect(() => new DifferenceCollector(-1)).toThrow(RangeError);
    expect(() => new DifferenceCollector(Number.NaN)).toThrow(RangeError);
  });
});

describe('compareLayersInto with a collector', () => {
  it('3000 files differing only in mtime: the cap listed, the rest counted, nothing lost', () => {
    const [a, b] = mtimePair(0, 3000);
    const all = compareLayers([a], [b], defaults);
    const collector = new DifferenceCollector();
    const folded = compareLayersInto([a], [b], defaults, collector);

    expect(folded.layers).toEqual(all.layers);
    expect(all.differences).toHaveLength(3000);
    expect(collector.differences).toHaveLength(defaultNeutralizedLimit);
    expect(collector.omitted()).toEqual([{ scope: 'layers/0', cause: 'file-mtime', count: 3000 - defaultNeutralizedLimit }]);
    // The listed ones are the first in path order, explained.
    expect(collector.differences).toEqual(explainDifferences(all.differences.slice(0, defaultNeutralizedLimit)));
  });

  it('a layer whose content differs: every remaining difference listed, its neutralized mtimes capped', () => {
    const [a, b] = mtimePair(0, 700, 7);
    const all = compareLayers([a], [b], defaults).differences;
    const collector = new DifferenceCollector(5);
    compareLayersInto([a], [b], defaults, collector);
    const remaining = all.filter((d) => !d.neutralized);
    expect(remaining).toHaveLength(100);
    expect(collector.differences.filter((d) => !d.neutralized)).toEqual(explainDifferences(remaining));
    expect(collector.differences.filter((d) => d.neutralized)).toHaveLength(5);
    const omitted = collector.omitted();
    expect(omitted).toEqual([{ scope: 'layers/0', cause: 'file-mtime', count: 700 - 5 }]);
    expect(collector.differences.length + omitted[0]!.count).toBe(all.length);
  });

  it('a tar-only pair whose differences are all folded still counts as explained (no layer-tar)', () => {
    const [a, b] = mtimePair(0, 50);
    const collector = new DifferenceCollector(0);
    const { layers } = compareLayersInto([a], [b], defaults, collector);
    expect(layers[0]?.status).toBe('tar');
    expect(collector.differences).toEqual([]);
    expect(collector.omitted()).toEqual([{ scope: 'layers/0', cause: 'file-mtime', count: 50 }]);
  });
});
