/**
 * Identical is instant (issue 12): verify decides two images with the same manifest or config digest,
 * and every layer pair with equal diff_ids, from the digests, without reading those layers. Proved
 * through the CLI with copies whose layer blobs are corrupt (a gzip header byte changed: the blob still
 * inflates to the same tar, but its digest no longer matches), so any read of them fails (exit 3);
 * --verify-blobs reads them anyway.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexReport } from '../../src/report/index-model.js';
import type { Report } from '../../src/report/model.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { buildImage, indexLayout, legacyDockerArchiveFiles, singleImageLayout, TempDir, type BuiltImage } from '../helpers/images.js';
import { withConfig } from '../helpers/noise.js';
import { validateReport } from '../helpers/report-schema.js';
import { buildTar, type TestEntry } from '../helpers/tar.js';
import { gzipWith } from './fixtures.js';
import { platformImage } from './index-fixtures.js';

// Each test spawns the CLI up to three times (about a second of start-up each, more on a busy machine).
const T = { timeout: 120_000 };
const sourceTime = new Date('2024-01-15T08:00:00Z');
const base: TestEntry[] = [
  { name: 'etc/', mtime: sourceTime },
  { name: 'etc/os-release', content: 'ID=example\n', mtime: sourceTime },
];
const app = (mtime: Date): TestEntry[] => [
  { name: 'opt/', mtime },
  { name: 'opt/app.conf', content: 'workers 4\n', mtime },
];

async function image(appTime: Date, extra: TestEntry[][] = []): Promise<BuiltImage> {
  const layers = [base, app(appTime), ...extra];
  return buildImage({ layers: await Promise.all(layers.map(async (entries) => ({ tar: await buildTar(entries) }))) }, gzipWith());
}

let dir: TempDir;
const built: Record<string, BuiltImage> = {};

/** Writes `image` as an OCI layout `name`, the blobs of `corrupt` layers with another gzip MTIME. */
async function writeLayout(name: string, image: BuiltImage, corrupt: number[] = []): Promise<string> {
  const root = await dir.writeDirectory(name, singleImageLayout(image));
  for (const index of corrupt) await corruptBlob(root, image.layers[index]!.digest);
  return `oci:${name}`;
}

async function corruptBlob(root: string, digest: string): Promise<void> {
  const path = `${root}/blobs/sha256/${digest.slice('sha256:'.length)}`;
  const bytes = await readFile(path);
  bytes[4] = (bytes[4]! + 1) & 0xff;
  await writeFile(path, bytes);
}

const verify = (args: string[]) => runCli(['verify', ...args], { cwd: dir.path });

function jsonReport<T = Report>(run: CliRun, code: number): T {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(code);
  return JSON.parse(run.stdout) as T;
}

/** A digest mismatch on reading layer `index` of `reference`: one line, exit 3. */
function expectDigestError(run: CliRun, index: number, reference: string): void {
  expect(run.code).toBe(3);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^oci-repro: error: [^\n]+\n$/);
  expect(run.stderr).toContain(`layer ${index} (sha256:`);
  expect(run.stderr).toContain(`of ${reference}`);
  expect(run.stderr).toContain('digest mismatch');
}

const canonicalDiffIds = (report: Report) => report.layers.map((layer) => [layer.a?.canonicalDiffId, layer.b?.canonicalDiffId]);

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-identical-');
  built.a = await image(sourceTime);
  // The app layer of another build: other mtimes, the same files (equal after normalization).
  built.rebuilt = await image(new Date('2024-03-02T11:30:00Z'));
  built.three = await image(sourceTime, [[{ name: 'srv/', mtime: sourceTime }]]);
  built.dated = withConfig(built.a, (config) => {
    config.created = '2024-03-02T11:30:00Z';
  });
  await writeLayout('a', built.a);
  await writeLayout('a-corrupt', built.a, [0, 1]);
  await writeLayout('a-corrupt-0', built.a, [0]);
  await writeLayout('a-corrupt-1', built.a, [1]);
  await writeLayout('dated', built.dated);
  await writeLayout('dated-corrupt', built.dated, [0, 1]);
  await writeLayout('rebuilt', built.rebuilt);
  await writeLayout('three', built.three);
  await dir.writeArchive('a-docker.tar', legacyDockerArchiveFiles(built.a, ['example/app:1.0']));
});
afterAll(async () => dir?.remove());

describe('two images with the same manifest digest', () => {
  it('are identical without reading a layer: verify A A of an image with corrupt layer blobs passes', T, async () => {
    const report = jsonReport(await verify(['oci:a-corrupt', 'oci:a-corrupt', '--json']), 0);
    expect(report.verdict).toBe('identical');
    expect(report.reason).toBe('the images are identical (same manifest digest; layers not read)');
    expect([report.a.canonicalDigest, report.b.canonicalDigest]).toEqual([null, null]);
    expect(canonicalDiffIds(report)).toEqual([
      [null, null],
      [null, null],
    ]);
    expect(report.layers.map((layer) => layer.status)).toEqual(['identical', 'identical']);
    expect(report.differences).toEqual([]);
    expect(validateReport(report)).toEqual([]);
  });

  it('--verify-blobs reads every layer of both images: a corrupt blob is a digest mismatch (exit 3)', T, async () => {
    expectDigestError(await verify(['oci:a-corrupt', 'oci:a-corrupt', '--verify-blobs']), 0, 'oci:a-corrupt');
    // Also B's own blobs, though A has the same layers intact.
    expectDigestError(await verify(['oci:a', 'oci:a-corrupt', '--verify-blobs']), 0, 'oci:a-corrupt');
  });

  it('--verify-blobs on intact blobs computes the canonical digests, and the reason names the digest', T, async () => {
    const report = jsonReport(await verify(['oci:a', 'oci:a', '--json', '--verify-blobs']), 0);
    expect(report.reason).toBe('the images are identical (same manifest digest)');
    expect(report.a.canonicalDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(report.b.canonicalDigest).toBe(report.a.canonicalDigest);
    for (const [a, b] of canonicalDiffIds(report)) {
      expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(b).toBe(a);
    }
    expect(validateReport(report)).toEqual([]);
  });

  it('the text and markdown reports say the canonical digests were not computed', T, async () => {
    const text = await verify(['oci:a-corrupt', 'oci:a-corrupt']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^oci-repro verify: IDENTICAL, gate passed\n  the images are identical \(same manifest digest; layers not read\)\n/);
    expect(text.stdout).toMatch(/\n {2}canonical digest {5}not computed \(see --verify-blobs\) {2}same\n/);
    expect(text.stdout.match(/\n {4}canonical diff_id {2}not computed \(same diff_id, not read\) {2}same\n/g)).toHaveLength(2);
    const markdown = await verify(['oci:a-corrupt', 'oci:a-corrupt', '--format', 'markdown']);
    expect(markdown.stdout).toContain('| canonical digest | not computed | | same; layers with equal diff_ids were not read (`--verify-blobs` reads them) |');
  });
});

describe('one image in two formats (the same config digest, other manifests)', () => {
  it('is identical without reading a layer: OCI layout with corrupt blobs against a legacy docker-archive', T, async () => {
    const report = jsonReport(await verify(['oci:a-corrupt', 'docker-archive:a-docker.tar', '--json']), 0);
    expect(report.verdict).toBe('identical');
    expect(report.reason).toBe('the images are identical (same image ID; layers not read)');
    expect(report.a.imageId).toBe(report.b.imageId);
    expect(report.a.manifestDigest).not.toBe(report.b.manifestDigest);
    // Gzip against an uncompressed tar: the same diff_ids, other blobs.
    expect(report.layers.map((layer) => layer.status)).toEqual(['compression', 'compression']);
    expect([report.a.canonicalDigest, report.b.canonicalDigest]).toEqual([null, null]);
    expect(validateReport(report)).toEqual([]);
  });

  it('--verify-blobs reads them: exit 3', T, async () => {
    expectDigestError(await verify(['oci:a-corrupt', 'docker-archive:a-docker.tar', '--verify-blobs']), 0, 'oci:a-corrupt');
  });
});

describe('layer pairs with equal diff_ids', () => {
  it('only the config date differs: reproducible without reading a layer', T, async () => {
    const report = jsonReport(await verify(['oci:a-corrupt', 'oci:dated-corrupt', '--json']), 0);
    expect(report.verdict).toBe('reproducible');
    expect(report.a.imageId).not.toBe(report.b.imageId);
    expect(report.differences.map((difference) => [difference.path, difference.neutralized])).toEqual([['/created', true]]);
    expect([report.a.canonicalDigest, report.b.canonicalDigest]).toEqual([null, null]);
    expect(validateReport(report)).toEqual([]);
    expectDigestError(await verify(['oci:dated', 'oci:dated-corrupt', '--verify-blobs']), 0, 'oci:dated-corrupt');
  });

  it('are not read while the other pairs are: layer 0 corrupt passes, layer 1 corrupt fails', T, async () => {
    const report = jsonReport(await verify(['oci:a-corrupt-0', 'oci:rebuilt', '--json']), 0);
    expect(report.verdict).toBe('reproducible');
    expect(report.layers.map((layer) => layer.status)).toEqual(['identical', 'tar']);
    const [unread, read] = canonicalDiffIds(report);
    expect(unread).toEqual([null, null]);
    expect(read![0]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(read![1]).toBe(read![0]);
    // Layer 1 was read and compared file by file.
    expect(report.differences.some((difference) => difference.layer === 1 && difference.attribute === 'mtime')).toBe(true);
    expect([report.a.canonicalDigest, report.b.canonicalDigest]).toEqual([null, null]);
    expect(validateReport(report)).toEqual([]);

    expectDigestError(await verify(['oci:a-corrupt-1', 'oci:rebuilt']), 1, 'oci:a-corrupt-1');
  });

  it('a not reproducible pair still marks the canonical digest as where the chain breaks', T, async () => {
    const changed = withConfig(built.a, (config) => {
      config.config = { Env: ['PATH=/bin'] };
    });
    await writeLayout('changed', changed);
    const run = await verify(['oci:a-corrupt', 'oci:changed']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/\n {2}canonical digest {5}not computed \(see --verify-blobs\) {2}differs {2}<- the chain breaks here\n/);
  });

  it('different layer counts read every layer (the flattened comparison needs both tables)', T, async () => {
    expectDigestError(await verify(['oci:a-corrupt-0', 'oci:three']), 0, 'oci:a-corrupt-0');
  });
});

describe('two indexes', () => {
  it('platform pairs with the same manifest digest are identical without reading; the canonical index digest is not computed', T, async () => {
    const clock = new Date('2024-03-01T10:00:00Z');
    const amd64 = await platformImage('amd64', clock);
    const arm64 = await platformImage('arm64', clock);
    const entries = [
      { image: amd64, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm64, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ];
    await dir.writeDirectory('index', indexLayout(entries));
    const corrupt = await dir.writeDirectory('index-corrupt', indexLayout(entries));
    await corruptBlob(corrupt, arm64.layers[0]!.digest);

    const report = jsonReport<IndexReport>(await verify(['oci:index-corrupt', 'oci:index', '--json']), 0);
    expect(report.platforms.map((platform) => [platform.platform, platform.verdict, platform.canonicalDigest])).toEqual([
      ['linux/amd64', 'identical', { a: null, b: null }],
      ['linux/arm64', 'identical', { a: null, b: null }],
    ]);
    expect([report.a.canonicalDigest, report.b.canonicalDigest]).toEqual([null, null]);
    expect(validateReport(report)).toEqual([]);
    const text = await verify(['oci:index-corrupt', 'oci:index']);
    expect(text.stdout).toMatch(/\n {2}canonical index {4}not computed {9}not computed\n/);

    const checked = await verify(['oci:index', 'oci:index-corrupt', '--verify-blobs']);
    expect(checked.code).toBe(3);
    expect(checked.stderr).toMatch(/^oci-repro: error: platform linux\/arm64: .*digest mismatch/);
  });
});
