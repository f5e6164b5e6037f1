// The verify result as an in-toto Statement v1 with a SLSA verification summary predicate, checked
// against schema/attestation.schema.json (which encodes the fields both specs require).
import { describe, expect, it } from 'vitest';
import { buildAttestation, canonicalExtension, digestSet, serializeAttestation, type Statement } from '../../src/report/attestation.js';
import type { ExpectReport } from '../../src/report/expect-model.js';
import type { IndexReport } from '../../src/report/index-model.js';
import type { Report } from '../../src/report/model.js';
import { validateAgainst } from '../helpers/report-schema.js';
import { buildFixedReport, fakeDigest } from './fixed-report.js';

const time = new Date('2026-01-02T03:04:05.678Z');
const tool = { name: 'oci-repro', version: '1.2.3' };
const validate = (statement: unknown) => validateAgainst('attestation.schema.json', statement);
/** Through JSON, as a consumer reads the file. */
const reread = (statement: Statement) => JSON.parse(serializeAttestation(statement).toString('utf8')) as Statement;

function passingReport(): Report {
  const report = buildFixedReport([]);
  return { ...report, verdict: 'reproducible', passed: true, reason: 'equal after normalization', options: { ...report.options, policy: null } };
}

describe('buildAttestation', () => {
  it('a failed gate: FAILED, both images as subjects by manifest digest, the policy file by digest', () => {
    const report = buildFixedReport();
    expect(report.passed).toBe(false);
    const statement = reread(buildAttestation(report, { time, tool, policy: { uri: 'file:///ci/policy.yaml', sha256: 'ab'.repeat(32) } }));
    expect(validate(statement)).toEqual([]);
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.predicateType).toBe('https://slsa.dev/verification_summary/v1');
    expect(statement.subject).toEqual([
      { name: report.a.reference, digest: digestSet(report.a.manifestDigest!) },
      { name: report.b.reference, digest: digestSet(report.b.manifestDigest!) },
    ]);
    const { predicate } = statement;
    expect(predicate.verificationResult).toBe('FAILED');
    expect(predicate.verifiedLevels).toEqual(['FAILED']);
    expect(predicate.verifier).toEqual({ id: 'pkg:npm/oci-repro@1.2.3', version: { 'oci-repro': '1.2.3' } });
    expect(predicate.timeVerified).toBe('2026-01-02T03:04:05.678Z');
    expect(predicate.resourceUri).toBe(report.a.reference);
    expect(predicate.policy).toEqual({ uri: 'file:///ci/policy.yaml', digest: { sha256: 'ab'.repeat(32) } });
    expect(predicate[canonicalExtension]).toMatchObject({
      kind: 'verify',
      verdict: 'not-reproducible',
      canonicalDigest: { a: report.a.canonicalDigest, b: report.b.canonicalDigest },
    });
  });

  it('a passing gate: PASSED with the verdict as a custom level, and the built-in gate as the policy', () => {
    const statement = reread(buildAttestation(passingReport(), { time, tool }));
    expect(validate(statement)).toEqual([]);
    expect(statement.predicate.verificationResult).toBe('PASSED');
    expect(statement.predicate.verifiedLevels).toEqual(['OCI_REPRO_REPRODUCIBLE']);
    expect(statement.predicate.policy).toEqual({ uri: 'urn:oci-repro:gate:reproducible' });
    const strict = { ...passingReport(), verdict: 'identical' as const };
    strict.options = { ...strict.options, strict: true };
    const identical = buildAttestation(strict, { time, tool });
    expect(identical.predicate.verifiedLevels).toEqual(['OCI_REPRO_IDENTICAL']);
    expect(identical.predicate.policy.uri).toBe('urn:oci-repro:gate:identical');
  });

  it('an image without a manifest (legacy docker-archive) is named by its image ID, and says so', () => {
    const report = passingReport();
    report.b = { ...report.b, reference: 'docker-archive:legacy.tar', manifestDigest: null };
    const statement = buildAttestation(report, { time, tool, toUri: (reference) => `x-test:${reference}` });
    expect(validate(reread(statement))).toEqual([]);
    expect(statement.subject[1]!.digest).toEqual(digestSet(report.b.imageId));
    expect(statement.subject[1]!.annotations?.['oci-repro.digest']).toMatch(/image ID/);
    expect(statement.predicate.resourceUri).toBe(`x-test:${report.a.reference}`);
  });

  it('the same image given twice is one subject', () => {
    const report = passingReport();
    report.b = { ...report.b, reference: report.a.reference, manifestDigest: report.a.manifestDigest };
    expect(buildAttestation(report, { time, tool }).subject).toHaveLength(1);
  });

  it('an index comparison: the index digests as subjects, each platform canonical digests', () => {
    const single = passingReport();
    const side = (s: 'a' | 'b') => ({
      reference: `docker://r.example/app:${s}`,
      indexDigest: fakeDigest(`${s}-index`),
      indexMediaType: 'application/vnd.oci.image.index.v1+json',
      canonicalDigest: fakeDigest(`${s}-canonical-index`),
      manifests: [],
    });
    const report: IndexReport = {
      schemaVersion: 1,
      tool: single.tool,
      kind: 'index',
      verdict: 'reproducible',
      reason: 'every platform is equal after normalization',
      passed: true,
      options: single.options,
      a: side('a'),
      b: side('b'),
      platforms: [{ platform: 'linux/amd64', presence: 'both', verdict: 'reproducible', passed: true, reason: '', canonicalDigest: { a: fakeDigest('p'), b: fakeDigest('p') }, report: single }],
    };
    const statement = reread(buildAttestation(report, { time, tool }));
    expect(validate(statement)).toEqual([]);
    expect(statement.subject.map((subject) => subject.digest)).toEqual([digestSet(report.a.indexDigest), digestSet(report.b.indexDigest)]);
    expect(statement.predicate[canonicalExtension].platforms).toEqual([{ platform: 'linux/amd64', a: fakeDigest('p'), b: fakeDigest('p') }]);
  });

  it('an --expect report: one subject, the canonical digest found and the one expected', () => {
    const side = passingReport().a;
    const report: ExpectReport = {
      schemaVersion: 1,
      tool: { name: 'oci-repro', version: '1.2.3' },
      kind: 'expect',
      verdict: 'differs',
      passed: false,
      reason: 'the canonical digest differs',
      expected: { canonicalDigest: fakeDigest('release'), source: 'release.json' },
      image: { ...side, canonicalDigest: side.canonicalDigest! },
    };
    const statement = reread(buildAttestation(report, { time, tool }));
    expect(validate(statement)).toEqual([]);
    expect(statement.subject).toHaveLength(1);
    expect(statement.predicate.policy.uri).toBe('urn:oci-repro:gate:expect');
    expect(statement.predicate[canonicalExtension].canonicalDigest).toEqual({ actual: side.canonicalDigest, expected: fakeDigest('release') });
  });
});

describe('schema/attestation.schema.json', () => {
  const good = () => reread(buildAttestation(passingReport(), { time, tool }));

  it('refuses what the in-toto and VSA specs do not allow', () => {
    const cases: [string, (s: Record<string, any>) => void, RegExp][] = [
      ['a v0.1 statement', (s) => (s._type = 'https://in-toto.io/Statement/v0.1'), /_type/],
      ['a subject without digest', (s) => delete s.subject[0].digest, /subject\/0/],
      ['a policy without uri', (s) => delete s.predicate.policy.uri, /policy/],
      ['a result that is neither PASSED nor FAILED', (s) => (s.predicate.verificationResult = 'OK'), /verificationResult/],
      ['a custom level starting with SLSA_', (s) => (s.predicate.verifiedLevels = ['SLSA_REPRODUCIBLE']), /verifiedLevels/],
      ['no timeVerified', (s) => delete s.predicate.timeVerified, /timeVerified|predicate/],
      ['no canonical result', (s) => delete s.predicate[canonicalExtension], /predicate/],
    ];
    expect(validate(good())).toEqual([]);
    for (const [what, spoil, error] of cases) {
      const statement = good() as unknown as Record<string, any>;
      spoil(statement);
      const errors = validate(statement);
      expect(errors.length, what).toBeGreaterThan(0);
      expect(errors.join('\n'), what).toMatch(error);
    }
  });
});
