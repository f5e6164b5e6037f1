/**
 * A fleet: every pair of a pairs file (or of one shard of it), at most `jobs` at once, one report.
 * With more than one job the pairs run on `jobs` worker threads (pool.ts), each verifying one
 * pair at a time: a verify's parsing and hashing hold its JS thread (zlib and file reads run on libuv's
 * pool, collection on V8's threads), so pairs in flight on one thread did not scale (100 small pairs:
 * 5.8 s with one job, 6.6 s with two). Threads rather than a process per pair: starting the CLI costs
 * 0.8-1.1 s of CPU, more than a small pair's verify, a thread 0.3-0.45 s, once (README, Fleets).
 * With one job, or where no compiled worker exists (the sources under a test runner), the pairs run on
 * this thread. Memory is each pair's own (entry tables live only inside its verify), so it grows with
 * `jobs`, not with the fleet. A pair's failure is its result, and so is a thread's crash: the error,
 * with its exit code, is recorded and the other pairs go on.
 */
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { summarizePairs, type FleetReport, type PairResult } from '../report/fleet-model.js';
import { reportSchemaVersion } from '../report/model.js';
import type { LoadOptions } from '../sources/index.js';
import { withTempDirectory } from '../temp-files.js';
import { toolVersion } from '../version.js';
import { readPolicies, verifyPair, type PairContext, type PairSettings } from './pair.js';
import type { FleetPair, PairsFile } from './pairs-file.js';
import { runPairsOnWorkers } from './pool.js';
import { selectShard, type Shard } from './shard.js';

export interface FleetRequest extends PairSettings {
  pairsFile: PairsFile;
  shard?: Shard;
  /** Pairs verified at once (at least 1). */
  jobs: number;
  /** Source settings shared by every pair; a pair's `platform` is added to them. */
  load?: LoadOptions;
  /** Called as each pair ends, in the order they end. */
  onPair?: (result: PairResult, done: number, total: number) => void;
  /**
   * The worker threads' module; null runs every pair in this thread. Default: worker.js beside
   * this module when it exists (the compiled package), else this thread. With threads, the callbacks
   * of `load` (onProgress, onRequest) are not called: a thread gets data only.
   */
  workerEntry?: URL | null;
  /** Heap limits of each worker thread (node:worker_threads resourceLimits); the defaults when absent. */
  resourceLimits?: ResourceLimits;
}

/** Verifies the fleet (or one shard); never throws for a pair, only for the request itself. */
export async function verifyFleet(request: FleetRequest): Promise<FleetReport> {
  const started = performance.now();
  const pairs = request.shard ? selectShard(request.pairsFile.pairs, request.shard) : request.pairsFile.pairs;
  const context: PairContext = {
    load: request.load ?? {},
    normalize: request.normalize,
    strict: request.strict,
    defaultPolicy: request.defaultPolicy,
    neutralizedLimit: request.neutralizedLimit,
    base: request.base,
    verifyBlobs: request.verifyBlobs,
    policies: await readPolicies(pairs, request.defaultPolicy),
  };
  const results: PairResult[] = new Array(pairs.length);
  let done = 0;
  const onResult = (position: number, result: PairResult) => {
    results[position] = result;
    done += 1;
    request.onPair?.(result, done, pairs.length);
  };
  const jobs = Math.max(1, Math.min(request.jobs, pairs.length));
  const entry = request.workerEntry === undefined ? compiledWorker() : request.workerEntry;
  if (jobs > 1 && entry !== null) await runOnThreads(entry, jobs, pairs, context, request, onResult);
  else await runInThisThread(jobs, pairs, context, onResult);
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

/** worker.js beside this module: there in the compiled package, not among the sources under a test runner. */
function compiledWorker(): URL | null {
  const entry = new URL('./worker.js', import.meta.url);
  return existsSync(fileURLToPath(entry)) ? entry : null;
}

type OnResult = (position: number, result: PairResult) => void;

/** `jobs` pairs in flight on this thread. */
async function runInThisThread(jobs: number, pairs: readonly FleetPair[], context: PairContext, onResult: OnResult): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < pairs.length) {
      const position = next++;
      onResult(position, await verifyPair(pairs[position]!, context));
    }
  };
  await Promise.all(Array.from({ length: jobs }, lane));
}

/**
 * The pairs on `jobs` threads. Callbacks stay here (a thread gets data only). A `docker-daemon:` export
 * goes to a temp directory that the thread registers in its own temp-files registry, which the CLI's
 * signal handler (on this thread) does not see: so the exports go under a directory of this thread's,
 * removed when the fleet ends and by that handler.
 */
async function runOnThreads(entry: URL, jobs: number, pairs: readonly FleetPair[], context: PairContext, request: FleetRequest, onResult: OnResult): Promise<void> {
  const { onProgress: _onProgress, onRequest: _onRequest, ...load } = context.load;
  const run = (tempDir: string | undefined) =>
    runPairsOnWorkers({ entry, jobs, pairs, context: { ...context, load: tempDir === undefined ? load : { ...load, tempDir } }, onResult, resourceLimits: request.resourceLimits });
  const daemon = pairs.some((pair) => [pair.a, pair.b].some(isDaemonReference)) || (request.base?.kind === 'reference' && isDaemonReference(request.base.reference));
  if (!daemon) return run(undefined);
  return withTempDirectory(load.tempDir, 'oci-repro-fleet-', run);
}

const isDaemonReference = (reference: string | undefined) => reference?.startsWith('docker-daemon:') === true;
