/**
 * Where registry credentials come from, in this order:
 *   1. the `creds` option (`USER:PASSWORD`, the CLI's --creds), else env OCI_REPRO_CREDS — both apply to
 *      every registry this call contacts;
 *   2. the Docker client config ($DOCKER_CONFIG/config.json, else ~/.docker/config.json):
 *      `credHelpers[registry]`, then `auths[registry]` (auth, username/password or identitytoken),
 *      then `credsStore`; helpers run as `docker-credential-<name> get` with the server URL on stdin.
 * Secrets never enter a message: errors name only where the credentials came from.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OciReproError, usageError } from '../errors.js';
import { dockerHub } from './reference.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`docker login` with an identity provider, or helper user `<token>`). */
  identityToken?: string;
  /** For messages: `--creds`, `OCI_REPRO_CREDS`, `/root/.docker/config.json`, `docker-credential-pass`. */
  source: string;
}

export interface CredentialOptions {
  /** `USER:PASSWORD`; the password may contain colons. */
  creds?: string;
  env?: NodeJS.ProcessEnv;
  helperTimeoutMs?: number;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

const authError = (message: string, hint?: string) => new OciReproError('AUTH', message, hint ? { hint } : {});

/** `USER:PASSWORD` -> credentials; the error never repeats the value. */
export function parseCreds(text: string, source: string): Credentials {
  const colon = text.indexOf(':');
  if (colon <= 0) throw usageError(`${source}: expected USER:PASSWORD`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1), source };
}

/** The directory of the Docker client config: $DOCKER_CONFIG, else ~/.docker. */
export function dockerConfigDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

/** `https://index.docker.io/v1/`, `http://host:5000/v2/`, `host:5000` -> the registry name they stand for. */
export function registryOfConfigKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').split('/')[0]!.toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'registry.hub.docker.com' ? dockerHub : host;
}

/** The server URL Docker hands to credential helpers. */
function helperServerUrl(registry: string): string {
  return registry === dockerHub ? 'https://index.docker.io/v1/' : registry;
}

function lookup<T>(map: Record<string, T> | undefined, registry: string): T | undefined {
  if (!map || typeof map !== 'object') return undefined;
  if (Object.hasOwn(map, registry)) return map[registry];
  const key = Object.keys(map).find((candidate) => registryOfConfigKey(candidate) === registry);
  return key === undefined ? undefined : map[key];
}

async function readDockerConfig(path: string): Promise<DockerConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw authError(`reading ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as DockerConfigFile;
    return parsed && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    throw usageError(`${path}: not valid JSON`, { hint: 'fix or remove the Docker client config' });
  }
}

/** Credentials for `registry` (`docker.io`, `127.0.0.1:5000`), or undefined for anonymous access. */
export async function resolveCredentials(registry: string, options: CredentialOptions = {}): Promise<Credentials | undefined> {
  const env = options.env ?? process.env;
  if (options.creds !== undefined) return parseCreds(options.creds, '--creds');
  if (env.OCI_REPRO_CREDS) return parseCreds(env.OCI_REPRO_CREDS, 'OCI_REPRO_CREDS');

  const configPath = join(dockerConfigDir(env), 'config.json');
  const config = await readDockerConfig(configPath);
  if (!config) return undefined;
  const helper = lookup(config.credHelpers, registry);
  if (helper) return runCredentialHelper(helper, registry, env, options.helperTimeoutMs);
  const entry = lookup(config.auths, registry);
  if (entry) {
    const source = configPath;
    if (entry.identitytoken) return { identityToken: entry.identitytoken, source };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw authError(`${configPath}: the auth entry for ${registry} is not base64 of USER:PASSWORD`);
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password, source };
  }
  if (config.credsStore) return runCredentialHelper(config.credsStore, registry, env, options.helperTimeoutMs);
  return undefined;
}

/** `docker-credential-<name> get`: the server URL on stdin, `{"Username","Secret"}` on stdout. */
export function runCredentialHelper(
  name: string,
  registry: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    return Promise.reject(authError(`credential helper name ${JSON.stringify(name)} is not valid`, 'check credHelpers and credsStore in the Docker config'));
  }
  return new Promise((resolveHelper, reject) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(0, 4000);
    });
    child.stdin.on('error', () => {
      // a helper that exits without reading stdin: its exit status tells what happened
    });
    child.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      reject(
        code === 'ENOENT'
          ? authError(`credential helper ${program} is not on PATH`, 'install it, or remove it from credHelpers/credsStore in the Docker config')
          : authError(`running credential helper ${program}: ${code ?? error.message}`),
      );
    });
    child.on('close', (status, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (status !== 0) {
        // The helper protocol's "no credentials for this server": anonymous access.
        if (/credentials not found/i.test(stdout + err)) return resolveHelper(undefined);
        // The first line of stderr only, and never stdout: stdout is where secrets would be.
        const firstLine = err.trim().split('\n')[0]?.slice(0, 200) ?? '';
        return reject(authError(`credential helper ${program} failed (${signal ?? `exit ${status}`})${firstLine ? `: ${firstLine}` : ''}`));
      }
      let parsed: { Username?: unknown; Secret?: unknown };
      try {
        parsed = JSON.parse(stdout) as typeof parsed;
      } catch {
        return reject(authError(`credential helper ${program} printed something that is not JSON`));
      }
      if (typeof parsed?.Secret !== 'string' || parsed.Secret === '') return resolveHelper(undefined);
      const username = typeof parsed.Username === 'string' ? parsed.Username : '';
      if (username === '<token>') return resolveHelper({ identityToken: parsed.Secret, source: program });
      resolveHelper({ username, password: parsed.Secret, source: program });
    });
    child.stdin.end(helperServerUrl(registry));
  });
}
