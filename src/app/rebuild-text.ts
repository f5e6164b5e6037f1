/**
 * The text form of a RebuildReport: per variation what broke and the fixes, then per remaining
 * difference the variations that produce it. (Markdown, JUnit and HTML come with the view model.)
 */
import type { RebuildReport, VariationOutcome } from './rebuild.js';

/** Remaining differences listed per variation before "and N more". */
const listLimit = 10;

export function renderRebuildText(report: RebuildReport): string {
  const lines: string[] = [];
  const compared = report.variations.filter((v) => v.status === 'compared');
  const broken = compared.filter((v) => !v.passed);
  // When the clock alone breaks the build, the other variations are named only for what they add.
  const own = broken.filter((v) => v.beyondClock === undefined || v.beyondClock.length > 0);
  const verdict = report.passed
    ? `reproducible under ${compared.length === 1 ? 'the variation' : `all ${compared.length} variations`} tried`
    : `not reproducible: ${own.map((v) => v.name).join(', ')} ${own.length === 1 ? 'breaks' : 'break'} it`;
  lines.push(`rebuild of ${report.context} with ${report.builder}: ${verdict}`);
  lines.push(`baseline built in ${seconds(report.baseline.buildSeconds)}; whole run ${seconds(report.totalSeconds)}`);
  for (const v of report.variations) lines.push('', ...renderVariation(v));
  if (report.differences.length > 0) {
    lines.push('', 'remaining differences and the variations that produce them:');
    for (const d of report.differences) {
      const when = d.everyBuild ? 'every build (the clock)' : `only under ${d.variations.join(', ')}`;
      lines.push(`  ${d.path}: ${when}${d.cause ? ` [${d.cause.id}]` : ' [no known cause]'}`);
    }
  }
  if (report.kept) lines.push('', `archives and logs kept in ${report.kept}`);
  return `${lines.join('\n')}\n`;
}

function renderVariation(v: VariationOutcome): string[] {
  if (v.status === 'skipped') return [`${v.name}: skipped (${v.reason})`];
  const what = v.passed ? 'passes' : v.beyondClock?.length === 0 ? 'breaks only what the clock breaks' : 'breaks reproducibility';
  const head = `${v.name}: ${what} — ${v.description} (${v.verdict}, built in ${seconds(v.buildSeconds ?? 0)})`;
  const lines = [head];
  const remaining = v.remaining ?? [];
  if (remaining.length > 0) {
    lines.push(`  ${remaining.length} remaining difference${remaining.length === 1 ? '' : 's'}:`);
    for (const path of remaining.slice(0, listLimit)) lines.push(`    ${path}`);
    if (remaining.length > listLimit) lines.push(`    … and ${remaining.length - listLimit} more`);
  }
  const causes = v.causes ?? [];
  const breaking = causes.filter((c) => c.remaining > 0);
  if (breaking.length > 0) {
    lines.push('  causes and fixes:');
    for (const c of breaking) lines.push(`    ${c.id} (${c.remaining}): ${c.title}${c.fix ? `\n      fix: ${c.fix}` : ''}`);
  }
  const neutralized = causes.filter((c) => c.remaining === 0 && c.neutralized > 0);
  if (neutralized.length > 0) {
    lines.push(`  neutralized by normalization: ${neutralized.map((c) => `${c.id} (${c.neutralized})`).join(', ')}`);
  }
  return lines;
}

function seconds(value: number): string {
  return `${value.toFixed(1)} s`;
}
