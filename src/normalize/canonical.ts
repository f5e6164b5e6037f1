/**
 * The canonical digest: sha256 of the RFC 8785 (JSON Canonicalization Scheme) bytes of a normalized
 * config. Writing exactly these bytes as the config blob makes the canonical digest the image ID of the
 * normalized image.
 *
 * Numbers: RFC 8785 serializes numbers as ECMAScript does and is defined for I-JSON input, whose
 * numbers are IEEE doubles. Config values are parsed with JSON.parse, so an integer beyond 2^53 has
 * already been rounded before it gets here (9007199254740993 reads as 9007199254740992), and its
 * canonical form would silently name a different value. Real configs stay far below that (a Healthcheck
 * Interval is int64 nanoseconds: 30 s is 3e10), so such a number is refused as bad input rather than
 * hashed or written inexactly. Fractions and small exponents serialize as ECMAScript's shortest
 * round-trip form (1.0 → 1, 1e2 → 100), which is the point of canonicalization.
 */
import { canonicalize } from 'json-canonicalize';
import { badInput } from '../errors.js';
import { sha256 } from '../image/digest.js';
import type { ImageConfig } from '../image/types.js';
import { toJsonPointer } from './config.js';

/** RFC 8785 bytes of `config`: keys sorted by UTF-16 code units, no whitespace, ECMAScript numbers. */
export function canonicalConfigBytes(config: ImageConfig): Buffer {
  assertExactNumbers(config, []);
  return Buffer.from(canonicalize(config), 'utf8');
}

/** sha256 of the canonical bytes: the canonical digest, and the image ID of the normalized image. */
export function canonicalDigest(config: ImageConfig): string {
  return sha256(canonicalConfigBytes(config));
}

/** Throws bad input, naming the JSON pointer, for numbers JSON.parse may have rounded or JSON cannot hold. */
function assertExactNumbers(value: unknown, path: Array<string | number>): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) {
      throw badInput(
        `image config: number ${value} at ${toJsonPointer(path) || 'the top level'} is outside the range JSON numbers hold exactly (±2^53)`,
        { hint: 'RFC 8785 canonical JSON is defined for I-JSON numbers only; the canonical digest would not be exact' },
      );
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => assertExactNumbers(item, [...path, index]));
    return;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) assertExactNumbers(item, [...path, key]);
  }
}
