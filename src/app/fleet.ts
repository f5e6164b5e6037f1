/**
 * A fleet: every pair of a pairs file (or of one shard of it) verified in this process, at most `jobs`
 * at once, one report. In-process rather than a child process per pair: the core is a library, a
 * verify of small images costs milliseconds while starting the CLI costs about a second of CPU, and
 * the layer pass already spreads over the cores (zlib on libuv's pool, parsing and hashing on the JS
 * thread), so `jobs` pairs in flight keep the cores busy. Memory is each pair's own (entry tables live
 * only inside its verify), so it grows with `jobs`, not with the fleet. A pair's failure is its result:
 * the error, with its exit code, is recorded and the other pairs go on.
 */
import { performance } from 'node:perf_hooks';
import { withContext } from '../errors.js';
import { parseExpectation } from '../gate/expect.js';
import { loadPolicy, type Policy } from '../gate/policy.js';
import type { BaseRequest } from '../normalize/base.js';
import type { NormalizeOptions } from '../normalize/options.js';
import { summarizePairs, type FleetReport, type PairResult } from '../report/fleet-model.js';
import { reportSchemaVersion } from '../report/model.js';
import { parsePlatform, type LoadOptions } from '../sources/index.js';
import { toolVersion } from '../version.js';
import { verifyAnyExpectation } from './expect-index.js';
import type { FleetPair, PairsFile } from './fleet-pairs.js';
import { selectShard, type Shard } from './fleet-shard.js';
import { verifyAny } from './verify-index.js';

export interface FleetRequest {
  pairsFile: PairsFile;
  shard?: Shard;
  /** Pairs verified at once (at least 1). */
  jobs: number;
  /** Source settings shared by every pair; a pair's `platform` is added to them. */
  load?: LoadOptions;
  normalize: NormalizeOptions;
  strict?: boolean;
  /** The policy of pairs that name none (`--policy`). */
  defaultPolicy?: string;
  neutralizedLimit?: number;
  base?: BaseRequest;
  verifyBlobs?: boolean;
  /** Called as each pair ends, in the order they end. */
  onPair?: (result: PairResult, done: number, total: number) => void;
}

/** Verifies the fleet (or one shard); never throws for a pair, only for the request itself. */
export async function verifyFleet(request: FleetRequest): Promise<FleetReport> {
  const started = performance.now();
  const pairs = request.shard ? selectShard(request.pairsFile.pairs, request.shard) : request.pairsFile.pairs;
  const policies = new Map<string, Promise<Policy>>();
  const policyOf = (path: string) => {
    if (!policies.has(path)) policies.set(path, loadPolicy(path));
    return policies.get(path)!;
  };
  const results: PairResult[] = new Array(pairs.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < pairs.length) {
      const position = next++;
      results[position] = await verifyPair(pairs[position]!, request, policyOf);
      done += 1;
      request.onPair?.(results[position], done, pairs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(request.jobs, pairs.length)) }, worker));
  return {
    schemaVersion: reportSchemaVersion,
    tool: { name: 'oci-repro', version: toolVersion },
    kind: 'fleet',
    ...summarizePairs(results),
    pairsFile: { path: request.pairsFile.path, digest: request.pairsFile.digest, pairs: request.pairsFile.pairs.length },
    shard: request.shard ? { index: request.shard.index, count: request.shard.count } : null,
    options: {
      epoch: request.normalize.epoch,
      timestampMode: request.normalize.timestampMode,
      disabledRules: [...request.normalize.disabledRules].sort(),
      strict: request.strict ?? false,
    },
    durationMs: Math.round(performance.now() - started),
    pairs: results,
  };
}

/** One pair: its report and verdict, or its error; never throws. */
async function verifyPair(pair: FleetPair, request: FleetRequest, policyOf: (path: string) => Promise<Policy>): Promise<PairResult> {
  const started = performance.now();
  const base = {
    index: pair.index,
    name: pair.name,
    a: pair.a,
    b: pair.b ?? null,
    platform: pair.platform ?? null,
    policy: pair.policy ?? null,
    expect: pair.expect ?? null,
  };
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const load: LoadOptions = { ...request.load, ...(pair.platform ? { platform: parsePlatform(pair.platform) } : {}) };
    if (pair.expect !== undefined) {
      const report = await verifyAnyExpectation(pair.a, await parseExpectation(pair.expect), { load, normalize: request.normalize, base: request.base });
      return { ...base, verdict: report.verdict, passed: report.passed, exitCode: report.passed ? 0 : 1, reason: report.reason, durationMs: elapsed(), report, error: null };
    }
    const policyPath = pair.policy ?? request.defaultPolicy;
    const policy = policyPath !== undefined ? { policy: await policyOf(policyPath), source: policyPath } : undefined;
    const report = await verifyAny({
      a: pair.a,
      b: pair.b!,
      load,
      normalize: request.normalize,
      strict: request.strict,
      policy,
      neutralizedLimit: request.neutralizedLimit,
      base: request.base,
      verifyBlobs: request.verifyBlobs,
    });
    return { ...base, verdict: report.verdict, passed: report.passed, exitCode: report.passed ? 0 : 1, reason: report.reason, durationMs: elapsed(), report, error: null };
  } catch (error) {
    const mapped = withContext(`pair ${JSON.stringify(pair.name)}`, error);
    return {
      ...base,
      verdict: 'error',
      passed: false,
      exitCode: mapped.exitCode,
      reason: mapped.line,
      durationMs: elapsed(),
      report: null,
      error: { code: mapped.code, message: mapped.message, ...(mapped.hint ? { hint: mapped.hint } : {}), exitCode: mapped.exitCode },
    };
  }
}
