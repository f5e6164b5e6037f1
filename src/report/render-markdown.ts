/**
 * The report as a pull-request comment: verdict heading, identity table, counts by cause with the
 * fix, layer table, then details per layer in <details> blocks with ```diff fences. The output is capped
 * (GitHub rejects comments over 65,536 characters); what does not fit is named at the end. Reads the
 * view (view.ts) and only formats and escapes it; an index report is a summary of its platforms, then
 * each one's report within an equal share of the cap.
 */
import type { ExpectView } from './expect-model.js';
import type { IndexView } from './index-view.js';
import { decodedFieldLimits, describeChange, diffLineLimits, elideSteps, headLines, truncate, writtenByWidth, type DifferenceView } from './view-values.js';
import type { GroupView, ReportView } from './view.js';
import { plural, shortDigest } from './wording.js';

export interface MarkdownRenderOptions {
  /** Size cap in bytes (UTF-8); default 60 KB, under GitHub's comment limit. */
  maxBytes?: number;
}

export const defaultMarkdownMaxBytes = 60 * 1024;

export function renderMarkdown(view: ReportView, options: MarkdownRenderOptions = {}): string {
  return renderReportMarkdown(view, options.maxBytes ?? defaultMarkdownMaxBytes, '## oci-repro:');
}

/** `name` heads the report: the tool, or the platform in an index report. */
function renderReportMarkdown(view: ReportView, maxBytes: number, name: string): string {
  // Room kept for the closing note on what was cut and for closing the last block.
  const reserve = 400;
  const fixed = [renderHeading(view, name), renderIdentity(view), renderCauses(view)].filter(Boolean).join('\n');
  // At most half of what is left, so an image of many layers still shows some differences.
  const layers = renderLayers(view, Math.floor((maxBytes - byteLength(fixed) - reserve) / 2));
  const head = [fixed, layers].filter(Boolean).join('\n');
  // Neutralized differences are counted in the cause table; details are for what remains or is accepted.
  const groups = view.groups.filter((group) => group.blocking + group.accepted > 0);

  // Fill difference by difference, whole table rows and whole list items only, closing each block.
  // Once one does not fit, the rest are counted, not shown, so "and N more" is the tail of the list.
  let output = head;
  if (groups.length > 0) output += '\n### Details\n\n';
  let omittedDifferences = 0;
  const omittedGroups: string[] = [];
  for (const group of groups) {
    const block = renderGroup(group);
    const total = block.rows.length + block.items.length;
    if (omittedDifferences > 0) {
      omittedDifferences += total;
      omittedGroups.push(group.id);
      continue;
    }
    // The close with the longest note it may carry, so a block that needs the note still fits.
    const worstClose = `${cutNote(total, group.id)}${block.close}`;
    const fits = (body: string, extra: string) =>
      byteLength(output) + byteLength(block.open) + byteLength(body) + byteLength(extra) + byteLength(worstClose) + reserve <= maxBytes;
    let table = '';
    let cut = 0;
    for (const row of block.rows) {
      const start = table === '' ? tableHead : '';
      if (cut === 0 && fits(table, `${start}${row}\n\n`)) table += `${start}${row}\n`;
      else cut += 1;
    }
    // A blank line ends the table before any list.
    let body = table === '' ? '' : `${table}\n`;
    for (const item of block.items) {
      if (cut === 0 && fits(body, item)) body += item;
      else cut += 1;
    }
    const shown = total - cut;
    if (shown > 0) {
      const note = cut > 0 ? cutNote(cut, group.id) : '';
      const close = `${note}${block.close}`;
      output += `${block.open}${body}${body.endsWith('\n\n') ? close.replace(/^\n/, '') : close}`;
    }
    omittedDifferences += cut;
    if (cut > 0) omittedGroups.push(shown > 0 ? `part of ${group.id}` : group.id);
  }
  if (omittedDifferences > 0) {
    // A long list of groups is itself cut, with its count.
    const named = omittedGroups.length > 6 ? [...omittedGroups.slice(0, 5), `${countWords(omittedGroups.length - 5)} more`] : omittedGroups;
    output +=
      `\n_Cut to fit ${Math.round(maxBytes / 1024)} KB: … and ${countWords(omittedDifferences)} more ${omittedDifferences === 1 ? 'difference' : 'differences'} not shown ` +
      `(${named.join(', ')}); the JSON report (\`--format json\`) has everything._\n`;
  }
  // Last resort when even the head does not fit (a tiny cap): cut between blocks, never inside a
  // table or a code fence, and close any <details> left open.
  if (byteLength(output) > maxBytes) output = cutAtBlock(output, maxBytes);
  return output;
}

/** `1,234`: counts in notes are read by people. */
function countWords(count: number): string {
  return count.toLocaleString('en-US');
}

/** The note inside a group's block on the differences of that group not shown. */
function cutNote(count: number, id: string): string {
  return `\n_… and ${countWords(count)} more ${count === 1 ? 'difference' : 'differences'} in ${escapeText(id)}, not shown to fit a pull-request comment._\n`;
}

/**
 * Table rows while they fit in `budget` bytes (the header counted); the rows cut are counted below
 * the table, which always ends whole.
 */
function fitTable(head: readonly string[], rows: readonly string[], budget: number, noun: string): string[] {
  let used = head.reduce((sum, line) => sum + byteLength(line) + 1, 0) + 200;
  const shown: string[] = [];
  for (const row of rows) {
    used += byteLength(row) + 1;
    if (used > budget) break;
    shown.push(row);
  }
  const cut = rows.length - shown.length;
  return cut > 0 ? [...head, ...shown, '', `_… and ${countWords(cut)} more ${noun} not shown; the JSON report has them._`] : [...head, ...shown];
}

function renderHeading(view: ReportView, name: string): string {
  const { report } = view;
  const gate = report.passed ? 'gate passed' : 'gate failed';
  const lines = [
    `${name} ${view.verdictTitle}, ${gate}`,
    '',
    `**${report.passed ? 'Passed' : 'Failed'}:** ${escapeText(report.reason)}`,
    '',
    `${escapeText(view.counts)}.`,
  ];
  if (report.flattened) lines.push('', 'Layer counts differ: files were compared on the flattened filesystems.');
  lines.push('');
  return lines.join('\n');
}

function renderIdentity(view: ReportView): string {
  const { report } = view;
  const row = ({ label, a, b, state, breaks }: ReportView['links'][number]) => {
    // The image's canonical digest when verify left layers with equal diff_ids unread (view.ts).
    if (state === 'not-computed') return `| ${label} | not computed | | ${breaks ? '**differs** (the chain breaks here)' : 'same'}; layers with equal diff_ids were not read (\`--verify-blobs\` reads them) |`;
    const show = (digest: string | null | undefined) => (digest == null ? '(none)' : code(state === 'same' ? digest : shortDigest(digest)));
    if (state === 'not-comparable') return `| ${label} | ${show(a)} | ${show(b)} | not comparable |`;
    const mark = state === 'same' ? 'same' : breaks ? '**differs** (the chain breaks here)' : 'differs';
    return `| ${label} | ${show(a)} | ${state === 'same' ? '' : show(b)} | ${mark} |`;
  };
  return [
    '| | A | B | |',
    '|---|---|---|---|',
    `| image | ${code(report.a.reference)} | ${code(report.b.reference)} | |`,
    ...view.links.map(row),
    '',
  ].join('\n');
}

function renderCauses(view: ReportView): string {
  if (view.causes.length === 0) return '';
  const lines = [
    '### Differences by cause',
    '',
    '| Cause | Total | Neutralized | Accepted | Remaining | Fix |',
    '|---|--:|--:|--:|--:|---|',
  ];
  for (const count of view.causes) {
    const cause = count.unknown ? `**${escapeCell(count.title)}**` : `${inline(count.title)} (${code(count.id)})`;
    // The fix only where something still blocks, as in the text report; every cause keeps its count.
    const fix = count.hint && count.blocking > 0 ? inline(count.hint) : '';
    lines.push(`| ${cause} | ${count.total} | ${count.neutralized} | ${count.accepted} | ${count.blocking > 0 ? `**${count.blocking}**` : '0'} | ${fix} |`);
  }
  lines.push('');
  return lines.join('\n');
}

function renderLayers(view: ReportView, budget: number): string {
  if (view.layers.length === 0) return '';
  const head = [
    '### Layers',
    '',
    ...(view.report.flattened ? ['A file of the flattened comparison counts for the layer of A and the layer of B it came from.', ''] : []),
    '| # | Step | Status | Blob | diff_id | Canonical diff_id | Remaining |',
    '|--:|---|---|---|---|---|--:|',
  ];
  const rows: string[] = [];
  for (const layer of view.layers) {
    // Equal values are the same even when both are none; the text report says "not comparable" there.
    const cell = ({ a, b, breaks }: (typeof layer.links)[number]) => (a === b ? 'same' : breaks ? '**differs**' : 'differs');
    // When the builds ran different steps here, both, cut where they differ.
    const steps = layer.steps ? elideSteps(layer.steps, 80) : null;
    const step = steps ? `A: ${code(steps[0])}<br>B: ${code(steps[1])}` : layer.step ? code(truncate(layer.step, 80)) : '';
    rows.push(`| ${layer.index} | ${step} | ${layer.status} | ${layer.links.map(cell).join(' | ')} | ${layer.blocking} |`);
  }
  return [...fitTable(head, rows, budget, 'layers'), ''].join('\n');
}

const tableHead = '| What | Change | Cause |\n|---|---|---|\n';

interface GroupBlock {
  open: string;
  /** Rows of the table of differences not about one file (config fields, whole-layer kinds). */
  rows: string[];
  /** One list item per remaining file difference. */
  items: string[];
  close: string;
}

function renderGroup(group: GroupView): GroupBlock {
  const open = `<details><summary>${escapeHtml(truncate(group.title, 100))}: ${group.counts}</summary>\n\n`;
  const general = group.general.filter((view) => !view.difference.neutralized);
  const rows = general.map((view) => `| ${code(view.subject)} | ${code(describeChange(view, 80))} | ${describeCauseCell(view)} |`);
  const items: string[] = [];
  for (const { file, differences } of group.files) {
    for (const view of differences.filter((entry) => !entry.difference.neutralized)) items.push(`${renderFileDifference(file, view).join('\n')}\n`);
  }
  const close: string[] = [];
  if (group.neutralized > 0) close.push('', `_${group.neutralized} neutralized by normalization: ${escapeText(group.neutralizedByCause)}._`);
  close.push('', '</details>', '', '');
  return { open, rows, items, close: close.join('\n') };
}

function renderFileDifference(file: string, view: DifferenceView): string[] {
  const hasValues = view.hasValues && view.difference.attribute !== 'content';
  const writer = view.writtenBy === null ? '' : `; written by ${code(truncate(view.writtenBy, writtenByWidth), false)}`;
  const lines = [
    `- ${code(file, false)}${view.origin ? ` (${view.origin})` : ''} **${view.subject}**${hasValues ? ` ${code(describeChange(view, 80), false)}` : ''}: ${describeCauseCell(view, false)}${writer}`,
  ];
  const detail = view.detail;
  if (detail?.format === 'unified') {
    const shown = headLines(detail.lines, diffLineLimits.markdown);
    const shownLines = shown.more > 0 ? [...shown.lines, `... ${shown.more} more lines`] : shown.lines;
    const fence = fenceFor(shownLines.join('\n'));
    // A unified diff line is never empty: a context line for an empty line is one space, kept.
    lines.push('', `  ${fence}diff`, ...shownLines.map((line) => `  ${line}`), `  ${fence}`);
  } else if (detail?.format === 'binary') {
    // The blank line makes it a paragraph of the list item; without it GitHub joins it onto the item's line.
    const differing = detail.differingBytes === undefined ? '' : `, ${detail.differingBytes} ${detail.differingBytes === 1 ? 'byte differs' : 'bytes differ'}`;
    lines.push('', `  binary: ${detail.sizeA} bytes ${code(detail.digestA, false)} -> ${detail.sizeB} bytes ${code(detail.digestB, false)}${differing}`);
    if (detail.ranges.length > 0) {
      const rows = detail.ranges.flatMap((range) => [`bytes ${range.at}`, ...range.hexA.map((row) => `A ${row}`), ...range.hexB.map((row) => `B ${row}`)]);
      if (detail.moreRanges > 0) rows.push(`... ${detail.moreRanges} more ranges`);
      const fence = fenceFor(rows.join('\n'));
      lines.push('', `  ${fence}`, ...rows.map((row) => `  ${row}`), `  ${fence}`);
    }
  } else if (detail?.format === 'decoded') {
    lines.push('', `  ${detail.decoder}, decoded:`);
    const shown = headLines(detail.changes, decodedFieldLimits.markdown);
    for (const change of shown.lines) {
      lines.push(`  - ${code(change.where, false)} **${escapeText(change.field)}**: ${code(change.a, false)} -> ${code(change.b, false)} (${escapeText(change.records)})`);
    }
    if (shown.more > 0) lines.push(`  - ... ${shown.more} more fields`);
    for (const note of detail.notes) lines.push(`  - note: ${escapeText(note)}`);
  } else if (detail?.format === 'timestamps') {
    const rows = [`-${detail.example.a}`, `+${detail.example.b}`];
    const fence = fenceFor(rows.join('\n'));
    lines.push('', `  only timestamps differ (${detail.lines} ${detail.lines === 1 ? 'line' : 'lines'}: ${escapeText(detail.kinds.join(', '))}), for example:`);
    lines.push('', `  ${fence}diff`, ...rows.map((row) => `  ${row}`), `  ${fence}`);
  } else if (detail?.format === 'json') {
    for (const change of detail.changes) lines.push(`  - ${code(change.pointer, false)}: ${code(change.a, false)} -> ${code(change.b, false)}`);
  }
  return lines;
}

function describeCauseCell({ difference }: DifferenceView, inTable = true): string {
  const cause = difference.cause ? `${inline(difference.cause.title, inTable)} (${code(difference.cause.id, inTable)})` : '**no known cause**';
  return difference.accepted
    ? `${cause}; accepted by ${code(difference.accepted.rule, inTable)}: ${escapeCell(difference.accepted.reason)}`
    : cause;
}

// --- an index report -----------------------------------------------------------------------------

/** The index summary's own spelling of code and cells (its goldens are kept byte for byte). */
const indexCode = (text: string) => `\`${text.replace(/`/g, "'")}\``;
const indexCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderIndexMarkdown(view: IndexView, options: MarkdownRenderOptions = {}): string {
  const { report } = view;
  const maxBytes = options.maxBytes ?? defaultMarkdownMaxBytes;
  // Null on a side that has the platform: verify did not read its layers with equal diff_ids.
  const digest = (value: string | null, present = false) => (value === null ? (present ? 'not computed' : '(absent)') : indexCode(shortDigest(value)));
  const head = [
    `## oci-repro: ${view.verdictTitle} (${plural(report.platforms.length, 'platform')}), ${report.passed ? 'gate passed' : 'gate failed'}`,
    '',
    `**${report.passed ? 'Passed' : 'Failed'}:** ${indexCell(report.reason)}`,
    '',
    `${view.platformCounts}.`,
    '',
    '| Platform | Verdict | Canonical A | Canonical B |',
    '|---|---|---|---|',
    ...view.platforms.map((platform) => {
      const verdict = platform.passed ? platform.verdict : `**${platform.verdict}**`;
      return `| ${indexCode(platform.platform)} | ${verdict} | ${digest(platform.canonical.a, platform.presence !== 'b')} | ${platform.same ? 'same' : digest(platform.canonical.b, platform.presence !== 'a')} |`;
    }),
    '',
    '| | A | B |',
    '|---|---|---|',
    `| index | ${indexCode(report.a.reference)} | ${indexCode(report.b.reference)} |`,
    `| index digest | ${digest(report.a.indexDigest)} | ${digest(report.b.indexDigest)} |`,
    `| canonical index | ${digest(report.a.canonicalDigest, true)} | ${report.a.canonicalDigest !== null && report.a.canonicalDigest === report.b.canonicalDigest ? 'same' : digest(report.b.canonicalDigest, true)} |`,
    `| attestations (not compared) | ${view.attestations.a} | ${view.attestations.b} |`,
    '',
  ].join('\n');
  const compared = view.platforms.filter((platform) => platform.view !== null);
  // Each platform's section gets an equal share of what the summary leaves of the cap.
  const share = Math.max(2048, Math.floor((maxBytes - byteLength(head)) / Math.max(1, compared.length)));
  const sections = compared.map((platform) => renderReportMarkdown(platform.view!, share, `## ${platform.platform}:`));
  return [head, ...sections].join('\n');
}

// --- an --expect report --------------------------------------------------------------------------

export function renderExpectMarkdown(view: ExpectView): string {
  const rows = view.platforms.map((platform) => `| ${platform.platform} | \`${platform.canonicalDigest}\` |`);
  const table = `| | digest |\n|---|---|\n| ${view.index ? 'canonical index' : 'canonical'} | \`${view.actual}\` |\n| expected | \`${view.expected}\` |\n`;
  return `### oci-repro: ${view.subject} ${view.passed ? 'matches' : 'differs'}\n\n${view.reason}\n\n${table}${view.index ? `${rows.join('\n')}\n` : ''}`;
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
export function inline(text: string, inTable = true): string {
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

/**
 * The text cut to `maxBytes` at a block boundary (a blank line outside code fences), so no table,
 * list item or fence is cut in the middle; <details> left open are closed.
 */
function cutAtBlock(text: string, maxBytes: number): string {
  const note = '\n_Cut to fit the size limit; the JSON report (`--format json`) has everything._\n';
  const blocks: string[] = [];
  let block: string[] = [];
  let fence: string | null = null;
  for (const line of text.split('\n')) {
    const marker = /^\s*(`{3,})/.exec(line)?.[1];
    if (marker && fence === null) fence = marker;
    else if (marker && fence !== null && line.trim() === fence) fence = null;
    if (line === '' && fence === null) {
      if (block.length > 0) blocks.push(block.join('\n'));
      block = [];
    } else block.push(line);
  }
  if (block.length > 0) blocks.push(block.join('\n'));
  const closeDetails = (kept: string) => '\n</details>\n'.repeat(Math.max(0, (kept.match(/<details>/g)?.length ?? 0) - (kept.match(/<\/details>/g)?.length ?? 0)));
  let output = '';
  for (const next of blocks) {
    const candidate = `${output}${next}\n\n`;
    if (byteLength(candidate) + byteLength(closeDetails(candidate)) + byteLength(note) > maxBytes) break;
    output = candidate;
  }
  return `${output}${closeDetails(output)}${note}`.replace(/^\n+/, '');
}
