import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { delimiter } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import { parseChallenges } from '../../src/registry/auth.js';
import { registryOfConfigKey, resolveCredentials } from '../../src/registry/credentials.js';
import { parseRetryAfter } from '../../src/registry/http.js';
import { TempDir } from '../helpers/images.js';

let dir: TempDir;
let bin: string;
beforeAll(async () => {
  dir = await TempDir.create();
  bin = dir.join('bin');
  await mkdir(bin);
  // A credential helper that logs what it was asked and answers per server URL.
  await writeFile(
    dir.join('bin', 'docker-credential-fake'),
    [
      '#!/bin/sh',
      'read server',
      'echo "$1 $server" >> "$HELPER_LOG"',
      'case "$server" in',
      '  https://index.docker.io/v1/) echo \'{"Username":"hubuser","Secret":"hubsecret"}\' ;;',
      '  token.example) echo \'{"Username":"<token>","Secret":"refresh-me"}\' ;;',
      '  broken.example) echo "keychain locked" >&2; exit 3 ;;',
      '  *) echo "credentials not found in native keychain"; exit 1 ;;',
      'esac',
    ].join('\n'),
  );
  await chmod(dir.join('bin', 'docker-credential-fake'), 0o755);
});
afterAll(async () => dir.remove());

async function configDir(name: string, config: unknown): Promise<string> {
  const path = dir.join(name);
  await mkdir(path, { recursive: true });
  await writeFile(dir.join(name, 'config.json'), JSON.stringify(config));
  return path;
}

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  PATH: `${bin}${delimiter}${process.env.PATH}`,
  HOME: dir.path,
  HELPER_LOG: dir.join('helper.log'),
  ...extra,
});

describe('credential sources', () => {
  it('the creds option wins, then OCI_REPRO_CREDS; passwords may hold colons', async () => {
    expect(await resolveCredentials('r.example', { creds: 'a:b:c', env: env({ OCI_REPRO_CREDS: 'x:y' }) })).toEqual({ username: 'a', password: 'b:c', source: '--creds' });
    expect(await resolveCredentials('r.example', { env: env({ OCI_REPRO_CREDS: 'x:y' }) })).toEqual({ username: 'x', password: 'y', source: 'OCI_REPRO_CREDS' });
  });

  it('a malformed --creds is a usage error that does not repeat the value', async () => {
    const error = await resolveCredentials('r.example', { creds: 'justapassword', env: env() }).catch((e: OciReproError) => e);
    expect((error as OciReproError).exitCode).toBe(2);
    expect((error as OciReproError).message).not.toContain('justapassword');
  });

  it('auths entries under any of the spellings Docker writes, from $DOCKER_CONFIG', async () => {
    const auth = (text: string) => ({ auth: Buffer.from(text).toString('base64') });
    const config = await configDir('auths', {
      auths: { 'https://index.docker.io/v1/': auth('hub:pw1'), 'http://127.0.0.1:5000/v2/': auth('local:pw2'), 'r.example': { identitytoken: 'idt' } },
    });
    const e = env({ DOCKER_CONFIG: config });
    expect(await resolveCredentials('docker.io', { env: e })).toMatchObject({ username: 'hub', password: 'pw1' });
    expect(await resolveCredentials('127.0.0.1:5000', { env: e })).toMatchObject({ username: 'local', password: 'pw2' });
    expect(await resolveCredentials('r.example', { env: e })).toMatchObject({ identityToken: 'idt' });
    expect(await resolveCredentials('other.example', { env: e })).toBeUndefined();
  });

  it('~/.docker/config.json without DOCKER_CONFIG; nothing at all is anonymous', async () => {
    await configDir('.docker', { auths: { 'home.example': { auth: Buffer.from('u:p').toString('base64') } } });
    expect(await resolveCredentials('home.example', { env: env() })).toMatchObject({ username: 'u', password: 'p' });
    expect(await resolveCredentials('home.example', { env: env({ HOME: dir.join('nowhere') }) })).toBeUndefined();
  });

  it('credHelpers per registry, then credsStore; helpers get the server URL Docker gives them', async () => {
    const config = await configDir('helpers', { credHelpers: { 'token.example': 'fake' }, credsStore: 'fake', auths: { 'broken.example': {} } });
    const e = env({ DOCKER_CONFIG: config });
    expect(await resolveCredentials('docker.io', { env: e })).toEqual({ username: 'hubuser', password: 'hubsecret', source: 'docker-credential-fake' });
    expect(await resolveCredentials('token.example', { env: e })).toEqual({ identityToken: 'refresh-me', source: 'docker-credential-fake' });
    expect(await resolveCredentials('unknown.example', { env: e })).toBeUndefined();
    const error = (await resolveCredentials('broken.example', { env: e }).catch((x: unknown) => x)) as OciReproError;
    expect(error.code).toBe('AUTH');
    expect(error.message).toContain('keychain locked');
  });

  it('a helper missing from PATH is an AUTH error that says which', async () => {
    const config = await configDir('missing-helper', { credsStore: 'nonexistent' });
    const error = (await resolveCredentials('x.example', { env: env({ DOCKER_CONFIG: config }) }).catch((x: unknown) => x)) as OciReproError;
    expect(error.exitCode).toBe(4);
    expect(error.message).toContain('docker-credential-nonexistent');
  });

  it('maps config keys to registries', () => {
    expect(registryOfConfigKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(registryOfConfigKey('registry-1.docker.io')).toBe('docker.io');
    expect(registryOfConfigKey('https://Quay.io')).toBe('quay.io');
    expect(registryOfConfigKey('localhost:5000')).toBe('localhost:5000');
  });
});

describe('WWW-Authenticate and Retry-After', () => {
  it('parses bearer and basic challenges, quoted values with commas and escapes', () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull,push' } },
    ]);
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    expect(parseChallenges(['Basic realm="a\\"b"', 'Bearer realm=https://x/token, service=x'])).toEqual([
      { scheme: 'basic', params: { realm: 'a"b' } },
      { scheme: 'bearer', params: { realm: 'https://x/token', service: 'x' } },
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
