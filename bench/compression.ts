/**
 * Micro-benchmark of layer compression: gzip level 6 with Node's zlib and with pako, zstd level 3, and
 * inflate with 1 MiB against 16 KiB output chunks. Input is written in 512-byte pieces, as a tar writer
 * does. Figures are MB/s of uncompressed bytes (1 MB = 10^6 bytes), wall time, and the process's CPU
 * time (which counts the libuv pool thread that runs Node's zlib).
 *
 * Run (Node 20 cannot run TypeScript directly; this compiles to a temp dir):
 *   npx tsc -p tsconfig.json --outDir /tmp/oci-bench && ln -sfn "$PWD/node_modules" /tmp/oci-bench/node_modules \
 *     && echo '{"type":"module"}' > /tmp/oci-bench/package.json && node /tmp/oci-bench/bench/compression.js [file] [MB]
 * With a file (for example a tar of /usr/lib) its first MB bytes are used, else generated tar-like data.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { type GzipEngine, createCompressor, gzipEngine, openDecompressed } from '../src/image/compression.js';
import type { Compression } from '../src/image/media-types.js';

interface Result {
  name: string;
  bytes: number;
  wallSeconds: number;
  cpuSeconds: number;
  outBytes?: number;
}

/** Generated tar-like data: headers, text, low-entropy binary, incompressible runs and zero padding. */
function generateInput(size: number): Buffer {
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const words = ['usr', 'lib', 'share', 'doc', 'python3', 'site-packages', 'locale', 'copyright', 'include', 'bin'];
  const opcodes = [0x00, 0x48, 0x89, 0x8b, 0xc3, 0xe8, 0xff, 0x0f, 0x24, 0x4c, 0x01, 0x74];
  const out = Buffer.alloc(size);
  let at = 0;
  while (at < size) {
    const header = Buffer.alloc(512);
    header.write(`${words[next() % words.length]}/${words[next() % words.length]}/f${next() % 100_000}`, 0, 'latin1');
    header.write('ustar', 257, 'latin1');
    at += header.copy(out, at);
    const kind = next() % 10;
    const length = Math.min(size - at, 512 + (next() % 64_000));
    const body = out.subarray(at, at + length);
    if (kind < 4) {
      let text = '';
      while (text.length < length) text += `${words[next() % words.length]} = ${next() % 1000}; // ${words[next() % words.length]}\n`;
      body.write(text, 'latin1');
    } else if (kind < 8) {
      for (let i = 0; i < body.length; i++) body[i] = opcodes[next() % opcodes.length]!;
    } else if (kind < 9) {
      for (let i = 0; i + 4 <= body.length; i += 4) body.writeUInt32LE(next(), i);
    } // else: zeros
    at = Math.min(size, Math.ceil((at + length) / 512) * 512);
  }
  return out;
}

async function measure(name: string, bytes: number, run: () => Promise<number | void>): Promise<Result> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const outBytes = await run();
  const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return { name, bytes, wallSeconds, cpuSeconds: (used.user + used.system) / 1e6, outBytes: outBytes ?? undefined };
}

/** Writes `input` in 512-byte pieces with backpressure; resolves with the output. */
async function feed(input: Buffer, stream: Transform, piece = 512): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = once(stream, 'end');
  for (let offset = 0; offset < input.length; offset += piece) {
    if (!stream.write(input.subarray(offset, offset + piece))) await once(stream, 'drain');
  }
  stream.end();
  await ended;
  return Buffer.concat(chunks);
}

async function drain(stream: Readable, hash: boolean): Promise<number> {
  const digest = hash ? createHash('sha256') : undefined;
  let total = 0;
  for await (const chunk of stream) {
    digest?.update(chunk as Buffer);
    total += (chunk as Buffer).length;
  }
  digest?.digest();
  return total;
}

function report(result: Result): void {
  const mb = result.bytes / 1e6;
  const ratio = result.outBytes ? `  ratio ${(result.bytes / result.outBytes).toFixed(2)}` : '';
  console.log(
    `${result.name.padEnd(52)} ${(mb / result.wallSeconds).toFixed(1).padStart(7)} MB/s wall` +
      `  ${(mb / result.cpuSeconds).toFixed(1).padStart(7)} MB/s per CPU-second${ratio}`,
  );
}

async function main(): Promise<void> {
  const [file, sizeArgument] = process.argv.slice(2);
  const size = Number(sizeArgument ?? 100) * 1e6;
  const input = file ? readFileSync(file).subarray(0, size) : generateInput(size);
  console.log(`input: ${file ?? 'generated tar-like data'}, ${(input.length / 1e6).toFixed(0)} MB; node ${process.version}`);
  console.log(`gzip engine chosen by the probe: ${gzipEngine()}`);

  // Warm up both gzip engines and the JIT on a small piece.
  for (const engine of ['node-zlib', 'pako'] as const) await feed(input.subarray(0, 2e6), createCompressor('gzip', { gzipEngine: engine }));

  const outputs = new Map<Compression, Buffer>();
  for (const [name, compression, engine] of [
    ['gzip -6, node-zlib, 1 MiB blocks', 'gzip', 'node-zlib'],
    ['gzip -6, pako, 1 MiB blocks', 'gzip', 'pako'],
    ['zstd -3, zstd-napi, 1 MiB blocks', 'zstd', undefined],
  ] as Array<[string, Compression, GzipEngine | undefined]>) {
    let output: Buffer = Buffer.alloc(0);
    const result = await measure(name, input.length, async () => {
      output = await feed(input, createCompressor(compression, { gzipEngine: engine }));
      return output.length;
    });
    report(result);
    if (!outputs.has(compression)) outputs.set(compression, output);
  }
  // What coalescing buys: Node's zlib fed the 512-byte pieces directly (same level, one call per piece).
  report(
    await measure('gzip -6, node-zlib, 512-byte writes (no coalescing)', input.length, async () =>
      (await feed(input, zlib.createGzip({ level: 6 }))).length,
    ),
  );

  const gz = outputs.get('gzip')!;
  const zst = outputs.get('zstd')!;
  const blob = (data: Buffer) => Readable.from(chunksOf(data, 64 * 1024), { objectMode: false });
  const inflate = async (name: string, open: () => Promise<Readable>, hash: boolean) => {
    report(
      await measure(name, input.length, async () => {
        if ((await drain(await open(), hash)) !== input.length) throw new Error(`${name}: wrong length`);
      }),
    );
  };
  await inflate('gunzip, openDecompressed (1 MiB chunks)', () => openDecompressed(blob(gz), 'gzip', 'bench'), false);
  await inflate('gunzip, createGunzip (16 KiB default chunks)', async () => blob(gz).pipe(zlib.createGunzip()), false);
  await inflate('gunzip + sha256, openDecompressed (1 MiB chunks)', () => openDecompressed(blob(gz), 'gzip', 'bench'), true);
  await inflate('unzstd, openDecompressed (DecompressStream)', () => openDecompressed(blob(zst), 'zstd', 'bench'), false);
  await inflate('unzstd + sha256, openDecompressed', () => openDecompressed(blob(zst), 'zstd', 'bench'), true);
}

function* chunksOf(data: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

await main();
