/**
 * The rebuild report's view and its formats, from a report made in code (the builds are in
 * test/rebuild/): per remaining difference when it shows, per variation what it broke with the fix,
 * skipped variations with their reason, in text, markdown, JUnit and HTML.
 */
import { describe, expect, it } from 'vitest';
import { buildRebuildView, describeWhen } from '../../src/report/rebuild-view.js';
import { renderRebuildReport } from '../../src/report/render-rebuild.js';
import type { Report } from '../../src/report/model.js';
import { renderReport } from '../../src/report/render.js';
import { validateAgainst, validateReport } from '../helpers/report-schema.js';
import { buildFixedReport } from './fixed-report.js';
import { outcome, rebuildReport as report, umaskFix } from './rebuild-report.js';

describe('the rebuild view', () => {
  it('says when each difference shows, from its variations', () => {
    expect(describeWhen({ variations: ['clock'], everyBuild: true })).toBe('only when the clock moves');
    expect(describeWhen({ variations: ['clock', 'umask'], everyBuild: true })).toBe('every build (the clock moves)');
    expect(describeWhen({ variations: ['umask'], everyBuild: false })).toBe('when file permissions in the context change');
    expect(describeWhen({ variations: ['mtimes', 'order'], everyBuild: false })).toBe(
      'when file times in the context change or when the order the filesystem lists the context in changes',
    );
  });

  it('names in the verdict only the variations that break more than the clock', () => {
    const view = buildRebuildView(report());
    expect(view.verdict).toBe('not reproducible: clock, umask break it');
    expect(view.variations.map((v) => [v.name, v.result])).toEqual([
      ['clock', 'breaks reproducibility'],
      ['mtimes', 'breaks only what the clock breaks'],
      ['umask', 'breaks reproducibility'],
      ['env', 'skipped'],
    ]);
    expect(view.variations[2]!.breaking).toEqual([{ id: 'umask-mode', title: 'group or other write permission differs', count: 1, fix: umaskFix }]);
    const passing = { ...report(), passed: true, variations: [outcome('clock', []), outcome('umask', [])], differences: [] };
    expect(buildRebuildView(passing).verdict).toBe('reproducible under all 2 variations tried');
  });
});

describe('rebuild report formats', () => {
  it('text: per variation the fix, per difference when it shows', () => {
    const text = renderRebuildReport(report(), 'text');
    expect(text).toMatch(/^rebuild of \/ctx with buildah: not reproducible: clock, umask break it\n/);
    expect(text).toContain('umask: breaks reproducibility');
    // A variation lists what it breaks itself; one that breaks only the clock's differences, nothing.
    expect(text).toContain("  1 remaining difference besides the clock's 1:\n    layers/0/hello.txt#mode\n");
    expect(text).toMatch(/mtimes: breaks only what the clock breaks — the mtimes variation \(not-reproducible, built in 1\.3 s\)\n  neutralized by normalization: file-mtime \(3\)\n\n/);
    expect(text).toContain(`      fix: ${umaskFix}`);
    expect(text).toContain('  layers/0/hello.txt#mode: when file permissions in the context change [umask-mode]');
    expect(text).toContain('  layers/1/stamp#content: every build (the clock moves) [no known cause]');
    expect(text).toContain('env: skipped (RUN steps do not see --env <b>)');
  });

  it('markdown: a variation table, what each broke with the fix, the differences with when', () => {
    const md = renderRebuildReport(report(), 'markdown');
    expect(md).toMatch(/^## oci-repro rebuild: not reproducible: clock, umask break it\n/);
    expect(md).toContain('| umask | breaks reproducibility | the umask variation | 2 | 1.3 s |');
    expect(md).toContain('| env | skipped: RUN steps do not see --env &lt;b&gt; |');
    expect(md).toContain('**umask** (breaks reproducibility):');
    expect(md).toContain('fix: COPY keeps the modes');
    // The catalogue's code spans stay code.
    expect(md).toContain('run `umask 022` before');
    expect(md).toContain('| `layers/0/hello.txt#mode` | when file permissions in the context change | `umask-mode` |');
    expect(md).not.toContain('**mtimes**');
  });

  it('junit: one testcase per variation; those that break fail, clock-only ones do not fail twice, skipped ones are skipped', () => {
    const xml = renderRebuildReport(report(), 'junit');
    expect(xml).toMatch(/<testsuite name="rebuild of \/ctx with buildah" tests="4" failures="2" errors="0" skipped="1">/);
    const cases = [...xml.matchAll(/<testcase [^>]*name="([^":]+):[^"]*">([\s\S]*?)<\/testcase>/g)].map((m) => [m[1], /<(failure|skipped|system-out)/.exec(m[2]!)?.[1]]);
    expect(cases).toEqual([
      ['clock', 'failure'],
      ['mtimes', 'system-out'],
      ['umask', 'failure'],
      ['env', 'skipped'],
    ]);
    expect(xml).toContain('<skipped message="RUN steps do not see --env &lt;b&gt;"/>');
    expect(xml).toContain('umask-mode (1): group or other write permission differs\n  fix: COPY keeps the modes');
  });

  it('html: one page, the variation table, the fixes and the differences, markup from the report shown as text', () => {
    const html = renderRebuildReport(report(), 'html');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<span class="verdict failed">not reproducible: clock, umask break it</span>');
    expect(html).toContain('skipped: RUN steps do not see --env &lt;b&gt;');
    expect(html).not.toContain('<b>');
    expect(html).toContain('<tr><td><code>layers/0/hello.txt#mode</code></td><td>when file permissions in the context change</td><td><code>umask-mode</code></td></tr>');
    expect(html).toContain('<span class="muted">fix:</span> COPY keeps the modes');
    expect(html).toContain('run <code>umask 022</code> before');
    expect(html).toContain('<td class="num">1.3&nbsp;s</td>');
  });

  it('json: the report itself', () => {
    expect(JSON.parse(renderRebuildReport(report(), 'json'))).toEqual(report());
  });

  it('json: each verify report inside as verify writes it, modes in octal and the step that wrote each file', () => {
    const verified = buildFixedReport();
    const base = report();
    const withReports = { ...base, variations: base.variations.map((v) => (v.status === 'compared' ? { ...v, report: verified } : v)), against: { reference: 'docker://r/app:1', report: verified } };
    const json = JSON.parse(renderRebuildReport(withReports, 'json')) as { variations: { report?: Report }[]; against: { report: Report } };
    expect(validateAgainst('rebuild-report.schema.json', json)).toEqual([]);
    for (const inner of [...json.variations.flatMap((v) => (v.report ? [v.report] : [])), json.against.report]) {
      expect(validateReport(inner)).toEqual([]);
      expect(inner.differences.find((d) => d.attribute === 'mode')).toMatchObject({ a: '0755', b: '0644' });
      expect(inner).toEqual(JSON.parse(renderReport(verified, 'json', { color: false })));
    }
  });
});
