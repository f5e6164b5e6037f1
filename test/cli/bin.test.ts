// bin/run.js sizes libuv's thread pool before the pool starts (which only a CommonJS entry can do).
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { binPath } from '../helpers/cli.js';

/** Runs `bin/run.js --version` and reports, at exit, the pool size it asked for and the thread count. */
function probe(poolSize?: string): Promise<{ asked: string; threads: number }> {
  const script = `process.argv = [process.argv[0], ${JSON.stringify(binPath)}, '--version'];
process.on('exit', () => console.error(JSON.stringify({ asked: process.env.UV_THREADPOOL_SIZE, threads: require('node:fs').readdirSync('/proc/self/task').length })));
require(${JSON.stringify(binPath)});`;
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE;
  if (poolSize !== undefined) env.UV_THREADPOOL_SIZE = poolSize;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { env }, (error, _stdout, stderr) => {
      if (error) reject(error);
      else resolve(JSON.parse(stderr.trim().split('\n').pop()!));
    });
  });
}

describe('bin/run.js', () => {
  it.runIf(process.platform === 'linux')('starts the thread pool with one thread per core (at least 2, at most 64, so gzip output scales past 4 cores), unless the user chose', async () => {
    const expected = Math.max(2, Math.min(64, availableParallelism()));
    const chosen = await probe();
    expect(chosen.asked).toBe(String(expected));
    // The same run with the user asking for 2 more threads: exactly 2 more, so the pool did start with ours.
    const more = await probe(String(expected + 2));
    expect(more.asked).toBe(String(expected + 2));
    expect(more.threads - chosen.threads).toBe(2);
  });
});
