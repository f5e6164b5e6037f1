/**
 * The fleet report as JSON (schema/fleet-report.schema.json) and back. Each pair's report is written
 * as verify writes it alone (json.ts: modes as octal strings); reading a fleet report back (`merge`)
 * turns those modes into numbers again, so a merged report renders in every format as a fresh one does.
 */
import type { Difference, EntryValue } from '../diff/model.js';
import type { ExpectReport, IndexExpectReport } from './expect-model.js';
import type { FleetReport, PairResult } from './fleet-model.js';
import { isIndexReport, type IndexReport } from './index-model.js';
import { toJsonIndexReport, toJsonReport, type JsonDifference, type JsonIndexReport, type JsonReport } from './json.js';
import type { Report } from './model.js';

type PairReport = NonNullable<PairResult['report']>;
type JsonPairReport = JsonReport | JsonIndexReport | ExpectReport | IndexExpectReport;

const isExpect = (report: object): report is ExpectReport | IndexExpectReport => (report as { kind?: string }).kind === 'expect';

function toJsonPairReport(report: PairReport): JsonPairReport {
  if (isExpect(report)) return report;
  return isIndexReport(report as Report | IndexReport) ? toJsonIndexReport(report as IndexReport) : toJsonReport(report as Report);
}

/** The fleet report as a JSON document: two-space indent, a final newline. */
export function renderFleetJson(report: FleetReport): string {
  const pairs = report.pairs.map((pair) => ({ ...pair, report: pair.report === null ? null : toJsonPairReport(pair.report) }));
  return `${JSON.stringify({ ...report, pairs }, null, 2)}\n`;
}

/** A fleet report read from JSON (already checked to be one) as the model: modes as numbers. */
export function fleetReportFromJson(document: FleetReport): FleetReport {
  return { ...document, pairs: document.pairs.map((pair) => ({ ...pair, report: pair.report === null ? null : fromJsonPairReport(pair.report as JsonPairReport) })) };
}

function fromJsonPairReport(report: JsonPairReport): PairReport {
  if (isExpect(report)) return report;
  if ((report as JsonIndexReport).kind === 'index') {
    const index = report as JsonIndexReport;
    return { ...index, platforms: index.platforms.map((platform) => ({ ...platform, report: platform.report === null ? null : fromJsonReport(platform.report) })) };
  }
  return fromJsonReport(report as JsonReport);
}

function fromJsonReport(report: JsonReport): Report {
  return { ...report, differences: report.differences.map(fromJsonDifference) };
}

const parseMode = (mode: string | number): number => (typeof mode === 'number' ? mode : parseInt(mode, 8));

/** The inverse of json.ts's toJsonDifference (`writtenBy` is derived from the layers, not kept). */
function fromJsonDifference(json: JsonDifference): Difference {
  const { writtenBy: _writtenBy, ...difference } = json;
  if (difference.kind === 'file-attribute' && difference.attribute === 'mode') {
    return { ...difference, a: parseMode(difference.a as string), b: parseMode(difference.b as string) } as Difference;
  }
  if (difference.kind === 'file-added' || difference.kind === 'file-removed') {
    const entry = (value: (Omit<EntryValue, 'mode'> & { mode: string }) | null) => (value === null ? null : { ...value, mode: parseMode(value.mode) });
    return { ...difference, a: entry(difference.a as never), b: entry(difference.b as never) } as Difference;
  }
  return difference as Difference;
}
