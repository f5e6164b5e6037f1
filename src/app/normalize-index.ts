/**
 * normalize of a whole multi-platform index (no --platform): each platform's image is normalized as
 * `normalize --platform` would, attestation manifests are dropped (they attest the input manifests,
 * not the normalized ones), and with --output the normalized images are written under one OCI image
 * index listing each with its platform (sinks/index-layout.ts), or pushed: images by digest, the index
 * under the tag. The index's own identity is its canonical index digest (canonical-index.ts).
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pushIndex } from '../registry/push-index.js';
import { buildOutputIndex, parseIndexDestination, writeIndex, type OutputIndexEntry } from '../sinks/index-layout.js';
import { forPlatform, imageManifests, listIndex, manifestsByPlatform, platformWanted, type IndexListing } from '../sources/index-listing.js';
import { loadImage } from '../sources/index.js';
import { canonicalIndexDigest } from '../normalize/canonical-index.js';
import { withTempDirectory } from '../normalize/image.js';
import { checkOutput, describeOutput, normalizeImage, normalizeLoaded, type NormalizeRequest, type NormalizeResult } from './normalize.js';
import { comparePlatformKeys } from '../image/types.js';

/** What `normalize` reports for an index, as data (the --json output). */
export interface NormalizeIndexResult {
  kind: 'index';
  source: string;
  /** The input index. */
  index: { digest: string; mediaType: string };
  /** The canonical index digest: sha256 of the canonical JSON of the per-platform canonical digests. */
  canonicalDigest: string;
  /** Sorted by platform; each platform's result as `normalize --platform` gives it. */
  platforms: { platform: string; result: NormalizeResult }[];
  /** Manifests of the input index left out of the output: attestations. */
  dropped: { digest: string; platform: string | null; reason: 'attestation' }[];
  output: null | { reference: string; format: 'oci' | 'oci-archive' | 'registry'; indexDigest: string; mediaType: string };
}

export function isNormalizeIndexResult(result: NormalizeResult | NormalizeIndexResult): result is NormalizeIndexResult {
  return (result as NormalizeIndexResult).kind === 'index';
}

/** normalize SRC: one image's result, or an index's when SRC is an index of several platforms and no --platform is given. */
export async function normalizeAny(request: NormalizeRequest): Promise<NormalizeResult | NormalizeIndexResult> {
  if (request.load?.platform) return normalizeImage(request);
  const listing = await listIndex(request.source, request.load);
  if (!listing || imageManifests(listing).length <= 1) return normalizeImage(request);
  return normalizeIndex(request, listing);
}


export async function normalizeIndex(request: NormalizeRequest, listing: IndexListing): Promise<NormalizeIndexResult> {
  const pushing = request.output?.startsWith('docker://') ?? false;
  // An index cannot go to a docker-archive: refused before any layer is read, as other bad destinations.
  const target = request.output && !pushing ? parseIndexDestination(request.output, { overwrite: request.overwrite }) : undefined;
  await checkOutput(request);
  const byPlatform = [...manifestsByPlatform(listing)].sort(([a], [b]) => comparePlatformKeys(a, b));
  const compression = request.compression ?? 'gzip';

  const run = async (directory?: string): Promise<NormalizeIndexResult> => {
    const platforms: NormalizeIndexResult['platforms'] = [];
    const outputs: OutputIndexEntry[] = [];
    for (const [i, [platform, manifest]] of byPlatform.entries()) {
      const { result, outputImage } = await forPlatform(platform, async () => {
        const image = await loadImage(request.source, { ...request.load, platform: platformWanted(manifest) });
        try {
          const layers = directory && join(directory, `platform-${i}`);
          if (layers) await mkdir(layers);
          return await normalizeLoaded(image, request, layers, target?.format === 'oci');
        } finally {
          await image.close();
        }
      });
      platforms.push({ platform, result });
      // The platform as the input index lists it (os.version, features and all).
      if (outputImage) outputs.push({ image: outputImage, platform: manifest.platformObject! });
    }
    const base: NormalizeIndexResult = {
      kind: 'index',
      source: request.source,
      index: { digest: listing.digest, mediaType: listing.mediaType },
      canonicalDigest: canonicalIndexDigest(platforms.map(({ platform, result }) => ({ platform, canonicalDigest: result.canonicalDigest }))),
      platforms,
      dropped: listing.manifests.filter((m) => m.attestation).map((m) => ({ digest: m.digest, platform: m.platform, reason: 'attestation' as const })),
      output: null,
    };
    if (!directory || !request.output) return base;
    const index = buildOutputIndex(outputs);
    let written: { reference: string; format: 'oci' | 'oci-archive' | 'registry' };
    let blobs: Map<string, { digest: string; action: string }[]> | undefined;
    if (pushing) {
      const pushed = await pushIndex(request.output, index.index, index.images.map((entry) => entry.image), request.load ?? {});
      written = { reference: `docker://${pushed.reference}`, format: 'registry' };
      blobs = new Map(pushed.images.map((image) => [image.digest, image.blobs]));
    } else {
      written = (await writeIndex(request.output, index, { overwrite: request.overwrite })) as typeof written;
    }
    return {
      ...base,
      // outputs[i] is the normalized image of platforms[i]: both made in one loop.
      platforms: platforms.map(({ platform, result }, i) => {
        const image = outputs[i]!.image;
        return { platform, result: { ...result, output: describeOutput(image, written, compression, blobs?.get(image.manifest.digest)) } };
      }),
      output: { reference: written.reference, format: written.format, indexDigest: index.index.digest, mediaType: index.index.mediaType },
    };
  };
  if (!request.output) return run();
  return withTempDirectory(target ? dirname(resolve(target.path)) : undefined, run);
}
