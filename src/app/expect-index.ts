/**
 * `verify IDX --expect DIGEST|FILE` for a multi-platform index without --platform: the index passes when
 * its canonical index digest (normalize/canonical-index.ts) is the expected one, so a gate compares a
 * rebuilt index with a release's by one digest. The expected digest comes from the same places as for
 * one image: a digest, `normalize --json` of the released index, or an index report (its A side).
 */
import { checkExpectation, type Expectation } from '../gate/expect.js';
import { resolveBase, type BaseRequest } from '../normalize/base.js';
import { canonicalIndexDigest } from '../normalize/canonical-index.js';
import { analyzeImage } from '../normalize/image.js';
import type { NormalizeOptions } from '../normalize/options.js';
import { reportSchemaVersion } from '../report/model.js';
import { forPlatform, imageManifests, listIndex, manifestsByPlatform, platformWanted } from '../sources/index-listing.js';
import { loadImage, type LoadOptions } from '../sources/index.js';
import { toolVersion } from '../version.js';
import type { ExpectReport, IndexExpectReport } from '../report/expect-model.js';
import { verifyExpectation } from './expect.js';
import { comparePlatformKeys } from '../image/types.js';

export { isIndexExpectReport, type IndexExpectReport } from '../report/expect-model.js';

/** --expect of one image, or of a whole index when the reference is an index of several platforms. */
export async function verifyAnyExpectation(
  reference: string,
  expectation: Expectation,
  options: { load?: LoadOptions; normalize: NormalizeOptions; onLayer?: (done: number, total: number) => void; base?: BaseRequest },
): Promise<ExpectReport | IndexExpectReport> {
  const listing = options.load?.platform ? undefined : await listIndex(reference, options.load);
  if (!listing || imageManifests(listing).length <= 1) return verifyExpectation(reference, expectation, options);
  const platforms: IndexExpectReport['index']['platforms'] = [];
  for (const [platform, manifest] of [...manifestsByPlatform(listing)].sort(([a], [b]) => comparePlatformKeys(a, b))) {
    const canonicalDigest = await forPlatform(platform, async () => {
      const image = await loadImage(reference, { ...options.load, platform: platformWanted(manifest) });
      try {
        const base = options.base ? await resolveBase(image, options.base, options.load) : undefined;
        return (await analyzeImage(image, { normalize: options.normalize, contentDigests: false, onLayer: options.onLayer, base })).canonicalDigest;
      } finally {
        await image.close();
      }
    });
    platforms.push({ platform, manifestDigest: manifest.digest, canonicalDigest });
  }
  const canonicalDigest = canonicalIndexDigest(platforms);
  const check = checkExpectation(expectation, { label: reference, canonicalDigest });
  return {
    schemaVersion: reportSchemaVersion,
    tool: { name: 'oci-repro', version: toolVersion },
    kind: 'expect',
    verdict: check.passed ? 'matches' : 'differs',
    passed: check.passed,
    reason: check.reason.replace('canonical digest', 'canonical index digest'),
    expected: { canonicalDigest: expectation.canonicalDigest, source: expectation.source },
    index: { reference, indexDigest: listing.digest, indexMediaType: listing.mediaType, canonicalDigest, platforms },
  };
}
