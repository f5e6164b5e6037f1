// verify --attest FILE and --attest-push through the real binary: the statement on disk validates
// against schema/attestation.schema.json, says what the report says, and lands in A's registry as a
// referrer of A's manifest (docker-registry 2.8: the fallback tag).
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalExtension, type Statement } from '../../src/report/attestation.js';
import type { Report } from '../../src/report/model.js';
import { pushImage } from '../../src/registry/push.js';
import { listReferrers } from '../../src/registry/referrers.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, TempDir } from '../helpers/images.js';
import { skipWithoutTools } from '../helpers/real-tools.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { validateAgainst } from '../helpers/report-schema.js';
import { makeTar } from '../helpers/tar.js';
import { writeImagePairs, type ImagePair, type PairName } from './fixtures.js';

let dir: TempDir;
let pairs: Record<PairName, ImagePair>;
const readStatement = async (name: string) => JSON.parse(await readFile(dir.join(name), 'utf8')) as Statement;
const leftovers = async () => (await readdir(dir.path)).filter((name) => name.includes('.tmp-'));

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-attest-');
  pairs = await writeImagePairs(dir);
});
afterAll(async () => dir?.remove());

// Each case spawns the CLI (a second or more of start-up, much more on a loaded machine).
describe('verify --attest FILE', { timeout: 120_000 }, () => {
  it('a reproducible pair: PASSED, valid against the schema, the canonical digests of the JSON report (computed, as --verify-blobs)', async () => {
    const { a, b } = pairs.reproducible;
    const run = await runCli(['verify', a, b, '--attest', 'repro.intoto.json', '--format', 'json'], { cwd: dir.path });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    const statement = await readStatement('repro.intoto.json');
    expect(validateAgainst('attestation.schema.json', statement)).toEqual([]);
    expect(statement.predicate.verificationResult).toBe('PASSED');
    expect(statement.predicate.verifiedLevels).toEqual(['OCI_REPRO_REPRODUCIBLE']);
    expect(statement.subject.map((subject) => `sha256:${subject.digest!.sha256}`)).toEqual([report.a.manifestDigest, report.b.manifestDigest]);
    expect(statement.predicate.resourceUri).toBe(a);
    expect(statement.predicate.verifier.id).toBe(`pkg:npm/oci-repro@${report.tool.version}`);
    const canonical = statement.predicate[canonicalExtension].canonicalDigest as { a: string; b: string };
    expect(canonical).toEqual({ a: report.a.canonicalDigest, b: report.b.canonicalDigest });
    expect(canonical.a).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(canonical.a).toBe(canonical.b);
    expect(await leftovers()).toEqual([]);
  });

  it('an identical pair: the canonical digests are computed all the same (without --attest they are not)', async () => {
    const { a, b } = pairs.identical;
    const plain = JSON.parse((await runCli(['verify', a, b, '--format', 'json'], { cwd: dir.path })).stdout) as Report;
    expect(plain.a.canonicalDigest).toBeNull();
    const run = await runCli(['verify', a, b, '--attest', 'identical.json'], { cwd: dir.path });
    expect(run.code).toBe(0);
    const statement = await readStatement('identical.json');
    expect(statement.predicate.verifiedLevels).toEqual(['OCI_REPRO_IDENTICAL']);
    expect((statement.predicate[canonicalExtension].canonicalDigest as { a: string | null }).a).toMatch(/^sha256:/);
  });

  it('a failing pair with a policy: FAILED, the policy file by its sha256, exit 1 as without --attest', async () => {
    const { a, b } = pairs['not-reproducible'];
    const policyText = 'version: 1\naccept:\n  - causes: [pyc-header]\n    reason: bytecode caches are rebuilt on first import\n';
    await writeFile(dir.join('policy.yaml'), policyText);
    const run = await runCli(['verify', a, b, '--policy', 'policy.yaml', '--attest', 'failed.json'], { cwd: dir.path });
    expect(run.code).toBe(1);
    const statement = await readStatement('failed.json');
    expect(validateAgainst('attestation.schema.json', statement)).toEqual([]);
    expect(statement.predicate.verificationResult).toBe('FAILED');
    expect(statement.predicate.verifiedLevels).toEqual(['FAILED']);
    expect(statement.predicate.policy.digest).toEqual({ sha256: createHash('sha256').update(policyText).digest('hex') });
    expect(statement.predicate.policy.uri).toBe(`file://${dir.join('policy.yaml')}`);
  });

  it('replaces an existing file whole, and with --expect attests the expected digest', async () => {
    const { a } = pairs.reproducible;
    await writeFile(dir.join('expect.json'), 'old content that is longer than nothing\n'.repeat(200));
    const digest = (JSON.parse(await readFile(dir.join('repro.intoto.json'), 'utf8')) as Statement).predicate[canonicalExtension].canonicalDigest as { a: string };
    const run = await runCli(['verify', a, '--expect', digest.a, '--attest', 'expect.json'], { cwd: dir.path });
    expect(run.code).toBe(0);
    const statement = await readStatement('expect.json');
    expect(validateAgainst('attestation.schema.json', statement)).toEqual([]);
    expect(statement.subject).toHaveLength(1);
    expect(statement.predicate.verifiedLevels).toEqual(['OCI_REPRO_EXPECTED_DIGEST']);
    expect(statement.predicate[canonicalExtension].canonicalDigest).toEqual({ actual: digest.a, expected: digest.a });
  });

  it('a path that cannot be written fails before any work: one line, exit 2, nothing written', async () => {
    const { a, b } = pairs.reproducible;
    await mkdir(dir.join('a-directory'), { recursive: true });
    for (const [target, pattern] of [
      ['missing-dir/out.json', /parent directory .* does not exist/],
      ['a-directory', /a directory/],
    ] as const) {
      const run = await runCli(['verify', a, b, '--attest', target], { cwd: dir.path });
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^oci-repro: error: [^\n]+\n$/);
      expect(run.stderr).toMatch(pattern);
    }
    expect(await leftovers()).toEqual([]);
  });

  it('--attest-push needs A in a registry: exit 2', async () => {
    const { a, b } = pairs.reproducible;
    const run = await runCli(['verify', a, b, '--attest-push'], { cwd: dir.path });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--attest-push: .* is not in a registry/);
  });
});

describe.skipIf(skipWithoutTools('docker-registry'))('verify --attest-push against docker-registry 2.8', { timeout: 120_000 }, () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => registry?.stop());

  it("pushes the statement as a referrer of A's manifest: the fallback tag lists it, its layer is the --attest file", async () => {
    const options = { tlsVerify: false, env: {} };
    const tar = await makeTar([{ name: 'app/', type: 'directory' }, { name: 'app/hello', content: 'hello\n' }]);
    // Two builds that differ only in their dates: reproducible.
    const image = (created: string) => {
      const built = buildImage({ created, layers: [{ tar }] });
      return { manifest: built.manifest, config: built.config, layers: built.layers.map((l) => ({ digest: l.digest, size: l.bytes.length, mediaType: l.mediaType, bytes: l.bytes })) };
    };
    const a = `docker://${registry.host}/team/app:a`;
    const b = `docker://${registry.host}/team/app:b`;
    const pushedA = await pushImage(a, image('2024-01-01T00:00:00Z'), options);
    await pushImage(b, image('2024-02-02T00:00:00Z'), options);

    const args = ['verify', a, b, '--tls-verify=false', '--attest', 'pushed.json', '--attest-push'];
    const first = await runCli(args, { cwd: dir.path });
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(new RegExp(`^oci-repro: attestation pushed: .*@sha256:[a-f0-9]{64} \\(subject ${pushedA.digest}, referrers tag sha256-[a-f0-9]{64}\\)\\n$`));
    const listed = await listReferrers(a, pushedA.digest, options);
    expect(listed.method).toBe('tag');
    expect(listed.referrers).toHaveLength(1);
    expect(listed.referrers[0]!.artifactType).toBe('application/vnd.in-toto+json');
    expect(listed.referrers[0]!.annotations?.['in-toto.io/predicate-type']).toBe('https://slsa.dev/verification_summary/v1');

    // The referrer's one layer is byte for byte the statement written to the file.
    const manifest = (await (await fetch(`${registry.url}/v2/team/app/manifests/${listed.referrers[0]!.digest}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as {
      layers: { digest: string }[];
    };
    const layer = Buffer.from(await (await fetch(`${registry.url}/v2/team/app/blobs/${manifest.layers[0]!.digest}`)).arrayBuffer());
    expect(layer.equals(await readFile(dir.join('pushed.json')))).toBe(true);

    // A second verify adds a second referrer (timeVerified differs), it does not replace the first.
    const second = await runCli(args.filter((arg) => arg !== '--attest' && arg !== 'pushed.json'), { cwd: dir.path });
    expect(second.code).toBe(0);
    expect((await listReferrers(a, pushedA.digest, options)).referrers).toHaveLength(2);
  });
});
