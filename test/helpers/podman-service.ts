// `podman system service` as a Docker Engine API on a unix socket, for the docker-daemon: tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';

export interface PodmanService {
  /** DOCKER_HOST for it: unix://SOCKET. */
  dockerHost: string;
  /** The last 4,000 characters podman wrote to stderr, for a failure's message. */
  log(): string;
  stop(): Promise<void>;
}

/** GET /_ping over the socket: true once the API answers 200, false while it refuses or is not there. */
function pings(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Starts podman's API on `socket` over the store `storeArgs` name, and resolves once it answers
 * /_ping. The socket file appears before podman accepts on it: a test that waited only for the file
 * met "connection refused" on a loaded machine.
 */
export async function startPodmanService(storeArgs: readonly string[], socket: string, opts: { idleSeconds: number; startMs?: number }): Promise<PodmanService> {
  const service: ChildProcess = spawn('podman', [...storeArgs, 'system', 'service', `--time=${opts.idleSeconds}`, `unix://${socket}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  service.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString('utf8')).slice(-4000)));
  const stop = async (): Promise<void> => {
    if (service.exitCode !== null || service.signalCode !== null) return;
    const exited = new Promise((resolve) => service.once('exit', resolve));
    service.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + (opts.startMs ?? 30_000);
  while (!(await pings(socket))) {
    if (service.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`podman system service did not answer /_ping on ${socket}: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { dockerHost: `unix://${socket}`, log: () => log, stop };
}
