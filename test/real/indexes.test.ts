/**
 * Whole multi-platform indexes from real builds: two buildah builds of one Dockerfile (FROM scratch),
 * each for --arch amd64 and --arch arm64, made into a manifest list with `buildah manifest create/add`
 * and pushed with `buildah manifest push --all` to an OCI layout and to a real registry, as an OCI
 * index (build A) and as a Docker manifest list (`--format v2s2`, build B). Index against index must be
 * reproducible on every platform; a normalized index pushed to the registry reads back in skopeo.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeAny, type NormalizeIndexResult } from '../../src/app/normalize-index.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import type { IndexReport } from '../../src/report/index-model.js';
import { verifyAny } from '../../src/app/verify-index.js';
import {
  buildahBuild,
  buildahManifestCreate,
  buildahManifestPush,
  cleanupTempDirs,
  makeTempDir,
  skipWithoutTools,
  skopeoInspectRaw,
} from '../helpers/real-tools.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { validateReport } from '../helpers/report-schema.js';
import { runCli } from '../helpers/cli.js';

const T = { timeout: 120_000 };
const DOCKERFILE = `FROM scratch
COPY hello.txt /app/hello.txt
COPY bin/run.sh /app/run.sh
ENV GREETING=hello
CMD ["/app/run.sh"]
`;
const CONTEXT = { 'hello.txt': 'hello, world\n', 'bin/run.sh': { data: '#!/bin/sh\necho "$GREETING"\n', mode: 0o755 } };

interface Side {
  layout: string;
  registry: string;
}

/** One build of both platforms in one store, pushed as a list to an OCI layout and to the registry. */
async function buildSide(name: string, registry: RunningRegistry, format: 'oci' | 'v2s2'): Promise<Side> {
  const dir = await makeTempDir(`oci-repro-index-${name}-`);
  const store = { root: join(dir, 'root'), runroot: join(dir, 'runroot') };
  const images: string[] = [];
  for (const arch of ['amd64', 'arm64']) {
    const build = await buildahBuild({ dockerfile: DOCKERFILE, context: CONTEXT, format: 'oci', arch, store, name: `localhost/app-${name}-${arch}:latest` });
    images.push(build.name);
    await build.cleanup();
  }
  const list = `localhost/app-${name}-list:latest`;
  await buildahManifestCreate(store, list, images);
  const layout = join(dir, 'layout');
  await buildahManifestPush(store, list, `oci:${layout}:v1`);
  const registryRef = `docker://${registry.host}/app:${name}`;
  await buildahManifestPush(store, list, registryRef, ['--tls-verify=false', ...(format === 'v2s2' ? ['--format', 'v2s2'] : [])]);
  return { layout: `oci:${layout}:v1`, registry: registryRef };
}

describe.skipIf(skipWithoutTools('buildah', 'skopeo', 'docker-registry'))('indexes of real buildah builds', () => {
  let registry: RunningRegistry;
  let a: Side;
  let b: Side;

  beforeAll(async () => {
    registry = await startRegistry();
    a = await buildSide('a', registry, 'oci');
    // A second, later build: other creation dates, the same files.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    b = await buildSide('b', registry, 'v2s2');
  }, 240_000);

  afterAll(async () => {
    await registry?.stop();
    await cleanupTempDirs();
  });

  const load = { tlsVerify: false };
  const verdicts = (report: IndexReport) => report.platforms.map((p) => [p.platform, p.presence, p.verdict]);

  it('two builds pushed to OCI layouts: reproducible on every platform, not identical', T, async () => {
    const report = (await verifyAny({ a: a.layout, b: b.layout, normalize: defaultNormalizeOptions })) as IndexReport;
    expect(report.kind).toBe('index');
    expect(verdicts(report)).toEqual([
      ['linux/amd64', 'both', 'reproducible'],
      ['linux/arm64', 'both', 'reproducible'],
    ]);
    expect([report.verdict, report.passed]).toEqual(['reproducible', true]);
    expect(report.a.indexDigest).not.toBe(report.b.indexDigest);
    expect(report.a.canonicalDigest).toBe(report.b.canonicalDigest);
    expect(validateReport(report)).toEqual([]);
  });

  it('an OCI index against a Docker manifest list in the registry: reproducible on every platform', T, async () => {
    const raw = await skopeoInspectRaw(b.registry, registry.skopeoArgs(''));
    expect(raw.json.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    const report = (await verifyAny({ a: a.registry, b: b.registry, normalize: defaultNormalizeOptions, load })) as IndexReport;
    expect(report.a.indexMediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(report.b.indexMediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(verdicts(report).map(([, , verdict]) => verdict)).toEqual(['reproducible', 'reproducible']);
    expect(report.passed).toBe(true);
  });

  it('the CLI says so with exit 0', T, async () => {
    const run = await runCli(['verify', a.layout, b.registry, '--tls-verify=false'], { cwd: process.cwd() });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('(2 platforms), gate passed');
  });

  it('normalize --output docker:// pushes the index; skopeo reads it and its canonical index digest is the other build\'s', T, async () => {
    const target = `docker://${registry.host}/normalized:v1`;
    const pushed = (await normalizeAny({ source: a.registry, normalize: defaultNormalizeOptions, load, output: target })) as NormalizeIndexResult;
    expect(pushed.output).toMatchObject({ format: 'registry', mediaType: 'application/vnd.oci.image.index.v1+json' });
    const raw = await skopeoInspectRaw(target, registry.skopeoArgs(''));
    expect(raw.json.manifests?.map((m) => [m.platform?.architecture, m.digest])).toEqual(
      pushed.platforms.map((p) => [p.platform.split('/')[1], p.result.output!.manifestDigest]),
    );
    const other = (await normalizeAny({ source: b.layout, normalize: defaultNormalizeOptions })) as NormalizeIndexResult;
    expect(other.canonicalDigest).toBe(pushed.canonicalDigest);
    // Pushing the same index again sends nothing.
    const again = (await normalizeAny({ source: a.layout, normalize: defaultNormalizeOptions, load, output: target })) as NormalizeIndexResult;
    expect(again.output!.indexDigest).toBe(pushed.output!.indexDigest);
    expect(again.platforms.flatMap((p) => p.result.output!.blobs!.map((blob) => blob.action))).toEqual(['present', 'present', 'present', 'present', 'present', 'present']);
  });
});
