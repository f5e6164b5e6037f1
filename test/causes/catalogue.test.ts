import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { causeCatalogue, parseCauseEntries } from '../../src/causes/catalogue.js';
import { SelectorError } from '../../src/causes/selectors.js';

const entry = (extra: Record<string, unknown> = {}) => ({ id: 'my-cause', title: 'mine', fix: 'do this', selectors: [{ paths: ['opt/x'] }], ...extra });

function problem(raw: unknown, taken?: Set<string>): SelectorError {
  try {
    parseCauseEntries(raw, 'causes', taken);
  } catch (error) {
    if (error instanceof SelectorError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('the built-in catalogue', () => {
  it('is the data file, in its order, every entry with id, title, fix and selectors', async () => {
    const data = parseYaml(await readFile(new URL('../../src/causes/catalogue.yaml', import.meta.url), 'utf8')) as { id: string }[];
    expect(causeCatalogue.map((cause) => cause.id)).toEqual(data.map((cause) => cause.id));
    expect(causeCatalogue.length).toBeGreaterThan(30);
    for (const cause of causeCatalogue) expect(Object.keys(cause).sort()).toEqual(['fix', 'id', 'selectors', 'title']);
  });

  it('references its predicates by name', () => {
    const named = causeCatalogue.flatMap((cause) => cause.selectors.map((selector) => selector.predicate).filter(Boolean));
    expect(new Set(named)).toEqual(new Set(['zero-values', 'one-side-absent', 'differs-only-in-content-hash', 'set-by-changed-step', 'differs-only-in-go-build-id']));
  });
});

describe('parseCauseEntries', () => {
  it('reads entries, trimming title and fix', () => {
    expect(parseCauseEntries([entry({ title: ' mine ' })], 'causes')).toEqual([
      { id: 'my-cause', title: 'mine', fix: 'do this', selectors: [{ paths: ['opt/x'] }] },
    ]);
  });

  it.each<[string, unknown, string, string]>([
    ['a mapping for the list', entry(), 'causes', 'expected a list'],
    ['a string for an entry', ['x'], 'causes[0]', 'expected a mapping'],
    ['an unknown field', [entry({ hint: 'x' })], 'causes[0].hint', 'unknown field'],
    ['an id that is not kebab-case', [entry({ id: 'My_Cause' })], 'causes[0].id', 'kebab-case'],
    ['the reserved id', [entry({ id: 'unknown' })], 'causes[0].id', 'reserved'],
    ['a repeated id', [entry(), entry()], 'causes[1].id', 'already defined'],
    ['no title', [entry({ title: undefined })], 'causes[0].title', 'required'],
    ['an empty fix', [entry({ fix: ' ' })], 'causes[0].fix', 'required'],
    ['no selectors', [entry({ selectors: [] })], 'causes[0].selectors', 'non-empty list'],
    ['a bad selector', [entry({ selectors: [{ paths: ['x'] }, { kinds: ['nope'] }] })], 'causes[0].selectors[1].kinds[0]', 'unknown kind'],
  ])('refuses %s, naming the entry', (_name, raw, field, text) => {
    const error = problem(raw);
    expect(error.field).toBe(field);
    expect(error.message).toContain(text);
  });

  it('refuses an id already taken by the entries before (a policy cannot redefine a built-in cause)', () => {
    expect(problem([entry({ id: 'apt-logs' })], new Set(['apt-logs'])).message).toContain('"apt-logs" is already defined');
  });
});
