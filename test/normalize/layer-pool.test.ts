/**
 * Layer passes on worker threads give exactly what the in-process pass gives (summaries, canonical
 * digests, written blobs, and errors with the same code and line), end their workers, and keep the
 * bytes in flight to a worker bounded.
 *
 * The worker runs the built script (dist/normalize/layer-worker.js): `npm test` builds it first; run
 * `npm run build` before running this file alone.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { withContext } from '../../src/errors.js';
import type { Image } from '../../src/image/image.js';
import { analyzeImage, createLayerPool, type AnalyzeOptions, type ImageAnalysis } from '../../src/normalize/image.js';
import { normalizeLayer } from '../../src/normalize/layer.js';
import { LayerPool, layerWorkerScript, liveLayerWorkers } from '../../src/normalize/layer-pool.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { loadImage } from '../../src/sources/index.js';
import { buildImage, singleImageLayout, TempDir, type BuiltImage, type LayerCompression } from '../helpers/images.js';
import { sha256Of } from '../helpers/digest.js';
import { buildTar, shuffled, syntheticTar, withMtimes, type TestEntry } from '../helpers/tar.js';
import { caughtError } from '../helpers/errors.js';

let dir: TempDir;
const normalize = defaultNormalizeOptions;

function compressLayer(tar: Buffer, compression: LayerCompression): Buffer {
  if (compression === 'gzip') return gzipSync(tar, { level: 1 });
  if (compression === 'zstd') return zstdCompress(tar);
  return tar;
}

/** Bytes that differ from file to file, so content digests tell files apart. */
function content(seed: number, size: number): Buffer {
  const data = Buffer.alloc(size);
  let state = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = 97 + ((state >>> 24) % 26);
  }
  return data;
}

function entries(prefix: string, count: number): TestEntry[] {
  const list: TestEntry[] = [{ name: `${prefix}/`, type: 'directory' }];
  for (let i = 0; i < count; i++) {
    list.push({ name: `${prefix}/f${String(i).padStart(3, '0')}`, content: content(i + prefix.length, (i * 3001) % 70_000) });
  }
  return list;
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function writeImage(name: string, image: BuiltImage): Promise<string> {
  return `oci:${await dir.writeDirectory(name, singleImageLayout(image))}`;
}

/** Runs `use` on a freshly loaded image, closing it afterwards. */
async function withImage<T>(reference: string, use: (image: Image) => Promise<T>): Promise<T> {
  const image = await loadImage(reference);
  try {
    return await use(image);
  } finally {
    await image.close();
  }
}

/** The image as a source without local files (a registry) shows it: blobs go through the main thread. */
function forwarded(image: Image): Image {
  return { ...image, layers: image.layers.map(({ location: _location, ...layer }) => layer) };
}

async function analyze(reference: string, options: Partial<AnalyzeOptions>, via: 'file' | 'forwarded' = 'file'): Promise<ImageAnalysis> {
  return withImage(reference, (image) => analyzeImage(via === 'file' ? image : forwarded(image), { normalize, ...options }));
}

let several: string;

beforeAll(async () => {
  expect(layerWorkerScript(), 'run `npm run build` first: the worker runs the built script').toBeDefined();
  dir = await TempDir.create('oci-repro-pool-');
  const ordered = await buildTar(withMtimes(entries('a', 40), (_, i) => new Date(Date.UTC(2020, 0, 1 + i))));
  // Out of order with hardlinks: the pass stops, reads the layer again and re-emits it sorted.
  const linked: TestEntry[] = [
    ...shuffled(entries('b', 60), 7),
    { name: 'b/z-link', type: 'link', linkname: 'b/f010' },
    { name: 'a-link', type: 'link', linkname: 'b/f020' },
  ];
  const unordered = await buildTar(linked, { dialect: 'pax' });
  const big = await buildTar([{ name: 'big.bin', content: content(99, 3 << 19) }, ...entries('c', 5)], { dialect: 'gnu' });
  const image = buildImage(
    {
      layers: [
        { tar: ordered, compression: 'gzip' },
        { tar: unordered, compression: 'none' },
        { tar: big, compression: 'zstd' },
        { tar: unordered, compression: 'gzip' },
      ],
    },
    compressLayer,
  );
  several = await writeImage('several', image);
});

afterAll(async () => dir?.remove());

describe('a layer pass on a worker thread', () => {
  test.each(['file', 'forwarded'] as const)('gives the same analysis as the in-process pass and as the plain openTar pass (blobs %s)', async (via) => {
    const local = await analyze(several, { workers: 'never' });
    const pool = createLayerPool()!;
    let remote: ImageAnalysis;
    try {
      remote = await analyze(several, { workers: 'always', pool, concurrency: 4 }, via);
      expect(pool.stats.workersStarted).toBeGreaterThanOrEqual(1);
      expect(pool.stats.workersStarted).toBeLessThanOrEqual(pool.maxWorkers);
      // Layers in files are read by the workers; the others, twice for the two unordered ones.
      expect(pool.stats.streamsForwarded).toBe(via === 'file' ? 0 : 6);
    } finally {
      await pool.close();
    }
    expect(remote.canonicalDigest).toBe(local.canonicalDigest);
    expect(remote.configBytes.equals(local.configBytes)).toBe(true);
    expect(remote.layers.map((layer) => layer.summary)).toStrictEqual(local.layers.map((layer) => layer.summary));
    // Out of order layers really took the second read, and hardlinks were regrouped.
    expect(local.layers[1].summary!.inCanonicalOrder).toBe(false);
    expect(local.layers[0].summary!.inCanonicalOrder).toBe(true);
    expect(local.layers[1].summary!.entries.filter((entry) => entry.type === 'hardlink').length).toBe(2);

    // The reference the passes replaced: the layer's verified tar straight into normalizeLayer.
    await withImage(several, async (image) => {
      for (const layer of image.layers) {
        const summary = await normalizeLayer(await layer.openTar(), { ...normalize, reopen: () => layer.openTar() });
        expect(summary).toStrictEqual(local.layers[layer.index].summary);
        expect(summary.tarDigest).toBe(layer.diffId);
      }
    });
  });

  test.each(['gzip', 'zstd', 'none'] as const)('writes the same %s blobs as the in-process pass', async (compression) => {
    const outputs = await Promise.all(
      (['never', 'always'] as const).map(async (workers) => {
        const directory = dir.join(`out-${compression}-${workers}`);
        await import('node:fs/promises').then((fs) => fs.mkdir(directory, { recursive: true }));
        const analysis = await analyze(several, { workers, output: { compression, directory } });
        const blobs = await Promise.all(analysis.layers.map(async ({ blob }) => ({ ...blob!, bytes: await readFile(blob!.path) })));
        return { analysis, blobs };
      }),
    );
    const [local, remote] = outputs;
    expect(remote.analysis.canonicalDigest).toBe(local.analysis.canonicalDigest);
    for (const [i, blob] of remote.blobs.entries()) {
      expect(blob.bytes.equals(local.blobs[i].bytes), `layer ${i}`).toBe(true);
      expect(blob.digest).toBe(sha256Of(blob.bytes));
      expect(blob.size).toBe(blob.bytes.length);
      expect(blob.digest).toBe(local.blobs[i].digest);
    }
    expect(remote.analysis.layers.map((layer) => layer.summary)).toStrictEqual(local.analysis.layers.map((layer) => layer.summary));
  });

  test('ends its workers: the pool of an analysis is closed with it, a shared one by close()', async () => {
    await analyze(several, { workers: 'always' });
    expect(liveLayerWorkers()).toBe(0);
    const pool = createLayerPool()!;
    await Promise.all([analyze(several, { workers: 'always', pool, concurrency: 1 }), analyze(several, { workers: 'always', pool, concurrency: 1 })]);
    expect(pool.stats.threadIds.length).toBe(pool.stats.workersStarted);
    expect(liveLayerWorkers()).toBe(pool.stats.workersStarted);
    await pool.close();
    expect(liveLayerWorkers()).toBe(0);
  });

  test('OCI_REPRO_WORKERS=0 turns the pool off', async () => {
    process.env.OCI_REPRO_WORKERS = '0';
    try {
      expect(createLayerPool()).toBeUndefined();
      await analyze(several, { workers: 'always' });
      expect(liveLayerWorkers()).toBe(0);
    } finally {
      delete process.env.OCI_REPRO_WORKERS;
    }
  });

  test('keeps the bytes in flight to a worker within its window while the worker is slower than the source', async () => {
    // 24 MiB, unordered, recompressed with gzip: the worker is far slower than reading the file.
    const files = Array.from({ length: 24 }, (_, i) => ({ name: `f${String(23 - i).padStart(2, '0')}`, size: 1 << 20, seed: i }));
    const tar = await collect(syntheticTar(files));
    const reference = await writeImage('large', buildImage({ layers: [{ tar, compression: 'none' }] }, compressLayer));
    const window = 1 << 20;
    const pool = new LayerPool(layerWorkerScript()!, 1, window);
    try {
      const directory = dir.join('large-out');
      await import('node:fs/promises').then((fs) => fs.mkdir(directory, { recursive: true }));
      const analysis = await analyze(reference, { workers: 'always', pool, output: { compression: 'gzip', directory } }, 'forwarded');
      expect(analysis.layers[0].summary!.tarSize).toBe(tar.length);
      expect(pool.stats.streamsForwarded).toBe(1);
    } finally {
      await pool.close();
    }
    expect(tar.length).toBeGreaterThan(20 * window);
    // A forwarded chunk is 1 MiB, and one source chunk may complete two before the source pauses.
    expect(pool.stats.maxBytesInFlight).toBeGreaterThanOrEqual(window);
    expect(pool.stats.maxBytesInFlight).toBeLessThanOrEqual(window + (2 << 20));
  });
});

describe('errors from a worker', () => {
  let tar: Buffer;
  let base: BuiltImage;

  beforeAll(async () => {
    tar = await buildTar(shuffled(entries('e', 30), 3));
    base = buildImage({ layers: [{ tar, compression: 'gzip' }] }, compressLayer);
  });

  /** The image with layer 0 stored as `bytes`, whose diff_id in the config is `diffId`. */
  function withLayer(bytes: Buffer, diffId: string, compression: LayerCompression = 'gzip'): BuiltImage {
    const image = buildImage({ layers: [{ tar, compression }] }, () => bytes);
    const config = JSON.parse(image.config.bytes.toString());
    config.rootfs.diff_ids[0] = diffId;
    const configBytes = Buffer.from(JSON.stringify(config));
    const manifest = JSON.parse(image.manifest.bytes.toString());
    manifest.config.digest = sha256Of(configBytes);
    manifest.config.size = configBytes.length;
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const configBlob = { ...image.config, bytes: configBytes, digest: sha256Of(configBytes) };
    const manifestBlob = { ...image.manifest, bytes: manifestBytes, digest: sha256Of(manifestBytes) };
    return { ...image, config: configBlob, manifest: manifestBlob, blobs: [...image.layers, configBlob, manifestBlob] };
  }

  const gzipped = () => gzipSync(tar, { level: 1 });
  const cases: Array<[string, () => Promise<string>, RegExp]> = [
    [
      'corrupt gzip',
      async () => {
        const bytes = Buffer.from(gzipped());
        bytes.fill(0x55, 20, 60);
        return writeImage('corrupt-gzip', withLayer(bytes, sha256Of(tar)));
      },
      /^layer 0 \(sha256:[0-9a-f]{64}\) of oci:.*: corrupt gzip data/,
    ],
    [
      'blob digest mismatch',
      async () => {
        const reference = await writeImage('blob-mismatch', base);
        const path = `${reference.slice(4)}/blobs/sha256/${base.layers[0].digest.slice(7)}`;
        const bytes = await readFile(path);
        bytes[bytes.length - 5] ^= 1;
        await writeFile(path, bytes);
        return reference;
      },
      /^layer 0 \(sha256:[0-9a-f]{64}\) of oci:.*: digest mismatch: expected sha256:/,
    ],
    [
      'diff_id mismatch',
      async () => writeImage('diffid-mismatch', withLayer(gzipped(), sha256Of('other'))),
      /^layer 0 .*: diff_id: digest mismatch: expected sha256:/,
    ],
    [
      'truncated tar',
      async () => {
        const cut = tar.subarray(0, tar.length - 3000);
        return writeImage('truncated-tar', withLayer(compressLayer(cut, 'none'), sha256Of(cut), 'none'));
      },
      /^layer 0 .*: unexpected end of archive/,
    ],
    [
      'truncated tar under the old diff_id',
      async () => {
        const cut = gzipSync(tar.subarray(0, tar.length - 3000));
        return writeImage('truncated-tar-old-diffid', withLayer(cut, sha256Of(tar)));
      },
      /^layer 0 .*: diff_id: digest mismatch/,
    ],
    [
      'invalid tar header',
      async () => {
        const bad = Buffer.from(tar);
        bad.fill(0x41, 100, 200);
        return writeImage('bad-header', withLayer(gzipSync(bad), sha256Of(bad)));
      },
      /^layer 0 .*: invalid tar header at offset 0/,
    ],
  ];

  test.each(cases)('%s: same code, exit code and line as in-process', async (_name, make, expected) => {
    const reference = await make();
    for (const output of [false, true]) {
      const directory = dir.join(`err-${_name.replace(/\W+/g, '-')}-${output}`);
      await import('node:fs/promises').then((fs) => fs.mkdir(directory, { recursive: true }));
      const options = output ? { output: { compression: 'gzip' as const, directory } } : {};
      const local = await caughtError(analyze(reference, { workers: 'never', ...options }));
      expect(local.line).toMatch(expected);
      for (const via of ['file', 'forwarded'] as const) {
        const remote = await caughtError(analyze(reference, { workers: 'always', ...options }, via));
        expect(remote.line, `output ${output}, blob ${via}`).toBe(local.line);
        expect(remote.code).toBe(local.code);
        expect(remote.exitCode).toBe(local.exitCode);
        expect(remote.exitCode).toBe(3);
      }
    }
    // And the line the plain openTar pass gives.
    const plain = await caughtError(
      withImage(reference, async (image) => {
        const layer = image.layers[0];
        const what = `layer 0 (${layer.descriptor.digest}) of ${reference}`;
        try {
          await normalizeLayer(await layer.openTar(), { ...normalize, reopen: () => layer.openTar() });
        } catch (error) {
          throw withContext(what, error);
        }
      }),
    );
    expect(plain.line).toMatch(expected);
    expect(liveLayerWorkers()).toBe(0);
  });
});
