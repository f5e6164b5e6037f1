/**
 * The report as JUnit XML for CI test dashboards: one testsuite; a `gate` testcase carrying the
 * verdict, a `config` testcase, one per layer, and one for the flattened filesystem when layer counts
 * differ. Remaining differences not accepted by a policy are failures; accepted and neutralized ones
 * are listed in system-out and never fail. No times or timestamps, so the output is reproducible.
 */
import type { Report } from './model.js';
import type { Difference } from '../diff/model.js';
import {
  type DifferenceGroup,
  countNeutralizedByCause,
  describeCause,
  describeOmitted,
  describeOrigin,
  describeSubject,
  formatChange,
  groupDifferences,
  plural,
  describeStatus,
  describeSteps,
  truncate,
  verdictTitles,
} from './render-text.js';

interface TestCase {
  classname: string;
  name: string;
  failures: Difference[];
  /** The failure element's body and the system-out text. */
  failureText: string;
  out: string;
}

export function renderJunit(report: Report): string {
  const suite = renderJunitSuite(report);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="oci-repro" tests="${suite.tests}" failures="${suite.failures}" errors="0">`,
    ...suite.lines,
    '</testsuites>',
    '',
  ].join('\n');
}

/** One report's `<testsuite>` element, as lines indented for `<testsuites>`; an index report has one per platform. */
export function renderJunitSuite(report: Report, suiteName = `oci-repro verify ${report.a.reference} ${report.b.reference}`): { lines: string[]; tests: number; failures: number } {
  const groups = new Map(groupDifferences(report).map((group) => [group.id, group]));
  const cases: TestCase[] = [];

  const gateFailure = report.passed ? '' : report.reason;
  const omitted = describeOmitted(report.omitted);
  cases.push({
    classname: 'oci-repro',
    name: 'gate',
    failures: [],
    failureText: gateFailure,
    out: `verdict: ${verdictTitles[report.verdict]}\n${report.reason}\n${omitted === null ? '' : `${omitted}\n`}`,
  });
  cases.push(caseOf('oci-repro.config', 'config', groups.get('config')));
  for (const layer of report.layers) {
    const name = `layer ${layer.index}${layer.step ? `: ${truncate(layer.step, 200)}` : ''}`;
    const testCase = caseOf('oci-repro.layers', name, groups.get(`layer ${layer.index}`));
    // The name holds A's step; when B ran another step here, both, cut where they differ.
    const steps = describeSteps(layer, 200);
    const stepLines = steps ? `step in A: ${steps[0]}\nstep in B: ${steps[1]}\n` : '';
    testCase.out = `status: ${describeStatus(layer)}\n${stepLines}${testCase.out}`;
    cases.push(testCase);
  }
  const filesystem = groups.get('filesystem');
  if (filesystem) cases.push(caseOf('oci-repro.filesystem', 'flattened filesystem', filesystem));

  const failures = cases.filter((testCase) => testCase.failures.length > 0 || testCase.failureText !== '').length;
  const lines = [
    `  <testsuite name="${escapeXml(suiteName)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0">`,
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

function caseOf(classname: string, name: string, group: DifferenceGroup | undefined): TestCase {
  if (!group) return { classname, name, failures: [], failureText: '', out: '' };
  const all = [...group.general, ...group.files.flatMap((entry) => entry.differences)];
  const failures = all.filter((difference) => !difference.neutralized && !difference.accepted);
  const accepted = all.filter((difference) => !difference.neutralized && difference.accepted);
  const out: string[] = [];
  for (const difference of accepted) {
    out.push(`accepted by ${difference.accepted?.rule} (${difference.accepted?.reason}): ${describeLine(difference)}`);
  }
  if (group.neutralized > 0) out.push(`${group.neutralized} neutralized by normalization: ${countNeutralizedByCause(all, group.omitted)}`);
  return {
    classname,
    name,
    failures,
    failureText: failures.map(describeFailure).join('\n'),
    out: out.length ? `${out.join('\n')}\n` : '',
  };
}

/** Lines of a text diff kept in a failure body; CI dashboards show failures, not megabytes. */
const maxDiffLines = 60;

function describeFailure(difference: Difference): string {
  const lines = [describeLine(difference)];
  if (difference.hint) lines.push(`  fix: ${difference.hint}`);
  if (difference.detail?.format === 'unified') {
    const diff = difference.detail.diff.replace(/\n$/, '').split('\n');
    lines.push(...diff.slice(0, maxDiffLines).map((line) => `    ${line}`));
    if (diff.length > maxDiffLines) lines.push(`    ... ${diff.length - maxDiffLines} more lines`);
  }
  return lines.join('\n');
}

function describeLine(difference: Difference): string {
  const origin = describeOrigin(difference);
  const file = origin ? `${difference.file} (${origin})` : difference.file;
  const where = file !== undefined ? `${file} ${describeSubject(difference)}` : describeSubject(difference);
  const values =
    difference.kind === 'file-added' || difference.kind === 'file-removed' || (difference.a == null && difference.b == null)
      ? ''
      : `: ${formatChange(difference, 120)}`;
  return `${where}${values} (cause: ${describeCause(difference)})`;
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
