// The bridge from a normalizer's analysis to the sinks' output image: a use-case concern, so that
// normalize/ never imports sinks/ (docs/architecture.md section 4).
import { layerMediaType, MediaType } from '../image/media-types.js';
import { keptLayerMediaType } from '../normalize/base.js';
import { normalizeManifestAnnotations } from '../normalize/config.js';
import type { ImageAnalysis } from '../normalize/image.js';
import type { NormalizeOptions } from '../normalize/options.js';
import { buildManifest, type ManifestFamily, type OutputImage, type OutputLayer } from '../sinks/output-image.js';

/**
 * Normalized images are always written with OCI media types: every reader takes them (skopeo 1.9
 * finds tags in an OCI layout only for OCI manifests), and the manifest digest then does not depend
 * on which builder made the input. The config bytes keep Docker-only fields either way.
 */
export const outputFamily: ManifestFamily = 'oci';

/** The normalized image as the sinks write it: canonical config bytes, recompressed layers. */
export function toOutputImage(analysis: ImageAnalysis, options: NormalizeOptions): OutputImage {
  const family = outputFamily;
  const configBlob = {
    digest: analysis.canonicalDigest,
    size: analysis.configBytes.length,
    mediaType: family === 'oci' ? MediaType.ociConfig : MediaType.dockerConfig,
    bytes: analysis.configBytes,
  };
  const layers: OutputLayer[] = analysis.layers.map(({ layer, blob, canonicalDiffId, kept }) => {
    if (!blob) {
      // Foreign layers keep their descriptor: their content is not ours to rewrite.
      const { mediaType, digest, size, urls } = layer.descriptor;
      return { mediaType, digest, size, diffId: canonicalDiffId, ...(urls ? { urls } : {}) };
    }
    return {
      // A kept base layer keeps its bytes, so its media type says the same compression in the output's family.
      mediaType: kept ? keptLayerMediaType(layer.descriptor.mediaType, family) : layerMediaType(blob.compression, family),
      digest: blob.digest,
      size: blob.size,
      path: blob.path,
      // Our own temp file, hashed as it was written: a layout directory may link it instead of copying.
      temporary: true,
      diffId: canonicalDiffId,
    };
  });
  const { annotations } = normalizeManifestAnnotations(analysis.image.manifest?.parsed.annotations, options);
  const manifest = buildManifest(configBlob, layers, family, annotations);
  return { manifest, config: configBlob, layers, platform: analysis.image.platform };
}
