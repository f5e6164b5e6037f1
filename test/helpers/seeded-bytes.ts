/**
 * Incompressible bytes that are the same on every run: a test whose outcome depends on compressed
 * sizes (gzip of two archives that differ in a header) must not depend on the luck of randomBytes.
 */
export function seededBytes(size: number, seed: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4));
  // xorshift32: fast, and far from compressible, which is all these tests need.
  let state = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    words[i] = state >>> 0;
  }
  return Buffer.from(words.buffer, 0, size);
}
