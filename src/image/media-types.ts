/** Media types of the OCI image spec and Docker's image manifest v2 schema 2. */
export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  // Docker image manifest v2 schema 1: recognized only to be refused clearly.
  dockerManifestSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerManifestSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export type Compression = 'gzip' | 'zstd' | 'none';

export const isIndexMediaType = (mediaType: string | undefined): boolean =>
  mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;

export const isManifestMediaType = (mediaType: string | undefined): boolean =>
  mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest;

/**
 * A Docker schema 1 manifest (`fsLayers`, `history[].v1Compatibility`, no config blob), by media type
 * or, when the type is missing or generic, by `schemaVersion: 1`.
 */
export function isSchema1Manifest(mediaType: string | undefined, parsed: unknown): boolean {
  if (mediaType === MediaType.dockerManifestSchema1 || mediaType === MediaType.dockerManifestSchema1Signed) return true;
  return typeof parsed === 'object' && parsed !== null && (parsed as { schemaVersion?: unknown }).schemaVersion === 1;
}

const layerCompression: Record<string, Compression> = {
  [MediaType.ociLayer]: 'none',
  [MediaType.ociLayerGzip]: 'gzip',
  [MediaType.ociLayerZstd]: 'zstd',
  [MediaType.ociLayerNondistributable]: 'none',
  [MediaType.ociLayerNondistributableGzip]: 'gzip',
  [MediaType.ociLayerNondistributableZstd]: 'zstd',
  [MediaType.dockerLayer]: 'none',
  [MediaType.dockerLayerGzip]: 'gzip',
  [MediaType.dockerLayerZstd]: 'zstd',
  [MediaType.dockerForeignLayer]: 'gzip',
  // BuildKit and some registries have written these spellings.
  'application/vnd.docker.image.rootfs.diff.tar.zst': 'zstd',
  'application/vnd.oci.image.layer.v1.tar+zst': 'zstd',
};

/** The compression a layer media type declares, or undefined for a media type that is not a layer. */
export function compressionOfMediaType(mediaType: string): Compression | undefined {
  return layerCompression[mediaType];
}

export function isForeignLayerMediaType(mediaType: string): boolean {
  return mediaType === MediaType.dockerForeignLayer || mediaType.includes('.nondistributable.');
}

/** The media type of a layer with the given compression, in the OCI or Docker family. */
export function layerMediaType(compression: Compression, family: 'oci' | 'docker'): string {
  if (family === 'oci') {
    return compression === 'gzip' ? MediaType.ociLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
  }
  return compression === 'gzip' ? MediaType.dockerLayerGzip : compression === 'zstd' ? MediaType.dockerLayerZstd : MediaType.dockerLayer;
}
