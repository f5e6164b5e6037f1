/**
 * One pair of a fleet, verified wherever the fleet runs it: in this thread or on a worker thread
 * (worker.ts). Everything it needs is plain data (`PairContext`), so it crosses to a worker by
 * structured clone as it is: the policies are read once by the fleet and sent as data, a policy that
 * could not be read as its error, which each pair naming it then reports as its own.
 */
import { performance } from 'node:perf_hooks';
import { OciReproError, withContext, type ErrorCode } from '../errors.js';
import { parseExpectation } from '../gate/expect.js';
import { loadPolicy, type Policy } from '../gate/policy.js';
import type { BaseRequest } from '../normalize/base.js';
import type { NormalizeOptions } from '../normalize/options.js';
import type { PairResult } from '../report/fleet-model.js';
import { parsePlatform, type LoadOptions } from '../sources/index.js';
import { verifyAnyExpectation } from '../app/expect-index.js';
import type { FleetPair } from './pairs-file.js';
import { verifyAny } from '../app/verify-index.js';

/** An error as data: what crosses a thread and becomes an OciReproError again with the same line. */
export interface ErrorData {
  code: ErrorCode;
  message: string;
  hint?: string;
}

/** A policy file as read: the policy, or the error reading it gave. */
export type PolicyOutcome = { policy: Policy } | { error: ErrorData };

/** The verify settings every pair of a fleet shares, as the fleet's request gives them. */
export interface PairSettings {
  normalize: NormalizeOptions;
  strict?: boolean;
  /** The policy of pairs that name none (`--policy`). */
  defaultPolicy?: string;
  neutralizedLimit?: number;
  base?: BaseRequest;
  verifyBlobs?: boolean;
}

/** What every pair of a fleet shares; plain data (no functions), so a worker gets it as it is. */
export interface PairContext extends PairSettings {
  /** Source settings without callbacks; a pair's `platform` is added to them. */
  load: LoadOptions;
  /** Every policy the pairs use, by path (readPolicies). */
  policies: ReadonlyMap<string, PolicyOutcome>;
}

/** The policy path a pair is verified under, if any: its own, else the default; none for an expect pair. */
export function policyPathOf(pair: FleetPair, defaultPolicy: string | undefined): string | undefined {
  return pair.expect !== undefined ? undefined : (pair.policy ?? defaultPolicy);
}

/** Reads every policy the pairs use, once each; never throws (a failure is that policy's outcome). */
export async function readPolicies(pairs: readonly FleetPair[], defaultPolicy: string | undefined): Promise<Map<string, PolicyOutcome>> {
  const paths = [...new Set(pairs.map((pair) => policyPathOf(pair, defaultPolicy)).filter((path) => path !== undefined))];
  const outcomes = await Promise.all(
    paths.map(async (path): Promise<PolicyOutcome> => {
      try {
        return { policy: await loadPolicy(path) };
      } catch (error) {
        // loadPolicy's errors already name the file; anything else is wrapped as withContext does.
        return { error: errorData(error instanceof OciReproError ? error : withContext(`reading policy ${path}`, error)) };
      }
    }),
  );
  return new Map(paths.map((path, index) => [path, outcomes[index]!]));
}

export function errorData(error: OciReproError): ErrorData {
  return { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
}

/** One pair: its report and verdict, or its error; never throws. */
export async function verifyPair(pair: FleetPair, context: PairContext): Promise<PairResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const load: LoadOptions = { ...context.load, ...(pair.platform ? { platform: parsePlatform(pair.platform) } : {}) };
    if (pair.expect !== undefined) {
      const report = await verifyAnyExpectation(pair.a, await parseExpectation(pair.expect), { load, normalize: context.normalize, base: context.base });
      return { ...pairFields(pair), verdict: report.verdict, passed: report.passed, exitCode: report.passed ? 0 : 1, reason: report.reason, durationMs: elapsed(), report, error: null };
    }
    const policyPath = policyPathOf(pair, context.defaultPolicy);
    const policy = policyPath !== undefined ? { policy: policyOf(context.policies, policyPath), source: policyPath } : undefined;
    const report = await verifyAny({
      a: pair.a,
      b: pair.b!,
      load,
      normalize: context.normalize,
      strict: context.strict,
      policy,
      neutralizedLimit: context.neutralizedLimit,
      base: context.base,
      verifyBlobs: context.verifyBlobs,
    });
    return { ...pairFields(pair), verdict: report.verdict, passed: report.passed, exitCode: report.passed ? 0 : 1, reason: report.reason, durationMs: elapsed(), report, error: null };
  } catch (error) {
    return pairErrorResult(pair, error, elapsed());
  }
}

function policyOf(policies: ReadonlyMap<string, PolicyOutcome>, path: string): Policy {
  const outcome = policies.get(path);
  // readPolicies read every path policyPathOf gives; a missing one is a bug of the fleet.
  if (outcome === undefined) throw new OciReproError('INTERNAL', `policy ${path} was not read before the pairs ran`);
  if ('error' in outcome) throw new OciReproError(outcome.error.code, outcome.error.message, { hint: outcome.error.hint });
  return outcome.policy;
}

/** The result of a pair that could not be verified: the error, in the pair's name, with its exit code. */
export function pairErrorResult(pair: FleetPair, error: unknown, durationMs: number): PairResult {
  const mapped = withContext(`pair ${JSON.stringify(pair.name)}`, error);
  return {
    ...pairFields(pair),
    verdict: 'error',
    passed: false,
    exitCode: mapped.exitCode,
    reason: mapped.line,
    durationMs,
    report: null,
    error: { code: mapped.code, message: mapped.message, ...(mapped.hint ? { hint: mapped.hint } : {}), exitCode: mapped.exitCode },
  };
}

function pairFields(pair: FleetPair): Pick<PairResult, 'index' | 'name' | 'a' | 'b' | 'platform' | 'policy' | 'expect'> {
  return { index: pair.index, name: pair.name, a: pair.a, b: pair.b ?? null, platform: pair.platform ?? null, policy: pair.policy ?? null, expect: pair.expect ?? null };
}
