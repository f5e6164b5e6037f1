import { checkExpectation, type Expectation } from '../gate/expect.js';
import { resolveBase, type BaseRequest } from '../normalize/base.js';
import { analyzeImage } from '../normalize/image.js';
import type { NormalizeOptions } from '../normalize/options.js';
import { describeImage } from '../report/identity.js';
import { reportSchemaVersion, type ImageSide } from '../report/model.js';
import { escapeXml } from '../report/render-junit.js';
import { loadImage, type LoadOptions } from '../sources/index.js';
import { toolVersion } from '../version.js';

/** What every `--expect` report says, of one image or of a whole index. */
export interface ExpectOutcome {
  schemaVersion: typeof reportSchemaVersion;
  tool: { name: 'oci-repro'; version: string };
  kind: 'expect';
  verdict: 'matches' | 'differs';
  passed: boolean;
  reason: string;
  expected: { canonicalDigest: string; source: string };
}

/** `verify A --expect DIGEST|FILE`: one build against a known canonical digest (e.g. a release's). */
export interface ExpectReport extends ExpectOutcome {
  image: ImageSide;
}

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

export function renderExpectText(report: ExpectReport): string {
  const lines = [
    `${report.passed ? 'PASS' : 'FAIL'}: ${report.reason}`,
    `canonical digest  ${report.image.canonicalDigest}`,
    `expected          ${report.expected.canonicalDigest}`,
    `image ID          ${report.image.imageId}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function renderExpectJunit(report: ExpectReport): string {
  return renderExpectJunitCase(report, `${report.image.reference} canonical digest`);
}

/** The one JUnit test case of an `--expect` report, of one image or of a whole index. */
export function renderExpectJunitCase(outcome: ExpectOutcome, name: string): string {
  const failures = outcome.passed ? 0 : 1;
  const failure = outcome.passed ? '' : `\n      <failure message="${escapeXml(outcome.reason)}" type="not-reproducible"/>\n    `;
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="oci-repro" tests="1" failures="${failures}">
  <testsuite name="oci-repro expect" tests="1" failures="${failures}">
    <testcase classname="oci-repro.expect" name="${escapeXml(name)}">${failure}</testcase>
  </testsuite>
</testsuites>
`;
}

export function renderExpectMarkdown(report: ExpectReport): string {
  return `### oci-repro: ${report.passed ? 'canonical digest matches' : 'canonical digest differs'}\n\n${report.reason}\n\n| | digest |\n|---|---|\n| canonical | \`${report.image.canonicalDigest}\` |\n| expected | \`${report.expected.canonicalDigest}\` |\n`;
}
