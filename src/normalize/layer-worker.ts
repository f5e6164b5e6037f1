/**
 * One layer pass (decompress, diff_id check, normalizeLayer, optional recompression to a temp file), and
 * the worker-thread entry that runs it off the main thread (see layer-pool.ts for the other side).
 *
 * The main thread keeps reading and verifying the stored blob (its digest and size: `Layer.openBlob`)
 * and forwards the verified bytes; the worker does everything after that. That splits each layer's
 * hashing over two threads, and keeps sources (files, archives, registries) on the main thread.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { OciReproError, withContext, type ErrorCode } from '../errors.js';
import { createCompressor, openDecompressed, type GzipEngine } from '../image/compression.js';
import { HashingStream, VerifyingStream } from '../image/digest.js';
import type { Compression } from '../image/media-types.js';
import { chain } from '../sources/assemble.js';
import { noXattrs, type LayerSummary } from './entry.js';
import { normalizeLayer } from './layer.js';
import type { NormalizeOptions } from './options.js';

/** What a layer pass needs; structured-cloneable, so it can cross to a worker. */
export interface LayerTask {
  /** Context of every message: `layer N (digest) of REFERENCE`. */
  what: string;
  compression: Compression;
  diffId: string;
  normalize: NormalizeOptions;
  /** Recompress the canonical tar to this file. */
  output?: { compression: Compression; path: string; gzipEngine?: GzipEngine };
}

export interface LayerPassResult {
  summary: LayerSummary;
  /** With `output`: digest and size of the file written. */
  blob?: { digest: string; size: number };
}

/**
 * Runs one layer pass over the verified blob bytes that `openBlob` gives (called again when an
 * out-of-order layer has to be read a second time). Errors carry the layer context.
 */
export async function runLayerPass(task: LayerTask, openBlob: () => Promise<Readable>): Promise<LayerPassResult> {
  const { what } = task;
  try {
    // The pass hashes the whole tar anyway: for sha256 it checks the diff_id itself (one hash, not two).
    const checkedByPass = task.diffId.startsWith('sha256:');
    const expectTarDigest = checkedByPass ? { digest: task.diffId, what: `${what}: diff_id` } : undefined;
    const openTar = async (): Promise<Readable> => {
      const tar = await openDecompressed(await openBlob(), task.compression, what);
      return checkedByPass ? tar : chain(tar, new VerifyingStream(task.diffId, `${what}: diff_id`));
    };
    if (!task.output) {
      // Without output, an in-order layer is hashed in one pass and an unordered one read twice, not spooled.
      const summary = await normalizeLayer(await openTar(), { ...task.normalize, reopen: openTar, expectTarDigest });
      return { summary };
    }
    const tar = await openTar();
    const compressor = createCompressor(task.output.compression, { gzipEngine: task.output.gzipEngine });
    const hashing = new HashingStream();
    const written = pipeline(compressor, hashing, createWriteStream(task.output.path, { highWaterMark: 1 << 20 }));
    // normalizeLayer destroys the compressor on failure; its error is the one to report, not this one.
    written.catch(() => {});
    const summary = await normalizeLayer(tar, { ...task.normalize, output: compressor, expectTarDigest });
    await written;
    return { summary, blob: { digest: hashing.digest!, size: hashing.size } };
  } catch (error) {
    throw withContext(what, error);
  }
}

// ---------------------------------------------------------------------------------------------
// Errors across threads

export interface SerializedError {
  oci: boolean;
  name: string;
  message: string;
  code?: string;
  hint?: string;
  data?: Record<string, unknown>;
  errno?: number;
  path?: string;
  syscall?: string;
  stack?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof OciReproError) {
    return { oci: true, name: error.name, message: error.message, code: error.code, hint: error.hint, data: cloneable(error.data), stack: error.stack };
  }
  if (error instanceof Error) {
    const errno = error as NodeJS.ErrnoException;
    return {
      oci: false,
      name: error.name,
      message: error.message,
      code: typeof errno.code === 'string' ? errno.code : undefined,
      errno: errno.errno,
      path: errno.path,
      syscall: errno.syscall,
      stack: error.stack,
    };
  }
  return { oci: false, name: 'Error', message: String(error) };
}

/** The error as the other thread threw it: same class, code, message, hint (so the same one line). */
export function rebuildError(serialized: SerializedError): Error {
  if (serialized.oci) {
    const error = new OciReproError(serialized.code as ErrorCode, serialized.message, { hint: serialized.hint, data: serialized.data });
    if (serialized.stack) error.stack = serialized.stack;
    return error;
  }
  const error = new Error(serialized.message) as NodeJS.ErrnoException;
  error.name = serialized.name;
  if (serialized.code !== undefined) error.code = serialized.code;
  if (serialized.errno !== undefined) error.errno = serialized.errno;
  if (serialized.path !== undefined) error.path = serialized.path;
  if (serialized.syscall !== undefined) error.syscall = serialized.syscall;
  if (serialized.stack) error.stack = serialized.stack;
  return error;
}

function cloneable(data: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (data === undefined) return undefined;
  try {
    return structuredClone(data);
  } catch {
    return undefined;
  }
}

/** Structured clone gives every entry its own empty xattrs object; share the frozen one again. */
export function reviveSummary(summary: LayerSummary): LayerSummary {
  for (const entry of summary.entries) {
    if (entry.xattrs !== noXattrs && Object.keys(entry.xattrs).length === 0) entry.xattrs = noXattrs;
  }
  return summary;
}

// ---------------------------------------------------------------------------------------------
// The protocol (per task, over its own MessagePort)

/** Main -> worker, on the worker itself: start a task; replies and blob bytes go over `port`. */
export interface TaskMessage {
  task: LayerTask;
  port: MessagePort;
}

/** Worker -> main, on the task port. */
export type WorkerMessage =
  | { type: 'open'; stream: number }
  | { type: 'credit'; stream: number; bytes: number }
  | { type: 'close'; stream: number }
  | { type: 'done'; result: LayerPassResult }
  | { type: 'failed'; error: SerializedError };

/** Main -> worker, on the task port. `chunk` is transferred; its first `length` bytes are data. */
export type MainMessage =
  | { type: 'data'; stream: number; chunk: ArrayBuffer; length: number }
  | { type: 'end'; stream: number }
  | { type: 'error'; stream: number; error: SerializedError };

export const workerMarker = 'oci-repro-layer-worker';

/**
 * Blob bytes arriving over the port. Flow control is by credit: the main thread keeps at most a window
 * of bytes unacknowledged; bytes are acknowledged once this stream's buffer has room for them.
 */
class PortStream extends Readable {
  private held = 0;

  constructor(
    private readonly port: MessagePort,
    private readonly id: number,
    private readonly forget: () => void,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  deliver(chunk: Buffer): void {
    if (this.push(chunk)) this.credit(chunk.length);
    else this.held += chunk.length;
  }

  override _read(): void {
    if (this.held === 0) return;
    const bytes = this.held;
    this.held = 0;
    this.credit(bytes);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.forget();
    if (!this.readableEnded) this.port.postMessage({ type: 'close', stream: this.id } satisfies WorkerMessage);
    callback(error);
  }

  private credit(bytes: number): void {
    this.port.postMessage({ type: 'credit', stream: this.id, bytes } satisfies WorkerMessage);
  }
}

async function serveTask({ task, port }: TaskMessage): Promise<void> {
  const streams = new Map<number, PortStream>();
  let nextStream = 0;
  port.on('message', (message: MainMessage) => {
    const stream = streams.get(message.stream);
    if (stream === undefined) return;
    switch (message.type) {
      case 'data':
        stream.deliver(Buffer.from(message.chunk, 0, message.length));
        break;
      case 'end':
        streams.delete(message.stream);
        stream.push(null);
        break;
      case 'error':
        stream.destroy(rebuildError(message.error));
        break;
    }
  });
  const openBlob = async (): Promise<Readable> => {
    const id = nextStream++;
    const stream = new PortStream(port, id, () => streams.delete(id));
    streams.set(id, stream);
    port.postMessage({ type: 'open', stream: id } satisfies WorkerMessage);
    return stream;
  };
  let reply: WorkerMessage;
  try {
    reply = { type: 'done', result: await runLayerPass(task, openBlob) };
  } catch (error) {
    reply = { type: 'failed', error: serializeError(error) };
  }
  for (const stream of [...streams.values()]) stream.destroy();
  // The main thread closes the port once it has the reply.
  port.postMessage(reply);
}

if (!isMainThread && parentPort !== null && (workerData as { role?: string } | undefined)?.role === workerMarker) {
  parentPort.on('message', (message: TaskMessage) => void serveTask(message));
}
