/**
 * Images without layers (`FROM scratch` + `ENV`): Go-written Docker configs omit `rootfs.diff_ids`
 * (`"rootfs": {"type": "layers"}`), Go's OCI types write `null` or `[]`. Every spelling loads, in every
 * input form, normalizes to one canonical digest and is written again in every output format; a
 * config without the list whose manifest does list layers, or without rootfs, stays bad input.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeImage } from '../../src/app/normalize.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { loadImage } from '../../src/sources/index.js';
import { verifyImages } from '../../src/app/verify.js';
import { buildImage, TempDir, type BuiltImage } from '../helpers/images.js';
import { makeTar } from '../helpers/tar.js';
import { inputForms, withConfig, writeInForm } from '../helpers/noise.js';
import { caughtError } from '../helpers/errors.js';

let dir: TempDir;
let counter = 0;

/** FROM scratch + ENV a b, with the diff_ids spelled as given (`undefined`: no key, as Docker writes it). */
function scratchImage(diffIds: null | readonly [] | undefined, mediaTypes: 'oci' | 'docker'): BuiltImage {
  const image = buildImage({ layers: [], mediaTypes, config: { config: { Env: ['PATH=/usr/bin:/bin', 'a=b'] } } });
  return withConfig(image, (config) => {
    config.history = [{ created: '2024-01-02T03:04:05Z', created_by: '/bin/sh -c #(nop) ENV a b', empty_layer: true }];
    if (diffIds === undefined) delete config.rootfs.diff_ids;
    else config.rootfs.diff_ids = diffIds === null ? null : [];
  });
}

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-zero-layer-');
});
afterAll(async () => dir?.remove());

const spellings = [
  ['no diff_ids (Docker)', undefined, 'docker'],
  ['diff_ids null (Go OCI types)', null, 'oci'],
  ['diff_ids [] (OCI)', [], 'oci'],
] as const;

describe('zero-layer images load and normalize in every form', () => {
  it.each(inputForms)('%s: every spelling loads with no layers and one canonical digest', async (form) => {
    const digests = new Set<string>();
    for (const [, diffIds, mediaTypes] of spellings) {
      const ref = await writeInForm(dir, `scratch-${counter++}`, scratchImage(diffIds, mediaTypes), form);
      const image = await loadImage(ref);
      expect(image.layers).toEqual([]);
      await image.close();
      const result = await normalizeImage({ source: ref, normalize: defaultNormalizeOptions });
      expect(result.layers).toEqual([]);
      digests.add(result.canonicalDigest);
    }
    expect(digests.size).toBe(1);
  });

  it.each(['oci', 'oci-archive', 'docker-archive'] as const)('writes the normalized image as %s, which loads again with the same digest', async (format) => {
    const ref = await writeInForm(dir, `scratch-${counter++}`, scratchImage(undefined, 'docker'), 'docker-archive (legacy)');
    const out = join(dir.path, `out-${counter++}${format === 'oci' ? '' : '.tar'}`);
    const written = await normalizeImage({ source: ref, normalize: defaultNormalizeOptions, output: `${format}:${out}` });
    expect(written.output?.configDigest).toBe(written.canonicalDigest);
    const again = await normalizeImage({ source: `${format}:${out}`, normalize: defaultNormalizeOptions });
    expect(again.imageId).toBe(written.canonicalDigest);
    expect(again.canonicalDigest).toBe(written.canonicalDigest);
    expect(again.applied).toEqual([]);
  });
});

describe('zero-layer spellings stay bad input where they do not fit', () => {
  it.each(['docker-archive (legacy)', 'oci directory'] as const)('%s: no diff_ids but a layer in the manifest: exit 3', async (form) => {
    const layered = buildImage({ layers: [{ tar: await makeTar([{ name: 'a', content: 'a' }]) }], mediaTypes: form === 'oci directory' ? 'oci' : 'docker' });
    const noList = withConfig(layered, (config) => delete config.rootfs.diff_ids);
    const error = await caughtError(loadImage(await writeInForm(dir, `bad-${counter++}`, noList, form)));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('lists 1 layers but the config has no rootfs.diff_ids');
  });

  it.each([
    ['no rootfs', (config: Record<string, any>) => delete config.rootfs, 'no rootfs'],
    ['rootfs of another type without diff_ids', (config: Record<string, any>) => (config.rootfs = { type: 'other' }), 'no rootfs.diff_ids'],
    ['diff_ids that is not a list', (config: Record<string, any>) => (config.rootfs.diff_ids = 'sha256:x'), 'not a list'],
  ])('%s: exit 3', async (_what, edit, message) => {
    const error = await caughtError(loadImage(await writeInForm(dir, `bad-${counter++}`, withConfig(scratchImage([], 'oci'), edit), 'oci directory')));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain(message);
  });
});

describe('real buildah FROM scratch builds, checked in (test/fixtures/scratch-env)', () => {
  const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/scratch-env/${name}`, import.meta.url));

  it('a Docker-format build (no diff_ids) and an OCI-format build (diff_ids []) are reproducible', async () => {
    const report = await verifyImages({
      a: `docker-archive:${fixture('docker-a.tar')}`,
      b: `oci-archive:${fixture('oci-b.tar')}`,
      normalize: defaultNormalizeOptions,
      neutralizedLimit: Infinity,
    });
    expect(report.verdict).toBe('reproducible');
    expect(report.passed).toBe(true);
    expect(report.differences.filter((difference) => !difference.neutralized)).toEqual([]);
    const byPath = new Map(report.differences.map((difference) => [difference.path, difference.cause?.id]));
    expect(byPath.get('/rootfs/diff_ids')).toBe('format-conversion');
    expect(byPath.get('/container_config')).toBe('format-conversion');
    expect(byPath.get('/config/Tty')).toBe('format-conversion');
  });
});
