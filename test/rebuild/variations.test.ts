/**
 * The context variations of `rebuild`: each copy differs from the context in exactly its one way, the
 * original is untouched, and the copy is registered for signal cleanup while it exists.
 */
import { chmod, lstat, lutimes, mkdir, readdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { copyContext, copyRuleOf, describeVariation, mtimeShift, parseVariations } from '../../src/rebuild/variations.js';
import { trackedTempPaths } from '../../src/temp-files.js';
import { cleanupTempDirs, makeTempDir } from '../helpers/real-tools.js';
import { OciReproError } from '../../src/errors.js';

const T = 1_600_000_000;
let context: string;

/** Every path under root with its type, permission bits, mtime (s) and link target. */
async function snapshot(root: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const dir = join(root, rel);
  const s = await lstat(dir);
  out[rel || '.'] = `dir ${(s.mode & 0o7777).toString(8)} ${Math.round(s.mtimeMs / 1000)}`;
  for (const name of (await readdir(dir)).sort()) {
    const path = join(rel, name);
    const e = await lstat(join(root, path));
    if (e.isDirectory()) Object.assign(out, await snapshot(root, path));
    else if (e.isSymbolicLink()) out[path] = `link ${await readlink(join(root, path))} ${Math.round(e.mtimeMs / 1000)}`;
    else out[path] = `file ${(e.mode & 0o7777).toString(8)} ${Math.round(e.mtimeMs / 1000)} ${await readFile(join(root, path), 'utf8')}`;
  }
  return out;
}

beforeEach(async () => {
  context = join(await makeTempDir('oci-repro-test-ctx-'), 'ctx');
  await mkdir(join(context, 'sub'), { recursive: true });
  await writeFile(join(context, 'a.txt'), 'a');
  await writeFile(join(context, 'run.sh'), '#!/bin/sh\n');
  await chmod(join(context, 'a.txt'), 0o644);
  await chmod(join(context, 'run.sh'), 0o755);
  await writeFile(join(context, 'sub', 'b.txt'), 'b');
  await chmod(join(context, 'sub', 'b.txt'), 0o444);
  await symlink('a.txt', join(context, 'link'));
  await lutimes(join(context, 'link'), T, T);
  for (const p of ['a.txt', 'run.sh', 'sub/b.txt', 'sub', '.']) await utimes(join(context, p), T, T);
});
afterAll(cleanupTempDirs);

describe('copyContext', () => {
  it('copies the context as it is when the rule changes nothing (the control of every variation)', async () => {
    const varied = await copyContext(context, { mode: (m) => m, mtime: (t) => t, reverse: false });
    try {
      expect(await snapshot(varied.context)).toEqual(await snapshot(context));
    } finally {
      await varied.remove();
    }
  });

  it('mtimes: moves every time by the shift and nothing else', async () => {
    const before = await snapshot(context);
    const varied = await copyContext(context, copyRuleOf('mtimes')!);
    try {
      const after = await snapshot(varied.context);
      expect(after).not.toEqual(before);
      const shifted = Object.fromEntries(Object.entries(before).map(([k, v]) => [k, v.replace(String(T), String(T + mtimeShift))]));
      expect(after).toEqual(shifted);
    } finally {
      await varied.remove();
    }
    expect(await snapshot(context)).toEqual(before);
  });

  it('umask: group write wherever the owner may write, as umask 002 gives', async () => {
    const varied = await copyContext(context, copyRuleOf('umask')!);
    try {
      const after = await snapshot(varied.context);
      expect(after['a.txt']).toMatch(/^file 664 /);
      expect(after['run.sh']).toMatch(/^file 775 /);
      expect(after['sub/b.txt']).toMatch(/^file 444 /); // read-only stays read-only
      expect(after['sub']).toMatch(/^dir 775 /);
      expect((await snapshot(context))['a.txt']).toMatch(/^file 644 /);
    } finally {
      await varied.remove();
    }
  });

  it('order: the same tree, its entries created in reverse name order', async () => {
    const varied = await copyContext(context, copyRuleOf('order')!);
    try {
      expect(await snapshot(varied.context)).toEqual(await snapshot(context));
    } finally {
      await varied.remove();
    }
  });

  it('registers the copy while it exists and removes it', async () => {
    const varied = await copyContext(context, copyRuleOf('umask')!);
    const dir = join(varied.context, '..');
    expect(trackedTempPaths()).toContain(dir);
    await varied.remove();
    expect(trackedTempPaths()).not.toContain(dir);
    await expect(lstat(dir)).rejects.toThrow(/ENOENT/);
  });

  it('removes a half-made copy when copying fails', async () => {
    const before = trackedTempPaths().length;
    await expect(copyContext(join(context, 'missing'), copyRuleOf('order')!)).rejects.toThrow(/ENOENT/);
    expect(trackedTempPaths()).toHaveLength(before);
  });
});

describe('parseVariations', () => {
  it('keeps the order given, once each', () => {
    expect(parseVariations('umask, clock,umask')).toEqual(['umask', 'clock']);
  });
  it('refuses an unknown name as a usage error naming the known ones', () => {
    let error: unknown;
    try {
      parseVariations('clock,phase-of-moon');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OciReproError);
    expect((error as OciReproError).exitCode).toBe(2);
    expect((error as OciReproError).line).toMatch(/phase-of-moon.*clock, mtimes, umask, order, env, hostname, cpus/);
  });
  it('clock, env, hostname and cpus build the context as it is; each says when its differences show', () => {
    for (const name of ['clock', 'env', 'hostname', 'cpus'] as const) expect(copyRuleOf(name)).toBeUndefined();
    expect(describeVariation('umask').when).toBe('when file permissions in the context change');
    expect(describeVariation('cpus').when).toBe('when the number of CPUs changes');
  });
});
