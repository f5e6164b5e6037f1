// The public library API: re-exports only. Never imports @oclif/core.
export * from './errors.js';
export * from './image/types.js';
export * from './image/media-types.js';
export type { Image, Layer, JsonBlob, Transport } from './image/image.js';
export { sha256, VerifyingStream, HashingStream } from './image/digest.js';
export { loadImage, parseReference, parsePlatform, type LoadOptions, type ImageReference, type PlatformWanted } from './sources/index.js';
export { describeImage, describeStep, type ImageIdentity, type LayerIdentity } from './report/identity.js';
export { renderIdentityText } from './report/identity-text.js';
export * from './normalize/options.js';
