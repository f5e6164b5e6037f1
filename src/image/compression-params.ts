/**
 * Every parameter that decides our compressed bytes, pinned in one place: a changed default of zlib, pako
 * or zstd, or a changed block size here, changes layer digests (golden/compression.json catches it).
 */
import zlib from 'node:zlib';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * gzip level 6: zlib's default, and what `gzip`, Docker and containerd write, so sizes and speed are what
 * users expect; higher levels cost much more time for a few percent.
 */
export const GZIP_LEVEL = 6;

/** zstd level 3: the library's default and what `skopeo --dest-compress-format zstd` writes. */
export const ZSTD_LEVEL = 3;

/**
 * The 10-byte header of every gzip stream we write (RFC 1952): deflate (8), no flags (so no file name,
 * comment, extra field or header CRC), mtime 0, XFL 0 (what zlib writes for level 6), OS 3 (Unix).
 * OS is forced: zlib writes 3 on Linux but 10 on Windows and 19 on macOS builds.
 */
export const GZIP_HEADER: Readonly<Buffer> = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

/**
 * gzip input is deflated in independent blocks of exactly this many bytes (the last one shorter, maybe
 * empty), as pigz does: blocks compress in parallel, and because the size is a constant, never a function
 * of the core count, the bytes are the same on 1 core or 64. Twice pigz's 128 KiB: each block costs one
 * Node zlib handle, made and closed on its own (a preset dictionary is fixed per handle), about 0.4 ms
 * of CPU; with 128 KiB blocks that was a quarter more CPU than one zlib stream, with 256 KiB under a
 * tenth. A 1 MiB layer still deflates as four blocks in parallel.
 */
export const GZIP_BLOCK_SIZE = 256 * KiB;

/**
 * Each gzip block after the first is deflated with the last 32 KiB of the input before it as preset
 * dictionary: deflate's whole window, so matches across a block boundary are found as in one stream.
 */
export const GZIP_DICTIONARY_SIZE = 32 * KiB;

/** Raw deflate parameters besides the level, pinned so that a changed default cannot change our bytes. */
export const DEFLATE_OPTIONS = {
  level: GZIP_LEVEL,
  windowBits: 15,
  memLevel: 8,
  strategy: zlib.constants.Z_DEFAULT_STRATEGY,
} as const;

/**
 * zstd is fed exactly this many bytes at a time. Every call into zstd (node:zlib or zstd-napi) has a
 * fixed cost, so the 512-byte writes of a tar writer are coalesced; fixed-size blocks also make the call
 * sequence independent of how the input was written.
 */
export const COMPRESS_BLOCK_SIZE = MiB;

/**
 * zstd frame parameters. No content size in the header (a streamed frame cannot know it, and an empty
 * input ended in one call would otherwise get one), and a checksum so `zstd -t` can check a blob on its
 * own. Single-threaded (nbWorkers 0): node:zlib's stream mistakes the multi-threaded mode's "input not
 * taken yet, a worker is busy" for the end of the data (it ends the stream early: "push() after EOF",
 * Node 22 and 24), and the two modes write different bytes, so one mode for every backend keeps layer
 * digests the same whichever backend this Node has. The single-threaded mode's bytes do not depend on how
 * the input is cut into writes or on the output buffer size (test/image/compression.test.ts).
 */
export const ZSTD_PARAMETERS = {
  compressionLevel: ZSTD_LEVEL,
  checksumFlag: true,
  contentSizeFlag: false,
  nbWorkers: 0,
} as const;

/**
 * How gzip blocks are deflated: Node's zlib (native, on the libuv pool, several blocks at once) or pako
 * (pure JavaScript, on the main thread, one block at a time). Both write the same bytes when the probe
 * (compression-engine.ts) chose Node's zlib.
 */
export type GzipEngine = 'node-zlib' | 'pako';
