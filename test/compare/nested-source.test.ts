/**
 * compareNested over spooled files (content-stream.ts `spooledSource`): a large archive is read in the
 * ranges its decoder needs, never whole; the inflate bound still turns into a note; and a file that only
 * starts like a zip is a CORRUPT_ARCHIVE error, which `describeNested` turns into "no decoded detail" so
 * the caller keeps the byte ranges.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNested } from '../../src/compare/content.js';
import { spooledSource } from '../../src/compare/content-stream.js';
import { compareNested, defaultNestedLimits } from '../../src/compare/nested.js';
import { bufferSource, type ByteSource } from '../../src/formats/model.js';
import { ContentSpool } from '../../src/normalize/spool.js';
import { makeTempDir, removeTempDir, runTool, skipWithoutTools } from '../helpers/real-tools.js';
import { seededBytes } from '../helpers/seeded-bytes.js';
import { buildTar } from '../helpers/tar.js';

const t0 = 1_700_000_000;
const MiB = 1024 * 1024;
const mtime = new Date(t0 * 1000);
const pad2 = seededBytes(3 * MiB, 1);

/** A source that records how much was read and the largest single read. */
function counted(source: ByteSource) {
  const stats = { total: 0, largest: 0 };
  const wrapped: ByteSource = {
    size: source.size,
    read: async (offset, length) => {
      stats.total += length;
      stats.largest = Math.max(stats.largest, length);
      return source.read(offset, length);
    },
  };
  return { source: wrapped, stats };
}

/** Both buffers in one spool spilled to its temp file (a 1 MiB memory limit), each as a source. */
async function spooled(dir: string, a: Buffer, b: Buffer) {
  const spool = new ContentSpool(dir, MiB);
  const files = [a, b].map((bytes) => ({ offset: spool.append(Buffer.from(bytes)), size: bytes.length }));
  await spool.finishWriting();
  expect(spool.spilled).toBe(true);
  return { spool, a: counted(spooledSource(spool, files[0]!)), b: counted(spooledSource(spool, files[1]!)) };
}

const sha = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe.skipIf(skipWithoutTools('zip'))('archives read from a spool', () => {
  let dir: string;
  const pad = seededBytes(5 * MiB, 2);
  const zips: Buffer[] = [];

  beforeAll(async () => {
    dir = await makeTempDir('oci-repro-nested-source-');
    // pad.bin: 5 MiB the same on both sides, stored; inner.tar: 4 MiB of zeros and a tail that differs, deflated.
    for (const side of ['a', 'b']) {
      const work = join(dir, side);
      await mkdir(work, { recursive: true });
      await writeFile(join(work, 'pad.bin'), pad);
      await writeFile(join(work, 'inner.tar'), await buildTar([{ name: 'zeros', content: Buffer.alloc(4 * MiB), mtime }, { name: 'tail', content: side, mtime }]));
      for (const name of ['pad.bin', 'inner.tar']) await utimes(join(work, name), t0, t0);
      await runTool('zip', ['-X', '-q', '-n', '.bin', join(work, 'out.zip'), 'pad.bin', 'inner.tar'], { cwd: work, env: { ...process.env, TZ: 'UTC' } });
      zips.push(await readFile(join(work, 'out.zip')));
    }
  });
  afterAll(() => removeTempDir(dir));

  it('a large zip: the differing deflated member opened, the stored 5 MiB one never read', async () => {
    expect(zips[0]!.length).toBeGreaterThan(5 * MiB);
    const { spool, a, b } = await spooled(dir, zips[0]!, zips[1]!);
    try {
      const found = await compareNested('app.zip', a.source, b.source);
      expect(found!.changes.map((c) => [c.member?.join('!/'), c.field])).toContainEqual(['inner.tar!/tail', 'content']);
      expect(found!.notes).toEqual([]);
      // The directory, the end record's tail, local headers and inner.tar's few compressed KiB: not pad.bin.
      for (const side of [a, b]) {
        expect(side.stats.total).toBeLessThan(MiB);
        expect(side.stats.largest).toBeLessThanOrEqual(MiB);
      }
    } finally {
      await spool.close();
    }
  });

  it('a large zip whose member inflates past the limit: a note, the zip\'s own fields still listed', async () => {
    const { spool, a, b } = await spooled(dir, zips[0]!, zips[1]!);
    try {
      const found = await compareNested('app.zip', a.source, b.source, { ...defaultNestedLimits, maxInflatedBytes: MiB });
      expect(found!.notes).toEqual(['app.zip!/inner.tar: not opened, the inflate limit (1048576 bytes) was reached']);
      expect(found!.changes.map((c) => [c.member?.join('!/'), c.field])).toContainEqual(['inner.tar', 'crc32']);
      expect(found!.changes.filter((c) => (c.member?.length ?? 0) > 1)).toEqual([]);
    } finally {
      await spool.close();
    }
  });

  it('a large .tar.gz streams through in chunks of at most 1 MiB', async () => {
    const tars = await Promise.all(
      ['a', 'b'].map((side) => buildTar([{ name: 'data.bin', content: pad, mtime }, { name: 'side', content: side, mtime: new Date((t0 + (side === 'b' ? 60 : 0)) * 1000) }])),
    );
    const { spool, a, b } = await spooled(dir, gzipSync(tars[0]!, { level: 1 }), gzipSync(tars[1]!, { level: 1 }));
    try {
      const found = await compareNested('x.tar.gz', a.source, b.source);
      expect(found!.decoder).toBe('tar.gz');
      expect(found!.changes.map((c) => [c.member?.join('!/'), c.field])).toEqual([
        ['side', 'mtime'],
        ['side', 'content'],
      ]);
      for (const side of [a, b]) expect(side.stats.largest).toBeLessThanOrEqual(MiB);
    } finally {
      await spool.close();
    }
  });

  it('a large file that only starts like a zip: compareNested says corrupt, describeNested gives no detail', async () => {
    const fake = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), seededBytes(5 * MiB, 3)]);
    const other = Buffer.from(fake);
    other[100] = other[100]! ^ 0xff;
    const { spool, a, b } = await spooled(dir, fake, other);
    try {
      await expect(compareNested('fake.zip', a.source, b.source)).rejects.toMatchObject({ code: 'CORRUPT_ARCHIVE' });
      const facts = { sizeA: fake.length, sizeB: other.length, digestA: sha(fake), digestB: sha(other) };
      expect(await describeNested('fake.zip', a.source, b.source, facts)).toBeUndefined();
      // The real zip through the same function: decoded, with the facts it was given.
      const { spool: real, a: ra, b: rb } = await spooled(dir, zips[0]!, zips[1]!);
      try {
        const detail = await describeNested('app.zip', ra.source, rb.source, facts);
        expect(detail).toMatchObject({ format: 'decoded', decoder: 'zip', sizeA: fake.length });
      } finally {
        await real.close();
      }
    } finally {
      await spool.close();
    }
  });
});

describe.skipIf(skipWithoutTools('zip'))('a damaged deflated member', () => {
  it('is a note naming the member, not an error', async () => {
    const dir = await makeTempDir('oci-repro-nested-damaged-');
    try {
      const zips: Buffer[] = [];
      for (const side of ['a', 'b']) {
        await mkdir(join(dir, side), { recursive: true });
        await writeFile(join(dir, side, 'inner.tar'), await buildTar([{ name: 'text', content: `${side} `.repeat(50_000), mtime }]));
        await runTool('zip', ['-X', '-q', join(dir, side, 'out.zip'), 'inner.tar'], { cwd: join(dir, side) });
        zips.push(await readFile(join(dir, side, 'out.zip')));
      }
      // The first deflate block header of b's member: 0xff makes it a reserved block type (3).
      const damaged = Buffer.from(zips[1]!);
      damaged[30 + 'inner.tar'.length] = 0xff;
      const found = await compareNested('app.zip', bufferSource(zips[0]!), bufferSource(damaged));
      expect(found!.notes).toHaveLength(1);
      expect(found!.notes[0]).toMatch(/^app\.zip!\/inner\.tar: not opened \(zip: .*inner\.tar/);
    } finally {
      await removeTempDir(dir);
    }
  });
});

describe.skipIf(skipWithoutTools('ar', 'tar', 'gzip'))('an ar member read in place', () => {
  it('a .deb whose data.tar.gz is over the held limit is still opened: its members are read from the outer source, not held', async () => {
    const dir = await makeTempDir('oci-repro-nested-deb-');
    try {
      const debs: Buffer[] = [];
      for (const [side, time] of [['a', t0], ['b', t0 + 60]] as const) {
        const work = join(dir, side);
        await mkdir(join(work, 'tree'), { recursive: true });
        await writeFile(join(work, 'tree', 'payload'), pad2);
        await runTool('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu', `--mtime=@${time}`, '-C', join(work, 'tree'), '-cf', join(work, 'data.tar'), 'payload']);
        await runTool('gzip', ['-n', '-1', join(work, 'data.tar')]);
        await writeFile(join(work, 'debian-binary'), '2.0\n');
        await runTool('ar', ['rcD', join(work, 'p.deb'), 'debian-binary', 'data.tar.gz'], { cwd: work });
        debs.push(await readFile(join(work, 'p.deb')));
      }
      const { spool, a, b } = await spooled(dir, debs[0]!, debs[1]!);
      try {
        const limits = { ...defaultNestedLimits, maxHeldBytes: MiB };
        const found = await compareNested('p.deb', a.source, b.source, limits);
        expect(found!.notes).toEqual([]);
        // The two gzip streams differ in length too (fixed content: seededBytes), so the member's size differs.
        expect(found!.changes.map((c) => [c.member?.join('!/'), c.field])).toEqual([
          ['data.tar.gz', 'size'],
          ['data.tar.gz', 'sha256'],
          ['data.tar.gz!/payload', 'mtime'],
        ]);
        for (const side of [a, b]) expect(side.stats.largest).toBeLessThanOrEqual(MiB);
      } finally {
        await spool.close();
      }
    } finally {
      await removeTempDir(dir);
    }
  });
});
