// Hand-made index, --expect and fleet reports for the HTML renderer's tests and goldens, from the fixed
// and hostile verify reports (fixed-report.ts, html-hostile.ts).
import { decideGate } from '../../src/gate/policy.js';
import type { ExpectReport } from '../../src/report/expect-model.js';
import { summarizePairs, type FleetReport, type PairResult } from '../../src/report/fleet-model.js';
import type { IndexReport } from '../../src/report/index-model.js';
import type { Report } from '../../src/report/model.js';
import { buildFixedReport, fakeDigest, rawDifferences } from './fixed-report.js';
import { hostileHtmlReport } from './html-hostile.js';

/** Two platforms that both fail: linux/amd64 the fixed report, linux/arm64 the hostile one. */
export function indexHtmlReport(): IndexReport {
  const amd = buildFixedReport();
  const arm = hostileHtmlReport();
  const side = (name: string) => ({ reference: `oci-archive:${name}`, indexDigest: fakeDigest(name), canonicalDigest: fakeDigest(`c-${name}`), manifests: [] });
  return {
    kind: 'index',
    verdict: 'not-reproducible',
    passed: false,
    reason: 'linux/arm64 is not reproducible',
    a: side('a'),
    b: side('b'),
    platforms: [
      { platform: 'linux/amd64', presence: 'both', verdict: amd.verdict, passed: false, reason: amd.reason, canonicalDigest: { a: amd.a.canonicalDigest, b: amd.b.canonicalDigest }, report: amd },
      { platform: 'linux/arm64', presence: 'both', verdict: arm.verdict, passed: false, reason: arm.reason, canonicalDigest: { a: arm.a.canonicalDigest, b: arm.b.canonicalDigest }, report: arm },
    ],
  } as unknown as IndexReport;
}

/** The fixed report's image A against a digest it does not have. */
export function expectHtmlReport(): ExpectReport {
  const fixed = buildFixedReport();
  return {
    schemaVersion: fixed.schemaVersion,
    tool: fixed.tool,
    kind: 'expect',
    verdict: 'differs',
    passed: false,
    reason: 'the canonical digest <differs>',
    expected: { canonicalDigest: fakeDigest('expected'), source: 'release.json' },
    image: { ...fixed.a, canonicalDigest: fixed.a.canonicalDigest ?? fakeDigest('c') },
  };
}

/** The fixed report with only its neutralized differences: reproducible, the gate passes. */
export function passingReport(): Report {
  const report = buildFixedReport(rawDifferences().filter((difference) => difference.neutralized));
  const gate = decideGate({ verdict: 'reproducible', differences: report.differences, strict: false });
  return { ...report, verdict: 'reproducible', passed: gate.passed, reason: gate.reason, b: { ...report.b, canonicalDigest: report.a.canonicalDigest } };
}

/** A pair name as a user's YAML may spell it: markup, an entity, both quotes. */
export const hostilePairName = `web <img src=x onerror=alert(5)> & "co" 's' &amp;`;

type PairReport = PairResult['report'];

function pairResult(index: number, name: string, report: PairReport, exitCode: number, durationMs: number): PairResult {
  const verdict = report === null ? 'error' : report.verdict;
  return {
    index,
    name,
    a: `oci-archive:${index}-a.tar`,
    b: report !== null && 'kind' in report && report.kind === 'expect' ? null : `oci-archive:${index}-b.tar`,
    platform: null,
    policy: null,
    expect: null,
    verdict,
    passed: report?.passed ?? false,
    exitCode,
    reason: report?.reason ?? `pair ${JSON.stringify(name)}: ${index}-a.tar: unexpected end of archive`,
    durationMs,
    report,
    error: report === null ? { code: 'CORRUPT_ARCHIVE', message: 'unexpected end of archive', exitCode } : null,
  };
}

/**
 * A fleet of every kind of pair: one that passes, the hostile verify report under a hostile name, an
 * index pair whose linux/amd64 platform holds the same fixed report as the pair after it (so the same
 * difference paths occur in several pairs), an --expect pair, and a pair that could not be verified.
 */
export function buildFleetReport(): FleetReport {
  const fixed = buildFixedReport();
  const pairs: PairResult[] = [
    pairResult(0, 'web', passingReport(), 0, 1_200),
    pairResult(1, hostilePairName, hostileHtmlReport(), 1, 2_340),
    pairResult(2, 'multi-arch', indexHtmlReport(), 1, 5_010),
    pairResult(3, 'api', fixed, 1, 1_870),
    pairResult(4, 'release', expectHtmlReport(), 1, 640),
    pairResult(5, 'broken <&>', null, 3, 15),
  ];
  const { policy: _policy, ...options } = fixed.options;
  return {
    schemaVersion: fixed.schemaVersion,
    tool: fixed.tool,
    kind: 'fleet',
    ...summarizePairs(pairs),
    pairsFile: { path: 'fleet.yaml', digest: fakeDigest('fleet.yaml'), pairs: pairs.length },
    shard: null,
    options,
    durationMs: 6_480,
    pairs,
  };
}
