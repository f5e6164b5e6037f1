/**
 * skopeo's directory transport (`skopeo copy … dir:PATH`, `buildah push NAME dir:PATH`, `podman save
 * --format docker-dir`): `manifest.json`, a `version` file, and every blob named by the hex of its
 * sha256 digest. Since the copy of a manifest list (`--all`), the list is `manifest.json` and each
 * instance's manifest `<hex>.manifest.json` (skopeo 1.9 and later); signatures (`signature-N`) are ignored.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { badInput, unsupported, withContext } from '../errors.js';
import { assertDigest, encodedOf, sha256 } from '../image/digest.js';
import type { BlobStore } from '../image/blob-store.js';
import type { Image } from '../image/image.js';
import { MediaType } from '../image/media-types.js';
import { assembleImage, parseJson, resolveManifest } from './assemble.js';
import { maxDocumentBytes, missingBlob, verifyDocument } from './blob-store.js';
import type { LoadOptions } from './options.js';

/** What the `version` file says; only major version 1 is known. */
const versionPattern = /^Directory Transport Version: 1\.\d+\s*$/;

/** The blobs of a `dir:` copy: files named by the digest's hex; manifests also as `<hex>.manifest.json`. */
export class DirTransportBlobStore implements BlobStore {
  /** The top manifest, kept under its digest: it lives in manifest.json, not under its hex. */
  private readonly documents = new Map<string, Buffer>();

  constructor(
    readonly root: string,
    readonly description: string,
  ) {}

  addDocument(digest: string, bytes: Buffer): void {
    this.documents.set(digest, bytes);
  }

  /** The file holding a blob, or undefined. Only sha256: skopeo names files by the hex alone. */
  private async find(digest: string, what: string, manifestToo: boolean): Promise<{ path: string; size: number } | undefined> {
    assertDigest(digest, what);
    if (!digest.startsWith('sha256:')) throw unsupported(`${what}: ${digest}: a dir: copy only holds sha256 blobs`);
    const hex = encodedOf(digest);
    const names = manifestToo ? [hex, `${hex}.manifest.json`] : [hex];
    for (const name of names) {
      const path = join(this.root, name);
      try {
        const stats = await stat(path);
        if (stats.isFile()) return { path, size: stats.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw withContext(what, error);
      }
    }
    return undefined;
  }

  async hasBlob(digest: string): Promise<boolean> {
    return this.documents.has(digest) || (await this.find(digest, this.description, false)) !== undefined;
  }

  async openBlob(digest: string): Promise<Readable> {
    const found = await this.find(digest, this.description, false);
    if (!found) throw missingBlob(digest, this.description);
    return createReadStream(found.path, { highWaterMark: 1 << 20 });
  }

  async readBlob(digest: string, what: string): Promise<Buffer> {
    const document = this.documents.get(digest);
    if (document) return document;
    const found = await this.find(digest, what, true);
    if (!found) throw missingBlob(digest, what);
    if (found.size > maxDocumentBytes) throw badInput(`${what}: ${digest} is ${found.size} bytes, too large for a JSON document`);
    return verifyDocument(await readFile(found.path), digest, what);
  }
}

/** Does the directory look like a `dir:` copy (for a bare path)? */
export async function isDirTransport(dir: string): Promise<boolean> {
  const present = async (name: string) => (await stat(join(dir, name)).catch(() => undefined))?.isFile() ?? false;
  return (await present('manifest.json')) && (await present('version'));
}

export async function loadDirTransport(reference: string, dir: string, options: LoadOptions): Promise<Image> {
  // A missing directory is "unavailable" (exit 4); one that exists but is not a dir: copy is bad input.
  const info = await stat(dir).catch((error) => {
    throw withContext(reference, error);
  });
  if (!info.isDirectory()) throw badInput(`${reference}: not a directory (a dir: reference names a skopeo directory copy)`);
  await checkVersion(reference, dir);
  const manifestPath = join(dir, 'manifest.json');
  const bytes = await readFile(manifestPath).catch((error) => {
    throw (error as NodeJS.ErrnoException).code === 'ENOENT'
      ? badInput(`${reference}: no manifest.json (not a skopeo directory copy)`, { hint: 'write one with skopeo copy SOURCE dir:PATH' })
      : withContext(reference, error);
  });
  if (bytes.length > maxDocumentBytes) throw badInput(`${reference}: manifest.json is ${bytes.length} bytes, too large for a manifest`);
  const parsed = parseJson<{ mediaType?: unknown; manifests?: unknown }>(bytes, `${reference}: manifest.json`);
  const digest = sha256(bytes);
  const store = new DirTransportBlobStore(dir, reference);
  store.addDocument(digest, bytes);
  // OCI documents may omit mediaType: then the shape says which (resolveManifest checks the rest).
  const mediaType =
    typeof parsed?.mediaType === 'string' ? parsed.mediaType : Array.isArray(parsed?.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  const resolved = await resolveManifest(store, { mediaType, digest, size: bytes.length }, options.platform, reference);
  return assembleImage(reference, 'dir', store, resolved);
}

/** A `version` of another major version is a layout we do not know; a missing one is tolerated. */
async function checkVersion(reference: string, dir: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(join(dir, 'version'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw withContext(reference, error);
  }
  if (!versionPattern.test(text)) {
    throw unsupported(`${reference}: unknown directory transport version ${JSON.stringify(text.trim().slice(0, 60))}`, {
      hint: 'oci-repro reads "Directory Transport Version: 1.x"',
    });
  }
}
