import { Transform, type TransformCallback } from 'node:stream';

/**
 * Progress of layer blob reads, as events the core emits and never prints: the CLI turns them into
 * bars (src/cli/progress.ts), an embedder into whatever it likes. An image's work is the sum of its
 * layer blobs; a blob read twice (an unordered layer, a file read back for a content diff) counts twice.
 */
export type ProgressEvent = ImageProgressEvent | BlobProgressEvent | SkipProgressEvent;

/** One image was loaded: the blobs that may be read. Sent once, before any blob event of the image. */
export interface ImageProgressEvent {
  kind: 'image';
  /** Tells images apart within one run (`verify a a` loads the same reference twice). */
  image: number;
  reference: string;
  /** `os/arch[/variant]` when a platform was chosen (of an index), to tell the images apart. */
  platform?: string;
  /** How it was reached: `docker` means every blob read is a fetch from a registry. */
  transport: string;
  /** The layers whose blobs are present (foreign layers are never read), with their sizes. */
  layers: { index: number; digest: string; size: number }[];
}

/** Bytes read so far by one read of a layer blob. */
export interface BlobProgressEvent {
  kind: 'blob';
  image: number;
  layer: number;
  digest: string;
  /** Numbers the reads of this image, from 1: several reads of one blob are several reads. */
  read: number;
  /** Bytes read by this read; `size` is the blob's size from its descriptor. */
  done: number;
  size: number;
  /** The read is over: at end of stream (done equals size) or cut short (done is what was read). */
  ended: boolean;
}

/** A layer whose blob will not be read after all (its pass was shared with an equal layer). */
export interface SkipProgressEvent {
  kind: 'skip';
  image: number;
  layer: number;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** How often a read reports at most; a person sees a few updates a second, the listener no flood. */
export const progressIntervalMs = 100;

/**
 * A pass-through that counts the bytes flowing and reports the count through `report`: on the first
 * chunk, then at most once per `intervalMs`, and once more when the stream ends or is destroyed
 * (`ended` true). It never changes, holds or fails the bytes; a throwing listener is not its business.
 */
export class ByteCounter extends Transform {
  private done = 0;
  private last = -Infinity;
  private ended = false;

  constructor(
    private readonly report: (done: number, ended: boolean) => void,
    private readonly intervalMs = progressIntervalMs,
    private readonly now: () => number = Date.now,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.done += chunk.length;
    const time = this.now();
    if (time - this.last >= this.intervalMs) {
      this.last = time;
      this.report(this.done, false);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.reportEnd();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.reportEnd();
    callback(error);
  }

  private reportEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.report(this.done, true);
  }
}
