// The pairs file: every malformed entry is one line naming the file and the entry, exit 2.
import { describe, expect, it } from 'vitest';
import { parsePairs } from '../../src/fleet/pairs-file.js';
import { OciReproError } from '../../src/errors.js';

function errorOf(text: string, file = 'fleet.yaml'): OciReproError {
  try {
    parsePairs(text, file);
  } catch (error) {
    if (error instanceof OciReproError) return error;
    throw error;
  }
  throw new Error('parsePairs accepted the file');
}

describe('parsePairs', () => {
  it('reads a YAML list, numbering the entries from 0', () => {
    const pairs = parsePairs('- {name: web, a: a.tar, b: b.tar}\n- {name: api, a: c.tar, expect: "sha256:00", platform: linux/arm64, policy: p.yaml}\n', 'fleet.yaml');
    expect(pairs).toEqual([
      { index: 0, name: 'web', a: 'a.tar', b: 'b.tar' },
      { index: 1, name: 'api', a: 'c.tar', expect: 'sha256:00', platform: 'linux/arm64', policy: 'p.yaml' },
    ]);
  });

  it('reads JSON for a .json file, and an empty list', () => {
    expect(parsePairs('[{"name": "web", "a": "a.tar", "b": "b.tar"}]', 'fleet.json')).toHaveLength(1);
    expect(parsePairs('[]', 'fleet.json')).toEqual([]);
  });

  it.each([
    ['{name: web}', /^pairs fleet\.yaml: expected a list of pairs/],
    ['- {a: a.tar, b: b.tar}', /^pairs fleet\.yaml: entry 0: missing name$/],
    ['- {name: web, a: a.tar, b: b.tar}\n- {name: api, b: b.tar}', /^pairs fleet\.yaml: entry 1 \("api"\): missing a$/],
    ['- {name: web, a: a.tar, b: b.tar, platfrom: linux/amd64}', /^pairs fleet\.yaml: entry 0 \("web"\): unknown field "platfrom"$/],
    ['- {name: web, a: a.tar, b: 3}', /^pairs fleet\.yaml: entry 0 \("web"\): b: must be a string$/],
    ['- {name: "", a: a.tar, b: b.tar}', /^pairs fleet\.yaml: entry 0 \(""\): name is empty$/],
    ['- web', /^pairs fleet\.yaml: entry 0: must be an object/],
    ['- {name: web, a: a.tar}', /^pairs fleet\.yaml: entry 0 \("web"\): needs b \(the second build\) or expect/],
    ['- {name: web, a: a.tar, b: b.tar, expect: "sha256:00"}', /^pairs fleet\.yaml: entry 0 \("web"\): give either b or expect, not both$/],
    ['- {name: web, a: a.tar, b: b.tar}\n- {name: web, a: c.tar, b: d.tar}', /^pairs fleet\.yaml: entry 1 \("web"\): the name is also entry 0's/],
    ['- {name: web, a: a.tar, b: b.tar, platform: amd64}', /^pairs fleet\.yaml: entry 0 \("web"\): platform "amd64" is not os\/arch/],
    ['- {name: web, a: [a.tar', /^pairs fleet\.yaml: not valid YAML: /],
  ])('refuses %j, naming the file and the entry (exit 2)', (text, message) => {
    const error = errorOf(text);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(message);
    expect(error.line).not.toContain('\n');
  });

  it('says JSON for a .json file that is not JSON', () => {
    expect(errorOf('[{"name": "web",', 'fleet.json').message).toMatch(/^pairs fleet\.json: not valid JSON: /);
  });
});
