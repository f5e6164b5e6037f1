import { checkExpectation, type Expectation } from '../gate/expect.js';
import { resolveBase, type BaseRequest } from '../normalize/base.js';
import { analyzeImage } from '../normalize/image.js';
import type { NormalizeOptions } from '../normalize/options.js';
import { describeImage } from '../report/identity.js';
import type { ExpectReport } from '../report/expect-model.js';
import { reportSchemaVersion } from '../report/model.js';
import { loadImage, type LoadOptions } from '../sources/index.js';
import { toolVersion } from '../version.js';

export type { ExpectOutcome, ExpectReport } from '../report/expect-model.js';

export async function verifyExpectation(
  reference: string,
  expectation: Expectation,
  options: { load?: LoadOptions; normalize: NormalizeOptions; onLayer?: (done: number, total: number) => void; base?: BaseRequest },
): Promise<ExpectReport> {
  const image = await loadImage(reference, options.load);
  try {
    const base = options.base ? await resolveBase(image, options.base, options.load) : undefined;
    // Only the canonical digest is checked: no entry table is compared, so no per-file digests.
    const analysis = await analyzeImage(image, { normalize: options.normalize, contentDigests: false, onLayer: options.onLayer, base });
    const identity = describeImage(image);
    const check = checkExpectation(expectation, { label: reference, canonicalDigest: analysis.canonicalDigest });
    return {
      schemaVersion: reportSchemaVersion,
      tool: { name: 'oci-repro', version: toolVersion },
      kind: 'expect',
      verdict: check.passed ? 'matches' : 'differs',
      passed: check.passed,
      reason: check.reason,
      expected: { canonicalDigest: expectation.canonicalDigest, source: expectation.source },
      image: {
        ...identity,
        canonicalDigest: analysis.canonicalDigest,
        layers: identity.layers.map((layer, index) => ({ ...layer, canonicalDiffId: analysis.layers[index].canonicalDiffId })),
      },
    };
  } finally {
    await image.close();
  }
}
