/**
 * The report as JUnit XML for CI test dashboards: one testsuite; a `gate` testcase carrying the
 * verdict, a `config` testcase, one per layer, and one for the flattened filesystem when layer counts
 * differ. Remaining differences not accepted by a policy are failures; accepted and neutralized ones
 * are listed in system-out and never fail. No times or timestamps, so the output is reproducible.
 * Reads the view (view.ts, built with control characters as they are: escapeXml shows them its own
 * way) and only formats it; an index report has one testsuite per platform, --expect one testcase.
 */
import type { ExpectView } from './expect-model.js';
import type { IndexView } from './index-view.js';
import { describeChange, diffLineLimits, elideSteps, headLines, truncate, writtenByWidth, type DifferenceView } from './view-values.js';
import type { GroupView, ReportView } from './view.js';
import { plural } from './wording.js';

interface TestCase {
  classname: string;
  name: string;
  failures: DifferenceView[];
  /** The failure element's body and the system-out text. */
  failureText: string;
  out: string;
}

export function renderJunit(view: ReportView): string {
  const suite = renderJunitSuite(view);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="oci-repro" tests="${suite.tests}" failures="${suite.failures}" errors="0">`,
    ...suite.lines,
    '</testsuites>',
    '',
  ].join('\n');
}

/** One report's `<testsuite>` element, as lines indented for `<testsuites>`; an index report has one per platform. */
function renderJunitSuite(view: ReportView, suiteName?: string): { lines: string[]; tests: number; failures: number } {
  const { report } = view;
  const cases: TestCase[] = [];

  const gateFailure = report.passed ? '' : report.reason;
  cases.push({
    classname: 'oci-repro',
    name: 'gate',
    failures: [],
    failureText: gateFailure,
    out: `verdict: ${view.verdictTitle}\n${report.reason}\n${view.omittedNote === null ? '' : `${view.omittedNote}\n`}`,
  });
  cases.push(caseOf('oci-repro.config', 'config', view.config));
  for (const layer of view.layers) {
    const name = `layer ${layer.index}${layer.step ? `: ${truncate(layer.step, 200)}` : ''}`;
    const testCase = caseOf('oci-repro.layers', name, layer.group);
    // The name holds A's step; when B ran another step here, both, cut where they differ.
    const steps = layer.steps ? elideSteps(layer.steps, 200) : null;
    const stepLines = steps ? `step in A: ${steps[0]}\nstep in B: ${steps[1]}\n` : '';
    testCase.out = `status: ${layer.status}\n${stepLines}${testCase.out}`;
    cases.push(testCase);
  }
  if (view.filesystem) cases.push(caseOf('oci-repro.filesystem', 'flattened filesystem', view.filesystem));

  const failures = cases.filter((testCase) => testCase.failures.length > 0 || testCase.failureText !== '').length;
  const name = suiteName ?? `oci-repro verify ${report.a.reference} ${report.b.reference}`;
  const lines = [
    `  <testsuite name="${escapeXml(name)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0">`,
    '    <properties>',
    ...[
      ['verdict', report.verdict],
      ['passed', String(report.passed)],
      ['reason', report.reason],
      ['a.reference', report.a.reference],
      ['a.canonicalDigest', report.a.canonicalDigest],
      ['b.reference', report.b.reference],
      ['b.canonicalDigest', report.b.canonicalDigest],
      ['tool.version', report.tool.version],
    ].map(([name, value]) => `      <property name="${escapeXml(name ?? '')}" value="${escapeXml(value ?? '')}"/>`),
    '    </properties>',
  ];
  for (const testCase of cases) {
    const open = `    <testcase classname="${escapeXml(testCase.classname)}" name="${escapeXml(testCase.name)}"`;
    const failed = testCase.failures.length > 0 || testCase.failureText !== '';
    if (!failed && testCase.out === '') {
      lines.push(`${open}/>`);
      continue;
    }
    lines.push(`${open}>`);
    if (failed) {
      const message =
        testCase.failures.length > 0
          ? `${plural(testCase.failures.length, 'remaining difference')}`
          : testCase.failureText;
      const type = testCase.failures.length > 0 ? 'not-reproducible' : 'gate';
      lines.push(`      <failure message="${escapeXml(message)}" type="${type}">${escapeXml(testCase.failureText, false)}</failure>`);
    }
    if (testCase.out !== '') lines.push(`      <system-out>${escapeXml(testCase.out, false)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>');
  return { lines, tests: cases.length, failures };
}

function caseOf(classname: string, name: string, group: GroupView | undefined): TestCase {
  if (!group) return { classname, name, failures: [], failureText: '', out: '' };
  const all = [...group.general, ...group.files.flatMap((entry) => entry.differences)];
  const failures = all.filter((view) => view.blocking);
  const out: string[] = [];
  for (const view of all) {
    const { accepted } = view.difference;
    if (!view.difference.neutralized && accepted) out.push(`accepted by ${accepted.rule} (${accepted.reason}): ${describeLine(view)}`);
  }
  if (group.neutralized > 0) out.push(`${group.neutralized} neutralized by normalization: ${group.neutralizedByCause}`);
  return {
    classname,
    name,
    failures,
    failureText: failures.map(describeFailure).join('\n'),
    out: out.length ? `${out.join('\n')}\n` : '',
  };
}

/** A failure's body: CI dashboards show failures, not megabytes (diffLineLimits.junit lines of a diff). */
function describeFailure(view: DifferenceView): string {
  const lines = [describeLine(view)];
  if (view.difference.hint) lines.push(`  fix: ${view.difference.hint}`);
  if (view.detail?.format === 'unified') {
    const shown = headLines(view.detail.lines, diffLineLimits.junit);
    lines.push(...shown.lines.map((line) => `    ${line}`));
    if (shown.more > 0) lines.push(`    ... ${shown.more} more lines`);
  } else if (view.detail?.format === 'decoded') {
    for (const change of view.detail.changes) lines.push(`    ${view.detail.decoder} ${change.where} ${change.field}: ${change.a} -> ${change.b}`);
  } else if (view.detail?.format === 'timestamps') {
    lines.push(`    only timestamps differ (${view.detail.lines} lines), for example:`, `    -${view.detail.example.a}`, `    +${view.detail.example.b}`);
  } else if (view.detail?.format === 'binary' && view.detail.differingBytes !== undefined) {
    const first = view.detail.ranges[0];
    lines.push(`    ${view.detail.differingBytes} bytes differ${first ? `, first at ${first.at}` : ''}`);
  }
  return lines.join('\n');
}

function describeLine(view: DifferenceView): string {
  const { file } = view.difference;
  const where = file === undefined ? view.subject : `${view.origin ? `${file} (${view.origin})` : file} ${view.subject}`;
  const values = view.hasValues ? `: ${describeChange(view, 120)}` : '';
  const writer = view.writtenBy === null ? '' : `; written by ${truncate(view.writtenBy, writtenByWidth)}`;
  return `${where}${values} (cause: ${view.cause}${writer})`;
}

// --- an index report: one testsuite per platform ------------------------------------------------

export function renderIndexJunit(view: IndexView): string {
  const { report } = view;
  let tests = 0;
  let failures = 0;
  const suites: string[] = [];
  for (const platform of view.platforms) {
    const name = `oci-repro verify ${platform.platform} ${report.a.reference} ${report.b.reference}`;
    if (platform.view) {
      const suite = renderJunitSuite(platform.view, name);
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

// --- an --expect report: one test case ----------------------------------------------------------

export function renderExpectJunit(view: ExpectView): string {
  const failures = view.passed ? 0 : 1;
  const failure = view.passed ? '' : `\n      <failure message="${escapeXml(view.reason)}" type="not-reproducible"/>\n    `;
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="oci-repro" tests="1" failures="${failures}">
  <testsuite name="oci-repro expect" tests="1" failures="${failures}">
    <testcase classname="oci-repro.expect" name="${escapeXml(`${view.reference} ${view.subject}`)}">${failure}</testcase>
  </testsuite>
</testsuites>
`;
}

/**
 * Escapes text for XML 1.0: a double-quoted attribute value, or element content (`inAttribute`
 * false, where line breaks and tabs stay as they are). Characters XML 1.0 cannot carry at all (most C0
 * controls, lone surrogates, U+FFFE/U+FFFF) are written as visible `\uXXXX`.
 */
export function escapeXml(text: string, inAttribute = true): string {
  let output = '';
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    // A surrogate pair is one valid character: copy both halves.
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        output += text[index] + (text[index + 1] ?? '');
        index += 1;
        continue;
      }
    }
    const char = text[index] ?? '';
    switch (char) {
      case '&':
        output += '&amp;';
        continue;
      case '<':
        output += '&lt;';
        continue;
      case '>':
        output += '&gt;';
        continue;
      case '"':
        output += '&quot;';
        continue;
      case "'":
        output += '&apos;';
        continue;
      // References in attributes, which parsers would otherwise normalize to spaces.
      case '\n':
        output += inAttribute ? '&#10;' : '\n';
        continue;
      case '\r':
        output += '&#13;';
        continue;
      case '\t':
        output += inAttribute ? '&#9;' : '\t';
        continue;
    }
    const invalid = unit < 0x20 || (unit >= 0xd800 && unit <= 0xdfff) || unit === 0xfffe || unit === 0xffff;
    output += invalid ? `\\u${unit.toString(16).padStart(4, '0')}` : char;
  }
  return output;
}
