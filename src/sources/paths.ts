import { badInput } from '../errors.js';
import { assertDigest, encodedOf, algorithmOf } from '../image/digest.js';

/**
 * The canonical spelling of a path inside an archive, or undefined when it would leave the archive
 * (absolute after stripping, or climbing above the root with `..`).
 */
export function normalizeMemberPath(raw: string): string | undefined {
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts.join('/');
}

/**
 * Validates a path named by an image document (a docker-archive manifest.json entry): it must be
 * relative and stay inside the archive. Checked before any file is opened.
 */
export function safeArchivePath(raw: unknown, what: string): string {
  if (typeof raw !== 'string' || raw === '') throw badInput(`${what}: expected a path, got ${JSON.stringify(raw)}`);
  if (raw.startsWith('/') || raw.includes('\\') || raw.includes('\0')) {
    throw badInput(`${what}: path ${JSON.stringify(raw)} points outside the archive`);
  }
  const normalized = normalizeMemberPath(raw);
  if (normalized === undefined || normalized === '' || raw.split('/').includes('..')) {
    throw badInput(`${what}: path ${JSON.stringify(raw)} points outside the archive`);
  }
  return normalized;
}

/** `blobs/<alg>/<hex>` for a digest, after checking the digest cannot escape the layout. */
export function blobPath(digest: unknown, what: string): string {
  assertDigest(digest, what);
  return `blobs/${algorithmOf(digest)}/${encodedOf(digest)}`;
}
