import type { Readable } from 'node:stream';

/** The minimal core a content-addressed source implements; shared helpers build an Image on it. */
export interface BlobStore {
  /** For messages: `oci-archive build.tar`. */
  readonly description: string;
  hasBlob(digest: string): Promise<boolean>;
  /** The raw bytes of a blob, unverified: callers verify at end of stream. */
  openBlob(digest: string): Promise<Readable>;
  /** A small blob (a JSON document) read whole and verified against its digest. */
  readBlob(digest: string, what: string): Promise<Buffer>;
}
