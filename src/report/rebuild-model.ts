/**
 * The `rebuild` report (app/rebuild.ts makes it): per variation what it broke, per remaining
 * difference the variations that produce it; or, with `--against`, one rebuild verified against a
 * released image. schema/rebuild-report.schema.json describes it.
 */
import type { BuilderName } from '../rebuild/builder-process.js';
import type { VariationName } from '../rebuild/variations.js';
import type { Report, Verdict } from './model.js';

export const rebuildReportSchemaVersion = 1;

/** A cause a variation triggers: how many differences it explains, how many of those remain. */
export interface TriggeredCause {
  id: string;
  title: string;
  fix: string | null;
  remaining: number;
  neutralized: number;
}

export interface VariationOutcome {
  name: VariationName;
  description: string;
  /** When a difference it produces shows: "when file permissions in the context change". */
  when: string;
  status: 'compared' | 'skipped';
  /** Why it was skipped. */
  reason?: string;
  buildSeconds?: number;
  verdict?: Verdict;
  passed?: boolean;
  /** The paths of the differences that remain (not neutralized, not accepted). */
  remaining?: string[];
  /**
   * Of `remaining`, those the clock variation does not produce too: what this variation breaks itself.
   * Present when clock was compared and this is another variation.
   */
  beyondClock?: string[];
  /** Causes of every difference it produced, remaining first, then by count. */
  causes?: TriggeredCause[];
  /** The archive, when kept. */
  archive?: string;
  /** The full verify report of baseline against this build. */
  report?: Report;
}

/** One remaining difference and the variations that produce it. */
export interface AttributedDifference {
  path: string;
  cause: { id: string; title: string } | null;
  hint: string | null;
  variations: VariationName[];
  /** The clock variation produces it: every build differs here, whatever else changes. */
  everyBuild: boolean;
}

/** `--against REF`: the release (A) verified against this source's rebuild (B). */
export interface AgainstOutcome {
  /** The released image's reference. */
  reference: string;
  /** The verify report, release as A, rebuild as B. */
  report: Report;
}

export interface RebuildReport {
  schemaVersion: typeof rebuildReportSchemaVersion;
  kind: 'rebuild';
  tool: { name: 'oci-repro'; version: string };
  context: string;
  dockerfile: string;
  builder: BuilderName;
  /** The platform built for (`--platform`), when given. */
  platform?: string;
  /** True when every compared variation passed (with `--against`: when the release matched). */
  passed: boolean;
  baseline: { buildSeconds: number; archive?: string };
  /** Empty with `--against`: one build, no variations. */
  variations: VariationOutcome[];
  differences: AttributedDifference[];
  against?: AgainstOutcome;
  /** Where archives and logs were kept (`--keep`). */
  kept?: string;
  totalSeconds: number;
}
