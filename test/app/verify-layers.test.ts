/**
 * verify's two rounds of layer passes (app/verify-layers.ts): no per-file content hash where the
 * canonical diff_ids are equal, a second pass with digests where they differ, and the same
 * content differences, with their diffs, as a single pass with digests gave.
 */
import { createHash as realCreateHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { verifyImages } from '../../src/app/verify.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { buildTar, shuffled, withMtimes, type TestEntry } from '../helpers/tar.js';

// Every sha256 the run starts, per-file content hashes included, and every layer pass's options.
const seen = vi.hoisted(() => ({ hashes: 0, passes: [] as { what: string; contentDigests: boolean | undefined }[] }));
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
    seen.passes.push({ what: task.what, contentDigests: task.contentDigests });
    return actual.runLayerPass(task, openBlob);
  };
  return { ...actual, runLayerPass };
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

describe('verify reads in two rounds', () => {
  let dir: TempDir;
  const refs: Record<'a' | 'reproducible' | 'changed', string> = { a: '', reproducible: '', changed: '' };

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
  });
  afterAll(async () => dir?.remove());
  beforeEach(() => {
    seen.hashes = 0;
    seen.passes = [];
  });

  const verify = (b: string) => verifyImages({ a: refs.a, b, normalize: defaultNormalizeOptions, neutralizedLimit: Infinity });

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
    expect(second.map((pass) => pass.what.replace(/ \(.*\) of .*\//, ' of '))).toEqual(['layer 2 of a', 'layer 2 of changed']);
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
  });
});
