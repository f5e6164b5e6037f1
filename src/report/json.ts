/**
 * The JSON report, the public format schema/report.schema.json describes: the report as data, with
 * file modes spelled as octal strings (`"0644"`) as people write them. The model carries modes as
 * numbers; this is the one place that converts them.
 */
import { formatMode } from '../diff/mode.js';
import type { Difference, EntryValue } from '../diff/model.js';
import type { IndexReport } from './index-model.js';
import type { Report } from './model.js';

/** An entry as the JSON report shows it. */
export type JsonEntryValue = Omit<EntryValue, 'mode'> & { mode: string };

/** A difference as the JSON report shows it: modes as octal strings. */
export type JsonDifference = Exclude<Difference, { kind: 'file-added' | 'file-removed' } | { attribute: 'mode' }> | JsonModeDifference | JsonPresenceDifference;
type JsonModeDifference = Omit<Extract<Difference, { attribute: 'mode' }>, 'a' | 'b'> & { a: string; b: string };
type JsonPresenceDifference = Omit<Extract<Difference, { kind: 'file-added' | 'file-removed' }>, 'a' | 'b'> & {
  a: JsonEntryValue | null;
  b: JsonEntryValue | null;
};

export type JsonReport = Omit<Report, 'differences'> & { differences: JsonDifference[] };
export type JsonIndexReport = Omit<IndexReport, 'platforms'> & {
  platforms: (Omit<IndexReport['platforms'][number], 'report'> & { report: JsonReport | null })[];
};

/** A difference as the JSON report writes it; keys keep their order. */
export function toJsonDifference(difference: Difference): JsonDifference {
  if (difference.kind === 'file-attribute' && difference.attribute === 'mode') {
    return { ...difference, a: formatMode(difference.a), b: formatMode(difference.b) };
  }
  if (difference.kind === 'file-added' || difference.kind === 'file-removed') {
    const entry = (value: EntryValue | null): JsonEntryValue | null => (value === null ? null : { ...value, mode: formatMode(value.mode) });
    return { ...difference, a: entry(difference.a), b: entry(difference.b) };
  }
  // Every other kind is written as it is (TypeScript does not narrow the union by both tests above).
  return difference as JsonDifference;
}

export function toJsonReport(report: Report): JsonReport {
  return { ...report, differences: report.differences.map(toJsonDifference) };
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
