/**
 * The `--expect` report: one build's canonical digest (an index's canonical index digest) checked
 * against a known one. Told apart from a verify report by `kind: "expect"`; schema/report.schema.json
 * describes it (`$defs/expectReport`).
 */
import type { ImageSide, reportSchemaVersion } from './model.js';

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
  /** --expect reads every layer: the canonical digest is always computed. */
  image: ImageSide & { canonicalDigest: string };
}

export interface IndexExpectReport extends ExpectOutcome {
  /** The index checked: its canonical index digest and each platform's canonical digest. */
  index: {
    reference: string;
    indexDigest: string;
    indexMediaType: string;
    canonicalDigest: string;
    platforms: { platform: string; manifestDigest: string; canonicalDigest: string }[];
  };
}

export function isIndexExpectReport(report: ExpectReport | IndexExpectReport): report is IndexExpectReport {
  return (report as IndexExpectReport).index !== undefined;
}

/** What every format shows of an `--expect` report. */
export interface ExpectView {
  passed: boolean;
  /** Whether an index was checked (its canonical index digest) rather than one image. */
  index: boolean;
  /** `canonical digest` or `canonical index digest`. */
  subject: string;
  reason: string;
  /** The digest found and the one expected. */
  actual: string;
  expected: string;
  /** The image ID, or the index digest. */
  identity: string;
  /** Each platform's canonical digest (an index only). */
  platforms: { platform: string; canonicalDigest: string }[];
  /** The reference checked. */
  reference: string;
}

export function buildExpectView(report: ExpectReport | IndexExpectReport): ExpectView {
  const common = { passed: report.passed, reason: report.reason, expected: report.expected.canonicalDigest };
  if (isIndexExpectReport(report)) {
    const { index } = report;
    return {
      ...common,
      index: true,
      subject: 'canonical index digest',
      actual: index.canonicalDigest,
      identity: index.indexDigest,
      platforms: index.platforms.map(({ platform, canonicalDigest }) => ({ platform, canonicalDigest })),
      reference: index.reference,
    };
  }
  return {
    ...common,
    index: false,
    subject: 'canonical digest',
    actual: report.image.canonicalDigest,
    identity: report.image.imageId,
    platforms: [],
    reference: report.image.reference,
  };
}
