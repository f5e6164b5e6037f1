import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainDifferences } from '../../src/causes/match.js';
import { ExitCode, OciReproError } from '../../src/errors.js';
import { type Policy, applyPolicy, decideGate, loadPolicy, matchRule, parsePolicy } from '../../src/gate/policy.js';
import type { Difference } from '../../src/diff/model.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oci-repro-policy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function file(layer: number, path: string, attribute: Difference['attribute'], neutralized = false): Difference {
  return { kind: 'file-attribute', path: `layers/${layer}/${path}#${attribute}`, layer, file: path, attribute, a: 1, b: 2, neutralized, cause: null } as Difference;
}

const differences = explainDifferences([
  file(1, 'var/log/apt/history.log', 'content'),
  file(1, 'var/log/apt/history.log', 'mtime', true),
  file(1, 'usr/lib/python3.11/__pycache__/ssl.cpython-311.pyc', 'content'),
  file(1, 'usr/local/bin/entrypoint.sh', 'mode'),
  { kind: 'config-field', path: '/config/Labels/build-url', a: 'https://ci/1', b: 'https://ci/2', neutralized: false, cause: null },
]);

const yamlPolicy = `# accepted until the base image drops them
version: 1
accept:
  - paths: ['/var/log/apt/**']
    reason: apt logs, removed in the next base image
  - causes: [pyc-header]
    kinds: [file-attribute]
    reason: bytecode is rebuilt at start-up
  - pointers: ['/config/Labels/build-url']
    reason: the CI job URL is informative
`;

async function expectUsageError(promise: Promise<unknown>, ...fragments: string[]): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OciReproError);
  const ociError = error as OciReproError;
  expect(ociError.exitCode).toBe(ExitCode.usage);
  for (const fragment of fragments) expect(ociError.line).toContain(fragment);
}

describe('loadPolicy', () => {
  it('reads YAML and JSON to the same policy', async () => {
    const yamlFile = join(dir, 'policy.yaml');
    const jsonFile = join(dir, 'policy.json');
    await writeFile(yamlFile, yamlPolicy);
    const fromYaml = await loadPolicy(yamlFile);
    await writeFile(jsonFile, JSON.stringify({ version: 1, accept: fromYaml.accept }));
    const fromJson = await loadPolicy(jsonFile);
    expect(fromYaml.accept).toEqual([
      { paths: ['/var/log/apt/**'], reason: 'apt logs, removed in the next base image' },
      { causes: ['pyc-header'], kinds: ['file-attribute'], reason: 'bytecode is rebuilt at start-up' },
      { pointers: ['/config/Labels/build-url'], reason: 'the CI job URL is informative' },
    ]);
    expect(fromJson.accept).toEqual(fromYaml.accept);
    expect(fromYaml.source).toBe(yamlFile);
  });

  it('is exit 4 for a missing file', async () => {
    const error = await loadPolicy(join(dir, 'missing.yaml')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OciReproError);
    expect((error as OciReproError).exitCode).toBe(ExitCode.unavailable);
    expect((error as OciReproError).message).toContain('missing.yaml');
  });

  it.each([
    ['a rule without a reason', 'version: 1\naccept:\n  - paths: [tmp/**]\n', 'accept[0].reason', 'required'],
    ['an empty reason', 'version: 1\naccept:\n  - paths: [tmp/**]\n    reason: "  "\n', 'accept[0].reason'],
    ['a rule with only a reason', 'version: 1\naccept:\n  - reason: anything goes\n', 'accept[0]', 'at least one of'],
    ['a wrong version', 'version: 2\naccept: []\n', 'version', 'must be 1'],
    ['no version', 'accept: []\n', 'version'],
    ['no accept list', 'version: 1\n', 'accept', 'required'],
    ['a misspelt rule field', 'version: 1\naccept:\n  - path: [tmp/**]\n    reason: x\n', 'accept[0].path', 'unknown field'],
    ['a misspelt top-level field', 'version: 1\naccepts: []\n', 'accepts', 'unknown field'],
    ['an unknown cause', 'version: 1\naccept:\n  - causes: [apt-log]\n    reason: x\n', 'accept[0].causes[0]', 'unknown cause "apt-log"'],
    ['an unknown kind', 'version: 1\naccept:\n  - kinds: [file-changed]\n    reason: x\n', 'accept[0].kinds[0]', 'unknown kind'],
    ['a string for a list', 'version: 1\naccept:\n  - paths: tmp/**\n    reason: x\n', 'accept[0].paths', 'list'],
    ['an empty list', 'version: 1\naccept:\n  - paths: []\n    reason: x\n', 'accept[0].paths'],
    ['a list for the document', '- 1\n', 'expected a mapping'],
    ['an empty document', '', 'expected a mapping'],
    ['broken YAML', 'version: 1\naccept: [\n', 'not valid YAML'],
    ['an unbalanced [ in a path glob', "version: 1\naccept:\n  - paths: ['tmp/**', '*.py[co']\n    reason: x\n", 'accept[0].paths[1]', 'unbalanced "["', '"*.py[co"'],
    ['a [ closed only in the next segment', "version: 1\naccept:\n  - paths: ['a[b/c]d']\n    reason: x\n", 'accept[0].paths[0]', 'unbalanced "["'],
    ['an unbalanced { in a pointer glob', "version: 1\naccept:\n  - pointers: ['/config/Labels/{a,b']\n    reason: x\n", 'accept[0].pointers[0]', 'unbalanced "{"'],
    ['nested braces', "version: 1\naccept:\n  - paths: ['{a,{b,c}}']\n    reason: x\n", 'accept[0].paths[0]', 'nested "{"'],
    ['a backwards range', "version: 1\naccept:\n  - paths: ['x[z-a]']\n    reason: x\n", 'accept[0].paths[0]', 'bad range'],
  ])('rejects %s with exit 2, naming the file and field', async (_name, text, ...fragments) => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, text);
    await expectUsageError(loadPolicy(path), path, ...fragments);
    // One line, as the CLI prints it.
    const error = (await loadPolicy(path).catch((caught: unknown) => caught)) as OciReproError;
    expect(error.line).not.toContain('\n');
  });

  it('rejects broken JSON with exit 2', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, '{"version": 1, "accept": [}');
    await expectUsageError(loadPolicy(path), path, 'not valid JSON');
  });
});

describe('globs with classes and braces', () => {
  it('accepts what `*.py[co]`, `[!x]`, `[a-z]` and `{a,b}` describe, and nothing else', () => {
    const policy = parsePolicy(
      `version: 1
accept:
  - paths: ['*.py[co]']
    reason: bytecode
  - paths: ['{var/log,tmp}/**', 'etc/[!p]*', 'opt/v[0-9].txt']
    reason: volatile
  - pointers: ['/config/Labels/{build-url,build-id}']
    reason: CI data
`,
      'globs.yaml',
    );
    const accepted = (difference: Difference) => applyPolicy([difference], policy)[0]?.accepted?.rule ?? null;
    expect(accepted(file(1, 'usr/lib/a.pyc', 'content'))).toBe('accept[0]');
    expect(accepted(file(1, 'usr/lib/a.pyo', 'content'))).toBe('accept[0]');
    expect(accepted(file(1, 'usr/lib/a.pyx', 'content'))).toBeNull();
    expect(accepted(file(1, 'usr/lib/a.py', 'content'))).toBeNull();
    expect(accepted(file(1, 'var/log/x.log', 'content'))).toBe('accept[1]');
    expect(accepted(file(1, 'tmp/a/b', 'content'))).toBe('accept[1]');
    expect(accepted(file(1, 'var/tmp/a', 'content'))).toBeNull();
    expect(accepted(file(1, 'etc/hosts', 'content'))).toBe('accept[1]');
    expect(accepted(file(1, 'etc/passwd', 'content'))).toBeNull();
    expect(accepted(file(1, 'opt/v7.txt', 'content'))).toBe('accept[1]');
    expect(accepted(file(1, 'opt/vx.txt', 'content'))).toBeNull();
    const label = (name: string): Difference => ({ kind: 'config-field', path: `/config/Labels/${name}`, a: '1', b: '2', neutralized: false, cause: null });
    expect(accepted(label('build-id'))).toBe('accept[2]');
    expect(accepted(label('build-url'))).toBe('accept[2]');
    expect(accepted(label('build-host'))).toBeNull();
  });
});

describe('applyPolicy', () => {
  it('marks accepted differences with the rule and its reason, and keeps them listed', () => {
    const policy = parsePolicy(yamlPolicy, 'policy.yaml');
    const result = applyPolicy(differences, policy);
    expect(result).toHaveLength(differences.length);
    expect(result.map((difference) => difference.accepted?.rule ?? null)).toEqual([
      'accept[0]',
      null, // neutralized: needs no acceptance
      'accept[1]',
      null, // a mode change no rule names
      'accept[2]',
    ]);
    expect(result[0]?.accepted?.reason).toBe('apt logs, removed in the next base image');
    expect(differences.every((difference) => difference.accepted === undefined)).toBe(true);
  });

  it('uses the first matching rule', () => {
    const policy: Policy = {
      version: 1,
      source: null,
      accept: [
        { paths: ['var/log/**'], reason: 'first' },
        { causes: ['apt-logs'], reason: 'second' },
      ],
    };
    expect(applyPolicy(differences, policy)[0]?.accepted).toEqual({ reason: 'first', rule: 'accept[0]' });
  });

  it('needs every field of a rule to match', () => {
    const difference = differences[0] as Difference;
    expect(matchRule({ paths: ['var/log/apt/*'], causes: ['apt-logs'], reason: 'x' }, difference)).toBe(true);
    expect(matchRule({ paths: ['var/log/apt/*'], causes: ['pyc-header'], reason: 'x' }, difference)).toBe(false);
    expect(matchRule({ paths: ['var/log/apt/*'], kinds: ['file-added'], reason: 'x' }, difference)).toBe(false);
    // paths are about files, pointers about config and manifest fields.
    expect(matchRule({ pointers: ['/**'], reason: 'x' }, difference)).toBe(false);
    expect(matchRule({ paths: ['**'], reason: 'x' }, differences[4] as Difference)).toBe(false);
    // A cause rule never accepts an unknown difference.
    expect(matchRule({ causes: ['apt-logs'], reason: 'x' }, differences[3] as Difference)).toBe(false);
  });
});

describe('decideGate', () => {
  const accepted = applyPolicy(differences, parsePolicy(yamlPolicy, 'policy.yaml'));
  const allAccepted = accepted.filter((difference) => difference.file !== 'usr/local/bin/entrypoint.sh');

  it('passes identical images, even strict', () => {
    expect(decideGate({ verdict: 'identical', differences: [], strict: true })).toEqual({ passed: true, reason: 'the images are identical' });
  });

  it('passes reproducible images unless strict', () => {
    const neutralized = [file(0, 'a', 'mtime', true), file(0, 'b', 'mtime', true)];
    expect(decideGate({ verdict: 'reproducible', differences: neutralized, strict: false })).toEqual({
      passed: true,
      reason: 'the images are equal after normalization (2 neutralized differences)',
    });
    const strict = decideGate({ verdict: 'reproducible', differences: neutralized, strict: true });
    expect(strict.passed).toBe(false);
    expect(strict.reason).toContain('strict');
  });

  it('fails not-reproducible images with what blocks', () => {
    const decision = decideGate({ verdict: 'not-reproducible', differences: accepted, strict: false });
    expect(decision).toEqual({
      passed: false,
      reason: '1 difference remains after normalization (3 more accepted by policy; 1 with no known cause)',
    });
  });

  it('passes a not-reproducible verdict when the policy accepts every remaining difference', () => {
    expect(decideGate({ verdict: 'not-reproducible', differences: allAccepted, strict: false })).toEqual({
      passed: true,
      reason: 'not reproducible, but all 3 remaining differences are accepted by policy',
    });
    // Strict asks for identical images: a policy does not change that.
    expect(decideGate({ verdict: 'not-reproducible', differences: allAccepted, strict: true }).passed).toBe(false);
  });

  it('never passes a not-reproducible verdict with nothing to show', () => {
    const decision = decideGate({ verdict: 'not-reproducible', differences: [file(0, 'a', 'mtime', true)], strict: false });
    expect(decision.passed).toBe(false);
    expect(decision.reason).toContain('no remaining difference');
  });
});
