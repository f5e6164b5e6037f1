import { describe, expect, it } from 'vitest';
import { elideEnd, elidePair, ellipsis, minPairWidth } from '../../src/report/elide.js';

/** A seeded generator (mulberry32), so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// One code point each, no combining marks and no `…`: here a code point is a grapheme, so the test
// can count and locate without the code under test. Astral ones are surrogate pairs in UTF-16.
const alphabet = ['a', 'b', 'c', ' ', '/', '-', '"', 'é', 'ß', '漢', '字', '😀', '🚀', '𝄞'];
const codePoints = (text: string) => [...text];
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function randomString(next: () => number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet[Math.floor(next() * alphabet.length)];
  return text;
}

/** A pair that differs: a common prefix and suffix around two different middles, of random lengths. */
function randomPair(next: () => number): [string, string] {
  const prefix = randomString(next, Math.floor(next() * 300));
  const suffix = randomString(next, Math.floor(next() * 100));
  for (;;) {
    const middleA = randomString(next, Math.floor(next() * 6));
    const middleB = randomString(next, Math.floor(next() * 6));
    if (middleA !== middleB) return [`${prefix}${middleA}${suffix}`, `${prefix}${middleB}${suffix}`];
  }
}

/** Where the code points of `a` and `b` first differ. */
function firstDifference(a: string, b: string): number {
  const x = codePoints(a);
  const y = codePoints(b);
  let index = 0;
  while (index < x.length && index < y.length && x[index] === y[index]) index++;
  return index;
}

/**
 * The shown part of `original` (ellipses stripped) is a window of it that holds code point `at`
 * (or reaches the end when `original` ends there), and the ellipses sit where it was cut.
 */
function expectWindowAround(display: string, original: string, at: number): void {
  const units = codePoints(original);
  let shown = codePoints(display);
  const cutStart = shown[0] === ellipsis;
  if (cutStart) shown = shown.slice(1);
  const cutEnd = shown.at(-1) === ellipsis && !(units.at(-1) === ellipsis);
  if (cutEnd) shown = shown.slice(0, -1);
  const core = shown.join('');
  const starts: number[] = [];
  for (let index = 0; index + shown.length <= units.length; index++) {
    if (units.slice(index, index + shown.length).join('') === core) starts.push(index);
  }
  const fits = starts.some(
    (start) =>
      (start > 0) === cutStart &&
      (start + shown.length < units.length) === cutEnd &&
      start <= at &&
      (at < start + shown.length || (at === units.length && start + shown.length === units.length)),
  );
  expect(fits, `${JSON.stringify(display)} shows position ${at} of ${JSON.stringify(original)}`).toBe(true);
}

describe('elidePair', () => {
  it('keeps the first difference visible in both, within the width, for random pairs', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const next = random(seed);
      const [a, b] = randomPair(next);
      const width = minPairWidth + Math.floor(next() * 60);
      const [shownA, shownB] = elidePair(a, b, width);
      const context = `seed ${seed}, width ${width}`;
      expect(shownA, context).not.toBe(shownB);
      expect(codePoints(shownA).length, context).toBeLessThanOrEqual(width);
      expect(codePoints(shownB).length, context).toBeLessThanOrEqual(width);
      expect(shownA, context).not.toMatch(loneSurrogate);
      expect(shownB, context).not.toMatch(loneSurrogate);
      const at = firstDifference(a, b);
      expectWindowAround(shownA, a, at);
      expectWindowAround(shownB, b, at);
    }
  });

  it('shows values that fit whole, and cuts nothing it does not have to', () => {
    expect(elidePair('RUN make', 'RUN make install', 30)).toEqual(['RUN make', 'RUN make install']);
    const long = `${'x'.repeat(10)}A${'y'.repeat(40)}`;
    const [a, b] = elidePair(long, long.replace('A', 'B'), 20);
    // The difference is near the start: only the end is cut.
    expect(a).toBe(`${'x'.repeat(10)}A${'y'.repeat(8)}${ellipsis}`);
    expect(b).toBe(`${'x'.repeat(10)}B${'y'.repeat(8)}${ellipsis}`);
  });

  it('cuts the common prefix of two 300-character RUN lines that differ near the end', () => {
    const base = `RUN apt-get install -y ${'pkg '.repeat(67)}`;
    const a = `${base}curl=7.88.1-10`;
    const b = `${base}curl=7.88.1-11`;
    expect(a).toHaveLength(b.length);
    const [shownA, shownB] = elidePair(a, b, 30);
    // The whole width is used: the longer side ends within it.
    expect(shownA).toBe(`${ellipsis}${a.slice(-29)}`);
    expect(shownB).toBe(`${ellipsis}${b.slice(-29)}`);
    expect(shownA.endsWith('pkg pkg curl=7.88.1-10')).toBe(true);
  });

  it('cuts both ends when the difference is in the middle', () => {
    const a = `${'p'.repeat(100)}A${'s'.repeat(100)}`;
    const [shownA, shownB] = elidePair(a, a.replace('A', 'B'), 21);
    expect(shownA).toBe(`${ellipsis}${'p'.repeat(7)}A${'s'.repeat(11)}${ellipsis}`);
    expect(shownB).toBe(`${ellipsis}${'p'.repeat(7)}B${'s'.repeat(11)}${ellipsis}`);
  });

  it('shows a side that is a prefix of the other ending where the other goes on', () => {
    const a = 'z'.repeat(100);
    const [shownA, shownB] = elidePair(a, `${a} && rm -rf /tmp/*`, 20);
    expect(shownA).toBe(`${ellipsis}${'z'.repeat(6)}`);
    expect(shownB).toBe(`${ellipsis}${'z'.repeat(6)} && rm -rf /${ellipsis}`);
    // When the longer side ends within the width, the context before the difference grows to fill it.
    const [nearA, nearB] = elidePair(a, `${a} && rm -rf`, 20);
    expect(nearA).toBe(`${ellipsis}${'z'.repeat(9)}`);
    expect(nearB).toBe(`${ellipsis}${'z'.repeat(9)} && rm -rf`);
  });

  it('never splits a grapheme: emoji sequences and combining accents stay whole', () => {
    const family = '👩‍👩‍👧';
    const accented = 'e\u0301';
    const a = `${family.repeat(30)}${accented}x`;
    const b = `${family.repeat(30)}${accented}y`;
    const [shownA, shownB] = elidePair(a, b, 12);
    expect(shownA).not.toBe(shownB);
    expect(shownA.endsWith(`${accented}x`)).toBe(true);
    const segments = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(shownA.slice(1))];
    expect(segments.slice(0, -2).every((segment) => segment.segment === family)).toBe(true);
    expect(segments.length + 1).toBeLessThanOrEqual(12);
  });

  it('keeps differences in white space visible: line breaks escaped, spaces kept', () => {
    expect(elidePair('RUN a  b', 'RUN a b', 30)).toEqual(['RUN a  b', 'RUN a b']);
    expect(elidePair('x\ny', 'x\ty', 30)).toEqual(['x\\ny', 'x\\ty']);
    // A backslash and n, against a line feed: quoted, so they still differ.
    const [a, b] = elidePair('a\\nb', 'a\nb', 30);
    expect(a).not.toBe(b);
  });

  it('raises widths below the minimum', () => {
    const [a, b] = elidePair('a'.repeat(50), `${'a'.repeat(49)}bcdefghijklm`, 2);
    expect(a).toBe(`${ellipsis}aaa`);
    expect(b).toBe(`${ellipsis}aabcde${ellipsis}`);
    expect(codePoints(b)).toHaveLength(minPairWidth);
  });
});

describe('elideEnd', () => {
  it('cuts one value at its end, on one line, never inside a surrogate pair', () => {
    expect(elideEnd('RUN  make\n  install', 100)).toBe('RUN make install');
    expect(elideEnd('abcdefghij', 5)).toBe(`abcd${ellipsis}`);
    expect(elideEnd('😀'.repeat(10), 5)).toBe(`${'😀'.repeat(4)}${ellipsis}`);
    expect(elideEnd('abc', 3)).toBe('abc');
  });
});
