/**
 * One difference as every format shows it: what it is about, its values as a person reads them
 * (modes in octal, times as dates), its cause, and its detail; and the cutting of values and diffs to
 * a format's width, done one way for all formats (elide.ts).
 */
import { isBlocking } from '../diff/count.js';
import { formatMode } from '../diff/mode.js';
import { unknownCauseId, type Difference } from '../diff/model.js';
import { memberPath } from '../formats/model.js';
import { elideEnd, elidePair } from './elide.js';
import { describeStep } from './identity.js';
import type { Report } from './model.js';
import { describeFileChange } from './summary.js';
import { shortDigest } from './wording.js';

/**
 * A content detail as shown: the unified diff as lines, JSON changes and decoded fields cut, binary
 * digests short and ranges in hex, a timestamps-only text as its count and one example pair.
 */
export type DetailView =
  | { format: 'unified'; lines: string[] }
  | { format: 'json'; changes: { pointer: string; a: string; b: string }[] }
  | {
      format: 'binary';
      sizeA: number;
      sizeB: number;
      digestA: string;
      digestB: string;
      /** Undefined when the contents were not read (over the content limit). */
      differingBytes?: number;
      /** Offsets in hex (`0x1f0..0x200`) and the hexdump rows of each side. */
      ranges: { at: string; hexA: string[]; hexB: string[] }[];
      moreRanges: number;
    }
  | {
      format: 'decoded';
      /** `gzip`, `pyc`, `zip`, `ar`, `elf`. */
      decoder: string;
      /**
       * Each field that differs: where (for a member inside the file, its path `file!/inner.zip!/x.txt`,
       * then the place inside it when that is not the member itself, as in `file!/inner.tgz header`),
       * which, both values as read (cut), and what the field records. `member` is the chain of member
       * names (the HTML tree nests by it), empty for the file's own fields; `paths` the path of each
       * level of that chain (`file!/inner.zip`, `file!/inner.zip!/x.txt`).
       */
      changes: { where: string; field: string; a: string; b: string; records: string; member: string[]; paths: string[] }[];
      /** What a bound or a damaged member left unopened. */
      notes: string[];
    }
  | { format: 'timestamps'; lines: number; kinds: string[]; example: { a: string; b: string } };

export interface DifferenceView {
  difference: Difference;
  /** Neither neutralized nor accepted. */
  blocking: boolean;
  /** Within its group: the pointer (`manifest /annotations/x` for the manifest), the file change, or the layer-level kind. */
  subject: string;
  /** `A: layer 1, B: layer 0`: where each side of a flattened comparison took the file from; null otherwise. */
  origin: string | null;
  /**
   * The Dockerfile step that wrote the file (its layer's history entry, `RUN pip install ...`), uncut;
   * `A: RUN x; B: RUN y` when the two builds' steps differ; null for a difference not about a file, or
   * when the history does not say.
   */
  writtenBy: string | null;
  /** `Title [id]`, or `no known cause [unknown]`. */
  cause: string;
  /** Both values, as read (`(absent)` for none), digests shortened; not cut. */
  values: [string, string];
  /** The values say something: not both absent, and not a whole entry added or removed. */
  hasValues: boolean;
  detail: DetailView | undefined;
}

/** JSON values in a detail are cut to this many graphemes each. */
const jsonDetailWidth = 40;
/** A timestamps example line is cut to this many graphemes each side. */
const timestampExampleWidth = 90;

/** Each side's step of layer N (from its history), null where the side has no such layer or no step. */
export interface LayerSteps {
  a: (index: number) => string | null;
  b: (index: number) => string | null;
}

export function describeDifference(difference: Difference, steps?: LayerSteps): DifferenceView {
  const kind = difference.kind;
  return {
    difference,
    blocking: isBlocking(difference),
    subject: describeSubject(difference),
    origin: describeOrigin(difference),
    writtenBy: steps ? describeWriter(difference, steps) : null,
    cause: difference.cause ? `${difference.cause.title} [${difference.cause.id}]` : `no known cause [${unknownCauseId}]`,
    values: [shortDigest(formatValue(difference, 'a')), shortDigest(formatValue(difference, 'b'))],
    hasValues: !(difference.a == null && difference.b == null) && kind !== 'file-added' && kind !== 'file-removed',
    detail: describeDetail(difference),
  };
}

/** `a -> b` in at most `max` columns, each side cut where it differs from the other (elide.ts). */
export function describeChange(view: DifferenceView, max = 64): string {
  const [a, b] = elidePair(view.values[0], view.values[1], Math.floor((max - 4) / 2));
  return `${a} -> ${b}`;
}

/** Both sides' steps of a layer, each cut to `max` where they differ. */
export function elideSteps(steps: readonly [string, string], max: number): [string, string] {
  return elidePair(steps[0], steps[1], max);
}

/** One value shown alone, on one line, cut at its end. */
export function truncate(text: string, max: number): string {
  return elideEnd(text, max);
}

/** The first `max` lines, and how many more there are. */
export function headLines<T>(lines: readonly T[], max: number): { lines: T[]; more: number } {
  return { lines: lines.slice(0, max), more: Math.max(0, lines.length - max) };
}

/** The step that wrote a file is cut to this many graphemes where a difference names it. */
export const writtenByWidth = 80;

/** Lines of one unified diff each format shows before it cuts (the JSON report has all of it). */
export const diffLineLimits = { text: 200, markdown: 120, junit: 60 } as const;

/** Decoded fields of one file each format lists before it counts the rest (an archive of thousands of members). */
export const decodedFieldLimits = { text: 60, markdown: 40, junit: 20 } as const;

function describeSubject(difference: Difference): string {
  if (difference.kind === 'config-field') return difference.path;
  if (difference.kind === 'manifest-field') return `manifest ${difference.path}`;
  if (difference.file !== undefined) return describeFileChange(difference);
  return difference.kind;
}

function describeOrigin(difference: Difference): string | null {
  if (!difference.origin) return null;
  const side = (name: string, layer: number | null) => `${name}: ${layer === null ? 'absent' : `layer ${layer}`}`;
  return `${side('A', difference.origin.a)}, ${side('B', difference.origin.b)}`;
}

/** Each side's steps by layer index, from the report's own layer histories. */
export function layerStepsOf(report: Pick<Report, 'a' | 'b'>): LayerSteps {
  const stepsOf = (side: Report['a']) => {
    const byIndex = new Map(side.layers.map((layer) => [layer.index, layer.step ?? null]));
    return (index: number) => byIndex.get(index) ?? null;
  };
  return { a: stepsOf(report.a), b: stepsOf(report.b) };
}

/**
 * The step that wrote a file: its layer's, or in a flattened comparison each side's origin layer's.
 * One step when both sides agree (or one side has none), both when they differ; null for a difference
 * not about a file, or when neither history says.
 */
export function writerSteps(difference: Difference, steps: LayerSteps): string | { a: string; b: string } | null {
  if (difference.file === undefined) return null;
  const layerA = difference.origin ? difference.origin.a : difference.layer;
  const layerB = difference.origin ? difference.origin.b : difference.layer;
  const a = layerA === undefined || layerA === null ? null : steps.a(layerA);
  const b = layerB === undefined || layerB === null ? null : steps.b(layerB);
  if (a === null || b === null || a === b) return a ?? b;
  return { a, b };
}

function describeWriter(difference: Difference, steps: LayerSteps): string | null {
  const writer = writerSteps(difference, steps);
  return writer === null || typeof writer === 'string' ? writer : `A: ${writer.a}; B: ${writer.b}`;
}

/** A value as a person reads it: modes in octal, times as dates, config values as JSON. */
function formatValue(difference: Difference, side: 'a' | 'b'): string {
  const value: unknown = difference[side];
  if (value === null || value === undefined) return '(absent)';
  if (difference.kind === 'config-field' || difference.kind === 'manifest-field') {
    // A whole history entry (a step one build ran): the step, as written, is what a reader looks for.
    const step = /^\/history\/\d+$/.test(difference.path) ? (value as { created_by?: unknown }).created_by : undefined;
    if (typeof step === 'string') return `step ${JSON.stringify(describeStep(step))}`;
    return JSON.stringify(value);
  }
  if (difference.kind === 'file-added' || difference.kind === 'file-removed') {
    const entry = difference[side];
    if (entry) return JSON.stringify({ ...entry, mode: formatMode(entry.mode) });
  }
  if (difference.kind === 'file-attribute') {
    if (difference.attribute === 'mode') return formatMode(difference[side]);
    if ((difference.attribute === 'mtime' || difference.attribute === 'atime' || difference.attribute === 'ctime') && typeof value === 'number') {
      const date = new Date(value * 1000);
      if (!Number.isNaN(date.getTime())) return date.toISOString().replace('.000Z', 'Z');
    }
  }
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function describeDetail(difference: Difference): DetailView | undefined {
  const detail = difference.detail;
  switch (detail?.format) {
    case undefined:
      return undefined;
    case 'unified':
      return { format: 'unified', lines: detail.diff.replace(/\n$/, '').split('\n') };
    case 'json':
      return {
        format: 'json',
        changes: detail.changes.map((change) => {
          const [a, b] = elidePair(JSON.stringify(change.a ?? null), JSON.stringify(change.b ?? null), jsonDetailWidth);
          return { pointer: change.pointer, a, b };
        }),
      };
    case 'binary':
      return {
        format: 'binary',
        sizeA: detail.sizeA,
        sizeB: detail.sizeB,
        digestA: shortDigest(detail.digestA),
        digestB: shortDigest(detail.digestB),
        differingBytes: detail.differingBytes,
        ranges: (detail.ranges ?? []).map((range) => ({ at: `0x${range.start.toString(16)}..0x${range.end.toString(16)}`, hexA: range.hexA, hexB: range.hexB })),
        moreRanges: detail.moreRanges ?? 0,
      };
    case 'decoded':
      return {
        format: 'decoded',
        decoder: detail.decoder,
        changes: detail.changes.map((change) => {
          const [a, b] = elidePair(formatField(change.a), formatField(change.b), jsonDetailWidth);
          const member = change.member ?? [];
          const file = difference.file ?? '';
          const paths = member.map((_, level) => memberPath(file, member.slice(0, level + 1)));
          return { where: describeWhere(change), field: change.field, a, b, records: change.records, member, paths };
        }),
        notes: detail.notes ?? [],
      };
    case 'timestamps': {
      const [a, b] = elidePair(detail.example.a, detail.example.b, timestampExampleWidth);
      return { format: 'timestamps', lines: detail.lines, kinds: detail.kinds, example: { a, b } };
    }
  }
}

/** A decoded field's place: a member's path, with the place inside it when that is not the member itself. */
function describeWhere(change: { where: string; member?: string[]; path?: string }): string {
  if (change.path === undefined || change.member === undefined) return change.where;
  return change.where === change.member.at(-1) ? change.path : `${change.path} ${change.where}`;
}

/** A decoded field's value: strings as they are, `(absent)` for none, the rest as JSON. */
function formatField(value: unknown): string {
  if (value === null || value === undefined) return '(absent)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
