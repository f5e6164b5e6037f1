// The glob semantics the catalogue and policies rely on; the long table is in test/report/causes.test.ts.
import { describe, expect, it } from 'vitest';
import { checkGlob, matchGlob } from '../../src/causes/glob.js';

describe('matchGlob on dotfiles and picomatch-special characters', () => {
  it.each([
    // Dotfiles and dot directories match *, ** and ? like any name (picomatch needs dot: true for this).
    ['**/.wh.*', 'usr/lib/.wh.removed', true],
    ['**/.wh.*', 'usr/lib/wh.removed', false],
    ['*', '.wh..wh..opq', true],
    ['*.pyc', 'home/u/.cache/x/__pycache__/a.pyc', true],
    ['**/__pycache__/*.pyc', '.venv/lib/__pycache__/a.pyc', true],
    ['root/**', 'root/.npm/_cacache/x', true],
    ['?npm', '.npm', true],
    // Extglob, negation and escape characters are literal, as they were before picomatch.
    ['a+(b)', 'a+(b)', true],
    ['a+(b)', 'abb', false],
    ['!a', '!a', true],
    ['!a', 'b', false],
    ['@(x)', '@(x)', true],
    ['a\\b', 'a\\b', true],
    ['x$^|y', 'x$^|y', true],
    // A class is a class only: `[y]` never matches the literal text "[y]".
    ['a[y]', 'ay', true],
    ['a[y]', 'a[y]', false],
    ['a[^y]', 'a[', true],
    ['a[!y]', 'ay', false],
  ] as const)('%s on %s: %s', (pattern, path, expected) => {
    expect(matchGlob(pattern, path)).toBe(expected);
  });

  it('compiles a glob once: an invalid one is reported the same way by checkGlob and matchGlob', () => {
    expect(checkGlob('a[b')).toContain('unbalanced "["');
    expect(() => matchGlob('a[b', 'a[b')).toThrow('unbalanced "["');
    expect(checkGlob('var/**/[a-c]?.log')).toBeNull();
  });

  it('matches 200-segment paths with many ** linearly (picomatch alone backtracks for minutes)', () => {
    const path = `${'x/'.repeat(200)}y`;
    const started = performance.now();
    expect(matchGlob(`${'**/x/'.repeat(30)}z`, path)).toBe(false);
    expect(matchGlob(`${'**/x/'.repeat(30)}y`, path)).toBe(true);
    // A backtracking matcher takes minutes here and a linear one a millisecond: a loose bound cannot flake.
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
