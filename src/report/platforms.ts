/**
 * The index report (index-model.ts) in every format: first one summary of the platforms (verdict,
 * canonical digests, platforms on one side only) and of the two indexes, then each platform's own
 * single-image report as that format renders it, headed by the platform instead of the tool name.
 * JSON is the data as is; JUnit gets one testsuite per platform.
 */
import type { IndexReport, IndexSide, PlatformComparison } from './index-model.js';
import { renderJunitSuite, escapeXml } from './render-junit.js';
import { defaultMarkdownMaxBytes, renderMarkdown } from './render-markdown.js';
import type { RenderOptions, ReportFormat } from './render.js';
import { createPaint, plural, shortDigest, showControlCharacters, verdictTitles, wrap } from './render-text.js';
import { renderText } from './render-text.js';

export function renderIndexReport(report: IndexReport, format: ReportFormat, options: RenderOptions): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'text':
      return renderIndexText(report, options);
    case 'markdown':
      return renderIndexMarkdown(report, options.maxBytes ?? defaultMarkdownMaxBytes);
    case 'junit':
      return renderIndexJunit(report);
  }
}

/** `2 platforms: 1 reproducible, 1 not reproducible; 1 only in A`. */
export function describePlatformCounts(report: IndexReport): string {
  const both = report.platforms.filter((platform) => platform.presence === 'both');
  const byVerdict = (['identical', 'reproducible', 'not-reproducible'] as const)
    .map((verdict) => [verdict, both.filter((platform) => platform.verdict === verdict).length] as const)
    .filter(([, count]) => count > 0)
    .map(([verdict, count]) => `${count} ${verdictTitles[verdict].replace(/ \(.*\)$/, '')}`);
  const parts = [`${plural(both.length, 'platform')} compared${byVerdict.length ? `: ${byVerdict.join(', ')}` : ''}`];
  for (const side of ['a', 'b'] as const) {
    const only = report.platforms.filter((platform) => platform.presence === side).length;
    if (only > 0) parts.push(`${only} only in ${side.toUpperCase()}`);
  }
  return parts.join('; ');
}

/** A platform's verdict in a few words: the verdict, or which side alone has it. */
export function describePlatformVerdict(platform: PlatformComparison): string {
  if (platform.presence !== 'both') return `only in ${platform.presence.toUpperCase()}`;
  return `${verdictTitles[platform.verdict]}${platform.passed ? '' : ', fails'}`;
}

/** A canonical digest left out: the platform's layers with equal diff_ids were not read (see app/verify.ts). */
const notComputed = 'not computed';

const attestationCount = (side: IndexSide) => side.manifests.filter((manifest) => manifest.attestation).length;

/** The per-platform report's headline names the platform, not the tool. */
const retitle = (text: string, from: string, to: string) => text.replace(from, to);

// --- text -----------------------------------------------------------------------------------------

function renderIndexText(unsafeReport: IndexReport, options: RenderOptions): string {
  const report = showControlCharacters(unsafeReport);
  const paint = createPaint(options.color);
  const verdict = verdictTitles[report.verdict].toUpperCase();
  const painted = report.verdict === 'not-reproducible' ? (report.passed ? paint.yellow(verdict) : paint.red(verdict)) : paint.green(verdict);
  const lines = [
    `${paint.bold('oci-repro verify:')} ${paint.bold(painted)} (${plural(report.platforms.length, 'platform')}), ${report.passed ? paint.green('gate passed') : paint.red('gate FAILED')}`,
    ...wrap(report.reason, 2, 2),
    `  A  ${report.a.reference}`,
    `  B  ${report.b.reference}`,
    '',
    'Platforms',
    `  ${describePlatformCounts(report)}`,
    '',
  ];
  const width = Math.max(8, ...report.platforms.map((platform) => platform.platform.length));
  const digest = (value: string | null, present = false) => (value === null ? (present ? notComputed : '(absent)') : shortDigest(value));
  lines.push(`  ${'platform'.padEnd(width)}  ${'canonical A'.padEnd(19)}  ${'canonical B'.padEnd(19)}  verdict`);
  for (const platform of report.platforms) {
    const { a, b } = platform.canonicalDigest;
    const described = describePlatformVerdict(platform);
    const [shownA, shownB] = [digest(a, platform.presence !== 'b'), digest(b, platform.presence !== 'a')];
    lines.push(`  ${platform.platform.padEnd(width)}  ${shownA.padEnd(19)}  ${(a !== null && a === b ? 'same' : shownB).padEnd(19)}  ${platform.passed ? described : paint.red(described)}`);
  }
  lines.push('', `${'Indexes'.padEnd(20)} ${'A'.padEnd(20)} B`);
  const row = (label: string, a: string, b: string, same = 'same') => `  ${label.padEnd(18)} ${a.padEnd(20)} ${a === b ? same : b}`;
  lines.push(row('index digest', shortDigest(report.a.indexDigest), shortDigest(report.b.indexDigest)));
  const canonicalIndex = [digest(report.a.canonicalDigest, true), digest(report.b.canonicalDigest, true)] as const;
  lines.push(row('canonical index', ...canonicalIndex, canonicalIndex[0] === notComputed ? notComputed : 'same'));
  const attestations = (side: IndexSide) => `${attestationCount(side)} (not compared)`;
  lines.push(row('attestations', attestations(report.a), attestations(report.b), attestations(report.b)));
  for (const platform of report.platforms) {
    if (!platform.report) continue;
    lines.push('', `=== ${platform.platform} ${'='.repeat(Math.max(3, 95 - platform.platform.length))}`, '');
    const text = renderText(platform.report, { color: options.color, verbose: options.verbose });
    lines.push(retitle(text, 'oci-repro verify:', `${platform.platform}:`).replace(/\n$/, ''));
  }
  return `${lines.join('\n')}\n`;
}

// --- markdown -------------------------------------------------------------------------------------

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function renderIndexMarkdown(unsafeReport: IndexReport, maxBytes: number): string {
  const report = showControlCharacters(unsafeReport);
  const digest = (value: string | null, present = false) => (value === null ? (present ? notComputed : '(absent)') : code(shortDigest(value)));
  const head = [
    `## oci-repro: ${verdictTitles[report.verdict]} (${plural(report.platforms.length, 'platform')}), ${report.passed ? 'gate passed' : 'gate failed'}`,
    '',
    `**${report.passed ? 'Passed' : 'Failed'}:** ${cell(report.reason)}`,
    '',
    `${describePlatformCounts(report)}.`,
    '',
    '| Platform | Verdict | Canonical A | Canonical B |',
    '|---|---|---|---|',
    ...report.platforms.map((platform) => {
      const { a, b } = platform.canonicalDigest;
      const verdict = platform.passed ? describePlatformVerdict(platform) : `**${describePlatformVerdict(platform)}**`;
      return `| ${code(platform.platform)} | ${verdict} | ${digest(a, platform.presence !== 'b')} | ${a !== null && a === b ? 'same' : digest(b, platform.presence !== 'a')} |`;
    }),
    '',
    '| | A | B |',
    '|---|---|---|',
    `| index | ${code(report.a.reference)} | ${code(report.b.reference)} |`,
    `| index digest | ${digest(report.a.indexDigest)} | ${digest(report.b.indexDigest)} |`,
    `| canonical index | ${digest(report.a.canonicalDigest, true)} | ${report.a.canonicalDigest !== null && report.a.canonicalDigest === report.b.canonicalDigest ? 'same' : digest(report.b.canonicalDigest, true)} |`,
    `| attestations (not compared) | ${attestationCount(report.a)} | ${attestationCount(report.b)} |`,
    '',
  ].join('\n');
  const compared = report.platforms.filter((platform) => platform.report !== null);
  // Each platform's section gets an equal share of what the summary leaves of the cap.
  const share = Math.max(2048, Math.floor((maxBytes - Buffer.byteLength(head, 'utf8')) / Math.max(1, compared.length)));
  const sections = compared.map((platform) =>
    retitle(renderMarkdown(platform.report!, { maxBytes: share }), '## oci-repro:', `## ${platform.platform}:`),
  );
  return [head, ...sections].join('\n');
}

// --- junit ----------------------------------------------------------------------------------------

function renderIndexJunit(report: IndexReport): string {
  let tests = 0;
  let failures = 0;
  const suites: string[] = [];
  for (const platform of report.platforms) {
    const name = `oci-repro verify ${platform.platform} ${report.a.reference} ${report.b.reference}`;
    if (platform.report) {
      const suite = renderJunitSuite(platform.report, name);
      tests += suite.tests;
      failures += suite.failures;
      suites.push(...suite.lines);
      continue;
    }
    tests += 1;
    failures += 1;
    suites.push(
      `  <testsuite name="${escapeXml(name)}" tests="1" failures="1" errors="0" skipped="0">`,
      `    <testcase classname="oci-repro" name="platform on both sides">`,
      `      <failure message="${escapeXml(platform.reason)}" type="platform-missing">${escapeXml(platform.reason, false)}</failure>`,
      '    </testcase>',
      '  </testsuite>',
    );
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="oci-repro" tests="${tests}" failures="${failures}" errors="0">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
