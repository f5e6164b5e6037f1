/**
 * The golden HTML reports (a fleet's page among them, and a rebuild report) in a real browser: Debian's chromium, headless, loads
 * each one from a file:// URL, dumps the DOM it built and takes a screenshot in the same run. The pages
 * load one after the other (one chromium at a time), so a loaded CI runner slows them but never runs
 * several browsers against each other's timeouts. The DOM must hold every
 * difference with its anchor, the verdict, no <script> element, and the hostile names as text; the
 * browser must log no console message (the page has no script, so any message is the browser's own:
 * a blocked load, a CSP violation). Chromium logs every console message at INFO whatever its level, so
 * the check is "none at all"; a control page shows the check sees one. Under CI=true a missing chromium
 * fails (.ci/run installs it).
 */
import { rm, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/model.js';
import { renderRebuildReport } from '../../src/report/render-rebuild.js';
import { anchorFor } from '../../src/report/render-html-escape.js';
import { repoRoot } from '../helpers/golden.js';
import { runTool, skipWithoutTools } from '../helpers/real-tools.js';
import { buildFixedReport } from './fixed-report.js';
import { buildFleetReport, hostilePairName } from './fleet-report.js';
import { hostileHtmlReport, hostileName } from './html-hostile.js';
import { nestedFile, nestedMember, nestedReport } from './nested-report.js';
import { rebuildReport } from './rebuild-report.js';

/** Where the screenshots go: a fixed place under the OS temp dir, emptied at the start, named in the test names. */
const outputDir = join(tmpdir(), 'oci-repro-html-browser');
/** One chromium run: seconds on an idle machine; generous, so a loaded CI runner cannot time it out. */
const pageTimeoutMs = 180_000;
const pages = ['fixed', 'hostile', 'nested', 'fleet', 'rebuild', 'control'] as const;
/** Every page loads in beforeAll, one after the other; the tests only read the results. */
const allPagesTimeoutMs = pages.length * pageTimeoutMs + 10_000;

interface PageLoad {
  dom: string;
  /** The console messages chromium logged. */
  console: string[];
  screenshot: string;
}

async function loadPage(file: string, name: string): Promise<PageLoad> {
  const screenshot = join(outputDir, `${name}.png`);
  const { stdout, stderr } = await runTool(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--enable-logging=stderr',
      '--v=0',
      '--window-size=1300,1800',
      `--screenshot=${screenshot}`,
      '--dump-dom',
      pathToFileURL(file).href,
    ],
    { timeoutMs: pageTimeoutMs },
  );
  return { dom: stdout.toString('utf8'), console: stderr.split('\n').filter((line) => line.includes(':CONSOLE')), screenshot };
}

/** Text as chromium serializes a text node: `&`, `<`, `>` escaped, quotes kept. */
function serializedText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** Tag names of the elements in a serialized DOM (escaped text holds no raw `<`). */
function elements(dom: string): Set<string> {
  return new Set([...dom.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((match) => (match[1] ?? '').toLowerCase()));
}

async function expectScreenshot(path: string): Promise<void> {
  const png = await readFile(path);
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'PNG magic').toBe(true);
  // A blank 1300x1800 page compresses to a few KB; a rendered report is far larger.
  expect((await stat(path)).size).toBeGreaterThan(50 * 1024);
}

function expectDifferences(dom: string, report: Report): void {
  for (const difference of report.differences) {
    const id = anchorFor(difference.path);
    expect(dom, difference.path).toContain(` id="${id}"`);
    if (!difference.neutralized) expect(dom, difference.path).toContain(` href="#${id}"`);
  }
}

describe.skipIf(skipWithoutTools('chromium'))(`the HTML report in chromium (screenshots in ${outputDir})`, () => {
  // Each page's load, settled: a test awaits its own, and sees its own failure.
  const loads = {} as Record<(typeof pages)[number], Promise<PageLoad>>;
  beforeAll(async () => {
    await rm(outputDir, { recursive: true, force: true });
    await mkdir(outputDir, { recursive: true });
    const control = join(outputDir, 'control.html');
    await writeFile(control, '<!DOCTYPE html><html><body><p>control</p><script>console.error("control-error")</script></body></html>');
    const rebuild = join(outputDir, 'rebuild.html');
    await writeFile(rebuild, renderRebuildReport(rebuildReport(), 'html'));
    const files: Record<(typeof pages)[number], string> = {
      fixed: join(repoRoot, 'golden', 'reports', 'fixed.html'),
      hostile: join(repoRoot, 'golden', 'reports', 'hostile.html'),
      nested: join(repoRoot, 'golden', 'reports', 'nested.html'),
      fleet: join(repoRoot, 'golden', 'reports', 'fleet.html'),
      rebuild,
      control,
    };
    for (const name of pages) {
      const load = loadPage(files[name], name);
      // Marked handled here; the page's test still sees the failure.
      load.catch(() => undefined);
      loads[name] = load;
      await load.catch(() => undefined);
    }
  }, allPagesTimeoutMs);

  it('golden/reports/fixed.html: the verdict, every difference with its anchor, no script, no console message', async () => {
    const page = await loads.fixed;
    expect(page.dom).toContain('<span class="verdict failed">not reproducible</span>, gate failed');
    expectDifferences(page.dom, buildFixedReport());
    expect(elements(page.dom).has('script')).toBe(false);
    // The side-by-side diff with its word marks survived parsing.
    expect(page.dom).toMatch(/<td class="del">Start-Date: 2024-05-01 {2}10:<del>03<\/del>:<del>12<\/del><\/td>/);
    expect(page.console).toEqual([]);
    await expectScreenshot(page.screenshot);
  });

  it('golden/reports/hostile.html: markup in names, values and diffs stays text', async () => {
    const page = await loads.hostile;
    const dom = page.dom;
    expect(elements(dom).has('script')).toBe(false);
    expect(elements(dom).has('img')).toBe(false);
    expect(elements(dom).has('b')).toBe(false);
    expect(dom).toContain(`<code>${serializedText(hostileName)}</code>`);
    expect(dom).toContain(serializedText('X=</code><script>alert(4)</script>'));
    expectDifferences(dom, hostileHtmlReport());
    expect(page.console).toEqual([]);
    await expectScreenshot(page.screenshot);
  });

  it('golden/reports/nested.html: archive members as a tree of <details>, the inner one inside the outer', async () => {
    const page = await loads.nested;
    expectDifferences(page.dom, nestedReport());
    expect(elements(page.dom).has('script')).toBe(false);
    const outer = `<details class="member" open=""><summary><code>${serializedText(`${nestedFile}!/lib/inner.zip`)}</code>`;
    const inner = `<details class="member" open=""><summary><code>${serializedText(nestedMember)}</code>`;
    const at = page.dom.indexOf(outer);
    expect(at).toBeGreaterThan(0);
    // The inner member's element comes after the outer one's start and before its end: nested.
    const innerAt = page.dom.indexOf(inner, at);
    expect(innerAt).toBeGreaterThan(at);
    expect(page.dom.slice(at, innerAt)).not.toContain('</details>');
    expect(page.console).toEqual([]);
    await expectScreenshot(page.screenshot);
  });

  it('golden/reports/fleet.html: every pair a row and a section, each pair\'s differences under its own anchors, hostile names as text', async () => {
    const page = await loads.fleet;
    const dom = page.dom;
    const report = buildFleetReport();
    expect(dom).toContain('<span class="verdict failed">error</span> (6 pairs), gate FAILED (exit 3)');
    expect(elements(dom).has('script')).toBe(false);
    expect(elements(dom).has('img')).toBe(false);
    for (const pair of report.pairs) {
      const id = anchorFor('report', pair.name);
      expect(dom, pair.name).toContain(` href="#${id}">${serializedText(pair.name)}</a>`);
      // Chromium serializes a boolean attribute as open="".
      expect(dom, pair.name).toContain(`<details class="pair" id="${id}"${pair.passed ? '' : ' open=""'}><summary>${serializedText(pair.name)}: `);
    }
    // The same differences in three places (two pairs, and a platform of a third), each under its own prefix.
    for (const difference of buildFixedReport().differences) {
      for (const prefix of [['api'], ['multi-arch', 'linux/amd64'], [hostilePairName]]) expect(dom, difference.path).toContain(` id="${anchorFor(difference.path, prefix)}"`);
    }
    const ids = [...dom.matchAll(/ id="([^"]*)"/g)].map((match) => match[1]);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
    expect(page.console).toEqual([]);
    await expectScreenshot(page.screenshot);
  });

  it('a rebuild report: the verdict, every variation, every remaining difference, no script, no console message', async () => {
    const page = await loads.rebuild;
    const report = rebuildReport();
    expect(page.dom).toContain('<span class="verdict failed">not reproducible: clock, umask break it</span>');
    for (const variation of report.variations) expect(page.dom, variation.name).toContain(variation.name);
    for (const difference of report.differences) expect(page.dom, difference.path).toContain(`<code>${serializedText(difference.path)}</code>`);
    // The report's own markup (a skip reason) stays text.
    expect(elements(page.dom).has('b')).toBe(false);
    expect(elements(page.dom).has('script')).toBe(false);
    expect(page.console).toEqual([]);
    await expectScreenshot(page.screenshot);
  });

  it('the console check sees a message: a control page that logs one', async () => {
    const page = await loads.control;
    expect(page.console.join('\n')).toContain('control-error');
  });
});
