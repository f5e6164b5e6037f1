/**
 * The view of an index report (index-model.ts), which every format renders: one summary of the
 * platforms and of the two indexes, then each compared platform's own report view.
 */
import type { IndexReport, IndexSide, PlatformComparison } from './index-model.js';
import { buildReportView, type ReportView, type ViewOptions } from './view.js';
import { plural, showControlCharacters, verdictTitles } from './wording.js';

export interface PlatformView {
  platform: string;
  passed: boolean;
  /** The verdict in a few words, or which side alone has the platform. */
  verdict: string;
  reason: string;
  canonical: { a: string | null; b: string | null };
  /** Which sides have the platform. */
  presence: PlatformComparison['presence'];
  /** Both sides have the same canonical digest. */
  same: boolean;
  /** The platform's single-image report; null when it is on one side only. */
  view: ReportView | null;
}

export interface IndexView {
  /** The report, with control characters made visible unless the options said not to. */
  report: IndexReport;
  verdictTitle: string;
  /** `2 platforms compared: 1 reproducible, 1 not reproducible; 1 only in A`. */
  platformCounts: string;
  platforms: PlatformView[];
  /** Attestation manifests each index lists (never compared). */
  attestations: { a: number; b: number };
}

export function buildIndexView(input: IndexReport, options: ViewOptions = {}): IndexView {
  const report = options.showControlCharacters === false ? input : showControlCharacters(input);
  return {
    report,
    verdictTitle: verdictTitles[report.verdict],
    platformCounts: describePlatformCounts(report),
    platforms: report.platforms.map((platform) => ({
      platform: platform.platform,
      passed: platform.passed,
      verdict: describePlatformVerdict(platform),
      reason: platform.reason,
      canonical: platform.canonicalDigest,
      presence: platform.presence,
      same: platform.canonicalDigest.a !== null && platform.canonicalDigest.a === platform.canonicalDigest.b,
      view: platform.report ? buildReportView(platform.report, options) : null,
    })),
    attestations: { a: attestationCount(report.a), b: attestationCount(report.b) },
  };
}

/** `2 platforms compared: 1 reproducible, 1 not reproducible; 1 only in A`. */
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

function attestationCount(side: IndexSide): number {
  return side.manifests.filter((manifest) => manifest.attestation).length;
}
