// OCI 1.1 referrers: the fallback tag scheme end to end against a real registry without the referrers
// API (Debian's docker-registry 2.8), and the API path against a tiny in-process FAKE registry that
// answers the referrers endpoint and the OCI-Subject header (no registry on this machine has the API).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../src/image/media-types.js';
import { pushImage, type PushImage } from '../../src/registry/push.js';
import { emptyConfig, listReferrers, pushReferrer, referrersTag, type Descriptor } from '../../src/registry/referrers.js';
import { sha256Of } from '../helpers/digest.js';
import { buildImage } from '../helpers/images.js';
import { skipWithoutTools, skopeoInspectRaw } from '../helpers/real-tools.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { makeTar } from '../helpers/tar.js';
import { FakeRegistry } from './fake-registry.js';

const artifactType = 'application/vnd.in-toto+json';

async function makeImage(seed: string): Promise<PushImage> {
  const built = buildImage({ layers: [{ tar: await makeTar([{ name: 'seed', content: `${seed}\n` }]) }] });
  return {
    manifest: built.manifest,
    config: built.config,
    layers: built.layers.map((layer) => ({ digest: layer.digest, size: layer.bytes.length, mediaType: layer.mediaType, bytes: layer.bytes })),
  };
}

const artifact = (text: string) => ({
  artifactType,
  mediaType: artifactType,
  bytes: Buffer.from(`{"statement":${JSON.stringify(text)}}\n`),
  annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
});

/** GET on the registry as a plain HTTP client would: status, content type, body. */
async function get(url: string, accept = `${MediaType.ociIndex}, ${MediaType.ociManifest}`): Promise<{ status: number; type: string; body: Buffer }> {
  const response = await fetch(url, { headers: { Accept: accept } });
  return { status: response.status, type: response.headers.get('content-type') ?? '', body: Buffer.from(await response.arrayBuffer()) };
}

describe('referrersTag', () => {
  it('is <alg>-<hex> of the subject digest', () => {
    const digest = sha256Of(Buffer.from('x'));
    expect(referrersTag(digest)).toBe(`sha256-${digest.slice('sha256:'.length)}`);
    expect(() => referrersTag('not-a-digest')).toThrow();
  });
});

describe.skipIf(skipWithoutTools('docker-registry'))('a registry without the referrers API (docker-registry 2.8): the fallback tag', () => {
  let registry: RunningRegistry;
  let subject: string;
  const options = { tlsVerify: false, env: {} };
  beforeAll(async () => {
    registry = await startRegistry();
    subject = (await pushImage(`docker://${registry.host}/team/app:1`, await makeImage('a'), options)).digest;
  });
  afterAll(async () => registry?.stop());

  it('has no referrers API: GET /v2/<name>/referrers/<digest> is not an index', async () => {
    const answer = await get(`${registry.url}/v2/team/app/referrers/${subject}`);
    expect(answer.status === 200 && answer.type.startsWith(MediaType.ociIndex)).toBe(false);
  });

  it('pushes the artifact manifest with subject, and lists it in the sha256-<hex> tag index; a second push appends', async () => {
    const first = await pushReferrer(`docker://${registry.host}/team/app:1`, subject, artifact('one'), options);
    expect(first.method).toBe('tag');
    expect(first.tag).toBe(referrersTag(subject));

    // The artifact manifest, read back raw: an OCI image manifest with artifactType, the empty config, one layer, the subject.
    const manifest = await get(`${registry.url}/v2/team/app/manifests/${first.digest}`);
    expect(manifest.status).toBe(200);
    expect(sha256Of(manifest.body)).toBe(first.digest);
    const parsed = JSON.parse(manifest.body.toString('utf8')) as { artifactType: string; config: Descriptor; layers: Descriptor[]; subject: Descriptor; mediaType: string };
    expect(parsed.mediaType).toBe(MediaType.ociManifest);
    expect(parsed.artifactType).toBe(artifactType);
    expect(parsed.config).toEqual({ mediaType: MediaType.ociEmpty, digest: sha256Of(emptyConfig), size: 2 });
    expect(parsed.subject.digest).toBe(subject);
    const layer = await get(`${registry.url}/v2/team/app/blobs/${parsed.layers[0]!.digest}`, '*/*');
    expect(layer.body.toString('utf8')).toBe(artifact('one').bytes.toString('utf8'));
    const config = await get(`${registry.url}/v2/team/app/blobs/${parsed.config.digest}`, '*/*');
    expect(config.body.toString('utf8')).toBe('{}');

    // The tag's index lists it, with its artifactType and annotations.
    const tagIndex = await get(`${registry.url}/v2/team/app/manifests/${first.tag}`);
    expect(tagIndex.status).toBe(200);
    const index = JSON.parse(tagIndex.body.toString('utf8')) as { mediaType: string; manifests: Descriptor[] };
    expect(index.mediaType).toBe(MediaType.ociIndex);
    expect(index.manifests).toEqual([
      { mediaType: MediaType.ociManifest, digest: first.digest, size: manifest.body.length, artifactType, annotations: artifact('one').annotations },
    ]);

    const second = await pushReferrer(`docker://${registry.host}/team/app`, subject, artifact('two'), options);
    expect(second.digest).not.toBe(first.digest);
    const listed = await listReferrers(`docker://${registry.host}/team/app`, subject, options);
    expect(listed.method).toBe('tag');
    expect(listed.referrers.map((entry) => entry.digest)).toEqual([first.digest, second.digest]);

    // The same artifact again is not listed twice.
    await pushReferrer(`docker://${registry.host}/team/app`, subject, artifact('two'), options);
    expect((await listReferrers(`docker://${registry.host}/team/app`, subject, options)).referrers).toHaveLength(2);
  });

  it.skipIf(skipWithoutTools('skopeo'))('skopeo, an independent reader, sees the tag index and the artifact manifest with its subject', async () => {
    const pushed = await pushReferrer(`docker://${registry.host}/team/app`, subject, artifact('skopeo'), options);
    const index = await skopeoInspectRaw(`docker://${registry.host}/team/app:${pushed.tag}`, ['--tls-verify=false']);
    const listed = (index.json as unknown as { manifests: Descriptor[] }).manifests;
    expect(listed.map((entry) => entry.digest)).toContain(pushed.digest);
    const manifest = await skopeoInspectRaw(`docker://${registry.host}/team/app@${pushed.digest}`, ['--tls-verify=false']);
    expect(sha256Of(manifest.bytes)).toBe(pushed.digest);
    expect((manifest.json as unknown as { subject: Descriptor }).subject).toEqual(pushed.subject);
  });

  it('a subject the repository lacks is exit 4 naming it', async () => {
    const missing = sha256Of(Buffer.from('missing'));
    await expect(pushReferrer(`docker://${registry.host}/team/app`, missing, artifact('x'), options)).rejects.toMatchObject({ exitCode: 4 });
  });

  it('lists nothing for a subject without referrers', async () => {
    const other = (await pushImage(`docker://${registry.host}/team/other:1`, await makeImage('b'), options)).digest;
    expect(await listReferrers(`docker://${registry.host}/team/other`, other, options)).toEqual({ method: 'tag', referrers: [] });
  });
});

/**
 * A FAKE registry with the referrers API, in process: stores pushed blobs and manifests, answers a
 * manifest PUT with OCI-Subject when the manifest has a subject, and GET /v2/<name>/referrers/<digest>
 * with an index of the manifests naming that subject. Only what the referrer push needs.
 */
function withReferrersApi(fake: FakeRegistry, signalSubject: boolean): void {
  const referrers = new Map<string, Descriptor[]>();
  fake.intercept = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const read = () =>
      new Promise<Buffer>((done) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => done(Buffer.concat(chunks)));
      });
    if (req.method === 'POST' && /\/blobs\/uploads\/$/.test(url.pathname)) {
      res.writeHead(202, { Location: `${url.pathname}session-${Math.random().toString(36).slice(2)}` }).end();
      return true;
    }
    if (req.method === 'PUT' && /\/blobs\/uploads\/session-/.test(url.pathname)) {
      void read().then((bytes) => {
        fake.blobs.set(url.searchParams.get('digest')!, bytes);
        res.writeHead(201).end();
      });
      return true;
    }
    const manifestPut = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'PUT' && manifestPut) {
      void read().then((bytes) => {
        const type = String(req.headers['content-type']);
        const digest = fake.addManifest(bytes, type, decodeURIComponent(manifestPut[2]!));
        const parsed = JSON.parse(bytes.toString('utf8')) as { subject?: Descriptor; artifactType?: string; annotations?: Record<string, string> };
        const headers: Record<string, string> = { 'Docker-Content-Digest': digest };
        if (parsed.subject) {
          const list = referrers.get(parsed.subject.digest) ?? [];
          list.push({ mediaType: type, digest, size: bytes.length, ...(parsed.artifactType ? { artifactType: parsed.artifactType } : {}), ...(parsed.annotations ? { annotations: parsed.annotations } : {}) });
          referrers.set(parsed.subject.digest, list);
          if (signalSubject) headers['OCI-Subject'] = parsed.subject.digest;
        }
        res.writeHead(201, headers).end();
      });
      return true;
    }
    const listing = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (req.method === 'GET' && listing) {
      const body = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: referrers.get(listing[2]!) ?? [] });
      res.writeHead(200, { 'Content-Type': MediaType.ociIndex }).end(body);
      return true;
    }
    return false;
  };
}

describe('a registry with the referrers API (in-process FAKE registry)', () => {
  for (const signalSubject of [true, false]) {
    it(`uses the API, writes no fallback tag (${signalSubject ? 'OCI-Subject header' : 'no header: the referrers endpoint answers'})`, async () => {
      const fake = await FakeRegistry.start();
      try {
        withReferrersApi(fake, signalSubject);
        const options = { env: {} };
        const image = await makeImage('api');
        const subject = (await pushImage(`docker://${fake.host}/app:1`, image, options)).digest;
        const pushed = await pushReferrer(`docker://${fake.host}/app:1`, subject, artifact('api'), options);
        expect(pushed.method).toBe('api');
        expect(pushed.tag).toBeUndefined();
        expect(fake.manifests.has(referrersTag(subject))).toBe(false);
        expect(fake.requests.some((request) => request.method === 'PUT' && request.url.includes('sha256-'))).toBe(false);
        const listed = await listReferrers(`docker://${fake.host}/app`, subject, options);
        expect(listed.method).toBe('api');
        expect(listed.referrers.map((entry) => [entry.digest, entry.artifactType])).toEqual([[pushed.digest, artifactType]]);
      } finally {
        await fake.stop();
      }
    });
  }
});
