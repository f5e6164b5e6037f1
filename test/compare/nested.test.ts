import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeContentChange } from '../../src/compare/content.js';
import { compareNested, defaultNestedLimits, displayMemberName, memberPath } from '../../src/compare/nested.js';
import { bufferSource, type FieldChange } from '../../src/formats/model.js';
import { makeTempDir, removeTempDir, runTool, skipWithoutTools } from '../helpers/real-tools.js';
import { buildTar, type TestEntry } from '../helpers/tar.js';

const t0 = 1_700_000_000;
const brief = (changes: readonly FieldChange[]) => changes.map((c) => [(c.member ?? []).join('!/'), c.where, c.field]);
/** The changes of members at `depth` (1: the file's own members). */
const atDepth = (changes: readonly FieldChange[], depth: number) => changes.filter((c) => (c.member?.length ?? 0) === depth);

/**
 * Builds the same tree twice with real tools; `variant` changes one thing in B. GNU tar writes the
 * outer archive reproducibly (sorted, numeric owners, gzip -n), so only what the variant changes differs.
 */
async function buildPair(dir: string, variant: (side: string) => Promise<void>, pack: (side: string) => Promise<void>): Promise<[Buffer, Buffer]> {
  for (const side of ['a', 'b']) {
    const root = join(dir, side, 'tree');
    await mkdir(join(root, 'docs'), { recursive: true });
    await writeFile(join(root, 'x.txt'), 'hello\n');
    await writeFile(join(root, 'docs', 'y.txt'), 'world\n'.repeat(100));
    for (const file of ['x.txt', 'docs/y.txt', 'docs', '.']) await utimes(join(root, file), t0, t0);
    if (side === 'b') await variant(side);
    await pack(side);
  }
  return [await readFile(join(dir, 'a', 'out')), await readFile(join(dir, 'b', 'out'))];
}

const tarArgs = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu'];

describe.skipIf(skipWithoutTools('tar', 'gzip', 'zip', 'zstd', 'ar', 'python3'))('archives inside files, built by real tools', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('oci-repro-nested-');
  });
  afterAll(() => removeTempDir(dir));

  const tarGz = (work: string) => async (side: string) => {
    const tar = await runTool('tar', [...tarArgs, '-C', join(work, side, 'tree'), '-cf', '-', '.']);
    await writeFile(join(work, side, 'out'), (await runGzip(tar.stdout)));
  };
  const runGzip = async (data: Buffer) => {
    const path = join(dir, `gz-${Math.random().toString(36).slice(2)}`);
    await writeFile(path, data);
    await runTool('gzip', ['-n', path]);
    return readFile(`${path}.gz`);
  };

  it('depth 1: a .tar.gz whose one member has another mtime names that member and field only', async () => {
    const work = join(dir, 'd1');
    const [a, b] = await buildPair(work, async (side) => utimes(join(work, side, 'tree', 'x.txt'), t0 + 60, t0 + 60), tarGz(work));
    const found = await compareNested('opt/out.tar.gz', bufferSource(a), bufferSource(b));
    expect(found?.decoder).toBe('tar.gz');
    expect(brief(found!.changes)).toEqual([['./x.txt', './x.txt', 'mtime']]);
    expect(found!.changes[0]!.a).toBe('2023-11-14T22:13:20Z');
    expect(memberPath('opt/out.tar.gz', found!.changes[0]!.member!)).toBe('opt/out.tar.gz!/./x.txt');
    // The same bytes untouched: nothing differs.
    expect((await compareNested('opt/out.tar.gz', bufferSource(a), bufferSource(a)))?.changes).toEqual([]);
  });

  it('depth 2: a zip inside a .tar.gz whose one member has another time', async () => {
    const work = join(dir, 'd2');
    const zipTree = async (side: string) => {
      const tree = join(work, side, 'tree');
      await runTool('zip', ['-X', '-q', '-r', join(tree, 'inner.zip'), 'x.txt', 'docs'], { cwd: tree });
      await utimes(join(tree, 'inner.zip'), t0, t0);
      await utimes(tree, t0, t0);
    };
    const [a, b] = await buildPair(
      work,
      async (side) => utimes(join(work, side, 'tree', 'x.txt'), t0 + 3600, t0 + 3600),
      async (side) => {
        if (side === 'a') await zipTree('a');
        else await zipTree('b');
        // x.txt outside the zip keeps A's time in both, so only the zip's member differs.
        await utimes(join(work, side, 'tree', 'x.txt'), t0, t0);
        await tarGz(work)(side);
      },
    );
    const found = await compareNested('opt/out.tar.gz', bufferSource(a), bufferSource(b));
    expect(atDepth(found!.changes, 2).map((c) => [c.member!.join('!/'), c.field])).toEqual([['./inner.zip!/x.txt', 'dos-time']]);
    expect(brief(atDepth(found!.changes, 1))).toEqual([['./inner.zip', './inner.zip', 'content']]);
    // The report's detail: the member path written outer!/inner!/member.
    const detail = await describeContentChange('opt/out.tar.gz', a, b);
    expect(detail.format === 'decoded' && detail.changes.map((c) => c.path)).toEqual(['opt/out.tar.gz!/./inner.zip', 'opt/out.tar.gz!/./inner.zip!/x.txt']);
  });

  it('a .tar.zst and a .deb (ar) holding a data.tar.gz: per member, at depth 1 and 2', async () => {
    const work = join(dir, 'zst');
    const [a, b] = await buildPair(
      work,
      async (side) => utimes(join(work, side, 'tree', 'docs', 'y.txt'), t0 + 5, t0 + 5),
      async (side) => {
        const tar = await runTool('tar', [...tarArgs, '-C', join(work, side, 'tree'), '-cf', join(work, side, 'data.tar'), '.']);
        void tar;
        await runTool('zstd', ['-q', '-f', join(work, side, 'data.tar'), '-o', join(work, side, 'out')]);
      },
    );
    const zst = await compareNested('x.tar.zst', bufferSource(a), bufferSource(b));
    expect(zst?.decoder).toBe('tar.zst');
    expect(brief(zst!.changes)).toEqual([['./docs/y.txt', './docs/y.txt', 'mtime']]);

    // A .deb: ar (deterministic mode D) of debian-binary and data.tar.gz.
    const debs: Buffer[] = [];
    for (const side of ['a', 'b']) {
      const tar = await runTool('tar', [...tarArgs, '-C', join(work, side, 'tree'), '-cf', '-', '.']);
      const data = join(work, side, 'deb');
      await mkdir(data, { recursive: true });
      await writeFile(join(data, 'debian-binary'), '2.0\n');
      await writeFile(join(data, 'data.tar.gz'), await runGzip(tar.stdout));
      await runTool('ar', ['rcD', join(data, 'p.deb'), 'debian-binary', 'data.tar.gz'], { cwd: data });
      debs.push(await readFile(join(data, 'p.deb')));
    }
    const deb = await compareNested('p.deb', bufferSource(debs[0]!), bufferSource(debs[1]!));
    expect(deb?.decoder).toBe('ar');
    expect(atDepth(deb!.changes, 2).map((c) => [memberPath('p.deb', c.member!), c.field])).toEqual([['p.deb!/data.tar.gz!/./docs/y.txt', 'mtime']]);
  });

  it('a .pyc inside a wheel is decoded by its own decoder: the recorded source mtime, named app.whl!/pkg/m.pyc', async () => {
    const work = join(dir, 'wheel');
    const wheels: Buffer[] = [];
    for (const [side, mtime] of [['a', t0], ['b', t0 + 86_400]] as const) {
      const pkg = join(work, side, 'pkg');
      await mkdir(pkg, { recursive: true });
      await writeFile(join(pkg, 'm.py'), 'X = 1\n');
      await utimes(join(pkg, 'm.py'), mtime, mtime);
      await runTool('python3', ['-c', 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], dfile="m.py", doraise=True)', join(pkg, 'm.py'), join(pkg, 'm.pyc')]);
      await utimes(join(pkg, 'm.pyc'), t0, t0);
      await runTool('zip', ['-X', '-q', join(work, side, 'app.whl'), 'pkg/m.pyc'], { cwd: join(work, side), env: { ...process.env, TZ: 'UTC' } });
      wheels.push(await readFile(join(work, side, 'app.whl')));
    }
    const found = await compareNested('app.whl', bufferSource(wheels[0]!), bufferSource(wheels[1]!));
    const decoded = found!.changes.filter((c) => c.field === 'source-mtime');
    expect(decoded.map((c) => [memberPath('app.whl', c.member!), c.where, c.a, c.b])).toEqual([['app.whl!/pkg/m.pyc', 'header', '2023-11-14T22:13:20Z', '2023-11-15T22:13:20Z']]);
    // The zip's own view of the member: only the CRC of its content (sizes and times are equal).
    expect(found!.changes.filter((c) => c.field !== 'source-mtime').map((c) => c.field)).toEqual(['crc32']);
  });

  it('a zip bomb: a deflated member that inflates past the limit is a note, the zip\'s own fields still listed', async () => {
    const work = join(dir, 'bomb');
    const zips: Buffer[] = [];
    for (const side of ['a', 'b']) {
      await mkdir(join(work, side), { recursive: true });
      const tar = await buildTar([{ name: 'zeros', content: Buffer.alloc(4 * 1024 * 1024), mtime: new Date(t0 * 1000) }, { name: 'tail', content: side, mtime: new Date(t0 * 1000) }]);
      await writeFile(join(work, side, 'inner.tar'), tar);
      await utimes(join(work, side, 'inner.tar'), t0, t0);
      await runTool('zip', ['-X', '-q', '-9', join(work, side, 'out.zip'), 'inner.tar'], { cwd: join(work, side), env: { ...process.env, TZ: 'UTC' } });
      zips.push(await readFile(join(work, side, 'out.zip')));
    }
    expect(zips[0]!.length).toBeLessThan(64 * 1024);
    const found = await compareNested('app.zip', bufferSource(zips[0]!), bufferSource(zips[1]!), { ...defaultNestedLimits, maxInflatedBytes: 1024 * 1024 });
    expect(found!.notes).toEqual(['app.zip!/inner.tar: not opened, the inflate limit (1048576 bytes) was reached']);
    expect(found!.changes.map((c) => c.field)).toContain('crc32');
    // Within the default limit the member is opened: the one tar member that differs.
    const all = await compareNested('app.zip', bufferSource(zips[0]!), bufferSource(zips[1]!));
    expect(atDepth(all!.changes, 2).map((c) => [c.member!.join('!/'), c.field])).toEqual([['inner.tar!/tail', 'content']]);
  });
});

describe('archives inside files, built in code', () => {
  const tarOf = (entries: TestEntry[]) => buildTar(entries.map((e) => ({ mtime: new Date(t0 * 1000), ...e })));

  it('tar inside tar: one uid at depth 2, and nothing at all for equal archives', async () => {
    const inner = (uid: number) => tarOf([{ name: 'bin/tool', content: 'x', uid }, { name: 'etc/conf', content: 'y' }]);
    const outer = async (uid: number) => tarOf([{ name: 'README', content: 'r' }, { name: 'lib/inner.tar', content: await inner(uid) }]);
    const [a, b] = [await outer(0), await outer(1000)];
    const found = await compareNested('srv/bundle.tar', bufferSource(a), bufferSource(b));
    expect(found?.decoder).toBe('tar');
    expect(brief(atDepth(found!.changes, 2))).toEqual([['lib/inner.tar!/bin/tool', 'bin/tool', 'uid']]);
    expect((await compareNested('srv/bundle.tar', bufferSource(a), bufferSource(a)))?.changes).toEqual([]);
  });

  it('stops at the depth limit and says so', async () => {
    // Five tars, each inside the next; only the innermost member's mtime differs.
    const nest = async (mtime: number) => {
      let bytes = await buildTar([{ name: 'leaf.txt', content: 'z', mtime: new Date(mtime * 1000) }]);
      for (let level = 4; level >= 1; level--) bytes = await tarOf([{ name: `level${level}.tar`, content: bytes }]);
      return bytes;
    };
    const found = await compareNested('deep.tar', bufferSource(await nest(t0)), bufferSource(await nest(t0 + 1)));
    const deepest = Math.max(...found!.changes.map((c) => c.member?.length ?? 0));
    expect(deepest).toBe(defaultNestedLimits.maxDepth);
    expect(found!.notes).toEqual([`deep.tar!/level1.tar!/level2.tar!/level3.tar: an archive at depth 4, not opened (limit ${defaultNestedLimits.maxDepth})`]);
    // With a deeper limit the leaf is found.
    const all = await compareNested('deep.tar', bufferSource(await nest(t0)), bufferSource(await nest(t0 + 1)), { ...defaultNestedLimits, maxDepth: 6 });
    expect(all!.changes.at(-1)).toMatchObject({ member: ['level1.tar', 'level2.tar', 'level3.tar', 'level4.tar', 'leaf.txt'], field: 'mtime' });
  });

  it('a compression bomb is read only up to the inflate limit, with a note, never an error', async () => {
    const bomb = async (tail: string) => gzipSync(await tarOf([{ name: 'zeros', content: Buffer.alloc(4 * 1024 * 1024) }, { name: 'tail', content: tail }]));
    const [a, b] = [await bomb('a'), await bomb('b')];
    expect(a.length).toBeLessThan(64 * 1024);
    const limits = { ...defaultNestedLimits, maxInflatedBytes: 1024 * 1024 };
    const found = await compareNested('bomb.tar.gz', bufferSource(a), bufferSource(b), limits);
    expect(found?.notes).toEqual(['bomb.tar.gz: not read past 1048576 inflated bytes (a larger archive, or a compression bomb)']);
    // Under the default limit the same pair is read to the end.
    expect(brief((await compareNested('bomb.tar.gz', bufferSource(a), bufferSource(b)))!.changes)).toEqual([['tail', 'tail', 'content']]);
  });

  it('members held for opening stay within maxHeldBytes: the rest are named in a note', async () => {
    const inner = (tag: string) => tarOf([{ name: 'pad', content: Buffer.alloc(600 * 1024) }, { name: 'tag', content: tag }]);
    const outer = async (tag: string) => tarOf([{ name: 'one.tar', content: await inner(tag) }, { name: 'two.tar', content: await inner(tag) }]);
    const limits = { ...defaultNestedLimits, maxHeldBytes: 2 * 700 * 1024 };
    const found = await compareNested('o.tar', bufferSource(await outer('a')), bufferSource(await outer('b')), limits);
    // One pair (both sides) fits; the second is not opened.
    expect(atDepth(found!.changes, 2).map((c) => c.member!.join('!/'))).toEqual(['one.tar!/tag']);
    expect(found!.notes).toEqual([`o.tar!/two.tar: not opened, its content is over the ${limits.maxHeldBytes}-byte limit for members held`]);
  });

  it('a member declaring a huge size, or damaged, is a note; the outer archive still compares', async () => {
    const good = await tarOf([{ name: 'ok', content: 'same' }]);
    // A tar header declaring 1 TB of content, followed by 512 bytes: truncated.
    const liar = Buffer.from(good);
    liar.write('77777777777\0', 124, 'latin1');
    let sum = 0;
    liar.fill(0x20, 148, 156);
    for (let i = 0; i < 512; i++) sum += liar[i]!;
    liar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const outer = async (inner: Buffer, note: string) => tarOf([{ name: 'inner.tar', content: inner }, { name: 'note', content: note }]);
    const found = await compareNested('o.tar', bufferSource(await outer(good, 'a')), bufferSource(await outer(liar, 'b')));
    expect(brief(found!.changes)).toEqual([
      ['inner.tar', 'inner.tar', 'content'],
      ['note', 'note', 'content'],
    ]);
    expect(found!.notes).toHaveLength(1);
    expect(found!.notes[0]).toMatch(/^o\.tar!\/inner\.tar: could not be decoded \(tar: .*unexpected end of archive/);
    // The outer file itself lying: not an archive comparison, and no throw.
    await expect(describeContentChange('x.tar', liar, good)).resolves.toMatchObject({ format: 'binary' });
  });

  it('a member path with .. is shown quoted, never as a path', async () => {
    const a = await tarOf([{ name: '../../etc/passwd', content: 'root:x:0:0' }]);
    const b = await tarOf([{ name: '../../etc/passwd', content: 'root:x:0:1' }]);
    const detail = await describeContentChange('opt/evil.tar', a, b);
    expect(detail.format === 'decoded' && detail.changes.map((c) => c.path)).toEqual(['opt/evil.tar!/"../../etc/passwd"']);
    expect(displayMemberName('ok/name')).toBe('ok/name');
    expect(displayMemberName('a\nb')).toBe('"a\\nb"');
    expect(displayMemberName('/abs')).toBe('"/abs"');
  });
});
