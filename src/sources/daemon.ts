/**
 * `docker-daemon:NAME`: the Docker Engine API's image export (`GET /images/NAME/get`, what `docker save`
 * uses) over the daemon's unix socket, streamed to a temp file and read by the docker-archive loader.
 * Works with Docker and with `podman system service`.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { environmentErrno, notFound, OciReproError, unavailable, usageError, writeContext } from '../errors.js';
import type { Image } from '../image/image.js';
import { trackTempPath, untrackTempPath } from '../temp-files.js';
import { ArchiveIndex } from './archive-index.js';
import { loadDockerArchive } from './docker-archive.js';
import type { DaemonOptions, LoadOptions } from './options.js';

export type DaemonLoadOptions = LoadOptions & DaemonOptions;

const apiVersion = 'v1.41';
const defaultSocket = '/var/run/docker.sock';

/** The socket path of DOCKER_HOST; only unix sockets are supported. */
export function daemonSocketPath(dockerHost: string | undefined): string {
  if (!dockerHost) return defaultSocket;
  if (dockerHost.startsWith('unix://')) {
    const path = dockerHost.slice('unix://'.length);
    if (!path.startsWith('/')) throw usageError(`DOCKER_HOST ${dockerHost}: expected unix:///absolute/path`);
    return path;
  }
  throw usageError(`DOCKER_HOST ${dockerHost}: only unix:// sockets are supported for docker-daemon:`, {
    hint: 'for a remote daemon, docker save it to a file and read that with docker-archive:PATH',
  });
}

/** `alpine` -> `alpine:latest`: a name without a tag would export every tag of the repository. */
export function daemonImageName(name: string): string {
  if (/^(sha256:)?[a-f0-9]{12,64}$/.test(name)) return name;
  if (name.includes('@')) return name;
  const lastSlash = name.lastIndexOf('/');
  return name.lastIndexOf(':') > lastSlash ? name : `${name}:latest`;
}

function describeSocketError(socket: string, error: NodeJS.ErrnoException): OciReproError {
  const hint = 'is the Docker daemon (or podman system service) running? set DOCKER_HOST=unix:///path/to/socket';
  if (error.code === 'ENOENT') return unavailable(`cannot reach the container daemon: no socket at ${socket}`, { hint, cause: error });
  if (error.code === 'ECONNREFUSED') return unavailable(`cannot reach the container daemon at ${socket}: connection refused`, { hint, cause: error });
  if (error.code === 'EACCES') {
    return unavailable(`cannot reach the container daemon at ${socket}: permission denied`, { hint: 'the user needs access to the socket (the docker group)', cause: error });
  }
  if (error instanceof OciReproError) return error;
  return unavailable(`container daemon at ${socket}: ${error.message}`, { cause: error });
}

/** Sends GET `path` on the socket; resolves with the response once headers arrive. */
function getOnSocket(socket: string, path: string, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolveResponse, reject) => {
    const req = request({ socketPath: socket, path, method: 'GET', headers: { Host: 'docker' } });
    let response: IncomingMessage | undefined;
    req.on('error', (error) => {
      if (response) response.destroy(error);
      else reject(describeSocketError(socket, error));
    });
    req.setTimeout(timeoutMs, () => {
      const error = unavailable(`container daemon at ${socket}: no data for ${timeoutMs / 1000} s`);
      if (response) response.destroy(error);
      req.destroy(error);
    });
    req.on('response', (res) => {
      response = res;
      resolveResponse(res);
    });
    req.end();
  });
}

async function readSmall(response: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of response) {
    if (text.length < 4096) text += (chunk as Buffer).toString('utf8');
  }
  return text;
}

/** Exports `name` from the daemon to a temp file and opens it as a docker-archive. */
export async function loadDaemonImage(text: string, name: string, options: DaemonLoadOptions = {}): Promise<Image> {
  const env = options.env ?? process.env;
  const socket = daemonSocketPath(options.dockerHost ?? env.DOCKER_HOST);
  const exported = daemonImageName(name);
  const path = `/${apiVersion}/images/${exported.split('/').map(encodeURIComponent).join('/')}/get`;
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'oci-repro-daemon-'));
  // Registered so that a signal does not leave the exported image behind (the CLI removes it).
  trackTempPath(dir);
  const removeDir = async () => {
    await rm(dir, { recursive: true, force: true });
    untrackTempPath(dir);
  };
  try {
    const response = await getOnSocket(socket, path, options.timeoutMs ?? 120_000);
    if (response.statusCode === 404) {
      await readSmall(response);
      throw notFound(`no image ${JSON.stringify(exported)} in the container daemon at ${socket}`, { hint: 'list images with docker images' });
    }
    if (response.statusCode !== 200) {
      const body = await readSmall(response);
      let message = body.trim().slice(0, 300);
      try {
        message = String((JSON.parse(body) as { message?: unknown }).message ?? message);
      } catch {
        // not JSON: the text itself
      }
      throw unavailable(`container daemon at ${socket} answered ${response.statusCode} exporting ${exported}: ${message}`);
    }
    const file = join(dir, 'image.tar');
    try {
      await pipeline(response, createWriteStream(file));
    } catch (error) {
      if (error instanceof OciReproError) throw error;
      // A full temp disk is ours to report (exit 74), not the daemon's.
      if (environmentErrno(error, true)) throw writeContext(`exporting ${exported} to ${file}`, error, 'set TMPDIR to a larger disk');
      throw unavailable(`exporting ${exported} from the container daemon at ${socket}: ${(error as Error).message}`, { cause: error });
    }
    const image = await loadDockerArchive(text, await ArchiveIndex.open(file), undefined, options);
    let closed = false;
    return {
      ...image,
      reference: text,
      transport: 'docker-daemon',
      close: async () => {
        if (closed) return;
        closed = true;
        try {
          await image.close();
        } finally {
          await removeDir();
        }
      },
    };
  } catch (error) {
    await removeDir();
    throw error;
  }
}
