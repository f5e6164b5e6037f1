/**
 * The worker thread of a fleet (pool.ts): takes the fleet's PairContext as its workerData, then
 * verifies each pair it is sent and posts back the result. Never prints; a result is always posted,
 * since verifyPair never throws: only a crash of the thread itself (caught by the pool) goes unanswered.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { verifyPair, type PairContext } from './pair.js';
import type { PairMessage, ResultMessage } from './pool.js';

const context = workerData as PairContext;
// Tests only: the pair of this name crashes its thread (an uncaught error), as a bug would.
const crashOn = process.env.OCI_REPRO_TEST_FLEET_CRASH;

parentPort!.on('message', ({ pair }: PairMessage) => {
  if (crashOn !== undefined && pair.name === crashOn) {
    setImmediate(() => {
      throw new TypeError(`crashing on pair ${JSON.stringify(pair.name)} (OCI_REPRO_TEST_FLEET_CRASH)`);
    });
    return;
  }
  void verifyPair(pair, context).then((result) => parentPort!.postMessage({ result } satisfies ResultMessage));
});
