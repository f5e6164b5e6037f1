/**
 * normalize of a whole multi-platform index through the library: one canonical digest per platform
 * (the same as `--platform` gives), the canonical index digest, attestations dropped, and --output
 * writing an OCI image index that our loader, skopeo (`inspect --raw`, `copy --all`, a platform picked
 * with --override-arch) and umoci read.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import { canonicalIndexDigest } from '../../src/normalize/canonical-index.js';
import { normalizeAny, type NormalizeIndexResult } from '../../src/app/normalize-index.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { normalizeImage, type NormalizeResult } from '../../src/app/normalize.js';
import { listIndex } from '../../src/sources/index-listing.js';
import { loadImage } from '../../src/sources/index.js';
import { TempDir } from '../helpers/images.js';
import { runTool, skipWithoutTools, skopeoCopy, skopeoInspectRaw, umociUnpack } from '../helpers/real-tools.js';
import { writeIndexPair } from '../app/index-fixtures.js';

const T = { timeout: 60_000 };
let dir: TempDir;
let a: string;
let b: string;

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-index-output-');
  // The attestation pair: two builds of two platforms, each index with two attestation manifests.
  const pair = await writeIndexPair(dir, 'attestation');
  a = pair.a.replace(':', `:${dir.path}/`);
  b = pair.b.replace(':', `:${dir.path}/`);
});
afterAll(async () => dir?.remove());

const normalize = async (source: string, fields: Partial<Parameters<typeof normalizeAny>[0]> = {}) =>
  (await normalizeAny({ source, normalize: defaultNormalizeOptions, ...fields })) as NormalizeIndexResult;

describe('normalize of an index without --platform', () => {
  it('gives each platform the canonical digest --platform gives, and the canonical index digest of them', T, async () => {
    const result = await normalize(a);
    expect(result.kind).toBe('index');
    expect(result.platforms.map((p) => p.platform)).toEqual(['linux/amd64', 'linux/arm64']);
    for (const { platform, result: one } of result.platforms) {
      const [os, architecture] = platform.split('/') as [string, string];
      const alone = await normalizeImage({ source: a, normalize: defaultNormalizeOptions, load: { platform: { os, architecture } } });
      expect(one.canonicalDigest).toBe(alone.canonicalDigest);
    }
    expect(result.canonicalDigest).toBe(canonicalIndexDigest(result.platforms.map((p) => ({ platform: p.platform, canonicalDigest: p.result.canonicalDigest }))));
    expect(result.dropped.map((d) => d.reason)).toEqual(['attestation', 'attestation']);
    expect(result.output).toBeNull();
  });

  it('two builds that differ in noise differ in index digest before and match in canonical index digest after', T, async () => {
    const [listA, listB] = await Promise.all([listIndex(a), listIndex(b)]);
    expect(listA!.digest).not.toBe(listB!.digest);
    const [ra, rb] = await Promise.all([normalize(a), normalize(b)]);
    expect(ra.canonicalDigest).toBe(rb.canonicalDigest);
  });

  it('--platform still gives one image', T, async () => {
    const result = (await normalizeAny({ source: a, normalize: defaultNormalizeOptions, load: { platform: { os: 'linux', architecture: 'amd64' } } })) as NormalizeResult;
    expect(result).not.toHaveProperty('kind');
    expect(result.canonicalDigest).toMatch(/^sha256:/);
  });

  it('refuses a docker-archive destination before reading a layer, writing nothing', T, async () => {
    const out = dir.join('refused.tar');
    const error = await normalize(a, { output: `docker-archive:${out}` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciReproError);
    expect((error as OciReproError).exitCode).toBe(2);
    expect((error as OciReproError).message).toContain('a docker-archive cannot hold a multi-platform index');
    expect((await readdir(dir.path)).filter((name) => name.startsWith('refused') || name.startsWith('.oci-repro-'))).toEqual([]);
  });
});

describe.each(['oci', 'oci-archive'] as const)('normalize --output %s: of an index', (format) => {
  let result: NormalizeIndexResult;
  let out: string;
  beforeAll(async () => {
    out = dir.join(`normalized-${format}${format === 'oci' ? '' : '.tar'}`);
    result = await normalize(a, { output: `${format}:${out}:v1` });
  }, 60_000);

  it('writes an OCI image index listing each normalized manifest with its platform, attestations gone', T, async () => {
    expect(result.output).toMatchObject({ reference: `${format}:${out}:v1`, format, mediaType: 'application/vnd.oci.image.index.v1+json' });
    const listing = (await listIndex(`${format}:${out}:v1`))!;
    expect(listing.digest).toBe(result.output!.indexDigest);
    expect(listing.manifests.map((m) => [m.platform, m.digest, m.attestation])).toEqual(
      result.platforms.map((p) => [p.platform === 'linux/arm64' ? 'linux/arm64/v8' : p.platform, p.result.output!.manifestDigest, false]),
    );
  });

  it('each platform loads back with its canonical digest as image ID, and normalizing the output changes nothing', T, async () => {
    for (const { platform, result: one } of result.platforms) {
      const [os, architecture] = platform.split('/') as [string, string];
      const image = await loadImage(`${format}:${out}:v1`, { platform: { os, architecture } });
      expect(image.config.digest).toBe(one.canonicalDigest);
      expect(image.manifest!.digest).toBe(one.output!.manifestDigest);
      await image.close();
    }
    expect((await normalize(`${format}:${out}:v1`)).canonicalDigest).toBe(result.canonicalDigest);
  });

  it('the same input twice gives the same bytes', T, async () => {
    const again = await normalize(a, { output: `${format}:${out}-again${format === 'oci' ? '' : '.tar'}:v1` });
    expect(again.output!.indexDigest).toBe(result.output!.indexDigest);
  });
});

describe.skipIf(skipWithoutTools('skopeo', 'umoci'))('skopeo and umoci read a normalized index', () => {
  let out: string;
  let result: NormalizeIndexResult;
  beforeAll(async () => {
    out = dir.join('for-skopeo');
    result = await normalize(b, { output: `oci:${out}:v1` });
  }, 60_000);

  it('skopeo inspect --raw gives our index bytes', T, async () => {
    const raw = await skopeoInspectRaw(`oci:${out}:v1`);
    const bytes = await readFile(join(out, 'blobs', 'sha256', result.output!.indexDigest.slice('sha256:'.length)));
    expect(raw.bytes.equals(bytes)).toBe(true);
    expect(raw.json.manifests?.map((m) => m.platform?.architecture)).toEqual(['amd64', 'arm64']);
  });

  it('skopeo copy --all copies every platform, and the copy has the same canonical index digest', T, async () => {
    const copy = dir.join('skopeo-copy');
    await skopeoCopy(`oci:${out}:v1`, `oci:${copy}:v1`, ['--all']);
    const raw = await skopeoInspectRaw(`oci:${copy}:v1`);
    expect(raw.json.manifests).toHaveLength(2);
    expect((await normalize(`oci:${copy}:v1`)).canonicalDigest).toBe(result.canonicalDigest);
  });

  it('umoci cannot unpack an index (tag is ambiguous), but unpacks the platform skopeo picks from it', T, async () => {
    await expect(runTool('umoci', ['stat', '--image', `${out}:v1`])).rejects.toThrow(/ambiguous/);
    const arm = dir.join('arm64-only');
    await skopeoCopy(`oci:${out}:v1`, `oci:${arm}:v1`, ['--override-arch', 'arm64', '--override-variant', 'v8']);
    const { rootfs } = await umociUnpack(arm, 'v1', dir.join('arm64-bundle'));
    expect(await readFile(join(rootfs, 'app', 'arch.txt'), 'utf8')).toBe('built for arm64\n');
  });
});
