// A fleet end to end: real image pairs, the real binary; shards merged equal the unsharded run.
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFleet } from '../../src/fleet/verify-fleet.js';
import { loadPairsFile } from '../../src/fleet/pairs-file.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { fleetReportFromJson } from '../../src/report/fleet-json.js';
import type { FleetReport } from '../../src/report/fleet-model.js';
import { renderFleetReport } from '../../src/report/render-fleet.js';
import { anchorFor, escapeHtml } from '../../src/report/render-html-escape.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { TempDir } from '../helpers/images.js';
import { validateAgainst, validateReport } from '../helpers/report-schema.js';
import { writeImagePairs, type ImagePair, type PairName } from '../app/fixtures.js';

let dir: TempDir;
let pairs: Record<PairName, ImagePair>;
let unsharded: CliRun;
let shards: CliRun[];

const fleet = (name: PairName) => ({ name, a: pairs[name].a, b: pairs[name].b });
const cli = (args: string[]) => runCli(args, { cwd: dir.path });
const parse = (run: CliRun) => JSON.parse(run.stdout) as FleetReport;
/** The report without its wall times, which no two runs share. */
function timeless(report: FleetReport): unknown {
  return { ...report, durationMs: 0, pairs: report.pairs.map((pair) => ({ ...pair, durationMs: 0 })) };
}

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-fleet-');
  pairs = await writeImagePairs(dir);
  await writeFile(dir.join('corrupt.tar'), 'this is not an image archive\n');
  const entries = [
    fleet('identical'),
    fleet('reproducible'),
    fleet('not-reproducible'),
    { name: 'corrupt', a: 'corrupt.tar', b: pairs.reproducible.b },
    fleet('layer-count'),
    { name: 'expected', a: pairs.reproducible.a, expect: `sha256:${'0'.repeat(64)}` },
    fleet('many-mtimes'),
    fleet('scratch-oci'),
  ];
  await writeFile(dir.join('pairs.yaml'), entries.map((entry) => `- ${JSON.stringify(entry)}\n`).join(''));
  [unsharded, ...shards] = await Promise.all([
    cli(['verify', '--pairs', 'pairs.yaml', '--jobs', '2', '--format', 'json']),
    ...[1, 2, 3].map((index) => cli(['verify', '--pairs', 'pairs.yaml', '--shard', `${index}/3`, '--format', 'json'])),
  ]);
}, 300_000);
afterAll(async () => dir?.remove());

// Each spawn costs about a second of CPU, several on a loaded machine.
const slow = { timeout: 180_000 };

describe('verify --pairs', () => {
  it('verifies every pair; a bad input is that pair’s exit 3, and the run exits with the worst code', () => {
    expect(unsharded.stderr).toBe('');
    const report = parse(unsharded);
    expect(validateAgainst('fleet-report.schema.json', report)).toEqual([]);
    for (const pair of report.pairs) if (pair.report) expect(validateReport(pair.report), pair.name).toEqual([]);
    const byName = Object.fromEntries(report.pairs.map((pair) => [pair.name, pair]));
    expect(report.pairs.map((pair) => pair.name)).toEqual(['identical', 'reproducible', 'not-reproducible', 'corrupt', 'layer-count', 'expected', 'many-mtimes', 'scratch-oci']);
    expect(byName.identical).toMatchObject({ verdict: 'identical', passed: true, exitCode: 0, error: null });
    expect(byName.reproducible).toMatchObject({ verdict: 'reproducible', passed: true, exitCode: 0 });
    expect(byName['not-reproducible']).toMatchObject({ verdict: 'not-reproducible', passed: false, exitCode: 1 });
    expect(byName.expected).toMatchObject({ verdict: 'differs', passed: false, exitCode: 1, expect: `sha256:${'0'.repeat(64)}`, b: null });
    expect(byName.corrupt).toMatchObject({ verdict: 'error', passed: false, exitCode: 3, report: null });
    expect(byName.corrupt!.error).toMatchObject({ code: 'CORRUPT_ARCHIVE', exitCode: 3 });
    expect(byName.corrupt!.reason).toMatch(/^pair "corrupt": corrupt\.tar: /);
    // The pair after the broken one was verified all the same.
    expect(byName['layer-count']!.report).not.toBeNull();
    expect(report).toMatchObject({ kind: 'fleet', verdict: 'error', passed: false, exitCode: 3, shard: null, counts: { pairs: 8, passed: 3, failed: 4, errors: 1 } });
    expect(report.pairs.filter((pair) => pair.passed).map((pair) => pair.name)).toEqual(['identical', 'reproducible', 'scratch-oci']);
    expect(report.pairsFile).toMatchObject({ path: 'pairs.yaml', pairs: 8 });
    expect(unsharded.code).toBe(3);
  });

  it('each pair carries the report verify gives it alone', slow, async () => {
    const alone = await cli(['verify', pairs['not-reproducible'].a, pairs['not-reproducible'].b, '--format', 'json']);
    const pair = parse(unsharded).pairs.find((entry) => entry.name === 'not-reproducible')!;
    expect(pair.report).toEqual(JSON.parse(alone.stdout));
  });

  it('shards 1/3, 2/3 and 3/3 merged give the unsharded report (timings aside)', slow, async () => {
    const reports = shards.map(parse);
    expect(reports.map((report) => report.shard)).toEqual([1, 2, 3].map((index) => ({ index, count: 3 })));
    expect(reports.flatMap((report) => report.pairs.map((pair) => pair.name)).sort()).toEqual(parse(unsharded).pairs.map((pair) => pair.name).sort());
    for (const [index, report] of reports.entries()) expect(shards[index]!.code).toBe(report.exitCode);
    for (const [index, run] of shards.entries()) await writeFile(dir.join(`shard-${index + 1}.json`), run.stdout);
    // Given in any order.
    const merged = await cli(['merge', 'shard-3.json', 'shard-1.json', 'shard-2.json', '--format', 'json']);
    expect(merged.stderr).toBe('');
    expect(merged.code).toBe(3);
    const report = parse(merged);
    expect(validateAgainst('fleet-report.schema.json', report)).toEqual([]);
    expect(timeless(report)).toEqual(timeless(parse(unsharded)));
  });

  it('merge refuses a missing or repeated shard, and shards of another pairs file (exit 2)', slow, async () => {
    for (const [index, run] of shards.entries()) await writeFile(dir.join(`shard-${index + 1}.json`), run.stdout);
    const other = { ...parse(shards[1]!), pairsFile: { path: 'other.yaml', digest: `sha256:${'1'.repeat(64)}`, pairs: 8 } };
    await writeFile(dir.join('other.json'), JSON.stringify(other));
    const [missing, repeated, foreign, notFleet] = await Promise.all([
      cli(['merge', 'shard-1.json', 'shard-3.json']),
      cli(['merge', 'shard-1.json', 'shard-2.json', 'shard-2.json', 'shard-3.json']),
      cli(['merge', 'shard-1.json', 'other.json', 'shard-3.json']),
      cli(['merge', 'pairs.yaml']),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('oci-repro: error: merge: missing shard 2/3 (hint: give the report of every shard)\n');
    expect(repeated.code).toBe(2);
    expect(repeated.stderr).toMatch(/^oci-repro: error: report shard-2\.json: shard 2\/3 is also shard-2\.json\n$/);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/^oci-repro: error: report other\.json: from another pairs file than shard-1\.json/);
    expect(notFleet.code).toBe(2);
    expect(notFleet.stderr).toMatch(/^oci-repro: error: report pairs\.yaml: not JSON/);
  });

  it('JUnit has one testsuite per pair, the broken pair an error', slow, async () => {
    const junit = await cli(['merge', 'shard-1.json', 'shard-2.json', 'shard-3.json', '--format', 'junit']);
    const suites = [...junit.stdout.matchAll(/<testsuite name="([^"]*)"/g)].map((match) => match[1]);
    expect(suites).toEqual(parse(unsharded).pairs.map((pair) => pair.name));
    expect(junit.stdout).toMatch(/<testsuites name="oci-repro fleet" tests="\d+" failures="[1-9]\d*" errors="1">/);
    expect(junit.stdout).toMatch(/<testsuite name="corrupt" tests="1" failures="0" errors="1" skipped="0">\n {4}<testcase classname="oci-repro.fleet" name="corrupt">\n {6}<error message="pair &quot;corrupt&quot;: corrupt\.tar: [^"]*" type="CORRUPT_ARCHIVE">/);
  });

  it('text and Markdown list every pair, then the reports (Markdown: of the pairs that did not pass)', () => {
    const report = fleetReportFromJson(parse(unsharded));
    const text = renderFleetReport(report, 'text', { color: false });
    expect(text.split('\n')[0]).toBe('oci-repro verify --pairs: ERROR (8 pairs), gate FAILED (exit 3)');
    expect(text).toMatch(/^ {2}corrupt +error +3 +\d+\.\d s {2}pair "corrupt": /m);
    for (const pair of report.pairs) expect(text).toContain(`=== ${pair.name} ===`);
    // A mode difference read back from JSON is a number again: the text says 0755 -> 0775.
    expect(text).toMatch(/0755.*0775/);
    const markdown = renderFleetReport(report, 'markdown', { color: false });
    expect(markdown).toMatch(/^## oci-repro fleet: ERROR \(8 pairs\), gate FAILED \(exit 3\)$/m);
    expect(markdown).toMatch(/^\| `corrupt` \| \*\*error\*\* \| 3 \| pair "corrupt": /m);
    expect(markdown).toContain('<details><summary>not-reproducible: not-reproducible</summary>');
    expect(markdown).not.toContain('<details><summary>identical:');
  });

  it('--format html: one page, a section per pair, the exit code of text; for a shard too, and merge', slow, async () => {
    const hostile = `nr <img src=x onerror=alert(1)> & "q" 's'`;
    const entries = [fleet('identical'), { name: hostile, a: pairs['not-reproducible'].a, b: pairs['not-reproducible'].b }, { name: 'corrupt', a: 'corrupt.tar', b: pairs.reproducible.b }];
    await writeFile(dir.join('html.yaml'), entries.map((entry) => `- ${JSON.stringify(entry)}\n`).join(''));
    for (const [index, run] of shards.entries()) await writeFile(dir.join(`shard-${index + 1}.json`), run.stdout);
    const [html, text, shardHtml, shardText, merged] = await Promise.all([
      cli(['verify', '--pairs', 'html.yaml', '--format', 'html']),
      cli(['verify', '--pairs', 'html.yaml']),
      cli(['verify', '--pairs', 'html.yaml', '--shard', '1/2', '--format', 'html']),
      cli(['verify', '--pairs', 'html.yaml', '--shard', '1/2']),
      cli(['merge', 'shard-1.json', 'shard-2.json', 'shard-3.json', '--format', 'html']),
    ]);
    const sections = (page: string) => [...page.matchAll(/<details class="pair" id="([^"]*)"/g)].map((match) => match[1]);
    for (const run of [html, shardHtml, merged]) {
      expect(run.stderr).toBe('');
      expect(run.stdout.startsWith('<!DOCTYPE html>\n')).toBe(true);
      expect(run.stdout.endsWith('</html>\n')).toBe(true);
      const ids = [...run.stdout.matchAll(/ id="([^"]*)"/g)].map((match) => match[1]);
      expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
      expect([...run.stdout.matchAll(/ href="#([^"]*)"/g)].map((match) => match[1]).filter((target) => !ids.includes(target))).toEqual([]);
    }
    expect(html.code).toBe(3);
    expect(html.code).toBe(text.code);
    expect(sections(html.stdout)).toEqual(entries.map((entry) => anchorFor('report', entry.name)));
    expect(html.stdout).toMatch(/<h1>oci-repro fleet: <span class="verdict failed">error<\/span> \(3 pairs\), gate FAILED \(exit 3\)<\/h1>/);
    expect(html.stdout).toContain(`<summary>${escapeHtml(hostile)}: not reproducible, exit 1</summary>`);
    expect(html.stdout).not.toMatch(/<img/);
    // The hostile pair's differences carry its prefix.
    expect(html.stdout).toContain(` id="${anchorFor('group/config', [hostile])}"`);
    expect(shardHtml.code).toBe(shardText.code);
    const shardPairs = sections(shardHtml.stdout).length;
    expect(shardPairs).toBeGreaterThan(0);
    expect(shardHtml.stdout).toContain(`<p class="settings">shard 1/2: ${shardPairs} of the 3 pairs of html.yaml, `);
    expect(merged.code).toBe(3);
    expect(sections(merged.stdout)).toEqual(parse(unsharded).pairs.map((pair) => anchorFor('report', pair.name)));
  });

  it('gives the same report with one job as with three, in the order of the pairs file', slow, async () => {
    const pairsFile = await loadPairsFile(dir.join('pairs.yaml'));
    // The references of the file are relative to its directory (the CLI runs there): made absolute.
    const absolute = (reference: string) => reference.replace(/^((?:oci-archive|docker-archive):)?(.*)$/, (_, transport: string | undefined, path: string) => `${transport ?? ''}${dir.join(path)}`);
    const run = (jobs: number) =>
      verifyFleet({ pairsFile: { ...pairsFile, pairs: pairsFile.pairs.map((pair) => ({ ...pair, a: absolute(pair.a), ...(pair.b ? { b: absolute(pair.b) } : {}) })) }, jobs, normalize: defaultNormalizeOptions });
    const [one, three] = [await run(1), await run(3)];
    expect(one.pairs.map((pair) => pair.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(timeless(three)).toEqual(timeless(one));
    expect(one.exitCode).toBe(3);
  });
});

describe('verify --pairs usage', () => {
  it('prints a GitHub Actions matrix of N shards with their pair counts', slow, async () => {
    const run = await cli(['verify', '--pairs', 'pairs.yaml', '--matrix', '3']);
    expect(run.code).toBe(0);
    const { include } = JSON.parse(run.stdout) as { include: { shard: string; pairs: number }[] };
    expect(include.map((entry) => entry.shard)).toEqual(['1/3', '2/3', '3/3']);
    expect(include.map((entry) => entry.pairs)).toEqual(shards.map((shard) => parse(shard).pairs.length));
  });

  it('refuses flags that do not go together (exit 2, one line)', slow, async () => {
    const cases: [string[], RegExp][] = [
      [['verify', '--shard', '1/2', 'a.tar', 'b.tar'], /--shard needs --pairs/],
      [['verify', '--pairs', 'pairs.yaml', 'a.tar'], /--pairs takes no images/],
      [['verify', '--pairs', 'pairs.yaml', '--shard', '4/3'], /--shard: "4\/3" is not K\/N/],
      [['verify'], /verify needs two images, one image with --expect, or --pairs FILE/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(args)));
    for (const [index, run] of runs.entries()) {
      expect(run.code, cases[index]![0].join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^oci-repro: error: [^\n]+\n$/);
      expect(run.stderr).toMatch(cases[index]![1]);
    }
  });

  it('a missing pairs file is exit 4, a malformed one exit 2 naming the entry', slow, async () => {
    await writeFile(dir.join('bad.yaml'), '- {name: x, a: a.tar, b: b.tar, c: 1}\n');
    const [missing, bad] = await Promise.all([cli(['verify', '--pairs', 'nope.yaml']), cli(['verify', '--pairs', 'bad.yaml'])]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/^oci-repro: error: reading pairs nope\.yaml: no such file/);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^oci-repro: error: pairs bad\.yaml: entry 0 \("x"\): unknown field "c" \(hint: /);
  });
});
