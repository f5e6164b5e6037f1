/**
 * The one view of a rebuild report, which every rebuild renderer reads and only formats: the verdict
 * in words, per variation what it broke and the fixes, per remaining difference when it shows ("only
 * when the clock moves", "when file permissions in the context change"). With `--against`, the
 * release's verify report has its own view (view.ts), carried here.
 */
import { describeVariation } from '../rebuild/variations.js';
import type { AttributedDifference, RebuildReport, VariationOutcome } from './rebuild-model.js';
import { buildReportView, type ReportView, type ViewOptions } from './view.js';
import { plural } from './wording.js';

export interface CauseLine {
  id: string;
  title: string;
  count: number;
  fix: string | null;
}

export interface VariationView {
  name: string;
  description: string;
  /** `passes`, `breaks reproducibility`, `breaks only what the clock breaks`, `skipped`. */
  result: string;
  /** Whether this variation breaks something the clock does not: what the verdict names. */
  breaks: boolean;
  skipped: boolean;
  /** Why it was skipped. */
  reason: string | null;
  /** `not-reproducible`, when compared. */
  verdict: string | null;
  /** `3.1 s`, when built. */
  buildTime: string | null;
  /** The paths of its remaining differences, all of them (renderers cut). */
  remaining: string[];
  /** Of `remaining`, what it breaks itself: those the clock does not break too (all when clock was not compared). */
  own: string[];
  /** The causes of `own`, with the fix from the catalogue. */
  breaking: CauseLine[];
  /** `file-mtime (3), owner-names (1)`: what normalization neutralized, or ''. */
  neutralized: string;
}

export interface DifferenceAttributionView {
  path: string;
  /** `only when the clock moves`, `when file permissions in the context change`, ... */
  when: string;
  variations: string[];
  cause: { id: string; title: string } | null;
  hint: string | null;
}

export interface RebuildView {
  report: RebuildReport;
  passed: boolean;
  /** `rebuild of /ctx with buildah` (`for linux/arm64`, `against REF`). */
  title: string;
  /** `reproducible under all 4 variations tried`, `not reproducible: umask breaks it`, `the release is reproducible from this source`. */
  verdict: string;
  /** `baseline built in 3.1 s; whole run 18.0 s`. */
  timing: string;
  variations: VariationView[];
  differences: DifferenceAttributionView[];
  /** `--against`: the release verified against the rebuild. */
  against: { reference: string; view: ReportView } | null;
}

export function buildRebuildView(report: RebuildReport, options: ViewOptions = {}): RebuildView {
  const causeOf = new Map(report.differences.map((d) => [d.path, d.cause?.id ?? 'unknown']));
  const variations = report.variations.map((v) => variationView(v, causeOf));
  const title = `rebuild of ${report.context} with ${report.builder}${report.platform ? ` for ${report.platform}` : ''}${report.against ? ` against ${report.against.reference}` : ''}`;
  const against = report.against ? { reference: report.against.reference, view: buildReportView(report.against.report, options) } : null;
  return {
    report,
    passed: report.passed,
    title,
    verdict: against ? againstVerdict(against.view) : variationsVerdict(report, variations),
    timing: `${against ? 'rebuilt' : 'baseline built'} in ${seconds(report.baseline.buildSeconds)}; whole run ${seconds(report.totalSeconds)}`,
    variations,
    differences: report.differences.map(attributionView),
    against,
  };
}

function againstVerdict(view: ReportView): string {
  const { report } = view;
  if (report.passed) return `the release is reproducible from this source (${view.verdictTitle})`;
  const remaining = report.differences.filter((d) => !d.neutralized && !d.accepted).length;
  return `the release is not reproducible from this source: ${plural(remaining, 'remaining difference')}`;
}

function variationsVerdict(report: RebuildReport, variations: readonly VariationView[]): string {
  const compared = report.variations.filter((v) => v.status === 'compared');
  if (report.passed) return `reproducible under ${compared.length === 1 ? 'the variation' : `all ${compared.length} variations`} tried`;
  // When the clock alone breaks the build, the other variations are named only for what they add.
  const own = variations.filter((v) => v.breaks);
  return `not reproducible: ${own.map((v) => v.name).join(', ')} ${own.length === 1 ? 'breaks' : 'break'} it`;
}

function variationView(v: VariationOutcome, causeOf: ReadonlyMap<string, string>): VariationView {
  const skipped = v.status === 'skipped';
  const failed = !skipped && v.passed === false;
  const clockOnly = failed && v.beyondClock?.length === 0;
  const causes = v.causes ?? [];
  const own = v.beyondClock ?? v.remaining ?? [];
  // What it breaks itself, by cause: the clock's differences are the clock's to explain.
  const ownCounts = new Map<string, number>();
  for (const path of own) ownCounts.set(causeOf.get(path) ?? 'unknown', (ownCounts.get(causeOf.get(path) ?? 'unknown') ?? 0) + 1);
  return {
    name: v.name,
    description: v.description,
    result: skipped ? 'skipped' : !failed ? 'passes' : clockOnly ? 'breaks only what the clock breaks' : 'breaks reproducibility',
    breaks: failed && !clockOnly,
    skipped,
    reason: v.reason ?? null,
    verdict: v.verdict ?? null,
    buildTime: v.buildSeconds === undefined ? null : seconds(v.buildSeconds),
    remaining: v.remaining ?? [],
    own,
    breaking: causes.filter((c) => ownCounts.has(c.id)).map((c) => ({ id: c.id, title: c.title, count: ownCounts.get(c.id)!, fix: c.fix })),
    neutralized: causes
      .filter((c) => c.remaining === 0 && c.neutralized > 0)
      .map((c) => `${c.id} (${c.neutralized})`)
      .join(', '),
  };
}

/** When a difference shows, from the variations that produce it. */
export function describeWhen(d: Pick<AttributedDifference, 'variations' | 'everyBuild'>): string {
  if (d.everyBuild) return d.variations.length === 1 ? 'only when the clock moves' : 'every build (the clock moves)';
  return d.variations.map((name) => describeVariation(name).when).join(' or ');
}

function attributionView(d: AttributedDifference): DifferenceAttributionView {
  return { path: d.path, when: describeWhen(d), variations: [...d.variations], cause: d.cause, hint: d.hint };
}

function seconds(value: number): string {
  return `${value.toFixed(1)} s`;
}
