// One pair per selector field and predicate: a difference the selector matches, and one it does not.
import { describe, expect, it } from 'vitest';
import type { CauseEntry } from '../../src/causes/catalogue.js';
import { CauseMatcher, explainDifference, matchCause, matchSelector } from '../../src/causes/match.js';
import { causeCatalogue } from '../../src/causes/catalogue.js';
import { differenceKinds, fileAttributes } from '../../src/causes/selectors.js';
import type { Selector } from '../../src/causes/selectors.js';
import type { Difference } from '../../src/diff/model.js';

// Values unchecked: each test gives what its attribute holds.
const file = (path: string, attribute: Difference['attribute'], a: unknown, b: unknown, key?: string): Difference => ({
  kind: 'file-attribute',
  path: `layers/0/${path}#${attribute}`,
  layer: 0,
  file: path,
  attribute,
  ...(key ? { key } : {}),
  a,
  b,
  neutralized: false,
  cause: null,
}) as Difference;
const config = (path: string, a: unknown, b: unknown): Difference => ({ kind: 'config-field', path, a, b, neutralized: false, cause: null });

describe('matchSelector', () => {
  it.each<[string, Selector, Difference, Difference]>([
    ['kinds', { kinds: ['config-field'] }, config('/a', 1, 2), file('a', 'mtime', 1, 2)],
    ['attributes', { attributes: ['mtime'] }, file('a', 'mtime', 1, 2), file('a', 'mode', 1, 2)],
    ['keys', { keys: ['atime'] }, file('a', 'pax', '1', null, 'atime'), file('a', 'pax', '1', null, 'mtime')],
    ['paths', { paths: ['opt/**'] }, file('opt/a/b', 'content', 'x', 'y'), file('srv/a', 'content', 'x', 'y')],
    // A file path that looks like a pointer is not one, and a pointer is not a path.
    ['pointers', { pointers: ['/config/*'] }, config('/config/User', 'a', 'b'), file('config/User', 'content', 'a', 'b')],
    ['paths on a config field', { paths: ['**'] }, file('x', 'content', 1, 2), config('/x', 1, 2)],
    ['values', { values: '^v\\d+$' }, config('/a', 'v1', 'v2'), config('/a', 'v1', 'w2')],
    ['modeBits', { modeBits: 0o022 }, file('a', 'mode', 0o775, 0o755), file('a', 'mode', 0o775, 0o700)],
    // Other numbers are not bit fields: a uid differing in the same bits is no mode difference.
    ['modeBits on modes only', { modeBits: 0o022 }, file('a', 'mode', 0o20, 0), file('a', 'uid', 0o20, 0)],
    // Modes are numbers in the model; a values pattern sees them in octal, as the JSON report spells them.
    ['values on modes in octal', { values: '^06[0-7]{2}$' }, file('a', 'mode', 0o644, 0o664), file('a', 'mode', 0o644, 0o755)],
    ['predicate zero-values', { predicate: 'zero-values' }, config('/a', [], null), config('/a', [1], null)],
    ['predicate one-side-absent', { predicate: 'one-side-absent' }, config('/a', null, 'x'), config('/a', 'y', 'x')],
    [
      'predicate differs-only-in-content-hash',
      { predicate: 'differs-only-in-content-hash' },
      config('/h', 'COPY file:0a1b2c3d4e in /', 'COPY file:9f8e7d6c5b in /'),
      config('/h', 'COPY file:0a1b2c3d4e in /', 'COPY file:9f8e7d6c5b in /x'),
    ],
    [
      'causes',
      { causes: ['apt-logs'] },
      { ...file('a', 'content', 1, 2), cause: { id: 'apt-logs', title: 't' } },
      file('a', 'content', 1, 2),
    ],
  ])('%s: matches one and not the other', (_name, selector, yes, no) => {
    expect(matchSelector(selector, yes)).toBe(true);
    expect(matchSelector(selector, no)).toBe(false);
  });

  it('predicate set-by-changed-step: only with the fields of the changed steps in view', () => {
    const selector: Selector = { predicate: 'set-by-changed-step' };
    const env = config('/config/Env/1', 'A=1', 'A=2');
    expect(matchSelector(selector, env, { stepFields: new Set(['Env']) })).toBe(true);
    expect(matchSelector(selector, config('/container_config/Env', [], ['A=2']), { stepFields: new Set(['Env']) })).toBe(true);
    expect(matchSelector(selector, env, { stepFields: new Set(['Labels']) })).toBe(false);
    expect(matchSelector(selector, env)).toBe(false);
    expect(matchSelector(selector, file('config/Env', 'content', 1, 2), { stepFields: new Set(['Env']) })).toBe(false);
  });

  it('needs every field to hold', () => {
    const selector: Selector = { kinds: ['file-attribute'], attributes: ['content'], paths: ['etc/*'] };
    expect(matchSelector(selector, file('etc/hosts', 'content', 1, 2))).toBe(true);
    expect(matchSelector(selector, file('etc/hosts', 'size', 1, 2))).toBe(false);
    expect(matchSelector(selector, file('etc/x/hosts', 'content', 1, 2))).toBe(false);
  });
});

describe('matchCause and explainDifference', () => {
  const catalogue: CauseEntry[] = [
    { id: 'first', title: 'first', fix: 'fix one', selectors: [{ paths: ['etc/hosts'] }, { pointers: ['/x'] }] },
    { id: 'second', title: 'second', fix: 'fix two', selectors: [{ paths: ['etc/*'] }] },
  ];

  it('takes the first entry any of whose selectors matches', () => {
    expect(matchCause(file('etc/hosts', 'content', 1, 2), catalogue)?.id).toBe('first');
    expect(matchCause(config('/x', 1, 2), catalogue)?.id).toBe('first');
    expect(matchCause(file('etc/passwd', 'content', 1, 2), catalogue)?.id).toBe('second');
    expect(matchCause(file('srv/x', 'content', 1, 2), catalogue)).toBeNull();
  });

  it("fills the cause and the entry's fix as the hint", () => {
    const difference = explainDifference(file('etc/passwd', 'content', 1, 2), catalogue);
    expect(difference).toMatchObject({ cause: { id: 'second', title: 'second' }, hint: 'fix two' });
  });
});

describe('CauseMatcher', () => {
  it('finds what matchCause finds, for every kind and attribute against the built-in catalogue', () => {
    const files = ['var/log/dpkg.log', 'etc/shadow', 'usr/lib/python3/x.pyc', 'app/main.js', 'var/lib/apt/lists/a'];
    const values: [unknown, unknown][] = [[1, 2], [0o644, 0o664], [0o755, 0o700], ['0644', '0664'], [null, 'x'], ['a', 'b']];
    const pointers = ['/created', '/history/2/created', '/config/Env/1', '/rootfs/diff_ids/0', '/config/Hostname', '/x'];
    const differences: Difference[] = [];
    for (const kind of differenceKinds) {
      for (const [a, b] of values) {
        if (kind === 'file-attribute') {
          for (const attribute of fileAttributes) for (const path of files) differences.push({ ...file(path, attribute, a, b), ...(attribute === 'pax' ? { key: 'atime' } : {}) } as Difference);
        } else if (kind === 'file-added' || kind === 'file-removed') {
          for (const path of files) differences.push({ kind, path: `layers/0/${path}`, file: path, layer: 0, a, b, neutralized: false, cause: null } as Difference);
        } else {
          for (const pointer of pointers) differences.push({ kind, path: pointer, a, b, neutralized: false, cause: null } as Difference);
        }
      }
    }
    const matcher = new CauseMatcher(causeCatalogue);
    const found = differences.map((difference) => matcher.match(difference)?.id ?? null);
    expect(found).toEqual(differences.map((difference) => matchCause(difference)?.id ?? null));
    // Not a vacuous agreement: many causes among them, and some differences no entry explains.
    expect(new Set(found).size).toBeGreaterThan(10);
    expect(found).toContain(null);
  });

  it('keeps catalogue order across selectors with and without kinds', () => {
    const catalogue: CauseEntry[] = [
      { id: 'modes', title: 'modes', fix: '', selectors: [{ kinds: ['file-attribute'], attributes: ['mode'] }] },
      { id: 'etc', title: 'etc', fix: '', selectors: [{ paths: ['etc/*'] }] },
      { id: 'mtimes', title: 'mtimes', fix: '', selectors: [{ attributes: ['mtime'] }] },
    ];
    const matcher = new CauseMatcher(catalogue);
    expect(matcher.match(file('etc/a', 'mode', 1, 2))?.id).toBe('modes');
    expect(matcher.match(file('etc/a', 'mtime', 1, 2))?.id).toBe('etc');
    expect(matcher.match(file('srv/a', 'mtime', 1, 2))?.id).toBe('mtimes');
    expect(matcher.match(config('/a', 1, 2))).toBeNull();
    expect(explainDifference(file('srv/a', 'mtime', 1, 2), matcher)).toMatchObject({ cause: { id: 'mtimes' } });
  });
});
