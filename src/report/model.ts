/**
 * The verify report as data. Renderers only format it; the JSON renderer emits it as is, and
 * schema/report.schema.json describes it. Bump `schemaVersion` on any incompatible change.
 */
import type { ImageIdentity, LayerIdentity } from './identity.js';

export const reportSchemaVersion = 1;

/** identical: same manifest digest or image ID; reproducible: same canonical digest. */
export type Verdict = 'identical' | 'reproducible' | 'not-reproducible';

/** The closed set of difference kinds. */
export type DifferenceKind =
  /** A config field, by JSON pointer: `/created`, `/history/3/created`, `/config/Env/2`. */
  | 'config-field'
  /** A manifest field or annotation: `/annotations/org.opencontainers.image.created`. */
  | 'manifest-field'
  /** The images have different layer counts; files are then compared on the flattened filesystems. */
  | 'layer-count'
  /** Blob digests differ but diff_ids are equal: compression only. */
  | 'layer-compression'
  /** diff_ids differ but canonical diff_ids are equal, and no file-level cause explains it: tar noise. */
  | 'layer-tar'
  /** Entries arrive in a different order in the two tars. */
  | 'entry-order'
  /** The tars use different dialects (ustar, pax, gnu). */
  | 'tar-dialect'
  /** A path present only in B. */
  | 'file-added'
  /** A path present only in A. */
  | 'file-removed'
  /** One attribute of a path present in both. */
  | 'file-attribute';

export type FileAttribute =
  | 'type'
  | 'content'
  | 'size'
  | 'mode'
  | 'uid'
  | 'gid'
  | 'uname'
  | 'gname'
  | 'mtime'
  | 'atime'
  | 'ctime'
  | 'linkname'
  | 'xattr'
  | 'device'
  | 'pax';

/** A detail that helps a person see the change: a unified diff of text, a JSON diff, or sizes of binaries. */
export type ContentDetail =
  | { format: 'unified'; diff: string }
  | { format: 'json'; changes: { pointer: string; a: unknown; b: unknown }[] }
  | { format: 'binary'; sizeA: number; sizeB: number; digestA: string; digestB: string };

export interface Difference {
  kind: DifferenceKind;
  /**
   * Where, as one string: `/config/Env/2` for config, `layers/2` for a layer,
   * `layers/2/usr/lib/x.so#mtime` for a file attribute (`#xattr:security.capability` for one xattr),
   * `fs/usr/lib/x.so#mtime` when flattened filesystems are compared.
   */
  path: string;
  /** Layer index (aligned index; A's) for layer and file differences. */
  layer?: number;
  /**
   * Flattened comparison only: the layer each side's entry came from (null when absent on that side).
   * `layer` then holds A's origin, or B's for an added file.
   */
  origin?: { a: number | null; b: number | null };
  /** The file path inside the layer, for file differences. */
  file?: string;
  attribute?: FileAttribute;
  /** For attribute `xattr` and `pax`: the key. */
  key?: string;
  /** Values in A and B (null when absent on that side). */
  a: unknown;
  b: unknown;
  /** True when normalization removes this difference (it does not count against reproducibility). */
  neutralized: boolean;
  /** The known cause, from the catalogue; null when unknown (never hidden). */
  cause: { id: string; title: string } | null;
  /** The fix a user would apply. */
  hint?: string;
  /** Set when a policy file accepts the difference. */
  accepted?: { reason: string; rule: string };
  detail?: ContentDetail;
}

/** Where a layer pair's identity chain breaks. */
export type LayerStatus =
  /** Same blob digest. */
  | 'identical'
  /** Same diff_id, different blob: compression only. */
  | 'compression'
  /** Same canonical diff_id, different diff_id: tar noise only. */
  | 'tar'
  /** Different canonical diff_id: content or metadata that normalization keeps. */
  | 'content'
  /** Present in one image only. */
  | 'missing';

export interface LayerSide extends LayerIdentity {
  canonicalDiffId: string | null;
}

export interface LayerComparison {
  index: number;
  status: LayerStatus;
  /** The Dockerfile step, from A's history (B's when A has none). */
  step: string | null;
  a: LayerSide | null;
  b: LayerSide | null;
  /** Counts of file differences in this layer, for the summary. */
  counts: { added: number; removed: number; changed: number };
}

export interface ImageSide extends ImageIdentity {
  canonicalDigest: string;
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

/**
 * Neutralized differences of one scope and cause that the report counts but does not list. A report
 * lists at most a few neutralized differences per scope and cause (every one with --all-differences);
 * remaining and accepted ones are always listed. `summary` counts the omitted ones too.
 */
export interface OmittedDifferences {
  /** `config` (config and manifest), `layers/<index>`, or `fs` (the flattened filesystem). */
  scope: DifferenceScope;
  /** A catalogue cause id, or "unknown". */
  cause: string;
  count: number;
}

export type DifferenceScope = 'config' | 'fs' | `layers/${number}`;

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
