// The CI gate end to end: real image pairs, the real binary, every exit code a pipeline acts on.
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/model.js';
import type { ExpectReport } from '../../src/app/expect.js';
import { TempDir } from '../helpers/images.js';
import { skipWithoutTools } from '../helpers/real-tools.js';
import { writeImagePairs, type ImagePair, type PairName } from './fixtures.js';
import { runCli, runCliInTerminal, type CliRun } from '../helpers/cli.js';
import { validateReport } from '../helpers/report-schema.js';

const ansi = /\u001b\[/;

let dir: TempDir;
let pairs: Record<PairName, ImagePair>;
// Each spawn costs about a second of CPU (oclif start-up): a command line is run once and its result shared.
const runs = new Map<string, Promise<CliRun>>();
const verify = (args: string[]) => {
  const key = JSON.stringify(args);
  if (!runs.has(key)) runs.set(key, runCli(['verify', ...args], { cwd: dir.path }));
  return runs.get(key)!;
};
const verifyPair = (name: PairName, args: string[] = []) => verify([pairs[name].a, pairs[name].b, ...args]);

function parseReport<T = Report>(run: CliRun): T {
  // JSON.parse of all of stdout: exactly one document, nothing before or after it.
  return JSON.parse(run.stdout) as T;
}

/** Exit 0 or 1 is a verdict: the report is on stdout and stderr stays empty (no progress, no warnings). */
function expectVerdict(run: CliRun, code: 0 | 1): void {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(code);
}

/** An error: one line on stderr and nothing on stdout; with --json, one error document on stdout. */
function expectErrorLine(run: CliRun, code: number, pattern: RegExp): void {
  expect(run.code).toBe(code);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^oci-repro: error: [^\n]+\n$/);
  expect(run.stderr).toMatch(pattern);
}
function expectErrorJson(run: CliRun, code: number, pattern: RegExp): void {
  expect(run.code).toBe(code);
  expect(run.stderr).toBe('');
  const { error } = parseReport<{ error: { code: string; message: string; exitCode: number } }>(run);
  expect(error.exitCode).toBe(code);
  expect(error.message).toMatch(pattern);
}

const remaining = (report: Report) => report.differences.filter((difference) => !difference.neutralized);

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-verify-gate-');
  pairs = await writeImagePairs(dir);
});
afterAll(async () => dir?.remove());

describe('verdicts and exit codes', () => {
  it.each<[PairName, 0 | 1, string]>([
    ['identical', 0, 'identical'],
    ['reproducible', 0, 'reproducible'],
    ['not-reproducible', 1, 'not-reproducible'],
    ['layer-count', 1, 'not-reproducible'],
  ])('%s: exit %i', async (name, code, verdict) => {
    const json = await verifyPair(name, ['--json']);
    expectVerdict(json, code);
    expect(parseReport(json)).toMatchObject({ schemaVersion: 1, verdict, passed: code === 0 });
  });

  it('identical: the text report says so (the other verdicts are in golden/verify)', async () => {
    const text = await verifyPair('identical');
    expectVerdict(text, 0);
    // The same config in an oci-archive and a legacy docker-archive (no manifest): decided without a layer.
    expect(text.stdout).toMatch(/^oci-repro verify: IDENTICAL, gate passed\n  the images are identical \(same image ID; layers not read\)\n/);
    expect(text.stdout).not.toMatch(ansi);
  });

  it('reproducible: the pair differs only in neutralized noise, and both sides have one canonical digest', async () => {
    // --verify-blobs: layer 0 (same diff_id on both sides) is read too, so the canonical digests are computed.
    const report = parseReport(await verifyPair('reproducible', ['--json', '--verify-blobs']));
    expect(report.a.imageId).not.toBe(report.b.imageId);
    expect(report.a.canonicalDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(report.a.canonicalDigest).toBe(report.b.canonicalDigest);
    expect(report.differences.length).toBeGreaterThan(0);
    expect(remaining(report)).toEqual([]);
    expect(new Set(report.differences.map((difference) => difference.cause?.id))).toEqual(
      new Set(['config-created', 'history-created', 'host-fields', 'layer-diff-ids', 'file-mtime', 'entry-order', 'layer-compression']),
    );
  });

  it('not reproducible: each planted cause is named, and the real changes carry their diffs', async () => {
    const report = parseReport(await verifyPair('not-reproducible', ['--json']));
    const byFile = new Map(remaining(report).filter((d) => d.file !== undefined).map((d) => [d.file, d]));
    const causeOf = (file: string) => byFile.get(file)?.cause?.id ?? null;
    expect(causeOf('var/log/apt/history.log')).toBe('apt-logs');
    expect(causeOf('var/cache/ldconfig/aux-cache')).toBe('ldconfig-aux-cache');
    expect(causeOf('usr/lib/python3/dist-packages/__pycache__/util.cpython-311.pyc')).toBe('pyc-header');
    expect(causeOf('etc/machine-id')).toBe('machine-id');
    expect(byFile.get('opt/app/run.sh')).toMatchObject({ attribute: 'mode', cause: { id: 'umask-mode' } });
    expect(byFile.get('opt/app/app.conf')).toMatchObject({ cause: null, detail: { format: 'unified' } });
    expect((byFile.get('opt/app/app.conf')?.detail as { diff: string }).diff).toContain('-workers 4\n+workers 8\n');
    expect(byFile.get('opt/app/package.json')).toMatchObject({
      cause: null,
      detail: { format: 'json', changes: [{ pointer: '/version', a: '1.0.0', b: '1.0.1' }] },
    });
    expect(byFile.get('opt/app/bin/tool')).toMatchObject({ cause: null, detail: { format: 'binary', sizeA: 14, sizeB: 14 } });
    const config = remaining(report).filter((d) => d.kind === 'config-field');
    expect(config.find((d) => d.path === '/config/Env/1')).toMatchObject({ a: 'APP_VERSION=1.0.0', b: 'APP_VERSION=1.0.1', cause: null });
    expect(config.find((d) => d.path === '/build_number')).toMatchObject({ a: null, b: 4711, cause: null });
    // Build dates and file times were there too, and normalization took them out.
    expect(report.summary.byCause.find((entry) => entry.cause === 'file-mtime')?.neutralized).toBeGreaterThan(0);
    expect(report.reason).toBe('12 differences remain after normalization (5 with no known cause)');
  });

  it('different layer counts: compared on the flattened filesystems (the text saying so is in the golden)', async () => {
    const report = parseReport(await verifyPair('layer-count', ['--json']));
    expect(report.flattened).toBe(true);
    expect(report.differences.find((d) => d.kind === 'layer-count')).toMatchObject({ a: 2, b: 1 });
    // The one real change, found although it sits in layer 1 of A and layer 0 of B.
    const files = remaining(report).filter((d) => d.file !== undefined);
    expect(files.map((d) => [d.file, d.attribute, d.origin])).toEqual([['opt/app/app.conf', 'content', { a: 1, b: 0 }]]);
  });
});

describe('--strict', () => {
  it('fails a reproducible pair (exit 1) and passes an identical one (exit 0)', async () => {
    const reproducible = await verifyPair('reproducible', ['--strict']);
    expectVerdict(reproducible, 1);
    expect(reproducible.stdout).toMatch(/^oci-repro verify: REPRODUCIBLE \(EQUAL AFTER NORMALIZATION\), gate FAILED\n/);
    expect(reproducible.stdout).toContain('strict mode: the images are equal only after normalization');
    expectVerdict(await verifyPair('identical', ['--strict']), 0);
  });
});

/** Accepts every remaining difference of the not-reproducible pair; YAML. */
const acceptAll = `version: 1
accept:
  - paths: ['var/log/apt/**']
    reason: apt logs; the next base image removes them
  - causes: [ldconfig-aux-cache, machine-id, pyc-header]
    reason: rebuilt when the container first starts
  - paths: ['opt/app/**']
    reason: release 1.0.1 changes the application on purpose
  - pointers: ['/config/Env/*', '/build_number']
    reason: release 1.0.1 sets its version and CI build number
  - causes: [layer-diff-ids]
    reason: they follow from the accepted layer differences
`;

/** Accepts only the volatile files; JSON. */
const acceptSome = {
  version: 1,
  accept: [
    { paths: ['var/log/apt/**'], reason: 'apt logs; the next base image removes them' },
    { causes: ['ldconfig-aux-cache', 'machine-id', 'pyc-header'], reason: 'rebuilt when the container first starts' },
  ],
};

describe('--policy', () => {
  beforeAll(async () => {
    await writeFile(dir.join('accept-all.yaml'), acceptAll);
    await writeFile(dir.join('accept-some.json'), JSON.stringify(acceptSome, null, 2));
  });

  it('accepting every remaining difference passes (exit 0), and lists each one as accepted in text and JSON', async () => {
    const json = await verifyPair('not-reproducible', ['--policy', 'accept-all.yaml', '--json']);
    expectVerdict(json, 0);
    const report = parseReport(json);
    expect(report).toMatchObject({ verdict: 'not-reproducible', passed: true, options: { policy: 'accept-all.yaml' } });
    const accepted = remaining(report);
    expect(accepted).toHaveLength(12);
    expect(report.summary.accepted).toBe(12);
    const reasons = acceptAll.match(/reason: .+/g)!.map((line) => line.slice('reason: '.length));
    for (const difference of accepted) {
      const rule = Number(/^accept\[(\d)\]$/.exec(difference.accepted?.rule ?? '')?.[1]);
      expect(difference.accepted?.reason, difference.path).toBe(reasons[rule]);
    }
    // Neutralized noise needs no acceptance and gets none.
    expect(report.differences.filter((d) => d.neutralized && d.accepted)).toEqual([]);

    const text = await verifyPair('not-reproducible', ['--policy', 'accept-all.yaml']);
    expectVerdict(text, 0);
    expect(text.stdout.split('\n')[0]).toBe('oci-repro verify: NOT REPRODUCIBLE, gate passed');
    expect(text.stdout).toContain('not reproducible, but all 12 remaining differences are accepted by policy');
    // One "accepted by" mark per accepted difference, each with its rule's reason.
    expect(text.stdout.match(/\[accepted by accept\[\d\]: [^\]]+\]/g)).toHaveLength(12);
    for (const difference of accepted) {
      expect(text.stdout).toContain(`[accepted by ${difference.accepted?.rule}: ${difference.accepted?.reason}]`);
    }
  });

  it('accepting only some fails (exit 1) and marks exactly those as accepted', async () => {
    const json = await verifyPair('not-reproducible', ['--policy', 'accept-some.json', '--json']);
    expectVerdict(json, 1);
    const report = parseReport(json);
    const acceptedFiles = remaining(report)
      .filter((d) => d.accepted)
      .map((d) => d.file)
      .sort();
    expect(acceptedFiles).toEqual([
      'etc/machine-id',
      'usr/lib/python3/dist-packages/__pycache__/util.cpython-311.pyc',
      'var/cache/ldconfig/aux-cache',
      'var/log/apt/history.log',
    ]);
    expect(report.reason).toBe('8 differences remain after normalization (4 more accepted by policy; 5 with no known cause)');
  });

  // Schema errors of every kind are unit-tested in test/gate/policy.test.ts; here, that the CLI turns them into exit 2.
  it.each<[string, string, string, RegExp]>([
    ['no reason', 'no-reason.yaml', "version: 1\naccept:\n  - paths: ['var/log/**']\n", /accept\[0\]\.reason: required/],
    ['paths not a list', 'glob-string.yaml', "version: 1\naccept:\n  - paths: 'var/log/**'\n    reason: logs\n", /accept\[0\]\.paths: expected a non-empty list/],
    ['an empty glob', 'empty-glob.json', '{"version": 1, "accept": [{"paths": [""], "reason": "logs"}]}', /accept\[0\]\.paths\[0\]: expected a non-empty string/],
  ])('a policy with %s: exit 2 with one line', async (_name, file, content, pattern) => {
    await writeFile(dir.join(file), content);
    const text = await verifyPair('not-reproducible', ['--policy', file]);
    expectErrorLine(text, 2, pattern);
    expect(text.stderr).toContain(`policy ${file}: `);
  });

  it('a bad policy with --json: exit 2 and one JSON error document', async () => {
    await writeFile(dir.join('no-reason-json.yaml'), 'version: 1\naccept:\n  - causes: [apt-logs]\n');
    expectErrorJson(await verifyPair('not-reproducible', ['--policy', 'no-reason-json.yaml', '--json']), 2, /accept\[0\]\.reason: required/);
  });

  it('a missing policy file: exit 4', async () => {
    expectErrorLine(await verifyPair('not-reproducible', ['--policy', 'no-such-policy.yaml']), 4, /no-such-policy\.yaml/);
  });
});

describe('--expect', () => {
  let reproducible: Report;
  let notReproducible: Report;
  beforeAll(async () => {
    // A release report that holds the canonical digests: every layer read (the pair shares layer 0).
    const run = await verifyPair('reproducible', ['--format', 'json', '--verify-blobs']);
    expectVerdict(run, 0);
    reproducible = parseReport(run);
    await writeFile(dir.join('release-report.json'), run.stdout);
    notReproducible = parseReport(await verifyPair('not-reproducible', ['--json']));
    await writeFile(dir.join('unread-report.json'), (await verifyPair('reproducible', ['--format', 'json'])).stdout);
  });

  it("passes (exit 0) when A's canonical digest is the one given", async () => {
    // B's digest, computed in the pair comparison: the same as A's when they are reproducible.
    const digest = reproducible.b.canonicalDigest!;
    const run = await verify([pairs.reproducible.a, '--expect', digest]);
    expectVerdict(run, 0);
    expect(run.stdout).toMatch(new RegExp(`^PASS: oci-archive:reproducible-a\\.tar has the expected canonical digest ${digest}\\n`));
  });

  it('fails (exit 1) on another digest, naming both', async () => {
    const other = notReproducible.b.canonicalDigest!;
    const run = await verify([pairs.reproducible.a, '--expect', other]);
    expectVerdict(run, 1);
    expect(run.stdout).toContain(`has canonical digest ${reproducible.a.canonicalDigest}, expected ${other}`);
  });

  it('reads the digest from a previous verify --format json report: its A side', async () => {
    const pass = await verify([pairs.reproducible.b, '--expect', 'release-report.json']);
    expectVerdict(pass, 0);
    expect(pass.stdout).toContain('(from release-report.json)');
    expectVerdict(await verify([pairs['not-reproducible'].b, '--expect', 'release-report.json']), 1);
  });

  it('refuses (exit 2) a report whose canonical digests were not computed, saying how to record one', async () => {
    expect(parseReport(await verifyPair('reproducible', ['--format', 'json'])).a.canonicalDigest).toBeNull();
    const run = await verify([pairs.reproducible.b, '--expect', 'unread-report.json']);
    expectErrorLine(run, 2, /--expect unread-report\.json: the report has no canonical digest: layers with equal diff_ids were not read \(hint: record the report with verify --verify-blobs/);
  });

  it('errors: a missing file (4), a second image (2)', async () => {
    expectErrorLine(await verify([pairs.reproducible.a, '--expect', 'no-such-report.json']), 4, /--expect: reading no-such-report\.json/);
    expectErrorLine(await verify([pairs.reproducible.a, pairs.reproducible.b, '--expect', reproducible.a.canonicalDigest!]), 2, /either two images or one image/);
  });
});

describe('bad input and unavailable sources', () => {
  beforeAll(async () => {
    // Cut inside the archive: the index is there, blobs are not.
    const whole = await readFile(dir.join('not-reproducible-a.tar'));
    await writeFile(dir.join('truncated.tar'), whole.subarray(0, 3072));
  });

  const cases: [string, () => string[], number, RegExp][] = [
    ['a missing file: exit 4', () => ['oci-archive:no-such-image.tar', pairs.reproducible.b], 4, /oci-archive:no-such-image\.tar: no such file/],
    ['a corrupt (truncated) archive: exit 3', () => ['oci-archive:truncated.tar', pairs.reproducible.b], 3, /^oci-repro: error: oci-archive:truncated\.tar: /],
  ];
  it.each(cases)('%s, one line on stderr', async (_name, args, code, pattern) => {
    expectErrorLine(await verify(args()), code, pattern);
  });
  it.each(cases)('%s, one JSON document on stdout with --json and with --format json', async (_name, args, code, pattern) => {
    const json = await verify([...args(), '--json']);
    expectErrorJson(json, code, new RegExp(pattern.source.replace(/^\^oci-repro: error: /, '^')));
    const format = await verify([...args(), '--format', 'json']);
    expect(format.stdout).toBe(json.stdout);
    expect(format.code).toBe(code);
  });
  it('a usage error with --format json (before any flag is parsed): one JSON document too', async () => {
    // Usage errors in text mode are tested for every command in test/cli/exit-codes.test.ts.
    expectErrorJson(await verify([pairs.reproducible.a, pairs.reproducible.b, '--bogus', '--format', 'json']), 2, /bogus/);
  });
});

describe('--json is --format json', () => {
  it.each<PairName>(['reproducible', 'not-reproducible'])('%s: the same bytes on stdout', async (name) => {
    const json = await verifyPair(name, ['--json']);
    const format = await verifyPair(name, ['--format', 'json']);
    expect(format.code).toBe(json.code);
    expect(format.stdout).toBe(json.stdout);
  });

  it('also with --expect', async () => {
    const args = [pairs.reproducible.a, '--expect', 'sha256:' + '0'.repeat(64)];
    const json = await verify([...args, '--json']);
    expect(json.code).toBe(1);
    expect(parseReport<ExpectReport>(json)).toMatchObject({ schemaVersion: 1, kind: 'expect', verdict: 'differs', passed: false });
    expect(validateReport(parseReport(json))).toEqual([]);
    expect(await verify([...args, '-f', 'json']).then((run) => run.stdout)).toBe(json.stdout);
  });
});

describe('terminals: colour and progress', () => {
  it('not a TTY (a pipe): no ANSI escapes in text, nothing on stderr (other formats: golden-reports.test.ts)', async () => {
    for (const [name, args] of [['not-reproducible', ['--policy', 'accept-all.yaml']], ['reproducible', ['--strict']]] as const) {
      const run = await verifyPair(name, [...args]);
      expect(run.stdout.length).toBeGreaterThan(1000);
      expect(run.stdout).not.toMatch(ansi);
      expect(run.stderr).toBe('');
    }
  });

  /** verify under a pseudo-terminal; `redirect` sends stdout or stderr to a file. */
  const underTerminal = (args: string[], redirect: string) => runCliInTerminal(['verify', ...args], redirect, { cwd: dir.path });

  it('stdout a TTY: the text report is coloured; stderr a file: no progress', async (context) => {
    if (skipWithoutTools('script')) context.skip('script (util-linux) not installed');
    const run = await underTerminal([pairs['not-reproducible'].a, pairs['not-reproducible'].b], '2>stderr.txt');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(ansi);
    expect(run.stdout).toContain('NOT REPRODUCIBLE');
    expect(await readFile(dir.join('stderr.txt'), 'utf8')).toBe('');
  });

  it('stderr a TTY: progress there, and the report on a redirected stdout is not coloured', async (context) => {
    if (skipWithoutTools('script')) context.skip('script (util-linux) not installed');
    const run = await underTerminal([pairs['not-reproducible'].a, pairs['not-reproducible'].b], '>stdout.txt');
    expect(run.code).toBe(1);
    // The terminal saw only progress (bytes read of each image's total; the bars are cleared at the end).
    expect(run.stdout).toMatch(/\d+(\.\d+)? (B|KiB|MiB) \/ \d+(\.\d+)? (B|KiB|MiB)/);
    expect(run.stdout).not.toContain('NOT REPRODUCIBLE');
    const stdout = await readFile(dir.join('stdout.txt'), 'utf8');
    expect(stdout).toMatch(/^oci-repro verify: NOT REPRODUCIBLE, gate FAILED\n/);
    expect(stdout).not.toMatch(ansi);
  });

  it('JSON: no progress even when stderr is a TTY', async (context) => {
    if (skipWithoutTools('script')) context.skip('script (util-linux) not installed');
    const run = await underTerminal([pairs['not-reproducible'].a, pairs['not-reproducible'].b, '--format', 'json'], '>stdout.json');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const report = JSON.parse(await readFile(dir.join('stdout.json'), 'utf8')) as Report;
    expect(report.verdict).toBe('not-reproducible');
  });
});
