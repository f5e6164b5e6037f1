/**
 * A client for one registry and one repository, speaking the OCI distribution API: it finds the scheme,
 * authenticates on demand, and turns answers into typed errors. Manifests are verified against the
 * digest of their bytes, never against a header.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { digestMismatch, notFound, OciReproError, unavailable, usageError, type ErrorCode } from '../errors.js';
import { algorithmOf, sha256 } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import { Authenticator, repositoryScope } from './auth.js';
import { resolveCredentials, type Credentials } from './credentials.js';
import {
  defaultHttpSettings,
  describeNetworkError,
  drainBody,
  HttpClient,
  isPlainHttpAnswer,
  readBody,
  readCaFile,
  type HttpRequest,
  type HttpResponse,
} from './http.js';
import { isLoopbackHost, type RegistryReference } from './reference.js';

export interface RegistryOptions {
  /** `USER:PASSWORD` for every registry contacted; else env OCI_REPRO_CREDS, else the Docker config. */
  creds?: string;
  /** Verify TLS certificates (default true). False also allows falling back to plain HTTP, as skopeo does. */
  tlsVerify?: boolean;
  /** A PEM file of CA certificates to trust beside the bundled roots; default env SSL_CERT_FILE. */
  caFile?: string;
  /** Idle timeout: no byte for this long fails the request (default 30 s). */
  timeoutMs?: number;
  /** Retries after 429/503 or a reset connection (default 3). */
  retries?: number;
  /** First backoff delay, doubled per retry (default 500 ms). */
  retryBaseDelayMs?: number;
  /** Longest wait between retries; a longer Retry-After fails at once (default 30 s). */
  maxRetryDelayMs?: number;
  /** Environment for OCI_REPRO_CREDS, SSL_CERT_FILE, DOCKER_CONFIG, HOME and helper lookup (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Called for every HTTP request sent, with its method and URL (never its headers). */
  onRequest?: (event: { method: string; url: string }) => void;
}

/** What the registry answered for a manifest: the exact bytes and their digest. */
export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}

export const manifestAccept = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
].join(', ');

/** JSON documents are small; a larger "document" is a sign of a wrong digest or a hostile registry. */
const maxDocumentBytes = 16 * 1024 * 1024;

/** The `errors` list of a distribution error body: `[{code, message}]`. */
async function readRegistryErrors(response: HttpResponse): Promise<{ code: string; message: string }[]> {
  if (response.body.readableEnded || response.status === 0) return [];
  try {
    const body = JSON.parse((await readBody(response, 64 * 1024, 'error body')).toString('utf8')) as { errors?: unknown };
    if (!Array.isArray(body.errors)) return [];
    return body.errors
      .filter((e): e is { code?: unknown; message?: unknown } => !!e && typeof e === 'object')
      .map((e) => ({ code: String(e.code ?? ''), message: String(e.message ?? '').slice(0, 200) }));
  } catch {
    return [];
  }
}

function describeErrors(errors: { code: string; message: string }[]): string {
  return errors.map((e) => (e.message && e.message.toLowerCase() !== e.code.toLowerCase().replace(/_/g, ' ') ? `${e.code}: ${e.message}` : e.code)).join('; ');
}

export class RegistryClient {
  private readonly http: HttpClient;
  private readonly auth: Authenticator;
  private base?: Promise<URL>;
  private readonly tlsVerify: boolean;

  /**
   * @param scopes the token scopes this client asks for (`repository:NAME:pull`, or `pull,push` plus
   *   `pull` on mount sources)
   */
  constructor(
    readonly reference: Pick<RegistryReference, 'registry' | 'host' | 'repository'>,
    readonly scopes: string[],
    options: RegistryOptions = {},
  ) {
    const env = options.env ?? process.env;
    const caFile = options.caFile ?? (env.SSL_CERT_FILE || undefined);
    this.tlsVerify = options.tlsVerify ?? true;
    this.http = new HttpClient({
      tlsVerify: this.tlsVerify,
      ...(caFile ? { extraCa: readCaFile(caFile, options.caFile ? 'caFile' : 'SSL_CERT_FILE') } : {}),
      timeoutMs: options.timeoutMs ?? defaultHttpSettings.timeoutMs,
      retries: options.retries ?? defaultHttpSettings.retries,
      retryBaseDelayMs: options.retryBaseDelayMs ?? defaultHttpSettings.retryBaseDelayMs,
      maxRetryDelayMs: options.maxRetryDelayMs ?? defaultHttpSettings.maxRetryDelayMs,
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    });
    const lookup = (): Promise<Credentials | undefined> => resolveCredentials(reference.registry, { ...(options.creds !== undefined ? { creds: options.creds } : {}), env });
    this.auth = new Authenticator(this.http, lookup);
  }

  /** A client for pulling from the reference's repository. */
  static forPull(reference: RegistryReference, options: RegistryOptions = {}): RegistryClient {
    return new RegistryClient(reference, [repositoryScope(reference.repository, 'pull')], options);
  }

  /** `https://host` or, for loopback (or with TLS verification off) when TLS is not spoken there, `http://host`. */
  private baseUrl(): Promise<URL> {
    this.base ??= this.ping();
    return this.base;
  }

  /** `GET /v2/`: which scheme works, and what authentication the registry asks for. */
  private async ping(): Promise<URL> {
    const { host } = this.reference;
    const https = new URL(`https://${host}/`);
    let response: HttpResponse;
    try {
      response = await this.http.send({ method: 'GET', url: new URL('/v2/', https) });
    } catch (error) {
      const cause = (error as OciReproError).cause ?? error;
      if (!((isLoopbackHost(host) || !this.tlsVerify) && isPlainHttpAnswer(cause))) throw error;
      const http = new URL(`http://${host}/`);
      response = await this.http.send({ method: 'GET', url: new URL('/v2/', http) });
      return this.judgePing(response, http);
    }
    return this.judgePing(response, https);
  }

  private async judgePing(response: HttpResponse, base: URL): Promise<URL> {
    const { host } = this.reference;
    if (response.status === 401) {
      this.auth.noteChallenge(response.headers['www-authenticate']);
      await drainBody(response);
      return base;
    }
    if (response.status >= 200 && response.status < 300) {
      await drainBody(response);
      return base;
    }
    if (response.status === 404) {
      await drainBody(response);
      throw unavailable(`${host}: not a registry (GET /v2/ answered 404)`, { hint: 'check the registry host and port' });
    }
    throw await this.responseError(response, `${host}: GET /v2/`);
  }

  /**
   * Sends a request to the registry with authorization, retrying once after a 401 that a fresh header
   * may answer. `path` is relative to the registry root; absolute URLs (upload locations) are used as
   * given, with credentials only when they point at the registry itself.
   */
  async request(request: Omit<HttpRequest, 'url'> & { path?: string; url?: URL }): Promise<HttpResponse> {
    const base = await this.baseUrl();
    const url = request.url ?? new URL(request.path!, base);
    const ownOrigin = url.origin === base.origin;
    for (let attempt = 0; ; attempt++) {
      const header = ownOrigin ? await this.auth.headerFor(this.scopes) : undefined;
      const headers = { ...request.headers, ...(header ? { Authorization: header } : {}) };
      const response = await this.http.send({ ...request, url, headers });
      if (response.status !== 401 || !ownOrigin) return response;
      await drainBody(response);
      const rejection = await this.auth.rejection(response.headers['www-authenticate'], header !== undefined, this.scopes);
      if (rejection) throw rejection;
      if (attempt >= 1) throw await this.auth.deniedError();
    }
  }

  /** The repository path prefix: `/v2/<name>/`. */
  repositoryPath(repository = this.reference.repository): string {
    return `/v2/${repository}/`;
  }

  /**
   * GET a manifest by tag or digest. Its digest is computed from the bytes (with the algorithm of the
   * digest asked for); asked by digest, the bytes must match it.
   */
  async getManifest(reference: string, what: string): Promise<FetchedManifest> {
    const response = await this.request({
      method: 'GET',
      path: `${this.repositoryPath()}manifests/${encodeURIComponent(reference)}`,
      headers: { Accept: manifestAccept },
    });
    if (response.status !== 200) throw await this.responseError(response, what);
    const bytes = await this.readDocument(response, what);
    const byDigest = /^[a-z0-9]+:[a-f0-9]+$/.test(reference);
    const digest = byDigest ? `${algorithmOf(reference)}:${createHash(algorithmOf(reference)).update(bytes).digest('hex')}` : sha256(bytes);
    if (byDigest && digest !== reference) {
      throw digestMismatch(`${what}: digest mismatch: asked for ${reference}, the registry sent bytes with digest ${digest}`);
    }
    const contentType = String(response.headers['content-type'] ?? '').split(';')[0]!.trim();
    let mediaType = contentType;
    try {
      const declared = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
      if (typeof declared === 'string' && declared) mediaType = declared;
    } catch {
      // not JSON: resolveManifest says so with the reference in the message
    }
    return { bytes, digest, mediaType };
  }

  /** Whether the repository holds a blob (HEAD). */
  async hasBlob(digest: string, what: string, repository?: string): Promise<boolean> {
    const response = await this.request({ method: 'HEAD', path: `${this.repositoryPath(repository)}blobs/${digest}`, followRedirects: true });
    await drainBody(response);
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw await this.responseError(response, what);
  }

  /** A blob's bytes as they arrive, unverified (callers verify at end of stream), redirects followed. */
  async openBlob(digest: string, what: string): Promise<Readable> {
    const response = await this.request({ method: 'GET', path: `${this.repositoryPath()}blobs/${digest}`, followRedirects: true });
    if (response.status !== 200) throw await this.responseError(response, what);
    return response.body;
  }

  /** A small blob (a config) read whole; the caller verifies its digest. */
  async readBlob(digest: string, what: string): Promise<Buffer> {
    const response = await this.request({ method: 'GET', path: `${this.repositoryPath()}blobs/${digest}`, followRedirects: true });
    if (response.status !== 200) throw await this.responseError(response, what);
    return this.readDocument(response, what);
  }

  private async readDocument(response: HttpResponse, what: string): Promise<Buffer> {
    try {
      return await readBody(response, maxDocumentBytes, what);
    } catch (error) {
      if (error instanceof OciReproError) throw error;
      throw describeNetworkError(`${what}: ${response.url.host}`, error);
    }
  }

  /** Turns a final non-success answer into an error with the registry's own error codes. */
  async responseError(response: HttpResponse, what: string): Promise<OciReproError> {
    const { status } = response;
    const errors = await readRegistryErrors(response);
    const codes = new Set(errors.map((e) => e.code));
    const detail = errors.length ? `: ${describeErrors(errors)}` : '';
    const make = (code: ErrorCode, message: string, hint?: string) => new OciReproError(code, message, hint ? { hint } : {});
    if (status === 401) return this.auth.deniedError();
    if (status === 403) return make('AUTH', `${what}: access denied (403)${detail}`, 'check that the user may access this repository');
    if (status === 404) {
      if (codes.has('NAME_UNKNOWN')) return notFound(`${what}: repository ${this.reference.repository} not found on ${this.reference.registry}`);
      if (codes.has('MANIFEST_UNKNOWN')) return notFound(`${what}: manifest unknown${detail}`, { hint: 'check the tag or digest' });
      if (codes.has('BLOB_UNKNOWN')) return notFound(`${what}: blob unknown to the registry`);
      return notFound(`${what}: not found (404)${detail}`);
    }
    if (status === 429 || status === 503) {
      const after = response.headers['retry-after'];
      return unavailable(`${what}: registry answered ${status}${status === 429 ? ' too many requests' : ' service unavailable'} after ${response.attempts} attempt${response.attempts === 1 ? '' : 's'}${detail}`, {
        hint: after ? `the registry asked to retry after ${String(after)}; try again later` : 'try again later',
      });
    }
    if (status === 400 && (codes.has('DIGEST_INVALID') || codes.has('SIZE_INVALID'))) {
      return digestMismatch(`${what}: the registry found the uploaded bytes do not match their digest${detail}`);
    }
    if (status === 400 || status === 415) {
      if (codes.has('NAME_INVALID') || codes.has('TAG_INVALID')) return usageError(`${what}: registry refused the name${detail}`);
      return make('BAD_INPUT', `${what}: registry refused the request (${status})${detail}`);
    }
    return unavailable(`${what}: registry answered ${status}${detail}`);
  }

  /** Closes idle connections. */
  close(): void {
    this.http.close();
  }
}
