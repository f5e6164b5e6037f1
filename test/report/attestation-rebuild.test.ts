// A rebuild as an in-toto statement: the builds (or the release and the rebuild) as subjects, checked
// against schema/attestation.schema.json.
import { describe, expect, it } from 'vitest';
import { attestationSubject, referenceUri } from '../../src/app/attest.js';
import { buildAttestation, canonicalExtension, digestSet, serializeAttestation, type Statement } from '../../src/report/attestation.js';
import type { Report } from '../../src/report/model.js';
import type { RebuildReport, VariationOutcome } from '../../src/report/rebuild-model.js';
import { validateAgainst } from '../helpers/report-schema.js';
import { buildFixedReport, fakeDigest } from './fixed-report.js';

const time = new Date('2026-01-02T03:04:05.678Z');
const tool = { name: 'oci-repro', version: '1.2.3' };
const validate = (statement: unknown) => validateAgainst('attestation.schema.json', statement);
const reread = (statement: Statement) => JSON.parse(serializeAttestation(statement).toString('utf8')) as Statement;

/** A verify report of the baseline (A) against one variation's build (B), each side with its own digests. */
function verified(name: string, passed: boolean): Report {
  const report = buildFixedReport(passed ? [] : undefined);
  const side = (which: string) => ({ manifestDigest: fakeDigest(`${which} manifest`), imageId: fakeDigest(`${which} config`), canonicalDigest: fakeDigest(`${which} canonical`) });
  return {
    ...report,
    verdict: passed ? 'reproducible' : 'not-reproducible',
    passed,
    a: { ...report.a, reference: 'oci-archive:/tmp/x/baseline.tar', ...side('baseline') },
    b: { ...report.b, reference: `oci-archive:/tmp/x/${name}.tar`, ...side(name) },
  };
}

function compared(name: VariationOutcome['name'], passed: boolean, extra: Partial<VariationOutcome> = {}): VariationOutcome {
  const report = verified(name, passed);
  return { name, description: name, when: `when ${name}`, status: 'compared', verdict: report.verdict, passed, remaining: [], causes: [], report, ...extra };
}

function rebuild(variations: VariationOutcome[], extra: Partial<RebuildReport> = {}): RebuildReport {
  return {
    schemaVersion: 1,
    kind: 'rebuild',
    tool: { name: 'oci-repro', version: '1.2.3' },
    context: '/ctx',
    dockerfile: '/ctx/Dockerfile',
    builder: 'buildah',
    passed: variations.every((v) => v.status === 'skipped' || v.passed),
    baseline: { buildSeconds: 1 },
    variations,
    differences: [],
    totalSeconds: 3,
    ...extra,
  };
}

describe('buildAttestation of a rebuild', () => {
  it('names the baseline and every compared build as subjects, by manifest digest; FAILED when a variation broke it', () => {
    const report = rebuild([
      compared('clock', true),
      compared('umask', false, { archive: '/keep/umask.tar' }),
      { name: 'env', description: 'env', when: 'when env', status: 'skipped', reason: 'not passed to RUN' },
    ]);
    const statement = reread(buildAttestation(report, { time, tool, toUri: referenceUri }));
    expect(validate(statement)).toEqual([]);
    expect(statement.subject).toEqual([
      { name: 'baseline', digest: digestSet(fakeDigest('baseline manifest')) },
      { name: 'clock', digest: digestSet(fakeDigest('clock manifest')) },
      { name: '/keep/umask.tar', digest: digestSet(fakeDigest('umask manifest')) },
    ]);
    expect(statement.predicate.resourceUri).toBe('file:///ctx');
    expect(statement.predicate.verificationResult).toBe('FAILED');
    expect(statement.predicate[canonicalExtension]).toMatchObject({
      kind: 'rebuild',
      verdict: 'not-reproducible',
      reason: 'not reproducible under umask (1 of 2 variations)',
      canonicalDigest: { baseline: fakeDigest('baseline canonical') },
      builds: [
        { variation: 'clock', canonicalDigest: fakeDigest('clock canonical'), verdict: 'reproducible' },
        { variation: 'umask', canonicalDigest: fakeDigest('umask canonical'), verdict: 'not-reproducible' },
      ],
    });
  });

  it('PASSED with the verdict as its level when every variation passed', () => {
    const statement = reread(buildAttestation(rebuild([compared('clock', true), compared('mtimes', true)]), { time, tool, toUri: referenceUri }));
    expect(validate(statement)).toEqual([]);
    expect(statement.predicate.verificationResult).toBe('PASSED');
    expect(statement.predicate.verifiedLevels).toEqual(['OCI_REPRO_REPRODUCIBLE']);
    expect(statement.predicate.policy).toEqual({ uri: 'urn:oci-repro:gate:reproducible' });
  });

  it('with --against: the release and the rebuild are the subjects, the release the resource and the referrer subject', () => {
    const release = verified('rebuilt', false);
    release.a = { ...release.a, reference: 'docker://127.0.0.1:5000/app:1.0' };
    const report = rebuild([], { passed: false, against: { reference: release.a.reference, report: release } });
    const statement = reread(buildAttestation(report, { time, tool }));
    expect(validate(statement)).toEqual([]);
    expect(statement.subject.map((subject) => subject.name)).toEqual(['docker://127.0.0.1:5000/app:1.0', 'rebuild of /ctx']);
    expect(statement.predicate.resourceUri).toBe('docker://127.0.0.1:5000/app:1.0');
    expect(statement.predicate[canonicalExtension]).toMatchObject({ kind: 'rebuild', verdict: 'not-reproducible', canonicalDigest: { a: release.a.canonicalDigest, b: release.b.canonicalDigest } });
    expect(attestationSubject(report)).toEqual({ reference: 'docker://127.0.0.1:5000/app:1.0', digest: release.a.manifestDigest });
    // Without --against the builds are in no registry: nothing to push beside.
    expect(() => attestationSubject(rebuild([compared('clock', true)]))).toThrow(/--attest-push needs --against/);
  });

  it('refuses a rebuild that compared nothing (every variation skipped), and the schema refuses a rebuild result without its builds', () => {
    const skipped = rebuild([{ name: 'env', description: 'env', when: 'when env', status: 'skipped', reason: 'no' }]);
    expect(() => buildAttestation(skipped, { time, tool })).toThrow(/no variation was compared/);
    const statement = reread(buildAttestation(rebuild([compared('clock', true)]), { time, tool, toUri: referenceUri })) as unknown as { predicate: Record<string, Record<string, unknown>> };
    delete statement.predicate[canonicalExtension]!.builds;
    expect(validate(statement).join('\n')).toMatch(/builds/);
  });
});
