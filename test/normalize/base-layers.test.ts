// normalize and verify --base / --base-layers: the base's layers kept byte for byte, the rest normalized.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { normalizeImage, type NormalizeResult } from '../../src/app/normalize.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { verifyImages } from '../../src/app/verify.js';
import { TempDir, type BuiltImage } from '../helpers/images.js';
import { sha256Of } from '../helpers/digest.js';
import { buildFixture, withManifestAnnotations, writeInForm, type FixtureSpec } from '../helpers/noise.js';
import { buildahBuild, buildahPush, cleanupTempDirs, runTool, skipWithoutTools, type BuildahBuild } from '../helpers/real-tools.js';
import type { TestEntry } from '../helpers/tar.js';
import { startRegistry } from '../helpers/registry.js';
import { runCli } from '../helpers/cli.js';
import { caughtError } from '../helpers/errors.js';

const baseDate = '2020-02-02T02:02:02Z';
// Another base was built at another time: its files' mtimes differ too (a difference normalization would neutralize).
const baseEntries = (os: string): TestEntry[] => {
  const mtime = new Date(os === 'debian' ? baseDate : '2021-03-03T03:03:03Z');
  return [
    { name: 'etc/', type: 'directory', mtime },
    { name: 'etc/os-release', content: `ID=${os}\n`, mtime },
  ];
};

/** A one-layer base, as it was pushed to a registry. */
function baseSpec(os = 'debian'): FixtureSpec {
  return { layers: [{ entries: baseEntries(os), createdBy: `ADD rootfs-${os}.tar /` }], created: baseDate };
}

/** A build on the base: the base's layer and history entry, then one layer of its own built at `buildTime`. */
function childSpec(buildTime: string, os = 'debian'): FixtureSpec {
  return {
    layers: [
      { entries: baseEntries(os), createdBy: `ADD rootfs-${os}.tar /` },
      { entries: [{ name: 'app/', type: 'directory', mtime: new Date(buildTime) }, { name: 'app/run', content: 'run\n', mtime: new Date(buildTime) }], createdBy: 'COPY run /app/run' },
    ],
    created: buildTime,
    editConfig: (config) => {
      config.history[0].created = baseDate;
    },
  };
}

/** The manifest and config of a written OCI layout, and the sha256 of each layer blob file. */
async function readLayout(path: string) {
  const index = JSON.parse(await readFile(join(path, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const blob = (digest: string) => readFile(join(path, 'blobs', 'sha256', digest.slice(7)));
  const manifest = JSON.parse((await blob(index.manifests[0].digest)).toString()) as {
    config: { digest: string };
    layers: { digest: string; mediaType: string }[];
  };
  const config = JSON.parse((await blob(manifest.config.digest)).toString()) as {
    rootfs: { diff_ids: string[] };
    history: { created: string }[];
  };
  const fileDigests = await Promise.all(manifest.layers.map(async (layer) => sha256Of(await blob(layer.digest))));
  return { manifest, config, fileDigests };
}

let dir: TempDir;
let base: BuiltImage;
let baseRef: string;
let child: BuiltImage;
let childRef: string;
let rebuildRef: string;
let otherBaseChildRef: string;

beforeAll(async () => {
  dir = await TempDir.create();
  base = await buildFixture(baseSpec());
  baseRef = await writeInForm(dir, 'base', base, 'oci directory');
  child = await buildFixture(childSpec('2024-05-01T10:00:00Z'));
  childRef = await writeInForm(dir, 'child', child, 'oci directory');
  rebuildRef = await writeInForm(dir, 'rebuild', await buildFixture(childSpec('2024-05-02T11:00:00Z')), 'oci directory');
  otherBaseChildRef = await writeInForm(dir, 'other-base-child', await buildFixture(childSpec('2024-05-02T11:00:00Z', 'alpine')), 'oci directory');
});
afterAll(async () => {
  await dir.remove();
  await cleanupTempDirs();
});

const normalize = (source: string, extra: Partial<Parameters<typeof normalizeImage>[0]> = {}) =>
  normalizeImage({ source, normalize: defaultNormalizeOptions, ...extra });

describe('normalize --base-layers N', () => {
  it('the child really shares the base layer blob (the fixture is what a pull gives)', () => {
    expect(child.layers[0].digest).toBe(base.layers[0].digest);
  });

  it('without it layer 0 is rewritten (new blob); with --base-layers 1 its blob, diff_id and date stay, layer 1 is normalized', async () => {
    const plain = dir.join('plain.oci');
    await normalize(childRef, { output: `oci:${plain}` });
    const before = await readLayout(plain);
    expect(before.manifest.layers[0].digest).not.toBe(child.layers[0].digest);
    expect(before.config.history[0].created).toBe('1970-01-01T00:00:00Z');

    const kept = dir.join('kept.oci');
    const result = await normalize(childRef, { output: `oci:${kept}`, base: { kind: 'layers', count: 1 } });
    const after = await readLayout(kept);
    // Byte for byte: the written file hashes to the input blob's digest.
    expect(after.manifest.layers[0].digest).toBe(child.layers[0].digest);
    expect(after.fileDigests[0]).toBe(child.layers[0].digest);
    expect(after.config.rootfs.diff_ids[0]).toBe(child.layers[0].diffId);
    expect(after.config.history[0].created).toBe(baseDate);
    // Layer 1 is normalized exactly as without the flag.
    expect(after.manifest.layers[1].digest).toBe(before.manifest.layers[1].digest);
    expect(after.manifest.layers[1].digest).not.toBe(child.layers[1].digest);
    expect(after.config.history[1].created).toBe('1970-01-01T00:00:00Z');
    expect(result.layers.map((layer) => layer.kept ?? false)).toEqual([true, false]);
    expect(result.layers[0].canonicalDiffId).toBe(child.layers[0].diffId);
    expect(result.output?.configDigest).toBe(result.canonicalDigest);
    expect(result.applied.flatMap((rule) => rule.paths)).not.toContain('/history/0/created');
  });

  it('two rebuilds on the same base keep their equal canonical digest', async () => {
    const [a, b] = await Promise.all([childRef, rebuildRef].map((ref) => normalize(ref, { base: { kind: 'layers', count: 1 } })));
    expect(a.canonicalDigest).toBe(b.canonicalDigest);
  });

  it('a Docker-schema base layer keeps its blob; its media type is the OCI one of the same compression', async () => {
    const docker = await buildFixture({ ...childSpec('2024-05-01T10:00:00Z'), mediaTypes: 'docker' });
    const ref = await writeInForm(dir, 'docker-child', docker, 'oci directory');
    const out = dir.join('docker-kept.oci');
    await normalize(ref, { output: `oci:${out}`, base: { kind: 'layers', count: 1 } });
    const written = await readLayout(out);
    expect(docker.layers[0].mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect(written.manifest.layers[0]).toMatchObject({ digest: docker.layers[0].digest, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
  });

  it('more layers than the image has: exit 3', async () => {
    const error = await caughtError(normalize(childRef, { base: { kind: 'layers', count: 3 } }));
    expect(error.exitCode).toBe(3);
  });
});

describe('normalize --base REF', () => {
  it('on the real base: the base layer is kept, and the same result as --base-layers 1', async () => {
    const byRef = await normalize(childRef, { base: { kind: 'reference', reference: baseRef } });
    const byCount = await normalize(childRef, { base: { kind: 'layers', count: 1 } });
    expect(byRef.canonicalDigest).toBe(byCount.canonicalDigest);
    expect(byRef.base).toMatchObject({ layers: 1, history: 1, source: 'reference', reference: baseRef, manifestDigest: base.manifest.digest });
  });

  it('on another base: exit 3, "A is not built on REF: layer 0 differs", nothing written', async () => {
    const otherBase = await writeInForm(dir, 'other-base', await buildFixture(baseSpec('alpine')), 'oci directory');
    const out = dir.join('not-written.oci');
    const error = await caughtError(normalize(childRef, { base: { kind: 'reference', reference: otherBase }, output: `oci:${out}` }));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain(`${childRef} is not built on ${otherBase}: layer 0 differs`);
    await expect(readFile(join(out, 'index.json'))).rejects.toThrow();
  });

  it('through the binary: the text names the kept base; a wrong base exits 3 with one line', async () => {
    const run = await runCli(['normalize', childRef, '--base', baseRef], { cwd: dir.path });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/layer 0 diff_id .*\(base layer, kept as is\)/);
    expect(run.stdout).toContain(`base              ${baseRef} (1 layer, 1 history entry kept as is)`);
    const wrong = await runCli(['normalize', childRef, '--base', otherBaseChildRef], { cwd: dir.path });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1);
    const both = await runCli(['normalize', childRef, '--base', baseRef, '--base-layers', '1'], { cwd: dir.path });
    expect(both.code).toBe(2);
  });
});

describe('normalize --base auto', () => {
  it('uses the base the annotations name when it checks out, and says so', async () => {
    const annotated = withManifestAnnotations(child, {
      'org.opencontainers.image.base.name': baseRef,
      'org.opencontainers.image.base.digest': base.manifest.digest,
    });
    const ref = await writeInForm(dir, 'annotated', annotated, 'oci directory');
    const result: NormalizeResult = await normalize(ref, { base: { kind: 'auto' } });
    expect(result.base).toMatchObject({ source: 'annotation', layers: 1, annotation: { verdict: 'names this base' } });
  });

  it('an intermediate digest (buildah --layers) is reported as not naming the base', async () => {
    const annotated = withManifestAnnotations(child, {
      'org.opencontainers.image.base.name': baseRef,
      'org.opencontainers.image.base.digest': `sha256:${'1'.repeat(64)}`,
    });
    const ref = await writeInForm(dir, 'intermediate', annotated, 'oci directory');
    const result = await normalize(ref, { base: { kind: 'auto' } });
    expect(result.base?.annotation?.verdict).toMatch(/not this base .*: not used/);
  });

  it('without annotations: exit 3 naming the flags to use', async () => {
    const error = await caughtError(normalize(childRef, { base: { kind: 'auto' } }));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('--base REF');
  });
});

describe('verify --base-layers: same or different base', () => {
  it('two builds on the same base: reproducible', async () => {
    const report = await verifyImages({ a: childRef, b: rebuildRef, normalize: defaultNormalizeOptions, base: { kind: 'layers', count: 1 } });
    expect(report.verdict).toBe('reproducible');
  });

  it('on different bases: not reproducible, and the differences in the base layer name the base cause', async () => {
    const without = await verifyImages({ a: childRef, b: otherBaseChildRef, normalize: defaultNormalizeOptions });
    expect(without.differences.some((difference) => difference.cause?.id === 'base-image')).toBe(false);

    const report = await verifyImages({ a: childRef, b: otherBaseChildRef, normalize: defaultNormalizeOptions, base: { kind: 'layers', count: 1 } });
    expect(report.verdict).toBe('not-reproducible');
    const remaining = report.differences.filter((difference) => !difference.neutralized);
    expect(remaining.length).toBeGreaterThan(0);
    for (const difference of remaining) expect(difference.cause?.id, difference.path).toBe('base-image');
    expect(report.differences.find((difference) => difference.path === '/rootfs/diff_ids/0')?.cause?.id).toBe('base-image');
    expect(report.differences.find((difference) => difference.file === 'etc/os-release')?.hint).toContain('pin the base by digest');
    // The base layer is kept as is: nothing in it is neutralized, its mtimes included.
    expect(report.differences.find((difference) => difference.path === 'layers/0/etc/os-release#mtime')?.neutralized).toBe(false);
    expect(without.differences.find((difference) => difference.path === 'layers/0/etc/os-release#mtime')?.neutralized).toBe(true);
    expect(report.differences.filter((difference) => difference.layer === 0 && difference.neutralized)).toEqual([]);
  });

  it('--base REF on verify: A must be built on it, B on another base is a finding (exit 1), not an error', async () => {
    const run = await runCli(['verify', childRef, otherBaseChildRef, '--base', baseRef], { cwd: dir.path });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain('the base image changed');
    const refused = await runCli(['verify', otherBaseChildRef, childRef, '--base', baseRef], { cwd: dir.path });
    expect(refused.code).toBe(3);
  });
});

describe.skipIf(skipWithoutTools('buildah', 'skopeo'))('a real buildah pair on a base pulled from an OCI layout', () => {
  let baseBuild: BuildahBuild;
  const children: BuildahBuild[] = [];
  let baseLayout: string;

  beforeAll(async () => {
    baseBuild = await buildahBuild({ format: 'oci', dockerfile: 'FROM scratch\nCOPY os-release /etc/os-release\n', context: { 'os-release': 'ID=base\n' } });
    // buildah turns a FROM oci:PATH into an image name, which must be lower case: mkdtemp's suffix is not.
    baseLayout = join(tmpdir(), `oci-repro-base-${randomBytes(6).toString('hex')}`, 'layout');
    await mkdir(dirname(baseLayout));
    await buildahPush(baseBuild, `oci:${baseLayout}:base`);
    // Two no-cache builds a second apart: their own layer and history dates differ.
    for (const _ of [0, 1]) {
      children.push(
        await buildahBuild({ format: 'oci', dockerfile: `FROM oci:${baseLayout}:base\nCOPY run /app/run\nENV A=1\n`, context: { run: 'run\n' } }),
      );
      await new Promise((resolveWait) => setTimeout(resolveWait, 1100));
    }
  }, 180_000);
  afterAll(async () => {
    for (const build of [baseBuild, ...children]) await build?.cleanup();
    if (baseLayout) await rm(dirname(baseLayout), { recursive: true, force: true });
  });

  it('normalize --base keeps the base layer blob; verify --base of the two builds is reproducible', async () => {
    const refs: string[] = [];
    for (const [i, build] of children.entries()) {
      const layout = dir.join(`real-child-${i}.oci`);
      await buildahPush(build, `oci:${layout}:child`);
      refs.push(`oci:${layout}:child`);
    }
    const baseRef = `oci:${baseLayout}:base`;
    const baseIndex = JSON.parse(await readFile(join(baseLayout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const baseManifest = JSON.parse(await readFile(join(baseLayout, 'blobs', 'sha256', baseIndex.manifests[0].digest.slice(7)), 'utf8')) as {
      layers: { digest: string }[];
    };
    const out = dir.join('real-normalized.oci');
    const run = await runCli(['normalize', refs[0], '--base', baseRef, '--json', '--output', `oci:${out}`], { cwd: dir.path });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as NormalizeResult;
    expect(result.base?.layers).toBe(1);
    const written = await readLayout(out);
    expect(written.manifest.layers[0].digest).toBe(baseManifest.layers[0].digest);
    expect(written.fileDigests[0]).toBe(baseManifest.layers[0].digest);
    expect(written.manifest.layers[1].digest).not.toBe(baseManifest.layers[0].digest);
    // Without --base the base layer is rewritten into a blob no registry shares with the base.
    const rewritten = dir.join('real-rewritten.oci');
    const without = await runCli(['normalize', refs[0], '--output', `oci:${rewritten}`], { cwd: dir.path });
    expect(without.code, without.stderr).toBe(0);
    expect((await readLayout(rewritten)).manifest.layers[0].digest).not.toBe(baseManifest.layers[0].digest);

    const plain = await runCli(['verify', refs[0], refs[1], '--format', 'json'], { cwd: dir.path });
    const withBase = await runCli(['verify', refs[0], refs[1], '--base', baseRef, '--format', 'json'], { cwd: dir.path });
    expect(withBase.code, withBase.stderr).toBe(0);
    expect((JSON.parse(withBase.stdout) as { verdict: string }).verdict).toBe('reproducible');
    expect((JSON.parse(plain.stdout) as { verdict: string }).verdict).toBe('reproducible');
  }, 180_000);
});

describe.skipIf(skipWithoutTools('docker-registry', 'skopeo'))('--base on a registry base, pushed to the same registry', () => {
  it('the kept base layer is mounted from the base repository, not uploaded; the normalized layer is uploaded', async () => {
    const registry = await startRegistry();
    try {
      const baseTarget = `docker://${registry.host}/library/base:1`;
      await runTool('skopeo', ['copy', '--quiet', ...registry.skopeoArgs('dest'), baseRef, baseTarget]);
      const result = await normalize(childRef, {
        base: { kind: 'reference', reference: baseTarget },
        output: `docker://${registry.host}/team/app:1`,
        load: { tlsVerify: false },
      });
      expect(result.base?.layers).toBe(1);
      const actions = new Map(result.output?.blobs?.map((blob) => [blob.digest, blob.action]));
      expect(actions.get(child.layers[0].digest)).toBe('mounted');
      expect(actions.get(result.output!.layers[1].digest)).toBe('uploaded');
      // The pushed manifest lists the base's own blob.
      const raw = await runTool('skopeo', ['inspect', '--raw', ...registry.skopeoArgs(''), `docker://${registry.host}/team/app:1`]);
      expect((JSON.parse(raw.stdout.toString()) as { layers: { digest: string }[] }).layers[0].digest).toBe(base.layers[0].digest);
    } finally {
      await registry.stop();
    }
  }, 120_000);
});
