/**
 * The terminal report: the summary first (verdict, reason, counts by cause with the fix, where the
 * differences are), then the identity chains side by side, then the details by layer, file and
 * attribute. Fits 100 columns; ANSI colour only when asked (the command passes stdout.isTTY).
 * Also holds the formatting helpers the Markdown and JUnit renderers share.
 */
import { parseMode } from '../diff/mode.js';
import { elideEnd, elidePair } from './elide.js';
import { describeStep } from './identity.js';
import type { Report, Verdict } from './model.js';
import type { LayerComparison, LayerSide, LayerStatus } from '../diff/layers.js';
import { unknownCauseId, type ContentDetail, type Difference, type OmittedDifferences } from '../diff/model.js';
import { compareText, describeFileChange } from './summary.js';
import { countOmitted, differenceScope, isBlocking } from '../diff/count.js';

export interface TextRenderOptions {
  color: boolean;
  /** List neutralized differences one by one instead of counting them per cause. */
  verbose?: boolean;
}

const width = 100;
/** Lines of one content diff shown before it is cut (the JSON report has all of it). */
const maxDiffLines = 200;

// --- shared helpers ------------------------------------------------------------------------------

export const verdictTitles: Readonly<Record<Verdict, string>> = {
  identical: 'identical',
  reproducible: 'reproducible (equal after normalization)',
  'not-reproducible': 'not reproducible',
};

export const statusTitles: Readonly<Record<LayerStatus, string>> = {
  identical: 'identical',
  compression: 'compression only',
  tar: 'tar noise only',
  content: 'content differs',
  missing: 'missing on one side',
};

/** A layer's status in a few words; a missing layer says which side has it. */
export function describeStatus(layer: LayerComparison): string {
  if (layer.status !== 'missing') return statusTitles[layer.status];
  return layer.a ? 'only in A' : 'only in B';
}

/** 12 hex digits: enough to tell two digests apart when both are shown side by side. Also inside text. */
export function shortDigest(text: string): string {
  return text.replace(/\b(sha256|sha512):([0-9a-f]{12})[0-9a-f]{52,116}\b/g, '$1:$2');
}

/** One value shown alone, on one line, cut at its end (see `elidePair` for two values that differ). */
export function truncate(text: string, max: number): string {
  return elideEnd(text, max);
}

/** A value as a person reads it: modes in octal, times as dates, config values as JSON. */
export function formatValue(difference: Difference, value: unknown): string {
  if (value === null || value === undefined) return '(absent)';
  if (difference.kind === 'config-field' || difference.kind === 'manifest-field') {
    // A whole history entry (a step one build ran): the step, as written, is what a reader looks for.
    const step = /^\/history\/\d+$/.test(difference.path) ? (value as { created_by?: unknown }).created_by : undefined;
    if (typeof step === 'string') return `step ${JSON.stringify(describeStep(step))}`;
    return JSON.stringify(value);
  }
  if (difference.attribute === 'mode') {
    const mode = parseMode(value);
    if (mode !== null) return `0${mode.toString(8).padStart(3, '0')}`;
  }
  if ((difference.attribute === 'mtime' || difference.attribute === 'atime' || difference.attribute === 'ctime') && typeof value === 'number') {
    const date = new Date(value * 1000);
    if (!Number.isNaN(date.getTime())) return date.toISOString().replace('.000Z', 'Z');
  }
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** `a -> b`, each side cut to fit where it differs from the other, digests shortened since both are shown. */
export function formatChange(difference: Difference, max = 64): string {
  const side = (value: unknown) => shortDigest(formatValue(difference, value));
  const [a, b] = elidePair(side(difference.a), side(difference.b), Math.floor((max - 4) / 2));
  return `${a} -> ${b}`;
}

/** Both sides' Dockerfile steps of a layer, cut where they differ; null when both builds ran the same step. */
export function describeSteps(layer: LayerComparison, max: number): [string, string] | null {
  const a = layer.a?.step ?? null;
  const b = layer.b?.step ?? null;
  if (layer.a === null || layer.b === null || a === b) return null;
  return elidePair(a ?? '(no history step)', b ?? '(no history step)', max);
}

/** What a difference is about, within its group: the pointer, the attribute, or the layer-level kind. */
export function describeSubject(difference: Difference): string {
  if (difference.kind === 'config-field' || difference.kind === 'manifest-field') {
    return difference.kind === 'manifest-field' ? `manifest ${difference.path}` : difference.path;
  }
  if (difference.file !== undefined) return describeFileChange(difference);
  return difference.kind;
}

export function describeCause(difference: Difference): string {
  return difference.cause ? `${difference.cause.title} [${difference.cause.id}]` : `no known cause [${unknownCauseId}]`;
}

export interface DifferenceGroup {
  /** `config`, `layer 2`, or `filesystem`. */
  id: string;
  title: string;
  layer: LayerComparison | null;
  /** Differences not about one file (config fields, whole-layer kinds), in report order. */
  general: Difference[];
  /** File differences by file path, files sorted. */
  files: { file: string; differences: Difference[] }[];
  /** Differences that still block: neither neutralized nor accepted. */
  remaining: number;
  /** Neutralized differences, listed or not. */
  neutralized: number;
  accepted: number;
  /** Neutralized differences of this group counted but not listed, per cause (`Report.omitted`). */
  omitted: OmittedDifferences[];
}

/**
 * Config and manifest first, then each layer by index, then the flattened filesystem, which holds
 * the file differences of a flattened comparison (their `origin` names each side's layer).
 */
export function groupDifferences(report: Report): DifferenceGroup[] {
  const groups = new Map<string, DifferenceGroup>();
  const layers = new Map(report.layers.map((layer) => [layer.index, layer]));
  const groupOf = (scope: string): DifferenceGroup => {
    let group = groups.get(scope);
    if (group) return group;
    let id: string;
    let title: string;
    let layer: LayerComparison | null = null;
    if (scope.startsWith('layers/')) {
      const index = Number(scope.slice('layers/'.length));
      id = `layer ${index}`;
      layer = layers.get(index) ?? null;
      title = layer?.step ? `layer ${index}: ${layer.step}` : id;
    } else if (scope === 'fs') {
      id = 'filesystem';
      title = 'flattened filesystem';
    } else {
      id = 'config';
      title = 'config and manifest';
    }
    group = { id, title, layer, general: [], files: [], remaining: 0, neutralized: 0, accepted: 0, omitted: [] };
    groups.set(scope, group);
    return group;
  };
  const fileLists = new Map<DifferenceGroup, Map<string, Difference[]>>();
  for (const difference of report.differences) {
    const group = groupOf(differenceScope(difference));
    if (difference.neutralized) group.neutralized += 1;
    else if (difference.accepted) group.accepted += 1;
    else group.remaining += 1;
    if (difference.file === undefined) {
      group.general.push(difference);
      continue;
    }
    let files = fileLists.get(group);
    if (!files) {
      files = new Map();
      fileLists.set(group, files);
    }
    const list = files.get(difference.file) ?? [];
    list.push(difference);
    files.set(difference.file, list);
  }
  for (const omitted of report.omitted ?? []) {
    const group = groupOf(omitted.scope);
    group.neutralized += omitted.count;
    group.omitted.push(omitted);
  }
  for (const [group, files] of fileLists) {
    group.files = [...files]
      .sort(([x], [y]) => compareText(x, y))
      .map(([file, differences]) => ({ file, differences }));
  }
  const rank = (group: DifferenceGroup) =>
    group.id === 'config' ? -1 : group.id === 'filesystem' ? Number.MAX_SAFE_INTEGER : (group.layer?.index ?? Number(group.id.slice(6)));
  return [...groups.values()].sort((x, y) => rank(x) - rank(y));
}

/** `file-mtime 118, owner-names 2`: neutralized differences counted per cause, the `omitted` ones too. */
export function countNeutralizedByCause(differences: readonly Difference[], omitted: readonly OmittedDifferences[] = []): string {
  const counts = new Map<string, number>();
  for (const difference of differences) {
    if (!difference.neutralized) continue;
    const id = difference.cause?.id ?? unknownCauseId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const group of omitted) counts.set(group.cause, (counts.get(group.cause) ?? 0) + group.count);
  return [...counts]
    .sort(([x, a], [y, b]) => b - a || compareText(x, y))
    .map(([id, count]) => `${id} ${count}`)
    .join(', ');
}

/** Which link of an identity chain breaks: the most normalized one that differs. */
export function brokenLayerLink(layer: LayerComparison): 'blob' | 'diffId' | 'canonical' | 'missing' | null {
  switch (layer.status) {
    case 'identical':
      return null;
    case 'compression':
      return 'blob';
    case 'tar':
      return 'diffId';
    case 'content':
      return 'canonical';
    case 'missing':
      return 'missing';
  }
}

/** The manifest digests are comparable only when both images have a manifest (a legacy docker-archive has none). */
export function comparableManifests(report: Report): boolean {
  return report.a.manifestDigest !== null && report.b.manifestDigest !== null;
}

export function brokenImageLink(report: Report): 'manifest' | 'imageId' | 'canonical' | null {
  // The verdict, not the digests: verify may leave them uncomputed (null on both sides).
  if (report.verdict === 'not-reproducible') return 'canonical';
  if (report.a.imageId !== report.b.imageId) return 'imageId';
  if (comparableManifests(report) && report.a.manifestDigest !== report.b.manifestDigest) return 'manifest';
  return null;
}

/** `A: layer 1, B: layer 0`: where each side of a flattened comparison took the file from. */
export function describeOrigin(difference: Difference): string | null {
  if (!difference.origin) return null;
  const side = (name: string, layer: number | null) => `${name}: ${layer === null ? 'absent' : `layer ${layer}`}`;
  return `${side('A', difference.origin.a)}, ${side('B', difference.origin.b)}`;
}

/** `4 remaining, 1 accepted, 3 neutralized`: a group's counts, the zero ones after the first left out. */
export function describeGroupCounts(group: DifferenceGroup): string {
  return [
    `${group.remaining} remaining`,
    group.accepted ? `${group.accepted} accepted` : '',
    group.neutralized ? `${group.neutralized} neutralized` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** `N more neutralized differences not listed (use --all-differences)`, or null when all are listed. */
export function describeOmitted(omitted: readonly OmittedDifferences[] | undefined): string | null {
  const count = countOmitted(omitted);
  if (count === 0) return null;
  return `${count} more neutralized ${count === 1 ? 'difference' : 'differences'} not listed (use --all-differences)`;
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/**
 * The counts line of the summary, shared by the renderers. Remaining here is what still blocks, as in
 * the cause table's column: accepted differences are counted apart, never as remaining.
 */
export function describeCounts(report: Report): string {
  const { summary } = report;
  if (summary.differences === 0) return 'no differences';
  const blocking = report.differences.filter(isBlocking);
  const unexplained = blocking.filter((difference) => difference.cause === null).length;
  const unlisted = countOmitted(report.omitted);
  return (
    `${plural(summary.differences, 'difference')}: ${summary.neutralized} neutralized by normalization` +
    `${unlisted > 0 ? ` (${unlisted} of them not listed: use --all-differences)` : ''}, ` +
    `${summary.accepted > 0 ? `${summary.accepted} accepted by policy, ` : ''}` +
    `${blocking.length} remaining${unexplained > 0 ? ` (${unexplained} with no known cause)` : ''}`
  );
}

/**
 * The report with control characters in every string made visible (`\x1b`): file names and file
 * contents come from the images, and must not move a terminal's cursor or forge colours in a CI log.
 * Line feeds and tabs stay (diffs need them).
 */
export function showControlCharacters<T>(value: T): T {
  if (typeof value === 'string') {
    return value.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`) as T;
  }
  if (Array.isArray(value)) return value.map((item) => showControlCharacters(item)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, showControlCharacters(item)])) as T;
  }
  return value;
}

// --- colour --------------------------------------------------------------------------------------

export interface Paint {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

export function createPaint(color: boolean): Paint {
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

// --- the text report -----------------------------------------------------------------------------

export function renderText(unsafeReport: Report, options: TextRenderOptions): string {
  const report = showControlCharacters(unsafeReport);
  const paint = createPaint(options.color);
  const lines: string[] = [];
  renderHeadline(report, paint, lines);
  lines.push('');
  renderSummary(report, options.verbose ?? false, paint, lines);
  lines.push('');
  renderIdentity(report, paint, lines);
  const groups = groupDifferences(report);
  if (groups.length > 0) {
    lines.push('');
    renderDetails(groups, options.verbose ?? false, report.omitted !== undefined && report.omitted.length > 0, paint, lines);
  }
  // Lines keep their trailing spaces: a diff's context line for an empty line is one space, and
  // trailing spaces may be the very difference a diff shows.
  return `${lines.join('\n')}\n`;
}

function renderHeadline(report: Report, paint: Paint, lines: string[]): void {
  const verdict = verdictTitles[report.verdict].toUpperCase();
  const painted =
    report.verdict === 'not-reproducible' ? (report.passed ? paint.yellow(verdict) : paint.red(verdict)) : paint.green(verdict);
  const gate = report.passed ? paint.green('gate passed') : paint.red('gate FAILED');
  lines.push(`${paint.bold('oci-repro verify:')} ${paint.bold(painted)}, ${gate}`);
  lines.push(...wrap(report.reason, 2, 2));
  lines.push(`  A  ${report.a.reference}`);
  lines.push(`  B  ${report.b.reference}`);
  const options = report.options;
  const settings = [
    `epoch ${options.epoch}`,
    `timestamps ${options.timestampMode}`,
    options.disabledRules.length ? `rules off: ${options.disabledRules.join(', ')}` : '',
    options.strict ? 'strict' : '',
    options.policy ? `policy ${options.policy}` : '',
  ].filter(Boolean);
  lines.push(paint.dim(`  ${settings.join(', ')}`));
  if (report.flattened) lines.push('  layer counts differ: files were compared on the flattened filesystems');
}

function renderSummary(report: Report, verbose: boolean, paint: Paint, lines: string[]): void {
  const { summary } = report;
  lines.push(paint.bold('Summary'), ...wrap(describeCounts(report), 2, 2));
  if (summary.byCause.length > 0) {
    lines.push('');
    // Numbers first so the cause can use the rest of the line; the fix only where something blocks.
    const numbers = (left: string, accepted: string, neutralized: string, total: string) =>
      `  ${left.padStart(9)}  ${accepted.padStart(8)}  ${neutralized.padStart(11)}  ${total.padStart(5)}  `;
    const causeColumn = numbers('', '', '', '').length;
    lines.push(paint.dim(`${numbers('remaining', 'accepted', 'neutralized', 'total')}cause`));
    for (const count of summary.byCause) {
      const left = count.count - count.neutralized - count.accepted;
      const head = numbers(String(left), String(count.accepted), String(count.neutralized), String(count.count));
      const [first = '', ...rest] = wrap(`${count.cause}: ${count.title}`, causeColumn, causeColumn + 2);
      const row = `${head}${first.slice(causeColumn)}`;
      lines.push(left > 0 ? (count.cause === unknownCauseId ? paint.red(row) : paint.yellow(row)) : row, ...rest);
      if (count.hint && (left > 0 || verbose)) lines.push(...wrap(`fix: ${count.hint}`, 6, 11).map((line) => paint.cyan(line)));
    }
  }
  if (summary.topLayers.length > 0) {
    lines.push('');
    lines.push(paint.bold('Layers with remaining differences'));
    if (report.flattened) lines.push(paint.dim('  (a file counts for the layer of A and the layer of B it came from)'));
    for (const layer of summary.topLayers) {
      const head = `  layer ${String(layer.index).padEnd(3)} ${String(layer.remaining).padStart(5)} remaining  `;
      lines.push(`${head}${truncate(layer.step ?? '(no history step)', width - head.length)}`);
    }
  }
  if (summary.topFiles.length > 0) {
    lines.push('');
    lines.push(paint.bold('Files with remaining differences'));
    for (const file of summary.topFiles) {
      const where = file.layer === null ? 'fs' : `layer ${file.layer}`;
      lines.push(`  ${where.padEnd(9)} ${file.file}  ${paint.dim(file.attributes.join(', '))}`);
    }
  }
}

const digestWidth = 19;

/** One link of the chain: A and B shortened side by side when they differ, one full digest when equal. */
function renderLink(
  label: string,
  a: string | null | undefined,
  b: string | null | undefined,
  broken: boolean,
  indent: number,
  paint: Paint,
): string {
  const head = `${' '.repeat(indent)}${label.padEnd(indent === 2 ? 21 : 19)}`;
  const show = (digest: string | null | undefined) => (digest === undefined ? '(absent)' : digest === null ? '(none)' : digest);
  // A missing manifest digest (legacy docker-archive) neither matches nor differs.
  if (a === null || b === null) {
    return `${head}${shortDigest(show(a)).padEnd(digestWidth)}  ${shortDigest(show(b)).padEnd(digestWidth)}  ${paint.dim('not comparable')}`;
  }
  if (a === b) return `${head}${show(a)}  ${paint.green('same')}`;
  const mark = broken ? `${paint.red('differs')}  ${paint.bold('<- the chain breaks here')}` : paint.red('differs');
  return `${head}${shortDigest(show(a)).padEnd(digestWidth)}  ${shortDigest(show(b)).padEnd(digestWidth)}  ${mark}`;
}

function renderIdentity(report: Report, paint: Paint, lines: string[]): void {
  const broken = brokenImageLink(report);
  lines.push(`${paint.bold('Identity chain'.padEnd(23))}${'A'.padEnd(digestWidth + 2)}B`);
  lines.push(renderLink('manifest digest', report.a.manifestDigest, report.b.manifestDigest, broken === 'manifest', 2, paint));
  lines.push(renderLink('image ID', report.a.imageId, report.b.imageId, broken === 'imageId', 2, paint));
  // Null on both sides: verify left layers with equal diff_ids unread (app/verify.ts); the verdict says same or not.
  const notRead = (indent: number, label: string, why: string) => `${' '.repeat(indent)}${label.padEnd(indent === 2 ? 21 : 19)}${paint.dim(`not computed (${why})`)}`;
  const verdictMark = broken === 'canonical' ? `${paint.red('differs')}  ${paint.bold('<- the chain breaks here')}` : paint.green('same');
  lines.push(
    report.a.canonicalDigest === null && report.b.canonicalDigest === null
      ? `${notRead(2, 'canonical digest', 'see --verify-blobs')}  ${verdictMark}`
      : renderLink('canonical digest', report.a.canonicalDigest, report.b.canonicalDigest, broken === 'canonical', 2, paint),
  );
  for (const layer of report.layers) {
    const link = brokenLayerLink(layer);
    const status = describeStatus(layer);
    const paintedStatus = layer.status === 'identical' ? paint.green(status) : layer.status === 'content' || layer.status === 'missing' ? paint.red(status) : paint.yellow(status);
    const head = `  layer ${layer.index}  ${paintedStatus}`;
    const headWidth = `  layer ${layer.index}  ${status}`.length;
    const steps = describeSteps(layer, width - 23);
    if (steps) {
      // The builds ran different steps here: both, cut where they differ.
      lines.push(head, `    ${'step in A'.padEnd(19)}${steps[0]}`, `    ${'step in B'.padEnd(19)}${steps[1]}`);
    } else lines.push(layer.step ? `${head}  ${truncate(layer.step, width - headWidth - 2)}` : head);
    const pick = (side: LayerSide | null, field: 'digest' | 'diffId' | 'canonicalDiffId') => (side ? side[field] : undefined);
    lines.push(renderLink('blob digest', pick(layer.a, 'digest'), pick(layer.b, 'digest'), link === 'blob', 4, paint));
    lines.push(renderLink('diff_id', pick(layer.a, 'diffId'), pick(layer.b, 'diffId'), link === 'diffId', 4, paint));
    lines.push(
      layer.a?.canonicalDiffId === null && layer.b?.canonicalDiffId === null
        ? notRead(4, 'canonical diff_id', 'same diff_id, not read')
        : renderLink('canonical diff_id', pick(layer.a, 'canonicalDiffId'), pick(layer.b, 'canonicalDiffId'), link === 'canonical', 4, paint),
    );
  }
}

function renderDetails(groups: readonly DifferenceGroup[], verbose: boolean, someOmitted: boolean, paint: Paint, lines: string[]): void {
  const note = someOmitted
    ? '  (remaining differences; neutralized ones are counted, --format json lists some, --all-differences every one)'
    : '  (remaining differences; neutralized ones are counted, --format json lists them)';
  lines.push(`${paint.bold('Details')}${verbose ? '' : paint.dim(note)}`);
  for (const group of groups) {
    lines.push('');
    const counts = describeGroupCounts(group);
    lines.push(`${paint.bold(truncate(group.title, width - counts.length - 4))}  ${paint.dim(counts)}`);
    const show = (difference: Difference) => verbose || !difference.neutralized;
    for (const difference of group.general.filter(show)) {
      renderDifference(difference, describeSubject(difference), 2, paint, lines);
    }
    for (const { file, differences } of group.files) {
      const shown = differences.filter(show);
      if (shown.length === 0) continue;
      const origin = shown.map(describeOrigin).find((text) => text !== null);
      lines.push(origin ? `  ${file}  ${paint.dim(`(${origin})`)}` : `  ${file}`);
      for (const difference of shown) renderDifference(difference, describeFileChange(difference), 4, paint, lines);
    }
    if (!verbose && group.neutralized > 0) {
      const all = [...group.general, ...group.files.flatMap((entry) => entry.differences)];
      lines.push(paint.dim(`  + ${group.neutralized} neutralized: ${countNeutralizedByCause(all, group.omitted)}`));
    }
    const omitted = verbose ? describeOmitted(group.omitted) : null;
    if (omitted !== null) lines.push(paint.dim(`  ${omitted}`));
  }
}

function renderDifference(difference: Difference, subject: string, indent: number, paint: Paint, lines: string[]): void {
  const pad = ' '.repeat(indent);
  const hasValues = !(difference.a == null && difference.b == null) && difference.kind !== 'file-added' && difference.kind !== 'file-removed';
  const change = hasValues && difference.attribute !== 'content' ? `  ${formatChange(difference)}` : '';
  lines.push(`${pad}${paint.bold(subject)}${change}${difference.neutralized ? `  ${paint.dim('[neutralized]')}` : ''}`);
  // On a line of its own: a policy's reason is free text, and the width rule holds for it too.
  if (difference.accepted) {
    const tag = `[accepted by ${difference.accepted.rule}: ${difference.accepted.reason}]`;
    lines.push(...wrap(tag, indent + 2, indent + 4).map((line) => paint.yellow(line)));
  }
  const cause = wrap(`cause: ${describeCause(difference)}`, indent + 2, indent + 4);
  lines.push(...cause.map((line) => (difference.cause ? paint.dim(line) : paint.red(line))));
  if (difference.detail) renderDetail(difference.detail, indent + 4, paint, lines);
  else if (difference.attribute === 'content' && hasValues) lines.push(`${pad}    ${formatChange(difference, width - indent - 4)}`);
}

function renderDetail(detail: ContentDetail, indent: number, paint: Paint, lines: string[]): void {
  const pad = ' '.repeat(indent);
  switch (detail.format) {
    case 'unified': {
      const diffLines = detail.diff.replace(/\n$/, '').split('\n');
      for (const line of diffLines.slice(0, maxDiffLines)) {
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
      if (diffLines.length > maxDiffLines) {
        lines.push(paint.dim(`${pad}... ${diffLines.length - maxDiffLines} more lines (--format json has the whole diff)`));
      }
      return;
    }
    case 'json':
      for (const change of detail.changes) {
        const [a, b] = elidePair(JSON.stringify(change.a ?? null), JSON.stringify(change.b ?? null), 40);
        lines.push(`${pad}${change.pointer}  ${a} -> ${b}`);
      }
      return;
    case 'binary':
      lines.push(`${pad}binary: ${detail.sizeA} bytes ${shortDigest(detail.digestA)} -> ${detail.sizeB} bytes ${shortDigest(detail.digestB)}`);
      return;
  }
}

/** Word-wraps to the report width; the first line indented by `first`, the others by `rest`. */
export function wrap(text: string, first: number, rest: number, max = width): string[] {
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
