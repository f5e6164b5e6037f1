/**
 * What verify adds when it runs as a GitHub Actions step (`GITHUB_ACTIONS=true`): the Markdown report
 * appended to the job summary (`$GITHUB_STEP_SUMMARY`), the verdict and canonical digests as step
 * outputs (`$GITHUB_OUTPUT`), and workflow-command annotations for the
 * differences that remain: `::error` for those that fail the gate, `::warning` for those a policy
 * accepted. Annotations go to stderr, which the runner reads for workflow commands as it does stdout
 * (actions/runner ScriptHandler: one OutputManager per stream), so stdout stays the report alone.
 *
 * Escaping follows the workflow-command rules (docs.github.com, "Workflow commands for GitHub
 * Actions"; actions/toolkit command.ts): in the message `%` `\r` `\n` as %25 %0D %0A, in property
 * values also `:` and `,` as %3A %2C. GitHub shows at most 10 annotations of each kind per step, so at
 * most that many are printed per kind, the last one saying how many more there are.
 */
import { appendFile } from 'node:fs/promises';
import type { AnyReport } from '../report/attestation.js';
import { isIndexReport } from '../report/index-model.js';
import type { Report } from '../report/model.js';
import { renderExpectReport, renderIndexReport, renderReport } from '../report/render.js';
import { describeChange, type DifferenceView } from '../report/view-values.js';
import { buildReportView } from '../report/view.js';
import { formatAnnotation, type Annotation } from './workflow-commands.js';

export { escapeData, escapeProperty, formatAnnotation, inGithubActions, type Annotation } from './workflow-commands.js';

/** Annotations of one kind GitHub shows for a step. */
export const annotationsPerKind = 10;

/** `group` is `layer 2` in the title and `layer 2: RUN make` in the message; `file` the path for a file's difference. */
function differenceAnnotation(view: DifferenceView, group: { id: string; title: string }, prefix: string, file?: string): Annotation {
  const { difference } = view;
  const accepted = difference.accepted ? ` (accepted: ${difference.accepted.reason})` : '';
  const change = view.hasValues ? `: ${describeChange(view, 120)}` : '';
  const hint = difference.hint ? `\nfix: ${difference.hint}` : '';
  const what = file === undefined ? view.subject : `${file} ${view.subject}`;
  return {
    level: difference.accepted ? 'warning' : 'error',
    title: `oci-repro: ${prefix}${group.id}: ${what}`,
    message: `${group.title}: ${what}${change}\ncause: ${view.cause}${accepted}${hint}`,
  };
}

/** The differences of one single-image report that still show: blocking ones, then accepted ones. */
function reportAnnotations(report: Report, prefix = ''): Annotation[] {
  const view = buildReportView(report);
  const found: Annotation[] = [];
  for (const group of view.groups) {
    for (const difference of group.general) if (!difference.difference.neutralized) found.push(differenceAnnotation(difference, group, prefix));
    for (const file of group.files) {
      for (const difference of file.differences) if (!difference.difference.neutralized) found.push(differenceAnnotation(difference, group, prefix, file.file));
    }
  }
  // A gate that fails with nothing to point at (strict: equal only after normalization) still says why.
  if (!report.passed && !found.some((annotation) => annotation.level === 'error')) {
    found.push({ level: 'error', title: `oci-repro: ${prefix}not reproducible`, message: report.reason });
  }
  return found;
}

/** Every annotation of a report, before the per-kind limit. */
export function collectAnnotations(report: AnyReport): Annotation[] {
  if ('kind' in report && report.kind === 'expect') {
    return report.passed ? [] : [{ level: 'error', title: 'oci-repro: canonical digest differs', message: report.reason }];
  }
  if (isIndexReport(report)) {
    return report.platforms.flatMap((platform) => {
      if (platform.report) return reportAnnotations(platform.report, `${platform.platform}: `);
      return platform.passed ? [] : [{ level: 'error' as const, title: `oci-repro: ${platform.platform}`, message: platform.reason }];
    });
  }
  return reportAnnotations(report as Report);
}

/** At most `limit` annotations per level; when some are left out, the last one shown counts them. */
export function limitAnnotations(annotations: readonly Annotation[], limit = annotationsPerKind): Annotation[] {
  const kept: Annotation[] = [];
  for (const level of ['error', 'warning'] as const) {
    const ofLevel = annotations.filter((annotation) => annotation.level === level);
    if (ofLevel.length <= limit) {
      kept.push(...ofLevel);
      continue;
    }
    const more = ofLevel.length - (limit - 1);
    kept.push(...ofLevel.slice(0, limit - 1), {
      level,
      title: `oci-repro: ${more} more`,
      message: `${more} more ${level === 'error' ? 'remaining' : 'accepted'} differences are not annotated; the job summary lists them`,
    });
  }
  return kept;
}

/** The report in Markdown, for the job summary. */
export function summaryMarkdown(report: AnyReport): string {
  if ('kind' in report && report.kind === 'expect') return renderExpectReport(report, 'markdown');
  if (isIndexReport(report)) return renderIndexReport(report, 'markdown', { color: false });
  return renderReport(report as Report, 'markdown', { color: false });
}

export interface GithubActionsOutput {
  env: NodeJS.ProcessEnv;
  /** Where workflow commands are written (stderr). */
  write: (text: string) => void;
}

/** The step outputs verify sets (`$GITHUB_OUTPUT`): what a later step or the action's outputs read. */
export function stepOutputs(report: AnyReport): Record<string, string> {
  const outputs: Record<string, string> = { verdict: report.verdict, passed: String(report.passed) };
  if ('kind' in report && report.kind === 'expect') {
    const actual = 'index' in report ? report.index.canonicalDigest : report.image.canonicalDigest;
    return { ...outputs, 'canonical-digest-a': actual, 'canonical-digest-expected': report.expected.canonicalDigest };
  }
  const { a, b } = report as Report;
  return { ...outputs, 'canonical-digest-a': a.canonicalDigest ?? '', 'canonical-digest-b': b.canonicalDigest ?? '' };
}

/** `name=value` lines; a value is one line here (digests, verdicts), anything else is left out. */
export function formatStepOutputs(outputs: Record<string, string>): string {
  return Object.entries(outputs)
    .filter(([, value]) => !/[\r\n]/.test(value))
    .map(([name, value]) => `${name}=${value}\n`)
    .join('');
}

/**
 * Appends the summary and the step outputs, and prints the annotations. `OCI_REPRO_ANNOTATION_FILE` (a path in the
 * repository, e.g. the Dockerfile) pins the annotations to that file; without it they show on the run.
 * A summary that cannot be written is a warning, never a changed verdict.
 */
export async function reportToGithubActions(report: AnyReport, output: GithubActionsOutput): Promise<void> {
  const { env, write } = output;
  const summaryPath = env.GITHUB_STEP_SUMMARY;
  if (summaryPath) {
    try {
      await appendFile(summaryPath, `${summaryMarkdown(report)}\n`);
    } catch (error) {
      write(`${formatAnnotation({ level: 'warning', title: 'oci-repro', message: `could not append to the job summary ${summaryPath}: ${(error as Error).message}` })}\n`);
    }
  }
  const outputPath = env.GITHUB_OUTPUT;
  if (outputPath) {
    try {
      await appendFile(outputPath, formatStepOutputs(stepOutputs(report)));
    } catch (error) {
      write(`${formatAnnotation({ level: 'warning', title: 'oci-repro', message: `could not append to the step outputs ${outputPath}: ${(error as Error).message}` })}\n`);
    }
  }
  const file = env.OCI_REPRO_ANNOTATION_FILE || undefined;
  for (const annotation of limitAnnotations(collectAnnotations(report))) write(`${formatAnnotation(annotation, file)}\n`);
}
