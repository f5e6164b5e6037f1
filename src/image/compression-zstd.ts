/**
 * Where zstd comes from: node:zlib on Node versions that have it (22.15 and later, 24), else the optional
 * native addon zstd-napi (Node 20, when it built at install time). Both wrap the same zstd library; with
 * the same parameters, single-threaded, and ended the same way, they write the same bytes (a test checks
 * it where both load). Reading uses node:zlib only where its decompressor passes a probe (Node 24; not
 * 22.23). With neither, zstd is an environment limit: exit 4, never a crash.
 */
import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { unavailable, type OciReproError } from '../errors.js';
import { ZSTD_PARAMETERS } from './compression-params.js';

export type ZstdBackend = 'node-zlib' | 'zstd-napi';

/** Forces a backend ('node-zlib', 'zstd-napi') or none ('none'): for tests and for pinning a writer. */
export const ZSTD_BACKEND_ENV = 'OCI_REPRO_ZSTD_BACKEND';

/** node:zlib output chunk size, as for gunzip: zlib's 16 KiB default made inflating much slower. */
const CHUNK_SIZE = 1024 * 1024;

/** The zstd part of node:zlib, which @types/node 20 does not describe. */
interface NodeZstd {
  zstdCompressSync(data: Uint8Array, options: { params: Record<number, number>; chunkSize?: number }): Buffer;
  zstdDecompressSync(data: Uint8Array): Buffer;
  createZstdCompress(options: { params: Record<number, number>; chunkSize?: number }): Transform;
  createZstdDecompress(options?: { chunkSize?: number }): Transform;
  constants: Record<string, number>;
}

/** The part of zstd-napi used here; typed locally so the build does not need the addon installed. */
interface ZstdNapi {
  CompressStream: new (parameters: { compressionLevel: number; checksumFlag: boolean; contentSizeFlag: boolean; nbWorkers: number }) => Transform;
  DecompressStream: new () => Transform;
  compress(data: Uint8Array, parameters: { compressionLevel: number }): Buffer;
}

const nodeZstd: NodeZstd | undefined =
  typeof (zlib as unknown as Partial<NodeZstd>).createZstdCompress === 'function' ? (zlib as unknown as NodeZstd) : undefined;

let addon: { module?: ZstdNapi; failure?: string } | undefined;

/** zstd-napi, loaded at first use: a failed build leaves it missing, which is not an error until zstd is needed. */
function loadAddon(): ZstdNapi | undefined {
  if (!addon) {
    try {
      addon = { module: createRequire(import.meta.url)('zstd-napi') as ZstdNapi };
    } catch (error) {
      addon = { failure: error instanceof Error ? error.message.split('\n')[0] : String(error) };
    }
  }
  return addon.module;
}

/** Writing or reading: node:zlib may do one and not the other (nodeZlibReadsZstd). */
export type ZstdUse = 'write' | 'read';

let nodeReads: boolean | undefined;

/**
 * Whether node:zlib reads zstd as zstd does: a skippable frame, then every frame of the stream, and an
 * error for a cut frame. Node 22.23's decompressor returns nothing after a leading skippable frame, stops
 * after the first frame and ends cut data silently; Node 24's does all three right. Layers have several
 * frames (zstd:chunked), so a decompressor that fails this probe is not used.
 */
function nodeZlibReadsZstd(): boolean {
  if (nodeReads === undefined) {
    nodeReads = false;
    if (nodeZstd) {
      try {
        const skippable = Buffer.alloc(8 + 3);
        skippable.writeUInt32LE(0x184d2a50, 0);
        skippable.writeUInt32LE(3, 4);
        const frame = (text: string) => nodeZstd.zstdCompressSync(Buffer.from(text), { params: {} });
        const one = frame('one\n');
        const whole = nodeZstd.zstdDecompressSync(Buffer.concat([skippable, one, frame('two\n')])).toString('latin1');
        let cutRefused = false;
        try {
          nodeZstd.zstdDecompressSync(one.subarray(0, one.length - 3));
        } catch {
          cutRefused = true;
        }
        nodeReads = whole === 'one\ntwo\n' && cutRefused;
      } catch {
        nodeReads = false;
      }
    }
  }
  return nodeReads;
}

/** The backends that can `use` zstd in this process, preferred first. */
export function availableZstdBackends(use: ZstdUse = 'write'): ZstdBackend[] {
  const found: ZstdBackend[] = [];
  if (nodeZstd && (use === 'write' || nodeZlibReadsZstd())) found.push('node-zlib');
  if (loadAddon()) found.push('zstd-napi');
  return found;
}

/** The backend this process uses: the one OCI_REPRO_ZSTD_BACKEND names, else node:zlib, else the addon. */
export function zstdBackend(use: ZstdUse = 'write'): ZstdBackend | undefined {
  const forced = process.env[ZSTD_BACKEND_ENV];
  if (forced === 'none') return undefined;
  const available = availableZstdBackends(use);
  if (forced === 'node-zlib' || forced === 'zstd-napi') return available.includes(forced) ? forced : undefined;
  return available[0];
}

/** The error when zstd is needed for `use` and there is none; `what` says what needed it. */
export function zstdUnavailable(what: string, use: ZstdUse = 'write'): OciReproError {
  const forced = process.env[ZSTD_BACKEND_ENV];
  const addonFailure = addonFailureText();
  const why =
    forced === 'none'
      ? `${ZSTD_BACKEND_ENV}=none`
      : forced
        ? `${ZSTD_BACKEND_ENV}=${forced} names no backend this Node can ${use} zstd with`
        : nodeZstd
          ? `the zstd reader of Node ${process.version}'s node:zlib stops after the first frame, and ${addonFailure}`
          : `Node ${process.version} has no zstd in node:zlib and ${addonFailure}`;
  return unavailable(`${what}: no zstd support (${why})`, {
    hint: forced ? `unset ${ZSTD_BACKEND_ENV} to use what this Node has` : 'use Node 24, or reinstall with a C++ compiler so zstd-napi builds',
  });
}

function addonFailureText(): string {
  return `the optional zstd-napi addon did not load${addon?.failure ? ` (${addon.failure})` : ''}`;
}

/** The error when a caller asked for `backend` by name and this Node does not have it. */
function backendMissing(backend: ZstdBackend): OciReproError {
  return unavailable(`zstd via ${backend}: ${backend === 'zstd-napi' ? addonFailureText() : `Node ${process.version} has no zstd in node:zlib`}`);
}

/** Throws zstdUnavailable unless a backend loads: call before writing anything. */
export function assertZstd(what: string): ZstdBackend {
  const backend = zstdBackend();
  if (!backend) throw zstdUnavailable(what);
  return backend;
}

/**
 * A zstd compressor with ZSTD_PARAMETERS. The caller must end it only once every write has been consumed
 * (BlockCompressor does): when end() finds the last chunk still queued, node:zlib ends the frame with
 * that chunk and then writes a second, empty frame for the end itself.
 */
export function createZstdCompressor(backend: ZstdBackend = assertZstd('zstd compression')): Transform {
  if (backend === 'node-zlib') {
    if (!nodeZstd) throw backendMissing(backend);
    const c = nodeZstd.constants;
    return nodeZstd.createZstdCompress({
      params: {
        [c.ZSTD_c_compressionLevel!]: ZSTD_PARAMETERS.compressionLevel,
        [c.ZSTD_c_checksumFlag!]: ZSTD_PARAMETERS.checksumFlag ? 1 : 0,
        [c.ZSTD_c_contentSizeFlag!]: ZSTD_PARAMETERS.contentSizeFlag ? 1 : 0,
        [c.ZSTD_c_nbWorkers!]: ZSTD_PARAMETERS.nbWorkers,
      },
      chunkSize: CHUNK_SIZE,
    });
  }
  const module = loadAddon();
  if (!module) throw backendMissing(backend);
  return new module.CompressStream({ ...ZSTD_PARAMETERS });
}

/** A zstd decompressor (several frames and skippable frames included); undefined when there is none. */
export function createZstdDecompressor(backend: ZstdBackend | undefined = zstdBackend('read')): Transform | undefined {
  if (backend === 'node-zlib' && nodeZlibReadsZstd()) return nodeZstd!.createZstdDecompress({ chunkSize: CHUNK_SIZE });
  if (backend === 'zstd-napi') {
    const module = loadAddon();
    if (module) return new module.DecompressStream();
  }
  return undefined;
}

/**
 * `data` compressed in one call at `level`, as `zstd -LEVEL` of a file (content size in the header, no
 * checksum); for building test inputs. Both backends write the same bytes provided node:zlib's output
 * buffer holds the whole frame: a smaller one sends zstd down its streaming path, which writes others.
 */
export function compressZstdSync(data: Uint8Array, level: number, backend: ZstdBackend = assertZstd('zstd compression')): Buffer {
  if (backend === 'node-zlib' && nodeZstd) {
    const bound = data.length + (data.length >> 8) + (128 << 10);
    return nodeZstd.zstdCompressSync(data, { params: { [nodeZstd.constants.ZSTD_c_compressionLevel!]: level }, chunkSize: bound });
  }
  const module = loadAddon();
  if (!module) throw backendMissing(backend);
  return module.compress(data, { compressionLevel: level });
}
