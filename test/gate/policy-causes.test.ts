// A policy's own causes: read with the catalogue's validator, tried before the built-in ones, acceptable by id.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { causeCatalogue } from '../../src/causes/catalogue.js';
import { explainDifferences } from '../../src/causes/match.js';
import { ExitCode, OciReproError } from '../../src/errors.js';
import { applyPolicy, parsePolicy, policyCatalogue } from '../../src/gate/policy.js';
import type { Difference } from '../../src/diff/model.js';

const content = (file: string): Difference => ({
  kind: 'file-attribute',
  path: `layers/1/${file}#content`,
  layer: 1,
  file,
  attribute: 'content',
  a: 'sha256:a',
  b: 'sha256:b',
  neutralized: false,
  cause: null,
});

const policyText = `version: 1
causes:
  - id: app-build-info
    title: the build info file records the CI job
    fix: write it from the commit, not the job
    selectors:
      - paths: ['opt/app/BUILD_INFO']
  - id: our-apt-history
    title: the apt history our base image keeps
    fix: the next base image drops it
    selectors:
      - paths: ['var/log/apt/history.log']
        kinds: [file-attribute]
accept:
  - causes: [app-build-info]
    reason: informative only
`;

describe('policy causes', () => {
  const policy = parsePolicy(policyText, 'policy.yaml');

  it('reads them as catalogue entries', () => {
    expect(policy.causes?.map((cause) => cause.id)).toEqual(['app-build-info', 'our-apt-history']);
    expect(policy.causes?.[0]).toEqual({
      id: 'app-build-info',
      title: 'the build info file records the CI job',
      fix: 'write it from the commit, not the job',
      selectors: [{ paths: ['opt/app/BUILD_INFO'] }],
    });
    // Without causes the built-in catalogue is used as it is.
    expect(policyCatalogue(parsePolicy('version: 1\naccept: []\n', 'p.yaml'))).toBe(causeCatalogue);
    expect(policyCatalogue(undefined)).toBe(causeCatalogue);
  });

  it('explain a difference that had no known cause', () => {
    expect(explainDifferences([content('opt/app/BUILD_INFO')])[0]?.cause).toBeNull();
    const [explained] = explainDifferences([content('opt/app/BUILD_INFO')], policyCatalogue(policy));
    expect(explained).toMatchObject({ cause: { id: 'app-build-info', title: 'the build info file records the CI job' }, hint: 'write it from the commit, not the job' });
  });

  it('win over a built-in cause where both match, and leave the rest to the built-in ones', () => {
    expect(explainDifferences([content('var/log/apt/history.log')])[0]?.cause?.id).toBe('apt-logs');
    const explained = explainDifferences([content('var/log/apt/history.log'), content('var/log/apt/term.log')], policyCatalogue(policy));
    expect(explained.map((difference) => difference.cause?.id)).toEqual(['our-apt-history', 'apt-logs']);
  });

  it('can be accepted by id', () => {
    const explained = explainDifferences([content('opt/app/BUILD_INFO'), content('opt/app/other')], policyCatalogue(policy));
    expect(applyPolicy(explained, policy).map((difference) => difference.accepted?.rule ?? null)).toEqual(['accept[0]', null]);
  });

  it.each([
    ['a cause id that a built-in cause has', "causes:\n  - id: apt-logs\n    title: t\n    fix: f\n    selectors: [{paths: [x]}]\n", 'causes[0].id', 'already defined'],
    ['a cause without a fix', "causes:\n  - id: mine\n    title: t\n    selectors: [{paths: [x]}]\n", 'causes[0].fix', 'required'],
    ['a bad glob in a cause', "causes:\n  - id: mine\n    title: t\n    fix: f\n    selectors: [{paths: ['a[b']}]\n", 'causes[0].selectors[0].paths[0]', 'unbalanced "["'],
    ['an unknown predicate', "causes:\n  - id: mine\n    title: t\n    fix: f\n    selectors: [{predicate: nope}]\n", 'causes[0].selectors[0].predicate', 'unknown predicate'],
    ['causes that are not a list', 'causes: {id: mine}\n', 'causes', 'expected a list'],
    ['accepting a cause the file does not define', 'accept:\n  - causes: [mine]\n    reason: r\n', 'accept[0].causes[0]', 'unknown cause "mine"'],
  ])('refuses %s with exit 2, naming the file and the entry', (_name, body, field, text) => {
    const source = 'ci/policy.yaml';
    const yaml = `version: 1\n${body}${body.includes('accept:') ? '' : 'accept: []\n'}`;
    let caught: unknown;
    try {
      parsePolicy(yaml, source);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OciReproError);
    expect((caught as OciReproError).exitCode).toBe(ExitCode.usage);
    expect((caught as OciReproError).line).toContain(`policy ${source}: ${field}: `);
    expect((caught as OciReproError).line).toContain(text);
  });
});

describe('the README policy example', () => {
  it('is a valid policy whose cause explains and whose rule accepts', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Policy files'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml).toBeDefined();
    const policy = parsePolicy(yaml!, 'README.md');
    const [explained] = explainDifferences([content('opt/app/BUILD_INFO')], policyCatalogue(policy));
    expect(explained?.cause?.id).toBe('app-build-info');
    expect(applyPolicy([explained!], policy)[0]?.accepted?.rule).toBe('accept[0]');
  });
});
