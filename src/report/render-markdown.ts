/**
 * The report as a pull-request comment: verdict heading, identity table, counts by cause with the
 * fix, layer table, then details per layer in <details> blocks with ```diff fences. The output is capped
 * (GitHub rejects comments over 65,536 characters); what does not fit is named at the end.
 */
import type { Report } from './model.js';
import { unknownCauseId, type Difference } from '../diff/model.js';
import {
  type DifferenceGroup,
  brokenImageLink,
  brokenLayerLink,
  countNeutralizedByCause,
  describeGroupCounts,
  describeOrigin,
  describeStatus,
  describeCounts,
  describeSteps,
  describeSubject,
  formatChange,
  groupDifferences,
  plural,
  shortDigest,
  showControlCharacters,
  truncate,
  verdictTitles,
} from './render-text.js';
import { elidePair } from './elide.js';
import { describeFileChange } from './summary.js';
import { countBlockingByLayer } from '../diff/count.js';

export interface MarkdownRenderOptions {
  /** Size cap in bytes (UTF-8); default 60 KB, under GitHub's comment limit. */
  maxBytes?: number;
}

export const defaultMarkdownMaxBytes = 60 * 1024;
/** Lines of one content diff shown in a comment. */
const maxDiffLines = 120;

export function renderMarkdown(unsafeReport: Report, options: MarkdownRenderOptions = {}): string {
  const report = showControlCharacters(unsafeReport);
  const maxBytes = options.maxBytes ?? defaultMarkdownMaxBytes;
  const head = [renderHeading(report), renderIdentity(report), renderCauses(report), renderLayers(report)]
    .filter(Boolean)
    .join('\n');
  // Neutralized differences are counted in the cause table; details are for what remains or is accepted.
  const groups = groupDifferences(report).filter((group) => group.remaining + group.accepted > 0);

  // Fill difference by difference, closing each block, and keep room for the note on what was cut.
  const reserve = 400;
  let output = head;
  if (groups.length > 0) output += '\n### Details\n\n';
  let omittedDifferences = 0;
  const omittedGroups: string[] = [];
  for (const group of groups) {
    const block = renderGroup(group);
    if (omittedDifferences > 0) {
      omittedDifferences += block.items.reduce((sum, item) => sum + item.count, 0);
      omittedGroups.push(group.id);
      continue;
    }
    let body = '';
    let shown = 0;
    for (const item of block.items) {
      const fits = byteLength(output) + byteLength(block.open) + byteLength(body) + byteLength(item.text) + byteLength(block.close) + reserve <= maxBytes;
      if (omittedDifferences === 0 && fits) {
        body += item.text;
        shown += 1;
      } else {
        omittedDifferences += item.count;
      }
    }
    if (shown > 0) output += `${block.open}${body}${body.endsWith('\n\n') ? block.close.replace(/^\n/, '') : block.close}`;
    if (omittedDifferences > 0) omittedGroups.push(shown > 0 ? `part of ${group.id}` : group.id);
  }
  if (omittedDifferences > 0) {
    output +=
      `\n_Cut to fit ${Math.round(maxBytes / 1024)} KB: ${plural(omittedDifferences, 'difference')} not shown ` +
      `(${omittedGroups.join(', ')}); the JSON report (\`--format json\`) has everything._\n`;
  }
  // Last resort when even the tables do not fit: cut at a line boundary.
  if (byteLength(output) > maxBytes) output = cutToBytes(output, maxBytes);
  return output;
}

function renderHeading(report: Report): string {
  const gate = report.passed ? 'gate passed' : 'gate failed';
  const lines = [
    `## oci-repro: ${verdictTitles[report.verdict]}, ${gate}`,
    '',
    `**${report.passed ? 'Passed' : 'Failed'}:** ${escapeText(report.reason)}`,
    '',
    `${escapeText(describeCounts(report))}.`,
  ];
  if (report.flattened) lines.push('', 'Layer counts differ: files were compared on the flattened filesystems.');
  lines.push('');
  return lines.join('\n');
}

function renderIdentity(report: Report): string {
  const broken = brokenImageLink(report);
  const row = (label: string, a: string | null, b: string | null, isBroken: boolean) => {
    const show = (digest: string | null) => (digest === null ? '(none)' : code(a === b ? digest : shortDigest(digest)));
    // A missing manifest digest (legacy docker-archive) neither matches nor differs.
    if (a === null || b === null) return `| ${label} | ${show(a)} | ${show(b)} | not comparable |`;
    const mark = a === b ? 'same' : isBroken ? '**differs** (the chain breaks here)' : 'differs';
    return `| ${label} | ${show(a)} | ${a === b ? '' : show(b)} | ${mark} |`;
  };
  return [
    '| | A | B | |',
    '|---|---|---|---|',
    `| image | ${code(report.a.reference)} | ${code(report.b.reference)} | |`,
    row('manifest digest', report.a.manifestDigest, report.b.manifestDigest, broken === 'manifest'),
    row('image ID', report.a.imageId, report.b.imageId, broken === 'imageId'),
    // Null on both sides: verify left layers with equal diff_ids unread (app/verify.ts).
    report.a.canonicalDigest === null && report.b.canonicalDigest === null
      ? `| canonical digest | not computed | | ${broken === 'canonical' ? '**differs** (the chain breaks here)' : 'same'}; layers with equal diff_ids were not read (\`--verify-blobs\` reads them) |`
      : row('canonical digest', report.a.canonicalDigest, report.b.canonicalDigest, broken === 'canonical'),
    '',
  ].join('\n');
}

function renderCauses(report: Report): string {
  if (report.summary.byCause.length === 0) return '';
  const lines = [
    '### Differences by cause',
    '',
    '| Cause | Total | Neutralized | Accepted | Remaining | Fix |',
    '|---|--:|--:|--:|--:|---|',
  ];
  for (const count of report.summary.byCause) {
    const left = count.count - count.neutralized - count.accepted;
    const cause = count.cause === unknownCauseId ? `**${escapeCell(count.title)}**` : `${inline(count.title)} (${code(count.cause)})`;
    // The fix only where something still blocks, as in the text report; every cause keeps its count.
    const fix = count.hint && left > 0 ? inline(count.hint) : '';
    lines.push(`| ${cause} | ${count.count} | ${count.neutralized} | ${count.accepted} | ${left > 0 ? `**${left}**` : '0'} | ${fix} |`);
  }
  lines.push('');
  return lines.join('\n');
}

function renderLayers(report: Report): string {
  if (report.layers.length === 0) return '';
  // Every layer's count (topLayers holds only the first ten), by the rule the summary ranks them with.
  const remainingByLayer = countBlockingByLayer(report.differences);
  const lines = [
    '### Layers',
    '',
    ...(report.flattened ? ['A file of the flattened comparison counts for the layer of A and the layer of B it came from.', ''] : []),
    '| # | Step | Status | Blob | diff_id | Canonical diff_id | Remaining |',
    '|--:|---|---|---|---|---|--:|',
  ];
  for (const layer of report.layers) {
    const link = brokenLayerLink(layer);
    const cell = (field: 'digest' | 'diffId' | 'canonicalDiffId', mine: typeof link) => {
      const a = layer.a?.[field];
      const b = layer.b?.[field];
      if (a === b) return 'same';
      return link === mine ? '**differs**' : 'differs';
    };
    // When the builds ran different steps here, both, cut where they differ.
    const steps = describeSteps(layer, 80);
    const step = steps ? `A: ${code(steps[0])}<br>B: ${code(steps[1])}` : layer.step ? code(truncate(layer.step, 80)) : '';
    lines.push(
      `| ${layer.index} | ${step} | ${describeStatus(layer)} | ` +
        `${cell('digest', 'blob')} | ${cell('diffId', 'diffId')} | ${cell('canonicalDiffId', 'canonical')} | ${remainingByLayer.get(layer.index) ?? 0} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

interface GroupBlock {
  open: string;
  /** One item per remaining difference (the general table counts as one item), each with its count. */
  items: { text: string; count: number }[];
  close: string;
}

function renderGroup(group: DifferenceGroup): GroupBlock {
  const open = `<details><summary>${escapeHtml(truncate(group.title, 100))}: ${describeGroupCounts(group)}</summary>\n\n`;
  const items: GroupBlock['items'] = [];
  const general = group.general.filter((difference) => !difference.neutralized);
  if (general.length > 0) {
    const rows = general.map(
      (difference) => `| ${code(describeSubject(difference))} | ${code(formatChange(difference, 80))} | ${describeCauseCell(difference)} |`,
    );
    // A blank line ends the table before any list.
    items.push({ text: ['| What | Change | Cause |', '|---|---|---|', ...rows, '', ''].join('\n'), count: general.length });
  }
  for (const { file, differences } of group.files) {
    for (const difference of differences.filter((entry) => !entry.neutralized)) {
      items.push({ text: `${renderFileDifference(file, difference).join('\n')}\n`, count: 1 });
    }
  }
  const close: string[] = [];
  if (group.neutralized > 0) {
    const all = [...group.general, ...group.files.flatMap((entry) => entry.differences)];
    close.push('', `_${group.neutralized} neutralized by normalization: ${escapeText(countNeutralizedByCause(all, group.omitted))}._`);
  }
  close.push('', '</details>', '', '');
  return { open, items, close: close.join('\n') };
}

function renderFileDifference(file: string, difference: Difference): string[] {
  const hasValues = difference.kind === 'file-attribute' && difference.attribute !== 'content' && !(difference.a == null && difference.b == null);
  const origin = describeOrigin(difference);
  const lines = [
    `- ${code(file, false)}${origin ? ` (${origin})` : ''} **${describeFileChange(difference)}**${hasValues ? ` ${code(formatChange(difference, 80), false)}` : ''}: ${describeCauseCell(difference, false)}`,
  ];
  const detail = difference.detail;
  if (detail?.format === 'unified') {
    const diffLines = detail.diff.replace(/\n$/, '').split('\n');
    const shownLines = diffLines.slice(0, maxDiffLines);
    if (diffLines.length > maxDiffLines) shownLines.push(`... ${diffLines.length - maxDiffLines} more lines`);
    const fence = fenceFor(shownLines.join('\n'));
    // A unified diff line is never empty: a context line for an empty line is one space, kept.
    lines.push('', `  ${fence}diff`, ...shownLines.map((line) => `  ${line}`), `  ${fence}`);
  } else if (detail?.format === 'binary') {
    // The blank line makes it a paragraph of the list item; without it GitHub joins it onto the item's line.
    lines.push(
      '',
      `  binary: ${detail.sizeA} bytes ${code(shortDigest(detail.digestA), false)} -> ${detail.sizeB} bytes ${code(shortDigest(detail.digestB), false)}`,
    );
  } else if (detail?.format === 'json') {
    for (const change of detail.changes) {
      const [a, b] = elidePair(JSON.stringify(change.a ?? null), JSON.stringify(change.b ?? null), 40);
      lines.push(`  - ${code(change.pointer, false)}: ${code(a, false)} -> ${code(b, false)}`);
    }
  }
  return lines;
}

function describeCauseCell(difference: Difference, inTable = true): string {
  const cause = difference.cause ? `${inline(difference.cause.title, inTable)} (${code(difference.cause.id, inTable)})` : '**no known cause**';
  return difference.accepted
    ? `${cause}; accepted by ${code(difference.accepted.rule, inTable)}: ${escapeCell(difference.accepted.reason)}`
    : cause;
}

// --- escaping ------------------------------------------------------------------------------------

/**
 * Inline code whose fence is longer than any backtick run inside. Backslashes are literal in code
 * spans, except that a GFM table splits cells first and unescapes `\|` there: escape pipes in cells only.
 */
export function code(text: string, inTable = true): string {
  const oneLine = inTable ? text.replace(/[\r\n]+/g, ' ').replaceAll('|', '\\|') : text.replace(/[\r\n]+/g, ' ');
  const longest = Math.max(0, ...[...oneLine.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = oneLine.startsWith('`') || oneLine.endsWith('`') || oneLine === '' ? ' ' : '';
  return `${fence}${pad}${oneLine}${pad}${fence}`;
}

/** Text that Markdown and HTML must not interpret. */
export function escapeText(text: string): string {
  return escapeHtml(text).replace(/([\\`*_[\]#|~])/g, '\\$1');
}

/** Text whose `code spans` stay code and whose rest is escaped: catalogue titles and hints are written so. */
function inline(text: string, inTable = true): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .split(/(`[^`]+`)/)
    .map((part) => (part.startsWith('`') && part.endsWith('`') && part.length > 1 ? code(part.slice(1, -1), inTable) : escapeText(part)))
    .join('');
}

function escapeCell(text: string): string {
  return escapeText(text.replace(/[\r\n]+/g, ' '));
}

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** A ``` fence longer than any backtick run at a line start in the content. */
function fenceFor(content: string): string {
  const longest = Math.max(0, ...[...content.matchAll(/^\s*(`{3,})/gm)].map((match) => (match[1] ?? '').length));
  return '`'.repeat(Math.max(3, longest + 1));
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function cutToBytes(text: string, maxBytes: number): string {
  const note = '\n\n_Cut to fit the size limit; the JSON report (`--format json`) has everything._\n';
  const budget = maxBytes - byteLength(note);
  const lines = text.split('\n');
  let output = '';
  for (const line of lines) {
    if (byteLength(output) + byteLength(line) + 1 > budget) break;
    output += `${line}\n`;
  }
  return `${output.trimEnd()}${note}`;
}
