/**
 * A layer that is already its canonical tar is hashed once (canonical-mirror.ts); wherever it stops
 * being its canonical tar -- a header, a PAX header, padding, the end -- the canonical digest must
 * still be the one the canonical writer gives, at any chunk size, with or without a second read.
 */
import { Writable } from 'node:stream';
import { describe, expect, test, vi } from 'vitest';
import { normalizeLayer } from '../../src/normalize/layer.js';
import { CanonicalWriter } from '../../src/normalize/layer-writer.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { sha256Of } from '../helpers/digest.js';
import { buildTar, tarStream, type TestEntry } from '../helpers/tar.js';
import { block, headerBlocks, setField } from '../helpers/tar-mutate.js';

const entries: TestEntry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/hosts', content: '127.0.0.1 localhost\n' },
  { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n'.repeat(30), uname: 'root', gname: 'root' },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/bin/', type: 'directory' },
  { name: 'usr/bin/tool', content: Buffer.alloc(3000, 7), mode: 0o755, uid: 1000, gid: 1000 },
  { name: 'usr/bin/tool-link', type: 'symlink', linkname: 'tool' },
  { name: 'usr/bin/tool-hard', type: 'link', linkname: 'usr/bin/tool' },
  { name: `usr/share/${'deep/'.repeat(25)}file.txt`, content: 'a path for the prefix field\n' },
  { name: 'var/', type: 'directory' },
  { name: 'var/empty', content: '' },
  { name: 'var/log', content: 'x'.repeat(1500) },
];

/** The canonical tar of `list` as the writer emits it (from the spool, never mirrored), and its digest. */
async function canonicalTarOf(list: TestEntry[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      parts.push(Buffer.from(chunk));
      done();
    },
  });
  await normalizeLayer(tarStream(await buildTar(list)), { ...defaultNormalizeOptions, output });
  return Buffer.concat(parts);
}

/** Each way of reading: verify's (a second read on disorder) and one pass with a spool; many chunk sizes. */
async function digestsOf(tar: Buffer): Promise<Array<{ how: string; canonical: string; size: number; tar: string }>> {
  const results = [];
  for (const chunkSize of [1 << 20, 4096, 512, 100, 7]) {
    for (const reopen of [true, false]) {
      const options = { ...defaultNormalizeOptions, ...(reopen ? { reopen: () => tarStream(tar, chunkSize) } : {}) };
      const summary = await normalizeLayer(tarStream(tar, chunkSize), options);
      results.push({ how: `${chunkSize}${reopen ? ' reopen' : ''}`, canonical: summary.canonicalDigest, size: summary.canonicalSize, tar: summary.tarDigest });
    }
  }
  return results;
}

describe('a layer that is its own canonical tar', () => {
  test('hashes to its own digest, and every variant that normalizes to it gives the same digest', async () => {
    const canonical = await canonicalTarOf(entries);
    const digest = sha256Of(canonical);
    // Hashed once: the canonical writer never writes (or hashes) a byte of its own.
    const flush = vi.spyOn(CanonicalWriter.prototype, 'flush');
    const results = await digestsOf(canonical);
    expect(flush).not.toHaveBeenCalled();
    flush.mockRestore();
    for (const result of results) {
      expect(result, result.how).toMatchObject({ canonical: digest, size: canonical.length, tar: digest });
    }

    const members = headerBlocks(canonical);
    const withPadding = members.find((m) => m.typeflag === '0' && m.size % block !== 0 && m.offset > 2000)!;
    const variants: Record<string, Buffer> = {
      'GNU record padding after the end marker': Buffer.concat([canonical, Buffer.alloc(9 * block)]),
      'no end marker': canonical.subarray(0, canonical.length - 2 * block),
      'one zero block at the end': canonical.subarray(0, canonical.length - block),
      'a padding byte not zero': Buffer.from(canonical),
      'an owner name on the first member': Buffer.from(canonical),
      'an owner name on a member in the middle': Buffer.from(canonical),
      'an mtime on the last member': Buffer.from(canonical),
    };
    variants['a padding byte not zero']![withPadding.offset + block + withPadding.size + 3] = 0x55;
    setField(variants['an owner name on the first member']!, 0, 'uname', 'builder');
    setField(variants['an owner name on a member in the middle']!, withPadding.offset, 'gname', 'staff');
    setField(variants['an mtime on the last member']!, members.at(-1)!.offset, 'mtime', '14567123456\0');
    for (const [name, tar] of Object.entries(variants)) {
      for (const result of await digestsOf(tar)) {
        expect(result.canonical, `${name}, ${result.how}`).toBe(digest);
        expect(result.size, `${name}, ${result.how}`).toBe(canonical.length);
        expect(result.tar, `${name}, ${result.how}`).toBe(sha256Of(tar));
      }
    }
  });

  test('a canonical tar with PAX headers inside (a long path, an xattr) parts at the first and still agrees', async () => {
    const list = [
      ...entries.slice(0, 5),
      { name: `opt/${'long-directory-name/'.repeat(14)}file`, content: 'needs a PAX path\n' },
      { name: 'opt/capable', content: 'x', pax: { 'SCHILY.xattr.security.capability': Buffer.from([1, 0, 0, 2]) } },
      ...entries.slice(5),
    ];
    const canonical = await canonicalTarOf(list);
    expect(headerBlocks(canonical).some((m) => m.typeflag === 'x')).toBe(true);
    const digest = sha256Of(canonical);
    for (const result of await digestsOf(canonical)) {
      expect(result, result.how).toMatchObject({ canonical: digest, size: canonical.length, tar: digest });
    }
  });
});
