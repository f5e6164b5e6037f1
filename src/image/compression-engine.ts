/**
 * Choosing the gzip engine: Node's zlib when a probe shows it writes exactly what pako writes, else pako.
 */
import { deflateBlocksSync } from './compression-gzip.js';
import type { GzipEngine } from './compression-params.js';

let chosenGzipEngine: GzipEngine | undefined;

/**
 * The gzip engine this process uses, chosen by a probe at first use: Node's zlib (native, deflates
 * several blocks at once on the libuv pool while the main thread parses and hashes) when it writes
 * exactly what pako writes, else pako (pure JavaScript, so its output does not depend on the machine).
 *
 * Why the probe is enough: zlib and pako run the same algorithm (deflate_slow at level 6, a 32 KiB
 * window, memLevel 8), which is deterministic. What can make two builds differ is the hash function and
 * table size, the match-search limits, when blocks are cut (the symbol buffer size), how a block's type
 * (stored, fixed, dynamic) is chosen, window sliding, how a preset dictionary is loaded, or how a sync
 * flush and finish are written. The probe compresses by the real block scheme (compression-gzip.ts), so
 * every one of those runs, on data that exercises each: text with many repeats (hash and chains, lazy
 * matching), tar headers and long zero runs (maximum-length matches), incompressible bytes (stored
 * blocks), low-entropy binary, repeats just inside and just beyond the 32 KiB window, and about 350 KiB
 * in total, so the window slides many times, there are many deflate blocks and three gzip blocks (two
 * with a dictionary). A different hash changes match choices within the first kilobytes; a different
 * block cut changes every block after it. A difference that only shows on data unlike all of that would
 * escape the probe; the golden test (golden/compression.json) is the backstop, run on every Node version
 * CI covers, and the canonical digest does not depend on compression anyway.
 */
export function gzipEngine(): GzipEngine {
  chosenGzipEngine ??= probeGzipEngine();
  return chosenGzipEngine;
}

function probeGzipEngine(): GzipEngine {
  const input = buildProbeInput();
  let viaNode: Buffer;
  try {
    viaNode = deflateBlocksSync('node-zlib', input);
  } catch {
    return 'pako';
  }
  let viaPako: Buffer;
  try {
    viaPako = deflateBlocksSync('pako', input);
  } catch {
    // pako is the reference: if it fails here it fails later too, with an error that says so.
    return 'pako';
  }
  return viaNode.equals(viaPako) ? 'node-zlib' : 'pako';
}

/** About 350 KiB mixing the kinds of data a layer holds; built from a fixed seed, never random. */
function buildProbeInput(): Buffer {
  let state = 0x2545f491;
  const next = () => {
    // xorshift32: small, fast, and the same everywhere.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const words = ['usr', 'lib', 'share', 'doc', 'bin', 'python3', 'site-packages', 'x86_64-linux-gnu', 'libc.so.6',
    'README', 'copyright', 'changelog.Debian.gz', 'locale', 'en_US', 'LC_MESSAGES', 'config', '__init__.py'];
  const opcodes = [0x00, 0x48, 0x89, 0xe5, 0xc3, 0xff, 0x8b, 0x0f];
  const parts: Buffer[] = [];
  for (let round = 0; round < 3; round++) {
    // A tar header: a path, octal fields, and zero padding.
    const header = Buffer.alloc(512);
    header.write(`${words[round]}/${words[round + 4]}/${words[(round * 7) % words.length]}`, 0, 'latin1');
    header.write('0000644', 100, 'latin1');
    header.write('0000000', 108, 'latin1');
    header.write('0000000', 116, 'latin1');
    header.write((next() % 0o777777).toString(8).padStart(11, '0'), 124, 'latin1');
    header.write('ustar', 257, 'latin1');
    parts.push(header);
    // Text: lines of paths and numbers, with plenty of repeats.
    const lines: string[] = [];
    for (let i = 0, size = 0; size < 40 * 1024; i++) {
      const line = `${words[next() % words.length]}/${words[next() % words.length]}:${i} ${next() % 1000} ok\n`;
      lines.push(line);
      size += line.length;
    }
    parts.push(Buffer.from(lines.join(''), 'latin1'));
    // Incompressible bytes: stored blocks.
    const noise = Buffer.alloc(24 * 1024);
    for (let i = 0; i < noise.length; i += 4) noise.writeUInt32LE(next(), i);
    parts.push(noise);
    // Low-entropy binary, like machine code or tables: few distinct byte values.
    const binary = Buffer.alloc(32 * 1024);
    for (let i = 0; i < binary.length; i++) binary[i] = opcodes[next() & 7]!;
    parts.push(binary);
    // Long zero runs (tar padding) and a short period repeated past the maximum match length.
    parts.push(Buffer.alloc(6000 + round * 1000));
    parts.push(Buffer.from('abcabcabd'.repeat(700), 'latin1'));
    // Repeats of earlier data from just inside and just beyond the 32 KiB window.
    const sofar = Buffer.concat(parts);
    parts.push(sofar.subarray(sofar.length - 32_700, sofar.length - 32_700 + 4096));
    parts.push(sofar.subarray(sofar.length - 40_000, sofar.length - 40_000 + 4096));
  }
  return Buffer.concat(parts);
}
