/**
 * The verify report as data. Renderers only format it; the JSON renderer emits it as is, and
 * schema/report.schema.json describes it. Bump `schemaVersion` on any incompatible change.
 */
import type { Difference, OmittedDifferences } from '../diff/model.js';
import type { LayerComparison, LayerSide } from '../diff/layers.js';
import type { ImageIdentity } from './identity.js';

export const reportSchemaVersion = 1;

/** identical: same manifest digest or image ID; reproducible: same canonical digest. */
export type Verdict = 'identical' | 'reproducible' | 'not-reproducible';

export interface ImageSide extends ImageIdentity {
  /** Null when not computed: layer pairs with equal diff_ids were not read (verify without --verify-blobs). */
  canonicalDigest: string | null;
  layers: LayerSide[];
}

export interface CauseCount {
  cause: string;
  title: string;
  count: number;
  neutralized: number;
  accepted: number;
  hint?: string;
}

export interface ReportSummary {
  differences: number;
  /** Differences that normalization does not remove. */
  remaining: number;
  neutralized: number;
  accepted: number;
  /** Remaining differences with no known cause. */
  unexplained: number;
  byCause: CauseCount[];
  /**
   * Layers with differences that still block (neither neutralized nor accepted), most first. A
   * flattened comparison's file difference counts for the layer of A and the layer of B it came from.
   */
  topLayers: { index: number; step: string | null; remaining: number }[];
  /** Files with differences that still block, most first; `layer` null for the flattened filesystem. */
  topFiles: { layer: number | null; file: string; attributes: string[] }[];
}

export interface Report {
  schemaVersion: typeof reportSchemaVersion;
  tool: { name: 'oci-repro'; version: string };
  verdict: Verdict;
  /** Why the verdict, in one sentence. */
  reason: string;
  /** True when the gate passes under the options used (strict, policy). */
  passed: boolean;
  options: { epoch: number; timestampMode: 'set' | 'clamp'; disabledRules: string[]; strict: boolean; policy: string | null };
  a: ImageSide;
  b: ImageSide;
  /** True when layer counts differ and files were compared on the flattened filesystems. */
  flattened: boolean;
  layers: LayerComparison[];
  summary: ReportSummary;
  differences: Difference[];
  /** Present when neutralized differences were left out of `differences`; in report order. */
  omitted?: OmittedDifferences[];
}
