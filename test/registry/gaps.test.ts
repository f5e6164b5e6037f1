// Issue 5 end to end: the three commands, run as the binary, against a real docker-registry on
// 127.0.0.1 (plain, htpasswd, token auth with JWTs the registry itself checks, TLS), with skopeo as the
// independent oracle and a recording proxy in front of the registry so requests are counted on the wire,
// not by our own client.
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../../src/registry/push.js';
import { loadRegistryImage } from '../../src/sources/registry.js';
import { buildImage, buildIndex, layoutFiles, TempDir, type BuiltImage } from '../helpers/images.js';
import { makeTar } from '../helpers/tar.js';

/** A code-built image as pushImage takes it. */
const pushable = (image: BuiltImage) => ({
  manifest: image.manifest,
  config: image.config,
  layers: image.layers.map((layer) => ({ digest: layer.digest, size: layer.bytes.length, mediaType: layer.mediaType, bytes: layer.bytes })),
});
import { findRegistryBinary, startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { runTool, skipWithoutTools, skopeoCopy, skopeoInspectConfig, skopeoInspectRaw } from '../helpers/real-tools.js';
import { sha256Of, sha256OfStream } from '../helpers/digest.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { caughtError } from '../helpers/errors.js';

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
// Each test spawns the binary a few times; a shared, loaded machine can take several times the usual.
const slowMachineTimeout = 120_000;
const manifestMediaTypes = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

let dir: TempDir;
/** An empty Docker config and HOME, so no credentials of the machine running the tests leak in. */
let hermetic: NodeJS.ProcessEnv;

/** The binary with the hermetic HOME and Docker config and no SSL_CERT_FILE; undefined removes a variable. */
function runHermetic(args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> {
  return runCli(args, { env: { SSL_CERT_FILE: undefined, ...hermetic, ...env } });
}

/** A line of normalize's text output: `manifest digest   sha256:...`. */
function printed(stdout: string, label: string): string {
  const match = new RegExp(`^${label}\\s+(sha256:[a-f0-9]{64})`, 'm').exec(stdout);
  if (!match) throw new Error(`no "${label}" line in:\n${stdout}`);
  return match[1]!;
}

// ---------------------------------------------------------------------------------------------
// A recording proxy: what reached the registry, on the wire

interface WireRequest {
  method: string;
  path: string;
  accept?: string;
  authorization: boolean;
}

class RecordingProxy {
  readonly requests: WireRequest[] = [];
  /** Bytes of a matching response body to pass on before going silent (the registry "stops answering"). */
  stallAfter?: { match: (method: string, path: string) => boolean; bytes: number };

  private constructor(
    private readonly server: Server,
    readonly host: string,
  ) {}

  static async start(target: string): Promise<RecordingProxy> {
    const [targetHost, targetPort] = target.split(':');
    let proxy: RecordingProxy | undefined;
    const server = createServer((req, res) => proxy!.forward(req, res, targetHost!, Number(targetPort)));
    await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
    const { port } = server.address() as { port: number };
    proxy = new RecordingProxy(server, `127.0.0.1:${port}`);
    return proxy;
  }

  private forward(req: IncomingMessage, res: import('node:http').ServerResponse, host: string, port: number): void {
    const method = req.method ?? '';
    const path = req.url ?? '';
    this.requests.push({ method, path, ...(req.headers.accept ? { accept: req.headers.accept } : {}), authorization: req.headers.authorization !== undefined });
    // Host is passed on unchanged, so the registry's upload Locations point back at the proxy.
    const upstream = httpRequest({ host, port, method, path, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      const stall = this.stallAfter;
      if (stall && stall.match(method, path)) {
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent < stall.bytes) res.write(chunk.subarray(0, stall.bytes - sent));
          sent += chunk.length;
          if (sent >= stall.bytes) answer.destroy(); // and nothing more: the client must notice
        });
        return;
      }
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  /** Requests that write blobs (upload POST/PATCH/PUT). */
  blobWrites(from = 0): WireRequest[] {
    return this.requests.slice(from).filter((r) => r.method !== 'GET' && r.method !== 'HEAD' && r.path.includes('/blobs/'));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolveClose) => this.server.close(() => resolveClose()));
  }
}

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-gaps-');
  await dir.writeDirectory('docker-config', [{ name: 'config.json', content: '{}' }]);
  hermetic = { HOME: dir.path, DOCKER_CONFIG: dir.join('docker-config') };
});
afterAll(async () => dir?.remove());

describe.skipIf(skipWithoutTools('docker-registry', 'skopeo'))('the commands on docker:// references (anonymous, plain http on 127.0.0.1)', { timeout: slowMachineTimeout }, () => {
  let registry: RunningRegistry;
  let proxy: RecordingProxy;
  const skopeo = () => registry.skopeoArgs('');
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await RecordingProxy.start(registry.host);
    // A real build, pushed by skopeo (not by us), so what we read was written by an independent tool.
    await skopeoCopy(`docker-archive:${example('build-a.tar')}`, `docker://${registry.host}/hello/a:1`, registry.skopeoArgs('dest'));
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it('inspect docker://: the identity chain skopeo sees; the manifest GET accepts OCI and Docker media types', async () => {
    const before = proxy.requests.length;
    const run = await runHermetic(['inspect', `docker://${proxy.host}/hello/a:1`, '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const identity = JSON.parse(run.stdout) as { manifestDigest: string; imageId: string; layers: { digest: string }[] };
    const raw = await skopeoInspectRaw(`docker://${registry.host}/hello/a:1`, skopeo());
    const config = await skopeoInspectConfig(`docker://${registry.host}/hello/a:1`, skopeo());
    expect(identity.manifestDigest).toBe(sha256Of(raw.bytes));
    expect(identity.imageId).toBe(sha256Of(config.bytes));
    expect(identity.layers.map((layer) => layer.digest)).toEqual(raw.json.layers!.map((layer) => layer.digest));
    const manifestGets = proxy.requests.slice(before).filter((r) => r.method === 'GET' && r.path.includes('/manifests/'));
    expect(manifestGets.length).toBeGreaterThan(0);
    for (const request of manifestGets) {
      const accepted = (request.accept ?? '').split(',').map((type) => type.trim());
      for (const type of manifestMediaTypes) expect(accepted, type).toContain(type);
    }
  });

  it('inspect docker://REPO@sha256:… and docker://localhost:PORT (plain http for localhost too)', async () => {
    const raw = await skopeoInspectRaw(`docker://${registry.host}/hello/a:1`, skopeo());
    const port = registry.host.split(':')[1];
    const references = [`docker://${registry.host}/hello/a@${sha256Of(raw.bytes)}`, `docker://localhost:${port}/hello/a:1`];
    // runCli never rejects, so running them together leaves no rejection unhandled.
    const runs = await Promise.all(references.map((reference) => runHermetic(['inspect', reference, '--json'])));
    for (const [i, reference] of references.entries()) {
      const run = runs[i]!;
      expect(run.stderr, reference).toBe('');
      expect(run.code, reference).toBe(0);
      expect((JSON.parse(run.stdout) as { manifestDigest: string }).manifestDigest).toBe(sha256Of(raw.bytes));
    }
  });

  it('verify: the registry image against its skopeo docker-archive copy is identical (exit 0)', async () => {
    const copy = dir.join('hello-a-from-registry.tar');
    await skopeoCopy(`docker://${registry.host}/hello/a:1`, `docker-archive:${copy}:hello/a:1`, registry.skopeoArgs('src'));
    const run = await runHermetic(['verify', `docker://${registry.host}/hello/a:1`, `docker-archive:${copy}`, '--format', 'json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      verdict: string;
      a: { manifestDigest: string; imageId: string; canonicalDigest: string };
      b: { imageId: string; canonicalDigest: string };
    };
    expect(report.verdict).toBe('identical');
    expect(report.a.imageId).toBe(report.b.imageId);
    expect(report.a.canonicalDigest).toBe(report.b.canonicalDigest);
    const raw = await skopeoInspectRaw(`docker://${registry.host}/hello/a:1`, skopeo());
    expect(report.a.manifestDigest).toBe(sha256Of(raw.bytes));
  });

  it('verify: the registry image against a noisy rebuild is reproducible, and against a different image not', async () => {
    const other = buildImage({ layers: [{ tar: await makeTar([{ name: 'other', content: 'not hello' }]) }] });
    await pushImage(`docker://${registry.host}/other:1`, pushable(other));
    const [rebuild, differs] = await Promise.all([
      runHermetic(['verify', `docker://${registry.host}/hello/a:1`, `docker-archive:${example('build-b.tar')}`, '--format', 'json']),
      runHermetic(['verify', `docker://${registry.host}/hello/a:1`, `docker://${registry.host}/other:1`, '--format', 'json']),
    ]);
    expect(rebuild.code).toBe(0);
    expect((JSON.parse(rebuild.stdout) as { verdict: string }).verdict).toBe('reproducible');
    expect(differs.code).toBe(1);
    expect((JSON.parse(differs.stdout) as { verdict: string }).verdict).toBe('not-reproducible');
  });

  it('normalize docker://: the same canonical digest as normalize of the local archive', async () => {
    const [remote, local] = await Promise.all([
      runHermetic(['normalize', `docker://${registry.host}/hello/a:1`]),
      runHermetic(['normalize', `docker-archive:${example('build-a.tar')}`]),
    ]);
    expect(remote.code).toBe(0);
    expect(local.code).toBe(0);
    expect(printed(remote.stdout, 'canonical digest')).toBe(printed(local.stdout, 'canonical digest'));
  });

  it('normalize --output docker://: skopeo finds the printed manifest digest; a rebuild pushed twice sends nothing on the wire', async () => {
    const target = `docker://${proxy.host}/hello/normalized:1`;
    const before = proxy.requests.length;
    const first = await runHermetic(['normalize', `docker-archive:${example('build-a.tar')}`, '--output', target]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const manifestDigest = printed(first.stdout, 'manifest digest');
    const raw = await skopeoInspectRaw(`docker://${registry.host}/hello/normalized:1`, skopeo());
    expect(sha256Of(raw.bytes)).toBe(manifestDigest);
    const config = await skopeoInspectConfig(`docker://${registry.host}/hello/normalized:1`, skopeo());
    expect(sha256Of(config.bytes)).toBe(printed(first.stdout, 'canonical digest'));
    const firstWrites = proxy.blobWrites(before);
    // Two layers and the config, each POST + PUT (monolithic), manifest last.
    expect(firstWrites.map((r) => r.method).sort()).toEqual(['POST', 'POST', 'POST', 'PUT', 'PUT', 'PUT']);
    expect(proxy.requests.at(-1)).toMatchObject({ method: 'PUT', path: '/v2/hello/normalized/manifests/1' });

    for (const source of [example('build-a.tar'), example('build-b.tar')]) {
      const mark = proxy.requests.length;
      const again = await runHermetic(['normalize', `docker-archive:${source}`, '--output', target]);
      expect(again.code).toBe(0);
      expect(printed(again.stdout, 'manifest digest')).toBe(manifestDigest);
      const wire = proxy.requests.slice(mark);
      expect(proxy.blobWrites(mark)).toEqual([]);
      expect(wire.filter((r) => r.path.includes('/blobs/')).map((r) => r.method)).toEqual(['HEAD', 'HEAD', 'HEAD']);
      // The tag already names the same manifest bytes: not even the manifest is sent again.
      expect(wire.filter((r) => r.method !== 'HEAD' && r.method !== 'GET')).toEqual([]);
      expect(wire.filter((r) => r.path.endsWith('/manifests/1')).map((r) => r.method)).toEqual(['HEAD']);
    }
    console.info(`[gaps] first push: ${proxy.requests.length} requests on the wire in all; re-pushes sent 0 blob writes`);
  });

  it('an index: --platform picks the image; without it inspect lists the platforms', async () => {
    const amd = buildImage({ layers: [{ tar: await makeTar([{ name: 'amd', content: 'amd64' }]) }], architecture: 'amd64' });
    const arm = buildImage({ layers: [{ tar: await makeTar([{ name: 'arm', content: 'arm64' }]) }], architecture: 'arm64' });
    const index = buildIndex([
      { image: amd, platform: { os: 'linux', architecture: 'amd64' } },
      { image: arm, platform: { os: 'linux', architecture: 'arm64' } },
    ]);
    const layout = await dir.writeDirectory('multi-layout', layoutFiles({ manifests: [{ blob: index, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }], blobs: index.blobs }));
    await skopeoCopy(`oci:${layout}:multi`, `docker://${registry.host}/multi:1`, ['--all', ...registry.skopeoArgs('dest')]);
    const [picked, listed] = await Promise.all([
      runHermetic(['inspect', `docker://${registry.host}/multi:1`, '--platform', 'linux/arm64', '--json']),
      runHermetic(['inspect', `docker://${registry.host}/multi:1`]),
    ]);
    expect(picked.code).toBe(0);
    expect((JSON.parse(picked.stdout) as { imageId: string }).imageId).toBe(arm.config.digest);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/linux\/amd64/);
    expect(listed.stdout).toMatch(/linux\/arm64/);
  });

  it('an unknown tag is exit 4 through the binary, one line naming the reference', async () => {
    const run = await runHermetic(['verify', `docker://${registry.host}/hello/a:no-such-tag`, `docker-archive:${example('build-a.tar')}`]);
    expect(run.code).toBe(4);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(`docker://${registry.host}/hello/a:no-such-tag`);
    expect(run.stderr).toMatch(/manifest unknown/);
  });

  it('a stored blob whose bytes do not match its digest: normalize and verify exit 3 naming the blob', async () => {
    // Uncompressed, so the changed byte still makes a valid tar: only the digest can tell.
    const victim = buildImage({
      layers: [{ tar: await makeTar([{ name: 'victim.txt', content: 'x'.repeat(4000) }]), compression: 'none' }],
    });
    await pushImage(`docker://${registry.host}/corrupt:1`, pushable(victim));
    const layer = victim.layers[0]!;
    const hex = layer.digest.slice('sha256:'.length);
    const data = join(registry.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const bytes = await readFile(data);
    bytes[1000] = bytes[1000] === 0x79 ? 0x7a : 0x79; // inside victim.txt's content
    await writeFile(data, bytes);
    const reference = `docker://${registry.host}/corrupt:1`;
    // --verify-blobs: the same image twice is otherwise identical by its digests, no blob read.
    const [normalize, verify] = await Promise.all([runHermetic(['normalize', reference]), runHermetic(['verify', reference, reference, '--json', '--verify-blobs'])]);
    expect(normalize.code).toBe(3);
    expect(normalize.stderr).toContain(layer.digest);
    expect(normalize.stderr).toMatch(/digest mismatch/);
    expect(verify.code).toBe(3);
    const error = (JSON.parse(verify.stdout) as { error: { exitCode: number; message: string } }).error;
    expect(error.exitCode).toBe(3);
    expect(error.message).toContain(layer.digest);
  });

  it('a real registry that stops answering mid-blob: the stream fails with exit 4, it does not hang', async () => {
    const big = buildImage({ layers: [{ tar: await makeTar([{ name: 'big.bin', content: randomBytes(600_000) }]), compression: 'none' }] });
    await pushImage(`docker://${registry.host}/stall:1`, pushable(big));
    const layer = big.layers[0]!;
    proxy.stallAfter = { match: (method, path) => method === 'GET' && path.endsWith(`/blobs/${layer.digest}`), bytes: 200_000 };
    try {
      const loaded = await loadRegistryImage('docker://stall', `${proxy.host}/stall:1`, { timeoutMs: 500, retries: 0, env: hermetic });
      const started = Date.now();
      const error = await caughtError(sha256OfStream(await loaded.layers[0]!.openBlob()));
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(error.exitCode).toBe(4);
      expect(error.message).toMatch(/stopped/);
      await loaded.close();
    } finally {
      proxy.stallAfter = undefined;
    }
  });
});

describe('plain HTTP only for loopback, as Docker does', () => {
  let server: Server | undefined;
  const address = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
  beforeAll(async () => {
    if (!address) return;
    // A plain-http "registry" on a non-loopback address: /v2/ answers, every manifest is unknown.
    server = createServer((req, res) => {
      if (req.url === '/v2/') res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      else res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    });
    await new Promise<void>((resolveListen) => server!.listen(0, address, resolveListen));
  });
  afterAll(async () => {
    if (server) await new Promise((resolveClose) => server!.close(resolveClose));
  });

  it.skipIf(!address)('is refused on a non-loopback address unless TLS verification is turned off', async () => {
    const host = `${address}:${(server!.address() as { port: number }).port}`;
    const refused = await caughtError(loadRegistryImage(`docker://${host}/app:1`, `${host}/app:1`, { env: hermetic, retries: 0 }));
    expect(refused.exitCode).toBe(4);
    expect(refused.message).toMatch(/does not speak TLS/);
    const allowed = await caughtError(loadRegistryImage(`docker://${host}/app:1`, `${host}/app:1`, { env: hermetic, retries: 0, tlsVerify: false }));
    expect(allowed.code).toBe('NOT_FOUND'); // it got as far as asking for the manifest
    expect(allowed.message).toMatch(/manifest unknown/);
  });
});

describe.skipIf(skipWithoutTools('docker-registry', 'skopeo', 'openssl'))('TLS with a self-signed certificate, through the binary', { timeout: slowMachineTimeout }, () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ tls: true });
    await skopeoCopy(`docker-archive:${example('build-a.tar')}`, `docker://${registry.host}/hello/a:1`, registry.skopeoArgs('dest'));
  });
  afterAll(async () => registry?.stop());

  it('verified by default (exit 4); trusted with --cert-file or SSL_CERT_FILE; --tls-verify=false only when asked', async () => {
    const reference = `docker://${registry.host}/hello/a:1`;
    const raw = await skopeoInspectRaw(reference, registry.skopeoArgs(''));
    const trusted = [
      [['--cert-file', registry.tls!.caFile], {}],
      [[], { SSL_CERT_FILE: registry.tls!.caFile }],
      [['--tls-verify=false'], {}],
      [['--no-tls-verify'], {}],
    ] as [string[], Record<string, string>][];
    const [untrusted, ...runs] = await Promise.all([
      runHermetic(['inspect', reference]),
      ...trusted.map(([args, env]) => runHermetic(['inspect', reference, '--json', ...args], env)),
    ]);
    expect(untrusted.code).toBe(4);
    expect(untrusted.stderr).toMatch(/TLS certificate not trusted/);
    for (const [i, [args, env]] of trusted.entries()) {
      const run = runs[i]!;
      expect(run.code, `${args.join(' ')} ${JSON.stringify(env)}`).toBe(0);
      expect((JSON.parse(run.stdout) as { manifestDigest: string }).manifestDigest).toBe(sha256Of(raw.bytes));
    }
  });
});

describe.skipIf(skipWithoutTools('docker-registry'))('htpasswd basic auth, through the binary', { timeout: slowMachineTimeout }, () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd' });
  });
  afterAll(async () => registry?.stop());

  it('--creds pushes; OCI_REPRO_CREDS and the Docker config auths read it back', async () => {
    const { username, password } = registry.credentials!;
    const reference = `docker://${registry.host}/private/hello:1`;
    const push = await runHermetic(['normalize', `docker-archive:${example('build-a.tar')}`, '--output', reference, '--creds', `${username}:${password}`]);
    expect(push.code).toBe(0);
    const digest = printed(push.stdout, 'manifest digest');
    const config = await dir.writeDirectory('htpasswd-config', [
      { name: 'config.json', content: JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } }) },
    ]);
    const [fromEnv, fromConfig] = await Promise.all([
      runHermetic(['inspect', reference, '--json'], { OCI_REPRO_CREDS: `${username}:${password}` }),
      runHermetic(['verify', reference, `docker-archive:${example('build-b.tar')}`, '--format', 'json'], { DOCKER_CONFIG: config }),
    ]);
    expect(fromEnv.code).toBe(0);
    expect((JSON.parse(fromEnv.stdout) as { manifestDigest: string }).manifestDigest).toBe(digest);
    expect(fromConfig.code).toBe(0);
    expect((JSON.parse(fromConfig.stdout) as { a: { manifestDigest: string } }).a.manifestDigest).toBe(digest);
    for (const run of [push, fromEnv, fromConfig]) expect(run.stdout + run.stderr).not.toContain(password);
  });

  it('a wrong password is exit 4 and no secret shows in text or JSON; none at all is exit 4', async () => {
    const { username, password } = registry.credentials!;
    const reference = `docker://${registry.host}/private/hello:1`;
    const wrong = `${password}X`;
    const [anonymous, ...runs] = await Promise.all([
      runHermetic(['inspect', reference]),
      ...[false, true].map((json) => runHermetic(['inspect', reference, '--creds', `${username}:${wrong}`, ...(json ? ['--json'] : [])])),
    ]);
    for (const run of runs) {
      expect(run.code).toBe(4);
      const everything = run.stdout + run.stderr;
      expect(everything).toMatch(/access denied|authentication/);
      for (const secret of [wrong, password, Buffer.from(`${username}:${wrong}`).toString('base64')]) expect(everything).not.toContain(secret);
    }
    expect(anonymous.code).toBe(4);
    expect(anonymous.stderr).toMatch(/authentication required/);
  });
});

// ---------------------------------------------------------------------------------------------
// Token auth: the registry trusts JWTs signed by a certificate named in its config (rootcertbundle);
// the token service here checks basic credentials and signs an ES256 JWT carrying the certificate (x5c).

interface TokenRegistry {
  host: string;
  credentials: { username: string; password: string };
  tokenRequests: { authorization?: string; scope: string[] }[];
  /** A token signed with the trusted key, as the token service would issue it. */
  issue(access: { type: string; name: string; actions: string[] }[]): string;
  stop(): Promise<void>;
}

function base64url(value: Buffer | string): string {
  return Buffer.from(value).toString('base64url');
}

function signToken(key: KeyObject, certificateDer: string, access: { type: string; name: string; actions: string[] }[]): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [certificateDer] }));
  const claims = base64url(
    JSON.stringify({ iss: 'oci-repro-test-issuer', sub: 'tester', aud: 'oci-repro-test-registry', exp: now + 300, nbf: now - 5, iat: now, jti: randomBytes(8).toString('hex'), access }),
  );
  // JWS ES256 wants r||s, not DER.
  const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${claims}.${base64url(signature)}`;
}

/** `repository:team/app:pull,push` -> an access entry; the repository name may itself hold colons (host:port). */
function accessOf(scope: string): { type: string; name: string; actions: string[] } {
  const parts = scope.split(':');
  return { type: parts[0]!, name: parts.slice(1, -1).join(':'), actions: parts.at(-1)!.split(',') };
}

async function startTokenRegistry(): Promise<TokenRegistry> {
  const work = join(dir.path, `token-registry-${randomBytes(4).toString('hex')}`);
  await runTool('mkdir', ['-p', work]);
  const certFile = join(work, 'token-cert.pem');
  const keyFile = join(work, 'token-key.pem');
  await runTool('openssl', [
    'req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=oci-repro token signer',
  ]);
  const key = createPrivateKey(await readFile(keyFile));
  const certificateDer = new X509Certificate(await readFile(certFile)).raw.toString('base64');
  const credentials = { username: 'tester', password: randomBytes(12).toString('hex') };
  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const tokenRequests: TokenRegistry['tokenRequests'] = [];
  const tokenServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token');
    const scope = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    tokenRequests.push({ ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}), scope });
    if (url.pathname !== '/token' || url.searchParams.get('service') !== 'oci-repro-test-registry') return void res.writeHead(404).end();
    if (req.headers.authorization !== expected) return void res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"bad credentials"}');
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: signToken(key, certificateDer, scope.map(accessOf)), expires_in: 300 }));
  });
  await new Promise<void>((resolveListen) => tokenServer.listen(0, '127.0.0.1', resolveListen));
  const tokenPort = (tokenServer.address() as { port: number }).port;

  const portServer = createServer();
  await new Promise<void>((resolveListen) => portServer.listen(0, '127.0.0.1', resolveListen));
  const host = `127.0.0.1:${(portServer.address() as { port: number }).port}`;
  await new Promise((resolveClose) => portServer.close(resolveClose));
  const configFile = join(work, 'config.yml');
  await writeFile(
    configFile,
    JSON.stringify({
      version: '0.1',
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: join(work, 'storage') } },
      http: { addr: host, secret: randomBytes(16).toString('hex') },
      auth: { token: { realm: `http://127.0.0.1:${tokenPort}/token`, service: 'oci-repro-test-registry', issuer: 'oci-repro-test-issuer', rootcertbundle: certFile } },
    }),
  );
  const child: ChildProcess = spawn(findRegistryBinary()!, ['serve', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      child.kill('SIGTERM');
      await exited;
    }
    tokenServer.closeAllConnections();
    await new Promise((resolveClose) => tokenServer.close(resolveClose));
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const status = await new Promise<number>((resolveStatus) => {
      const req = httpRequest(`http://${host}/v2/`, { timeout: 1000 }, (res) => {
        res.resume();
        resolveStatus(res.statusCode ?? 0);
      });
      req.on('error', () => resolveStatus(0));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (status === 401) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry with token auth did not start (GET /v2/ ${status}): ${stderr}`);
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
  return { host, credentials, tokenRequests, issue: (access) => signToken(key, certificateDer, access), stop };
}

describe.skipIf(skipWithoutTools('docker-registry', 'openssl'))('token auth: a real registry checking JWTs from a token service', { timeout: slowMachineTimeout }, () => {
  let registry: TokenRegistry;
  beforeAll(async () => {
    registry = await startTokenRegistry();
  });
  afterAll(async () => registry?.stop());

  it('push and pull with a bearer token got with basic credentials; the token service saw them, output never does', async () => {
    const { username, password } = registry.credentials;
    const reference = `docker://${registry.host}/team/hello:1`;
    const push = await runHermetic(['normalize', `docker-archive:${example('build-a.tar')}`, '--output', reference, '--creds', `${username}:${password}`]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    const digest = printed(push.stdout, 'manifest digest');
    expect(registry.tokenRequests.some((r) => r.scope.includes('repository:team/hello:pull,push') && r.authorization?.startsWith('Basic '))).toBe(true);

    const verify = await runHermetic(['verify', reference, `docker-archive:${example('build-b.tar')}`, '--format', 'json'], { OCI_REPRO_CREDS: `${username}:${password}` });
    expect(verify.code).toBe(0);
    const report = JSON.parse(verify.stdout) as { verdict: string; a: { manifestDigest: string } };
    expect(report.verdict).toBe('reproducible');
    expect(report.a.manifestDigest).toBe(digest);
    for (const run of [push, verify]) expect(run.stdout + run.stderr).not.toContain(password);
  });

  it('a wrong password is exit 4 with no credential in the message; no credentials at all is exit 4 too', async () => {
    const { username, password } = registry.credentials;
    const wrong = `${password}X`;
    const [run, anonymous] = await Promise.all([
      runHermetic(['inspect', `docker://${registry.host}/team/hello:1`, '--creds', `${username}:${wrong}`]),
      runHermetic(['inspect', `docker://${registry.host}/team/hello:1`]),
    ]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/rejected the credentials from --creds/);
    for (const secret of [wrong, Buffer.from(`${username}:${wrong}`).toString('base64')]) expect(run.stdout + run.stderr).not.toContain(secret);
    expect(anonymous.code).toBe(4);
    expect(anonymous.stderr).toMatch(/refused anonymous access/);
  });

  it('the registry checks the JWT itself: the trusted signer gets in, a rogue signer does not', async () => {
    const getManifest = (token: string) =>
      new Promise<number>((resolveStatus, reject) => {
        const req = httpRequest(
          `http://${registry.host}/v2/team/hello/manifests/1`,
          { headers: { Authorization: `Bearer ${token}`, Accept: manifestMediaTypes.join(', ') } },
          (res) => {
            res.resume();
            resolveStatus(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    const access = [{ type: 'repository', name: 'team/hello', actions: ['pull'] }];
    expect(await getManifest(registry.issue(access))).toBe(200);
    // Same claims, signed by a key and certificate the registry's rootcertbundle does not hold.
    const work = dir.join('rogue');
    await runTool('mkdir', ['-p', work]);
    await runTool('openssl', [
      'req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem'), '-days', '2', '-subj', '/CN=rogue',
    ]);
    const rogue = signToken(createPrivateKey(await readFile(join(work, 'key.pem'))), new X509Certificate(await readFile(join(work, 'cert.pem'))).raw.toString('base64'), access);
    expect(await getManifest(rogue)).toBe(401);
  });
});
