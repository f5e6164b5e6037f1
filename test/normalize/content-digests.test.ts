/**
 * `contentDigests: false` (what normalize uses): the pass skips the per-file content hash, and
 * everything else is what the default pass gives: the same digests, sizes, canonical bytes and table,
 * only without `contentDigest`. The verify cache never takes such a table.
 */
import { gzipSync } from 'node:zlib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Image } from '../../src/image/image.js';
import type { LayerEntry, LayerSummary } from '../../src/normalize/entry.js';
import { analyzeImage, cacheKeyWithoutDigests, type AnalyzeOptions } from '../../src/normalize/image.js';
import { normalizeLayer, type NormalizeLayerOptions } from '../../src/normalize/layer.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { loadImage } from '../../src/sources/index.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { buildTar, reversed, shuffled, syntheticTar, tarStream, withHardlinkCarrier, type SyntheticFile, type TestEntry } from '../helpers/tar.js';

const work = mkdtempSync(join(tmpdir(), 'oci-repro-content-digests-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const base: TestEntry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/empty', content: '' },
  { name: 'etc/hostname', content: 'layer\n' },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/bin/', type: 'directory' },
  { name: 'usr/bin/sh', type: 'symlink', linkname: '/bin/busybox' },
  { name: 'usr/bin/tool', content: Buffer.alloc(3000, 7), mode: 0o755 },
  { name: 'usr/bin/tool-alias', type: 'link', linkname: 'usr/bin/tool' },
  { name: 'usr/bin/zz-tool', type: 'link', linkname: 'usr/bin/tool' },
  { name: 'usr/lib/', type: 'directory' },
  { name: 'usr/lib/big.so', content: Buffer.alloc(200_000, 3) },
  { name: 'var/', type: 'directory' },
  { name: 'var/.wh.tmp', content: '' },
];

/** Name, entries, and whether its links follow their target (so they join a group and share its digest). */
const layers: Array<[string, TestEntry[], boolean]> = [
  ['in order', base, true],
  ['out of order (reversed)', reversed(base), false],
  ['out of order (shuffled)', shuffled(base, 3), false],
  ['hardlink group carried by another path', withHardlinkCarrier(base, 'usr/bin/zz-tool'), true],
  ['duplicate paths', [{ name: 'usr/bin/tool', content: 'old' }, ...base, { name: 'etc/hostname', content: 'late\n' }], true],
];

const withoutDigest = (entries: readonly LayerEntry[]) => entries.map(({ contentDigest: _digest, ...rest }) => rest);

/** The summary, plus the canonical tar when written to an output. */
async function pass(tar: Buffer, options: Partial<NormalizeLayerOptions> & { withOutput?: boolean }): Promise<{ summary: LayerSummary; canonical?: Buffer }> {
  const { withOutput, ...rest } = options;
  const chunks: Buffer[] = [];
  const output = withOutput
    ? new Writable({
        write(chunk: Buffer, _encoding, callback) {
          chunks.push(chunk);
          setImmediate(callback);
        },
      })
    : undefined;
  const summary = await normalizeLayer(tarStream(tar, 1000), { ...defaultNormalizeOptions, spoolDir: work, output, ...rest });
  return { summary, canonical: withOutput ? Buffer.concat(chunks) : undefined };
}

function expectSameButDigests(without: LayerSummary, withDigests: LayerSummary): void {
  const { entries: entriesWithout, ...restWithout } = without;
  const { entries: entriesWith, ...restWith } = withDigests;
  expect(restWithout).toStrictEqual(restWith);
  expect(withoutDigest(entriesWithout)).toStrictEqual(withoutDigest(entriesWith));
  expect(entriesWithout.filter((entry) => entry.contentDigest !== undefined)).toEqual([]);
  // The default still digests every file.
  for (const entry of entriesWith) {
    if (entry.type === 'file') expect(entry.contentDigest, entry.path).toMatch(/^sha256:[0-9a-f]{64}$/);
  }
}

describe('normalizeLayer with contentDigests: false', () => {
  describe.each(layers)('%s', (_name, entries, linksFound) => {
    let tar: Buffer;
    beforeAll(async () => {
      tar = await buildTar(entries);
    });

    test('hash only (spooled; and re-read with reopen): the same summary without content digests', async () => {
      const withDigests = await pass(tar, {});
      expect(withDigests.summary.entries.length).toBeGreaterThan(0);
      if (linksFound) {
        // The grouped links carry the digest of the data they share (the hardlink path is exercised).
        const table = withDigests.summary.entries;
        const links = table.filter((entry) => entry.type === 'hardlink');
        expect(links).toHaveLength(2);
        const carrier = table.find((entry) => entry.path === links[0].linkname)!;
        for (const link of links) expect(link.contentDigest).toBe(carrier.contentDigest);
      }
      expectSameButDigests((await pass(tar, { contentDigests: false })).summary, withDigests.summary);
      const reopen = () => tarStream(tar, 777);
      expectSameButDigests((await pass(tar, { contentDigests: false, reopen })).summary, (await pass(tar, { reopen })).summary);
      // Explicit true is the default.
      expect((await pass(tar, { contentDigests: true })).summary).toStrictEqual(withDigests.summary);
    });

    test('with an output: the same canonical bytes', async () => {
      const withDigests = await pass(tar, { withOutput: true });
      const without = await pass(tar, { withOutput: true, contentDigests: false });
      expect(without.canonical!.equals(withDigests.canonical!)).toBe(true);
      expect(without.canonical!.length).toBe(without.summary.canonicalSize);
      expectSameButDigests(without.summary, withDigests.summary);
    });
  });

  test('a layer past the in-memory spool, out of order: spooled to a file, same digests', async () => {
    const files: SyntheticFile[] = [];
    for (let i = 0; i < 6; i++) files.push({ name: `big/${i}.bin`, size: 7 << 20, seed: 50 + i });
    for (let i = 0; i < 200; i++) files.push({ name: `small/${String(i).padStart(3, '0')}`, size: (i * 7919) % 9000, seed: i });
    const unordered = [...files].reverse();
    const run = (contentDigests: boolean) =>
      normalizeLayer(syntheticTar(unordered), { ...defaultNormalizeOptions, spoolDir: work, contentDigests });
    const [withDigests, without] = [await run(true), await run(false)];
    expect(withDigests.inCanonicalOrder).toBe(false);
    expect(withDigests.canonicalSize).toBeGreaterThan(32 << 20);
    expectSameButDigests(without, withDigests);
  });
});

describe('analyzeImage with contentDigests: false', () => {
  let dir: TempDir;
  let reference: string;

  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-content-digests-image-');
    const image = buildImage(
      {
        layers: [
          { tar: await buildTar(base), compression: 'gzip' },
          { tar: await buildTar([...shuffled(base, 5), { name: 'opt/x', content: 'x' }]), compression: 'none' },
        ],
      },
      (tar, compression) => (compression === 'gzip' ? gzipSync(tar, { level: 1 }) : tar),
    );
    reference = `oci:${await dir.writeDirectory('image', singleImageLayout(image))}`;
  });
  afterAll(async () => dir?.remove());

  const analyze = async (options: Partial<AnalyzeOptions>) => {
    const image: Image = await loadImage(reference);
    try {
      return await analyzeImage(image, { normalize: defaultNormalizeOptions, ...options });
    } finally {
      await image.close();
    }
  };

  test('same canonical digests, tables without content digests', async () => {
    const withDigests = await analyze({});
    const without = await analyze({ contentDigests: false });
    expect(without.canonicalDigest).toBe(withDigests.canonicalDigest);
    expect(without.layers[1].summary!.inCanonicalOrder).toBe(false);
    for (const [i, layer] of without.layers.entries()) expectSameButDigests(layer.summary!, withDigests.layers[i].summary!);
  });

  test('the diff_id cache: a pass without digests serves only analyses without them, one with serves both', async () => {
    const cache = new Map<string, Promise<LayerSummary>>();
    const without = await analyze({ cache, contentDigests: false });
    const diffIds = without.layers.map((layer) => layer.layer.diffId);
    expect([...cache.keys()]).toEqual(diffIds.map(cacheKeyWithoutDigests));
    const again = await analyze({ cache, contentDigests: false });
    again.layers.forEach((layer, i) => expect(layer.summary).toBe(without.layers[i]!.summary));
    // An analysis with digests does not take the cached tables without them: it reads again.
    const first = await analyze({ cache });
    expect(cache.size).toBe(4);
    for (const [i, layer] of first.layers.entries()) {
      expect(layer.summary).toBe(await cache.get(diffIds[i]!));
      const files = layer.summary!.entries.filter((entry) => entry.type === 'file');
      expect(files.length).toBeGreaterThan(0);
      expect(files.every((entry) => entry.contentDigest !== undefined)).toBe(true);
    }
    // Now the tables with digests serve a later analysis without them too (a superset), first.
    const later = await analyze({ cache, contentDigests: false });
    expect(later.canonicalDigest).toBe(first.canonicalDigest);
    expect(later.layers[0].summary).toBe(first.layers[0].summary);
  });
});
