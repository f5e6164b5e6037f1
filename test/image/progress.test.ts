import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ByteCounter, progressIntervalMs } from '../../src/image/progress.js';
import { sha256OfStream } from '../helpers/digest.js';

type Report = [done: number, ended: boolean];

/** A counter on a fake clock that moves `step` ms per chunk, with its reports. */
function counter(step: number) {
  const reports: Report[] = [];
  let time = 0;
  const stream = new ByteCounter((done, ended) => reports.push([done, ended]), progressIntervalMs, () => (time += step));
  return { stream, reports };
}

const chunks = (count: number, size: number) => Array.from({ length: count }, (_, i) => Buffer.alloc(size, i % 251));

describe('ByteCounter', () => {
  it('passes the bytes through unchanged and ends with one report of the whole size', async () => {
    const data = chunks(300, 1000);
    const { stream, reports } = counter(1);
    const digest = await sha256OfStream(Readable.from(data).pipe(stream));
    expect(digest).toBe(await sha256OfStream(Readable.from(data)));
    expect(reports.at(-1)).toEqual([300_000, true]);
    expect(reports.filter(([, ended]) => ended)).toHaveLength(1);
  });

  it('reports at most once per interval: 1000 chunks over 1 s of clock give about ten reports, not a thousand', async () => {
    const { stream, reports } = counter(1);
    await pipeline(Readable.from(chunks(1000, 10)), stream, async function* (source) {
      for await (const _ of source);
    });
    // The first chunk, then one per 100 ms of the 1000 ms, then the end.
    expect(reports.length).toBeGreaterThanOrEqual(10);
    expect(reports.length).toBeLessThanOrEqual(12);
    // Counts only grow, and the last is the total.
    expect(reports.map(([done]) => done)).toEqual([...reports.map(([done]) => done)].sort((x, y) => x - y));
    expect(reports.at(-1)).toEqual([10_000, true]);
  });

  it('a slow stream reports every chunk (each one is past the interval)', async () => {
    const { stream, reports } = counter(progressIntervalMs);
    await pipeline(Readable.from(chunks(5, 7)), stream, async function* (source) {
      for await (const _ of source);
    });
    expect(reports).toEqual([[7, false], [14, false], [21, false], [28, false], [35, false], [35, true]]);
  });

  it('a read cut short ends with what was read', async () => {
    const { stream, reports } = counter(1);
    stream.write(Buffer.alloc(500));
    stream.write(Buffer.alloc(250));
    await new Promise((resolve) => setImmediate(resolve));
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    expect(reports.at(-1)).toEqual([750, true]);
    expect(reports.filter(([, ended]) => ended)).toHaveLength(1);
  });

  it('a failing source ends the count too, and the error comes through', async () => {
    const { stream, reports } = counter(1);
    const source = new Readable({ read() {} });
    source.push(Buffer.alloc(64));
    const piped = pipeline(source, stream, async function* (input) {
      for await (const _ of input);
    });
    setImmediate(() => source.destroy(new Error('disk gone')));
    await expect(piped).rejects.toThrow('disk gone');
    expect(reports.at(-1)).toEqual([64, true]);
  });
});
