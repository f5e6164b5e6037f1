/** verify of two multi-platform indexes through the library: per-platform verdicts, one overall. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import { canonicalIndexDigest } from '../../src/normalize/canonical-index.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { isIndexReport, type IndexReport } from '../../src/report/index-model.js';
import type { Report } from '../../src/report/model.js';
import { listIndex } from '../../src/sources/index-listing.js';
import { verifyAny } from '../../src/app/verify-index.js';
import { buildIndex, indexLayout, layoutFiles, TempDir, singleImageLayout } from '../helpers/images.js';
import { sha256Of } from '../helpers/digest.js';
import { loadImage } from '../../src/sources/index.js';
import { indexPairNames, platformImage, writeIndexPair, type IndexPairName } from './index-fixtures.js';
import type { ImagePair } from './fixtures.js';

let dir: TempDir;
const pairs = {} as Record<IndexPairName, ImagePair>;
const at = (pair: ImagePair): ImagePair => ({ a: pair.a.replace(/:/, `:${dir.path}/`), b: pair.b.replace(/:/, `:${dir.path}/`) });

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-indexes-');
  for (const name of indexPairNames) pairs[name] = at(await writeIndexPair(dir, name));
});
afterAll(async () => dir?.remove());

async function verifyIndex(name: IndexPairName, fields: Partial<Parameters<typeof verifyAny>[0]> = {}): Promise<IndexReport> {
  const report = await verifyAny({ ...pairs[name], normalize: defaultNormalizeOptions, ...fields });
  expect(isIndexReport(report)).toBe(true);
  return report as IndexReport;
}

const summary = (report: IndexReport) => report.platforms.map(({ platform, presence, verdict, passed }) => ({ platform, presence, verdict, passed }));

describe('verify of two indexes without --platform', () => {
  it('gives one verdict per platform and the worst overall', async () => {
    const report = await verifyIndex('two-platform');
    expect(summary(report)).toEqual([
      { platform: 'linux/amd64', presence: 'both', verdict: 'reproducible', passed: true },
      { platform: 'linux/arm64', presence: 'both', verdict: 'not-reproducible', passed: false },
    ]);
    expect([report.verdict, report.passed]).toEqual(['not-reproducible', false]);
    expect(report.reason).toMatch(/^linux\/arm64: 3 differences remain after normalization/);
    // Each platform carries its whole single-image report, the file change explained there.
    const arm = report.platforms[1]!.report!;
    expect(arm.a.platform).toBe('linux/arm64/v8');
    expect(arm.differences.some((d) => d.file === 'app/build-info.txt' && d.attribute === 'content' && !d.neutralized)).toBe(true);
    expect(report.platforms[0]!.report!.a.platform).toBe('linux/amd64');
  });

  it('passes when every platform is reproducible, and the two canonical index digests are equal', async () => {
    const report = await verifyIndex('reproducible');
    expect(summary(report).map((p) => p.verdict)).toEqual(['reproducible', 'reproducible']);
    expect([report.verdict, report.passed]).toEqual(['reproducible', true]);
    expect(report.reason).toBe('all 2 platforms passed (linux/amd64 reproducible, linux/arm64 reproducible)');
    expect(report.a.indexDigest).not.toBe(report.b.indexDigest);
    expect(report.a.canonicalDigest).toBe(report.b.canonicalDigest);
    // The canonical index digest is the digest of the sorted per-platform canonical digests.
    const entries = report.platforms.map((p) => ({ platform: p.platform, canonicalDigest: p.canonicalDigest.a! }));
    expect(report.a.canonicalDigest).toBe(canonicalIndexDigest(entries));
    expect(canonicalIndexDigest([...entries].reverse())).toBe(report.a.canonicalDigest);
  });

  it('--strict fails an index whose platforms are only equal after normalization', async () => {
    const report = await verifyIndex('reproducible', { strict: true });
    expect([report.verdict, report.passed]).toEqual(['reproducible', false]);
  });

  it('fails on a platform present on one side only, naming it', async () => {
    const report = await verifyIndex('one-sided');
    expect(summary(report)).toEqual([
      { platform: 'linux/amd64', presence: 'both', verdict: 'reproducible', passed: true },
      { platform: 'linux/arm64', presence: 'a', verdict: 'not-reproducible', passed: false },
    ]);
    expect([report.verdict, report.passed]).toEqual(['not-reproducible', false]);
    expect(report.reason).toBe('only in A: linux/arm64');
    const arm = report.platforms[1]!;
    expect(arm.report).toBeNull();
    expect(arm.canonicalDigest.a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(arm.canonicalDigest.b).toBeNull();
    expect(report.b.indexMediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(report.a.canonicalDigest).not.toBe(report.b.canonicalDigest);
  });

  it('leaves attestation manifests out of the comparison and lists them marked', async () => {
    const report = await verifyIndex('attestation');
    expect(summary(report).map((p) => p.platform)).toEqual(['linux/amd64', 'linux/arm64']);
    expect([report.verdict, report.passed]).toEqual(['reproducible', true]);
    expect(report.a.manifests.map((m) => [m.platform, m.attestation])).toEqual([
      ['linux/amd64', false],
      ['linux/arm64/v8', false],
      ['unknown/unknown', true],
      ['unknown/unknown', true],
    ]);
  });

  it('the attestation pair differs before attestations are left out: their manifests differ', async () => {
    const [a, b] = await Promise.all([listIndex(pairs.attestation.a), listIndex(pairs.attestation.b)]);
    const attestations = (listing: typeof a) => listing!.manifests.filter((m) => m.attestation).map((m) => m.digest);
    expect(attestations(a)).toHaveLength(2);
    expect(attestations(a)).not.toEqual(attestations(b));
  });
});

describe('verify of indexes with --platform, and of one image against an index', () => {
  it('--platform gives the single-image report of that platform, as before', async () => {
    const report = (await verifyAny({ ...pairs['two-platform'], normalize: defaultNormalizeOptions, load: { platform: { os: 'linux', architecture: 'arm64' } } })) as Report;
    expect(isIndexReport(report)).toBe(false);
    expect([report.verdict, report.a.platform]).toEqual(['not-reproducible', 'linux/arm64/v8']);
    expect(report).not.toHaveProperty('kind');
  });

  it('one image against an index of two platforms is a usage error naming the platforms', async () => {
    await dir.writeArchive('single.tar', singleImageLayout(await platformImage('amd64', new Date('2024-03-01T10:00:00Z'))));
    const error = await verifyAny({ a: `oci-archive:${dir.join('single.tar')}`, b: pairs['two-platform'].b, normalize: defaultNormalizeOptions }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciReproError);
    expect((error as OciReproError).exitCode).toBe(2);
    expect((error as OciReproError).message).toContain('is an index of 2 platforms (linux/amd64, linux/arm64/v8): choose one with --platform');
  });

  it('one image against that platform of the index, with --platform, is compared', async () => {
    const report = (await verifyAny({
      a: `oci-archive:${dir.join('single.tar')}`,
      b: pairs['two-platform'].a,
      normalize: defaultNormalizeOptions,
      load: { platform: { os: 'linux', architecture: 'amd64' } },
    })) as Report;
    expect(report.verdict).toBe('identical');
  });
});

describe('indexes the whole-index path leaves alone or refuses', () => {
  it('an index naming one nested index is one image to the listing, and loads as before', async () => {
    const image = await platformImage('amd64', new Date('2024-03-01T10:00:00Z'));
    const inner = buildIndex([{ image, platform: { os: 'linux', architecture: 'amd64' } }]);
    const outerBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: inner.mediaType, manifests: [{ mediaType: inner.mediaType, digest: inner.digest, size: inner.bytes.length }] }));
    const outerBlob = { digest: sha256Of(outerBytes), bytes: outerBytes, mediaType: inner.mediaType };
    const path = await dir.writeArchive('nested.tar', layoutFiles({ manifests: [{ blob: outerBlob, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }], blobs: [...inner.blobs, inner] }));
    expect(await listIndex(`oci-archive:${path}`)).toBeUndefined();
    const loaded = await loadImage(`oci-archive:${path}`);
    expect(loaded.config.digest).toBe(image.config.digest);
    await loaded.close();
  });

  it('an index listing one platform twice is refused (exit 3), naming it', async () => {
    const one = await platformImage('amd64', new Date('2024-03-01T10:00:00Z'));
    const two = await platformImage('amd64', new Date('2024-03-02T10:00:00Z'));
    const platform = { os: 'linux', architecture: 'amd64' };
    const path = await dir.writeArchive('twice.tar', indexLayout([{ image: one, platform }, { image: two, platform }]));
    const error = await verifyAny({ a: `oci-archive:${path}`, b: `oci-archive:${path}`, normalize: defaultNormalizeOptions }).catch((e: unknown) => e);
    expect((error as OciReproError).exitCode).toBe(3);
    expect((error as OciReproError).message).toContain('lists platform linux/amd64 twice');
  });
});

describe('verify IDX --expect: the canonical index digest', () => {
  it('matches the other build of the index, and differs from an index whose platform changed', async () => {
    const { verifyAnyExpectation, isIndexExpectReport } = await import('../../src/app/expect-index.js');
    const recorded = await verifyIndex('reproducible');
    const expectation = { canonicalDigest: recorded.a.canonicalDigest!, source: 'argument' };
    const same = await verifyAnyExpectation(pairs.reproducible.b, expectation, { normalize: defaultNormalizeOptions });
    expect(isIndexExpectReport(same)).toBe(true);
    expect([same.verdict, same.passed]).toEqual(['matches', true]);
    const changed = await verifyAnyExpectation(pairs['two-platform'].b, expectation, { normalize: defaultNormalizeOptions });
    expect([changed.verdict, changed.passed]).toEqual(['differs', false]);
    expect(changed.reason).toContain('has canonical index digest');
  });

  it('reads the expected digest from a recorded index report (its A side)', async () => {
    const { writeFile } = await import('node:fs/promises');
    const { parseExpectation } = await import('../../src/gate/expect.js');
    const recorded = await verifyIndex('reproducible');
    await writeFile(dir.join('index-report.json'), JSON.stringify(recorded));
    expect((await parseExpectation(dir.join('index-report.json'))).canonicalDigest).toBe(recorded.a.canonicalDigest);
  });
});

describe('bad input inside one platform of an index', () => {
  it('a truncated layer of linux/arm64: exit 3, the error names the platform, the layer and the file', async () => {
    const { writeFile, readFile } = await import('node:fs/promises');
    const good = await platformImage('amd64', new Date('2024-03-01T10:00:00Z'));
    const bad = await platformImage('arm64', new Date('2024-03-01T10:00:00Z'));
    const layer = bad.layers[0]!;
    const root = await dir.writeDirectory('truncated', indexLayout([
      { image: good, platform: { os: 'linux', architecture: 'amd64' } },
      { image: bad, platform: { os: 'linux', architecture: 'arm64' } },
    ]));
    const blob = `${root}/blobs/sha256/${layer.digest.slice('sha256:'.length)}`;
    await writeFile(blob, (await readFile(blob)).subarray(0, 40));
    // verifyBlobs: the layer has the diff_id of B's, so by default it would not be read at all.
    const request = { a: `oci:${root}`, b: pairs['two-platform'].a, normalize: defaultNormalizeOptions, verifyBlobs: true };
    const error = (await verifyAny(request).catch((e: unknown) => e)) as OciReproError;
    expect(error).toBeInstanceOf(OciReproError);
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(/^platform linux\/arm64: .*layer 0 \(sha256:[0-9a-f]{64}\) of oci:/);
    expect(error.message.split('\n')).toHaveLength(1);
  });
});
