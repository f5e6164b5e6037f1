import type { Readable } from 'node:stream';
import type { Compression } from './media-types.js';
import type { Descriptor, HistoryEntry, ImageConfig, Manifest, Platform } from './types.js';

/** How an image was reached: the transports users know from skopeo. */
export type Transport = 'docker-archive' | 'oci' | 'oci-archive' | 'docker' | 'docker-daemon' | 'dir';

/** One JSON document of the image, with the exact bytes its digest covers. */
export interface JsonBlob<T> {
  digest: string;
  bytes: Buffer;
  parsed: T;
}

export interface Layer {
  /** 0-based position in the manifest and in rootfs.diff_ids. */
  readonly index: number;
  /** The descriptor from the manifest (synthesized for a legacy docker-archive, which has no manifest). */
  readonly descriptor: Descriptor;
  /** rootfs.diff_ids[index]: sha256 of the uncompressed tar, as the config claims it. */
  readonly diffId: string;
  readonly compression: Compression;
  /** A non-distributable/foreign layer whose blob is absent: carried as a descriptor only. */
  readonly foreign: boolean;
  /** The history entry (Dockerfile step) that made this layer, aligned past empty_layer entries. */
  readonly history?: HistoryEntry;
  /** The blob as stored; errors at end of stream unless it matches the descriptor digest and size. */
  openBlob(): Promise<Readable>;
  /** The uncompressed tar; errors at end of stream unless it matches the blob digest and `diffId`. */
  openTar(): Promise<Readable>;
  /**
   * Tells a progress observer that this blob will not be read after all (its pass was shared with an
   * equal layer); present only when one is listening (sources/progress.ts).
   */
  skipRead?(): void;
}

export interface Image {
  /** The reference as the user gave it, for messages. */
  readonly reference: string;
  readonly transport: Transport;
  /** Absent for a legacy docker-archive, which stores no manifest. */
  readonly manifest?: JsonBlob<Manifest> & { mediaType: string };
  /** When the manifest was picked from an index: the index digest and the platform chosen. */
  readonly index?: { digest: string; mediaType: string };
  /** The config; its digest is the image ID. */
  readonly config: JsonBlob<ImageConfig>;
  readonly platform?: Platform;
  readonly layers: readonly Layer[];
  /** Releases open file handles. */
  close(): Promise<void>;
}
