/**
 * The worker threads of a fleet: `jobs` threads (worker.ts), each verifying one pair at a time
 * and posting back its PairResult, which is plain data and survives the structured clone as it is.
 * A thread that dies (an uncaught error, out of memory) takes only its current pair with it: that pair
 * gets an error result (internal, exit 70) and a new thread takes its place for the pairs left. The
 * threads share the process's libuv pool (zlib, file reads), sized by bin/run.js to the cores: for
 * --jobs 2 on 2 cores, pools of 1, 2 and 4 threads measured the same (CPU within the noise).
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { OciReproError } from '../errors.js';
import type { PairResult } from '../report/fleet-model.js';
import { pairErrorResult, type PairContext } from './pair.js';
import type { FleetPair } from './pairs-file.js';

/** main -> worker: the pair to verify next. */
export interface PairMessage {
  pair: FleetPair;
}
/** worker -> main: the pair's result. */
export interface ResultMessage {
  result: PairResult;
}

export interface PoolRequest {
  /** The worker's module (worker.js of the compiled package). */
  entry: URL;
  jobs: number;
  pairs: readonly FleetPair[];
  context: PairContext;
  /** Called as each pair ends, with its position in `pairs`. */
  onResult: (position: number, result: PairResult) => void;
  /** Heap limits of each thread (tests make one run out of memory with them). */
  resourceLimits?: ResourceLimits;
}

/**
 * The initial old-generation limit of the threads' heaps, in MB. A thread's heap holds about 9 MB live
 * between pairs (the main thread's, with the CLI loaded, about 15 MB), so V8 kept its limit low and
 * collected it fully 2.5 times as often per pair: 100 small pairs with --jobs 2 took 72-81 mark-compacts
 * against 27-30 with --jobs 1, and 15.2-16.4 s of CPU; with this limit 16 mark-compacts and 11.2-13.6 s,
 * peak RSS unchanged (260-278 MB). 32 MB changed nothing measurable.
 */
const threadInitialOldSpaceMb = 64;
let threadHeapsConfigured = false;

/**
 * A V8 flag, read when an isolate's heap is set up: set before the first thread starts, it applies to
 * the heaps made after that (the threads'), never to this thread's, which exists already.
 */
function configureThreadHeaps(): void {
  if (threadHeapsConfigured) return;
  threadHeapsConfigured = true;
  setFlagsFromString(`--initial-old-space-size=${threadInitialOldSpaceMb}`);
}

/** Verifies every pair on the threads; resolves once every pair has its result and every thread has ended. */
export function runPairsOnWorkers(request: PoolRequest): Promise<void> {
  const { pairs } = request;
  if (pairs.length > 0) configureThreadHeaps();
  return new Promise((resolve, reject) => {
    let next = 0;
    let live = 0;
    let failed: unknown;
    const finish = () => {
      if (live > 0) return;
      if (failed !== undefined) reject(failed);
      else resolve();
    };
    const workers = new Set<Worker>();
    /** A callback of the caller threw: stop every thread, and reject once they have ended. */
    const abort = (error: unknown) => {
      failed ??= error;
      next = pairs.length;
      for (const worker of workers) void worker.terminate();
    };

    const start = () => {
      const worker = new Worker(request.entry, { workerData: request.context, resourceLimits: request.resourceLimits, stdin: false });
      workers.add(worker);
      live += 1;
      let current: { position: number; started: number } | undefined;
      let crash: unknown;
      const settle = (result: PairResult) => {
        const { position } = current!;
        current = undefined;
        try {
          request.onResult(position, result);
        } catch (error) {
          abort(error);
        }
      };
      const give = () => {
        if (next >= pairs.length) {
          void worker.terminate();
          return;
        }
        current = { position: next++, started: performance.now() };
        worker.postMessage({ pair: pairs[current.position]! } satisfies PairMessage);
      };
      worker.on('message', (message: ResultMessage) => {
        if (current === undefined) return;
        settle(message.result);
        give();
      });
      worker.on('error', (error) => (crash ??= error));
      // A result that cannot be read is as good as none: the thread is ended and its pair reported.
      worker.on('messageerror', (error) => {
        crash ??= error;
        void worker.terminate();
      });
      worker.on('exit', (code) => {
        workers.delete(worker);
        live -= 1;
        if (current !== undefined) {
          const pair = pairs[current.position]!;
          settle(pairErrorResult(pair, threadError(crash, code), Math.round(performance.now() - current.started)));
          if (next < pairs.length) start();
        }
        finish();
      });
      give();
    };

    const threads = Math.max(1, Math.min(request.jobs, pairs.length));
    if (pairs.length === 0) resolve();
    else for (let i = 0; i < threads; i++) start();
  });
}

/** Why a thread ended before it answered, as the pair's error. */
function threadError(error: unknown, exitCode: number): OciReproError {
  if ((error as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new OciReproError('INTERNAL', 'the worker thread verifying it ran out of memory', { hint: 'verify fewer pairs at once (--jobs), or this pair alone', cause: error });
  }
  const why =
    error === undefined ? `exit code ${exitCode}` : error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return new OciReproError('INTERNAL', `the worker thread verifying it stopped: ${why.split('\n')[0]}`, {
    hint: 'this is a bug in oci-repro (the other pairs went on); run the pair alone with DEBUG=1 for a stack trace and report it',
    cause: error,
  });
}
