/**
 * Registry authentication: the `WWW-Authenticate` challenge, bearer tokens from the realm the challenge
 * names (anonymous, with USER:PASSWORD as basic auth, or an identity token as an OAuth2 refresh token),
 * and basic auth. Credentials are looked up only once a registry asks for them.
 */
import { OciReproError } from '../errors.js';
import type { Credentials } from './credentials.js';
import { drainBody, readBody, type HttpClient } from './http.js';
import { isLoopbackHost } from './reference.js';

export interface Challenge {
  /** Lower-case: `bearer`, `basic`. */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"`,
 * several challenges in one header included. Parameter names are lower-cased.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const text = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const challenges: Challenge[] = [];
  let at = 0;
  const skip = (pattern: RegExp) => {
    while (at < text.length && pattern.test(text[at]!)) at++;
  };
  const readToken = () => {
    const start = at;
    while (at < text.length && !/[\s,=]/.test(text[at]!)) at++;
    return text.slice(start, at);
  };
  while (at < text.length) {
    skip(/[\s,]/);
    const scheme = readToken();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const mark = at;
      const name = readToken();
      skip(/\s/);
      if (!name || text[at] !== '=') {
        at = mark; // a new scheme, or the end
        break;
      }
      at++;
      skip(/\s/);
      let value = '';
      if (text[at] === '"') {
        at++;
        while (at < text.length && text[at] !== '"') {
          if (text[at] === '\\' && at + 1 < text.length) at++;
          value += text[at++];
        }
        at++;
      } else {
        const start = at;
        while (at < text.length && text[at] !== ',') at++;
        value = text.slice(start, at).trim();
      }
      challenge.params[name.toLowerCase()] = value;
    }
  }
  return challenges;
}

/** `repository:NAME:pull` or `repository:NAME:pull,push`. */
export function repositoryScope(repository: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${repository}:${actions}`;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

const authError = (message: string, hint?: string) => new OciReproError('AUTH', message, hint ? { hint } : {});
const loginHint = 'log in with docker login, or pass credentials with --creds USER:PASSWORD or OCI_REPRO_CREDS';

/** Holds what one registry asked for and the tokens it gave; one per registry client. */
export class Authenticator {
  /** What the registry's `GET /v2/` (or a later 401) asked for; undefined while it asked for nothing. */
  private challenge?: Challenge;
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  private credentials?: Promise<Credentials | undefined>;

  constructor(
    private readonly http: HttpClient,
    private readonly lookupCredentials: () => Promise<Credentials | undefined>,
  ) {}

  /** Remembers the challenge of a 401 answer (from the ping or any request). */
  noteChallenge(header: string | string[] | undefined): boolean {
    const challenges = parseChallenges(header);
    const chosen = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (!chosen) return false;
    this.challenge = chosen;
    return true;
  }

  private getCredentials(): Promise<Credentials | undefined> {
    this.credentials ??= this.lookupCredentials();
    return this.credentials;
  }

  /** The Authorization header for a request needing `scopes`, or undefined when none is needed (yet). */
  async headerFor(scopes: string[]): Promise<string | undefined> {
    const challenge = this.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const credentials = await this.getCredentials();
      if (!credentials) return undefined;
      if (credentials.username === undefined || credentials.password === undefined) {
        throw authError(`the registry asks for basic auth, but the credentials from ${credentials.source} are an identity token`);
      }
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    if (challenge.scheme === 'bearer') {
      const wanted = [...new Set([...scopes, ...(challenge.params.scope ? challenge.params.scope.split(' ') : [])])].sort();
      const key = wanted.join(' ');
      const cached = this.tokens.get(key);
      if (cached) {
        // Waiters on a token request that fails share its error.
        const token = await cached;
        if (token.expiresAt > Date.now()) return token.header;
        // Expired: renew, unless another request is renewing already.
        if (this.tokens.get(key) !== cached) return this.headerFor(scopes);
      }
      // Blobs pushed in parallel share one token request.
      const pending = this.fetchToken(challenge, wanted);
      this.tokens.set(key, pending);
      try {
        return (await pending).header;
      } catch (error) {
        if (this.tokens.get(key) === pending) this.tokens.delete(key);
        throw error;
      }
    }
    throw authError(`the registry asks for ${challenge.scheme} authentication, which is not supported`);
  }

  /**
   * After a 401: the error to throw when the request was already authorized (or cannot be),
   * or undefined when a retry with a fresh header may succeed.
   */
  async rejection(header: string | string[] | undefined, sentAuthorization: boolean, scopes: string[]): Promise<OciReproError | undefined> {
    const before = this.challenge;
    const known = this.noteChallenge(header);
    if (!known) return authError(`access denied (401 without a usable challenge)`);
    if (!sentAuthorization) {
      // A registry whose GET /v2/ was open may still guard a repository: try once with what it asks for.
      if (this.challenge!.scheme === 'basic' && !(await this.getCredentials())) {
        return authError(`authentication required`, loginHint);
      }
      return undefined;
    }
    // A bearer token may lack a scope the registry now names: one fresh token for the union.
    const newScope = this.challenge!.params.scope;
    if (this.challenge!.scheme === 'bearer' && newScope && before?.params.scope !== newScope && !scopes.includes(newScope)) {
      this.tokens.clear();
      return undefined;
    }
    return this.deniedError();
  }

  /** The error for an authorized request that was still refused. */
  async deniedError(): Promise<OciReproError> {
    const credentials = await this.getCredentials();
    if (!credentials) return authError(`authentication required`, loginHint);
    return authError(`access denied with the credentials from ${credentials.source}`, 'check the user name and password, and that the user may access this repository');
  }

  private async fetchToken(challenge: Challenge, scopes: string[]): Promise<CachedToken> {
    const realmText = challenge.params.realm;
    let realm: URL;
    try {
      realm = new URL(realmText ?? '');
    } catch {
      throw authError(`bearer challenge without a valid realm (${JSON.stringify(realmText ?? '')})`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw authError(`token realm ${realm.protocol} is not http(s)`);
    const credentials = await this.getCredentials();
    // Secrets go to a token service over TLS only, or to one on this machine.
    if (credentials && realm.protocol === 'http:' && !isLoopbackHost(realm.host)) {
      throw authError(`token service ${realm.origin} is plain http; refusing to send credentials to it`);
    }
    const service = challenge.params.service;
    let response;
    if (credentials?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identityToken, client_id: 'oci-repro' });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      response = await this.http.send({
        method: 'POST',
        url: realm,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
      });
    } else {
      const url = new URL(realm);
      if (service) url.searchParams.set('service', service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      const headers: Record<string, string> = {};
      if (credentials?.username !== undefined && credentials.password !== undefined) {
        headers.Authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      }
      response = await this.http.send({ method: 'GET', url, headers });
    }
    if (response.status === 401 || response.status === 403) {
      await drainBody(response);
      if (credentials) {
        throw authError(`the token service rejected the credentials from ${credentials.source}`, 'check the user name and password');
      }
      throw authError(`the token service refused anonymous access`, loginHint);
    }
    if (response.status !== 200) {
      await drainBody(response);
      throw new OciReproError('UNAVAILABLE', `token service ${realm.origin} answered ${response.status}`);
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse((await readBody(response, 1 << 20, 'token')).toString('utf8')) as typeof body;
    } catch (error) {
      if (error instanceof OciReproError) throw error;
      throw new OciReproError('UNAVAILABLE', `token service ${realm.origin} answered something that is not JSON`);
    }
    const token = typeof body.token === 'string' && body.token ? body.token : body.access_token;
    if (typeof token !== 'string' || !token) throw new OciReproError('UNAVAILABLE', `token service ${realm.origin} answered without a token`);
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    // Renewed a little early so that a long pull never sends a token that just expired.
    return { header: `Bearer ${token}`, expiresAt: Date.now() + Math.max(10, lifetime - 10) * 1000 };
  }
}
