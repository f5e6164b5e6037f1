import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { digestMismatch, withContext } from '../errors.js';
import { algorithmOf } from '../image/digest.js';
import type { BlobStore } from '../image/blob-store.js';
import type { RegistryClient } from './client.js';

function verifyBytes(bytes: Buffer, digest: string, what: string): Buffer {
  const actual = `${algorithmOf(digest)}:${createHash(algorithmOf(digest)).update(bytes).digest('hex')}`;
  if (actual !== digest) throw digestMismatch(`${what}: digest mismatch: expected ${digest}, got ${actual}`);
  return bytes;
}

/**
 * A repository as a BlobStore, so the shared assemble helpers build the Image. Manifests live under
 * `/manifests/`, not `/blobs/`: a digest is read as a manifest when it is the top document or listed in
 * an index read before.
 */
export class RegistryBlobStore implements BlobStore {
  private readonly documents = new Map<string, Buffer>();
  private readonly manifestDigests = new Set<string>();
  private readonly present = new Map<string, boolean>();

  constructor(
    readonly client: RegistryClient,
    /** `docker://127.0.0.1:5000/app:1`, for messages. */
    readonly description: string,
  ) {}

  /** A manifest already fetched (by tag): kept so it is not fetched again. */
  addManifest(digest: string, bytes: Buffer): void {
    this.documents.set(digest, bytes);
    this.manifestDigests.add(digest);
    this.noteChildren(bytes);
  }

  private noteChildren(bytes: Buffer): void {
    try {
      const parsed = JSON.parse(bytes.toString('utf8')) as { manifests?: { digest?: unknown }[] };
      if (!Array.isArray(parsed.manifests)) return;
      for (const child of parsed.manifests) if (typeof child?.digest === 'string') this.manifestDigests.add(child.digest);
    } catch {
      // not JSON: resolveManifest reports it
    }
  }

  async hasBlob(digest: string): Promise<boolean> {
    if (this.documents.has(digest)) return true;
    const known = this.present.get(digest);
    if (known !== undefined) return known;
    const found = await this.client.hasBlob(digest, `${this.description}: blob ${digest}`).catch((error) => {
      throw withContext(this.description, error);
    });
    this.present.set(digest, found);
    return found;
  }

  async openBlob(digest: string): Promise<Readable> {
    try {
      return await this.client.openBlob(digest, `blob ${digest}`);
    } catch (error) {
      throw withContext(this.description, error);
    }
  }

  async readBlob(digest: string, what: string): Promise<Buffer> {
    const cached = this.documents.get(digest);
    if (cached) return verifyBytes(cached, digest, what);
    if (this.manifestDigests.has(digest)) {
      const manifest = await this.client.getManifest(digest, what);
      this.addManifest(manifest.digest, manifest.bytes);
      return manifest.bytes;
    }
    return verifyBytes(await this.client.readBlob(digest, what), digest, what);
  }
}
