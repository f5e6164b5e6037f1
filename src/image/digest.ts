import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { badInput, digestMismatch } from '../errors.js';

const digestPattern = /^sha256:[a-f0-9]{64}$/;
const otherAlgorithmPattern = /^(sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

/** Throws unless `digest` is a well-formed digest; checked before a digest is ever used in a path. */
export function assertDigest(digest: unknown, what: string): asserts digest is string {
  if (typeof digest !== 'string' || !(digestPattern.test(digest) || otherAlgorithmPattern.test(digest))) {
    throw badInput(`${what}: invalid digest ${JSON.stringify(digest)}`, {
      hint: 'a digest is sha256: followed by 64 lower-case hex digits',
    });
  }
}

export function sha256(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function algorithmOf(digest: string): string {
  return digest.slice(0, digest.indexOf(':'));
}

export function encodedOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

/**
 * A pass-through that hashes what flows and, at end of stream, fails with a digest-mismatch
 * error naming `what` unless the bytes match `expected` (and `expectedSize`, when known).
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private bytes = 0;

  constructor(
    private readonly expected: string,
    private readonly what: string,
    private readonly expectedSize?: number,
  ) {
    super({ highWaterMark: 1 << 20 });
    this.hash = createHash(algorithmOf(expected));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = `${algorithmOf(this.expected)}:${this.hash.digest('hex')}`;
    if (this.expectedSize !== undefined && this.expectedSize >= 0 && this.bytes !== this.expectedSize) {
      callback(
        digestMismatch(`${this.what}: size mismatch: descriptor says ${this.expectedSize} bytes, blob has ${this.bytes}`),
      );
      return;
    }
    if (actual !== this.expected) {
      callback(digestMismatch(`${this.what}: digest mismatch: expected ${this.expected}, got ${actual}`));
      return;
    }
    callback();
  }
}

/** A pass-through that computes the sha256 and size of what flows; read them after 'finish'. */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha256');
  size = 0;
  digest?: string;

  constructor() {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.digest = `sha256:${this.hash.digest('hex')}`;
    callback();
  }
}
