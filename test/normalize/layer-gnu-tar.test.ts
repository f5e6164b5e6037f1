/**
 * GNU tar as an independent oracle: it must read the canonical tar (listing, extraction with xattrs),
 * and tars it writes of one tree with different options must normalize to the same digest.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { normalizeLayer } from '../../src/normalize/layer.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { buildTar, shuffled, tarStream, type TestEntry } from '../helpers/tar.js';

const hasGnuTar = (() => {
  const result = spawnSync('tar', ['--version'], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('GNU tar');
})();

const work = mkdtempSync(join(tmpdir(), 'oci-repro-layer-gnu-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Whether this filesystem takes user.* xattrs (overlayfs and tmpfs in containers may not). */
const hasUserXattrs = (() => {
  if (!hasGnuTar) return false;
  const probe = join(work, 'xattr-probe');
  writeFileSync(probe, '');
  const tarFile = join(work, 'probe.tar');
  const built = buildTar([{ name: 'p', content: '', pax: { 'SCHILY.xattr.user.probe': '1' } }]);
  return built.then((data) => {
    writeFileSync(tarFile, data);
    const dir = join(work, 'probe');
    mkdirSync(dir);
    const result = spawnSync('tar', ['--xattrs', '--xattrs-include=user.*', '-xf', tarFile, '-C', dir], { encoding: 'utf8' });
    return result.status === 0 && !/xattr|setxattr/i.test(result.stderr);
  });
})();

async function canonicalOf(tar: Buffer): Promise<{ canonical: Buffer; digest: string; inOrder: boolean }> {
  const chunks: Buffer[] = [];
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const summary = await normalizeLayer(tarStream(tar), { ...defaultNormalizeOptions, output });
  return { canonical: Buffer.concat(chunks), digest: summary.canonicalDigest, inOrder: summary.inCanonicalOrder };
}

const entries: TestEntry[] = [
  { name: 'app/', type: 'directory' },
  { name: 'app/bin/', type: 'directory', mode: 0o750 },
  { name: 'app/bin/run', content: '#!/bin/sh\necho hi\n', mode: 0o755, uid: 1000, gid: 1000 },
  { name: 'app/bin/run-again', type: 'link', linkname: 'app/bin/run' },
  { name: 'app/current', type: 'symlink', linkname: 'bin/run' },
  { name: `app/${'deep/'.repeat(30)}leaf.txt`, content: 'deep' },
  { name: 'app/data.bin', content: Buffer.alloc(100_000, 0xab) },
  { name: 'app/.wh.old', content: '' },
  { name: 'app/noted', content: 'x', pax: { 'SCHILY.xattr.user.note': Buffer.from([0x68, 0x00, 0xff, 0x0a]) } },
];

describe.skipIf(!hasGnuTar)('GNU tar reads the canonical tar', () => {
  test('tar -tvf lists every entry in canonical order with normalized headers', async () => {
    const { canonical } = await canonicalOf(await buildTar(shuffled(entries, 3), { dialect: 'pax' }));
    const file = join(work, 'list.tar');
    writeFileSync(file, canonical);
    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', file], { encoding: 'utf8' }).trim().split('\n');
    const names = listing.map((line) => line.split(/\s+/).slice(5).join(' '));
    expect(names).toEqual([
      'app/',
      'app/.wh.old',
      'app/bin/',
      'app/bin/run',
      'app/bin/run-again link to app/bin/run',
      'app/current -> bin/run',
      'app/data.bin',
      `app/${'deep/'.repeat(30)}leaf.txt`,
      'app/noted',
    ]);
    expect(listing.every((line) => line.includes('1970-01-01 00:00:00'))).toBe(true);
    expect(listing[3]).toMatch(/^-rwxr-xr-x 1000\/1000 +18 /);
    const verbose = execFileSync('tar', ['--xattrs', '-tvvf', file], { encoding: 'utf8' });
    expect(verbose).toMatch(/x: 4 user\.note/);
  });

  test('tar --xattrs -xf extracts contents, links and xattrs', async () => {
    const { canonical } = await canonicalOf(await buildTar(entries));
    const file = join(work, 'extract.tar');
    writeFileSync(file, canonical);
    const dir = join(work, 'extracted');
    mkdirSync(dir);
    const xattrs = await hasUserXattrs;
    const args = xattrs ? ['--xattrs', '--xattrs-include=user.*'] : [];
    execFileSync('tar', [...args, '-xf', file, '-C', dir]);
    expect(readFileSync(join(dir, 'app/bin/run'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(statSync(join(dir, 'app/bin/run')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(dir, 'app/bin/run-again')).ino).toBe(statSync(join(dir, 'app/bin/run')).ino);
    expect(readlinkSync(join(dir, 'app/current'))).toBe('bin/run');
    expect(readFileSync(join(dir, `app/${'deep/'.repeat(30)}leaf.txt`), 'utf8')).toBe('deep');
    expect(readFileSync(join(dir, 'app/data.bin')).equals(Buffer.alloc(100_000, 0xab))).toBe(true);
    expect(statSync(join(dir, 'app/.wh.old')).size).toBe(0);
    if (xattrs) {
      // Round trip through the filesystem: GNU tar writes what it extracted, we read the same value.
      const again = join(work, 'again.tar');
      execFileSync('tar', ['--xattrs', '--format=pax', '-cf', again, '-C', dir, 'app/noted']);
      const summary = await normalizeLayer(tarStream(readFileSync(again)), defaultNormalizeOptions);
      expect(Buffer.from(summary.entries[0].xattrs['user.note'], 'latin1')).toEqual(Buffer.from([0x68, 0x00, 0xff, 0x0a]));
    }
  });
});

describe.skipIf(!hasGnuTar)('tars GNU tar writes of the same tree', () => {
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'etc/ssl'), { recursive: true });
  mkdirSync(join(tree, 'usr/lib/x86_64-linux-gnu'), { recursive: true });
  mkdirSync(join(tree, 'usr/lib/x86_64'), { recursive: true });
  mkdirSync(join(tree, 'usr/lib/python3.11'), { recursive: true });
  mkdirSync(join(tree, 'usr/lib/python3'), { recursive: true });
  writeFileSync(join(tree, 'etc/ssl/cert.pem'), 'cert');
  writeFileSync(join(tree, 'usr/lib/x86_64-linux-gnu/libc.so'), 'libc');
  writeFileSync(join(tree, 'usr/lib/x86_64/ld.so'), 'ld');
  writeFileSync(join(tree, 'usr/lib/python3.11/os.py'), 'import sys');
  writeFileSync(join(tree, 'usr/lib/python3/dist.pth'), '');
  writeFileSync(join(tree, `usr/lib/${'n'.repeat(120)}`), 'long');
  symlinkSync('x86_64-linux-gnu/libc.so', join(tree, 'usr/lib/libc.so'));

  const tarOf = (name: string, args: string[]) => {
    const file = join(work, name);
    execFileSync('tar', [...args, '-cf', file, '-C', tree, '.']);
    return readFileSync(file);
  };

  test('different formats, owners, mtimes and orders normalize to one digest', async () => {
    const gnuSorted = tarOf('gnu.tar', ['--format=gnu', '--sort=name', '--owner=0', '--group=0', '--numeric-owner']);
    for (const path of ['etc/ssl/cert.pem', 'usr/lib/x86_64/ld.so']) utimesSync(join(tree, path), 1_000_000, 2_000_000);
    const paxUnsorted = tarOf('pax.tar', ['--format=pax', '--owner=builder:1', '--group=staff:2', '--sort=none']);
    const paxOwned = tarOf('pax-owned.tar', ['--format=pax', '--sort=inode']);

    const a = await canonicalOf(gnuSorted);
    const b = await canonicalOf(paxUnsorted);
    const c = await canonicalOf(paxOwned);
    // GNU's --sort=name order is the canonical order: no spooling needed.
    expect(a.inOrder).toBe(true);
    expect(b.canonical.equals(a.canonical)).toBe(false); // uid/gid 1/2 are real differences
    const ownerless = await canonicalOf(tarOf('pax-root.tar', ['--format=pax', '--owner=0', '--group=0', '--numeric-owner']));
    expect(ownerless.digest).toBe(a.digest);
    expect(c.digest).toBe(
      (await canonicalOf(tarOf('gnu-owned.tar', ['--format=gnu', '--sort=name']))).digest,
    );
  });
});
