/**
 * A fleet report (fleet-model.ts) as one self-contained HTML page, in the style of the other HTML
 * reports (render-html.ts): the headline, the reason and the shard, a table of every pair linking to
 * its section, then one section per pair holding the pair's own report exactly as `verify --format
 * html` renders it alone (a verify, index or expect report), or the error that stopped it. Each pair's
 * anchors are prefixed by its name, as an index report prefixes its platforms', so none repeats on the
 * page; a pair that passed starts collapsed, one that failed open. Pair names come from the user's
 * file: every one is escaped, and anchors encode them.
 */
import { buildExpectView, type ExpectReport, type IndexExpectReport } from './expect-model.js';
import { fleetVerdictOf, seconds, shardNote, type FleetReport, type PairResult } from './fleet-model.js';
import { buildIndexView } from './index-view.js';
import { isIndexReport, type IndexReport } from './index-model.js';
import type { Report } from './model.js';
import { anchorFor, escapeHtml as esc } from './render-html-escape.js';
import { page, placeInside, renderExpectBody, renderIndexBody, renderReportBody, type HtmlPlace } from './render-html.js';
import { buildReportView } from './view.js';
import { plural, verdictTitles } from './wording.js';

/** The page itself: the pairs' sections sit one level below its heading. */
const fleetPlace: HtmlPlace = { name: 'oci-repro fleet', level: 1, prefix: [] };

export function renderFleetHtml(report: FleetReport): string {
  const state = report.passed ? 'passed' : 'failed';
  const verdict = verdictTitle(report.verdict);
  const pairs = plural(report.counts.pairs, 'pair');
  const head = [
    `<h1>${esc(fleetPlace.name)}: <span class="verdict ${state}">${esc(verdict)}</span> (${pairs}), gate ${report.passed ? 'passed' : 'FAILED'} (exit ${report.exitCode})</h1>`,
    `<p><strong>${report.passed ? 'Passed' : 'Failed'}:</strong> ${esc(report.reason)}</p>`,
    `<p class="settings">${esc(shardNote(report))}, ${esc(seconds(report.durationMs))}</p>`,
    '<table class="pairs"><thead><tr><th>Pair</th><th>Verdict</th><th class="num">Exit</th><th class="num">Time</th><th>Reason</th></tr></thead><tbody>',
    ...report.pairs.map(renderPairRow),
    '</tbody></table>',
  ];
  const sections = report.pairs.map(renderPairSection);
  return page(`oci-repro fleet: ${verdict} (${pairs})`, [...head, ...sections].join('\n'));
}

/** The id of a pair's section: the pair's anchor prefix, as an index report names a platform's. */
export function pairAnchor(pair: Pick<PairResult, 'name'>): string {
  return anchorFor('report', [pair.name]);
}

function renderPairRow(pair: PairResult): string {
  const verdict = pair.passed ? esc(pairVerdictTitle(pair)) : `<span class="blocking">${esc(pairVerdictTitle(pair))}</span>`;
  return `<tr><td><a href="#${pairAnchor(pair)}">${esc(pair.name)}</a></td><td>${verdict}</td><td class="num">${pair.exitCode}</td><td class="num">${esc(seconds(pair.durationMs))}</td><td>${esc(pair.reason)}</td></tr>`;
}

function renderPairSection(pair: PairResult): string {
  const summary = `<summary>${esc(pair.name)}: ${esc(pairVerdictTitle(pair))}, exit ${pair.exitCode}</summary>`;
  const body = pair.report ? renderPairBody(pair.report, placeInside(fleetPlace, pair.name)) : `<p><span class="blocking">error</span> (exit ${pair.exitCode}): ${esc(pair.reason)}</p>`;
  return `<details class="pair" id="${pairAnchor(pair)}"${pair.passed ? '' : ' open'}>${summary}\n${body}\n</details>`;
}

/** A pair's own report, as `verify --format html` renders it alone, placed inside the page. */
function renderPairBody(report: Report | IndexReport | ExpectReport | IndexExpectReport, place: HtmlPlace): string {
  if ((report as { kind?: string }).kind === 'expect') return renderExpectBody(buildExpectView(report as ExpectReport | IndexExpectReport), place);
  const verifyReport = report as Report | IndexReport;
  return isIndexReport(verifyReport) ? renderIndexBody(buildIndexView(verifyReport), place) : renderReportBody(buildReportView(verifyReport), place);
}

function verdictTitle(verdict: FleetReport['verdict']): string {
  return verdict === 'error' ? 'error' : verdictTitles[verdict];
}

/** A pair's verdict in a few words: `matches`/`differs` for --expect, the verdict's title (without its note) otherwise. */
function pairVerdictTitle(pair: PairResult): string {
  if (pair.verdict === 'matches' || pair.verdict === 'differs') return pair.verdict;
  return verdictTitle(fleetVerdictOf(pair.verdict)).replace(/ \(.*\)$/, '');
}
