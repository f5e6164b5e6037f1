/**
 * Smoke tests of the real-tool helpers: if these fail, every test that uses buildah, skopeo, umoci or
 * the registry as an oracle is suspect. Outside CI they skip when a tool is missing; with CI=true
 * they fail.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildahBuild,
  buildahPush,
  cleanupTempDirs,
  makeTempDir,
  runTool,
  sha256File,
  skipWithoutTools,
  skopeoCopy,
  skopeoInspectConfig,
  skopeoInspectRaw,
  umociUnpack,
  type BuildahBuild,
  type ManifestJson,
} from '../helpers/real-tools.js';
import { startRegistry } from '../helpers/registry.js';

const T = { timeout: 60_000 };

const DOCKERFILE = `FROM scratch
COPY hello.txt /hello.txt
ENV GREETING=hello
COPY bin/run.sh /bin/run.sh
LABEL org.example.purpose=smoke
`;
const CONTEXT = {
  'hello.txt': 'hello, world\n',
  'bin/run.sh': { data: '#!/bin/sh\necho "$GREETING"\n', mode: 0o755 },
};

/** The single manifest of an OCI layout, as index.json names it. */
async function ociLayoutManifest(dir: string): Promise<{ digest: string; manifest: ManifestJson }> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ManifestJson;
  const digest = index.manifests![0]!.digest;
  const bytes = await readFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
  return { digest, manifest: JSON.parse(bytes.toString('utf8')) as ManifestJson };
}

describe.skipIf(skipWithoutTools('buildah', 'skopeo', 'umoci', 'sha256sum', 'tar'))('buildah + skopeo + umoci', () => {
  let build: BuildahBuild;
  let out: string;

  beforeAll(async () => {
    out = await makeTempDir('oci-repro-smoke-');
    build = await buildahBuild({ dockerfile: DOCKERFILE, context: CONTEXT, format: 'oci', noCache: true });
    await buildahPush(build, `docker-archive:${join(out, 'image.tar')}:smoke:latest`);
    await buildahPush(build, `oci-archive:${join(out, 'image-oci.tar')}:latest`);
    await buildahPush(build, `oci:${join(out, 'layout')}:latest`);
  }, 120_000);

  afterAll(async () => {
    await build?.cleanup();
    await cleanupTempDirs();
  });

  it('builds an OCI image with two layers, the ENV and the LABEL', T, async () => {
    expect(build.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const { json: config, bytes } = await skopeoInspectConfig(`oci:${join(out, 'layout')}:latest`);
    expect(config.rootfs?.diff_ids).toHaveLength(2);
    expect(config.config?.Env).toContain('GREETING=hello');
    expect(config.config?.Labels).toMatchObject({ 'org.example.purpose': 'smoke' });
    // The image ID is the digest of the config bytes: checks that --raw really gives the stored bytes.
    const configFile = join(out, 'layout', 'blobs', 'sha256', build.imageId.slice(7));
    expect(await sha256File(configFile)).toBe(build.imageId);
    expect(bytes.equals(await readFile(configFile))).toBe(true);
  });

  it('writes all three export formats, and skopeo reads each', T, async () => {
    const refs = {
      docker: `docker-archive:${join(out, 'image.tar')}`,
      ociArchive: `oci-archive:${join(out, 'image-oci.tar')}:latest`,
      ociDir: `oci:${join(out, 'layout')}:latest`,
    };
    expect(existsSync(join(out, 'image.tar'))).toBe(true);
    expect(existsSync(join(out, 'image-oci.tar'))).toBe(true);
    expect(existsSync(join(out, 'layout', 'index.json'))).toBe(true);

    const docker = await skopeoInspectRaw(refs.docker);
    expect(docker.json.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(docker.json.layers).toHaveLength(2);
    for (const ref of [refs.ociArchive, refs.ociDir]) {
      const { json } = await skopeoInspectRaw(ref);
      expect(json.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(json.config?.digest).toBe(build.imageId);
      expect(json.layers).toHaveLength(2);
    }
  });

  it('sha256sum of every blob equals its digest in the manifest', T, async () => {
    const layout = join(out, 'layout');
    const { digest, manifest } = await ociLayoutManifest(layout);
    const raw = await skopeoInspectRaw(`oci:${layout}:latest`);
    const manifestFile = join(layout, 'blobs', 'sha256', digest.slice(7));
    expect(raw.bytes.equals(await readFile(manifestFile))).toBe(true);
    expect(await sha256File(manifestFile)).toBe(digest);
    for (const layer of manifest.layers!) {
      expect(await sha256File(join(layout, 'blobs', 'sha256', layer.digest.slice(7)))).toBe(layer.digest);
    }

    // docker-archive stores layers uncompressed as <diff_id>.tar, and skopeo reports those digests.
    const unpacked = await makeTempDir('oci-repro-smoke-tar-');
    await runTool('tar', ['-xf', join(out, 'image.tar'), '-C', unpacked]);
    const docker = await skopeoInspectRaw(`docker-archive:${join(out, 'image.tar')}`);
    for (const layer of docker.json.layers!) {
      expect(await sha256File(join(unpacked, `${layer.digest.slice(7)}.tar`))).toBe(layer.digest);
    }
  });

  it('skopeo copy converts between transports and keeps the OCI config bytes', T, async () => {
    const dest = join(out, 'copied');
    await skopeoCopy(`oci-archive:${join(out, 'image-oci.tar')}:latest`, `oci:${dest}:copy`);
    const { json } = await skopeoInspectRaw(`oci:${dest}:copy`);
    expect(json.config?.digest).toBe(build.imageId);
  });

  it('umoci unpacks the layout to the files the Dockerfile copied', T, async () => {
    const bundle = join(await makeTempDir('oci-repro-umoci-'), 'bundle');
    const { rootfs } = await umociUnpack(join(out, 'layout'), 'latest', bundle);
    expect((await readdir(rootfs)).sort()).toEqual(['bin', 'hello.txt']);
    expect(await readFile(join(rootfs, 'hello.txt'), 'utf8')).toBe('hello, world\n');
    expect(await readFile(join(rootfs, 'bin', 'run.sh'), 'utf8')).toContain('echo');
  });
});

describe.skipIf(skipWithoutTools('docker-registry', 'skopeo', 'buildah', 'perl', 'openssl'))('docker-registry', () => {
  afterAll(cleanupTempDirs);

  it('pushes to and reads from a plain http registry', T, async () => {
    const registry = await startRegistry();
    let build: BuildahBuild | undefined;
    try {
      build = await buildahBuild({ dockerfile: DOCKERFILE, context: CONTEXT, format: 'oci', noCache: true });
      const out = await makeTempDir('oci-repro-reg-');
      await buildahPush(build, `oci:${join(out, 'layout')}:latest`);
      await skopeoCopy(`oci:${join(out, 'layout')}:latest`, `docker://${registry.host}/smoke/hello:1`, registry.skopeoArgs('dest'));
      const { json } = await skopeoInspectRaw(`docker://${registry.host}/smoke/hello:1`, registry.skopeoArgs(''));
      expect(json.config?.digest).toBe(build.imageId);
    } finally {
      await build?.cleanup();
      await registry.stop();
    }
  });

  it('serves https with htpasswd auth and refuses anonymous reads', T, async () => {
    const registry = await startRegistry({ auth: 'htpasswd', tls: true });
    try {
      expect(registry.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const out = await makeTempDir('oci-repro-reg-');
      const build = await buildahBuild({ dockerfile: DOCKERFILE, context: CONTEXT, format: 'oci', noCache: true });
      await buildahPush(build, `oci:${join(out, 'layout')}:latest`);
      await build.cleanup();
      const ref = `docker://${registry.host}/smoke/auth:1`;
      await skopeoCopy(`oci:${join(out, 'layout')}:latest`, ref, registry.skopeoArgs('dest'));
      const { json } = await skopeoInspectRaw(ref, registry.skopeoArgs(''));
      expect(json.layers).toHaveLength(2);
      await expect(skopeoInspectRaw(ref, [`--cert-dir=${registry.tls!.certDir}`])).rejects.toThrow(/unauthorized|authentication required/i);
    } finally {
      await registry.stop();
    }
  });
});
