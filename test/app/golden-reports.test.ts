/**
 * What users see: the four report formats of real image pairs, through the CLI, against goldens in
 * golden/verify/. The pairs are built in code with fixed times and a machine-independent gzip, and the
 * CLI runs from the pairs' directory with relative references, so the reports hold no temp paths;
 * the one machine-dependent value left, the tool version, is fixed by `withFixedToolVersion`.
 * golden/verify/*.json are also checked against schema/report.schema.json by test/report/schema.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/model.js';
import { toolVersion } from '../../src/version.js';
import { checkGolden } from '../helpers/golden.js';
import { TempDir } from '../helpers/images.js';
import { skipWithoutTools } from '../helpers/real-tools.js';
import { writeImagePairs, writeManyChangesPair, type ImagePair, type PairName } from './fixtures.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { findCutMarkdown } from '../helpers/markdown.js';

const formats = { text: 'txt', markdown: 'md', junit: 'xml', json: 'json', html: 'html' } as const;
type Format = keyof typeof formats;
const goldenPairs: { name: PairName; code: number }[] = [
  { name: 'reproducible', code: 0 },
  { name: 'not-reproducible', code: 1 },
  { name: 'layer-count', code: 1 },
  { name: 'many-mtimes', code: 1 },
  { name: 'scratch-docker', code: 0 },
  { name: 'scratch-oci', code: 0 },
];
/** GitHub refuses comments longer than this many characters. */
const githubCommentLimit = 65536;

/**
 * The tool version is the one value in the reports that changes without the images changing (each
 * release): replaced by a fixed name where JSON and JUnit carry it, exactly once. Text and markdown
 * do not show it.
 */
function withFixedToolVersion(output: string, format: Format): string {
  const places: Partial<Record<Format, [string, string]>> = {
    json: [`"name": "oci-repro",\n    "version": ${JSON.stringify(toolVersion)}`, `"name": "oci-repro",\n    "version": "VERSION"`],
    junit: [`<property name="tool.version" value="${toolVersion}"/>`, '<property name="tool.version" value="VERSION"/>'],
  };
  const place = places[format];
  if (!place) return output;
  const [found, fixed] = place;
  expect(output.split(found), `the tool version in the ${format} report`).toHaveLength(2);
  return output.replace(found, fixed);
}

let dir: TempDir;
let pairs: Record<PairName, ImagePair>;
// One spawn per pair and format (each costs about a second of CPU: oclif start-up), shared by the tests.
const runs = new Map<string, Promise<CliRun>>();
const key = (pair: PairName, format: Format) => `${pair}.${formats[format]}`;
function output(pair: PairName, format: Format): Promise<CliRun> {
  if (!runs.has(key(pair, format))) {
    runs.set(key(pair, format), runCli(['verify', pairs[pair].a, pairs[pair].b, '--format', format], { cwd: dir.path }));
  }
  return runs.get(key(pair, format))!;
}
const allFormats = Object.keys(formats) as Format[];

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-verify-golden-');
  pairs = await writeImagePairs(dir);
});
afterAll(async () => dir?.remove());

describe.each(goldenPairs)('verify $name', ({ name, code }) => {
  it.for(allFormats)('%s matches golden/verify', async (format, context) => {
    const run = await output(name, format);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(code);
    const actual = withFixedToolVersion(run.stdout, format);
    const golden = await checkGolden(`verify/${key(name, format)}`, actual, (note) => context.skip(note));
    expect(actual).toBe(golden);
  });

  it('holds nothing machine-dependent: no temp path, no ANSI escape', async () => {
    for (const format of allFormats) {
      const { stdout } = await output(name, format);
      expect(stdout).not.toContain(dir.path);
      expect(stdout).not.toContain(tmpdir());
      expect(stdout).not.toMatch(/\u001b\[/);
    }
  });

  it('json: one document with schemaVersion 1, the same verdict as the exit code', async () => {
    const report = JSON.parse((await output(name, 'json')).stdout) as Report;
    expect(report.schemaVersion).toBe(1);
    expect(report.passed).toBe(code === 0);
    expect(report.a.reference).toBe(pairs[name].a);
  });

  it('junit: well-formed (xmllint), one testcase for the gate, the config and each layer', async (context) => {
    if (skipWithoutTools('xmllint')) context.skip('xmllint not installed (Debian: libxml2-utils)');
    const xml = (await output(name, 'junit')).stdout;
    execFileSync('xmllint', ['--noout', '-'], { input: xml });
    const report = JSON.parse((await output(name, 'json')).stdout) as Report;
    const names = [...xml.matchAll(/<testcase classname="[^"]*" name="([^"]*)"/g)].map((match) => match[1]);
    const layerNames = report.layers.map((layer) => `layer ${layer.index}${layer.step ? `: ${layer.step.replace(/&/g, '&amp;')}` : ''}`);
    // A flattened comparison adds a testcase for the filesystem when files differ there.
    expect(names.filter((testcase) => testcase !== 'flattened filesystem')).toEqual(['gate', 'config', ...layerNames]);
    if (!report.flattened) expect(names).not.toContain('flattened filesystem');
    const failures = Number(/<testsuite [^>]*failures="(\d+)"/.exec(xml)?.[1]);
    expect(failures).toBe(xml.match(/<failure /g)?.length ?? 0);
    expect(failures > 0).toBe(!report.passed);
  });
});

describe('the text report of different layer counts', () => {
  it('says the files were compared on the flattened filesystems', async () => {
    expect((await output('layer-count', 'text')).stdout).toContain('layer counts differ: files were compared on the flattened filesystems');
  });
});

describe('neutralized differences beyond the cap', () => {
  it('are counted in the JSON report, and --all-differences lists every one', async () => {
    const capped = JSON.parse((await output('many-mtimes', 'json')).stdout) as Report;
    const run = await runCli(['verify', pairs['many-mtimes'].a, pairs['many-mtimes'].b, '--format', 'json', '--all-differences'], { cwd: dir.path });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const all = JSON.parse(run.stdout) as Report;
    const mtimes = (report: Report) => report.differences.filter((difference) => difference.cause?.id === 'file-mtime').length;
    // 45 files and their 2 directories; the capped report lists 20 and counts the rest.
    expect(mtimes(all)).toBe(47);
    expect(all.omitted).toBeUndefined();
    expect(mtimes(capped)).toBe(20);
    expect(capped.omitted).toEqual([{ scope: 'layers/1', cause: 'file-mtime', count: 27 }]);
    expect(capped.summary).toEqual(all.summary);
    expect([capped.passed, capped.reason]).toEqual([all.passed, all.reason]);
  });
});

describe('markdown for a pull-request comment', () => {
  it(`stays under GitHub's ${githubCommentLimit}-character limit with 5000 changed files`, async () => {
    const pair = await writeManyChangesPair(dir, 5000);
    const run = await runCli(['verify', pair.a, pair.b, '--format', 'markdown'], { cwd: dir.path });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    expect(Buffer.byteLength(run.stdout, 'utf8')).toBeLessThan(githubCommentLimit);
    // Cut, and saying so, not silently: some diffs shown, the rest pointed to.
    expect(run.stdout).toContain('data/00/file-00000.txt');
    expect(run.stdout).toMatch(/… and [\d,]+ more differences not shown .*--format json/);
    // Trimmed between whole rows and items: no table, fence or <details> cut in the middle.
    expect(findCutMarkdown(run.stdout)).toEqual([]);
  }, 60_000);
});
