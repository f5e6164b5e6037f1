/**
 * One HTTP exchange with a registry over node:http(s): TLS settings, an idle timeout that also covers
 * a response body that stops mid-stream, redirects, and bounded retries that honour Retry-After.
 * Callers read the body as a stream; nothing here buffers a blob.
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { PassThrough, type Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { OciReproError, unavailable, usageError } from '../errors.js';

export interface HttpSettings {
  /** Verify certificates (default true). */
  tlsVerify: boolean;
  /** Extra CA certificates (PEM), trusted beside Node's bundled roots. */
  extraCa?: string;
  /** No byte for this long while we wait for one: the exchange fails. */
  timeoutMs: number;
  /** Retries after 429/503 and after a reset connection; 0 disables. */
  retries: number;
  retryBaseDelayMs: number;
  /** A Retry-After longer than this is not waited for: the error says so at once. */
  maxRetryDelayMs: number;
  /** Observes every request sent (tests count them; a progress display could too). */
  onRequest?: (event: { method: string; url: string }) => void;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** A buffer, or a function that opens the body anew for each attempt (so a retry can resend it). */
  body?: Buffer | (() => Readable | Promise<Readable>);
  /** Required with a streamed body. */
  contentLength?: number;
  /** Follow 3xx with Location (blobs redirect to storage). Authorization is dropped on a change of origin. */
  followRedirects?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Where the answer came from, after redirects. */
  url: URL;
  body: Readable;
  /** How many attempts it took; more than one means retries happened. */
  attempts: number;
}

export const defaultHttpSettings: HttpSettings = {
  tlsVerify: true,
  timeoutMs: 30_000,
  retries: 3,
  retryBaseDelayMs: 500,
  maxRetryDelayMs: 30_000,
};

/** Reads a CA bundle for `caFile` / SSL_CERT_FILE. */
export function readCaFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw usageError(`${what}: cannot read CA file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

const certificateErrorCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The server answered a TLS hello with something that is not TLS: it speaks plain HTTP. */
export function isPlainHttpAnswer(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException;
  return (e?.code === 'EPROTO' || e?.code === 'ERR_SSL_WRONG_VERSION_NUMBER') && /wrong version number|packet length too long|http request/i.test(e.message);
}

/** Connection-level failures worth another attempt: the server may simply have dropped us. */
function isRetryableNetworkError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT' || code === 'OCI_REPRO_TIMEOUT';
}

class TimeoutError extends Error {
  readonly code = 'OCI_REPRO_TIMEOUT';
}

/** Turns a socket or TLS error into an "unavailable" error that says what to do. */
export function describeNetworkError(host: string, error: unknown): OciReproError {
  if (error instanceof OciReproError) return error;
  const e = error as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  if (certificateErrorCodes.has(code)) {
    return unavailable(`${host}: TLS certificate not trusted (${code}: ${e.message})`, {
      cause: error,
      hint: 'trust the registry CA with the caFile option or SSL_CERT_FILE, or turn TLS verification off for a test registry',
    });
  }
  if (code === 'ECONNREFUSED') return unavailable(`${host}: connection refused`, { cause: error, hint: 'is the registry running, and is the port right?' });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return unavailable(`${host}: host not found`, { cause: error });
  if (code === 'OCI_REPRO_TIMEOUT') return unavailable(`${host}: ${e.message}`, { cause: error, hint: 'the registry stopped answering; try again later' });
  if (code === 'ECONNRESET') return unavailable(`${host}: connection reset`, { cause: error });
  if (isPlainHttpAnswer(error)) {
    return unavailable(`${host}: the server does not speak TLS`, { cause: error, hint: 'plain HTTP is used only for localhost, or with TLS verification off' });
  }
  return unavailable(`${host}: ${e?.message ?? String(error)}`, { cause: error });
}

/** Seconds or an HTTP date, as milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const sleep = (ms: number) => new Promise<void>((resolveSleep) => setTimeout(resolveSleep, ms));

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const maxRedirects = 5;

/** Sends requests with one set of TLS and timeout settings, reusing connections until closed. */
export class HttpClient {
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent: HttpsAgent;

  constructor(readonly settings: HttpSettings) {
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      rejectUnauthorized: settings.tlsVerify,
      // A custom CA is added to the bundled roots, not put in their place.
      ...(settings.extraCa ? { ca: [...rootCertificates, settings.extraCa] } : {}),
    });
  }

  /** Sends with retries on 429/503 and reset connections; the caller judges the final status. */
  async send(request: HttpRequest): Promise<HttpResponse> {
    const { retries, retryBaseDelayMs, maxRetryDelayMs } = this.settings;
    for (let attempt = 1; ; attempt++) {
      let response: HttpResponse;
      try {
        response = await this.sendFollowing(request);
      } catch (error) {
        if (attempt <= retries && isRetryableNetworkError(error)) {
          await sleep(Math.min(maxRetryDelayMs, retryBaseDelayMs * 2 ** (attempt - 1)));
          continue;
        }
        throw describeNetworkError(request.url.host, error);
      }
      response.attempts = attempt;
      if (response.status !== 429 && response.status !== 503) return response;
      const asked = parseRetryAfter(response.headers['retry-after']);
      if (attempt > retries || (asked !== undefined && asked > maxRetryDelayMs)) return response;
      response.body.resume();
      await sleep(asked ?? Math.min(maxRetryDelayMs, retryBaseDelayMs * 2 ** (attempt - 1)));
    }
  }

  private async sendFollowing(request: HttpRequest): Promise<HttpResponse> {
    let current = request;
    for (let hops = 0; ; hops++) {
      const response = await this.sendOnce(current);
      const location = response.headers.location;
      if (!current.followRedirects || !redirectStatuses.has(response.status) || !location) return response;
      response.body.resume();
      if (hops >= maxRedirects) throw unavailable(`${request.url.host}: more than ${maxRedirects} redirects`);
      const next = new URL(location, current.url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw unavailable(`${request.url.host}: redirect to unsupported URL scheme ${next.protocol}`);
      const headers = { ...current.headers };
      // Credentials are for the registry, never for the storage it redirects to.
      if (next.origin !== current.url.origin) delete headers.Authorization;
      current = { ...current, url: next, headers, ...(response.status === 303 ? { method: 'GET', body: undefined } : {}) };
    }
  }

  private sendOnce(request: HttpRequest): Promise<HttpResponse> {
    const { url } = request;
    const timeoutMs = this.settings.timeoutMs;
    this.settings.onRequest?.({ method: request.method, url: url.href });
    return new Promise((resolveResponse, reject) => {
      const headers: Record<string, string> = { 'User-Agent': 'oci-repro', ...request.headers };
      if (Buffer.isBuffer(request.body)) headers['Content-Length'] = String(request.body.length);
      else if (request.body) headers['Content-Length'] = String(request.contentLength ?? 0);
      else if (request.method === 'PUT' || request.method === 'POST' || request.method === 'PATCH') headers['Content-Length'] = '0';
      const isHttps = url.protocol === 'https:';
      const options = {
        method: request.method,
        headers,
        agent: isHttps ? this.httpsAgent : this.httpAgent,
      };
      const req = isHttps ? httpsRequest(url, options) : httpRequest(url, options);
      let incoming: IncomingMessage | undefined;
      let body: PassThrough | undefined;
      let settled = false;
      const fail = (error: Error) => {
        if (!settled) {
          settled = true;
          reject(error);
        } else if (body && !body.destroyed) {
          body.destroy(describeNetworkError(url.host, error));
        }
      };
      req.on('error', fail);
      req.setTimeout(timeoutMs, () => {
        const socket = req.socket;
        // Nobody reading yet, or a reader that is not keeping up: that is the consumer's pace, not a stall.
        if (
          incoming &&
          body &&
          (body.readableFlowing === null || incoming.isPaused() || socket?.isPaused() || body.readableLength >= body.readableHighWaterMark)
        ) {
          socket?.setTimeout(timeoutMs);
          return;
        }
        const error = new TimeoutError(
          incoming ? `the response stopped for ${timeoutMs / 1000} s in the middle of its body` : `no answer for ${timeoutMs / 1000} s`,
        );
        if (body) body.destroy(describeNetworkError(url.host, error));
        req.destroy(error);
      });
      req.on('response', (res) => {
        incoming = res;
        // The body goes through a pass-through so every error on it is one of ours, naming the host.
        const pass = new PassThrough({ highWaterMark: 1 << 20 });
        body = pass;
        // A stall is reported to whoever reads the body; with no reader yet it must not crash the process.
        pass.on('error', () => {});
        res.on('error', (error) => {
          if (!pass.destroyed) pass.destroy(describeNetworkError(url.host, error));
        });
        // A reader that gives up early frees the connection rather than leaving it half read.
        pass.on('close', () => {
          if (!res.complete) req.destroy();
        });
        res.pipe(pass);
        settled = true;
        resolveResponse({ status: res.statusCode ?? 0, headers: res.headers, url, body: pass, attempts: 1 });
      });
      if (Buffer.isBuffer(request.body)) {
        req.end(request.body);
      } else if (request.body) {
        Promise.resolve()
          .then(() => (request.body as () => Readable | Promise<Readable>)())
          .then(
            (body) => {
              body.on('error', (error) => req.destroy(error));
              body.pipe(req);
            },
            (error: unknown) => req.destroy(error as Error),
          );
      } else {
        req.end();
      }
    });
  }

  /** Closes idle connections so the process can exit. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Reads a small response body whole, refusing more than `limit` bytes. */
export async function readBody(response: HttpResponse, limit: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    response.body.destroy();
    throw new OciReproError('BAD_INPUT', `${what}: ${declared} bytes, more than the ${limit} a document may have`);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.body) {
    length += (chunk as Buffer).length;
    if (length > limit) {
      response.body.destroy();
      throw new OciReproError('BAD_INPUT', `${what}: more than the ${limit} bytes a document may have`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads and discards a body, so that its connection can be reused. */
export async function drainBody(response: HttpResponse): Promise<void> {
  try {
    for await (const _chunk of response.body) {
      // discarded
    }
  } catch {
    // the body is not needed; its errors are not either
  }
}
