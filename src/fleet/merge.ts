/**
 * `oci-repro merge REPORT...`: the JSON reports of a fleet's shards (`verify --pairs F --shard K/N
 * --format json`) put back together into the report the unsharded run gives: the pairs in the order of
 * the pairs file, the overall verdict, exit code and counts recomputed, no shard. The shards must come
 * from one pairs file (same digest) and options, and each shard must be given once: a missing or
 * repeated shard, or reports of other fleets, is a usage error (exit 2) naming the file.
 */
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { usageError, withContext } from '../errors.js';
import { fleetReportFromJson } from '../report/fleet-json.js';
import { isFleetReport, summarizePairs, type FleetReport } from '../report/fleet-model.js';
import { reportSchemaVersion } from '../report/model.js';

/** Reads a shard's JSON report: exit 4 when it cannot be read, exit 2 when it is not a fleet report. */
export async function loadFleetReport(path: string): Promise<FleetReport> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw withContext(`reading report ${path}`, error);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw usageError(`report ${path}: not JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  const hint = 'merge takes the reports of `verify --pairs FILE --shard K/N --format json`';
  if (!isFleetReport(document)) throw usageError(`report ${path}: not a fleet report (no "kind": "fleet")`, { hint });
  if (document.schemaVersion !== reportSchemaVersion) {
    throw usageError(`report ${path}: report schema version ${JSON.stringify(document.schemaVersion)}; this oci-repro reads version ${reportSchemaVersion}`);
  }
  if (!Array.isArray(document.pairs) || typeof document.pairsFile?.digest !== 'string') throw usageError(`report ${path}: malformed fleet report (pairs, pairsFile)`, { hint });
  return fleetReportFromJson(document);
}

/** The unsharded report from the shards' reports (given with the files they came from, for messages). */
export function mergeFleetReports(shards: readonly { path: string; report: FleetReport }[]): FleetReport {
  if (shards.length === 0) throw usageError('merge needs at least one report');
  const [first] = shards;
  const seenShards = new Map<number, string>();
  const seenPairs = new Map<number, string>();
  for (const { path, report } of shards) {
    if (report.pairsFile.digest !== first!.report.pairsFile.digest) {
      throw usageError(`report ${path}: from another pairs file than ${first!.path} (${report.pairsFile.digest}, not ${first!.report.pairsFile.digest})`);
    }
    if (!isDeepStrictEqual(report.options, first!.report.options)) throw usageError(`report ${path}: run with other options than ${first!.path}`);
    if (report.shard === null) {
      if (shards.length > 1) throw usageError(`report ${path}: not a shard (run without --shard); merge takes the shards of one run`);
      continue;
    }
    if (report.shard.count !== first!.report.shard?.count) throw usageError(`report ${path}: shard ${report.shard.index}/${report.shard.count}, but ${first!.path} is of ${first!.report.shard?.count} shards`);
    const again = seenShards.get(report.shard.index);
    if (again !== undefined) throw usageError(`report ${path}: shard ${report.shard.index}/${report.shard.count} is also ${again}`);
    seenShards.set(report.shard.index, path);
    for (const pair of report.pairs) {
      const other = seenPairs.get(pair.index);
      if (other !== undefined) throw usageError(`report ${path}: pair ${JSON.stringify(pair.name)} is also in ${other}`);
      seenPairs.set(pair.index, path);
    }
  }
  const count = first!.report.shard?.count;
  if (count !== undefined) {
    const missing = Array.from({ length: count }, (_, i) => i + 1).filter((index) => !seenShards.has(index));
    if (missing.length > 0) throw usageError(`merge: missing shard${missing.length > 1 ? 's' : ''} ${missing.map((index) => `${index}/${count}`).join(', ')}`, { hint: 'give the report of every shard' });
  }
  const pairs = shards.flatMap(({ report }) => report.pairs).sort((x, y) => x.index - y.index);
  if (pairs.length !== first!.report.pairsFile.pairs) {
    throw usageError(`merge: the shards hold ${pairs.length} pairs, the pairs file ${first!.report.pairsFile.pairs}`);
  }
  return {
    schemaVersion: reportSchemaVersion,
    tool: first!.report.tool,
    kind: 'fleet',
    ...summarizePairs(pairs),
    pairsFile: first!.report.pairsFile,
    shard: null,
    options: first!.report.options,
    // The shards ran side by side: the fleet took as long as the longest.
    durationMs: Math.max(...shards.map(({ report }) => report.durationMs)),
    pairs,
  };
}
