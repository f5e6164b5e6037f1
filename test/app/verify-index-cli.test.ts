/**
 * Whole multi-platform indexes through the CLI (bin/run.js over dist/): verify in every format against
 * goldens in golden/verify/two-platform.*, exit codes from the overall verdict, inspect listing the
 * platforms, normalize printing the canonical index digest and writing the normalized index.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexReport } from '../../src/report/index-model.js';
import type { Report } from '../../src/report/model.js';
import { toolVersion } from '../../src/version.js';
import { checkGolden } from '../helpers/golden.js';
import { singleImageLayout, TempDir } from '../helpers/images.js';
import { skipWithoutTools } from '../helpers/real-tools.js';
import { validateReport } from '../helpers/report-schema.js';
import { type ImagePair } from './fixtures.js';
import { indexPairNames, platformImage, writeIndexPair, type IndexPairName } from './index-fixtures.js';
import { runCli, type CliRun } from '../helpers/cli.js';

const T = { timeout: 60_000 };
const formats = { text: 'txt', markdown: 'md', junit: 'xml', json: 'json', html: 'html' } as const;
type Format = keyof typeof formats;

let dir: TempDir;
const pairs = {} as Record<IndexPairName, ImagePair>;
const runs = new Map<string, Promise<CliRun>>();
/** One spawn per pair and format, shared by the tests (each costs about a second of CPU). */
function verify(pair: IndexPairName, format: Format): Promise<CliRun> {
  const key = `${pair}.${format}`;
  if (!runs.has(key)) runs.set(key, runCli(['verify', pairs[pair].a, pairs[pair].b, '--format', format], { cwd: dir.path }));
  return runs.get(key)!;
}

/** The tool version changes with each release, not with the images: fixed where JSON and JUnit carry it. */
function withFixedToolVersion(output: string, format: Format): string {
  if (format === 'json') return output.replaceAll(`"version": ${JSON.stringify(toolVersion)}`, '"version": "VERSION"');
  if (format === 'junit') return output.replaceAll(`<property name="tool.version" value="${toolVersion}"/>`, '<property name="tool.version" value="VERSION"/>');
  return output;
}

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-indexes-cli-');
  for (const name of indexPairNames) pairs[name] = await writeIndexPair(dir, name);
  await dir.writeArchive('single.tar', singleImageLayout(await platformImage('amd64', new Date('2024-03-01T10:00:00Z'))));
});
afterAll(async () => dir?.remove());

describe('verify two-platform (linux/amd64 reproducible, linux/arm64 not)', () => {
  it.for(Object.keys(formats) as Format[])('%s matches golden/verify/two-platform', T, async (format, context) => {
    const run = await verify('two-platform', format);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    const actual = withFixedToolVersion(run.stdout, format);
    expect(actual).not.toContain(dir.path);
    const golden = await checkGolden(`verify/two-platform.${formats[format]}`, actual, (note) => context.skip(note));
    expect(actual).toBe(golden);
  });

  it('json: an index report the schema accepts, each platform with its image report', T, async () => {
    const report = JSON.parse((await verify('two-platform', 'json')).stdout) as IndexReport;
    expect(validateReport(report)).toEqual([]);
    expect([report.kind, report.verdict, report.passed]).toEqual(['index', 'not-reproducible', false]);
    expect(report.platforms.map((p) => [p.platform, p.verdict])).toEqual([
      ['linux/amd64', 'reproducible'],
      ['linux/arm64', 'not-reproducible'],
    ]);
    // The schema refuses a platform on both sides without its report.
    const broken = structuredClone(report) as unknown as { platforms: { report: unknown }[] };
    broken.platforms[0]!.report = null;
    expect(validateReport(broken).join('\n')).toContain('/platforms/0/report');
  });

  it('junit: well-formed, one testsuite per platform, failures only in the failing one', T, async (context) => {
    const xml = (await verify('two-platform', 'junit')).stdout;
    if (skipWithoutTools('xmllint')) context.skip('xmllint not installed');
    execFileSync('xmllint', ['--noout', '-'], { input: xml });
    const suites = [...xml.matchAll(/<testsuite name="oci-repro verify ([^ ]+) [^"]*" tests="\d+" failures="(\d+)"/g)].map((m) => [m[1], Number(m[2]) > 0]);
    expect(suites).toEqual([
      ['linux/amd64', false],
      ['linux/arm64', true],
    ]);
  });

  it('markdown: the per-platform summary table comes first, then each platform', T, async () => {
    const md = (await verify('two-platform', 'markdown')).stdout;
    const table = md.indexOf('| Platform | Verdict | Canonical A | Canonical B |');
    expect(table).toBeGreaterThan(0);
    expect(md.indexOf('## linux/amd64:')).toBeGreaterThan(table);
    expect(md.indexOf('## linux/arm64:')).toBeGreaterThan(md.indexOf('## linux/amd64:'));
  });
});

describe('verify exit codes of index pairs', () => {
  it.each<[IndexPairName, number, string]>([
    ['reproducible', 0, 'REPRODUCIBLE (EQUAL AFTER NORMALIZATION) (2 platforms), gate passed'],
    ['attestation', 0, 'attestations       2 (not compared)     2 (not compared)'],
    ['one-sided', 1, 'only in A: linux/arm64'],
  ])('%s exits %i', T, async (pair, code, text) => {
    const run = await verify(pair, 'text');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(code);
    expect(run.stdout).toContain(text);
  });

  it('--platform gives the single-image report of that platform, as before', T, async () => {
    const run = await runCli(['verify', pairs['two-platform'].a, pairs['two-platform'].b, '--platform', 'linux/amd64', '--format', 'json'], { cwd: dir.path });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report).not.toHaveProperty('kind');
    expect(report.a.platform).toBe('linux/amd64');
    expect(validateReport(report)).toEqual([]);
  });

  it('one image against an index of two platforms: exit 2, one line naming the platforms', T, async () => {
    const run = await runCli(['verify', 'oci-archive:single.tar', pairs['two-platform'].b], { cwd: dir.path });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('is an index of 2 platforms (linux/amd64, linux/arm64/v8): choose one with --platform');
  });
});

describe('inspect of an index', () => {
  it('lists the platforms with their manifest digests, attestations marked, exit 0', T, async () => {
    const run = await runCli(['inspect', pairs.attestation.a], { cwd: dir.path });
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toContain('platforms  2 (and 2 attestation manifests, not images)');
    expect(run.stdout).toMatch(/linux\/arm64\/v8 +sha256:[0-9a-f]{64}\n/);
    expect(run.stdout.match(/unknown\/unknown +sha256:[0-9a-f]{64} +attestation/g)).toHaveLength(2);
  });

  it('--json gives the listing as data; --platform the identity chain of that platform', T, async () => {
    const listing = JSON.parse((await runCli(['inspect', pairs.attestation.a, '--json'], { cwd: dir.path })).stdout) as { kind: string; manifests: { attestation: boolean }[] };
    expect(listing.kind).toBe('index');
    expect(listing.manifests.map((m) => m.attestation)).toEqual([false, false, true, true]);
    const one = await runCli(['inspect', pairs.attestation.a, '--platform', 'linux/arm64', '--json'], { cwd: dir.path });
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ platform: 'linux/arm64/v8' });
  });
});

describe('normalize of an index', () => {
  it('prints the canonical index digest, equal for two builds that differ in noise only', T, async () => {
    const [a, b] = await Promise.all([
      runCli(['normalize', pairs.reproducible.a, '--json'], { cwd: dir.path }),
      runCli(['normalize', pairs.reproducible.b, '--json'], { cwd: dir.path }),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const [ra, rb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)] as { kind: string; canonicalDigest: string; index: { digest: string } }[];
    expect(ra!.kind).toBe('index');
    expect(ra!.index.digest).not.toBe(rb!.index.digest);
    expect(ra!.canonicalDigest).toBe(rb!.canonicalDigest);
    const text = await runCli(['normalize', pairs.reproducible.a], { cwd: dir.path });
    expect(text.stdout).toContain(`canonical index   ${ra!.canonicalDigest}`);
  });

  it('--output oci: writes the index; docker-archive: exits 2 and writes nothing', T, async () => {
    const written = await runCli(['normalize', pairs.attestation.a, '--output', 'oci:out-index:v1'], { cwd: dir.path });
    expect([written.code, written.stderr]).toEqual([0, '']);
    expect(written.stdout).toContain('dropped           2 attestation manifests');
    expect(written.stdout).toMatch(/written +oci:out-index:v1 \(oci, OCI image index\)/);
    const inspected = await runCli(['inspect', 'oci:out-index:v1'], { cwd: dir.path });
    expect(inspected.stdout).toContain('platforms  2\n');
    const refused = await runCli(['normalize', pairs.attestation.a, '--output', 'docker-archive:out.tar'], { cwd: dir.path });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('a docker-archive cannot hold a multi-platform index');
    expect(existsSync(dir.join('out.tar'))).toBe(false);
  });
});

describe('verify IDX --expect', () => {
  it('passes against the canonical index digest normalize --json recorded for the other build, else exits 1', T, async () => {
    const recorded = await runCli(['normalize', pairs.reproducible.a, '--json'], { cwd: dir.path });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(dir.join('release.json'), recorded.stdout);
    const pass = await runCli(['verify', pairs.reproducible.b, '--expect', 'release.json'], { cwd: dir.path });
    expect([pass.code, pass.stderr]).toEqual([0, '']);
    expect(pass.stdout).toMatch(/^PASS: .* has the expected canonical index digest sha256:/);
    const fail = await runCli(['verify', pairs['two-platform'].b, '--expect', 'release.json', '--format', 'junit'], { cwd: dir.path });
    expect(fail.code).toBe(1);
    expect(fail.stdout).toMatch(/name="oci-archive:two-platform-b.tar canonical index digest">\n *<failure message="[^"]* has canonical index digest/);
  });
});

describe('colour in the index text report', () => {
  it('only when asked (FORCE_COLOR on a pipe): the failing verdicts in red', T, async () => {
    const plain = await verify('two-platform', 'text');
    expect(plain.stdout).not.toMatch(/\u001b\[/);
    const coloured = await runCli(['verify', pairs['two-platform'].a, pairs['two-platform'].b], { cwd: dir.path, env: { FORCE_COLOR: '1' } });
    expect(coloured.stdout).toContain('\u001b[31mnot reproducible, fails\u001b[39m');
    expect(coloured.stdout.replace(/\u001b\[[0-9;]*m/g, '')).toBe(plain.stdout);
  });
});
