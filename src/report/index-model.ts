/**
 * The verify report of two multi-platform indexes compared whole (no --platform). A single-image
 * report (model.ts) keeps its shape; this one is told apart by `kind: "index"`, as the --expect report
 * is by `kind: "expect"`. `verdict`, `reason`, `passed`, `options` and `tool` mean what they mean in a
 * single-image report, so a gate that reads only those reads both. Each platform present on both sides
 * carries its full single-image report.
 */
import type { Report, Verdict } from './model.js';
import { reportSchemaVersion } from './model.js';

/** One manifest an index lists, as the report shows it. */
export interface IndexManifestSide {
  platform: string | null;
  digest: string;
  mediaType: string;
  /** Attestation and signature manifests: listed, never compared. */
  attestation: boolean;
}

export interface IndexSide {
  reference: string;
  /** The index digest (sha256 of index.json when an OCI layout's index.json is itself the index). */
  indexDigest: string;
  indexMediaType: string;
  /**
   * The canonical index digest (normalize/canonical-index.ts) over every image platform of this side;
   * null when a platform's canonical digest was not computed (its layers were not read).
   */
  canonicalDigest: string | null;
  manifests: IndexManifestSide[];
}

export interface PlatformComparison {
  /** `os/arch[/variant]`. */
  platform: string;
  /** `both`, or the one side that lists the platform (that fails the gate). */
  presence: 'both' | 'a' | 'b';
  /** `not-reproducible` for a platform on one side only. */
  verdict: Verdict;
  passed: boolean;
  reason: string;
  /** Canonical digests of this platform's image on each side (null where absent, or not computed). */
  canonicalDigest: { a: string | null; b: string | null };
  /** The single-image report of this platform; null when it is on one side only. */
  report: Report | null;
}

export interface IndexReport {
  schemaVersion: typeof reportSchemaVersion;
  tool: Report['tool'];
  kind: 'index';
  /** The worst platform verdict: not-reproducible > reproducible > identical; a one-sided platform is not-reproducible. */
  verdict: Verdict;
  reason: string;
  passed: boolean;
  options: Report['options'];
  a: IndexSide;
  b: IndexSide;
  /** Sorted by platform; platforms on both sides and on one side only. */
  platforms: PlatformComparison[];
}

export function isIndexReport(report: Report | IndexReport): report is IndexReport {
  return (report as IndexReport).kind === 'index';
}

const verdictRank: Readonly<Record<Verdict, number>> = { identical: 0, reproducible: 1, 'not-reproducible': 2 };

/** The worse of the verdicts, `identical` for none. */
export function worstVerdict(verdicts: readonly Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((worst, verdict) => (verdictRank[verdict] > verdictRank[worst] ? verdict : worst), 'identical');
}
