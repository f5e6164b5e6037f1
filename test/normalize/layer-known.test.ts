/**
 * A table-only layer pass (NormalizeLayerOptions.known, verify's round two): the same table as a full
 * pass, the earlier pass's digests reported, and an unordered layer read once, without a spool.
 */
import { createHash as realCreateHash } from 'node:crypto';
import { describe, expect, test, vi } from 'vitest';
import { normalizeLayer } from '../../src/normalize/layer.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { buildTar, shuffled, tarStream, withMtimes, type TestEntry } from '../helpers/tar.js';

// Bytes given to sha256 hashes: a table-only pass hashes file contents, never the tar itself.
const hashed = vi.hoisted(() => ({ bytes: 0 }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  const createHash: typeof actual.createHash = (...args) => {
    const hash = actual.createHash(...args);
    const update = hash.update.bind(hash);
    hash.update = ((data: Buffer) => {
      hashed.bytes += data.length;
      return update(data);
    }) as typeof hash.update;
    return hash;
  };
  return { ...actual, createHash, default: { ...actual, createHash } };
});

const entries: TestEntry[] = [
  { name: 'etc/' },
  ...Array.from({ length: 40 }, (_, i) => ({ name: `etc/f${String(i).padStart(2, '0')}`, content: `file ${i}\n`.repeat(50) })),
];
const options = { ...defaultNormalizeOptions, disabledRules: new Set<never>() };

describe('a table-only pass (known digests)', () => {
  test('gives the table of a full pass and the known digests; an unordered layer is read once', async () => {
    const tar = await buildTar(withMtimes(shuffled(entries, 7), new Date('2024-01-01T00:00:00Z')));
    const full = await normalizeLayer(tarStream(tar, 4096), { ...options, reopen: () => tarStream(tar, 4096) });
    expect(full.inCanonicalOrder).toBe(false);

    let reopened = 0;
    hashed.bytes = 0;
    const known = { tarDigest: full.tarDigest, canonicalDigest: full.canonicalDigest, canonicalSize: full.canonicalSize };
    const tableOnly = await normalizeLayer(tarStream(tar, 4096), {
      ...options,
      known,
      reopen: () => {
        reopened++;
        return tarStream(tar, 4096);
      },
    });
    expect(reopened).toBe(0);
    expect(tableOnly).toEqual(full);
    // The contents were hashed (the table's digests), the tar and the canonical tar were not.
    const contentBytes = entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.content ?? ''), 0);
    expect(hashed.bytes).toBe(contentBytes);
    expect(tar.length).toBeGreaterThan(contentBytes);
    expect(full.tarDigest).toBe(`sha256:${realCreateHash('sha256').update(tar).digest('hex')}`);
  });
});
