/**
 * verify's content prefetch (compare/content-prefetch.ts): the plan from round one's tables, the
 * rendezvous that keeps only small files that differ, large ones spooled, and the content pass that
 * uses what it holds and reads a layer again only for what it missed (the report the same either way).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { attachContentDetails, contentCap, defaultContentBudget, type ContentReader } from '../../src/compare/content.js';
import { PairPrefetch, planPrefetch, type PrefetchLimits, type PrefetchPlan } from '../../src/compare/content-prefetch.js';
import { spooledDigest, type PrefetchedFiles } from '../../src/compare/content-stream.js';
import type { Difference } from '../../src/diff/model.js';
import type { LayerEntry, LayerSummary } from '../../src/normalize/entry.js';
import { contentDifference } from '../helpers/differences.js';
import { sha256Of } from '../helpers/digest.js';
import { buildTar, tarStream, type TestEntry } from '../helpers/tar.js';

const limits = (): PrefetchLimits => ({
  cap: (path) => contentCap(path),
  budget: { held: 0, limit: defaultContentBudget },
  spooled: { held: 0, limit: 64 << 20 },
  maxCandidates: 1000,
});

const big = (seed: number) => Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => (i * seed) & 0xff));
const bigB = big(3);
bigB[5000] ^= 0xff;
const sides: Record<'a' | 'b', TestEntry[]> = {
  a: [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/big.bin', content: big(3) },
    { name: 'etc/conf', content: 'x=1\n' },
    { name: 'etc/only-a', content: 'a\n' },
    { name: 'etc/same', content: 'same\n' },
    { name: 'etc/same-big.bin', content: big(5) },
  ],
  b: [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/big.bin', content: bigB },
    { name: 'etc/conf', content: 'x=2\n' },
    { name: 'etc/only-b', content: 'b\n' },
    { name: 'etc/same', content: 'same\n' },
    { name: 'etc/same-big.bin', content: big(5) },
  ],
};
const contentOf = (side: 'a' | 'b', name: string) => sides[side].find((entry) => entry.name === name)!.content as string | Buffer;

/** A table of round one: paths, types and sizes (no digests). */
function table(entries: TestEntry[]): LayerSummary {
  const rows = entries.map((entry) => ({
    path: entry.name,
    type: entry.type ?? 'file',
    size: entry.type === 'directory' ? 0 : Buffer.byteLength(entry.content ?? ''),
  }));
  return { entries: rows as unknown as LayerEntry[] } as LayerSummary;
}

function changedFile(file: string): Difference {
  return contentDifference(file, Buffer.from(contentOf('a', file)), Buffer.from(contentOf('b', file)));
}

/** Feeds both sides' tars to the prefetch's taps, chunk by chunk in turn, as two reads side by side. */
async function runPrefetch(plan: PrefetchPlan, options: Partial<PrefetchLimits> = {}, chunk = 4096): Promise<PairPrefetch> {
  const prefetch = new PairPrefetch(plan, { ...limits(), ...options });
  const tars = { a: await buildTar(sides.a), b: await buildTar(sides.b) };
  for (let at = 0; at < Math.max(tars.a.length, tars.b.length); at += chunk) {
    for (const side of ['a', 'b'] as const) {
      const tap = prefetch.tap(side);
      if (at < tars[side].length) tap.push(tars[side].subarray(at, at + chunk));
      if (tap.needsDrain) await tap.drain();
    }
  }
  prefetch.tap('a').end();
  prefetch.tap('b').end();
  await prefetch.finish();
  return prefetch;
}

/** A content reader over the two tars that counts its layer reads, with the prefetch's files. */
function reader(prefetched?: (side: 'a' | 'b') => PrefetchedFiles | undefined): ContentReader & { opened: string[] } {
  const opened: string[] = [];
  return {
    opened,
    async openTar(layer, side) {
      opened.push(`${side}:${layer}`);
      return tarStream(await buildTar(sides[side]), 4096);
    },
    ...(prefetched ? { prefetched: (_layer: number, side: 'a' | 'b') => prefetched(side) } : {}),
  };
}

const changedFiles = () => [changedFile('etc/big.bin'), changedFile('etc/conf')];

describe('planPrefetch', () => {
  it('takes the regular files on both sides, split by the content cap', () => {
    const plan = planPrefetch(table(sides.a), table(sides.b), limits())!;
    expect([...plan.small].sort()).toEqual(['etc/conf', 'etc/same']);
    expect([...plan.large].sort()).toEqual(['etc/big.bin', 'etc/same-big.bin']);
    expect(plan.limit).toBe(contentCap('etc/conf'));
  });

  it('plans nothing for a table out of canonical order, or past the candidate bound', () => {
    expect(planPrefetch(table([...sides.a].reverse()), table(sides.b), limits())).toBeUndefined();
    expect(planPrefetch(table(sides.a), table(sides.b), { ...limits(), maxCandidates: 3 })).toBeUndefined();
    expect(planPrefetch(table(sides.a), table(sides.b), { ...limits(), maxCandidates: 4 })).toBeDefined();
  });
});

describe('PairPrefetch', () => {
  const open: PairPrefetch[] = [];
  afterEach(async () => {
    for (const prefetch of open.splice(0)) await prefetch.close();
  });
  const prefetchOf = async (options: Partial<PrefetchLimits> = {}, chunk?: number) => {
    const prefetch = await runPrefetch(planPrefetch(table(sides.a), table(sides.b), limits())!, options, chunk);
    open.push(prefetch);
    return prefetch;
  };

  it('keeps the small files that differ, lets equal ones go, and spools the large ones', async () => {
    const prefetch = await prefetchOf();
    for (const side of ['a', 'b'] as const) {
      const files = prefetch.files(side)!;
      expect([...files.small.keys()]).toEqual(['etc/conf']);
      expect(files.small.get('etc/conf')).toEqual(Buffer.from(contentOf(side, 'etc/conf')));
      // Hashed only when used, from the spool.
      const spooled = files.large.get('etc/big.bin')!;
      expect(spooled.digest).toBeUndefined();
      expect(spooledDigest(files.spool!, spooled)).toBe(sha256Of(Buffer.from(contentOf(side, 'etc/big.bin'))));
    }
  });

  it('serves the content pass: no layer read again, and the same details as reading them', async () => {
    const prefetch = await prefetchOf();
    const served = reader((side) => prefetch.files(side));
    const fromPrefetch = await attachContentDetails(changedFiles(), served);
    const read = reader();
    const fromLayers = await attachContentDetails(changedFiles(), read);
    expect(served.opened).toEqual([]);
    expect(read.opened).toEqual(['a:0', 'b:0']);
    expect(fromPrefetch).toEqual(fromLayers);
    expect(fromPrefetch[0]!.detail).toMatchObject({ format: 'binary', differingBytes: 1 });
    expect(fromPrefetch[1]!.detail).toMatchObject({ format: 'unified' });
  });

  it('over its budgets it holds less, and the content pass reads the layers for what is missing', async () => {
    // Room for one side's small file at a time: the pair that differs cannot both be kept.
    const small = await prefetchOf({ budget: { held: 0, limit: 5 }, spooled: { held: 0, limit: 0 } });
    expect(small.files('a')!.small.size).toBe(0);
    expect(small.files('a')!.large.size).toBe(0);
    const served = reader((side) => small.files(side));
    const details = await attachContentDetails(changedFiles(), served);
    expect(served.opened).toEqual(['a:0', 'b:0']);
    expect(details).toEqual(await attachContentDetails(changedFiles(), reader()));
  });

  it('one budget for every pair of a verify: what one pair keeps, the next cannot', async () => {
    const budget = { held: 0, limit: 8 };
    const first = await prefetchOf({ budget });
    expect(first.files('a')!.small.get('etc/conf')).toEqual(Buffer.from('x=1\n'));
    expect(budget.held).toBe(8);
    const second = await prefetchOf({ budget });
    expect(second.files('a')!.small.size).toBe(0);
    expect(budget.held).toBe(8);
  });

  it('a read that did not end, or contents that are not the table digest, are not used', async () => {
    const unfinished = new PairPrefetch(planPrefetch(table(sides.a), table(sides.b), limits())!, limits());
    open.push(unfinished);
    unfinished.tap('a').push(await buildTar(sides.a));
    expect(unfinished.files('a')).toBeUndefined();

    const prefetch = await prefetchOf();
    const wrong = (side: 'a' | 'b'): PrefetchedFiles => {
      const files = prefetch.files(side)!;
      return side === 'a' ? { ...files, small: new Map([['etc/conf', Buffer.from('x=3\n')]]) } : files;
    };
    const served = reader(wrong);
    const details = await attachContentDetails(changedFiles(), served);
    expect(served.opened).toEqual(['a:0']);
    expect(details).toEqual(await attachContentDetails(changedFiles(), reader()));
  });
});
