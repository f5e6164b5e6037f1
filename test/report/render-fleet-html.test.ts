/**
 * The fleet's HTML page (render-fleet-html.ts) on a fleet report built in code (fleet-report.ts): one
 * self-contained page, the table of pairs, each pair's own report as it renders alone with its anchors
 * prefixed by the pair, unique anchors whose links all resolve, and hostile pair names kept as text.
 * test/report/html-browser.test.ts loads the golden page in chromium; test/app/fleet.test.ts runs the CLI.
 */
import { describe, expect, it } from 'vitest';
import { summarizePairs, type FleetReport } from '../../src/report/fleet-model.js';
import { renderFleetHtml } from '../../src/report/render-fleet-html.js';
import { fleetFormats, renderFleetReport } from '../../src/report/render-fleet.js';
import { anchorFor, escapeHtml } from '../../src/report/render-html-escape.js';
import { renderExpectReport, renderIndexReport, renderReport } from '../../src/report/render.js';
import type { Report } from '../../src/report/model.js';
import type { IndexReport } from '../../src/report/index-model.js';
import type { ExpectReport } from '../../src/report/expect-model.js';
import { checkGolden } from './fixed-report.js';
import { buildFleetReport, hostilePairName } from './fleet-report.js';

const tags = (html: string) => [...html.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)/g)].map((match) => (match[1] ?? '').toLowerCase());
const ids = (html: string) => [...html.matchAll(/ id="([^"]*)"/g)].map((match) => match[1]!);
const targets = (html: string) => [...html.matchAll(/ href="#([^"]*)"/g)].map((match) => match[1]!);
const duplicates = (values: string[]) => values.filter((value, index) => values.indexOf(value) !== index);
const pairNamed = (report: FleetReport, name: string) => report.pairs.find((pair) => pair.name === name)!;

/** The <body> of a page rendered alone. */
function bodyOf(html: string): string {
  return html.slice(html.indexOf('<body>\n') + '<body>\n'.length, html.lastIndexOf('\n</body>'));
}

/**
 * A report's page rendered alone, as it must appear inside the fleet page under `name`: its anchors
 * prefixed by the pair, its headings one level down from `levels` on, named after the pair.
 */
function placedUnder(name: string, html: string, levels: number[]): string {
  let body = bodyOf(html).replace(/( id="| href="#)/g, `$1${anchorFor('report', name).replace(/d-report$/, '')}`);
  body = body.replace(/^<h1>oci-repro:/, `<h1>${escapeHtml(name)}:`);
  for (const level of [...levels].sort().reverse()) body = body.replace(new RegExp(`(</?)h${level}>`, 'g'), `$1h${level + 1}>`);
  return body;
}

describe('the fleet HTML page', () => {
  it('is one self-contained page, and what renderFleetReport gives for html', () => {
    const report = buildFleetReport();
    const html = renderFleetHtml(report);
    expect(fleetFormats).toContain('html');
    expect(renderFleetReport(report, 'html', { color: false })).toBe(html);
    expect(html.startsWith('<!DOCTYPE html>\n')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    expect(tags(html)).not.toContain('script');
    expect(tags(html)).not.toContain('link');
    expect(html).not.toMatch(/\b(src|href)="(?!#)/);
  });

  it('heads with the verdict, pair count, gate and exit code, the reason and the pairs file', () => {
    const report = buildFleetReport();
    const html = renderFleetHtml(report);
    expect(html).toContain('<h1>oci-repro fleet: <span class="verdict failed">error</span> (6 pairs), gate FAILED (exit 3)</h1>');
    expect(html).toContain('<p><strong>Failed:</strong> 1 of 6 pairs passed, 4 failed, 1 could not be verified (an error)</p>');
    expect(html).toContain('<p class="settings">pairs file fleet.yaml, 6.5 s</p>');
    // A passing fleet says so.
    const passing: FleetReport = { ...report, ...summarizePairs([report.pairs[0]!]), pairs: [report.pairs[0]!] };
    expect(renderFleetHtml(passing)).toContain('<h1>oci-repro fleet: <span class="verdict passed">reproducible (equal after normalization)</span> (1 pair), gate passed (exit 0)</h1>');
  });

  it('a shard says which share of the pairs file it holds', () => {
    const report = { ...buildFleetReport(), shard: { index: 2, count: 3 }, pairsFile: { path: 'fleet.yaml', digest: 'x', pairs: 17 } };
    expect(renderFleetHtml(report)).toContain('<p class="settings">shard 2/3: 6 of the 17 pairs of fleet.yaml, 6.5 s</p>');
    expect(renderFleetHtml(buildFleetReport())).not.toContain('shard ');
  });

  it('lists every pair in a table: a link to its section, verdict (a failure marked), exit, time, reason', () => {
    const report = buildFleetReport();
    const html = renderFleetHtml(report);
    const table = html.slice(html.indexOf('<table class="pairs">'), html.indexOf('</table>', html.indexOf('<table class="pairs">')));
    const rows = table.split('\n').filter((line) => line.startsWith('<tr><td>'));
    expect(rows).toHaveLength(report.pairs.length);
    expect(rows[0]).toBe('<tr><td><a href="#web~d-report">web</a></td><td>reproducible</td><td class="num">0</td><td class="num">1.2 s</td><td>' + escapeHtml(report.pairs[0]!.reason) + '</td></tr>');
    expect(rows[2]).toContain('<td><span class="blocking">not reproducible</span></td><td class="num">1</td><td class="num">5.0 s</td>');
    expect(rows[4]).toContain('<td><span class="blocking">differs</span></td>');
    expect(rows[5]).toContain(`<td><a href="#${anchorFor('report', 'broken <&>')}">broken &lt;&amp;&gt;</a></td><td><span class="blocking">error</span></td><td class="num">3</td>`);
  });

  it("holds each pair's report exactly as it renders alone, anchors prefixed by the pair", () => {
    const report = buildFleetReport();
    const html = renderFleetHtml(report);
    const api = pairNamed(report, 'api');
    expect(html).toContain(placedUnder('api', renderReport(api.report as Report, 'html', { color: false }), [1]));
    const hostile = pairNamed(report, hostilePairName);
    expect(html).toContain(placedUnder(hostilePairName, renderReport(hostile.report as Report, 'html', { color: false }), [1]));
    const multi = pairNamed(report, 'multi-arch');
    expect(html).toContain(placedUnder('multi-arch', renderIndexReport(multi.report as IndexReport, 'html', { color: false }), [1, 2, 3]));
    const release = pairNamed(report, 'release');
    expect(html).toContain(placedUnder('release', renderExpectReport(release.report as ExpectReport, 'html'), [1]));
    // Without the prefix the pair's anchors would be the page's own: the check above can fail.
    expect(html).not.toContain(bodyOf(renderReport(api.report as Report, 'html', { color: false })).split('\n').slice(4).join('\n'));
  });

  it('opens the pairs that did not pass and collapses those that did; an error pair shows its error line', () => {
    const report = buildFleetReport();
    const html = renderFleetHtml(report);
    const opening = [...html.matchAll(/<details class="pair" id="([^"]*)"( open)?>/g)].map((match) => [match[1], match[2] === ' open']);
    expect(opening).toEqual(report.pairs.map((pair) => [anchorFor('report', pair.name), !pair.passed]));
    expect(html).toContain(
      `<details class="pair" id="${anchorFor('report', 'broken <&>')}" open><summary>broken &lt;&amp;&gt;: error, exit 3</summary>\n<p><span class="blocking">error</span> (exit 3): pair &quot;broken &lt;&amp;&gt;&quot;: 5-a.tar: unexpected end of archive</p>\n</details>`,
    );
  });

  it('gives every anchor once and every link a target, though pairs share difference paths', () => {
    const report = buildFleetReport();
    const html = renderFleetHtml(report);
    const found = ids(html);
    expect(duplicates(found)).toEqual([]);
    const links = targets(html);
    expect(links.length).toBeGreaterThan(report.pairs.length);
    expect(links.filter((target) => !found.includes(target))).toEqual([]);
    for (const pair of report.pairs) expect(found).toContain(anchorFor('report', pair.name));
    // The same fixed differences in two pairs: their own pages, put side by side, repeat anchors.
    const alone = [pairNamed(report, 'api'), pairNamed(report, hostilePairName)].map((pair) => ids(renderReport(pair.report as Report, 'html', { color: false })));
    expect(duplicates(alone.flat()).length).toBeGreaterThan(0);
    // Each one's differences under its pair (and platform) prefix.
    for (const difference of (pairNamed(report, 'api').report as Report).differences) expect(found).toContain(anchorFor(difference.path, ['api']));
    for (const difference of (pairNamed(report, 'api').report as Report).differences) expect(found).toContain(anchorFor(difference.path, ['multi-arch', 'linux/amd64']));
  });

  it('keeps a hostile pair name text: in the table, the summary, the heading and the title', () => {
    const report = buildFleetReport();
    const html = renderFleetHtml(report);
    expect(tags(html)).not.toContain('img');
    expect(tags(html)).not.toContain('script');
    expect(html).not.toMatch(/<[a-z][^>]*\son\w+=/i);
    const escaped = escapeHtml(hostilePairName);
    expect(escaped).toContain('&amp;amp;');
    expect(html).toContain(`">${escaped}</a></td>`);
    expect(html).toContain(`<summary>${escaped}: not reproducible, exit 1</summary>`);
    expect(html).toContain(`<h2>${escaped}: <span class="verdict failed">`);
    expect(anchorFor('report', hostilePairName)).toMatch(/^[A-Za-z0-9./_~-]+$/);
  });

  it('golden/reports/fleet.html: the fleet page as the browser test loads it', async (context) => {
    const actual = renderFleetHtml(buildFleetReport());
    const golden = await checkGolden('fleet.html', actual, (note) => context.skip(note));
    expect(actual).toBe(golden);
  });
});
