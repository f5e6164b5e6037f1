// Push and pull against a real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1,
// with skopeo as the independent oracle.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage, type PushImage, type PushOptions } from '../../src/registry/push.js';
import type { OutputImage } from '../../src/sinks/output-image.js';
import { loadImage } from '../../src/sources/index.js';
import { loadRegistryImage } from '../../src/sources/registry.js';
import { buildImage, TempDir, type BuiltImage } from '../helpers/images.js';
import { makeTar } from '../helpers/tar.js';
import { skipWithoutTools, skopeoCopy, skopeoInspectRaw } from '../helpers/real-tools.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { sha256OfStream } from '../helpers/digest.js';
import { caughtError } from '../helpers/errors.js';

// The sinks' OutputImage must be pushable as it is.
const outputImageIsPushable = (image: OutputImage): PushImage => image;
void outputImageIsPushable;

let dir: TempDir;
let counter = 0;

/** A code-built image whose layers sit in files, as the sinks hand them over. */
async function makePushable(seed: string, mediaTypes: 'oci' | 'docker' = 'oci'): Promise<{ built: BuiltImage; push: PushImage }> {
  const built = buildImage({
    mediaTypes,
    layers: [
      { tar: await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/seed', content: `${seed}\n` }]), createdBy: 'COPY seed /etc/' },
      { tar: await makeTar([{ name: 'data.bin', content: Buffer.alloc(200_000, seed.length) }]), createdBy: 'COPY data.bin /' },
    ],
    config: { config: { Labels: { seed } } },
  });
  const layers = [];
  for (const layer of built.layers) {
    const path = dir.join(`layer-${counter++}.blob`);
    await writeFile(path, layer.bytes);
    layers.push({ digest: layer.digest, size: layer.bytes.length, mediaType: layer.mediaType, path });
  }
  return { built, push: { manifest: built.manifest, config: built.config, layers } };
}

/** Pull with our loader and check every link of the chain, streaming every layer. */
async function expectPullable(reference: string, built: BuiltImage, options: Record<string, unknown> = {}): Promise<void> {
  const loaded = await loadRegistryImage(reference, reference.slice('docker://'.length), options);
  try {
    expect(loaded.manifest?.digest).toBe(built.manifest.digest);
    expect(loaded.config.digest).toBe(built.config.digest);
    expect(loaded.layers.map((layer) => layer.descriptor.digest)).toEqual(built.layers.map((layer) => layer.digest));
    for (const [i, layer] of loaded.layers.entries()) expect(await sha256OfStream(await layer.openTar())).toBe(built.layers[i]!.diffId);
  } finally {
    await loaded.close();
  }
}

beforeAll(async () => {
  dir = await TempDir.create();
});
afterAll(async () => dir.remove());

describe.skipIf(skipWithoutTools('docker-registry', 'skopeo'))('a real registry over plain http on 127.0.0.1', () => {
  let registry: RunningRegistry;
  let image: Awaited<ReturnType<typeof makePushable>>;
  beforeAll(async () => {
    registry = await startRegistry();
    image = await makePushable('round-trip');
  });
  afterAll(async () => registry?.stop());

  it('our push, then our pull: same manifest, config and layer digests; skopeo sees the same bytes', async () => {
    const result = await pushImage(`docker://${registry.host}/team/app:v1`, image.push);
    expect(result.digest).toBe(image.built.manifest.digest);
    expect(result.blobs.map((blob) => blob.action)).toEqual(['uploaded', 'uploaded', 'uploaded']);
    await expectPullable(`docker://${registry.host}/team/app:v1`, image.built);
    await expectPullable(`docker://${registry.host}/team/app@${result.digest}`, image.built);
    const raw = await skopeoInspectRaw(`docker://${registry.host}/team/app:v1`, registry.skopeoArgs(''));
    expect(raw.bytes.equals(image.built.manifest.bytes)).toBe(true);
  });

  it('Docker schema 2 images keep their media types both ways', async () => {
    const docker = await makePushable('docker-family', 'docker');
    await pushImage(`docker://${registry.host}/docker-family:1`, docker.push);
    const raw = await skopeoInspectRaw(`docker://${registry.host}/docker-family:1`, registry.skopeoArgs(''));
    expect(raw.json.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const loaded = await loadImage(`docker://${registry.host}/docker-family:1`);
    expect(loaded.manifest?.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(loaded.manifest?.digest).toBe(docker.built.manifest.digest);
    await loaded.close();
  });

  it('skopeo copy to a docker-archive: our loader gives the same image ID for both', async () => {
    await pushImage(`docker://${registry.host}/team/app:v1`, image.push);
    const archive = join(dir.path, 'from-registry.tar');
    await skopeoCopy(`docker://${registry.host}/team/app:v1`, `docker-archive:${archive}:team/app:v1`, registry.skopeoArgs('src'));
    const fromArchive = await loadImage(`docker-archive:${archive}`);
    const fromRegistry = await loadImage(`docker://${registry.host}/team/app:v1`);
    expect(fromArchive.config.digest).toBe(fromRegistry.config.digest);
    expect(fromRegistry.config.digest).toBe(image.built.config.digest);
    expect(fromArchive.layers.map((layer) => layer.diffId)).toEqual(fromRegistry.layers.map((layer) => layer.diffId));
    await fromArchive.close();
    await fromRegistry.close();
  });

  it('pushing the same image twice sends no blob the second time', async () => {
    const fresh = await makePushable('twice');
    const count = async (options: PushOptions = {}) => {
      const requests: { method: string; url: string }[] = [];
      const result = await pushImage(`docker://${registry.host}/twice:1`, fresh.push, { ...options, onRequest: (r) => requests.push(r) });
      return { result, requests };
    };
    const first = await count();
    const second = await count();
    const blobWrites = (requests: { method: string; url: string }[]) =>
      requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD' && r.url.includes('/blobs/'));
    expect(blobWrites(first.requests)).toHaveLength(6); // POST + PUT for 2 layers and the config
    expect(blobWrites(second.requests)).toHaveLength(0);
    expect(second.result.blobs.map((blob) => blob.action)).toEqual(['present', 'present', 'present']);
    expect(second.result.digest).toBe(first.result.digest);
    // GET /v2/ over https (a loopback registry is tried with TLS first) and over http, HEAD per blob,
    // then a manifest HEAD that finds the same bytes under the tag: nothing is sent.
    expect(second.requests.map((r) => `${r.method} ${new URL(r.url).protocol}${new URL(r.url).pathname.replace(/sha256:\w+/, 'D')}`)).toEqual([
      'GET https:/v2/',
      'GET http:/v2/',
      'HEAD http:/v2/twice/blobs/D',
      'HEAD http:/v2/twice/blobs/D',
      'HEAD http:/v2/twice/blobs/D',
      'HEAD http:/v2/twice/manifests/1',
    ]);
    expect(first.result.manifest).toBe('uploaded');
    expect(second.result.manifest).toBe('present');
    console.info(`[double push] first: ${summarize(first.requests)}; second: ${summarize(second.requests)}`);
  });

  it('mounts blobs from another repository of the registry instead of uploading them', async () => {
    const base = await makePushable('mount-source');
    await pushImage(`docker://${registry.host}/base:1`, base.push);
    const requests: { method: string; url: string }[] = [];
    const result = await pushImage(`docker://${registry.host}/derived:1`, base.push, { mountFrom: ['base'], onRequest: (r) => requests.push(r) });
    expect(result.blobs.map((blob) => blob.action)).toEqual(['mounted', 'mounted', 'mounted']);
    expect(requests.filter((r) => r.method === 'PUT' && r.url.includes('/blobs/'))).toHaveLength(0);
    await expectPullable(`docker://${registry.host}/derived:1`, base.built);
  });

  it('an unknown tag or repository is exit 4 (not found)', async () => {
    const tag = await caughtError(loadImage(`docker://${registry.host}/team/app:no-such-tag`));
    expect(tag.code).toBe('NOT_FOUND');
    expect(tag.exitCode).toBe(4);
    expect(tag.message).toContain(`docker://${registry.host}/team/app:no-such-tag`);
    const repository = await caughtError(loadImage(`docker://${registry.host}/no/such/repo:1`));
    expect(repository.exitCode).toBe(4);
  });

  it('a stored blob whose bytes no longer match its digest is exit 3', async () => {
    const victim = await makePushable('corrupt-me');
    await pushImage(`docker://${registry.host}/corrupt:1`, victim.push);
    const layer = victim.built.layers[1]!;
    const hex = layer.digest.slice('sha256:'.length);
    const data = join(registry.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const bytes = await readFile(data);
    bytes[bytes.length - 30] ^= 0xff; // same length: only the digest can tell
    await writeFile(data, bytes);
    const loaded = await loadImage(`docker://${registry.host}/corrupt:1`);
    const error = await caughtError(sha256OfStream(await loaded.layers[1]!.openBlob()));
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain(layer.digest);
    await loaded.close();
  });
});

function summarize(requests: { method: string; url: string }[]): string {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const kind = `${r.method} ${/\/blobs\/uploads\//.test(r.url) ? 'upload' : /\/blobs\//.test(r.url) ? 'blob' : /\/manifests\//.test(r.url) ? 'manifest' : 'ping'}`;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return `${requests.length} requests (${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')})`;
}

describe.skipIf(skipWithoutTools('docker-registry'))('a real registry with htpasswd basic auth', () => {
  let registry: RunningRegistry;
  let image: Awaited<ReturnType<typeof makePushable>>;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd' });
    image = await makePushable('auth');
  });
  afterAll(async () => registry?.stop());

  it('the right credentials push and pull', async () => {
    const { username, password } = registry.credentials!;
    const options = { creds: `${username}:${password}`, env: {} };
    await pushImage(`docker://${registry.host}/private:1`, image.push, options);
    await expectPullable(`docker://${registry.host}/private:1`, image.built, options);
    await expectPullable(`docker://${registry.host}/private:1`, image.built, { env: { OCI_REPRO_CREDS: `${username}:${password}` } });
  });

  it('credentials from $DOCKER_CONFIG/config.json auths', async () => {
    const { username, password } = registry.credentials!;
    await pushImage(`docker://${registry.host}/private:1`, image.push, { creds: `${username}:${password}` });
    const config = dir.join('htpasswd-docker-config');
    await dir.writeDirectory('htpasswd-docker-config', [
      { name: 'config.json', content: JSON.stringify({ auths: { [`http://${registry.host}`]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } }) },
    ]);
    await expectPullable(`docker://${registry.host}/private:1`, image.built, { env: { DOCKER_CONFIG: config } });
  });

  it('a wrong password is exit 4 and the password appears nowhere in the error', async () => {
    const { username, password } = registry.credentials!;
    const wrong = `${password}-wrong`;
    // Thunks, so the second attempt starts only after the first is awaited (no unhandled rejection).
    for (const attempt of [
      () => loadRegistryImage('docker://x', `${registry.host}/private:1`, { creds: `${username}:${wrong}`, env: {} }),
      () => pushImage(`docker://${registry.host}/private:2`, image.push, { creds: `${username}:${wrong}`, env: {} }),
    ]) {
      const error = await caughtError(attempt());
      expect(error.code).toBe('AUTH');
      expect(error.exitCode).toBe(4);
      const text = `${error.line} ${String(error.cause)} ${error.stack}`;
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(Buffer.from(`${username}:${wrong}`).toString('base64'));
    }
  });

  it('no credentials: exit 4, authentication required', async () => {
    const error = await caughtError(loadRegistryImage('docker://x', `${registry.host}/private:1`, { env: { HOME: dir.path } }));
    expect(error.code).toBe('AUTH');
    expect(error.message).toMatch(/authentication required/);
  });
});

describe.skipIf(skipWithoutTools('docker-registry', 'openssl'))('a real registry over TLS with a self-signed certificate', () => {
  let registry: RunningRegistry;
  let image: Awaited<ReturnType<typeof makePushable>>;
  beforeAll(async () => {
    registry = await startRegistry({ tls: true });
    image = await makePushable('tls');
  });
  afterAll(async () => registry?.stop());

  it('trusted through the caFile option or SSL_CERT_FILE, pushes and pulls over https', async () => {
    const requests: string[] = [];
    await pushImage(`docker://${registry.host}/secure:1`, image.push, { caFile: registry.tls!.caFile, env: {}, onRequest: (r) => requests.push(r.url) });
    expect(requests.every((url) => url.startsWith('https://'))).toBe(true);
    await expectPullable(`docker://${registry.host}/secure:1`, image.built, { caFile: registry.tls!.caFile, env: {} });
    await expectPullable(`docker://${registry.host}/secure:1`, image.built, { env: { SSL_CERT_FILE: registry.tls!.caFile } });
  });

  it('not trusted: a clear exit-4 error that names the certificate problem; tlsVerify false is the way out', async () => {
    await pushImage(`docker://${registry.host}/secure:1`, image.push, { caFile: registry.tls!.caFile, env: {} });
    const error = await caughtError(loadRegistryImage('docker://x', `${registry.host}/secure:1`, { env: {} }));
    expect(error.exitCode).toBe(4);
    expect(error.message).toMatch(/TLS certificate not trusted/);
    expect(error.hint).toMatch(/caFile|SSL_CERT_FILE/);
    await expectPullable(`docker://${registry.host}/secure:1`, image.built, { tlsVerify: false, env: {} });
  });
});
