/**
 * The JSON report, the public format schema/report.schema.json describes: the report as data, with
 * file modes spelled as octal strings (`"0644"`) as people write them. The model carries modes as
 * numbers; this is the one place that converts them. A file difference also says which Dockerfile
 * step wrote the file (`writtenBy`), from the report's layer histories, as the other formats do.
 */
import { formatMode } from '../diff/mode.js';
import type { Difference, EntryValue } from '../diff/model.js';
import type { IndexReport } from './index-model.js';
import type { Report } from './model.js';
import { layerStepsOf, writerSteps, type LayerSteps } from './view-values.js';

/** An entry as the JSON report shows it. */
export type JsonEntryValue = Omit<EntryValue, 'mode'> & { mode: string };

/** The step that wrote a file: one when both builds agree, each side's when they differ. */
export type JsonWrittenBy = string | { a: string; b: string };

/** A difference as the JSON report shows it: modes as octal strings, and the step that wrote a file. */
export type JsonDifference = JsonDifferenceValues & { writtenBy?: JsonWrittenBy };
type JsonDifferenceValues = Exclude<Difference, { kind: 'file-added' | 'file-removed' } | { attribute: 'mode' }> | JsonModeDifference | JsonPresenceDifference;
type JsonModeDifference = Omit<Extract<Difference, { attribute: 'mode' }>, 'a' | 'b'> & { a: string; b: string };
type JsonPresenceDifference = Omit<Extract<Difference, { kind: 'file-added' | 'file-removed' }>, 'a' | 'b'> & {
  a: JsonEntryValue | null;
  b: JsonEntryValue | null;
};

export type JsonReport = Omit<Report, 'differences'> & { differences: JsonDifference[] };
export type JsonIndexReport = Omit<IndexReport, 'platforms'> & {
  platforms: (Omit<IndexReport['platforms'][number], 'report'> & { report: JsonReport | null })[];
};

/** A difference as the JSON report writes it; keys keep their order, `writtenBy` last where known. */
export function toJsonDifference(difference: Difference, steps?: LayerSteps): JsonDifference {
  const json = toJsonValues(difference);
  const writtenBy = steps ? writerSteps(difference, steps) : null;
  return writtenBy === null ? json : { ...json, writtenBy };
}

function toJsonValues(difference: Difference): JsonDifferenceValues {
  if (difference.kind === 'file-attribute' && difference.attribute === 'mode') {
    return { ...difference, a: formatMode(difference.a), b: formatMode(difference.b) };
  }
  if (difference.kind === 'file-added' || difference.kind === 'file-removed') {
    const entry = (value: EntryValue | null): JsonEntryValue | null => (value === null ? null : { ...value, mode: formatMode(value.mode) });
    return { ...difference, a: entry(difference.a), b: entry(difference.b) };
  }
  // Every other kind is written as it is (TypeScript does not narrow the union by both tests above).
  return difference as JsonDifferenceValues;
}

export function toJsonReport(report: Report): JsonReport {
  const steps = layerStepsOf(report);
  return { ...report, differences: report.differences.map((difference) => toJsonDifference(difference, steps)) };
}

export function toJsonIndexReport(report: IndexReport): JsonIndexReport {
  return {
    ...report,
    platforms: report.platforms.map((platform) => ({ ...platform, report: platform.report ? toJsonReport(platform.report) : null })),
  };
}

/** The report as is: full digests, every difference, two-space indent, a final newline. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(toJsonReport(report), null, 2)}\n`;
}

export function renderIndexJson(report: IndexReport): string {
  return `${JSON.stringify(toJsonIndexReport(report), null, 2)}\n`;
}
