/**
 * verify's two rounds of layer passes (app/verify-layers.ts): no per-file content hash where the
 * canonical diff_ids are equal, a second pass with digests where they differ (table only: round one's
 * canonical digest stands), which also takes the changed files' contents, so the content pass reads
 * no layer again; and the same content differences, with their diffs, as a single pass with digests gave.
 */
import { createHash as realCreateHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { verifyImages } from '../../src/app/verify.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { buildTar, shuffled, withMtimes, type TestEntry } from '../helpers/tar.js';

// Every sha256 the run starts, per-file content hashes included, and every layer pass's options.
// Per pass: its options and how often it opened the blob; and the content pass's own layer reads.
const seen = vi.hoisted(() => ({
  hashes: 0,
  passes: [] as { what: string; contentDigests: boolean | undefined; tableOnly: boolean; opened: number }[],
  contentReads: [] as string[],
}));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const createHash: typeof actual.createHash = (...args) => {
    seen.hashes++;
    return actual.createHash(...args);
  };
  return { ...actual, createHash, default: { ...actual, createHash } };
});
vi.mock('../../src/normalize/layer-pass.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/normalize/layer-pass.js')>();
  const runLayerPass: typeof actual.runLayerPass = (task, openBlob) => {
    const pass = { what: task.what, contentDigests: task.contentDigests, tableOnly: task.known !== undefined, opened: 0 };
    seen.passes.push(pass);
    return actual.runLayerPass(task, () => {
      pass.opened++;
      return openBlob();
    });
  };
  return { ...actual, runLayerPass };
});
vi.mock('../../src/compare/content-stream.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/compare/content-stream.js')>();
  const readLayerFiles: typeof actual.readLayerFiles = (tar, small, large, ...rest) => {
    seen.contentReads.push([...small, ...large].join(','));
    return actual.readLayerFiles(tar, small, large, ...rest);
  };
  return { ...actual, readLayerFiles };
});

const files = (prefix: string, count: number): TestEntry[] => [
  { name: `${prefix}/` },
  ...Array.from({ length: count }, (_, i) => ({ name: `${prefix}/f${String(i).padStart(4, '0')}.txt`, content: `${prefix} file ${i}\nline two\n` })),
];
const base = files('base', 50);
const app = files('app', 300);
const data = files('data', 200);
const later = new Date('2024-06-01T00:00:00Z');
const changed = 'data/f0007.txt';
// A large file (byte ranges from spooled bytes) that differs in two bytes, and a large one that does not.
const blob = (seed: number) => Buffer.from(Array.from({ length: 300 * 1024 }, (_, i) => (i * seed + (i >> 9)) & 0xff));
const large = [
  { name: 'data/big.bin', content: blob(7) },
  { name: 'data/same.bin', content: blob(11) },
];
const largeB = blob(7);
largeB[1000] ^= 1;
largeB[200_000] ^= 1;

describe('verify reads in two rounds', () => {
  let dir: TempDir;
  const refs: Record<'a' | 'reproducible' | 'changed' | 'big' | 'bigChanged' | 'bigShuffled', string> = {
    a: '',
    reproducible: '',
    changed: '',
    big: '',
    bigChanged: '',
    bigShuffled: '',
  };

  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-verify-layers-');
    const write = async (name: string, layers: TestEntry[][]) => {
      const image = buildImage({ layers: await Promise.all(layers.map(async (entries) => ({ tar: await buildTar(entries) }))) });
      return `oci:${await dir.writeDirectory(name, singleImageLayout(image))}`;
    };
    // B: layer 0 the same tar; layer 1 in another order with other mtimes (equal after normalization).
    const appB = withMtimes(shuffled(app, 3), later);
    const dataB = data.map((entry) => (entry.name === changed ? { ...entry, content: 'data file 7\nline 2\n' } : entry));
    refs.a = await write('a', [base, app, data]);
    refs.reproducible = await write('reproducible', [base, appB, withMtimes(data, later)]);
    refs.changed = await write('changed', [base, appB, dataB]);
    // With large files: A's layer 2 and B's, changed in the small file and the large one.
    // In canonical order: `data/big.bin` right after `data/`, `data/same.bin` last.
    const withLarge = (entries: TestEntry[], big: Buffer) => [entries[0]!, { ...large[0]!, content: big }, ...entries.slice(1), large[1]!];
    const bigB = withLarge(dataB, largeB);
    refs.big = await write('big', [base, app, withLarge(data, large[0]!.content)]);
    refs.bigChanged = await write('big-changed', [base, appB, bigB]);
    refs.bigShuffled = await write('big-shuffled', [base, appB, shuffled(bigB, 5)]);
  });
  afterAll(async () => dir?.remove());
  beforeEach(() => {
    seen.hashes = 0;
    seen.passes = [];
    seen.contentReads = [];
  });

  const verify = (b: string, a = refs.a) => verifyImages({ a, b, normalize: defaultNormalizeOptions, neutralizedLimit: Infinity });
  const strip = (what: string) => what.replace(/ \(.*\) of .*\//, ' of ');

  test('equal canonical digests: one pass per distinct layer, and no file content hashed', async () => {
    const report = await verify(refs.reproducible);
    expect(report.verdict).toBe('reproducible');
    expect(report.layers.map((layer) => layer.status)).toEqual(['identical', 'tar', 'tar']);
    // Layer 0 has equal diff_ids (not read); the mtime differences are all there without digests.
    expect(seen.passes.filter((pass) => pass.what.startsWith('layer 0 '))).toEqual([]);
    expect(seen.passes).toHaveLength(4);
    expect(seen.passes.every((pass) => pass.contentDigests === false)).toBe(true);
    expect(report.differences.filter((d) => d.kind === 'file-attribute' && d.attribute === 'mtime')).toHaveLength(app.length + data.length);
    expect(report.differences.some((d) => d.attribute === 'content')).toBe(false);
    // A hash per file would be 1,000 here (500 files a side); the rest are per blob and per layer.
    expect(seen.hashes).toBeLessThan(app.length);
  });

  test('different canonical digests: a second pass with digests for that layer pair only, and the diff', async () => {
    const report = await verify(refs.changed);
    expect(report.verdict).toBe('not-reproducible');
    expect(report.layers.map((layer) => layer.status)).toEqual(['identical', 'tar', 'content']);
    const second = seen.passes.filter((pass) => pass.contentDigests === true);
    expect(second.map((pass) => strip(pass.what))).toEqual(['layer 2 of a', 'layer 2 of changed']);
    expect(second.every((pass) => pass.tableOnly && pass.opened === 1)).toBe(true);
    // Round one: layers 1 and 2 of each side (layer 0 not read); round two: layer 2 of each side.
    expect(seen.passes).toHaveLength(6);
    // Layer 2's files hashed on both sides; layer 1's (300 a side) not.
    expect(seen.hashes).toBeGreaterThanOrEqual(2 * (data.length - 1));
    expect(seen.hashes).toBeLessThan(2 * (data.length - 1) + app.length);

    const content = report.differences.filter((d) => d.attribute === 'content');
    expect(content.map((d) => d.path)).toEqual([`layers/2/${changed}#content`]);
    const sha = (text: string) => `sha256:${realCreateHash('sha256').update(text).digest('hex')}`;
    expect(content[0]).toMatchObject({ neutralized: false, a: sha('data file 7\nline two\n'), b: sha('data file 7\nline 2\n') });
    expect(content[0]!.detail).toMatchObject({ format: 'unified' });
    expect((content[0]!.detail as { diff: string }).diff).toContain('-line two\n+line 2\n');
    // The diff's contents came from round two's read: the content pass read no layer.
    expect(seen.contentReads).toEqual([]);
  });

  // Each changed layer is read twice per side (round one, round two), never a third time for contents.
  for (const [name, shuffledB] of [['in order', false], ['B out of order', true]] as const) {
    test(`large and small files differ, ${name}: round two reads once and serves the content pass`, async () => {
      const report = await verify(shuffledB ? refs.bigShuffled : refs.bigChanged, refs.big);
      expect(report.layers.map((layer) => layer.status)).toEqual(['identical', 'tar', 'content']);
      const layer2 = seen.passes.filter((pass) => pass.what.startsWith('layer 2 '));
      // Round one: a layer out of order is read a second time to spool it; round two: once, table only.
      const roundOne = layer2.filter((pass) => !pass.tableOnly);
      const roundTwo = layer2.filter((pass) => pass.tableOnly);
      expect(roundOne.map((pass) => [strip(pass.what), pass.opened])).toEqual([
        ['layer 2 of big', 1],
        [`layer 2 of ${shuffledB ? 'big-shuffled' : 'big-changed'}`, shuffledB ? 2 : 1],
      ]);
      expect(roundTwo.map((pass) => pass.opened)).toEqual([1, 1]);
      expect(seen.contentReads).toEqual([]);

      const content = report.differences.filter((d) => d.attribute === 'content');
      expect(content.map((d) => d.file)).toEqual(['data/big.bin', changed]);
      expect(content[0]!.detail).toMatchObject({ format: 'binary', differingBytes: 2, ranges: [{ start: 1000, end: 1001 }, { start: 200_000, end: 200_001 }] });
      expect(content[1]!.detail).toMatchObject({ format: 'unified' });
    });
  }
});
