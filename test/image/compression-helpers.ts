/**
 * Inputs for the compression tests, built in code and the same on every machine, and a one-call compress.
 */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { type CompressorOptions, type GzipEngine, createCompressor } from '../../src/image/compression.js';
import type { Compression } from '../../src/image/media-types.js';

/**
 * `size` bytes of what layers hold: tar headers, text with repeats, incompressible bytes, low-entropy
 * binary and zero runs, from a fixed seed (xorshift32), never Math.random.
 */
export function mixedSample(size: number, seed: number): Buffer {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const words = ['etc', 'usr', 'lib', 'share', 'bin', 'locale', 'python3.11', 'dist-packages', 'libssl.so.3',
    'changelog', 'copyright', 'postinst', 'md5sums', 'x86_64-linux-gnu', 'zoneinfo', 'Europe', 'Berlin'];
  const opcodes = [0x00, 0x48, 0x89, 0x8b, 0xc3, 0xe8, 0xff, 0x0f, 0x24, 0x4c];
  const out = Buffer.alloc(size);
  let at = 0;
  const put = (bytes: Buffer) => {
    at += bytes.copy(out, at);
  };
  while (at < size) {
    const header = Buffer.alloc(512);
    header.write(`${words[next() % words.length]}/${words[next() % words.length]}/${next().toString(36)}`, 0, 'latin1');
    header.write((next() % 0o7777777).toString(8).padStart(11, '0'), 124, 'latin1');
    header.write('ustar', 257, 'latin1');
    put(header);
    switch (next() % 4) {
      case 0: {
        const lines: string[] = [];
        for (let i = 0, n = 200 + (next() % 800); i < n; i++) {
          lines.push(`${words[next() % words.length]}=${next() % 10_000} ${words[next() % words.length]}\n`);
        }
        put(Buffer.from(lines.join(''), 'latin1'));
        break;
      }
      case 1: {
        const noise = Buffer.alloc(4 * (1 + (next() % 4096)));
        for (let i = 0; i < noise.length; i += 4) noise.writeUInt32LE(next(), i);
        put(noise);
        break;
      }
      case 2: {
        const binary = Buffer.alloc(1 + (next() % 30_000));
        for (let i = 0; i < binary.length; i++) binary[i] = opcodes[next() % opcodes.length]!;
        put(binary);
        break;
      }
      default:
        put(Buffer.alloc(next() % 9000));
    }
    // Pad to a 512-byte boundary as a tar would.
    at = Math.min(size, Math.ceil(at / 512) * 512);
  }
  return out;
}

/** `data` cut into pieces of the given sizes, cycling through them. */
export function chunked(data: Buffer, sizes: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    pieces.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

/** `pieces` written one by one through createCompressor, the output in one buffer. */
export async function compress(pieces: Buffer[] | Buffer, compression: Compression, engine?: GzipEngine, options: CompressorOptions = {}): Promise<Buffer> {
  const input = Buffer.isBuffer(pieces) ? [pieces] : pieces;
  return buffer(Readable.from(input, { objectMode: false }).pipe(createCompressor(compression, { gzipEngine: engine, ...options })));
}
