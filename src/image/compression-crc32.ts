/**
 * CRC-32 (the gzip trailer's check value). zlib.crc32 is native and fast but only exists on Node >= 20.15
 * and 22.2; the package supports every Node 20, so older ones get this table-driven version (about half
 * a gigabyte a second: a cost on old Node only, never a difference in bytes).
 */
import zlib from 'node:zlib';

/** The CRC-32 of `data` continuing from `value` (0 to start), as zlib.crc32(data, value). */
export type Crc32 = (data: Uint8Array, value: number) => number;

let table: Uint32Array | undefined;

/** Slicing-by-4 over the reflected polynomial 0xEDB88320: four table lookups per four bytes. */
function tables(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(4 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 4; t++) table[t * 256 + n] = (table[(t - 1) * 256 + n]! >>> 8) ^ table[table[(t - 1) * 256 + n]! & 0xff]!;
  }
  return table;
}

/** CRC-32 in JavaScript: the fallback where zlib.crc32 is missing (exported for its test). */
export const crc32Js: Crc32 = (data, value) => {
  const t = tables();
  let c = ~value >>> 0;
  let i = 0;
  const end4 = data.length - (data.length & 3);
  for (; i < end4; i += 4) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  }
  for (; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
};

type ZlibWithCrc = typeof zlib & { crc32?: (data: Uint8Array, value?: number) => number };
const native = (zlib as ZlibWithCrc).crc32;

/** zlib.crc32 where Node has it, else crc32Js. */
export const crc32: Crc32 = native ? (data, value) => native(data, value) : crc32Js;
