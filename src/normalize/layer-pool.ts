/**
 * A pool of worker threads for layer passes, so that hashing and tar parsing of several layers (and of
 * both images of verify) use every core. Workers start lazily (at most one per core, and never more
 * than tasks waiting), are reused across layers and images, are unref'd (an idle pool never keeps the
 * process alive), and end with `close()`.
 *
 * A blob in a local file (`Layer.location`) is read by the worker itself. Any other blob is read on
 * this thread through `Layer.openBlob` (which checks its digest and size) and forwarded in 1 MiB
 * transferred buffers, keeping at most `windowBytes` unacknowledged per stream, so memory stays flat
 * whatever the speeds of source and worker.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { debuglog } from 'node:util';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { OciReproError } from '../errors.js';
import {
  rebuildError,
  serializeError,
  unpackResult,
  workerMarker,
  type LayerPassResult,
  type LayerTask,
  type MainMessage,
  type TaskMessage,
  type WorkerMessage,
} from './layer-worker.js';

const debug = debuglog('oci-repro');

const forwardChunkSize = 1 << 20;
const defaultWindowBytes = 8 << 20;

/** Counters for tests and diagnostics. */
export interface LayerPoolStats {
  workersStarted: number;
  /** Blob streams read on this thread and forwarded (sources without a local file). */
  streamsForwarded: number;
  /** Largest number of forwarded bytes not yet acknowledged by a worker, over all streams. */
  maxBytesInFlight: number;
  threadIds: number[];
}

let liveWorkers = 0;
/** Worker threads of all pools that have not exited yet (tests check that pools end theirs). */
export function liveLayerWorkers(): number {
  return liveWorkers;
}

/**
 * The compiled worker script: beside this file in dist/; under vitest this file is the TypeScript
 * source, and the script is the built one (npm test builds dist/ first). Undefined if it is missing.
 */
export function layerWorkerScript(): URL | undefined {
  const here = import.meta.url;
  const script = here.endsWith('.ts')
    ? new URL('../../dist/normalize/layer-worker.js', here)
    : new URL('./layer-worker.js', here);
  if (existsSync(fileURLToPath(script))) return script;
  debug('layer worker script %s is missing: layer passes run on the main thread', fileURLToPath(script));
  return undefined;
}

interface Job {
  task: LayerTask;
  openBlob: () => Promise<Readable>;
  resolve: (result: LayerPassResult) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  /** The job running on it, and how to fail it if the worker dies. */
  fail?: (error: Error) => void;
}

export class LayerPool {
  readonly stats: LayerPoolStats = { workersStarted: 0, streamsForwarded: 0, maxBytesInFlight: 0, threadIds: [] };
  private readonly workers = new Set<PoolWorker>();
  private readonly idle: PoolWorker[] = [];
  private readonly queue: Job[] = [];
  private bytesInFlight = 0;
  private closed = false;

  constructor(
    private readonly script: URL,
    readonly maxWorkers = availableParallelism(),
    private readonly windowBytes = defaultWindowBytes,
  ) {}

  /** Runs one layer pass on a worker; resolves as runLayerPass would, errors rebuilt with the same line. */
  run(task: LayerTask, openBlob: () => Promise<Readable>): Promise<LayerPassResult> {
    if (this.closed) return Promise.reject(new OciReproError('INTERNAL', 'layer pool used after close'));
    return new Promise((resolve, reject) => {
      this.queue.push({ task, openBlob, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends every worker; jobs still queued fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new OciReproError('INTERNAL', 'layer pool closed'));
    const ending = [...this.workers].map(({ worker }) => worker.terminate());
    this.workers.clear();
    this.idle.length = 0;
    await Promise.all(ending);
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.idle.pop();
      if (slot === undefined) {
        if (this.workers.size >= this.maxWorkers) return;
        slot = this.startWorker();
      }
      this.runOn(slot, this.queue.shift()!);
    }
  }

  private startWorker(): PoolWorker {
    const worker = new Worker(this.script, { workerData: { role: workerMarker } });
    worker.unref();
    liveWorkers++;
    this.stats.workersStarted++;
    this.stats.threadIds.push(worker.threadId);
    const slot: PoolWorker = { worker };
    this.workers.add(slot);
    const lost = (error: Error) => {
      this.workers.delete(slot);
      const at = this.idle.indexOf(slot);
      if (at >= 0) this.idle.splice(at, 1);
      slot.fail?.(error);
      if (!this.closed) this.dispatch();
    };
    worker.on('error', (error) => lost(new OciReproError('INTERNAL', `layer worker failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => {
      liveWorkers--;
      lost(new OciReproError('INTERNAL', `layer worker exited with code ${code}`));
    });
    return slot;
  }

  private runOn(slot: PoolWorker, job: Job): void {
    const { port1, port2 } = new MessageChannel();
    const forwarders = new Map<number, Forwarder>();
    let settled = false;
    const settle = () => {
      settled = true;
      slot.fail = undefined;
      for (const forwarder of forwarders.values()) forwarder.stop();
      forwarders.clear();
      port1.close();
    };
    slot.fail = (error) => {
      if (settled) return;
      settle();
      job.reject(error);
    };
    port1.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'open':
          this.openStream(job, port1, message.stream, forwarders, () => settled);
          break;
        case 'credit':
          forwarders.get(message.stream)?.credit(message.bytes);
          break;
        case 'close':
          forwarders.get(message.stream)?.stop();
          forwarders.delete(message.stream);
          break;
        case 'done':
        case 'failed':
          settle();
          if (this.workers.has(slot) && !this.closed) {
            this.idle.push(slot);
            this.dispatch();
          }
          if (message.type === 'done') job.resolve(unpackResult(message.result));
          else job.reject(rebuildError(message.error));
          break;
      }
    });
    slot.worker.postMessage({ task: job.task, port: port2 } satisfies TaskMessage, [port2]);
  }

  private openStream(job: Job, port: MessagePort, id: number, forwarders: Map<number, Forwarder>, settled: () => boolean): void {
    job.openBlob().then(
      (source) => {
        if (settled()) {
          source.destroy();
          return;
        }
        this.stats.streamsForwarded++;
        forwarders.set(id, new Forwarder(source, port, id, this));
      },
      (error) => {
        if (!settled()) port.postMessage({ type: 'error', stream: id, error: serializeError(error) } satisfies MainMessage);
      },
    );
  }

  /** @internal Forwarder bookkeeping of bytes in flight over all streams. */
  account(bytes: number): void {
    this.bytesInFlight += bytes;
    if (this.bytesInFlight > this.stats.maxBytesInFlight) this.stats.maxBytesInFlight = this.bytesInFlight;
  }

  /** @internal */
  get window(): number {
    return this.windowBytes;
  }
}

/** Pumps one blob stream into the port in 1 MiB transferred buffers, pausing while the window is full. */
class Forwarder {
  private inFlight = 0;
  private buffer: Buffer | null = null;
  private fill = 0;
  private stopped = false;

  constructor(
    private readonly source: Readable,
    private readonly port: MessagePort,
    private readonly id: number,
    private readonly pool: LayerPool,
  ) {
    source.on('data', (chunk: Buffer) => this.take(chunk));
    source.on('end', () => {
      if (this.stopped) return;
      this.send();
      this.post({ type: 'end', stream: id });
    });
    source.on('error', (error) => {
      if (!this.stopped) this.post({ type: 'error', stream: id, error: serializeError(error) });
      this.stopped = true;
    });
  }

  credit(bytes: number): void {
    this.inFlight -= bytes;
    this.pool.account(-bytes);
    if (this.inFlight < this.pool.window && this.source.isPaused() && !this.stopped) this.source.resume();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.pool.account(-this.inFlight);
    this.inFlight = 0;
    if (!this.source.destroyed) this.source.destroy();
  }

  private take(chunk: Buffer): void {
    if (this.stopped) return;
    // Copied, never transferred as is: a source's buffer may be a view of memory it still uses.
    for (let at = 0; at < chunk.length; ) {
      this.buffer ??= Buffer.allocUnsafeSlow(forwardChunkSize);
      const n = chunk.copy(this.buffer, this.fill, at);
      this.fill += n;
      at += n;
      if (this.fill === forwardChunkSize) this.send();
    }
    if (this.inFlight >= this.pool.window) this.source.pause();
  }

  private send(): void {
    if (this.buffer === null || this.fill === 0) return;
    const { buffer, fill } = this;
    this.buffer = null;
    this.fill = 0;
    this.inFlight += fill;
    this.pool.account(fill);
    const chunk = buffer.buffer as ArrayBuffer;
    this.post({ type: 'data', stream: this.id, chunk, length: fill }, [chunk]);
  }

  private post(message: MainMessage, transfer?: ArrayBuffer[]): void {
    try {
      this.port.postMessage(message, transfer);
    } catch {
      // The port closed under us: the task has ended.
      this.stop();
    }
  }
}

/**
 * How many workers `OCI_REPRO_WORKERS` allows: 0 turns them off, N caps them; undefined when unset
 * (then the caller decides by layer size).
 */
export function workersFromEnvironment(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env.OCI_REPRO_WORKERS;
  if (value === undefined || value === '') return undefined;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 0) {
    debug('OCI_REPRO_WORKERS=%s is not a whole number: ignored', value);
    return undefined;
  }
  return count;
}
