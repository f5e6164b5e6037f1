// docker-daemon: through the Engine API's image export on a unix socket: a small fake daemon for the
// error paths, and podman's `system service` for real.
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonImageName, daemonSocketPath, loadDaemonImage } from '../../src/sources/daemon.js';
import { loadImage } from '../../src/sources/index.js';
import { buildImage, legacyDockerArchiveFiles, TempDir, type BuiltImage } from '../helpers/images.js';
import { makeTar } from '../helpers/tar.js';
import { makeTempDir, removeTempDir, runTool, skipWithoutTools } from '../helpers/real-tools.js';
import { caughtError } from '../helpers/errors.js';
import { startPodmanService, type PodmanService } from '../helpers/podman-service.js';

let dir: TempDir;
let image: BuiltImage;
let archivePath: string;

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-daemon-test-');
  image = buildImage({
    layers: [
      { tar: await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'from the daemon\n' }]), compression: 'none' },
      { tar: await makeTar([{ name: 'bin.dat', content: Buffer.alloc(50_000, 3) }]), compression: 'none' },
    ],
    mediaTypes: 'docker',
  });
  archivePath = await dir.writeArchive('saved.tar', legacyDockerArchiveFiles(image, ['example/daemon:v1']));
});
afterAll(async () => dir.remove());

describe('references and DOCKER_HOST', () => {
  it('a name without a tag exports :latest, not every tag; IDs and digests stay as they are', () => {
    expect(daemonImageName('alpine')).toBe('alpine:latest');
    expect(daemonImageName('localhost:5000/team/app')).toBe('localhost:5000/team/app:latest');
    expect(daemonImageName('team/app:1.2')).toBe('team/app:1.2');
    expect(daemonImageName('sha256:' + 'a'.repeat(64))).toBe('sha256:' + 'a'.repeat(64));
    expect(daemonImageName('app@sha256:' + 'a'.repeat(64))).toBe('app@sha256:' + 'a'.repeat(64));
  });

  it('only unix sockets: other DOCKER_HOST forms are a usage error', () => {
    expect(daemonSocketPath(undefined)).toBe('/var/run/docker.sock');
    expect(daemonSocketPath('unix:///run/podman/podman.sock')).toBe('/run/podman/podman.sock');
    expect(() => daemonSocketPath('tcp://127.0.0.1:2375')).toThrow(/only unix/);
  });

  it('no daemon at the socket is exit 4 with a hint', async () => {
    const before = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${dir.join('absent.sock')}`;
    try {
      const error = await caughtError(loadImage('docker-daemon:alpine'));
      expect(error.exitCode).toBe(4);
      expect(error.message).toMatch(/^docker-daemon:alpine: cannot reach the container daemon/);
    } finally {
      if (before === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = before;
    }
    const named = await caughtError(loadDaemonImage('docker-daemon:alpine', 'alpine', { dockerHost: `unix://${dir.join('no.sock')}` }));
    expect(named.exitCode).toBe(4);
    expect(named.message).toContain('no.sock');
    expect(named.hint).toMatch(/DOCKER_HOST/);
  });
});

describe('a fake daemon on a unix socket', () => {
  let server: Server;
  let socket: string;
  const paths: string[] = [];
  beforeAll(async () => {
    socket = dir.join('fake.sock');
    const saved = await readFile(archivePath);
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      if (req.url === '/v1.41/images/example/daemon%3Av1/get') {
        res.writeHead(200, { 'Content-Type': 'application/x-tar' }).end(saved);
      } else if (req.url === '/v1.41/images/stall%3Av1/get') {
        res.writeHead(200, { 'Content-Type': 'application/x-tar' });
        res.write(saved.subarray(0, 1024)); // and nothing more
      } else {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"No such image"}');
      }
    });
    await new Promise<void>((resolveListen) => server.listen(socket, resolveListen));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolveClose) => server.close(resolveClose));
  });

  it('exports to a temp file, reads it as a docker-archive, removes it on close', async () => {
    const temp = dir.join('exports');
    await import('node:fs/promises').then((fs) => fs.mkdir(temp, { recursive: true }));
    const loaded = await loadDaemonImage('docker-daemon:example/daemon:v1', 'example/daemon:v1', { dockerHost: `unix://${socket}`, tempDir: temp });
    expect(loaded.transport).toBe('docker-daemon');
    expect(loaded.reference).toBe('docker-daemon:example/daemon:v1');
    expect(loaded.config.digest).toBe(image.config.digest);
    expect(loaded.layers.map((layer) => layer.diffId)).toEqual(image.layers.map((layer) => layer.diffId));
    expect(await readdir(temp)).toHaveLength(1);
    await loaded.close();
    expect(await readdir(temp)).toHaveLength(0);
  });

  it('an image the daemon does not have is exit 4 (not found), and leaves no temp file', async () => {
    const temp = dir.join('exports-404');
    await import('node:fs/promises').then((fs) => fs.mkdir(temp, { recursive: true }));
    const error = await caughtError(loadDaemonImage('docker-daemon:nope', 'nope', { dockerHost: `unix://${socket}`, tempDir: temp }));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.exitCode).toBe(4);
    expect(paths.at(-1)).toBe('/v1.41/images/nope%3Alatest/get');
    expect(await readdir(temp)).toHaveLength(0);
  });

  it('a daemon that stops sending mid-export is exit 4, not a hang', async () => {
    const started = Date.now();
    const error = await caughtError(loadDaemonImage('docker-daemon:stall:v1', 'stall:v1', { dockerHost: `unix://${socket}`, timeoutMs: 300 }));
    expect(error.exitCode).toBe(4);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe.skipIf(skipWithoutTools('podman'))('podman system service as the daemon', () => {
  let store: string;
  let service: PodmanService | undefined;
  let socket: string;

  beforeAll(async () => {
    store = await makeTempDir('oci-repro-podman-');
    socket = join(store, 'podman.sock');
    const storeArgs = ['--root', join(store, 'root'), '--runroot', join(store, 'runroot'), '--storage-driver', 'vfs'];
    await runTool('podman', [...storeArgs, 'load', '--quiet', '-i', archivePath]);
    service = await startPodmanService(storeArgs, socket, { idleSeconds: 60 });
  });
  afterAll(async () => {
    await service?.stop();
    if (store) await removeTempDir(store);
  });

  it('docker-daemon:NAME through loadImage and DOCKER_HOST: the image podman holds, same image ID', async () => {
    const before = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${socket}`;
    try {
      // podman names a loaded short name localhost/...; both spellings resolve.
      for (const name of ['localhost/example/daemon:v1', 'example/daemon:v1']) {
        const loaded = await loadImage(`docker-daemon:${name}`);
        expect(loaded.transport).toBe('docker-daemon');
        expect(loaded.config.digest).toBe(image.config.digest);
        expect(loaded.layers.map((layer) => layer.diffId)).toEqual(image.layers.map((layer) => layer.diffId));
        for (const layer of loaded.layers) for await (const _chunk of await layer.openTar()) void _chunk;
        await loaded.close();
      }
      const missing = await caughtError(loadImage('docker-daemon:example/absent:v1'));
      expect(missing.code).toBe('NOT_FOUND');
    } finally {
      if (before === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = before;
    }
  });
});
