import type { Readable } from 'node:stream';
import type { Image, Layer } from '../image/image.js';
import { ByteCounter, type ProgressListener } from '../image/progress.js';
import { chain } from '../image/stream.js';
import { formatPlatform } from '../image/types.js';
import { layerWhat, openLayerTar } from './assemble.js';

let lastImage = 0;

/** A new image number; taken when loading starts, so images are numbered in the order they were asked for. */
export function nextProgressImage(): number {
  return ++lastImage;
}

/**
 * The image with every layer blob read counted and reported to `listener` (image/progress.ts). Done
 * once here, where every transport's image passes (loadImage), so no transport counts for itself.
 * openTar reads through the counted openBlob too, so a tar read is a blob read. The platform is named
 * when one was chosen (--platform, or one platform of an index being compared): it tells bars apart.
 */
export function observeBlobReads(image: Image, listener: ProgressListener, key: number, platformChosen = false): Image {
  let reads = 0;
  const present = image.layers.filter((layer) => !layer.foreign);
  listener({
    kind: 'image',
    image: key,
    reference: image.reference,
    ...(platformChosen && image.platform ? { platform: formatPlatform(image.platform) } : {}),
    transport: image.transport,
    layers: present.map((layer) => ({ index: layer.index, digest: layer.descriptor.digest, size: layer.descriptor.size })),
  });
  const observe = (layer: Layer): Layer => {
    if (layer.foreign) return layer;
    const { index, descriptor } = layer;
    const openBlob = async (): Promise<Readable> => {
      const blob = await layer.openBlob();
      const read = ++reads;
      const report = (done: number, ended: boolean) =>
        listener({ kind: 'blob', image: key, layer: index, digest: descriptor.digest, read, done, size: descriptor.size, ended });
      return chain(blob, new ByteCounter(report));
    };
    const what = layerWhat(index, descriptor.digest, image.reference);
    // Spread: whatever else a layer carries (today or later) is kept.
    return {
      ...layer,
      openBlob,
      openTar: async () => openLayerTar(await openBlob(), layer, what),
      skipRead: () => listener({ kind: 'skip', image: key, layer: index }),
    };
  };
  return { ...image, layers: image.layers.map(observe) };
}
