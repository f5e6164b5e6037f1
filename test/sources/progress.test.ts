import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobProgressEvent, ImageProgressEvent, ProgressEvent } from '../../src/image/progress.js';
import { loadImage } from '../../src/sources/index.js';
import { buildImage, legacyDockerArchiveFiles, singleImageLayout, TempDir, type BuiltImage } from '../helpers/images.js';
import { sha256OfStream } from '../helpers/digest.js';
import { makeTar } from '../helpers/tar.js';

let dir: TempDir;
let image: BuiltImage;

beforeAll(async () => {
  dir = await TempDir.create();
  // Big enough for many chunks: the counts must add up across them, not just arrive once.
  const noise = Buffer.alloc(3 << 20);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  image = buildImage({
    layers: [
      { tar: await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', content: 'hello\n' }]) },
      { tar: await makeTar([{ name: 'data.bin', content: noise }]), compression: 'none' },
    ],
  });
});
afterAll(async () => dir.remove());

const blobEvents = (events: ProgressEvent[]) => events.filter((event): event is BlobProgressEvent => event.kind === 'blob');

/** The last event of each read: what the read came to. */
function finalReads(events: ProgressEvent[]): BlobProgressEvent[] {
  const last = new Map<number, BlobProgressEvent>();
  for (const event of blobEvents(events)) last.set(event.read, event);
  return [...last.values()];
}

describe('loadImage with onProgress', () => {
  const forms: [string, () => Promise<string>][] = [
    ['oci-archive', async () => `oci-archive:${await dir.writeArchive('image.oci.tar', singleImageLayout(image))}`],
    ['oci directory', async () => `oci:${await dir.writeDirectory('layout', singleImageLayout(image))}`],
    ['legacy docker-archive', async () => `docker-archive:${await dir.writeArchive('legacy.tar', legacyDockerArchiveFiles(image))}`],
  ];

  for (const [name, make] of forms) {
    it(`${name}: announces the image with its blob sizes, then counts every blob byte read`, async () => {
      const events: ProgressEvent[] = [];
      const loaded = await loadImage(await make(), { onProgress: (event) => events.push(event) });
      const announced = events[0] as ImageProgressEvent;
      expect(events).toHaveLength(1);
      expect(announced.kind).toBe('image');
      expect(announced.layers).toEqual(loaded.layers.map((layer) => ({ index: layer.index, digest: layer.descriptor.digest, size: layer.descriptor.size })));
      // The blobs as built (a legacy docker save stores its layers as uncompressed tars).
      const stored = image.layers.map((layer) => (name.startsWith('legacy') ? layer.tar : layer.bytes).length);
      expect(announced.layers.map((layer) => layer.size)).toEqual(stored);

      for (const layer of loaded.layers) expect(await sha256OfStream(await layer.openBlob())).toBe(layer.descriptor.digest);
      const reads = finalReads(events);
      expect(reads.map((read) => [read.layer, read.done, read.ended])).toEqual(loaded.layers.map((layer) => [layer.index, layer.descriptor.size, true]));
      // Every event of a read belongs to its image and blob, and counts only grow.
      for (const event of blobEvents(events)) {
        expect(event.image).toBe(announced.image);
        expect(event.size).toBe(loaded.layers[event.layer]!.descriptor.size);
        expect(event.done).toBeLessThanOrEqual(event.size);
      }
      // The 3 MiB blob came in many chunks but was reported a bounded number of times.
      const big = blobEvents(events).filter((event) => event.layer === 1);
      expect(big.length).toBeLessThan(40);
    });
  }

  it('a tar read is a blob read: openTar counts the blob bytes under a new read number', async () => {
    const events: ProgressEvent[] = [];
    const loaded = await loadImage(`oci-archive:${await dir.writeArchive('tar-read.tar', singleImageLayout(image))}`, { onProgress: (event) => events.push(event) });
    const layer = loaded.layers[0]!;
    expect(await sha256OfStream(await layer.openTar())).toBe(layer.diffId);
    expect(await sha256OfStream(await layer.openTar())).toBe(layer.diffId);
    const reads = finalReads(events);
    expect(reads.map((read) => [read.read, read.layer, read.done])).toEqual([
      [1, 0, layer.descriptor.size],
      [2, 0, layer.descriptor.size],
    ]);
  });

  it('two loads of one reference are two images', async () => {
    const events: ProgressEvent[] = [];
    const reference = `oci-archive:${await dir.writeArchive('twice.tar', singleImageLayout(image))}`;
    await loadImage(reference, { onProgress: (event) => events.push(event) });
    await loadImage(reference, { onProgress: (event) => events.push(event) });
    const images = events.filter((event): event is ImageProgressEvent => event.kind === 'image');
    expect(images.map((event) => event.reference)).toEqual([reference, reference]);
    expect(images[0]!.image).not.toBe(images[1]!.image);
  });

  it('without onProgress the layers are the source’s own, with no skipRead', async () => {
    const loaded = await loadImage(`oci-archive:${await dir.writeArchive('plain.tar', singleImageLayout(image))}`);
    expect(loaded.layers.every((layer) => layer.skipRead === undefined)).toBe(true);
  });
});
