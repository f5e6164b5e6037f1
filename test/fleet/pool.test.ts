// The fleet's worker threads, on a stand-in worker that can die on purpose: a thread that dies takes
// only its pair with it, a new one takes its place, and every pair gets exactly one result.
import { describe, expect, it } from 'vitest';
import type { PairContext } from '../../src/fleet/pair.js';
import type { FleetPair } from '../../src/fleet/pairs-file.js';
import { runPairsOnWorkers } from '../../src/fleet/pool.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import type { PairResult } from '../../src/report/fleet-model.js';

const stub = new URL('../fixtures/fleet/worker-stub.mjs', import.meta.url);
const context: PairContext = {
  load: { tlsVerify: false },
  normalize: { ...defaultNormalizeOptions, disabledRules: new Set(['mtime']) },
  neutralizedLimit: Infinity,
  policies: new Map([['p.yaml', { error: { code: 'NOT_FOUND', message: 'reading policy p.yaml: no such file p.yaml' } }]]),
};
const pairsNamed = (names: string[]): FleetPair[] => names.map((name, index) => ({ index, name, a: `${name}-a.tar`, b: `${name}-b.tar` }));

/** Runs the pairs on the stub; the results by position, and the order they ended in. */
async function run(names: string[], jobs: number) {
  const results: (PairResult & { threadId?: number; context?: PairContext })[] = [];
  const order: number[] = [];
  await runPairsOnWorkers({
    entry: stub,
    jobs,
    pairs: pairsNamed(names),
    context,
    resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4 },
    onResult: (position, result) => {
      expect(results[position], `pair ${position} answered twice`).toBeUndefined();
      results[position] = result;
      order.push(position);
    },
  });
  return { results, order };
}

describe('runPairsOnWorkers', () => {
  it('gives each thread the context as data and every pair one result', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `pair-${i}`);
    const { results, order } = await run(names, 3);
    expect(results.map((result) => result.name)).toEqual(names);
    expect(order.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Sets, Maps and Infinity cross as they are.
    expect(results[0]!.context).toEqual(context);
    expect(new Set(results.map((result) => result.threadId)).size).toBeLessThanOrEqual(3);
  });

  it('a thread that dies is its pair’s error (exit 70), a new thread takes the pairs left', { timeout: 60_000 }, async () => {
    const names = ['first', 'throws', 'third', 'exits', 'fifth', 'out-of-memory', 'seventh', 'eighth'];
    // Three threads die and two started: every pair answered means new threads took their places.
    const { results } = await run(names, 2);
    expect(results.map((result) => result.name)).toEqual(names);
    for (const name of ['first', 'third', 'fifth', 'seventh', 'eighth']) expect(results[names.indexOf(name)]!.threadId, name).toBeGreaterThan(0);
    const [throws, exits, memory] = [results[1]!, results[3]!, results[5]!];
    for (const result of [throws, exits, memory]) {
      expect(result).toMatchObject({ verdict: 'error', passed: false, exitCode: 70, report: null });
      expect(result.error).toMatchObject({ code: 'INTERNAL', exitCode: 70 });
    }
    expect(throws.reason).toBe(
      'pair "throws": the worker thread verifying it stopped: RangeError: boom (hint: this is a bug in oci-repro (the other pairs went on); run the pair alone with DEBUG=1 for a stack trace and report it)',
    );
    expect(exits.reason).toMatch(/^pair "exits": the worker thread verifying it stopped: exit code 7 \(hint: /);
    expect(memory.reason).toBe('pair "out-of-memory": the worker thread verifying it ran out of memory (hint: verify fewer pairs at once (--jobs), or this pair alone)');
  });

  it('a callback that throws ends every thread and rejects', async () => {
    const failing = runPairsOnWorkers({
      entry: stub,
      jobs: 2,
      pairs: pairsNamed(['a', 'b', 'c', 'd']),
      context,
      onResult: () => {
        throw new Error('the caller failed');
      },
    });
    await expect(failing).rejects.toThrow('the caller failed');
  });

  it('starts no thread for no pairs', async () => {
    await runPairsOnWorkers({ entry: new URL('file:///nonexistent/worker.js'), jobs: 4, pairs: [], context, onResult: () => undefined });
  });
});
