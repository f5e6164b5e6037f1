/**
 * The difference model: what compare/ finds, causes/ explains, gate/ accepts and report/ shows. The
 * bottom floor of that part of the house (docs/architecture.md section 4): it imports nothing, so every
 * folder above reads the same closed union without importing each other.
 */

/** The pseudo cause id under which differences with no known cause are counted. No catalogue entry uses it. */
export const unknownCauseId = 'unknown';

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
