/**
 * `oci-repro rebuild --attest FILE` end to end with the real buildah: the statement names the builds
 * by the digests the report holds, carries their canonical digests, and follows the schema; with
 * --against a release in a real registry, --attest-push puts it beside the release as a referrer.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listReferrers } from '../../src/registry/referrers.js';
import { canonicalExtension, digestSet, type CanonicalResult, type Statement } from '../../src/report/attestation.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { cleanupTempDirs, skipWithoutTools } from '../helpers/real-tools.js';
import { validateAgainst } from '../helpers/report-schema.js';
import { parse, pushRelease, setup } from './setup.js';

afterAll(cleanupTempDirs);

describe.skipIf(skipWithoutTools('buildah'))('oci-repro rebuild --attest', () => {
  it('writes a FAILED statement: the baseline and the umask build as subjects, with their canonical digests', async () => {
    const { rebuild, dir } = await setup('FROM scratch\nCOPY hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
    const file = join(dir, 'rebuild.intoto.json');
    const run = await rebuild(['--vary', 'umask', '--attest', file, '--format', 'json']);
    expect(run.code, run.stderr).toBe(1);
    const report = parse(run);
    const umask = report.variations[0]!.report!;
    const statement = JSON.parse(await readFile(file, 'utf8')) as Statement;
    expect(validateAgainst('attestation.schema.json', statement)).toEqual([]);
    expect(statement.subject).toEqual([
      { name: 'baseline', digest: digestSet(umask.a.manifestDigest!) },
      { name: 'umask', digest: digestSet(umask.b.manifestDigest!) },
    ]);
    expect(statement.predicate.verificationResult).toBe('FAILED');
    expect(statement.predicate.resourceUri).toBe(`file://${report.context}`);
    const result = statement.predicate[canonicalExtension] as CanonicalResult;
    // --attest reads every layer: the canonical digests are computed, and differ (the modes do).
    expect(result.canonicalDigest).toEqual({ baseline: umask.a.canonicalDigest });
    expect(umask.a.canonicalDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.builds).toEqual([{ variation: 'umask', canonicalDigest: umask.b.canonicalDigest, verdict: 'not-reproducible' }]);
    expect(umask.b.canonicalDigest).not.toBe(umask.a.canonicalDigest);
    expect(run.leftInTmp).toEqual([]);
  }, 60_000);

  it('--attest-push without --against is a usage error before any build (exit 2)', async () => {
    const { rebuild } = await setup('FROM scratch\nCOPY hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
    const run = await rebuild(['--vary', 'clock', '--attest-push']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^oci-repro: error: --attest-push needs --against/);
  }, 30_000);
});

describe.skipIf(skipWithoutTools('buildah', 'skopeo', 'docker-registry'))('oci-repro rebuild --against --attest-push', () => {
  let registry: RunningRegistry;
  let release: string;
  beforeAll(async () => {
    registry = await startRegistry();
    release = await pushRelease(registry);
  }, 120_000);
  afterAll(async () => registry?.stop());

  it('PASSED: the release and the rebuild as subjects, pushed as a referrer of the release, the same bytes as the file', async () => {
    const { rebuild, dir } = await setup('FROM scratch\nCOPY hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
    const file = join(dir, 'against.intoto.json');
    const run = await rebuild(['--against', release, '--tls-verify=false', '--attest', file, '--attest-push', '--format', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const report = parse(run);
    const verified = report.against!.report;
    const statement = JSON.parse(await readFile(file, 'utf8')) as Statement;
    expect(validateAgainst('attestation.schema.json', statement)).toEqual([]);
    expect(statement.subject.map((subject) => subject.digest)).toEqual([digestSet(verified.a.manifestDigest!), digestSet(verified.b.manifestDigest!)]);
    expect(statement.subject[0]!.name).toBe(release);
    expect(statement.predicate.verificationResult).toBe('PASSED');
    expect(statement.predicate.resourceUri).toBe(release);
    expect(statement.predicate[canonicalExtension]).toMatchObject({ kind: 'rebuild', canonicalDigest: { a: verified.a.canonicalDigest, b: verified.b.canonicalDigest } });
    expect(verified.a.canonicalDigest).toMatch(/^sha256:/);
    const listed = await listReferrers(release, verified.a.manifestDigest!, { tlsVerify: false, env: {} });
    expect(listed.referrers).toHaveLength(1);
    expect(listed.referrers[0]!.artifactType).toBe('application/vnd.in-toto+json');
    const manifest = (await (await fetch(`${registry.url}/v2/hello/manifests/${listed.referrers[0]!.digest}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as {
      layers: { digest: string }[];
    };
    const layer = Buffer.from(await (await fetch(`${registry.url}/v2/hello/blobs/${manifest.layers[0]!.digest}`)).arrayBuffer());
    expect(layer.equals(await readFile(file))).toBe(true);
    expect(run.leftInTmp).toEqual([]);
  }, 120_000);
});
