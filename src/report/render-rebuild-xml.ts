/**
 * A rebuild report as JUnit XML (one testcase per variation: a variation that breaks reproducibility
 * fails with its differences and fixes, a skipped one is skipped with the reason) and as one
 * self-contained HTML page. With `--against`, the release's verify report in the same format, headed
 * by the rebuild's verdict.
 */
import { escapeHtml as esc } from './render-html-escape.js';
import { inline, page, renderHtml } from './render-html.js';
import { escapeXml, renderJunit } from './render-junit.js';
import type { RebuildView, VariationView } from './rebuild-view.js';

/** Differences listed per variation in a JUnit failure, and rows of the HTML table. */
const junitPaths = 50;
const htmlRows = 1000;

// --- JUnit ----------------------------------------------------------------------------------------

export function renderRebuildJunit(view: RebuildView): string {
  if (view.against) {
    // The gate's test cases are the release's; the rebuild's verdict names the suite's run.
    return renderJunit(view.against.view).replace('<testsuites name="oci-repro"', `<testsuites name="${escapeXml(`oci-repro ${view.title}`)}"`);
  }
  const cases = view.variations.map(variationCase);
  const failures = view.variations.filter((v) => v.breaks).length;
  const skipped = view.variations.filter((v) => v.skipped).length;
  const name = escapeXml(view.title);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="oci-repro rebuild" tests="${cases.length}" failures="${failures}" errors="0">`,
    `  <testsuite name="${name}" tests="${cases.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
    '    <properties>',
    `      <property name="passed" value="${view.passed}"/>`,
    `      <property name="verdict" value="${escapeXml(view.verdict)}"/>`,
    `      <property name="builder" value="${escapeXml(view.report.builder)}"/>`,
    `      <property name="tool.version" value="${escapeXml(view.report.tool.version)}"/>`,
    '    </properties>',
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

function variationCase(v: VariationView): string {
  const open = `    <testcase classname="oci-repro.rebuild" name="${escapeXml(`${v.name}: ${v.description}`)}"`;
  if (v.skipped) return `${open}>\n      <skipped message="${escapeXml(v.reason ?? '')}"/>\n    </testcase>`;
  const text = [
    `${v.result} (${v.verdict}, built in ${v.buildTime})`,
    ...v.own.slice(0, junitPaths).map((path) => `  ${path}`),
    ...(v.own.length > junitPaths ? [`  … and ${v.own.length - junitPaths} more`] : []),
    ...v.breaking.map((c) => `${c.id} (${c.count}): ${c.title}${c.fix ? `\n  fix: ${c.fix}` : ''}`),
    ...(v.neutralized ? [`neutralized by normalization: ${v.neutralized}`] : []),
  ].join('\n');
  // A variation that breaks only what the clock breaks is not failed twice: the clock's case fails.
  if (!v.breaks) return `${open}>\n      <system-out>${escapeXml(text, false)}\n</system-out>\n    </testcase>`;
  const message = `${v.name} ${v.result}: ${v.own.length} remaining difference${v.own.length === 1 ? '' : 's'}`;
  return `${open}>\n      <failure message="${escapeXml(message)}" type="not-reproducible">${escapeXml(text, false)}\n</failure>\n    </testcase>`;
}

// --- HTML -----------------------------------------------------------------------------------------

export function renderRebuildHtml(view: RebuildView): string {
  const state = view.passed ? 'passed' : 'failed';
  const head = [
    `<h1>oci-repro rebuild: <span class="verdict ${state}">${esc(view.verdict)}</span></h1>`,
    `<p>${esc(view.title)}; ${esc(view.timing)}.</p>`,
  ].join('\n');
  if (view.against) {
    // The release's page as verify writes it, headed by the rebuild's verdict.
    return renderHtml(view.against.view).replace('<body>\n', `<body>\n${head}\n<h2>The release (A) against the rebuild (B)</h2>\n`);
  }
  const rows = view.variations.map((v) => {
    const result = v.skipped ? `<span class="muted">skipped: ${esc(v.reason ?? '')}</span>` : `<span class="${v.breaks ? 'breaks' : v.remaining.length > 0 ? 'differs' : 'same'}">${esc(v.result)}</span>`;
    return `<tr><th>${esc(v.name)}</th><td>${result}</td><td>${esc(v.description)}</td><td class="num">${v.skipped ? '' : v.remaining.length}</td><td class="num">${esc(v.buildTime ?? '').replace(' ', '&nbsp;')}</td></tr>`;
  });
  const parts = [
    head,
    '<h2>Variations</h2>',
    `<table><thead><tr><th>variation</th><th>result</th><th>what it changes</th><th class="num">remaining</th><th class="num">build</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`,
  ];
  const broken = view.variations.filter((v) => v.breaking.length > 0);
  if (broken.length > 0) {
    parts.push('<h2>What each variation broke, and the fix</h2>');
    for (const v of broken) {
      const items = v.breaking.map((c) => `<li><code>${esc(c.id)}</code> (${c.count}): ${inline(c.title)}${c.fix ? `<br><span class="muted">fix:</span> ${inline(c.fix)}` : ''}</li>`);
      parts.push(`<h3>${esc(v.name)} <span class="muted">(${esc(v.result)})</span></h3>`, `<ul>${items.join('\n')}</ul>`);
      if (v.neutralized) parts.push(`<p class="muted">neutralized by normalization: ${esc(v.neutralized)}</p>`);
    }
  }
  if (view.differences.length > 0) {
    const shown = view.differences.slice(0, htmlRows).map(
      (d) => `<tr><td><code>${esc(d.path)}</code></td><td>${esc(d.when)}</td><td>${d.cause ? `<code>${esc(d.cause.id)}</code>` : '<span class="muted">no known cause</span>'}</td></tr>`,
    );
    parts.push(
      '<h2>Remaining differences</h2>',
      `<table><thead><tr><th>path</th><th>when</th><th>cause</th></tr></thead><tbody>\n${shown.join('\n')}\n</tbody></table>`,
    );
    if (view.differences.length > htmlRows) parts.push(`<p class="muted">… and ${view.differences.length - htmlRows} more (the JSON report has every one)</p>`);
  }
  if (view.report.kept) parts.push(`<p class="muted">archives and logs kept in <code>${esc(view.report.kept)}</code></p>`);
  return page(`oci-repro rebuild: ${view.verdict}`, parts.join('\n'));
}
