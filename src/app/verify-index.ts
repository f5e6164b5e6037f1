/**
 * verify of two multi-platform indexes without --platform: every platform on both sides is compared
 * as two images (one single-image report each), platforms on one side only fail the gate, and the
 * overall verdict is the worst. Two indexes of one image each are two images, as they always were; an
 * index of one platform against an index of several is compared as indexes; one image (no index)
 * against an index of several platforms is a usage error naming them (--platform picks one).
 */
import { usageError } from '../errors.js';
import type { Image } from '../image/image.js';
import { canonicalIndexDigest } from '../normalize/canonical-index.js';
import { analyzeImage } from '../normalize/image.js';
import type { IndexReport, IndexSide, PlatformComparison } from '../report/index-model.js';
import { worstVerdict } from '../report/index-model.js';
import { reportSchemaVersion, type Report } from '../report/model.js';
import { verdictTitles } from '../report/wording.js';
import { forPlatform, imageManifests, listIndex, manifestsByPlatform, platformWanted, type IndexedManifest, type IndexListing } from '../sources/index-listing.js';
import { loadImage } from '../sources/index.js';
import { toolVersion } from '../version.js';
import { verifyImages, verifyLoaded, type VerifyRequest } from './verify.js';
import { comparePlatformKeys } from '../image/types.js';

/** verify A B: a single-image report, or an index report when both are indexes of several platforms. */
export async function verifyAny(request: VerifyRequest): Promise<Report | IndexReport> {
  if (request.load?.platform) return verifyImages(request);
  const [listA, listB] = await Promise.all([listIndex(request.a, request.load), listIndex(request.b, request.load)]);
  const multiA = listA && imageManifests(listA).length > 1 ? listA : undefined;
  const multiB = listB && imageManifests(listB).length > 1 ? listB : undefined;
  if (!multiA && !multiB) return verifyImages(request);
  // An index of one platform against one of several is still two indexes: the others are one-sided.
  if (!listA || !listB) {
    const index = (multiA ?? multiB)!;
    const single = multiA ? request.b : request.a;
    throw usageError(
      `${single} is one image but ${index.reference} is an index of ${imageManifests(index).length} platforms (${describePlatforms(index)}): choose one with --platform`,
      { hint: 'with --platform the one image is compared with that platform of the index' },
    );
  }
  return verifyIndexes(request, listA, listB);
}

function describePlatforms(listing: IndexListing): string {
  return imageManifests(listing)
    .map((manifest) => manifest.platform ?? 'unknown')
    .join(', ');
}


export async function verifyIndexes(request: VerifyRequest, listA: IndexListing, listB: IndexListing): Promise<IndexReport> {
  const byA = manifestsByPlatform(listA);
  const byB = manifestsByPlatform(listB);
  const keys = [...new Set([...byA.keys(), ...byB.keys()])].sort(comparePlatformKeys);
  const platforms: PlatformComparison[] = [];
  for (const platform of keys) {
    platforms.push(await forPlatform(platform, () => comparePlatform(request, platform, byA.get(platform), byB.get(platform))));
  }
  const verdict = worstVerdict(platforms.map((platform) => platform.verdict));
  const passed = platforms.every((platform) => platform.passed);
  return {
    schemaVersion: reportSchemaVersion,
    tool: { name: 'oci-repro', version: toolVersion },
    kind: 'index',
    verdict,
    reason: describeReason(platforms, passed),
    passed,
    options: {
      epoch: request.normalize.epoch,
      timestampMode: request.normalize.timestampMode,
      disabledRules: [...request.normalize.disabledRules].sort(),
      strict: request.strict ?? false,
      policy: request.policy?.source ?? null,
    },
    a: indexSide(listA, platforms, 'a'),
    b: indexSide(listB, platforms, 'b'),
    platforms,
  };
}

/** One platform: both images compared, or the one side's canonical digest. */
async function comparePlatform(request: VerifyRequest, platform: string, a: IndexedManifest | undefined, b: IndexedManifest | undefined): Promise<PlatformComparison> {
  const load = (reference: string, manifest: IndexedManifest) => loadImage(reference, { ...request.load, platform: platformWanted(manifest) });
  if (a && b) {
    const [imageA, imageB] = await Promise.all([load(request.a, a), load(request.b, b)]);
    try {
      const report = await verifyLoaded(imageA, imageB, request);
      return {
        platform,
        presence: 'both',
        verdict: report.verdict,
        passed: report.passed,
        reason: report.reason,
        canonicalDigest: { a: report.a.canonicalDigest, b: report.b.canonicalDigest },
        report,
      };
    } finally {
      await Promise.all([imageA.close(), imageB.close()]);
    }
  }
  const side = a ? 'a' : 'b';
  const digest = await canonicalDigestOf(await load(side === 'a' ? request.a : request.b, (a ?? b)!), request);
  return {
    platform,
    presence: side,
    verdict: 'not-reproducible',
    passed: false,
    reason: `${platform} is only in ${side.toUpperCase()}`,
    canonicalDigest: { a: side === 'a' ? digest : null, b: side === 'b' ? digest : null },
    report: null,
  };
}

async function canonicalDigestOf(image: Image, request: VerifyRequest): Promise<string> {
  try {
    return (await analyzeImage(image, { normalize: request.normalize, contentDigests: false })).canonicalDigest;
  } finally {
    await image.close();
  }
}

function describeReason(platforms: PlatformComparison[], passed: boolean): string {
  if (passed) {
    const verdicts = platforms.map((platform) => `${platform.platform} ${verdictTitles[platform.verdict].replace(/ \(.*\)$/, '')}`);
    return `all ${platforms.length} platforms passed (${verdicts.join(', ')})`;
  }
  const parts: string[] = [];
  for (const side of ['a', 'b'] as const) {
    const only = platforms.filter((platform) => platform.presence === side).map((platform) => platform.platform);
    if (only.length > 0) parts.push(`only in ${side.toUpperCase()}: ${only.join(', ')}`);
  }
  const failed = platforms.filter((platform) => platform.presence === 'both' && !platform.passed);
  for (const platform of failed) parts.push(`${platform.platform}: ${platform.reason}`);
  return parts.join('; ');
}

function indexSide(listing: IndexListing, platforms: PlatformComparison[], side: 'a' | 'b'): IndexSide {
  const mine = platforms.filter((platform) => platform.presence === 'both' || platform.presence === side);
  // A platform whose layers were not read (identical, or equal pairs) has no canonical digest.
  const computed = mine.every((platform) => platform.canonicalDigest[side] !== null);
  const entries = mine.map((platform) => ({ platform: platform.platform, canonicalDigest: platform.canonicalDigest[side]! }));
  return {
    reference: listing.reference,
    indexDigest: listing.digest,
    indexMediaType: listing.mediaType,
    canonicalDigest: computed ? canonicalIndexDigest(entries) : null,
    manifests: listing.manifests.map((manifest) => ({
      platform: manifest.platform,
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      attestation: manifest.attestation,
    })),
  };
}
