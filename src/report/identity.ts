import type { Image } from '../image/image.js';
import { formatPlatform } from '../image/types.js';
import type { LayerIdentity } from '../diff/layers.js';

/** The identity chain of one image: what `inspect` shows and what `verify` puts side by side. */
export interface ImageIdentity {
  reference: string;
  transport: string;
  /** Null for a legacy docker-archive, which stores no manifest. */
  manifestDigest: string | null;
  manifestMediaType: string | null;
  /** When the manifest was picked from an index. */
  indexDigest: string | null;
  /** sha256 of the config bytes. */
  imageId: string;
  platform: string | null;
  created: string | null;
  layers: LayerIdentity[];
}

export function describeImage(image: Image): ImageIdentity {
  const created = image.config.parsed.created;
  return {
    reference: image.reference,
    transport: image.transport,
    manifestDigest: image.manifest?.digest ?? null,
    manifestMediaType: image.manifest?.mediaType ?? null,
    indexDigest: image.index?.digest ?? null,
    imageId: image.config.digest,
    platform: image.platform ? formatPlatform(image.platform) : null,
    created: typeof created === 'string' ? created : null,
    layers: image.layers.map((layer) => ({
      index: layer.index,
      mediaType: layer.descriptor.mediaType,
      digest: layer.descriptor.digest,
      size: layer.descriptor.size,
      diffId: layer.diffId,
      foreign: layer.foreign,
      step: describeStep(layer.history?.created_by),
    })),
  };
}

/** `/bin/sh -c #(nop) COPY file:abc in /app` -> `COPY file:abc in /app`: the step as the user wrote it. */
export function describeStep(createdBy: string | undefined): string | null {
  if (!createdBy) return null;
  return createdBy
    .replace(/^\/bin\/sh -c #\(nop\)\s+/, '')
    .replace(/^\/bin\/sh -c /, 'RUN ')
    .replace(/\s+# buildkit$/, '')
    .trim();
}
