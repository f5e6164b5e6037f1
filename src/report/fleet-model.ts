/**
 * The report of a fleet (`verify --pairs FILE`): one entry per pair, in the order of the pairs file,
 * each with its verdict and its own report (an image, index or expect report), or the error that
 * stopped that pair alone. `kind: "fleet"` tells it apart from the other reports; `passed`, `reason`
 * and `tool` mean what they mean there. A shard's report lists only its pairs and names the shard;
 * merging every shard's report (fleet/merge.ts) gives the report of the unsharded run.
 */
import type { ExpectReport, IndexExpectReport } from './expect-model.js';
import type { IndexReport } from './index-model.js';
import type { Report, Verdict } from './model.js';
import { reportSchemaVersion } from './model.js';

/** A pair's verdict: a report's own (`matches`/`differs` for --expect), or `error` when it had none. */
export type PairVerdict = Verdict | 'matches' | 'differs' | 'error';

export interface PairError {
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
}

export interface PairResult {
  /** The pair's position in the pairs file, from 0: merged shards are put back in this order. */
  index: number;
  name: string;
  a: string;
  b: string | null;
  platform: string | null;
  policy: string | null;
  expect: string | null;
  verdict: PairVerdict;
  passed: boolean;
  /** The exit code `verify` gives this pair alone: 0, 1, or the error's (2, 3, 4, 70, 74). */
  exitCode: number;
  reason: string;
  /** Wall time of this pair; not compared when shards are merged. */
  durationMs: number;
  report: Report | IndexReport | ExpectReport | IndexExpectReport | null;
  error: PairError | null;
}

export interface FleetReport {
  schemaVersion: typeof reportSchemaVersion;
  tool: Report['tool'];
  kind: 'fleet';
  /** The worst pair verdict (`error` > not reproducible > reproducible > identical). */
  verdict: Verdict | 'error';
  passed: boolean;
  /** The exit code of the whole run: the worst pair's, by exitPrecedence. */
  exitCode: number;
  reason: string;
  /** The pairs file: as given, the sha256 of its bytes and how many pairs it holds in all. */
  pairsFile: { path: string; digest: string; pairs: number };
  /** This run's share (`--shard K/N`); null for every pair (unsharded, or merged). */
  shard: { index: number; count: number } | null;
  options: Omit<Report['options'], 'policy'>;
  counts: { pairs: number; passed: number; failed: number; errors: number };
  /** Wall time of the run (merged: the longest shard); not compared when shards are merged. */
  durationMs: number;
  pairs: PairResult[];
}

export function isFleetReport(value: unknown): value is FleetReport {
  return typeof value === 'object' && value !== null && (value as FleetReport).kind === 'fleet';
}

/**
 * Exit codes from the least to the most severe: an error outranks every finding (the gate could not
 * decide), and among errors a bug (70) outranks the machine's condition (74), an unavailable source (4),
 * bad input (3) and usage (2), so the run's code names the worst thing that happened to any pair.
 */
export const exitPrecedence: readonly number[] = [0, 1, 2, 3, 4, 74, 70];

/** The most severe of the exit codes (0 for none); a code not listed counts as an internal error. */
export function worstExitCode(codes: readonly number[]): number {
  const rank = (code: number) => {
    const index = exitPrecedence.indexOf(code);
    return index === -1 ? exitPrecedence.length : index;
  };
  return codes.reduce((worst, code) => (rank(code) > rank(worst) ? code : worst), 0);
}

const verdictRank: Readonly<Record<FleetReport['verdict'], number>> = { identical: 0, reproducible: 1, 'not-reproducible': 2, error: 3 };

/** A pair's verdict in the image vocabulary: an expect match is a reproduction, a mismatch is not. */
export function fleetVerdictOf(verdict: PairVerdict): FleetReport['verdict'] {
  if (verdict === 'matches') return 'reproducible';
  if (verdict === 'differs') return 'not-reproducible';
  return verdict;
}

/** The overall fields of a fleet report, from its pairs: verdict, passed, exit code, counts, reason. */
export function summarizePairs(pairs: readonly PairResult[]): Pick<FleetReport, 'verdict' | 'passed' | 'exitCode' | 'counts' | 'reason'> {
  const verdict = pairs
    .map((pair) => fleetVerdictOf(pair.verdict))
    .reduce<FleetReport['verdict']>((worst, next) => (verdictRank[next] > verdictRank[worst] ? next : worst), 'identical');
  const errors = pairs.filter((pair) => pair.error !== null).length;
  const passed = pairs.filter((pair) => pair.passed).length;
  const failed = pairs.length - passed - errors;
  const exitCode = worstExitCode(pairs.map((pair) => pair.exitCode));
  return {
    verdict,
    passed: passed === pairs.length,
    exitCode,
    counts: { pairs: pairs.length, passed, failed, errors },
    reason: describeCounts(pairs.length, passed, failed, errors),
  };
}

function describeCounts(total: number, passed: number, failed: number, errors: number): string {
  if (total === 0) return 'no pairs to verify';
  const pairsWord = total === 1 ? 'pair' : 'pairs';
  if (passed === total) return `all ${total} ${pairsWord} passed`;
  const parts = [`${passed} of ${total} ${pairsWord} passed`];
  if (failed > 0) parts.push(`${failed} failed`);
  if (errors > 0) parts.push(`${errors} could not be verified (${errors === 1 ? 'an error' : 'errors'})`);
  return parts.join(', ');
}

/** Which pairs a report holds: a shard of the pairs file, or the whole file. */
export function shardNote(report: FleetReport): string {
  return report.shard
    ? `shard ${report.shard.index}/${report.shard.count}: ${report.counts.pairs} of the ${report.pairsFile.pairs} pairs of ${report.pairsFile.path}`
    : `pairs file ${report.pairsFile.path}`;
}

/** A wall time as the fleet reports show it: seconds, one decimal. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
