/**
 * One layer pass (decompress, diff_id check, normalizeLayer, optional recompression to a temp file), and
 * the worker-thread entry that runs it off the main thread (see layer-pool.ts for the other side).
 *
 * A blob in a local file (`Layer.location`) is read and verified (digest and size) by the worker
 * itself; other sources (registries, daemons) stay on the main thread, which verifies the blob and
 * forwards its bytes.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { environmentErrno, OciReproError, withContext, writeContext, type ErrorCode } from '../errors.js';
import { createCompressor, openDecompressed, releasesChunks, type GzipEngine } from '../image/compression.js';
import { HashingStream, VerifyingStream } from '../image/digest.js';
import type { BlobLocation } from '../image/image.js';
import type { Compression } from '../image/media-types.js';
import { chain } from '../sources/assemble.js';
import { openLocation } from '../sources/blob-store.js';
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
  /** Per-file content digests in the table (default true); see NormalizeLayerOptions.contentDigests. */
  contentDigests?: boolean;
  /**
   * Recompress the canonical tar to this file; with `sync`, fsync it when written (for a file that
   * will be linked into place rather than copied: it must be on disk, and this is before other
   * layers are done, not after).
   */
  output?: { compression: Compression; path: string; gzipEngine?: GzipEngine; sync?: boolean };
  /** A blob the worker reads from its file itself, checking the descriptor's digest and size. */
  blob?: { location: BlobLocation; digest: string; size: number };
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
  const { what, contentDigests } = task;
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
      const summary = await normalizeLayer(await openTar(), { ...task.normalize, reopen: openTar, expectTarDigest, contentDigests });
      return { summary };
    }
    const tar = await openTar();
    const compressor = createCompressor(task.output.compression, { gzipEngine: task.output.gzipEngine });
    const hashing = new HashingStream();
    const { path } = task.output;
    let writeFailure: unknown;
    const written = pipeline(compressor, hashing, createWriteStream(path, { highWaterMark: 1 << 20, mode: 0o644, flush: task.output.sync ?? false }));
    // normalizeLayer destroys the compressor on failure; its error is the one to report, not this one...
    written.catch((error: unknown) => (writeFailure = error));
    try {
      const summary = await normalizeLayer(tar, {
        ...task.normalize,
        output: compressor,
        outputReleasesChunks: releasesChunks(compressor),
        expectTarDigest,
        contentDigests,
      });
      await written;
      return { summary, blob: { digest: hashing.digest!, size: hashing.size } };
    } catch (error) {
      // ...unless the disk refused the file (full, read-only): then name the file.
      await Promise.race([written.catch(() => {}), new Promise((resolve) => setImmediate(resolve))]);
      const failure = writeFailure ?? error;
      if (!(failure instanceof OciReproError) && environmentErrno(failure, true)) throw writeContext(`cannot write ${path}`, failure);
      throw error;
    }
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

// ---------------------------------------------------------------------------------------------
// Results across threads

/**
 * A summary as it crosses threads: the entry table in columns. Structured clone of tens of thousands
 * of small objects costs about 0.5 s per layer (both sides); columns cost a few tens of ms.
 */
export interface PackedResult {
  /** The summary with `entries` undefined (the key keeps its place). */
  summary: LayerSummary;
  entries: PackedRecords;
  blob?: LayerPassResult['blob'];
}

/**
 * Flat records: per record a shape (its keys in order) and per value a tag and a number (the number
 * itself, or an index into `strings` or `objects`). Strings are deduplicated and sent as one text.
 */
export interface PackedRecords {
  count: number;
  shapes: string[][];
  shapeOf: Uint32Array;
  tags: Uint8Array;
  values: Float64Array;
  text: string;
  lengths: Uint32Array;
  /** Values that are neither numbers nor strings (xattrs, pax records), each object once. */
  objects: unknown[];
}

const Tag = { undefined: 0, number: 1, string: 2, noXattrs: 3, object: 4 } as const;

export function packResult(result: LayerPassResult): { packed: PackedResult; transfer: ArrayBuffer[] } {
  const entries = packRecords(result.summary.entries as unknown as Record<string, unknown>[]);
  const summary = { ...result.summary, entries: undefined as unknown as LayerSummary['entries'] };
  const transfer = [entries.shapeOf.buffer, entries.tags.buffer, entries.values.buffer, entries.lengths.buffer] as ArrayBuffer[];
  return { packed: { ...result, summary, entries }, transfer };
}

export function unpackResult({ entries, ...result }: PackedResult): LayerPassResult {
  const table = unpackRecords(entries) as unknown as LayerSummary['entries'];
  return { ...result, summary: { ...result.summary, entries: table } };
}

/** Strings up to this length are sent once however often they occur (types, owner names). */
const sharedStringLength = 16;

function packRecords(records: Record<string, unknown>[]): PackedRecords {
  const shapes: string[][] = [];
  const shapeOf = new Uint32Array(records.length);
  let valueCount = 0;
  let shape: string[] = [];
  let shapeId = -1;
  for (let i = 0; i < records.length; i++) {
    // Records of one table nearly always share their keys: compare with the last shape before listing them.
    const record = records[i];
    let same = shapeId >= 0;
    let n = 0;
    for (const key in record) {
      if (key !== shape[n++]) {
        same = false;
        break;
      }
    }
    if (!same || n !== shape.length) {
      const keys = Object.keys(record);
      shapeId = shapes.findIndex((known) => known.length === keys.length && known.every((key, k) => key === keys[k]));
      if (shapeId < 0) {
        shapeId = shapes.length;
        shapes.push(keys);
      }
      shape = shapes[shapeId];
    }
    shapeOf[i] = shapeId;
    valueCount += shape.length;
  }
  const tags = new Uint8Array(valueCount);
  const values = new Float64Array(valueCount);
  const strings: string[] = [];
  const sharedStrings = new Map<string, number>();
  const objects: unknown[] = [];
  const objectIndex = new Map<unknown, number>();
  const put = (value: unknown, at: number): void => {
    if (typeof value === 'number') {
      tags[at] = Tag.number;
      values[at] = value;
    } else if (typeof value === 'string') {
      let index = value.length <= sharedStringLength ? sharedStrings.get(value) : undefined;
      if (index === undefined) {
        index = strings.length;
        strings.push(value);
        if (value.length <= sharedStringLength) sharedStrings.set(value, index);
      }
      tags[at] = Tag.string;
      values[at] = index;
    } else if (value === undefined) {
      tags[at] = Tag.undefined;
    } else if (value === noXattrs) {
      tags[at] = Tag.noXattrs;
    } else {
      let index = objectIndex.get(value);
      if (index === undefined) {
        index = objects.length;
        objects.push(value);
        objectIndex.set(value, index);
      }
      tags[at] = Tag.object;
      values[at] = index;
    }
  };
  const readers = shapes.map(recordReader);
  for (let i = 0, at = 0; i < records.length; i++) {
    const shape = shapeOf[i];
    readers[shape](records[i], put, at);
    at += shapes[shape].length;
  }
  const lengths = new Uint32Array(strings.length);
  for (let i = 0; i < strings.length; i++) lengths[i] = strings[i].length;
  return { count: records.length, shapes, shapeOf, tags, values, text: strings.join(''), lengths, objects };
}

function unpackRecords(packed: PackedRecords): Record<string, unknown>[] {
  const { shapes, shapeOf, tags, values, text, lengths, objects } = packed;
  const strings: string[] = new Array(lengths.length);
  for (let i = 0, from = 0; i < lengths.length; i++) {
    strings[i] = text.slice(from, from + lengths[i]);
    from += lengths[i];
  }
  const value = (at: number): unknown => {
    switch (tags[at]) {
      case Tag.number:
        return values[at];
      case Tag.string:
        return strings[values[at]];
      case Tag.noXattrs:
        return noXattrs;
      case Tag.object:
        return objects[values[at]];
      default:
        return undefined;
    }
  };
  const builders = shapes.map(recordBuilder);
  const records: Record<string, unknown>[] = new Array(packed.count);
  for (let i = 0, at = 0; i < packed.count; i++) {
    const shape = shapeOf[i];
    records[i] = builders[shape](value, at);
    at += shapes[shape].length;
  }
  return records;
}

/** A function that hands each value of a record of these keys to `put`, by name (fast property loads). */
function recordReader(keys: string[]): (record: Record<string, unknown>, put: (value: unknown, at: number) => void, at: number) => void {
  const calls = keys.map((key, i) => `put(record[${JSON.stringify(key)}], at + ${i});`).join(' ');
  return new Function('record', 'put', 'at', calls) as (record: Record<string, unknown>, put: (value: unknown, at: number) => void, at: number) => void;
}

/**
 * A function that builds a record of these keys as one object literal: about four times faster than
 * adding the keys one by one, and the objects get the layout in-process ones have. The keys are
 * embedded as JSON string literals, so any key is safe.
 */
function recordBuilder(keys: string[]): (value: (at: number) => unknown, at: number) => Record<string, unknown> {
  const fields = keys.map((key, i) => `${JSON.stringify(key)}: value(at + ${i})`).join(', ');
  return new Function('value', 'at', `return { ${fields} };`) as (value: (at: number) => unknown, at: number) => Record<string, unknown>;
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
  | { type: 'done'; result: PackedResult }
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
  const { blob } = task;
  const openBlob = async (): Promise<Readable> => {
    // The same check as Layer.openBlob's, so errors read the same.
    if (blob !== undefined) return chain(openLocation(blob.location), new VerifyingStream(blob.digest, task.what, blob.size));
    const id = nextStream++;
    const stream = new PortStream(port, id, () => streams.delete(id));
    streams.set(id, stream);
    port.postMessage({ type: 'open', stream: id } satisfies WorkerMessage);
    return stream;
  };
  let reply: WorkerMessage;
  let transfer: ArrayBuffer[] = [];
  try {
    const { packed, transfer: buffers } = packResult(await runLayerPass(task, openBlob));
    reply = { type: 'done', result: packed };
    transfer = buffers;
  } catch (error) {
    reply = { type: 'failed', error: serializeError(error) };
  }
  for (const stream of [...streams.values()]) stream.destroy();
  // The main thread closes the port once it has the reply.
  port.postMessage(reply, transfer);
}

if (!isMainThread && parentPort !== null && (workerData as { role?: string } | undefined)?.role === workerMarker) {
  parentPort.on('message', (message: TaskMessage) => void serveTask(message));
}
