/**
 * The report as one self-contained HTML page a person reads in a browser: inline styles, no script, no
 * external file. The verdict and the identity chain first, then the causes and the layers, then each
 * group of differences (config, each layer, the flattened filesystem) in a collapsible <details>; every
 * difference has an anchor derived from its path and is linked from the index of remaining ones. Text
 * diffs are shown side by side with changed words marked. Reads the view (view.ts) and only formats and
 * escapes it; an index report is a summary of its platforms, then each one's report. Each report's body
 * also renders in a place inside another page (a fleet's, render-fleet-html.ts), its anchors prefixed.
 */
import { unknownCauseId } from '../diff/model.js';
import { elidePair } from './elide.js';
import type { ExpectView } from './expect-model.js';
import type { IndexView } from './index-view.js';
import { renderSideBySide } from './render-html-diff.js';
import { renderDecoded } from './render-html-members.js';
import { anchorFor, escapeHtml as esc } from './render-html-escape.js';
import { htmlStyle } from './render-html-style.js';
import { elideSteps, headLines, truncate, writtenByWidth, type DifferenceView } from './view-values.js';
import type { CauseView, GroupView, LinkView, ReportView } from './view.js';
import { plural, shortDigest } from './wording.js';

/** Lines of one unified diff shown before it is cut (the JSON report has all of it). */
export const htmlDiffLines = 400;
/** Each value of a change is cut to this many graphemes, where it differs (elide.ts). */
const valueWidth = 120;

export function renderHtml(view: ReportView): string {
  const title = `oci-repro: ${view.verdictTitle}`;
  return page(title, renderReportBody(view, pagePlace));
}

/**
 * Where a report's body goes: alone on its page, or inside another report (an index report's platform,
 * a fleet's pair, a fleet pair's platform). `name` heads it, `level` is its heading's, and `prefix`
 * (outermost first) prefixes every anchor in it, so anchors stay unique across the page.
 */
export interface HtmlPlace {
  name: string;
  level: number;
  prefix: readonly string[];
}

const pagePlace: HtmlPlace = { name: 'oci-repro', level: 1, prefix: [] };

/** A report placed one level inside `place` under `name`: its heading one level down, `name` added to the prefix. */
export function placeInside(place: HtmlPlace, name: string): HtmlPlace {
  return { name, level: place.level + 1, prefix: [...place.prefix, name] };
}

/** The heading of a part of a body (causes, layers, details): h3, or below the body's own heading. */
const partHeading = (place: HtmlPlace) => `h${Math.min(6, Math.max(3, place.level + 1))}`;

// --- one verify report ---------------------------------------------------------------------------

export function renderReportBody(view: ReportView, place: HtmlPlace): string {
  const { report } = view;
  const heading = `h${place.level}`;
  const state = report.passed ? 'passed' : 'failed';
  const parts = [
    `<${heading}>${esc(place.name)}: <span class="verdict ${state}">${esc(view.verdictTitle)}</span>, gate ${state}</${heading}>`,
    `<p><strong>${report.passed ? 'Passed' : 'Failed'}:</strong> ${esc(report.reason)}</p>`,
    `<p class="counts">${esc(view.counts)}.</p>`,
    `<p class="settings">${esc(view.settings.join(', '))}</p>`,
  ];
  if (report.flattened) parts.push('<p>Layer counts differ: files were compared on the flattened filesystems.</p>');
  parts.push(renderIdentity(view), renderCauses(view, place), renderLayers(view, place), renderIndexOfRemaining(view, place));
  const groups = view.groups.map((group) => renderGroup(group, place));
  if (groups.length > 0) parts.push(`<${partHeading(place)}>Details</${partHeading(place)}>`, ...groups);
  if (view.omittedNote) parts.push(`<p class="muted">${esc(view.omittedNote)}</p>`);
  return parts.filter(Boolean).join('\n');
}

function renderIdentity(view: ReportView): string {
  const { report } = view;
  const digest = (value: string | null | undefined, short: boolean) =>
    value == null ? '<span class="muted">(none)</span>' : `<code>${esc(short ? shortDigest(value) : value)}</code>`;
  const row = ({ label, a, b, state, breaks, note }: LinkView) => {
    if (state === 'not-computed') {
      const mark = breaks ? '<span class="breaks">differs (the chain breaks here)</span>' : '<span class="same">same</span>';
      return `<tr><th>${esc(label)}</th><td colspan="2"><span class="muted">not computed (${esc(note ?? '')})</span></td><td>${mark}</td></tr>`;
    }
    const mark =
      state === 'not-comparable'
        ? '<span class="muted">not comparable</span>'
        : state === 'same'
          ? '<span class="same">same</span>'
          : breaks
            ? '<span class="breaks">differs (the chain breaks here)</span>'
            : '<span class="differs">differs</span>';
    const cells = state === 'same' ? `<td colspan="2">${digest(a, false)}</td>` : `<td>${digest(a, true)}</td><td>${digest(b, true)}</td>`;
    return `<tr><th>${esc(label)}</th>${cells}<td>${mark}</td></tr>`;
  };
  return [
    '<table class="identity"><thead><tr><th></th><th>A</th><th>B</th><th></th></tr></thead><tbody>',
    `<tr><th>image</th><td><code>${esc(report.a.reference)}</code></td><td><code>${esc(report.b.reference)}</code></td><td></td></tr>`,
    ...view.links.map(row),
    '</tbody></table>',
  ].join('\n');
}

function renderCauses(view: ReportView, place: HtmlPlace): string {
  if (view.causes.length === 0) return '';
  const listed = new Map<string, DifferenceView[]>();
  for (const group of view.groups) {
    for (const item of [...group.general, ...group.files.flatMap((file) => file.differences)]) {
      const id = item.difference.cause?.id ?? unknownCauseId;
      listed.set(id, [...(listed.get(id) ?? []), item]);
    }
  }
  const causes = view.causes.map((cause) => renderCause(cause, listed.get(cause.id) ?? [], place));
  return [`<${partHeading(place)}>Differences by cause</${partHeading(place)}>`, ...causes].join('\n');
}

function renderCause(cause: CauseView, items: readonly DifferenceView[], place: HtmlPlace): string {
  const counts = [
    `${cause.total} in all`,
    cause.neutralized ? `${cause.neutralized} neutralized` : '',
    cause.accepted ? `${cause.accepted} accepted` : '',
    cause.blocking ? `<span class="blocking">${cause.blocking} remaining</span>` : '0 remaining',
  ].filter(Boolean);
  const title = cause.unknown ? `<span class="blocking">${esc(cause.title)}</span>` : `${inline(cause.title)} <code>${esc(cause.id)}</code>`;
  // The fix only where something still blocks, as in the other formats.
  const fix = cause.hint && cause.blocking > 0 ? `<p>Fix: ${inline(cause.hint)}</p>` : '';
  const links = items.map((item) => `<li>${link(item, place)}</li>`);
  const more = cause.total > items.length ? `<p class="muted">${cause.total - items.length} more counted, not listed (use --all-differences)</p>` : '';
  return `<details class="cause"${cause.blocking > 0 ? ' open' : ''}><summary>${title}: ${counts.join(', ')}</summary>\n${fix}${links.length ? `<ul>${links.join('')}</ul>` : ''}${more}</details>`;
}

function renderLayers(view: ReportView, place: HtmlPlace): string {
  if (view.layers.length === 0) return '';
  const cell = ({ state, breaks }: LinkView) =>
    state === 'same' || (state === 'not-computed' && !breaks)
      ? '<td class="same">same</td>'
      : state === 'not-comparable' ? '<td class="muted">not comparable</td>' : `<td class="${breaks ? 'breaks' : 'differs'}">differs</td>`;
  const rows = view.layers.map((layer) => {
    const steps = layer.steps ? elideSteps(layer.steps, 120) : null;
    const step = steps ? `A: <code>${esc(steps[0])}</code><br>B: <code>${esc(steps[1])}</code>` : layer.step ? `<code>${esc(truncate(layer.step, 120))}</code>` : '';
    const index = layer.group ? `<a href="#${groupAnchor(layer.group, place)}">${layer.index}</a>` : String(layer.index);
    return `<tr><td class="num">${index}</td><td>${step}</td><td>${esc(layer.status)}</td>${layer.links.map(cell).join('')}<td class="num${layer.blocking ? ' blocking' : ''}">${layer.blocking}</td></tr>`;
  });
  return [
    `<${partHeading(place)}>Layers</${partHeading(place)}>`,
    view.report.flattened ? '<p class="muted">A file of the flattened comparison counts for the layer of A and the layer of B it came from.</p>' : '',
    '<table class="layers"><thead><tr><th class="num">#</th><th>Step</th><th>Status</th><th>Blob</th><th>diff_id</th><th>Canonical diff_id</th><th class="num">Remaining</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
  ]
    .filter(Boolean)
    .join('\n');
}

/** Links to every difference that still blocks, by group: where a reader starts. */
function renderIndexOfRemaining(view: ReportView, place: HtmlPlace): string {
  const items = view.groups.flatMap((group) => groupItems(group).filter((item) => item.blocking));
  if (items.length === 0) return '';
  return `<nav class="index"><${partHeading(place)}>Remaining differences (${items.length})</${partHeading(place)}><ol>${items.map((item) => `<li>${link(item, place)}</li>`).join('')}</ol></nav>`;
}

function groupItems(group: GroupView): DifferenceView[] {
  return [...group.general, ...group.files.flatMap((file) => file.differences)];
}

function groupAnchor(group: GroupView, place: HtmlPlace): string {
  return anchorFor(`group/${group.scope}`, place.prefix);
}

function renderGroup(group: GroupView, place: HtmlPlace): string {
  const shown = groupItems(group).filter((item) => !item.difference.neutralized);
  const neutralized = groupItems(group).filter((item) => item.difference.neutralized);
  const parts = [
    `<details class="group" id="${groupAnchor(group, place)}"${group.blocking > 0 ? ' open' : ''}><summary>${esc(truncate(group.title, 160))}: ${esc(group.counts)}</summary>`,
  ];
  if (shown.length > 0) parts.push(`<ul class="diffs">${shown.map((item) => renderDifference(item, place)).join('\n')}</ul>`);
  if (group.neutralized > 0) {
    const listed = neutralized.length > 0 ? `<ul class="diffs">${neutralized.map((item) => renderDifference(item, place)).join('\n')}</ul>` : '';
    const note = group.omittedNote ? `<p class="muted">${esc(group.omittedNote)}</p>` : '';
    parts.push(`<details class="neutralized"><summary>${group.neutralized} neutralized by normalization: ${esc(group.neutralizedByCause)}</summary>${listed}${note}</details>`);
  }
  parts.push('</details>');
  return parts.join('\n');
}

/** `file subject`, or the subject alone: what a link to a difference says. */
function describeItem(item: DifferenceView): string {
  const file = item.difference.file;
  return file === undefined ? esc(item.subject) : `<code>${esc(file)}</code> ${esc(item.subject)}`;
}

function link(item: DifferenceView, place: HtmlPlace): string {
  return `<a href="#${anchorFor(item.difference.path, place.prefix)}">${describeItem(item)}</a>`;
}

function renderDifference(item: DifferenceView, place: HtmlPlace): string {
  const { difference } = item;
  const id = anchorFor(difference.path, place.prefix);
  const state = difference.neutralized ? 'neutralized' : difference.accepted ? 'accepted' : 'remaining';
  const head = [`<a class="anchor" href="#${id}" title="link to this difference">#</a>`, describeItem(item)];
  if (item.origin) head.push(`<span class="muted">(${esc(item.origin)})</span>`);
  if (item.hasValues && difference.attribute !== 'content') {
    const [a, b] = elidePair(item.values[0], item.values[1], valueWidth);
    head.push(`<code>${esc(a)}</code> → <code>${esc(b)}</code>`);
  }
  const cause = difference.cause
    ? `${inline(difference.cause.title)} <code>${esc(difference.cause.id)}</code>`
    : '<span class="blocking">no known cause</span>';
  const accepted = difference.accepted ? `; accepted by <code>${esc(difference.accepted.rule)}</code>: ${esc(difference.accepted.reason)}` : '';
  const neutralized = difference.neutralized ? '; neutralized by normalization' : '';
  // The whole step in the tooltip; the line keeps the width every format cuts it to.
  const writer = item.writtenBy === null ? '' : `; written by <code title="${esc(item.writtenBy)}">${esc(truncate(item.writtenBy, writtenByWidth))}</code>`;
  return `<li id="${id}" class="${state}">${head.join(' ')}<div class="cause">${cause}${accepted}${neutralized}${writer}</div>${renderDetail(item)}</li>`;
}

function renderDetail(item: DifferenceView): string {
  const detail = item.detail;
  switch (detail?.format) {
    case undefined:
      return '';
    case 'unified': {
      const shown = headLines(detail.lines, htmlDiffLines);
      return renderSideBySide(shown.lines, shown.more);
    }
    case 'binary': {
      const differing = detail.differingBytes === undefined ? '' : `, ${detail.differingBytes} ${detail.differingBytes === 1 ? 'byte differs' : 'bytes differ'}`;
      // One <pre> per range, A's rows over B's, so equal offsets line up in the monospace columns.
      const dumps = detail.ranges.map(
        (range) =>
          `<pre class="hexdump">bytes ${esc(range.at)}\n${[...range.hexA.map((row) => `A ${esc(row)}`), ...range.hexB.map((row) => `B ${esc(row)}`)].join('\n')}</pre>`,
      );
      const more = detail.moreRanges > 0 ? `<p class="muted">${detail.moreRanges} more ranges</p>` : '';
      return `<p class="mono">binary: ${detail.sizeA} bytes ${esc(detail.digestA)} → ${detail.sizeB} bytes ${esc(detail.digestB)}${differing}</p>${dumps.join('')}${more}`;
    }
    case 'decoded':
      return renderDecoded(detail);
    case 'timestamps': {
      const lines = detail.lines === 1 ? 'line' : 'lines';
      return `<p>only timestamps differ (${detail.lines} ${lines}: ${esc(detail.kinds.join(', '))}), for example:</p><pre class="timestamps">-${esc(detail.example.a)}\n+${esc(detail.example.b)}</pre>`;
    }
    case 'json': {
      const rows = detail.changes.map((change) => `<tr><td><code>${esc(change.pointer)}</code></td><td><code>${esc(change.a)}</code></td><td><code>${esc(change.b)}</code></td></tr>`);
      return `<table class="json"><thead><tr><th>pointer</th><th>A</th><th>B</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
    }
  }
}

/** Catalogue text (titles, fixes) whose `code spans` become <code>; the rest escaped. */
export function inline(text: string): string {
  return text
    .split(/(`[^`]+`)/)
    .map((part) => (part.length > 2 && part.startsWith('`') && part.endsWith('`') ? `<code>${esc(part.slice(1, -1))}</code>` : esc(part)))
    .join('');
}

// --- an index report -----------------------------------------------------------------------------

export function renderIndexHtml(view: IndexView): string {
  return page(`oci-repro: ${view.verdictTitle} (${plural(view.report.platforms.length, 'platform')})`, renderIndexBody(view, pagePlace));
}

export function renderIndexBody(view: IndexView, place: HtmlPlace): string {
  const { report } = view;
  const heading = `h${place.level}`;
  const state = report.passed ? 'passed' : 'failed';
  const digest = (value: string | null) => (value === null ? '<span class="muted">(absent)</span>' : `<code>${esc(shortDigest(value))}</code>`);
  const rows = view.platforms.map((platform) => {
    const name = platform.view ? `<a href="#${anchorFor('report', placeInside(place, platform.platform).prefix)}">${esc(platform.platform)}</a>` : esc(platform.platform);
    const verdict = platform.passed ? esc(platform.verdict) : `<span class="blocking">${esc(platform.verdict)}</span>`;
    return `<tr><td>${name}</td><td>${verdict}</td><td>${digest(platform.canonical.a)}</td><td>${platform.same ? 'same' : digest(platform.canonical.b)}</td></tr>`;
  });
  const canonicalB = report.a.canonicalDigest === report.b.canonicalDigest ? 'same' : digest(report.b.canonicalDigest);
  const head = [
    `<${heading}>${esc(place.name)}: <span class="verdict ${state}">${esc(view.verdictTitle)}</span> (${plural(report.platforms.length, 'platform')}), gate ${state}</${heading}>`,
    `<p><strong>${report.passed ? 'Passed' : 'Failed'}:</strong> ${esc(report.reason)}</p>`,
    `<p class="counts">${esc(view.platformCounts)}.</p>`,
    '<table class="platforms"><thead><tr><th>Platform</th><th>Verdict</th><th>Canonical A</th><th>Canonical B</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
    '<table class="identity"><thead><tr><th></th><th>A</th><th>B</th></tr></thead><tbody>',
    `<tr><th>index</th><td><code>${esc(report.a.reference)}</code></td><td><code>${esc(report.b.reference)}</code></td></tr>`,
    `<tr><th>index digest</th><td>${digest(report.a.indexDigest)}</td><td>${digest(report.b.indexDigest)}</td></tr>`,
    `<tr><th>canonical index</th><td>${digest(report.a.canonicalDigest)}</td><td>${canonicalB}</td></tr>`,
    `<tr><th>attestations (not compared)</th><td>${view.attestations.a}</td><td>${view.attestations.b}</td></tr>`,
    '</tbody></table>',
  ];
  const sections = view.platforms
    .filter((platform) => platform.view !== null)
    .map((platform) => {
      const inside = placeInside(place, platform.platform);
      return `<section class="platform" id="${anchorFor('report', inside.prefix)}">\n${renderReportBody(platform.view!, inside)}\n</section>`;
    });
  return [...head, ...sections].join('\n');
}

// --- an --expect report --------------------------------------------------------------------------

export function renderExpectHtml(view: ExpectView): string {
  return page(`oci-repro: ${view.subject} ${view.passed ? 'matches' : 'differs'}`, renderExpectBody(view, pagePlace));
}

export function renderExpectBody(view: ExpectView, place: HtmlPlace): string {
  const heading = `h${place.level}`;
  const state = view.passed ? 'passed' : 'failed';
  const rows = [
    `<tr><th>image</th><td><code>${esc(view.reference)}</code></td></tr>`,
    `<tr><th>${view.index ? 'canonical index' : 'canonical'}</th><td><code>${esc(view.actual)}</code></td></tr>`,
    `<tr><th>expected</th><td><code>${esc(view.expected)}</code></td></tr>`,
    `<tr><th>${view.index ? 'index digest' : 'image ID'}</th><td><code>${esc(view.identity)}</code></td></tr>`,
    ...view.platforms.map((platform) => `<tr><th>${esc(platform.platform)}</th><td><code>${esc(platform.canonicalDigest)}</code></td></tr>`),
  ];
  const verdict = view.passed ? 'matches' : 'differs';
  const body = [
    `<${heading}>${esc(place.name)}: ${esc(view.subject)} <span class="verdict ${state}">${verdict}</span></${heading}>`,
    `<p>${esc(view.reason)}</p>`,
    `<table class="identity"><tbody>${rows.join('\n')}</tbody></table>`,
  ];
  return body.join('\n');
}

// --- the page ------------------------------------------------------------------------------------

export function page(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing is loaded, nothing runs: the report holds strings from the images.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>${esc(title)}</title>`,
    `<style>${htmlStyle}</style>`,
    '</head>',
    '<body>',
    body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
