/**
 * A tiny in-process registry on 127.0.0.1 for behaviours a real registry will not show on demand:
 * bearer-token auth, redirects to another origin, 429 with Retry-After, a blob that stalls, lying headers.
 * Only the read side of the distribution API (plus what the tests poke at).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256Of } from '../helpers/digest.js';

export interface RecordedRequest {
  method: string;
  url: string;
  host: string;
  authorization?: string;
}

export interface FakeRegistryOptions {
  /** Bearer auth: GET /token checks these as basic auth and hands out a token. */
  bearer?: { username: string; password: string; allowAnonymousPull?: boolean };
  /** Blob GETs answer 307 to /storage/<digest> on this other origin (localhost instead of 127.0.0.1). */
  redirectBlobs?: boolean;
}

/** Handles a request itself (returns true) or lets the fake registry answer. */
export type Interceptor = (req: IncomingMessage, res: ServerResponse) => boolean;

export class FakeRegistry {
  readonly requests: RecordedRequest[] = [];
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  readonly blobs = new Map<string, Buffer>();
  intercept?: Interceptor;
  private readonly token = `tok-${Math.random().toString(36).slice(2)}`;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly options: FakeRegistryOptions,
  ) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
    let registry: FakeRegistry | undefined;
    const server = createServer((req, res) => registry!.handle(req, res));
    await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
    registry = new FakeRegistry(server, (server.address() as AddressInfo).port, options);
    return registry;
  }

  /** Adds a manifest under its digest and the given tags; blobs go in `blobs`. */
  addManifest(bytes: Buffer, mediaType: string, ...tags: string[]): string {
    const digest = sha256Of(bytes);
    for (const key of [digest, ...tags]) this.manifests.set(key, { bytes, mediaType });
    return digest;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolveClose) => this.server.close(() => resolveClose()));
  }

  private authorized(req: IncomingMessage): boolean {
    const bearer = this.options.bearer;
    if (!bearer) return true;
    return req.headers.authorization === `Bearer ${this.token}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    this.requests.push({
      method: req.method ?? '',
      url: url.pathname + url.search,
      host: String(req.headers.host),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    if (this.intercept?.(req, res)) return;
    const bearer = this.options.bearer;
    if (url.pathname === '/token' && bearer) {
      const expected = `Basic ${Buffer.from(`${bearer.username}:${bearer.password}`).toString('base64')}`;
      const anonymous = req.headers.authorization === undefined;
      if ((anonymous && !bearer.allowAnonymousPull) || (!anonymous && req.headers.authorization !== expected)) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"bad credentials"}');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: this.token, expires_in: 300 }));
      return;
    }
    const storage = /^\/storage\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (storage) return this.sendBlob(req, res, storage[1]!);
    if (url.pathname.startsWith('/v2/') && bearer && !this.authorized(req)) {
      const scope = /^\/v2\/(.+)\/(manifests|blobs)\//.exec(url.pathname);
      res.writeHead(401, {
        'Content-Type': 'application/json',
        'WWW-Authenticate': `Bearer realm="http://127.0.0.1:${this.port}/token",service="fake"${scope ? `,scope="repository:${scope[1]}:pull"` : ''}`,
      });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    if (url.pathname === '/v2/') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      return;
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (manifest) {
      const found = this.manifests.get(decodeURIComponent(manifest[2]!));
      if (!found) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
        return;
      }
      res.writeHead(200, { 'Content-Type': found.mediaType, 'Content-Length': found.bytes.length, 'Docker-Content-Digest': sha256Of(found.bytes) });
      res.end(req.method === 'HEAD' ? undefined : found.bytes);
      return;
    }
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (blob) {
      if (this.options.redirectBlobs && req.method === 'GET') {
        res.writeHead(307, { Location: `http://localhost:${this.port}/storage/${blob[2]}` }).end();
        return;
      }
      return this.sendBlob(req, res, blob[2]!);
    }
    res.writeHead(404).end();
  }

  private sendBlob(req: IncomingMessage, res: ServerResponse, digest: string): void {
    const bytes = this.blobs.get(digest);
    if (!bytes) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }
}
