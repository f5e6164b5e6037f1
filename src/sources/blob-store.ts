import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { badInput, withContext } from '../errors.js';
import { sha256 } from '../image/digest.js';
import type { BlobStore } from '../image/blob-store.js';
import type { ArchiveIndex } from './archive-index.js';
import { blobPath } from './paths.js';

/** JSON documents are small; a larger "document" is a sign of a wrong digest or a hostile input. */
export const maxDocumentBytes = 16 * 1024 * 1024;

export function verifyDocument(bytes: Buffer, digest: string, what: string): Buffer {
  const actual = sha256(bytes);
  if (digest.startsWith('sha256:') && actual !== digest) {
    throw badInput(`${what}: digest mismatch: expected ${digest}, got ${actual}`);
  }
  return bytes;
}

/** Blobs of an OCI image layout directory: `DIR/blobs/<alg>/<hex>`. */
export class DirectoryBlobStore implements BlobStore {
  constructor(
    readonly root: string,
    readonly description: string,
  ) {}

  async hasBlob(digest: string): Promise<boolean> {
    try {
      return (await stat(join(this.root, blobPath(digest, this.description)))).isFile();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  async openBlob(digest: string): Promise<Readable> {
    const path = join(this.root, blobPath(digest, this.description));
    if (!(await this.hasBlob(digest))) throw missingBlob(digest, this.description);
    return createReadStream(path, { highWaterMark: 1 << 20 });
  }

  async readBlob(digest: string, what: string): Promise<Buffer> {
    const path = join(this.root, blobPath(digest, what));
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw missingBlob(digest, what);
      throw withContext(what, error);
    }
    if (size > maxDocumentBytes) throw badInput(`${what}: ${digest} is ${size} bytes, too large for a JSON document`);
    return verifyDocument(await readFile(path), digest, what);
  }
}

/** Blobs inside a tar archive (oci-archive, or the OCI layout inside a Docker 25+ docker save). */
export class ArchiveBlobStore implements BlobStore {
  constructor(
    readonly archive: ArchiveIndex,
    readonly description: string,
  ) {}

  async hasBlob(digest: string): Promise<boolean> {
    return this.archive.has(blobPath(digest, this.description));
  }

  async openBlob(digest: string): Promise<Readable> {
    const member = this.archive.resolve(blobPath(digest, this.description));
    if (!member) throw missingBlob(digest, this.description);
    return this.archive.openMember(member);
  }

  async readBlob(digest: string, what: string): Promise<Buffer> {
    const member = this.archive.resolve(blobPath(digest, what));
    if (!member) throw missingBlob(digest, what);
    return verifyDocument(await this.archive.readMember(member, maxDocumentBytes), digest, what);
  }
}

export function missingBlob(digest: string, what: string) {
  return badInput(`${what}: blob ${digest} is missing`, { hint: 'the image was written incompletely or copied without its blobs' });
}

