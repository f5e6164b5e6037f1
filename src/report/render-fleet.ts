/**
 * A fleet report (fleet-model.ts) in every format (HTML in render-fleet-html.ts): a summary of the pairs first (verdict, exit
 * code, reason), then each pair's own report as verify renders it alone (render.ts). JUnit has one
 * testsuite per pair (a pair whose images are two indexes, one per platform, each named after the
 * pair); a pair that could not be verified is a testsuite with one erroring testcase.
 */
import { usageError } from '../errors.js';
import type { ExpectReport, IndexExpectReport } from './expect-model.js';
import { renderFleetJson } from './fleet-json.js';
import { renderFleetHtml } from './render-fleet-html.js';
import { seconds, shardNote, type FleetReport, type PairResult } from './fleet-model.js';
import { isIndexReport, type IndexReport } from './index-model.js';
import type { Report } from './model.js';
import { escapeXml } from './render-junit.js';
import { defaultMarkdownMaxBytes } from './render-markdown.js';
import { renderExpectReport, renderIndexReport, renderReport, type RenderOptions, type ReportFormat } from './render.js';
import { plural } from './wording.js';

export const fleetFormats = ['text', 'json', 'markdown', 'junit', 'html'] as const;

/** The fleet report in one format, ending in a newline. */
export function renderFleetReport(report: FleetReport, format: ReportFormat, options: RenderOptions): string {
  switch (format) {
    case 'text':
      return renderFleetText(report, options);
    case 'json':
      return renderFleetJson(report);
    case 'markdown':
      return renderFleetMarkdown(report, options.maxBytes ?? defaultMarkdownMaxBytes);
    case 'junit':
      return renderFleetJunit(report);
    case 'html':
      return renderFleetHtml(report);
    default:
      throw usageError(`--format ${format} is not available for a fleet`, { hint: `a fleet report is ${fleetFormats.join(', ')}` });
  }
}

/** A pair's own report, rendered as `verify` renders it alone. */
function renderPair(pair: PairResult, format: ReportFormat, options: RenderOptions): string {
  const report = pair.report!;
  if ((report as { kind?: string }).kind === 'expect') return renderExpectReport(report as ExpectReport | IndexExpectReport, format);
  const verifyReport = report as Report | IndexReport;
  return isIndexReport(verifyReport) ? renderIndexReport(verifyReport, format, options) : renderReport(verifyReport, format, options);
}

const headline = (report: FleetReport) =>
  `${report.verdict === 'error' ? 'ERROR' : report.verdict.replace('-', ' ').toUpperCase()} (${plural(report.counts.pairs, 'pair')}), ${report.passed ? 'gate passed' : 'gate FAILED'} (exit ${report.exitCode})`;


function renderFleetText(report: FleetReport, options: RenderOptions): string {
  const name = Math.max(4, ...report.pairs.map((pair) => pair.name.length));
  const verdict = Math.max(7, ...report.pairs.map((pair) => pair.verdict.length));
  const lines = [
    `oci-repro verify --pairs: ${headline(report)}`,
    `  ${report.reason}`,
    `  ${shardNote(report)}, ${seconds(report.durationMs)}`,
    '',
    `  ${'pair'.padEnd(name)}  ${'verdict'.padEnd(verdict)}  exit  ${'time'.padStart(7)}  reason`,
    ...report.pairs.map(
      (pair) => `  ${pair.name.padEnd(name)}  ${pair.verdict.padEnd(verdict)}  ${String(pair.exitCode).padEnd(4)}  ${seconds(pair.durationMs).padStart(7)}  ${pair.reason}`,
    ),
  ];
  for (const pair of report.pairs) {
    lines.push('', `=== ${pair.name} ${'='.repeat(Math.max(3, 95 - pair.name.length))}`, '');
    lines.push(pair.report ? renderPair(pair, 'text', options).replace(/\n$/, '') : `error (exit ${pair.exitCode}): ${pair.reason}`);
  }
  return `${lines.join('\n')}\n`;
}

const cell = (text: string) => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/`/g, "'").replace(/[\r\n]+/g, ' ');

/**
 * Markdown for a pull-request comment: the table of every pair, then the report of each pair that did
 * not pass (each within an equal share of the size cap); passing pairs are the table's rows only.
 */
function renderFleetMarkdown(report: FleetReport, maxBytes: number): string {
  const head = [
    `## oci-repro fleet: ${headline(report)}`,
    '',
    `**${report.passed ? 'Passed' : 'Failed'}:** ${cell(report.reason)} (${cell(shardNote(report))})`,
    '',
    '| Pair | Verdict | Exit | Reason |',
    '|---|---|---|---|',
    ...report.pairs.map((pair) => `| \`${cell(pair.name)}\` | ${pair.passed ? pair.verdict : `**${pair.verdict}**`} | ${pair.exitCode} | ${cell(pair.reason)} |`),
    '',
  ].join('\n');
  const shown = report.pairs.filter((pair) => !pair.passed);
  const share = Math.max(2048, Math.floor((maxBytes - Buffer.byteLength(head)) / Math.max(1, shown.length)));
  const sections = shown.map((pair) => {
    const body = pair.report ? renderPair(pair, 'markdown', { color: false, maxBytes: share }) : `Error (exit ${pair.exitCode}): ${cell(pair.reason)}\n`;
    return `<details><summary>${escapeXml(pair.name, false)}: ${pair.verdict}</summary>\n\n${body}\n</details>\n`;
  });
  return [head, ...sections].join('\n');
}

/** One testsuite per pair: the pair's own suites renamed after it, or one erroring testcase. */
function renderFleetJunit(report: FleetReport): string {
  let tests = 0;
  let failures = 0;
  let errors = 0;
  const suites: string[] = [];
  for (const pair of report.pairs) {
    if (!pair.report) {
      tests += 1;
      errors += 1;
      suites.push(
        `  <testsuite name="${escapeXml(pair.name)}" tests="1" failures="0" errors="1" skipped="0">`,
        `    <testcase classname="oci-repro.fleet" name="${escapeXml(pair.name)}">`,
        `      <error message="${escapeXml(pair.reason)}" type="${escapeXml(pair.error?.code ?? 'error')}">${escapeXml(`exit ${pair.exitCode}: ${pair.reason}`, false)}</error>`,
        '    </testcase>',
        '  </testsuite>',
      );
      continue;
    }
    // The pair's document as verify writes it: its <testsuite> elements, renamed after the pair.
    const xml = renderPair(pair, 'junit', { color: false });
    const found = [...xml.matchAll(/^ {2}<testsuite name="([^"]*)" tests="(\d+)" failures="(\d+)"[^>]*>$[\s\S]*?^ {2}<\/testsuite>$/gm)];
    for (const suite of found) {
      const platform = /^oci-repro verify (\S+\/\S+) /.exec(unescapeAttribute(suite[1]!))?.[1];
      const name = found.length > 1 && platform ? `${pair.name} ${platform}` : pair.name;
      tests += Number(suite[2]);
      failures += Number(suite[3]);
      suites.push(suite[0].replace(/name="[^"]*"/, `name="${escapeXml(name)}"`));
    }
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="oci-repro fleet" tests="${tests}" failures="${failures}" errors="${errors}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

function unescapeAttribute(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
