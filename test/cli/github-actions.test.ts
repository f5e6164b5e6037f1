// verify as a GitHub Actions step: workflow-command escaping, the per-kind annotation limit, and the
// real binary with GITHUB_ACTIONS=true appending to a temp $GITHUB_STEP_SUMMARY.
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  annotationsPerKind,
  collectAnnotations,
  escapeData,
  escapeProperty,
  formatAnnotation,
  limitAnnotations,
  type Annotation,
} from '../../src/cli/github-actions.js';
import { writeImagePairs, type ImagePair, type PairName } from '../app/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { TempDir } from '../helpers/images.js';
import { buildFixedReport } from '../report/fixed-report.js';

describe('workflow-command escaping', () => {
  it('escapes % CR LF in data, and also : and , in properties', () => {
    expect(escapeData('50% done\r\nnext: a, b')).toBe('50%25 done%0D%0Anext: a, b');
    expect(escapeProperty('50% done\r\nnext: a, b')).toBe('50%25 done%0D%0Anext%3A a%2C b');
    // % first: an already escaped-looking text stays what it was.
    expect(escapeData('%0A')).toBe('%250A');
  });

  it('formats one line whatever the values hold', () => {
    const line = formatAnnotation({ level: 'error', title: 'layer 1: etc/x, mtime', message: 'a\nb' }, 'docker/Dockerfile:v2');
    expect(line).toBe('::error file=docker/Dockerfile%3Av2,title=layer 1%3A etc/x%2C mtime::a%0Ab');
    expect(line).not.toMatch(/\n/);
    expect(formatAnnotation({ level: 'warning', title: 't', message: 'm' })).toBe('::warning title=t::m');
  });
});

describe('annotations of a report', () => {
  it('remaining differences are errors, accepted ones warnings, neutralized ones none', () => {
    const report = buildFixedReport();
    const annotations = collectAnnotations(report);
    const remaining = report.differences.filter((d) => !d.neutralized && !d.accepted).length;
    const accepted = report.differences.filter((d) => d.accepted).length;
    expect(remaining).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    expect(annotations.filter((a) => a.level === 'error')).toHaveLength(remaining);
    expect(annotations.filter((a) => a.level === 'warning')).toHaveLength(accepted);
    expect(annotations.every((a) => a.title.startsWith('oci-repro: '))).toBe(true);
    // A file's difference names the file, in the title and the message.
    const files = report.differences.filter((d) => !d.neutralized && d.file !== undefined).map((d) => d.file!);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(annotations.some((a) => a.title.includes(file) && a.message.includes(file)), file).toBe(true);
  });

  it('a gate failed with nothing left to point at (strict) still gives one error with the reason', () => {
    const report = { ...buildFixedReport([]), passed: false, reason: 'equal only after normalization, and --strict asks for identical' };
    expect(collectAnnotations(report)).toEqual([{ level: 'error', title: 'oci-repro: not reproducible', message: report.reason }]);
    expect(collectAnnotations({ ...report, passed: true })).toEqual([]);
  });

  it(`keeps at most ${annotationsPerKind} of each kind, the last counting the rest`, () => {
    const make = (level: Annotation['level'], n: number) => Array.from({ length: n }, (_, i) => ({ level, title: `t${i}`, message: `m${i}` }));
    const limited = limitAnnotations([...make('error', 25), ...make('warning', 3)]);
    const errors = limited.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(annotationsPerKind);
    expect(errors.at(-1)!.message).toMatch(/^16 more remaining differences/);
    expect(limited.filter((a) => a.level === 'warning')).toHaveLength(3);
    expect(limitAnnotations(make('error', annotationsPerKind))).toHaveLength(annotationsPerKind);
  });
});

describe('the CLI with GITHUB_ACTIONS=true', { timeout: 120_000 }, () => {
  let dir: TempDir;
  let pairs: Record<PairName, ImagePair>;
  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-gha-');
    pairs = await writeImagePairs(dir);
  });
  afterAll(async () => dir?.remove());

  it('appends the Markdown report to the step summary and prints bounded, escaped annotations on stderr; stdout is the report alone', async () => {
    const { a, b } = pairs['not-reproducible'];
    const summary = dir.join('summary.md');
    await writeFile(summary, '# earlier step\n');
    const outputs = dir.join('outputs.txt');
    const env = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: outputs, OCI_REPRO_ANNOTATION_FILE: 'Dockerfile' };
    const [run, markdown, plain] = await Promise.all([
      runCli(['verify', a, b, '--format', 'junit'], { cwd: dir.path, env }),
      runCli(['verify', a, b, '--format', 'markdown'], { cwd: dir.path, env: { GITHUB_ACTIONS: undefined } }),
      runCli(['verify', a, b, '--format', 'junit'], { cwd: dir.path, env: { GITHUB_ACTIONS: undefined, GITHUB_STEP_SUMMARY: summary } }),
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(plain.stdout);
    expect(plain.stderr).toBe('');
    expect(await readFile(summary, 'utf8')).toBe(`# earlier step\n${markdown.stdout}\n`);
    expect(await readFile(outputs, 'utf8')).toMatch(/^verdict=not-reproducible\npassed=false\ncanonical-digest-a=sha256:[a-f0-9]{64}\ncanonical-digest-b=sha256:[a-f0-9]{64}\n$/);

    const lines = run.stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^::(error|warning) file=Dockerfile,title=oci-repro%3A [^:]*::\S/);
    expect(lines.filter((line) => line.startsWith('::error')).length).toBeLessThanOrEqual(annotationsPerKind);
    expect(lines.filter((line) => line.startsWith('::warning')).length).toBeLessThanOrEqual(annotationsPerKind);
  });

  it('an error (exit 3, 4, ...) is also an error annotation, after the usual line', async () => {
    const run = await runCli(['verify', 'missing-a.tar', 'missing-b.tar'], { cwd: dir.path, env: { GITHUB_ACTIONS: 'true' } });
    expect(run.code).toBe(4);
    const [line, annotation, ...rest] = run.stderr.split('\n');
    expect(line).toMatch(/^oci-repro: error: .*missing-[ab]\.tar/);
    expect(annotation).toMatch(/^::error title=oci-repro%3A exit 4::.*missing-[ab]\.tar/);
    expect(rest).toEqual(['']);
    const plain = await runCli(['verify', 'missing-a.tar', 'missing-b.tar'], { cwd: dir.path });
    // Without the runner: the one line only (which image it names depends on which load fails first).
    expect(plain.stderr).toMatch(/^oci-repro: error: [^\n]*missing-[ab]\.tar[^\n]*\n$/);
  });

  it('a passing gate annotates nothing and still writes the summary', async () => {
    const { a, b } = pairs.reproducible;
    const summary = dir.join('pass.md');
    const run = await runCli(['verify', a, b], { cwd: dir.path, env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary } });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(await readFile(summary, 'utf8')).toMatch(/reproducible/i);
  });
});
