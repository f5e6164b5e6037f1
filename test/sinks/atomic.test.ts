import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImage } from '../../src/sources/index.js';
import type { OutputImage } from '../../src/sinks/output-image.js';
import { writeImage } from '../../src/sinks/write.js';
import { TempDir } from '../helpers/images.js';
import { buildFixture } from './fixture.js';
import { caughtError } from '../helpers/errors.js';

let dir: TempDir;
let image: OutputImage;

beforeAll(async () => {
  dir = await TempDir.create();
  image = (await buildFixture(dir.path)).image;
});
afterAll(async () => dir.remove());

let counter = 0;
/** An empty directory to write into: after a failure it must still be empty. */
async function freshParent(): Promise<string> {
  const parent = dir.join(`out-${counter++}`);
  await mkdir(parent);
  return parent;
}

/** The image with layer 1 (written after layer 0) replaced. */
function withSecondLayer(change: Partial<OutputImage['layers'][number]>): OutputImage {
  return { ...image, layers: image.layers.map((layer, i) => (i === 1 ? { ...layer, ...change } : layer)) };
}

const destinations = [
  ['oci', (parent: string) => `oci:${join(parent, 'layout')}:v1`],
  ['oci-archive', (parent: string) => `oci-archive:${join(parent, 'image.tar')}:v1`],
  ['docker-archive', (parent: string) => `docker-archive:${join(parent, 'image.tar')}:app:1`],
] as const;

describe('a failure mid-write leaves nothing at the destination or beside it', () => {
  for (const [format, destination] of destinations) {
    it(`${format}: a layer file that does not exist`, async () => {
      const parent = await freshParent();
      const missing = join(dir.path, 'no-such-layer.tar.gz');
      const error = await caughtError(writeImage(destination(parent), withSecondLayer({ path: missing })));
      expect(error.exitCode).toBe(4);
      expect(error.message).toContain(`writing ${destination(parent)}: layer 1 (${image.layers[1].digest}): reading ${missing}`);
      expect(await readdir(parent)).toEqual([]);
    });

    it(`${format}: a layer file whose bytes are not its digest`, async () => {
      const parent = await freshParent();
      const original = await readFile(image.layers[1].path!);
      const tampered = join(dir.path, `tampered-${counter}.tar.gz`);
      const bytes = Buffer.from(original);
      bytes[bytes.length - 1] ^= 0xff;
      await writeFile(tampered, bytes);
      const error = await caughtError(writeImage(destination(parent), withSecondLayer({ path: tampered })));
      expect(error.code).toBe('DIGEST_MISMATCH');
      expect(error.message).toMatch(/layer 1 .* hashes to sha256:[0-9a-f]{64}, its descriptor says/);
      expect(await readdir(parent)).toEqual([]);
    });

    it(`${format}: a layer file longer or shorter than its size`, async () => {
      const original = await readFile(image.layers[1].path!);
      for (const bytes of [Buffer.concat([original, Buffer.from('more')]), original.subarray(0, original.length - 1)]) {
        const parent = await freshParent();
        const wrong = join(dir.path, `wrong-size-${counter}-${bytes.length}.tar.gz`);
        await writeFile(wrong, bytes);
        const error = await caughtError(writeImage(destination(parent), withSecondLayer({ path: wrong })));
        expect(error.code).toBe('DIGEST_MISMATCH');
        expect(error.message).toMatch(/bytes, its descriptor says \d+/);
        expect(await readdir(parent)).toEqual([]);
      }
    });

    it(`${format}: a temporary layer file (linked into a layout) longer or shorter than its size`, async () => {
      const original = await readFile(image.layers[1].path!);
      for (const bytes of [Buffer.concat([original, Buffer.from('more')]), original.subarray(0, original.length - 1)]) {
        const parent = await freshParent();
        const wrong = join(dir.path, `wrong-size-temporary-${counter}-${bytes.length}.tar.gz`);
        await writeFile(wrong, bytes);
        const error = await caughtError(writeImage(destination(parent), withSecondLayer({ path: wrong, temporary: true })));
        expect(error.code).toBe('DIGEST_MISMATCH');
        expect(error.message).toMatch(/bytes, its descriptor says \d+/);
        expect(await readdir(parent)).toEqual([]);
      }
    });

    it(`${format}: a read stream that errors (the layer path is a directory)`, async () => {
      const parent = await freshParent();
      const error = await caughtError(writeImage(destination(parent), withSecondLayer({ path: dir.path })));
      expect(error.message).toContain(`reading ${dir.path}`);
      expect(await readdir(parent)).toEqual([]);
    });

    it(`${format}: a failed overwrite keeps the previous output intact`, async () => {
      const parent = await freshParent();
      const { reference } = await writeImage(destination(parent), image);
      const before = await readdir(parent);
      const broken = withSecondLayer({ path: join(dir.path, 'no-such-layer.tar.gz') });
      await caughtError(writeImage(destination(parent), broken, { overwrite: true }));
      expect(await readdir(parent)).toEqual(before);
      const loaded = await loadImage(reference);
      expect(loaded.manifest?.digest).toBe(image.manifest.digest);
      await loaded.close();
    });
  }

  it('an inconsistent image is refused before anything is written (internal error)', async () => {
    const parent = await freshParent();
    const cases: [OutputImage, RegExp][] = [
      [{ ...image, layers: image.layers.slice(1) }, /manifest lists 2 layers, the image has 1/],
      [{ ...image, config: { ...image.config, digest: image.layers[0].digest } }, /config bytes hash to/],
      [withSecondLayer({ diffId: image.layers[0].diffId }), /layer 1 diff_id .* is not rootfs.diff_ids\[1\]/],
      [withSecondLayer({ path: undefined }), /layer 1 has no bytes and no path, but .* is not a foreign layer type/],
      [withSecondLayer({ bytes: Buffer.from('x') }), /layer 1 has both bytes and a path/],
      [{ ...image, manifest: { ...image.manifest, bytes: Buffer.from('{}') } }, /manifest is 2 bytes but its size says/],
    ];
    for (const [broken, message] of cases) {
      const error = await caughtError(writeImage(`oci:${join(parent, 'layout')}`, broken));
      expect(error.exitCode).toBe(70);
      expect(error.message).toMatch(message);
    }
    expect(await readdir(parent)).toEqual([]);
  });
});
