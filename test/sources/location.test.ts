/**
 * `Layer.location`: where a local source keeps a layer blob, so a worker thread can read it itself.
 * The range read straight from the file must be exactly the blob (its digest and size), in every
 * on-disk form, and sources that cannot give one give none.
 */
import { open } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobLocation, Image } from '../../src/image/image.js';
import { openLocation } from '../../src/sources/blob-store.js';
import { loadImage } from '../../src/sources/index.js';
import {
  buildImage,
  legacyDockerArchiveFiles,
  modernDockerArchiveFiles,
  singleImageLayout,
  TempDir,
  type BuiltImage,
} from '../helpers/images.js';
import { sha256Of } from '../helpers/digest.js';
import { makeTar } from '../helpers/tar.js';

let dir: TempDir;
let image: BuiltImage;

/** The range read with a plain positioned read, independent of openLocation. */
async function readRange(location: BlobLocation): Promise<Buffer> {
  const handle = await open(location.path, 'r');
  try {
    const bytes = Buffer.alloc(location.size);
    const { bytesRead } = await handle.read(bytes, 0, location.size, location.offset);
    expect(bytesRead).toBe(location.size);
    return bytes;
  } finally {
    await handle.close();
  }
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function withImage<T>(reference: string, use: (loaded: Image) => Promise<T>): Promise<T> {
  const loaded = await loadImage(reference);
  try {
    return await use(loaded);
  } finally {
    await loaded.close();
  }
}

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-location-');
  image = buildImage({
    layers: [
      { tar: await makeTar([{ name: 'etc/hello', content: 'hello\n' }]) },
      { tar: await makeTar([{ name: 'app/run.sh', content: '#!/bin/sh\necho hi\n'.repeat(500) }]), compression: 'none' },
    ],
  });
});
afterAll(async () => dir?.remove());

describe('Layer.location', () => {
  const forms: [string, () => Promise<string>, 'blob' | 'tar'][] = [
    ['oci directory', async () => `oci:${await dir.writeDirectory('layout', singleImageLayout(image))}`, 'blob'],
    ['oci-archive', async () => `oci-archive:${await dir.writeArchive('oci.tar', singleImageLayout(image))}`, 'blob'],
    ['docker-archive (Docker 25+)', async () => `docker-archive:${await dir.writeArchive('modern.tar', modernDockerArchiveFiles(image))}`, 'blob'],
    // Legacy archives store each layer as an uncompressed layer.tar, whose digest is its diff_id.
    ['docker-archive (legacy)', async () => `docker-archive:${await dir.writeArchive('legacy.tar', legacyDockerArchiveFiles(image))}`, 'tar'],
    ['docker-archive (legacy, symlinked layers)', async () => `docker-archive:${await dir.writeArchive('podman.tar', legacyDockerArchiveFiles(image, undefined, { symlinkLayers: true }))}`, 'tar'],
  ];

  it.each(forms)('%s: each layer range is exactly its blob', async (_form, write, stored) => {
    const reference = await write();
    await withImage(reference, async (loaded) => {
      expect(loaded.layers.length).toBe(image.layers.length);
      for (const layer of loaded.layers) {
        const built = image.layers[layer.index];
        const location = layer.location!;
        expect(location, `layer ${layer.index}`).toBeDefined();
        const expected = stored === 'blob' ? built.bytes : built.tar;
        expect(location.size).toBe(expected.length);
        const bytes = await readRange(location);
        expect(bytes.equals(expected)).toBe(true);
        expect(sha256Of(bytes)).toBe(layer.descriptor.digest);
        // openLocation reads the same range, nothing before or after it.
        expect((await collect(openLocation(location))).equals(expected)).toBe(true);
      }
    });
  });

  it('openLocation reads an empty range as empty, not the rest of the file', async () => {
    const path = dir.join('some-file');
    await import('node:fs/promises').then((fs) => fs.writeFile(path, 'abcdef'));
    expect((await collect(openLocation({ path, offset: 3, size: 0 }))).length).toBe(0);
    expect((await collect(openLocation({ path, offset: 2, size: 3 }))).toString()).toBe('cde');
  });

  it('a layer whose source verifies nothing, or that has no blob, offers no location', async () => {
    const { makeLayer } = await import('../../src/sources/assemble.js');
    const location = { path: '/nowhere', offset: 0, size: 1 };
    const descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256Of('x'), size: 1 };
    const open = async () => {
      throw new Error('not opened');
    };
    const spec = { descriptor, diffId: descriptor.digest, compression: 'none' as const, open, location };
    expect(makeLayer({ ...spec, foreign: false }, 0, 'x').location).toEqual(location);
    expect(makeLayer({ ...spec, foreign: true }, 0, 'x').location).toBeUndefined();
    expect(makeLayer({ ...spec, foreign: false, verifyBlob: false }, 0, 'x').location).toBeUndefined();
  });
});
