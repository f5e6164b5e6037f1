import { describe, expect, it } from 'vitest';
import { compareLayerPair, compareLayerTables, needsContentDigests, type LayerInput } from '../../src/compare/layers.js';
import { thrownError } from '../helpers/errors.js';
import { digest, entry, identity, optionsWith, summary, table } from './entries.js';
import type { LayerSummary } from '../../src/normalize/entry.js';

const defaults = optionsWith();

function input(index: number, fields: Partial<LayerInput['identity']>, layerSummary?: LayerSummary, contentDigests = true): LayerInput {
  const base = { identity: identity(index, fields) };
  return layerSummary ? { ...base, summary: layerSummary, contentDigests } : base;
}

describe('compareLayerPair: status', () => {
  it('identical blobs: nothing to explain', () => {
    const { comparison, differences } = compareLayerPair(0, input(0, {}), input(0, {}), defaults);
    expect(comparison.status).toBe('identical');
    expect(differences).toEqual([]);
    expect(comparison.step).toBe('RUN step 0');
    expect(comparison.a).toMatchObject({ digest: digest('b'), canonicalDiffId: null });
  });

  it('same diff_id, different blob: one neutralized layer-compression', () => {
    const { comparison, differences } = compareLayerPair(1, input(1, { digest: digest('1') }), input(1, { digest: digest('2') }), defaults);
    expect(comparison.status).toBe('compression');
    expect(differences).toEqual([
      { kind: 'layer-compression', path: 'layers/1', layer: 1, a: digest('1'), b: digest('2'), neutralized: true, cause: null },
    ]);
  });

  it('same canonical diff_id and equal tables: one neutralized layer-tar', () => {
    const entries = table([entry('a'), entry('b')]);
    const { comparison, differences } = compareLayerPair(
      3,
      input(3, { digest: digest('1'), diffId: digest('3') }, summary(entries, { tarDigest: digest('3'), duplicatePaths: ['a'] })),
      input(3, { digest: digest('2'), diffId: digest('4') }, summary(entries, { tarDigest: digest('4') })),
      defaults,
    );
    expect(comparison.status).toBe('tar');
    expect(comparison.a?.canonicalDiffId).toBe(digest('2'));
    expect(differences).toEqual([
      { kind: 'layer-tar', path: 'layers/3', layer: 3, a: digest('3'), b: digest('4'), neutralized: true, cause: null },
    ]);
  });

  it('tar status explained by file differences gets no layer-tar', () => {
    const { comparison, differences } = compareLayerPair(
      0,
      input(0, { digest: digest('1'), diffId: digest('3') }, summary([entry('a', { mtime: 1 })])),
      input(0, { digest: digest('2'), diffId: digest('4') }, summary([entry('a', { mtime: 2 })])),
      defaults,
    );
    expect(comparison.status).toBe('tar');
    expect(differences.map((d) => d.kind)).toEqual(['file-attribute']);
    expect(comparison.counts).toEqual({ added: 0, removed: 0, changed: 1 });
  });

  it('content status counts added, removed and changed paths', () => {
    const { comparison, differences } = compareLayerPair(
      0,
      input(0, { digest: digest('1'), diffId: digest('3') }, summary(table([entry('a'), entry('b'), entry('c')]))),
      input(
        0,
        { digest: digest('2'), diffId: digest('4') },
        summary(table([entry('b', { contentDigest: digest('e'), mode: 0o600 }), entry('c'), entry('d')]), { canonicalDigest: digest('5') }),
      ),
      defaults,
    );
    expect(comparison.status).toBe('content');
    expect(comparison.counts).toEqual({ added: 1, removed: 1, changed: 1 });
    expect(differences).toHaveLength(4);
  });

  it('content status with nothing left standing still reports the break', () => {
    const { differences } = compareLayerPair(
      0,
      input(0, { digest: digest('1'), diffId: digest('3') }, summary([entry('a', { mtime: 1 })])),
      input(0, { digest: digest('2'), diffId: digest('4') }, summary([entry('a', { mtime: 2 })], { canonicalDigest: digest('5') })),
      defaults,
    );
    expect(differences.map((d) => [d.kind, d.neutralized])).toEqual([
      ['file-attribute', true],
      ['layer-tar', false],
    ]);
  });

  it('a layer present on one side only is missing, with no differences', () => {
    const { comparison, differences } = compareLayerPair(4, null, input(4, { step: 'COPY . /app' }), defaults);
    expect(comparison).toMatchObject({ status: 'missing', a: null, step: 'COPY . /app' });
    expect(differences).toEqual([]);
  });

  it('does not compare files when told they are compared flattened', () => {
    const { comparison, differences } = compareLayerPair(
      0,
      input(0, { digest: digest('1'), diffId: digest('3') }, summary([entry('a', { mtime: 1 })])),
      input(0, { digest: digest('2'), diffId: digest('4') }, summary([entry('a', { mtime: 2 })])),
      defaults,
      { files: false },
    );
    expect(comparison.status).toBe('tar');
    expect(differences).toEqual([]);
  });
});

describe('compareLayerTables: order and dialect', () => {
  it('reports a different input order where the orders part, neutralized by rule entry-order', () => {
    const a = table([entry('a'), entry('b'), entry('c')]);
    const b = table([entry('a', { inputIndex: 0 }), entry('b', { inputIndex: 2 }), entry('c', { inputIndex: 1 })], true);
    const diffs = compareLayerTables(5, summary(a), summary(b, { inCanonicalOrder: false }), defaults);
    expect(diffs).toEqual([
      { kind: 'entry-order', path: 'layers/5', layer: 5, a: 'b', b: 'c', neutralized: true, cause: null },
    ]);
    const off = compareLayerTables(5, summary(a), summary(b, { inCanonicalOrder: false }), optionsWith({ off: ['entry-order'] }));
    expect(off[0]!.neutralized).toBe(false);
  });

  it('ignores order differences that only involve added or removed paths', () => {
    const a = table([entry('a'), entry('c')]);
    // B wrote the extra path `b` last; the common paths keep their relative order.
    const b = table([entry('a', { inputIndex: 0 }), entry('b', { inputIndex: 2 }), entry('c', { inputIndex: 1 })], true);
    const diffs = compareLayerTables(0, summary(a), summary(b, { inCanonicalOrder: false }), defaults);
    expect(diffs.map((d) => d.kind)).toEqual(['file-added']);
  });

  it('finds an order difference among 10,000 entries', () => {
    const paths = Array.from({ length: 10_000 }, (_, i) => `f${String(i).padStart(5, '0')}`);
    const a = table(paths.map((p) => entry(p)));
    // B's input swaps two neighbours in the middle.
    const b = table(paths.map((p) => entry(p)));
    b[5000]!.inputIndex = 5001;
    b[5001]!.inputIndex = 5000;
    const diffs = compareLayerTables(0, summary(a), summary(b, { inCanonicalOrder: false }), defaults);
    expect(diffs).toMatchObject([{ kind: 'entry-order', a: 'f05000', b: 'f05001' }]);
  });

  it('reports different tar dialects, always neutralized', () => {
    const diffs = compareLayerTables(1, summary([], { dialects: ['gnu'] }), summary([], { dialects: ['pax', 'ustar'] }), optionsWith({ off: ['tar-dialect'] }));
    expect(diffs).toEqual([
      { kind: 'tar-dialect', path: 'layers/1', layer: 1, a: ['gnu'], b: ['pax', 'ustar'], neutralized: true, cause: null },
    ]);
  });
});

describe('tables without content digests', () => {
  // What a pass with `contentDigests: false` gives: the same table minus every content digest.
  const withoutDigests = (entries: ReturnType<typeof entry>[]) => entries.map(({ contentDigest: _, ...rest }) => rest);
  const a = table([entry('a', { mtime: 1 }), entry('b')]);
  const b = table([entry('a', { mtime: 2 }), entry('b', { contentDigest: digest('e') })]);

  it('compare a tar pair (same canonical diff_id) as tables with digests do, minus nothing', () => {
    const sameCanonical = [a, table([entry('a', { mtime: 2 }), entry('b')])] as const;
    const pair = (digests: boolean) =>
      compareLayerPair(
        0,
        input(0, { digest: digest('1'), diffId: digest('3') }, summary(digests ? sameCanonical[0] : withoutDigests(sameCanonical[0])), digests),
        input(0, { digest: digest('2'), diffId: digest('4') }, summary(digests ? sameCanonical[1] : withoutDigests(sameCanonical[1])), digests),
        defaults,
      );
    const [withDigests, without] = [pair(true), pair(false)];
    expect(without.comparison.status).toBe('tar');
    expect(without.differences.map((d) => d.path)).toEqual(['layers/0/a#mtime']);
    expect(without).toEqual(withDigests);
  });

  it('are refused in a content pair, where two missing digests would pass for equal contents', () => {
    const content = (digestsA: boolean, digestsB: boolean) => () =>
      compareLayerPair(
        0,
        input(0, { digest: digest('1'), diffId: digest('3') }, summary(digestsA ? a : withoutDigests(a)), digestsA),
        input(0, { digest: digest('2'), diffId: digest('4') }, summary(digestsB ? b : withoutDigests(b), { canonicalDigest: digest('5') }), digestsB),
        defaults,
      );
    expect(content(true, true)().differences.map((d) => d.path)).toEqual(['layers/0/a#mtime', 'layers/0/b#content']);
    for (const [x, y] of [[false, true], [true, false], [false, false]] as const) {
      const error = thrownError(content(x, y));
      expect(error.code).toBe('INTERNAL');
      expect(error.message).toMatch(/^layer 0: entry table without content digests/);
    }
  });

  it('needsContentDigests holds for content pairs only', () => {
    const side = (diffId: string, canonical: string) => input(0, { digest: diffId, diffId }, summary(a, { canonicalDigest: canonical }));
    expect(needsContentDigests(side(digest('3'), digest('5')), side(digest('4'), digest('6')))).toBe(true);
    expect(needsContentDigests(side(digest('3'), digest('5')), side(digest('4'), digest('5')))).toBe(false);
    expect(needsContentDigests(side(digest('3'), digest('5')), side(digest('3'), digest('5')))).toBe(false);
  });
});
