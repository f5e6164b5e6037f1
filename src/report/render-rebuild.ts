/**
 * A rebuild report in every format of verify: text and markdown here, JUnit and HTML in
 * render-rebuild-xml.ts. Each reads the rebuild view (rebuild-view.ts) and only formats it; with
 * `--against`, the release's verify report follows in the same format, under a rebuild headline.
 */
import { toJsonReport } from './json.js';
import type { RebuildReport } from './rebuild-model.js';
import { buildRebuildView, type RebuildView, type VariationView } from './rebuild-view.js';
import { renderRebuildHtml, renderRebuildJunit } from './render-rebuild-xml.js';
import { code, escapeText, inline, renderMarkdown } from './render-markdown.js';
import { renderText } from './render-text.js';
import type { ReportFormat } from './render.js';

/** Remaining differences listed per variation before "and N more". */
const listLimit = 10;
/** Rows of the markdown table of remaining differences: a comment has a size limit. */
const markdownRows = 200;

export interface RebuildRenderOptions {
  /** ANSI colour in the text format (the release's report); never in the others. */
  color?: boolean;
}

export function renderRebuildReport(report: RebuildReport, format: ReportFormat, options: RebuildRenderOptions = {}): string {
  switch (format) {
    case 'text':
      return renderRebuildText(buildRebuildView(report), options);
    case 'json':
      return `${JSON.stringify(toJsonRebuildReport(report), null, 2)}\n`;
    case 'markdown':
      return renderRebuildMarkdown(buildRebuildView(report));
    case 'junit':
      return renderRebuildJunit(buildRebuildView(report, { showControlCharacters: false }));
    case 'html':
      return renderRebuildHtml(buildRebuildView(report));
  }
}

/** Each verify report inside as verify --format json writes it (modes in octal, the step that wrote each file). */
function toJsonRebuildReport(report: RebuildReport): unknown {
  return {
    ...report,
    variations: report.variations.map((variation) => (variation.report ? { ...variation, report: toJsonReport(variation.report) } : variation)),
    ...(report.against ? { against: { ...report.against, report: toJsonReport(report.against.report) } } : {}),
  };
}

// --- text ------------------------------------------------------------------------------------------

export function renderRebuildText(view: RebuildView, options: RebuildRenderOptions = {}): string {
  const lines = [`${view.title}: ${view.verdict}`, view.timing];
  if (view.against) {
    lines.push('', 'the release (A) against the rebuild (B):');
    return `${lines.join('\n')}\n${renderText(view.against.view, { color: options.color ?? false })}`;
  }
  for (const v of view.variations) lines.push('', ...variationText(v));
  if (view.differences.length > 0) {
    lines.push('', 'remaining differences and the variations that produce them:');
    for (const d of view.differences) lines.push(`  ${d.path}: ${d.when}${d.cause ? ` [${d.cause.id}]` : ' [no known cause]'}`);
  }
  if (view.report.kept) lines.push('', `archives and logs kept in ${view.report.kept}`);
  return `${lines.join('\n')}\n`;
}

function variationText(v: VariationView): string[] {
  if (v.skipped) return [`${v.name}: skipped (${v.reason})`];
  const lines = [`${v.name}: ${v.result} — ${v.description} (${v.verdict}, built in ${v.buildTime})`];
  if (v.own.length > 0) {
    const besides = v.remaining.length - v.own.length;
    lines.push(`  ${v.own.length} remaining difference${v.own.length === 1 ? '' : 's'}${besides > 0 ? ` besides the clock's ${besides}` : ''}:`);
    for (const path of v.own.slice(0, listLimit)) lines.push(`    ${path}`);
    if (v.own.length > listLimit) lines.push(`    … and ${v.own.length - listLimit} more`);
  }
  if (v.breaking.length > 0) {
    lines.push('  causes and fixes:');
    for (const c of v.breaking) lines.push(`    ${c.id} (${c.count}): ${c.title}${c.fix ? `\n      fix: ${c.fix}` : ''}`);
  }
  if (v.neutralized) lines.push(`  neutralized by normalization: ${v.neutralized}`);
  return lines;
}

// --- markdown --------------------------------------------------------------------------------------

export function renderRebuildMarkdown(view: RebuildView): string {
  const head = `## oci-repro rebuild: ${escapeText(view.verdict)}\n\n${escapeText(view.title)}; ${escapeText(view.timing)}.\n`;
  if (view.against) {
    // The release's report follows as verify writes it; its heading is one level down.
    return `${head}\n${renderMarkdown(view.against.view).replace(/^## /, '### ')}`;
  }
  const rows = view.variations.map(
    (v) =>
      `| ${escapeText(v.name)} | ${v.skipped ? `skipped: ${escapeText(v.reason ?? '')}` : escapeText(v.result)} | ${escapeText(v.description)} | ${v.skipped ? '' : v.remaining.length} | ${v.buildTime ?? ''} |`,
  );
  const parts = [head, '| variation | result | what it changes | remaining | build |\n|---|---|---|---:|---:|', ...rows, ''];
  const broken = view.variations.filter((v) => v.breaking.length > 0);
  if (broken.length > 0) {
    parts.push('### What each variation broke, and the fix', '');
    for (const v of broken) {
      parts.push(`**${escapeText(v.name)}** (${escapeText(v.result)}):`, '');
      for (const c of v.breaking) parts.push(`- ${code(c.id, false)} (${c.count}): ${inline(c.title, false)}${c.fix ? `<br>fix: ${inline(c.fix, false)}` : ''}`);
      parts.push('');
    }
  }
  if (view.differences.length > 0) {
    parts.push('### Remaining differences', '', '| path | when | cause |', '|---|---|---|');
    for (const d of view.differences.slice(0, markdownRows)) {
      parts.push(`| ${code(d.path)} | ${escapeText(d.when)} | ${d.cause ? code(d.cause.id) : 'no known cause'} |`);
    }
    if (view.differences.length > markdownRows) parts.push('', `… and ${view.differences.length - markdownRows} more (the JSON report has every one)`);
    parts.push('');
  }
  return `${parts.join('\n')}\n`.replace(/\n{3,}/g, '\n\n');
}
