import { describe, expect, it } from 'vitest';
import { parseSelector, SelectorError } from '../../src/causes/selectors.js';

function problem(raw: unknown, context = {}): SelectorError {
  try {
    parseSelector(raw, 'causes[0].selectors[0]', context);
  } catch (error) {
    if (error instanceof SelectorError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('parseSelector', () => {
  it('keeps every field of a valid selector, and only those', () => {
    const raw = {
      kinds: ['file-attribute'],
      attributes: ['mode'],
      keys: ['security.capability'],
      paths: ['usr/bin/*'],
      pointers: ['/config/Env/*'],
      values: '^x$',
      modeBits: 0o022,
      predicate: 'one-side-absent',
    };
    expect(parseSelector(raw, 'at')).toEqual(raw);
    expect(parseSelector({ causes: ['apt-logs'], reason: 'r' }, 'at', { knownCauses: new Set(['apt-logs']), otherFields: ['reason'] })).toEqual({
      causes: ['apt-logs'],
    });
  });

  it.each<[string, unknown, string, string]>([
    ['a list for the selector', ['paths'], 'causes[0].selectors[0]', 'expected a mapping'],
    ['no field at all', {}, 'causes[0].selectors[0]', 'give at least one of'],
    ['an unknown field', { path: ['x'] }, 'causes[0].selectors[0].path', 'unknown field'],
    ['a string for a list', { paths: 'x' }, 'causes[0].selectors[0].paths', 'non-empty list'],
    ['an empty list', { kinds: [] }, 'causes[0].selectors[0].kinds', 'non-empty list'],
    ['an empty item', { keys: [''] }, 'causes[0].selectors[0].keys[0]', 'non-empty string'],
    ['an unknown kind', { kinds: ['file-changed'] }, 'causes[0].selectors[0].kinds[0]', 'unknown kind "file-changed"'],
    ['an unknown attribute', { attributes: ['perm'] }, 'causes[0].selectors[0].attributes[0]', 'unknown attribute "perm"'],
    ['a bad glob', { pointers: ['/a/{b,c'] }, 'causes[0].selectors[0].pointers[0]', 'unbalanced "{"'],
    ['a bad regular expression', { values: 'a(' }, 'causes[0].selectors[0].values', 'not a regular expression'],
    ['mode bits as a string', { modeBits: '022' }, 'causes[0].selectors[0].modeBits', 'mode bits'],
    ['mode bits out of range', { modeBits: 0o10000000 }, 'causes[0].selectors[0].modeBits', 'mode bits'],
    ['an unknown predicate', { predicate: 'zero-value' }, 'causes[0].selectors[0].predicate', 'unknown predicate "zero-value"'],
    // A cause entry cannot select by cause: its own cause is what it decides.
    ['causes in a cause entry', { causes: ['apt-logs'] }, 'causes[0].selectors[0].causes', 'unknown field'],
  ])('refuses %s, naming the field', (_name, raw, field, text) => {
    const error = problem(raw);
    expect(error.field).toBe(field);
    expect(error.message).toContain(text);
  });

  it('refuses a cause id the context does not know', () => {
    const error = problem({ causes: ['apt-log'] }, { knownCauses: new Set(['apt-logs']) });
    expect(error.field).toBe('causes[0].selectors[0].causes[0]');
    expect(error.hint).toContain('apt-logs');
  });
});
