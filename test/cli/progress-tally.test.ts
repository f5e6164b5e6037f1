import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageDone, imageFinished, imageTotal, ProgressTally, RateMeter } from '../../src/cli/progress-tally.js';
import { verifyImages } from '../../src/app/verify.js';
import { normalizeImage } from '../../src/app/normalize.js';
import type { ProgressEvent } from '../../src/image/progress.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { TempDir } from '../helpers/images.js';
import { writeManyMtimesPair, type ImagePair } from '../app/fixtures.js';

const image = (layers: [number, number][]): ProgressEvent => ({
  kind: 'image',
  image: 1,
  reference: 'a.tar',
  transport: 'oci-archive',
  layers: layers.map(([index, size]) => ({ index, digest: `sha256:${String(index).repeat(64)}`, size })),
});
const blob = (read: number, layer: number, done: number, size: number, ended = false): ProgressEvent => ({
  kind: 'blob',
  image: 1,
  layer,
  digest: `sha256:${String(layer).repeat(64)}`,
  read,
  done,
  size,
  ended,
});

describe('ProgressTally', () => {
  it('done is every byte read, total the blobs; finished when every read is over', () => {
    const tally = new ProgressTally();
    const state = tally.apply(image([[0, 100], [1, 50]]))!;
    expect([imageDone(state), imageTotal(state), imageFinished(state)]).toEqual([0, 150, false]);
    tally.apply(blob(1, 0, 40, 100));
    expect([imageDone(state), imageTotal(state)]).toEqual([40, 150]);
    tally.apply(blob(1, 0, 100, 100, true));
    tally.apply(blob(2, 1, 50, 50, false));
    expect([imageDone(state), imageTotal(state), imageFinished(state)]).toEqual([150, 150, false]);
    tally.apply(blob(2, 1, 50, 50, true));
    expect([imageDone(state), imageTotal(state), imageFinished(state)]).toEqual([150, 150, true]);
  });

  it('a blob read again counts again; a read cut short counts what it read', () => {
    const tally = new ProgressTally();
    const state = tally.apply(image([[0, 100]]))!;
    tally.apply(blob(1, 0, 30, 100));
    tally.apply(blob(1, 0, 30, 100, true));
    expect([imageDone(state), imageTotal(state)]).toEqual([30, 30]);
    tally.apply(blob(2, 0, 10, 100));
    expect([imageDone(state), imageTotal(state)]).toEqual([40, 130]);
    tally.apply(blob(2, 0, 100, 100, true));
    expect([imageDone(state), imageTotal(state), imageFinished(state)]).toEqual([130, 130, true]);
  });

  it('a skipped layer leaves the total; events after a read ended change nothing', () => {
    const tally = new ProgressTally();
    const state = tally.apply(image([[0, 100], [1, 60]]))!;
    tally.apply({ kind: 'skip', image: 1, layer: 0 });
    expect(imageTotal(state)).toBe(60);
    tally.apply(blob(1, 1, 60, 60, true));
    tally.apply(blob(1, 1, 10, 60, false));
    expect([imageDone(state), imageTotal(state), imageFinished(state)]).toEqual([60, 60, true]);
  });

  it('events of an image never announced are ignored', () => {
    expect(new ProgressTally().apply(blob(1, 0, 5, 10))).toBeUndefined();
  });
});

describe('RateMeter', () => {
  it('is the rate over the recent window, unknown until two samples, falling while nothing arrives', () => {
    const meter = new RateMeter(3000);
    meter.add(0, 0);
    expect(meter.rate(0)).toBeUndefined();
    meter.add(1000, 10_000);
    expect(meter.rate(1000)).toBe(10_000);
    // Faster now: the window forgets the slow start.
    for (let t = 2000; t <= 10_000; t += 1000) meter.add(t, 10_000 + (t - 1000) * 100);
    expect(meter.rate(10_000)).toBeCloseTo(100_000, -3);
    // Stalled: the same bytes over a longer time.
    expect(meter.rate(20_000)!).toBeLessThan(30_000);
    expect(meter.lastTime).toBe(10_000);
  });
});

describe('the events of a real verify and normalize add up', () => {
  let dir: TempDir;
  let pair: ImagePair;
  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-progress-');
    // Layer 0 is the same in both (read once, skipped for B); B's layer 1 is shuffled, so read twice.
    const relative = await writeManyMtimesPair(dir, 3000);
    pair = { a: relative.a.replace(':', `:${dir.path}/`), b: relative.b.replace(':', `:${dir.path}/`) };
  }, 60_000);
  afterAll(async () => dir?.remove());

  it('verify: both images end with done equal to total, neither reads the layer they share (equal diff_ids), B reads its shuffled one twice', async () => {
    const events: ProgressEvent[] = [];
    const tally = new ProgressTally();
    const onProgress = (event: ProgressEvent) => {
      events.push(event);
      tally.apply(event);
    };
    const report = await verifyImages({ ...pair, load: { onProgress }, normalize: defaultNormalizeOptions });
    expect(report.verdict).toBe('reproducible');
    // Both images load at once, so which one reports first varies (it failed CI once on Node 24): by label.
    const states = [...tally.images.values()];
    expect(states.map((state) => state.label).sort()).toEqual([pair.a, pair.b].sort());
    const a = states.find((state) => state.label === pair.a);
    const b = states.find((state) => state.label === pair.b);
    for (const state of [a!, b!]) {
      expect(imageFinished(state)).toBe(true);
      expect(imageDone(state)).toBe(imageTotal(state));
      expect(imageDone(state)).toBeGreaterThan(0);
    }
    expect(events).toContainEqual({ kind: 'skip', image: a!.image, layer: 0 });
    expect(events).toContainEqual({ kind: 'skip', image: b!.image, layer: 0 });
    expect([...b!.reads.values()].map((read) => read.layer)).toEqual([1, 1]);
    expect([...a!.reads.values()].map((read) => [read.layer, read.done === read.size])).toEqual([[1, true]]);
  });

  it('normalize: done equals total; the in-order layer read once, whole, the shuffled one twice', async () => {
    const tally = new ProgressTally();
    const result = await normalizeImage({ source: pair.b, load: { onProgress: (event) => tally.apply(event) }, normalize: defaultNormalizeOptions });
    expect(result.canonicalDigest).toMatch(/^sha256:/);
    const [state] = [...tally.images.values()];
    const reads = [...state!.reads.values()];
    expect(reads.map((read) => read.layer).sort()).toEqual([0, 1, 1]);
    expect(reads.filter((read) => read.layer === 0).map((read) => read.done === read.size)).toEqual([true]);
    expect(imageFinished(state!)).toBe(true);
    expect(imageDone(state!)).toBe(imageTotal(state!));
  });
});
