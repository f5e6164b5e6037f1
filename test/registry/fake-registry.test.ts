// Pull behaviours a real registry will not show on demand, against a tiny registry written here.
import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { delimiter } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadImage } from '../../src/sources/index.js';
import { loadRegistryImage, type RegistryLoadOptions } from '../../src/sources/registry.js';
import { buildImage, buildIndex, TempDir, type BuiltImage } from '../helpers/images.js';
import { makeTar } from '../helpers/tar.js';
import { FakeRegistry, type FakeRegistryOptions } from './fake-registry.js';
import { sha256Of, sha256OfStream } from '../helpers/digest.js';
import { caughtError } from '../helpers/errors.js';

function publish(registry: FakeRegistry, image: BuiltImage, ...tags: string[]): string {
  for (const blob of [...image.layers, image.config]) registry.blobs.set(blob.digest, blob.bytes);
  return registry.addManifest(image.manifest.bytes, image.manifest.mediaType, ...tags);
}

/** Loads, checks the identity, streams every layer, closes. */
async function pullAndCheck(reference: string, image: BuiltImage, options: RegistryLoadOptions = {}): Promise<void> {
  const loaded = await loadRegistryImage(reference, reference.slice('docker://'.length), { retries: 0, ...options });
  try {
    expect(loaded.transport).toBe('docker');
    expect(loaded.manifest?.digest).toBe(image.manifest.digest);
    expect(loaded.config.digest).toBe(image.config.digest);
    for (const [i, layer] of loaded.layers.entries()) {
      expect(await sha256OfStream(await layer.openBlob())).toBe(image.layers[i]!.digest);
      expect(await sha256OfStream(await layer.openTar())).toBe(image.layers[i]!.diffId);
    }
  } finally {
    await loaded.close();
  }
}

let image: BuiltImage;
let dir: TempDir;
const registries: FakeRegistry[] = [];
async function startFake(options?: FakeRegistryOptions): Promise<FakeRegistry> {
  const registry = await FakeRegistry.start(options);
  registries.push(registry);
  return registry;
}

beforeAll(async () => {
  dir = await TempDir.create();
  image = buildImage({
    layers: [
      { tar: await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', content: 'hello\n' }]) },
      { tar: await makeTar([{ name: 'app/big.bin', content: Buffer.alloc(300_000, 7) }]), compression: 'none' },
    ],
  });
});
afterEach(async () => {
  for (const registry of registries.splice(0)) await registry.stop();
});
afterAll(async () => dir.remove());

describe('pull from a registry', () => {
  it('by tag through loadImage: digests from the bytes, a lying Docker-Content-Digest ignored', async () => {
    const registry = await startFake();
    publish(registry, image, 'v1');
    registry.intercept = (req, res) => {
      if (req.url === '/v2/team/app/manifests/v1') {
        const bytes = image.manifest.bytes;
        res.writeHead(200, { 'Content-Type': image.manifest.mediaType, 'Docker-Content-Digest': `sha256:${'0'.repeat(64)}` });
        res.end(bytes);
        return true;
      }
      return false;
    };
    const loaded = await loadImage(`docker://${registry.host}/team/app:v1`);
    expect(loaded.manifest?.digest).toBe(image.manifest.digest);
    expect(loaded.reference).toBe(`docker://${registry.host}/team/app:v1`);
    await loaded.close();
    const accept = registry.requests.find((r) => r.url.includes('/manifests/'));
    expect(accept).toBeDefined();
  });

  it('by digest; bytes that do not match the digest asked for are exit 3', async () => {
    const registry = await startFake();
    const digest = publish(registry, image);
    await pullAndCheck(`docker://${registry.host}/app@${digest}`, image);
    const other = sha256Of('something else');
    registry.manifests.set(other, { bytes: image.manifest.bytes, mediaType: image.manifest.mediaType });
    const error = await caughtError(loadImage(`docker://${registry.host}/app@${other}`));
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(/digest mismatch/);
  });

  it('a blob whose bytes do not match its digest fails at end of stream with exit 3', async () => {
    const registry = await startFake();
    publish(registry, image, 'latest');
    const bad = Buffer.from(image.layers[0]!.bytes);
    bad[bad.length - 20] ^= 0xff;
    registry.blobs.set(image.layers[0]!.digest, bad);
    const loaded = await loadImage(`docker://${registry.host}/app`);
    const error = await caughtError(sha256OfStream(await loaded.layers[0]!.openBlob()));
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain(image.layers[0]!.digest);
    await loaded.close();
  });

  it('unknown tag and unknown blob are exit 4 (not found)', async () => {
    const registry = await startFake();
    publish(registry, image, 'v1');
    const error = await caughtError(loadImage(`docker://${registry.host}/app:nope`));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.exitCode).toBe(4);
    registry.blobs.delete(image.config.digest);
    const missing = await caughtError(loadImage(`docker://${registry.host}/app:v1`));
    expect(missing.exitCode).toBe(4);
  });

  it('an index: --platform picks one image, attestations are skipped, no choice is a usage error', async () => {
    const registry = await startFake();
    const arm = buildImage({ layers: [{ tar: await makeTar([{ name: 'arm', content: 'arm' }]) }], architecture: 'arm64' });
    const attestation = buildImage({ layers: [{ tar: await makeTar([{ name: 'att', content: 'x' }]) }] });
    publish(registry, image);
    publish(registry, arm);
    publish(registry, attestation);
    const index = buildIndex([
      { image, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
      { image: attestation, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
    ]);
    registry.addManifest(index.bytes, index.mediaType, 'multi');
    const loaded = await loadImage(`docker://${registry.host}/app:multi`, { platform: { os: 'linux', architecture: 'arm64' } });
    expect(loaded.config.digest).toBe(arm.config.digest);
    expect(loaded.index?.digest).toBe(index.digest);
    await loaded.close();
    const error = await caughtError(loadImage(`docker://${registry.host}/app:multi`));
    expect(error.exitCode).toBe(2);
  });

  it('reference syntax errors are exit 2', async () => {
    for (const bad of ['docker://127.0.0.1:5000', 'docker://Upper/Case', 'docker://x/y:bad tag', 'docker://x/y@sha256:123']) {
      const error = await caughtError(loadImage(bad));
      expect(error.exitCode, bad).toBe(2);
    }
  });
});

describe('bearer tokens and credentials', () => {
  const creds = { username: 'alice', password: 's3cret-Pa55word' };

  it('anonymous token when the registry allows anonymous pulls', async () => {
    const registry = await startFake({ bearer: { ...creds, allowAnonymousPull: true } });
    publish(registry, image, 'latest');
    await pullAndCheck(`docker://${registry.host}/app`, image, { env: {} });
    const tokenRequests = registry.requests.filter((r) => r.url.startsWith('/token'));
    expect(tokenRequests.length).toBeGreaterThan(0);
    expect(tokenRequests[0]!.authorization).toBeUndefined();
    expect(tokenRequests[0]!.url).toContain('scope=repository%3Aapp%3Apull');
  });

  it('creds from OCI_REPRO_CREDS go to the token service as basic auth; registry requests carry the token', async () => {
    const registry = await startFake({ bearer: creds });
    publish(registry, image, 'latest');
    await pullAndCheck(`docker://${registry.host}/app`, image, { env: { OCI_REPRO_CREDS: `${creds.username}:${creds.password}` } });
    const token = registry.requests.find((r) => r.url.startsWith('/token'))!;
    expect(token.authorization).toBe(`Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`);
    const manifestRequests = registry.requests.filter((r) => r.url.includes('/manifests/'));
    expect(manifestRequests.at(-1)!.authorization).toMatch(/^Bearer /);
  });

  it('a wrong password is exit 4 (AUTH) and the message holds no secret', async () => {
    const registry = await startFake({ bearer: creds });
    publish(registry, image, 'latest');
    const error = await caughtError(loadRegistryImage('docker://x', `${registry.host}/app`, { creds: `${creds.username}:wrong-${creds.password}`, retries: 0 }));
    expect(error.code).toBe('AUTH');
    expect(error.exitCode).toBe(4);
    const everything = `${error.line} ${String(error.cause)} ${JSON.stringify(error.data ?? {})}`;
    expect(everything).not.toContain(creds.password);
    expect(everything).not.toContain(Buffer.from(`${creds.username}:wrong-${creds.password}`).toString('base64'));
    expect(error.message).toContain('--creds');
  });

  it('no credentials where they are required is exit 4 with a hint to log in', async () => {
    const registry = await startFake({ bearer: creds });
    publish(registry, image, 'latest');
    const error = await caughtError(loadRegistryImage('docker://x', `${registry.host}/app`, { env: { HOME: dir.path }, retries: 0 }));
    expect(error.code).toBe('AUTH');
    expect(error.hint).toMatch(/docker login|--creds/);
  });

  it('credentials from a credential helper named in $DOCKER_CONFIG/config.json credHelpers', async () => {
    const registry = await startFake({ bearer: creds });
    publish(registry, image, 'latest');
    const bin = dir.join('bin');
    const config = dir.join('docker-config');
    await mkdir(bin, { recursive: true });
    await mkdir(config, { recursive: true });
    // The helper checks it was asked for this registry, as Docker's helper protocol has it.
    await writeFile(
      dir.join('bin', 'docker-credential-fake'),
      `#!/bin/sh\n[ "$1" = get ] || exit 1\nread server\n[ "$server" = "${registry.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\n` +
        `printf '{"ServerURL":"%s","Username":"${creds.username}","Secret":"${creds.password}"}' "$server"\n`,
    );
    await chmod(dir.join('bin', 'docker-credential-fake'), 0o755);
    await writeFile(dir.join('docker-config', 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'fake' } }));
    const env = { PATH: `${bin}${delimiter}${process.env.PATH}`, DOCKER_CONFIG: config };
    await pullAndCheck(`docker://${registry.host}/app`, image, { env });
    expect(registry.requests.find((r) => r.url.startsWith('/token'))!.authorization).toMatch(/^Basic /);
  });

  it('blob redirects are followed; the registry token is not sent to another origin', async () => {
    const registry = await startFake({ bearer: { ...creds, allowAnonymousPull: true }, redirectBlobs: true });
    publish(registry, image, 'latest');
    await pullAndCheck(`docker://${registry.host}/app`, image, { env: {} });
    const storage = registry.requests.filter((r) => r.url.startsWith('/storage/'));
    expect(storage.length).toBeGreaterThan(0);
    for (const request of storage) {
      expect(request.host).toMatch(/^localhost:/);
      expect(request.authorization).toBeUndefined();
    }
  });
});

describe('retries and timeouts', () => {
  it('429 with Retry-After: waits what the registry asks, then succeeds', async () => {
    const registry = await startFake();
    publish(registry, image, 'latest');
    let refusals = 1;
    registry.intercept = (req, res) => {
      if (req.url?.includes('/manifests/') && refusals-- > 0) {
        res.writeHead(429, { 'Retry-After': '1' }).end();
        return true;
      }
      return false;
    };
    const started = Date.now();
    // A backoff of 20 s would time the test out: only Retry-After can make this pass.
    await pullAndCheck(`docker://${registry.host}/app`, image, { retries: 2, retryBaseDelayMs: 20_000 });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(15_000);
  });

  it('503 without Retry-After backs off; a registry that never recovers is exit 4 after bounded retries', async () => {
    const registry = await startFake();
    publish(registry, image, 'latest');
    registry.intercept = (req, res) => {
      if (req.url?.includes('/manifests/')) {
        res.writeHead(503).end();
        return true;
      }
      return false;
    };
    const error = await caughtError(loadRegistryImage('docker://x', `${registry.host}/app`, { retries: 2, retryBaseDelayMs: 10 }));
    expect(error.exitCode).toBe(4);
    expect(error.message).toMatch(/503.*after 3 attempts/);
    expect(registry.requests.filter((r) => r.url.includes('/manifests/'))).toHaveLength(3);
  });

  it('a Retry-After longer than the bound fails at once and says what was asked', async () => {
    const registry = await startFake();
    publish(registry, image, 'latest');
    registry.intercept = (req, res) => {
      if (req.url?.includes('/manifests/')) {
        res.writeHead(429, { 'Retry-After': '3600' }).end();
        return true;
      }
      return false;
    };
    const error = await caughtError(loadRegistryImage('docker://x', `${registry.host}/app`, { retries: 3, maxRetryDelayMs: 2000 }));
    // Counted, not timed, so load cannot flake it: a wait capped at 2 s would show as a second request.
    expect(registry.requests.filter((r) => r.url.includes('/manifests/'))).toHaveLength(1);
    expect(error.exitCode).toBe(4);
    expect(error.line).toMatch(/429.*hint: the registry asked to retry after 3600/);
  });

  it('a registry that stops answering mid-blob fails the stream (exit 4), it does not hang', async () => {
    const registry = await startFake();
    publish(registry, image, 'latest');
    const layer = image.layers[1]!;
    registry.intercept = (req, res) => {
      if (req.method === 'GET' && req.url?.endsWith(`/blobs/${layer.digest}`)) {
        res.writeHead(200, { 'Content-Length': layer.bytes.length });
        res.write(layer.bytes.subarray(0, 100_000));
        return true; // and never another byte
      }
      return false;
    };
    const loaded = await loadRegistryImage('docker://x', `${registry.host}/app`, { timeoutMs: 300, retries: 0 });
    const started = Date.now();
    const error = await caughtError(sha256OfStream(await loaded.layers[1]!.openBlob()));
    // A hang is the failure (the 30 s test timeout); the bound is loose so a loaded machine cannot flake it.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(error.exitCode).toBe(4);
    expect(error.message).toMatch(/stopped/);
    await loaded.close();
  });

  it('a registry that never answers a request times out (exit 4)', async () => {
    const registry = await startFake();
    registry.intercept = (req) => req.url!.includes('/manifests/'); // swallowed: no answer at all
    const error = await caughtError(loadRegistryImage('docker://x', `${registry.host}/app`, { timeoutMs: 300, retries: 1, retryBaseDelayMs: 10 }));
    expect(error.exitCode).toBe(4);
    expect(error.message).toMatch(/no answer/);
    expect(registry.requests.filter((r) => r.url.includes('/manifests/'))).toHaveLength(2);
  });

  it('a slow reader is not mistaken for a stalled registry', async () => {
    const registry = await startFake();
    const big = buildImage({ layers: [{ tar: await makeTar([{ name: 'big', content: Buffer.alloc(8 << 20, 1) }]), compression: 'none' }] });
    publish(registry, big, 'latest');
    const loaded = await loadRegistryImage('docker://x', `${registry.host}/app`, { timeoutMs: 200, retries: 0 });
    const stream = await loaded.layers[0]!.openBlob();
    await new Promise((resolveWait) => setTimeout(resolveWait, 500)); // nobody reading yet
    const hash = createHash('sha256');
    let chunks = 0;
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      if (chunks++ === 2) await new Promise((resolveWait) => setTimeout(resolveWait, 500)); // reading slowly
    }
    expect(`sha256:${hash.digest('hex')}`).toBe(big.layers[0]!.digest);
    await loaded.close();
  });
});
