/**
 * A throwaway CNCF distribution registry (Debian's `docker-registry`) on 127.0.0.1, for registry
 * round trips in tests. Storage, config, certificate and htpasswd live in one temp dir that stop()
 * removes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { findTool, inCi, makeTempDir, removeTempDir, runTool } from './real-tools.js';

export interface StartRegistryOptions {
  /** Basic auth from an htpasswd file (bcrypt); the credentials come back on the handle. */
  auth?: 'htpasswd';
  /** Serve https with a fresh self-signed certificate for 127.0.0.1. */
  tls?: boolean;
  /** Accept schema 1 manifest PUTs (`compatibility.schema1.enabled`; distribution 2.8 refuses them otherwise). */
  schema1?: boolean;
  /** How long to wait for `GET /v2/` to answer (default 15 s). */
  startTimeoutMs?: number;
}

export interface RunningRegistry {
  /** 127.0.0.1:PORT, for references: `docker://${host}/name:tag`. */
  host: string;
  /** http(s)://127.0.0.1:PORT */
  url: string;
  storageDir: string;
  credentials?: { username: string; password: string };
  /** PEM file of the self-signed certificate, and a directory holding it as ca.crt (skopeo --cert-dir). */
  tls?: { caFile: string; certDir: string };
  /**
   * skopeo flags to reach this registry. side 'src'/'dest' for `skopeo copy`, '' for `skopeo inspect`:
   * TLS verification off (http) or the cert dir (https), plus credentials.
   */
  skopeoArgs(side: 'src' | 'dest' | ''): string[];
  stop(): Promise<void>;
}

const REGISTRY_BINARIES = ['docker-registry', 'registry'];

export function findRegistryBinary(): string | undefined {
  for (const name of REGISTRY_BINARIES) {
    const found = findTool(name);
    if (found) return found;
  }
  return undefined;
}

/** A port the kernel just handed out on 127.0.0.1; a race with other processes is retried by the caller. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('no port from listen(0)'));
      });
    });
  });
}

/**
 * bcrypt for htpasswd without an npm dependency or apache2-utils: perl's crypt() is libc's, which on
 * Debian is libxcrypt and implements $2b$. perl-base is Essential, so it is on every Debian machine.
 * Cost 5 keeps each authenticated request cheap (the registry checks the hash on every request).
 */
async function bcryptHash(password: string): Promise<string> {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(21);
  // 22 salt characters carry 128 bits: the last one may only use its top two bits.
  const salt = [...bytes].map((b) => alphabet[b % 64]).join('') + '.Oeu'[bytes[0]! % 4];
  const { stdout } = await runTool('perl', ['-e', 'print crypt($ENV{PW}, $ENV{SALT})'], {
    env: { ...process.env, PW: password, SALT: `$2b$05$${salt}` },
  });
  const hash = stdout.toString('utf8');
  if (!/^\$2b\$05\$[./A-Za-z0-9]{53}$/.test(hash)) throw new Error(`libc crypt() gave no bcrypt hash: ${hash}`);
  return hash;
}

async function selfSignedCert(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  // Go's TLS ignores the CN: the IP must be in subjectAltName.
  await runTool('openssl', [
    'req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  return { cert, key };
}

/** Resolves with the status of GET /v2/ (200, or 401 with auth), rejects on connection errors. */
function probe(url: string, ca: string | undefined): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(
      `${url}/v2/`,
      { method: 'GET', timeout: 1000, ...(ca ? { ca } : {}) },
      (res) => {
        res.resume();
        resolveStatus(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

// A registry outlives a test that throws before stop(); kill what is left when the worker exits.
const liveRegistries = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveRegistries) child.kill('SIGKILL');
});

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolveStop) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}

/** Start `docker-registry serve CONFIG` on a free 127.0.0.1 port and wait until it answers. */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const binary = findRegistryBinary();
  if (!binary) {
    throw new Error(`docker-registry is not installed${inCi ? ' (CI=true: .ci/run must install it)' : ''}`);
  }
  const dir = await makeTempDir('oci-repro-registry-');
  try {
    const storageDir = join(dir, 'storage');
    let credentials: RunningRegistry['credentials'];
    let tls: RunningRegistry['tls'];
    let caPem: string | undefined;
    const extra: Record<string, unknown> = {};
    if (opts.schema1) extra.compatibility = { schema1: { enabled: true } };

    if (opts.auth === 'htpasswd') {
      credentials = { username: 'tester', password: randomBytes(12).toString('hex') };
      const htpasswd = join(dir, 'htpasswd');
      await writeFile(htpasswd, `${credentials.username}:${await bcryptHash(credentials.password)}\n`);
      extra.auth = { htpasswd: { realm: 'oci-repro-test', path: htpasswd } };
    }
    let httpTls: Record<string, string> | undefined;
    if (opts.tls) {
      const { cert, key } = await selfSignedCert(dir);
      const certDir = join(dir, 'certs');
      await mkdir(certDir);
      caPem = await readFile(cert, 'utf8');
      // skopeo --cert-dir reads *.crt as CA certificates.
      await writeFile(join(certDir, 'ca.crt'), caPem);
      tls = { caFile: cert, certDir };
      httpTls = { certificate: cert, key };
    }

    const scheme = opts.tls ? 'https' : 'http';
    const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
    let lastError = '';
    // A port from freePort() can be taken before the registry binds it: try a few.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const host = `127.0.0.1:${port}`;
      const url = `${scheme}://${host}`;
      // distribution reads its config with a YAML parser, and JSON is YAML.
      const config = {
        version: '0.1',
        log: { level: 'warn', accesslog: { disabled: true } },
        storage: { filesystem: { rootdirectory: storageDir }, delete: { enabled: true } },
        http: { addr: host, secret: randomBytes(16).toString('hex'), ...(httpTls ? { tls: httpTls } : {}) },
        ...extra,
      };
      const configFile = join(dir, 'config.yml');
      await writeFile(configFile, JSON.stringify(config, null, 2));

      const child = spawn(binary, ['serve', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      liveRegistries.add(child);
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-4000);
      });
      let exited = false;
      child.once('exit', () => {
        exited = true;
        liveRegistries.delete(child);
      });
      child.once('error', (err) => {
        exited = true;
        stderr += String(err);
      });

      while (!exited && Date.now() < deadline) {
        try {
          const status = await probe(url, caPem);
          if (status === 200 || status === 401) {
            const handle: RunningRegistry = {
              host,
              url,
              storageDir,
              ...(credentials ? { credentials } : {}),
              ...(tls ? { tls } : {}),
              skopeoArgs(side) {
                const flag = (name: string) => (side ? `--${side}-${name}` : `--${name}`);
                const args = tls ? [`${flag('cert-dir')}=${tls.certDir}`] : [`${flag('tls-verify')}=false`];
                if (credentials) args.push(`${flag('creds')}=${credentials.username}:${credentials.password}`);
                return args;
              },
              async stop() {
                await stopProcess(child);
                await removeTempDir(dir);
              },
            };
            return handle;
          }
          lastError = `GET /v2/ answered ${status}`;
        } catch (err) {
          lastError = String(err);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      await stopProcess(child);
      lastError = `${lastError}; registry stderr: ${stderr.trim()}`;
      if (!/address already in use/.test(stderr)) break;
    }
    throw new Error(`docker-registry did not answer GET /v2/: ${lastError}`);
  } catch (err) {
    await removeTempDir(dir);
    throw err;
  }
}
