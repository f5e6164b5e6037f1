// normalize --output docker://... pushes the normalized image; a rebuild that differs only in noise
// pushes no blob the second time, and verify sees the registry image as identical to the local copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { normalizeImage } from '../../src/app/normalize.js';
import { verifyImages } from '../../src/app/verify.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { skipWithoutTools } from '../helpers/real-tools.js';
import { TempDir } from '../helpers/images.js';

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

describe.skipIf(skipWithoutTools('docker-registry'))('normalize --output docker://', () => {
  let registry: RunningRegistry;
  let dir: TempDir;
  beforeAll(async () => {
    registry = await startRegistry();
    dir = await TempDir.create();
  });
  afterAll(async () => {
    await registry?.stop();
    await dir?.remove();
  });

  it('pushes the normalized image, whose manifest digest is the one printed; the rebuild sends no blob', async () => {
    const target = `docker://${registry.host}/hello:1`;
    const first = await normalizeImage({ source: example('build-a.tar'), normalize: defaultNormalizeOptions, output: target });
    expect(first.output?.format).toBe('registry');
    expect(first.output?.configDigest).toBe(first.canonicalDigest);
    expect(first.output?.blobs?.every((blob) => blob.action === 'uploaded')).toBe(true);

    const second = await normalizeImage({ source: example('build-b.tar'), normalize: defaultNormalizeOptions, output: target });
    expect(second.canonicalDigest).toBe(first.canonicalDigest);
    expect(second.output?.manifestDigest).toBe(first.output?.manifestDigest);
    expect(second.output?.blobs?.map((blob) => blob.action)).toEqual(second.output?.blobs?.map(() => 'present'));

    const local = `oci:${dir.join('layout')}:latest`;
    await normalizeImage({ source: example('build-b.tar'), normalize: defaultNormalizeOptions, output: local });
    const report = await verifyImages({ a: target, b: local, normalize: defaultNormalizeOptions });
    expect(report.verdict).toBe('identical');
    expect(report.a.manifestDigest).toBe(first.output?.manifestDigest);
  });
});
