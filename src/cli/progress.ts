/**
 * Byte progress on stderr while a person watches: one bar per image (bytes read of bytes to read, rate,
 * time left), and for a registry image one bar per blob in flight. The core only reports events
 * (image/progress.ts); this turns them into bars with cli-progress's MultiBar, which fits an oclif
 * command because it draws on the stream it is given (stderr) and never touches stdout, where the
 * report goes. Never on a pipe, never in JSON mode, never with --quiet.
 */
import { Flags } from '@oclif/core';
import cliProgress from 'cli-progress';
import type { ProgressEvent, ProgressListener } from '../image/progress.js';
import { formatProgressLine } from './progress-format.js';
import { imageDone, imageFinished, imageTotal, ProgressTally, RateMeter, readTotal, type ImageTally } from './progress-tally.js';

export const progressFlags = {
  quiet: Flags.boolean({
    char: 'q',
    description: 'no progress bars on stderr (they show only when stderr is a terminal, and never with --json)',
    default: false,
  }),
};

/** What a command holds while it runs: a listener for LoadOptions.onProgress, and the end of the bars. */
export interface Progress {
  /** Undefined when nothing is shown: the core then counts nothing either. */
  readonly onProgress?: ProgressListener;
  /** Awaits `work`, then clears the bars (also when it fails), so the report or error starts on a clean line. */
  during<T>(work: Promise<T>): Promise<T>;
  stop(): void;
}

export interface ProgressSettings {
  quiet: boolean;
  /** --json or --format json: stdout is one JSON document and stderr stays quiet too. */
  json: boolean;
  stream?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

/** Bars when stderr is a terminal (not a dumb one) and neither --quiet nor JSON; otherwise nothing. */
export function startProgress(settings: ProgressSettings): Progress {
  const stream = settings.stream ?? process.stderr;
  const env = settings.env ?? process.env;
  if (settings.quiet || settings.json || !stream.isTTY || env.TERM === 'dumb') return silent;
  return new ByteBars(stream);
}

const silent: Progress = {
  during: (work) => work,
  stop: () => {},
};

/** Finished image bars beyond this many are taken down (an index of many platforms). */
const keptImageBars = 6;

class ByteBars implements Progress {
  readonly onProgress: ProgressListener = (event) => this.apply(event);
  private readonly tally = new ProgressTally();
  private readonly multibar: cliProgress.MultiBar;
  private readonly imageBars = new Map<number, cliProgress.SingleBar>();
  private readonly blobBars = new Map<string, { bar: cliProgress.SingleBar; rate: RateMeter }>();
  private started = false;
  private stopped = false;
  /**
   * Clears the bars before the CLI's own signal handler writes its message and exits. A terminal that
   * hung up (SIGHUP) may refuse the write: the exit must not depend on it.
   */
  private readonly onSignal = () => {
    try {
      this.stop();
    } catch {
      // exiting anyway
    }
  };

  constructor(stream: NodeJS.WriteStream) {
    this.multibar = new cliProgress.MultiBar({
      stream,
      fps: 5,
      clearOnComplete: true,
      hideCursor: false,
      // Each bar's text comes from its own render function (payload), fitted to the terminal's width.
      format: (_options, params, payload: { render: (width: number) => string }) => payload.render(params.maxWidth),
    });
  }

  async during<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } finally {
      this.stop();
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.started) return;
    for (const signal of signals) process.removeListener(signal, this.onSignal);
    this.multibar.stop();
  }

  private apply(event: ProgressEvent): void {
    if (this.stopped) return;
    const tally = this.tally.apply(event);
    if (!tally || event.kind === 'image') return;
    let redraw = false;
    let bar = this.imageBars.get(tally.image);
    if (!bar && event.kind === 'blob') {
      bar = this.create([tally.image, 0], (width) => this.line(tally.label.padEnd(this.labelWidth()), imageDone(tally), imageTotal(tally), tally.rate, width));
      this.imageBars.set(tally.image, bar);
      redraw = true;
    }
    bar?.setTotal(imageTotal(tally));
    bar?.update(imageDone(tally));
    if (event.kind === 'blob' && tally.fetches) redraw = this.showFetch(tally, event.read) || redraw;
    if (imageFinished(tally) && tally.reads.size > 0) {
      this.takeDownFinished();
      // The finished state is drawn once, however short the run.
      redraw = true;
    }
    if (redraw) this.multibar.update();
  }

  /** A registry image: a bar per blob while it is fetched, gone when it is done. */
  private showFetch(tally: ImageTally, readNumber: number): boolean {
    const read = tally.reads.get(readNumber)!;
    const key = `${tally.image}/${readNumber}`;
    const shown = this.blobBars.get(key);
    if (read.ended) {
      if (shown) this.multibar.remove(shown.bar);
      this.blobBars.delete(key);
      return shown !== undefined;
    }
    if (shown) {
      shown.rate.add(Date.now(), read.done);
      shown.bar.setTotal(readTotal(read));
      shown.bar.update(read.done);
      return false;
    }
    const rate = new RateMeter();
    rate.add(Date.now(), read.done);
    const label = `  ${read.digest.slice(0, 'sha256:'.length + 12)}`;
    this.blobBars.set(key, { bar: this.create([tally.image, readNumber], (width) => this.line(label, read.done, readTotal(read), rate, width)), rate });
    return true;
  }

  /** A bar placed by `order` (image, then read; 0 is the image's own bar), so blobs sit under their image. */
  private create(order: [image: number, read: number], render: (width: number) => string): cliProgress.SingleBar {
    if (!this.started) {
      this.started = true;
      for (const signal of signals) process.prependListener(signal, this.onSignal);
    }
    const bar = this.multibar.create(1, 0, { order, render });
    // MultiBar appends and has no insert: its bars array is sorted in place (left as is if that changes).
    const bars: unknown = (this.multibar as unknown as { bars?: unknown }).bars;
    if (Array.isArray(bars)) {
      const key = (item: { payload?: { order?: [number, number] } }) => item.payload?.order ?? [Infinity, 0];
      bars.sort((x, y) => key(x)[0] - key(y)[0] || key(x)[1] - key(y)[1]);
    }
    return bar;
  }

  private takeDownFinished(): void {
    const finished = [...this.imageBars].filter(([image]) => imageFinished(this.tally.images.get(image)!));
    for (const [image, bar] of finished.slice(0, Math.max(0, this.imageBars.size - keptImageBars))) {
      this.multibar.remove(bar);
      this.imageBars.delete(image);
    }
  }

  /** Image labels are padded to the longest shown, so their bars line up. */
  private labelWidth(): number {
    let width = 0;
    for (const image of this.imageBars.keys()) width = Math.max(width, this.tally.images.get(image)!.label.length);
    return width;
  }

  private line(label: string, done: number, total: number, rate: RateMeter, width: number): string {
    const now = done >= total ? (rate.lastTime ?? Date.now()) : Date.now();
    return formatProgressLine({ label, done, total, rate: rate.rate(now) }, width);
  }
}

const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
