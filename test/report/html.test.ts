/**
 * The HTML report (render-html.ts) without a browser: everything from the images escaped, one anchor
 * per difference and links that resolve, text diffs side by side with changed words marked, and the
 * index and --expect reports. test/report/html-browser.test.ts loads the goldens in chromium.
 */
import { describe, expect, it } from 'vitest';
import type { Difference } from '../../src/diff/model.js';
import { renderSideBySide } from '../../src/report/render-html-diff.js';
import { anchorFor, escapeHtml } from '../../src/report/render-html-escape.js';
import { renderExpectReport, renderIndexReport, renderReport } from '../../src/report/render.js';
import { buildFixedReport, checkGolden, fakeDigest } from './fixed-report.js';
import { expectHtmlReport, indexHtmlReport } from './fleet-report.js';
import { hostileHtmlReport, hostileName } from './html-hostile.js';

/** Tags that are markup (not escaped text) in an HTML string. */
function tags(html: string): string[] {
  return [...html.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)/g)].map((match) => (match[1] ?? '').toLowerCase());
}

describe('html report', () => {
  it('is one self-contained page: no script, no external resource, a closing html tag', () => {
    const html = renderReport(buildFixedReport(), 'html', { color: false });
    expect(html.startsWith('<!DOCTYPE html>\n')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(tags(html)).not.toContain('script');
    expect(tags(html)).not.toContain('link');
    expect(html).not.toMatch(/\b(src|href)="(?!#)/);
    expect(html).not.toMatch(/url\(|@import/);
  });

  it('escapes file names, config values and diff lines from the images', () => {
    const html = renderReport(hostileHtmlReport(), 'html', { color: false });
    expect(tags(html)).not.toContain('script');
    expect(tags(html)).not.toContain('img');
    expect(tags(html).filter((tag) => tag === 'b')).toEqual([]);
    expect(html).toContain(escapeHtml(hostileName));
    expect(html).toContain('&lt;script&gt;alert(4)&lt;/script&gt;');
    // `&amp;` in a name is text, shown as written: its ampersand escaped again.
    expect(html).toContain('&amp;amp;');
    // The handler is text inside an escaped tag: no element carries it.
    expect(html).not.toMatch(/<[a-z][^>]*\son\w+=/i);
  });

  it('golden/reports/hostile.html: the hostile report as the browser test loads it', async (context) => {
    const actual = renderReport(hostileHtmlReport(), 'html', { color: false });
    const golden = await checkGolden('hostile.html', actual, (note) => context.skip(note));
    expect(actual).toBe(golden);
  });

  it('gives every listed difference one anchor, and every link a target', () => {
    const report = hostileHtmlReport();
    const html = renderReport(report, 'html', { color: false });
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((match) => match[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const difference of report.differences) expect(ids).toContain(anchorFor(difference.path));
    const targets = [...html.matchAll(/ href="#([^"]+)"/g)].map((match) => match[1]);
    expect(targets.length).toBeGreaterThan(report.differences.length);
    for (const target of targets) expect(ids).toContain(target);
    // Each remaining difference is linked from the index at the top.
    const index = html.slice(html.indexOf('<nav class="index">'), html.indexOf('</nav>'));
    const remaining = report.differences.filter((difference) => !difference.neutralized && !difference.accepted);
    expect(index.match(/<li>/g)).toHaveLength(remaining.length);
  });

  it('anchors are stable, safe in an id and a fragment, and tell paths apart', () => {
    expect(anchorFor('layers/1/usr/bin/x#mtime')).toBe('d-layers/1/usr/bin/x_23mtime');
    expect(anchorFor('a b')).not.toBe(anchorFor('a_20b'));
    expect(anchorFor('a b')).toBe('d-a_20b');
    expect(anchorFor('a_20b')).toBe('d-a_5f20b');
    expect(anchorFor(hostileName)).toMatch(/^[A-Za-z0-9./_-]+$/);
    expect(anchorFor('/created', 'linux/arm64')).toBe('linux/arm64~d-/created');
    // A fleet's pair, then its platform: each part encoded and ended by `~`, so no two prefixes meet.
    expect(anchorFor('/created', ['web', 'linux/arm64'])).toBe('web~linux/arm64~d-/created');
    expect(anchorFor('/created', ['web~linux/arm64'])).not.toBe(anchorFor('/created', ['web', 'linux/arm64']));
    expect(anchorFor('/created', [])).toBe(anchorFor('/created'));
  });

  it('shows a text diff side by side with the changed words marked', () => {
    const table = renderSideBySide(['--- a/x', '+++ b/x', '@@ -1,3 +1,3 @@', ' same', '-Host: alpha ok', '+Host: beta ok', '-gone'], 0);
    const rows = table.split('\n').filter((line) => line.startsWith('<tr>') && !line.includes('<th>'));
    expect(rows).toEqual([
      '<tr><td class="ctx">same</td><td class="ctx">same</td></tr>',
      '<tr><td class="del">Host: <del>alpha</del> ok</td><td class="add">Host: <ins>beta</ins> ok</td></tr>',
      '<tr><td class="del">gone</td><td class="empty"></td></tr>',
    ]);
    expect(table).toContain('<tr class="hunk"><td colspan="2">@@ -1,3 +1,3 @@</td></tr>');
    expect(table).not.toContain('+++ b/x');
    expect(renderSideBySide(['+x'], 3)).toContain('… 3 more lines');
  });

  it('cuts long values where they differ, through the shared elision', () => {
    const long = `RUN ${'x'.repeat(300)}`;
    const differences: Difference[] = [{ kind: 'config-field', path: '/config/Cmd/0', a: `${long}A`, b: `${long}B`, neutralized: false, cause: null }];
    const html = renderReport(buildFixedReport(differences), 'html', { color: false });
    const item = html.slice(html.indexOf(`id="${anchorFor('/config/Cmd/0')}"`));
    expect(item).toMatch(/<code>…x+A&quot;<\/code> → <code>…x+B&quot;<\/code>/);
    expect(item).not.toContain('x'.repeat(200));
  });
});

describe('html index and --expect reports', () => {
  it('an index report: the platforms, then each platform with anchors of its own', () => {
    const report = indexHtmlReport();
    const html = renderIndexReport(report, 'html', { color: false });
    expect(tags(html)).not.toContain('script');
    expect(html).toContain('<a href="#linux/arm64~d-report">linux/arm64</a>');
    expect(html).toContain(`id="${anchorFor(`layers/1/${hostileName}#content`, 'linux/arm64')}"`);
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((match) => match[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const target of [...html.matchAll(/ href="#([^"]+)"/g)].map((match) => match[1])) expect(ids).toContain(target);
  });

  it('an --expect report: the digest found and the one expected', () => {
    const fixed = buildFixedReport();
    const report = expectHtmlReport();
    const html = renderExpectReport(report, 'html');
    expect(html).toContain('canonical digest <span class="verdict failed">differs</span>');
    expect(html).toContain(fakeDigest('expected'));
    expect(html).toContain(fixed.a.canonicalDigest);
    expect(html).toContain('the canonical digest &lt;differs&gt;');
  });
});
