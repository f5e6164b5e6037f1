import type { BlobProgressEvent, ImageProgressEvent, ProgressEvent } from '../image/progress.js';

/** One read of a layer blob as the tally knows it. */
export interface ReadTally {
  read: number;
  layer: number;
  digest: string;
  done: number;
  size: number;
  ended: boolean;
}

/** What the bars show of one image: bytes read of bytes to read. */
export interface ImageTally {
  image: number;
  label: string;
  /** Every read is a fetch from a registry: the bars show each blob in flight too. */
  fetches: boolean;
  /** Layers not read yet (and not skipped), by index: their sizes are still to come. */
  pending: Map<number, number>;
  reads: Map<number, ReadTally>;
  rate: RateMeter;
}

/**
 * Adds up progress events per image: done is every byte read; total is the blobs not read yet plus,
 * for each read, the blob's size (or what was read, once a read stopped early). A blob read twice
 * counts twice, a skipped one not at all, so done reaches total exactly when nothing is left to read.
 */
export class ProgressTally {
  readonly images = new Map<number, ImageTally>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Applies one event; returns the image it changed (undefined for an image never announced). */
  apply(event: ProgressEvent): ImageTally | undefined {
    if (event.kind === 'image') {
      const tally = newImageTally(event);
      this.images.set(event.image, tally);
      return tally;
    }
    const tally = this.images.get(event.image);
    if (!tally) return undefined;
    if (event.kind === 'skip') {
      tally.pending.delete(event.layer);
      return tally;
    }
    applyRead(tally, event);
    tally.rate.add(this.now(), imageDone(tally));
    return tally;
  }
}

function newImageTally(event: ImageProgressEvent): ImageTally {
  return {
    image: event.image,
    label: event.platform ? `${event.reference} ${event.platform}` : event.reference,
    fetches: event.transport === 'docker',
    pending: new Map(event.layers.map((layer) => [layer.index, layer.size])),
    reads: new Map(),
    rate: new RateMeter(),
  };
}

function applyRead(tally: ImageTally, event: BlobProgressEvent): void {
  tally.pending.delete(event.layer);
  const known = tally.reads.get(event.read);
  if (known) {
    // Updated in place: a bar's render function holds this object.
    if (known.ended) return;
    known.done = event.done;
    known.ended = event.ended;
    return;
  }
  tally.reads.set(event.read, { read: event.read, layer: event.layer, digest: event.digest, done: event.done, size: event.size, ended: event.ended });
}

export function imageDone(tally: ImageTally): number {
  let done = 0;
  for (const read of tally.reads.values()) done += read.done;
  return done;
}

export function imageTotal(tally: ImageTally): number {
  let total = 0;
  for (const size of tally.pending.values()) total += size;
  for (const read of tally.reads.values()) total += readTotal(read);
  return total;
}

/** A read that stopped early was all it will be; a running one is its blob (never less than read). */
export function readTotal(read: ReadTally): number {
  return read.ended ? read.done : Math.max(read.size, read.done);
}

/** Nothing pending and every read over. */
export function imageFinished(tally: ImageTally): boolean {
  if (tally.pending.size > 0) return false;
  for (const read of tally.reads.values()) if (!read.ended) return false;
  return true;
}

/**
 * Bytes per second over the last few seconds: a recent rate follows a change of speed (a cached blob,
 * a slower registry) sooner than the average since the start, and it falls while nothing arrives.
 */
export class RateMeter {
  private readonly samples: [time: number, done: number][] = [];

  constructor(private readonly windowMs = 3000) {}

  add(time: number, done: number): void {
    this.samples.push([time, done]);
    // Keep one sample older than the window, as the window's starting point.
    while (this.samples.length > 2 && this.samples[1]![0] <= time - this.windowMs) this.samples.shift();
  }

  /** When the last bytes came: a finished bar's rate is taken then, so it does not fall afterwards. */
  get lastTime(): number | undefined {
    return this.samples[this.samples.length - 1]?.[0];
  }

  /** Undefined until there are two samples apart in time. */
  rate(now: number): number | undefined {
    if (this.samples.length < 2) return undefined;
    const [firstTime, firstDone] = this.samples[0]!;
    const [, lastDone] = this.samples[this.samples.length - 1]!;
    const elapsed = now - firstTime;
    if (elapsed <= 0) return undefined;
    return ((lastDone - firstDone) * 1000) / elapsed;
  }
}
