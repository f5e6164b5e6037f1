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

/** A file's type as the comparer shows it (the entry types of normalize/entry.ts). */
export type FileType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/**
 * The raw value of each file attribute, on one side (null where that side has none). Modes are
 * numbers (the tar mode field, `0o644`; the file-type bits only when they are part of the difference);
 * the JSON report spells them as octal strings (report/json.ts). Times are seconds since the epoch.
 * xattr and PAX values are text when printable UTF-8, else `0x` and hex.
 */
export interface FileAttributeValues {
  type: FileType;
  /** `sha256:<hex>` of the content. */
  content: string | null;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  atime: number | null;
  ctime: number | null;
  linkname: string | null;
  xattr: string | null;
  /** `major,minor`. */
  device: string | null;
  pax: string | null;
}

export type FileAttribute = keyof FileAttributeValues;

/** A compact view of a tar entry: the value of a `file-added` or `file-removed` difference. */
export interface EntryValue {
  type: FileType;
  /** Without the file-type bits some writers add (the type is shown beside it). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  contentDigest?: string;
  linkname?: string;
}

/** A detail that helps a person see the change: a unified diff of text, a JSON diff, or sizes of binaries. */
export type ContentDetail =
  | { format: 'unified'; diff: string }
  | { format: 'json'; changes: { pointer: string; a: unknown; b: unknown }[] }
  | {
      format: 'binary';
      sizeA: number;
      sizeB: number;
      digestA: string;
      digestB: string;
      /** Set when both contents were read: bytes that differ, and the first differing ranges with a hexdump of each side. */
      differingBytes?: number;
      ranges?: { start: number; end: number; hexA: string[]; hexB: string[] }[];
      moreRanges?: number;
    }
  /** A known format (pyc, gzip, zip, ar, elf) decoded on both sides: the fields that differ. */
  | {
      format: 'decoded';
      decoder: string;
      sizeA: number;
      sizeB: number;
      digestA: string;
      digestB: string;
      /**
       * Same shape as formats/model.ts FieldChange (kept here so diff/ stays a bottom floor). A field of
       * a member inside the file (an archive's member, or a member of a member) has `member`, the chain
       * of member names from the file, and `path`, the member written `file!/dir/inner.zip!/x.txt`
       * (names that could mislead as a path, such as `../x`, quoted).
       */
      changes: { where: string; field: string; a: unknown; b: unknown; records: string; member?: string[]; path?: string }[];
      /** What a bound (depth, inflated bytes, held bytes) or a damaged member left unopened. */
      notes?: string[];
    }
  /** Text whose every changed line differs from its counterpart only in dates, times or durations. */
  | { format: 'timestamps'; lines: number; kinds: string[]; example: { a: string; b: string } };

/** What every difference carries. */
interface DifferenceCommon {
  /**
   * Where, as one string: `/config/Env/2` for config, `layers/2` for a layer,
   * `layers/2/usr/lib/x.so#mtime` for a file attribute (`#xattr:security.capability` for one xattr),
   * `fs/usr/lib/x.so#mtime` when flattened filesystems are compared.
   */
  path: string;
  /** True when normalization removes this difference (it does not count against reproducibility). */
  neutralized: boolean;
  /** The known cause, from the catalogue; null when unknown (never hidden). */
  cause: { id: string; title: string } | null;
  /** The fix a user would apply. */
  hint?: string;
  /** Set when a policy file accepts the difference. */
  accepted?: { reason: string; rule: string };
}

/** The file fields, absent on differences that are not about one file, so any difference can be asked for them. */
interface NotAboutAFile {
  origin?: undefined;
  file?: undefined;
  attribute?: undefined;
  key?: undefined;
  detail?: undefined;
}

/** A config or manifest field; the values are the JSON values at `path` (null when absent). */
export interface FieldDifference extends DifferenceCommon, NotAboutAFile {
  kind: 'config-field' | 'manifest-field';
  layer?: undefined;
  a: unknown;
  b: unknown;
}

/** The images have different layer counts: the values are the counts. */
export interface LayerCountDifference extends DifferenceCommon, NotAboutAFile {
  kind: 'layer-count';
  layer?: undefined;
  a: number;
  b: number;
}

/** A whole layer: blob digests (`layer-compression`) or diff_ids (`layer-tar`). */
export interface LayerDigestDifference extends DifferenceCommon, NotAboutAFile {
  kind: 'layer-compression' | 'layer-tar';
  layer: number;
  a: string;
  b: string;
}

/** Entries in another order: each side's first entry out of the common order (compare/layers.ts). */
export interface EntryOrderDifference extends DifferenceCommon, NotAboutAFile {
  kind: 'entry-order';
  layer: number;
  a: string;
  b: string;
}

/** The tar dialects each side's layer uses, sorted. */
export interface TarDialectDifference extends DifferenceCommon, NotAboutAFile {
  kind: 'tar-dialect';
  layer: number;
  a: string[];
  b: string[];
}

/** What every difference about one file carries. */
interface FileDifferenceCommon extends DifferenceCommon {
  /** Layer index (aligned index; A's) for a layer's files; in a flattened comparison, see `origin`. */
  layer?: number;
  /**
   * Flattened comparison only: the layer each side's entry came from (null when absent on that side).
   * `layer` then holds A's origin, or B's for an added file.
   */
  origin?: { a: number | null; b: number | null };
  /** The file path inside the layer (or the flattened filesystem). */
  file: string;
}

/** A path on one side only: the entry on that side, null on the other. */
export interface FilePresenceDifference extends FileDifferenceCommon {
  kind: 'file-added' | 'file-removed';
  attribute?: undefined;
  key?: undefined;
  detail?: undefined;
  a: EntryValue | null;
  b: EntryValue | null;
}

/** One attribute of a path present on both sides, with that attribute's values. */
export type FileAttributeDifference = {
  [A in FileAttribute]: FileDifferenceCommon & {
    kind: 'file-attribute';
    attribute: A;
    /** For attributes `xattr` and `pax`: the key. */
    key?: string;
    a: FileAttributeValues[A];
    b: FileAttributeValues[A];
    /** For attribute `content`: what helps a person see the change. */
    detail?: ContentDetail;
  };
}[FileAttribute];

/** A difference of one file's content. */
export type ContentDifference = Extract<FileAttributeDifference, { attribute: 'content' }>;

/** Everything compare/ finds: a closed union by `kind`, each with its values as raw typed data. */
export type Difference =
  | FieldDifference
  | LayerCountDifference
  | LayerDigestDifference
  | EntryOrderDifference
  | TarDialectDifference
  | FilePresenceDifference
  | FileAttributeDifference;

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
