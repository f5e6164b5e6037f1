/**
 * A verify result as an in-toto Statement v1 whose predicate is a SLSA Verification Summary (VSA v1):
 * the proof a pipeline can sign and publish. Pure: the caller passes the time and the policy's digest.
 * schema/attestation.schema.json describes the output.
 *
 * - subject: the images verified, each by its manifest digest (the image ID where there is no
 *   manifest: a legacy docker-archive), or the index digests of an index comparison; for a rebuild,
 *   the builds (baseline and each compared variation), or the release and the rebuild (--against);
 * - verifier.id: `pkg:npm/oci-repro@VERSION` (a package URL names the tool and its version);
 * - verifiedLevels: VSA v1 allows custom values not starting with `SLSA_` (SlsaResult):
 *   `OCI_REPRO_IDENTICAL`, `OCI_REPRO_REPRODUCIBLE`, `OCI_REPRO_EXPECTED_DIGEST`, or `FAILED`;
 * - the canonical digests go in an extension field named by a URI (`canonicalExtension`), as the
 *   in-toto parsing rules let producers add fields; consumers that do not know it ignore it.
 */
import { usageError } from '../errors.js';
import type { ExpectReport, IndexExpectReport } from './expect-model.js';
import { isIndexExpectReport } from './expect-model.js';
import type { IndexReport } from './index-model.js';
import { isIndexReport } from './index-model.js';
import type { Report } from './model.js';
import type { RebuildReport } from './rebuild-model.js';

export const statementType = 'https://in-toto.io/Statement/v1';
export const verificationSummaryType = 'https://slsa.dev/verification_summary/v1';
/** The media type of a bare (unsigned, not DSSE-wrapped) in-toto statement. */
export const statementMediaType = 'application/vnd.in-toto+json';
/** The extension field of the predicate that holds what oci-repro found (README: Attestation). */
export const canonicalExtension = 'urn:oci-repro:verification:v1';

export type DigestSet = Record<string, string>;

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: DigestSet;
  mediaType?: string;
  annotations?: Record<string, string>;
}

/** What oci-repro adds to the predicate under `canonicalExtension`. */
export interface CanonicalResult {
  kind: 'verify' | 'index' | 'expect' | 'rebuild';
  verdict: string;
  reason: string;
  /**
   * Canonical digests (canonical index digests for an index): A and B, or the image and the one
   * expected; for a rebuild, the baseline's (each build's is in `builds`), or with --against the
   * release (A) and the rebuild (B).
   */
  canonicalDigest: { a: string | null; b: string | null } | { actual: string; expected: string } | { baseline: string | null };
  /** Each platform's canonical digests, for an index comparison or an index checked with --expect. */
  platforms?: { platform: string; a: string | null; b: string | null }[];
  /** A rebuild's variations, each with its build's canonical digest and verdict against the baseline. */
  builds?: { variation: string; canonicalDigest: string | null; verdict: string }[];
  options?: Report['options'];
  reportSchemaVersion: number;
}

export interface VerificationSummary {
  verifier: { id: string; version: Record<string, string> };
  timeVerified: string;
  resourceUri: string;
  policy: ResourceDescriptor & { uri: string };
  verificationResult: 'PASSED' | 'FAILED';
  verifiedLevels: string[];
  [canonicalExtension]: CanonicalResult;
}

export interface Statement {
  _type: typeof statementType;
  subject: ResourceDescriptor[];
  predicateType: typeof verificationSummaryType;
  predicate: VerificationSummary;
}

export interface AttestationInput {
  /** When the verification ran. */
  time: Date;
  tool: { name: string; version: string };
  /** The policy file used: a URI for it and its sha256 (hex). Without one, the built-in gate is named. */
  policy?: { uri: string; sha256: string };
  /** Turns a reference as typed (a bare path, `oci:dir`) into a URI. */
  toUri?: (reference: string) => string;
}

export type AnyReport = Report | IndexReport | ExpectReport | IndexExpectReport;
/** What can be attested: a verify report of any kind, or a rebuild report. */
export type AttestableReport = AnyReport | RebuildReport;

/** The in-toto Statement (SLSA VSA v1 predicate) of a verify, index, --expect or rebuild report. */
export function buildAttestation(report: AttestableReport, input: AttestationInput): Statement {
  const toUri = input.toUri ?? ((reference: string) => reference);
  const { subject, resource, result } = describeReport(report);
  const strict = 'options' in report && report.options.strict;
  return {
    _type: statementType,
    subject: uniqueSubjects(subject),
    predicateType: verificationSummaryType,
    predicate: {
      verifier: { id: `pkg:npm/${input.tool.name}@${input.tool.version}`, version: { [input.tool.name]: input.tool.version } },
      timeVerified: input.time.toISOString(),
      resourceUri: toUri(resource),
      policy: input.policy
        ? { uri: input.policy.uri, digest: { sha256: input.policy.sha256 } }
        : { uri: `urn:oci-repro:gate:${result.kind === 'expect' ? 'expect' : strict ? 'identical' : 'reproducible'}` },
      verificationResult: report.passed ? 'PASSED' : 'FAILED',
      verifiedLevels: [report.passed ? levelOf(result) : 'FAILED'],
      [canonicalExtension]: result,
    },
  };
}

function levelOf(result: CanonicalResult): string {
  if (result.kind === 'expect') return 'OCI_REPRO_EXPECTED_DIGEST';
  return result.verdict === 'identical' ? 'OCI_REPRO_IDENTICAL' : 'OCI_REPRO_REPRODUCIBLE';
}

/** `sha256:abc` -> `{sha256: "abc"}`. */
export function digestSet(digest: string): DigestSet {
  const at = digest.indexOf(':');
  if (at <= 0) throw usageError(`not a digest: ${digest}`);
  return { [digest.slice(0, at)]: digest.slice(at + 1) };
}

function imageSubject(side: { reference: string; manifestDigest: string | null; imageId: string }): ResourceDescriptor {
  if (side.manifestDigest) return { name: side.reference, digest: digestSet(side.manifestDigest) };
  return { name: side.reference, digest: digestSet(side.imageId), annotations: { 'oci-repro.digest': 'image ID (config digest): the image has no manifest' } };
}

function describeReport(report: AttestableReport): { subject: ResourceDescriptor[]; resource: string; result: CanonicalResult } {
  if ('kind' in report && report.kind === 'rebuild') return describeRebuild(report);
  const common = { verdict: report.verdict, reason: report.reason, reportSchemaVersion: report.schemaVersion };
  if ('kind' in report && report.kind === 'expect') {
    const expected = report.expected.canonicalDigest;
    if (isIndexExpectReport(report)) {
      const { index } = report;
      return {
        subject: [{ name: index.reference, digest: digestSet(index.indexDigest) }],
        resource: index.reference,
        result: {
          kind: 'expect',
          ...common,
          canonicalDigest: { actual: index.canonicalDigest, expected },
          platforms: index.platforms.map(({ platform, canonicalDigest }) => ({ platform, a: canonicalDigest, b: null })),
        },
      };
    }
    return {
      subject: [imageSubject(report.image)],
      resource: report.image.reference,
      result: { kind: 'expect', ...common, canonicalDigest: { actual: report.image.canonicalDigest, expected } },
    };
  }
  if (isIndexReport(report)) {
    return {
      subject: [report.a, report.b].map((side) => ({ name: side.reference, digest: digestSet(side.indexDigest) })),
      resource: report.a.reference,
      result: {
        kind: 'index',
        ...common,
        canonicalDigest: { a: report.a.canonicalDigest, b: report.b.canonicalDigest },
        platforms: report.platforms.map(({ platform, canonicalDigest }) => ({ platform, ...canonicalDigest })),
        options: report.options,
      },
    };
  }
  const single = report as Report;
  return {
    subject: [imageSubject(single.a), imageSubject(single.b)],
    resource: single.a.reference,
    result: {
      kind: 'verify',
      ...common,
      canonicalDigest: { a: single.a.canonicalDigest, b: single.b.canonicalDigest },
      options: single.options,
    },
  };
}

/**
 * A rebuild: the builds are the subjects (a build's archive is gone unless kept, so it is named by its
 * variation), the context is the resource; with --against, the release and the rebuild.
 */
function describeRebuild(report: RebuildReport): { subject: ResourceDescriptor[]; resource: string; result: CanonicalResult } {
  const base = { kind: 'rebuild' as const, reportSchemaVersion: report.schemaVersion };
  if (report.against) {
    const { report: verified, reference } = report.against;
    return {
      subject: [imageSubject(verified.a), imageSubject({ ...verified.b, reference: report.baseline.archive ?? `rebuild of ${report.context}` })],
      resource: reference,
      result: { ...base, verdict: verified.verdict, reason: verified.reason, canonicalDigest: { a: verified.a.canonicalDigest, b: verified.b.canonicalDigest }, options: verified.options },
    };
  }
  const compared = report.variations.flatMap((variation) => (variation.report ? [{ variation, report: variation.report }] : []));
  const first = compared[0];
  if (!first) throw usageError('--attest: no variation was compared, so no build was verified');
  const failed = compared.filter(({ variation }) => !variation.passed).map(({ variation }) => variation.name);
  const verdict = failed.length > 0 ? 'not-reproducible' : compared.every(({ report: each }) => each.verdict === 'identical') ? 'identical' : 'reproducible';
  return {
    subject: [
      imageSubject({ ...first.report.a, reference: report.baseline.archive ?? 'baseline' }),
      ...compared.map(({ variation, report: each }) => imageSubject({ ...each.b, reference: variation.archive ?? variation.name })),
    ],
    resource: report.context,
    result: {
      ...base,
      verdict,
      reason:
        failed.length > 0
          ? `not reproducible under ${failed.join(', ')} (${failed.length} of ${compared.length} variations)`
          : `reproducible under every variation compared (${compared.map(({ variation }) => variation.name).join(', ')})`,
      canonicalDigest: { baseline: first.report.a.canonicalDigest },
      builds: compared.map(({ variation, report: each }) => ({ variation: variation.name, canonicalDigest: each.b.canonicalDigest, verdict: each.verdict })),
      options: first.report.options,
    },
  };
}

/** The same image named twice (verify A A) is one subject; names stay unique, as the Statement spec asks. */
function uniqueSubjects(subjects: ResourceDescriptor[]): ResourceDescriptor[] {
  const seen = new Set<string>();
  return subjects.filter((subject) => {
    const key = `${subject.name}\n${JSON.stringify(subject.digest)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The statement as written to a file and pushed: two-space JSON and a newline. */
export function serializeAttestation(statement: Statement): Buffer {
  return Buffer.from(`${JSON.stringify(statement, null, 2)}\n`, 'utf8');
}
