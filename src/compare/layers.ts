/**
 * Layer comparison: where a layer pair's identity chain breaks (blob, diff_id, canonical diff_id) and,
 * when the tars differ, the file, order and dialect differences that explain it.
 */
import { OciReproError } from '../errors.js';
import { resolveLayerRules, type EntryCursor, type LayerSummary } from '../normalize/entry.js';
import { entryCount } from '../normalize/layer-table.js';
import { isRuleEnabled, type NormalizeOptions } from '../normalize/options.js';
import type { LayerComparison, LayerIdentity, LayerSide, LayerStatus } from '../diff/layers.js';
import type { Difference } from '../diff/model.js';
import type { DifferenceSink } from './collect.js';
import { compareEntryCursors, sortEntries, type FileCounts, type JoinTrack } from './files.js';

/**
 * Compares the entry tables of layer `index` of both images: `file-added`, `file-removed` and one
 * `file-attribute` per differing attribute of a path on both sides, at `layers/<index>/<path>`, then
 * `entry-order` and `tar-dialect` when the input tars differ in those.
 */
export function compareLayerTables(
  index: number,
  a: LayerSummary,
  b: LayerSummary,
  options: NormalizeOptions,
): Difference[] {
  const differences: Difference[] = [];
  compareSummaries(index, a, b, options, differences);
  return differences;
}

/** Pushes the table differences onto `differences` (no spreading: there may be 100,000 of them). */
function compareSummaries(
  index: number,
  a: LayerSummary,
  b: LayerSummary,
  options: NormalizeOptions,
  differences: DifferenceSink,
): FileCounts {
  const rules = resolveLayerRules(options);
  const sideA = sortedSide(a, rules.entryOrder);
  const sideB = sortedSide(b, rules.entryOrder);
  // Two inputs in canonical order hold their common paths in the same order.
  const countA = entryCount(a);
  const track: JoinTrack | undefined =
    a.inCanonicalOrder && b.inCanonicalOrder
      ? undefined
      : { inputA: new Int32Array(countA), inputB: new Int32Array(entryCount(b)), matches: new Int32Array(countA) };
  const counts = compareEntryCursors(sideA.open(), sideB.open(), rules, { prefix: `layers/${index}/`, layer: index }, differences, track);

  const positions = track === undefined ? null : findOrderDifference(track);
  const order = positions === null ? null : { a: sideA.pathAt(positions.a), b: sideB.pathAt(positions.b) };
  if (order !== null) {
    differences.push({
      kind: 'entry-order',
      path: `layers/${index}`,
      layer: index,
      a: order.a,
      b: order.b,
      neutralized: isRuleEnabled(options, 'entry-order'),
      cause: null,
    });
  }
  if (!sameStrings(a.dialects, b.dialects)) {
    differences.push({
      kind: 'tar-dialect',
      path: `layers/${index}`,
      layer: index,
      a: [...a.dialects],
      b: [...b.dialects],
      // The canonical writer always writes one dialect; rule 'tar-dialect' is only about extra PAX records.
      neutralized: true,
      cause: null,
    });
  }
  return counts;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** One side's table in canonical order: a spilled one as it is (always sorted), else sorted if need be. */
function sortedSide(summary: LayerSummary, sorted: boolean): { open(): EntryCursor; pathAt(position: number): string } {
  const spilled = summary.spilled;
  if (spilled !== undefined) {
    return {
      open: () => spilled.open(),
      pathAt(position) {
        // One more pass, only for the one path a report names.
        const cursor = spilled.open();
        for (let i = 0; i < position; i++) cursor.next();
        return cursor.next()!.path;
      },
    };
  }
  // With rule 'entry-order' the pass wrote the table sorted (LayerSummary.entries).
  const entries = sortEntries(summary.entries, sorted);
  return {
    open() {
      let i = 0;
      return { next: () => (i < entries.length ? entries[i++] : undefined) };
    },
    pathAt: (position) => entries[position]!.path,
  };
}

/**
 * Whether the paths both tables hold arrive in a different relative order in the two input tars; if
 * so, the table positions each side has at the first position where the orders part. Paths only one
 * side has do not count: they are reported as added or removed. Linear: input positions index typed
 * arrays.
 */
function findOrderDifference(track: JoinTrack): { a: number; b: number } | null {
  const { matches } = track;
  const byInputA = positionsByInputIndex(track.inputA);
  const byInputB = positionsByInputIndex(track.inputB);
  const matchedB = new Uint8Array(track.inputB.length);
  for (const j of matches) if (j >= 0) matchedB[j] = 1;

  // Walk both inputs in order over matched entries only; compare A's k-th with B's k-th.
  let ia = 0;
  let ib = 0;
  for (;;) {
    while (ia < byInputA.length && (byInputA[ia]! < 0 || matches[byInputA[ia]!]! < 0)) ia++;
    while (ib < byInputB.length && (byInputB[ib]! < 0 || matchedB[byInputB[ib]!] === 0)) ib++;
    if (ia >= byInputA.length || ib >= byInputB.length) return null;
    const positionA = byInputA[ia]!;
    const positionB = byInputB[ib]!;
    if (matches[positionA] !== positionB) return { a: positionA, b: positionB };
    ia++;
    ib++;
  }
}

/** Table positions by input index (-1 for input indexes the table does not hold, such as dropped duplicates). */
function positionsByInputIndex(inputs: Int32Array): Int32Array {
  let max = -1;
  for (const input of inputs) if (input > max) max = input;
  const positions = new Int32Array(max + 1).fill(-1);
  inputs.forEach((input, position) => {
    positions[input] = position;
  });
  return positions;
}

/**
 * One image's layer as the comparer needs it: its identity and, when it was read, its summary, with
 * `contentDigests` saying whether the summary's entries carry per-file content digests. A table
 * without them serves only where contents are known equal (a `tar` pair: same canonical diff_id); a
 * `content` pair or a flattened comparison refuses it rather than take two missing digests for equal
 * contents (see `needsContentDigests`).
 */
export type LayerInput = LayerInputBase &
  (
    | {
        /** Absent when the layer was not read (same diff_id on both sides, or a foreign layer). */
        summary?: null;
        contentDigests?: never;
      }
    | { summary: LayerSummary; contentDigests: boolean }
  );

interface LayerInputBase {
  identity: LayerIdentity;
  /** Defaults to `summary.canonicalDigest`; give it when known without a summary. */
  canonicalDiffId?: string | null;
}

/**
 * Whether the pair's tables must carry content digests: only a `content` pair (canonical diff_ids
 * differ) compares files whose contents may differ. A `tar` pair's canonical tars are equal, and the
 * canonical tar holds every content byte, so its files' contents are equal whatever their digests.
 */
export function needsContentDigests(a: LayerInput, b: LayerInput): boolean {
  return statusOf(sideOf(a), sideOf(b)) === 'content';
}

/** A table without content digests where contents may differ: a bug in the caller, never a verdict. */
export function missingContentDigests(what: string): OciReproError {
  return new OciReproError('INTERNAL', `${what}: entry table without content digests where file contents may differ`);
}

export interface LayerPairOptions {
  /** Compare the entry tables (default true). Off when files are compared on flattened filesystems. */
  files?: boolean;
}

/** Passes differences on to `out`, counting them, so a pair can tell whether anything explained it. */
class CountingSink implements DifferenceSink {
  pushed = 0;
  remaining = 0;

  constructor(private readonly out: DifferenceSink) {}

  push(difference: Difference): void {
    this.pushed++;
    if (!difference.neutralized) this.remaining++;
    this.out.push(difference);
  }
}

export interface LayerPairComparison {
  comparison: LayerComparison;
  differences: Difference[];
}

function sideOf(input: LayerInput): LayerSide {
  const canonicalDiffId = input.canonicalDiffId ?? input.summary?.canonicalDigest ?? null;
  return { ...input.identity, canonicalDiffId };
}

/**
 * Compares layer `index` of both images (either may be null when layer counts differ) and builds its
 * `LayerComparison`. Status: `identical` (same blob), `compression` (same diff_id; one
 * `layer-compression` difference), `tar` (same canonical diff_id), `content`, or `missing`. For `tar`
 * and `content` with both summaries, the tables are compared (see `compareLayerTables`); a `tar` pair
 * that nothing else explains gets one `layer-tar` difference. A `content` pair with no difference left
 * standing also gets a `layer-tar`, not neutralized, so a break is never silent.
 */
export function compareLayerPair(
  index: number,
  a: LayerInput | null,
  b: LayerInput | null,
  options: NormalizeOptions,
  pairOptions: LayerPairOptions = {},
): LayerPairComparison {
  const differences: Difference[] = [];
  const comparison = compareLayerPairInto(index, a, b, options, differences, pairOptions);
  return { comparison, differences };
}

/** `compareLayerPair` pushing its differences onto `out` (a `DifferenceCollector` keeps few of them). */
export function compareLayerPairInto(
  index: number,
  a: LayerInput | null,
  b: LayerInput | null,
  options: NormalizeOptions,
  out: DifferenceSink,
  pairOptions: LayerPairOptions = {},
): LayerComparison {
  const sideA = a === null ? null : sideOf(a);
  const sideB = b === null ? null : sideOf(b);
  const comparison: LayerComparison = {
    index,
    status: 'missing',
    step: sideA?.step ?? sideB?.step ?? null,
    a: sideA,
    b: sideB,
    counts: { added: 0, removed: 0, changed: 0 },
  };
  const differences = new CountingSink(out);
  if (a === null || b === null || sideA === null || sideB === null) return comparison;

  const status = statusOf(sideA, sideB);
  comparison.status = status;
  if (status === 'identical') return comparison;
  if (status === 'compression') {
    differences.push({
      kind: 'layer-compression',
      path: `layers/${index}`,
      layer: index,
      a: sideA.digest,
      b: sideB.digest,
      neutralized: true,
      cause: null,
    });
    return comparison;
  }

  if ((pairOptions.files ?? true) && a.summary && b.summary) {
    if (status === 'content' && !(a.contentDigests && b.contentDigests)) throw missingContentDigests(`layer ${index}`);
    comparison.counts = compareSummaries(index, a.summary, b.summary, options, differences);
  } else if (pairOptions.files === false) {
    // Files are explained on the flattened filesystems; nothing to add per layer.
    return comparison;
  }

  const explained = status === 'tar' ? differences.pushed > 0 : differences.remaining > 0;
  if (!explained) {
    differences.push({
      kind: 'layer-tar',
      path: `layers/${index}`,
      layer: index,
      a: sideA.diffId,
      b: sideB.diffId,
      neutralized: status === 'tar',
      cause: null,
    });
  }
  return comparison;
}

function statusOf(a: LayerSide, b: LayerSide): LayerStatus {
  if (a.digest === b.digest) return 'identical';
  if (a.diffId === b.diffId) return 'compression';
  if (a.canonicalDiffId !== null && a.canonicalDiffId === b.canonicalDiffId) return 'tar';
  return 'content';
}
