/**
 * The terminal report: the summary first (verdict, reason, counts by cause with the fix, where the
 * differences are), then the identity chains side by side, then the details by layer, file and
 * attribute. Fits 100 columns; ANSI colour only when asked (the command passes stdout.isTTY). Reads the
 * view (view.ts) and only formats it; an index report is a summary of its platforms, then each one's.
 */
import type { ExpectView } from './expect-model.js';
import type { IndexView } from './index-view.js';
import { describeChange, diffLineLimits, elideSteps, headLines, truncate, writtenByWidth, type DetailView, type DifferenceView } from './view-values.js';
import type { GroupView, LinkView, ReportView } from './view.js';
import { plural, shortDigest } from './wording.js';

export interface TextRenderOptions {
  color: boolean;
  /** List neutralized differences one by one instead of counting them per cause. */
  verbose?: boolean;
}

const width = 100;

export function renderText(view: ReportView, options: TextRenderOptions): string {
  return renderReportText(view, options, 'oci-repro verify:');
}

/** `name` heads the report: the tool, or the platform in an index report. */
function renderReportText(view: ReportView, options: TextRenderOptions, name: string): string {
  const paint = createPaint(options.color);
  const verbose = options.verbose ?? false;
  const lines: string[] = [];
  renderHeadline(view, name, paint, lines);
  lines.push('');
  renderSummary(view, verbose, paint, lines);
  lines.push('');
  renderIdentity(view, paint, lines);
  if (view.groups.length > 0) {
    lines.push('');
    renderDetails(view, verbose, paint, lines);
  }
  // Lines keep their trailing spaces: a diff's context line for an empty line is one space, and
  // trailing spaces may be the very difference a diff shows.
  return `${lines.join('\n')}\n`;
}

function renderHeadline(view: ReportView, name: string, paint: Paint, lines: string[]): void {
  const { report } = view;
  const verdict = view.verdictTitle.toUpperCase();
  const painted =
    report.verdict === 'not-reproducible' ? (report.passed ? paint.yellow(verdict) : paint.red(verdict)) : paint.green(verdict);
  const gate = report.passed ? paint.green('gate passed') : paint.red('gate FAILED');
  lines.push(`${paint.bold(name)} ${paint.bold(painted)}, ${gate}`);
  lines.push(...wrap(report.reason, 2, 2));
  lines.push(`  A  ${report.a.reference}`);
  lines.push(`  B  ${report.b.reference}`);
  lines.push(paint.dim(`  ${view.settings.join(', ')}`));
  if (report.flattened) lines.push('  layer counts differ: files were compared on the flattened filesystems');
}

function renderSummary(view: ReportView, verbose: boolean, paint: Paint, lines: string[]): void {
  const { report } = view;
  lines.push(paint.bold('Summary'), ...wrap(view.counts, 2, 2));
  if (view.causes.length > 0) {
    lines.push('');
    // Numbers first so the cause can use the rest of the line; the fix only where something blocks.
    const numbers = (left: string, accepted: string, neutralized: string, total: string) =>
      `  ${left.padStart(9)}  ${accepted.padStart(8)}  ${neutralized.padStart(11)}  ${total.padStart(5)}  `;
    const causeColumn = numbers('', '', '', '').length;
    lines.push(paint.dim(`${numbers('remaining', 'accepted', 'neutralized', 'total')}cause`));
    for (const cause of view.causes) {
      const head = numbers(String(cause.blocking), String(cause.accepted), String(cause.neutralized), String(cause.total));
      const [first = '', ...rest] = wrap(`${cause.id}: ${cause.title}`, causeColumn, causeColumn + 2);
      const row = `${head}${first.slice(causeColumn)}`;
      lines.push(cause.blocking > 0 ? (cause.unknown ? paint.red(row) : paint.yellow(row)) : row, ...rest);
      if (cause.hint && (cause.blocking > 0 || verbose)) lines.push(...wrap(`fix: ${cause.hint}`, 6, 11).map((line) => paint.cyan(line)));
    }
  }
  if (report.summary.topLayers.length > 0) {
    lines.push('');
    lines.push(paint.bold('Layers with remaining differences'));
    if (report.flattened) lines.push(paint.dim('  (a file counts for the layer of A and the layer of B it came from)'));
    for (const layer of report.summary.topLayers) {
      const head = `  layer ${String(layer.index).padEnd(3)} ${String(layer.remaining).padStart(5)} remaining  `;
      lines.push(`${head}${truncate(layer.step ?? '(no history step)', width - head.length)}`);
    }
  }
  if (report.summary.topFiles.length > 0) {
    lines.push('');
    lines.push(paint.bold('Files with remaining differences'));
    for (const file of report.summary.topFiles) {
      const where = file.layer === null ? 'fs' : `layer ${file.layer}`;
      lines.push(`  ${where.padEnd(9)} ${file.file}  ${paint.dim(file.attributes.join(', '))}`);
    }
  }
}

const digestWidth = 19;

/** One link of the chain: A and B shortened side by side when they differ, one full digest when equal. */
function renderLink(link: LinkView, indent: number, paint: Paint): string {
  const head = `${' '.repeat(indent)}${link.label.padEnd(indent === 2 ? 21 : 19)}`;
  const show = (digest: string | null | undefined) => (digest === undefined ? '(absent)' : digest === null ? '(none)' : digest);
  const pair = () => `${shortDigest(show(link.a)).padEnd(digestWidth)}  ${shortDigest(show(link.b)).padEnd(digestWidth)}`;
  switch (link.state) {
    case 'not-comparable':
      return `${head}${pair()}  ${paint.dim('not comparable')}`;
    case 'not-computed':
      return `${head}${paint.dim(`not computed (${link.note})`)}  ${link.breaks ? `${paint.red('differs')}  ${paint.bold('<- the chain breaks here')}` : paint.green('same')}`;
    case 'same':
      return `${head}${show(link.a)}  ${paint.green('same')}`;
    case 'differs':
      return `${head}${pair()}  ${link.breaks ? `${paint.red('differs')}  ${paint.bold('<- the chain breaks here')}` : paint.red('differs')}`;
  }
}

function renderIdentity(view: ReportView, paint: Paint, lines: string[]): void {
  lines.push(`${paint.bold('Identity chain'.padEnd(23))}${'A'.padEnd(digestWidth + 2)}B`);
  for (const link of view.links) lines.push(renderLink(link, 2, paint));
  for (const layer of view.layers) {
    const status = layer.layer.status;
    const paintedStatus =
      status === 'identical' ? paint.green(layer.status) : status === 'content' || status === 'missing' ? paint.red(layer.status) : paint.yellow(layer.status);
    const head = `  layer ${layer.index}  ${paintedStatus}`;
    const headWidth = `  layer ${layer.index}  ${layer.status}`.length;
    if (layer.steps) {
      // The builds ran different steps here: both, cut where they differ.
      const [a, b] = elideSteps(layer.steps, width - 23);
      lines.push(head, `    ${'step in A'.padEnd(19)}${a}`, `    ${'step in B'.padEnd(19)}${b}`);
    } else lines.push(layer.step ? `${head}  ${truncate(layer.step, width - headWidth - 2)}` : head);
    for (const link of layer.links) lines.push(renderLink(link, 4, paint));
  }
}

function renderDetails(view: ReportView, verbose: boolean, paint: Paint, lines: string[]): void {
  const note = view.report.omitted !== undefined && view.report.omitted.length > 0
    ? '  (remaining differences; neutralized ones are counted, --format json lists some, --all-differences every one)'
    : '  (remaining differences; neutralized ones are counted, --format json lists them)';
  lines.push(`${paint.bold('Details')}${verbose ? '' : paint.dim(note)}`);
  for (const group of view.groups) renderGroup(group, verbose, paint, lines);
}

function renderGroup(group: GroupView, verbose: boolean, paint: Paint, lines: string[]): void {
  lines.push('');
  lines.push(`${paint.bold(truncate(group.title, width - group.counts.length - 4))}  ${paint.dim(group.counts)}`);
  const show = (difference: DifferenceView) => verbose || !difference.difference.neutralized;
  for (const difference of group.general.filter(show)) renderDifference(difference, 2, paint, lines);
  for (const { file, differences } of group.files) {
    const shown = differences.filter(show);
    if (shown.length === 0) continue;
    const origin = shown.map((difference) => difference.origin).find((text) => text !== null);
    lines.push(origin ? `  ${file}  ${paint.dim(`(${origin})`)}` : `  ${file}`);
    for (const difference of shown) renderDifference(difference, 4, paint, lines);
  }
  if (!verbose && group.neutralized > 0) lines.push(paint.dim(`  + ${group.neutralized} neutralized: ${group.neutralizedByCause}`));
  if (verbose && group.omittedNote !== null) lines.push(paint.dim(`  ${group.omittedNote}`));
}

function renderDifference(view: DifferenceView, indent: number, paint: Paint, lines: string[]): void {
  const { difference } = view;
  const pad = ' '.repeat(indent);
  const content = difference.attribute === 'content';
  const change = view.hasValues && !content ? `  ${describeChange(view)}` : '';
  lines.push(`${pad}${paint.bold(view.subject)}${change}${difference.neutralized ? `  ${paint.dim('[neutralized]')}` : ''}`);
  // On a line of its own: a policy's reason is free text, and the width rule holds for it too.
  if (difference.accepted) {
    const tag = `[accepted by ${difference.accepted.rule}: ${difference.accepted.reason}]`;
    lines.push(...wrap(tag, indent + 2, indent + 4).map((line) => paint.yellow(line)));
  }
  const cause = wrap(`cause: ${view.cause}`, indent + 2, indent + 4);
  lines.push(...cause.map((line) => (difference.cause ? paint.dim(line) : paint.red(line))));
  // Its own line, cut to one: a long RUN line would otherwise wrap over several.
  if (view.writtenBy !== null) lines.push(paint.dim(`${pad}  written by ${truncate(view.writtenBy, Math.min(writtenByWidth, width - indent - 13))}`));
  if (view.detail) renderDetail(view.detail, indent + 4, paint, lines);
  else if (content && view.hasValues) lines.push(`${pad}    ${describeChange(view, width - indent - 4)}`);
}

function renderDetail(detail: DetailView, indent: number, paint: Paint, lines: string[]): void {
  const pad = ' '.repeat(indent);
  switch (detail.format) {
    case 'unified': {
      const shown = headLines(detail.lines, diffLineLimits.text);
      for (const line of shown.lines) {
        const painted =
          line.startsWith('+++') || line.startsWith('---')
            ? paint.bold(line)
            : line.startsWith('@@')
              ? paint.cyan(line)
              : line.startsWith('+')
                ? paint.green(line)
                : line.startsWith('-')
                  ? paint.red(line)
                  : line;
        lines.push(`${pad}${painted}`);
      }
      if (shown.more > 0) lines.push(paint.dim(`${pad}... ${shown.more} more lines (--format json has the whole diff)`));
      return;
    }
    case 'json':
      for (const change of detail.changes) lines.push(`${pad}${change.pointer}  ${change.a} -> ${change.b}`);
      return;
    case 'binary':
      lines.push(`${pad}binary: ${detail.sizeA} bytes ${detail.digestA} -> ${detail.sizeB} bytes ${detail.digestB}${differing(detail)}`);
      // A's rows then B's, each labelled, so the same offset sits in the same columns.
      for (const range of detail.ranges) {
        lines.push(`${pad}bytes ${range.at}`);
        for (const row of range.hexA) lines.push(`${pad}A ${paint.red(row)}`);
        for (const row of range.hexB) lines.push(`${pad}B ${paint.green(row)}`);
      }
      if (detail.moreRanges > 0) lines.push(paint.dim(`${pad}... ${detail.moreRanges} more ranges`));
      return;
    case 'decoded':
      lines.push(`${pad}${detail.decoder}, decoded: ${detail.changes.length === 1 ? '1 field differs' : `${detail.changes.length} fields differ`}`);
      for (const change of detail.changes) {
        // A member path can be long: the line keeps the 100-column rule (the JSON report has it whole).
        lines.push(`${pad}  ${truncate(`${change.where} ${change.field}: ${change.a} -> ${change.b}`, width - indent - 2)}`);
        lines.push(...wrap(change.records, indent + 4, indent + 4).map((line) => paint.dim(line)));
      }
      return;
    case 'timestamps':
      lines.push(`${pad}only timestamps differ (${detail.lines} ${detail.lines === 1 ? 'line' : 'lines'}: ${detail.kinds.join(', ')}), for example:`);
      lines.push(`${pad}-${paint.red(detail.example.a)}`, `${pad}+${paint.green(detail.example.b)}`);
      return;
  }
}

// --- an index report -----------------------------------------------------------------------------

export function renderIndexText(view: IndexView, options: TextRenderOptions): string {
  const { report } = view;
  const paint = createPaint(options.color);
  const verdict = view.verdictTitle.toUpperCase();
  const painted = report.verdict === 'not-reproducible' ? (report.passed ? paint.yellow(verdict) : paint.red(verdict)) : paint.green(verdict);
  const lines = [
    `${paint.bold('oci-repro verify:')} ${paint.bold(painted)} (${plural(report.platforms.length, 'platform')}), ${report.passed ? paint.green('gate passed') : paint.red('gate FAILED')}`,
    ...wrap(report.reason, 2, 2),
    `  A  ${report.a.reference}`,
    `  B  ${report.b.reference}`,
    '',
    'Platforms',
    `  ${view.platformCounts}`,
    '',
  ];
  const column = Math.max(8, ...view.platforms.map((platform) => platform.platform.length));
  // Null on a side that has the platform: verify did not read its layers with equal diff_ids.
  const digest = (value: string | null, present = false) => (value === null ? (present ? 'not computed' : '(absent)') : shortDigest(value));
  lines.push(`  ${'platform'.padEnd(column)}  ${'canonical A'.padEnd(19)}  ${'canonical B'.padEnd(19)}  verdict`);
  for (const platform of view.platforms) {
    const { a, b } = platform.canonical;
    lines.push(
      `  ${platform.platform.padEnd(column)}  ${digest(a, platform.presence !== 'b').padEnd(19)}  ${(platform.same ? 'same' : digest(b, platform.presence !== 'a')).padEnd(19)}  ${platform.passed ? platform.verdict : paint.red(platform.verdict)}`,
    );
  }
  lines.push('', `${'Indexes'.padEnd(20)} ${'A'.padEnd(20)} B`);
  const row = (label: string, a: string, b: string, same = 'same') => `  ${label.padEnd(18)} ${a.padEnd(20)} ${a === b ? same : b}`;
  lines.push(row('index digest', shortDigest(report.a.indexDigest), shortDigest(report.b.indexDigest)));
  const canonicalIndex = [digest(report.a.canonicalDigest, true), digest(report.b.canonicalDigest, true)] as const;
  lines.push(row('canonical index', ...canonicalIndex, canonicalIndex[0] === 'not computed' ? 'not computed' : 'same'));
  const attestations = (count: number) => `${count} (not compared)`;
  lines.push(row('attestations', attestations(view.attestations.a), attestations(view.attestations.b), attestations(view.attestations.b)));
  for (const platform of view.platforms) {
    if (!platform.view) continue;
    lines.push('', `=== ${platform.platform} ${'='.repeat(Math.max(3, 95 - platform.platform.length))}`, '');
    // Each platform's report headed by the platform instead of the tool name.
    lines.push(renderReportText(platform.view, options, `${platform.platform}:`).replace(/\n$/, ''));
  }
  return `${lines.join('\n')}\n`;
}

// --- an --expect report --------------------------------------------------------------------------

export function renderExpectText(view: ExpectView): string {
  const row = (label: string, digest: string) => `${label.padEnd(18)}${digest}`;
  const lines = [
    `${view.passed ? 'PASS' : 'FAIL'}: ${view.reason}`,
    row(view.index ? 'canonical index' : 'canonical digest', view.actual),
    row('expected', view.expected),
    row(view.index ? 'index digest' : 'image ID', view.identity),
    ...view.platforms.map((platform) => `  ${platform.platform.padEnd(16)} ${platform.canonicalDigest}`),
  ];
  return `${lines.join('\n')}\n`;
}

// --- colour and width ----------------------------------------------------------------------------

interface Paint {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

function createPaint(color: boolean): Paint {
  const style = (open: number, close: number) => (text: string) => (color && text ? `\u001b[${open}m${text}\u001b[${close}m` : text);
  return {
    bold: style(1, 22),
    dim: style(2, 22),
    red: style(31, 39),
    green: style(32, 39),
    yellow: style(33, 39),
    cyan: style(36, 39),
  };
}

/** Word-wraps to the report width; the first line indented by `first`, the others by `rest`. */
function wrap(text: string, first: number, rest: number, max = width): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = ' '.repeat(first);
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > max) {
      lines.push(line);
      line = ' '.repeat(rest);
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  if (!empty) lines.push(line);
  return lines;
}

/** `, 12 bytes differ` when the contents were compared. */
function differing(detail: Extract<DetailView, { format: 'binary' }>): string {
  return detail.differingBytes === undefined ? '' : `, ${detail.differingBytes} ${detail.differingBytes === 1 ? 'byte differs' : 'bytes differ'}`;
}
