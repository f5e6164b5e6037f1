/**
 * Variations of a build, one at a time against a baseline, so each difference is attributed to what
 * triggers it. A variation that changes the context makes a varied copy of it in a temp directory
 * (registered in temp-files.ts, so a signal removes it); the original context is never touched.
 */
import { chmod, copyFile, lchown, lstat, mkdir, mkdtemp, readdir, readlink, rm, symlink, utimes, lutimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { usageError, writeContext } from '../errors.js';
import { trackTempPath, untrackTempPath } from '../temp-files.js';

export const variationNames = ['clock', 'mtimes', 'umask', 'order', 'env', 'hostname', 'cpus'] as const;
export type VariationName = (typeof variationNames)[number];
export const defaultVariations: readonly VariationName[] = ['clock', 'mtimes', 'umask', 'order'];

/** Seconds every mtime moves under `mtimes`: a day and a second, so no rounding hides it. */
export const mtimeShift = 86_401;

export interface VariationInfo {
  name: VariationName;
  /** What it changes, for the report. */
  description: string;
  /** When a difference it produces shows, for the report: "when file permissions in the context change". */
  when: string;
}

const infos: Record<VariationName, VariationInfo> = {
  clock: { name: 'clock', description: 'the same context built again, later', when: 'when the clock moves (every build)' },
  mtimes: { name: 'mtimes', description: `every file time of the context moved by ${mtimeShift} s`, when: 'when file times in the context change' },
  umask: {
    name: 'umask',
    description: 'the context with group-writable permissions, as a checkout under umask 002 gives',
    when: 'when file permissions in the context change',
  },
  order: {
    name: 'order',
    description: 'the context copied creating its files in reverse order (readdir order)',
    when: 'when the order the filesystem lists the context in changes',
  },
  env: { name: 'env', description: 'TZ and LANG/LC_ALL changed in RUN steps', when: 'when the time zone or locale changes' },
  hostname: { name: 'hostname', description: 'another hostname in RUN steps', when: 'when the build host is named differently' },
  cpus: { name: 'cpus', description: 'the builder held to one CPU', when: 'when the number of CPUs changes' },
};

export function describeVariation(name: VariationName): VariationInfo {
  return infos[name];
}

/** `clock,mtimes` -> the names, in the order given, each once; unknown names are a usage error. */
export function parseVariations(text: string): VariationName[] {
  const names: VariationName[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    if (!(variationNames as readonly string[]).includes(name)) {
      throw usageError(`--vary: unknown variation "${name}"`, { hint: `one or more of ${variationNames.join(', ')}` });
    }
    if (!names.includes(name as VariationName)) names.push(name as VariationName);
  }
  if (names.length === 0) throw usageError('--vary: no variation given', { hint: `one or more of ${variationNames.join(', ')}` });
  return names;
}

/** How a copy of the context differs from it. */
export interface CopyRule {
  /** The mode to give a file or directory (permission bits only). */
  mode(mode: number, isDirectory: boolean): number;
  mtime(seconds: number): number;
  /** Create the entries of each directory in reverse name order. */
  reverse: boolean;
}

const asIs: CopyRule = { mode: (m) => m, mtime: (t) => t, reverse: false };

/** The copy rule of a variation; undefined when it builds the context as it is (clock, and those that vary the builder). */
export function copyRuleOf(name: VariationName): CopyRule | undefined {
  switch (name) {
    case 'mtimes':
      return { ...asIs, mtime: (t) => t + mtimeShift };
    case 'umask':
      // umask 002 instead of 022: group write wherever the owner may write.
      return { ...asIs, mode: (m) => (m & 0o200 ? m | 0o020 : m) };
    case 'order':
      return { ...asIs, reverse: true };
    case 'clock':
    case 'env':
    case 'hostname':
    case 'cpus':
      return undefined;
  }
}

export interface VariedContext {
  /** The varied copy's root. */
  context: string;
  /** Removes the copy. */
  remove(): Promise<void>;
}

/**
 * Copies `context` under a new temp directory (in `parent`, default the OS temp dir) with `rule`
 * applied: files, directories and symlinks keep their modes, times and (as root) owners except where
 * the rule changes them.
 */
export async function copyContext(context: string, rule: CopyRule, parent: string = tmpdir()): Promise<VariedContext> {
  let dir: string;
  try {
    dir = await mkdtemp(join(parent, 'oci-repro-context-'));
  } catch (error) {
    throw writeContext(`cannot create a temp directory in ${parent}`, error);
  }
  trackTempPath(dir);
  const remove = async () => {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    untrackTempPath(dir);
  };
  try {
    const root = join(dir, 'context');
    await copyTree(context, root, rule);
    return { context: root, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

const asRoot = process.getuid?.() === 0;

async function copyTree(from: string, to: string, rule: CopyRule): Promise<void> {
  const stat = await lstat(from);
  await mkdir(to);
  const names = (await readdir(from)).sort();
  if (rule.reverse) names.reverse();
  for (const name of names) {
    const source = join(from, name);
    const target = join(to, name);
    const entry = await lstat(source);
    if (entry.isDirectory()) {
      await copyTree(source, target, rule);
    } else if (entry.isSymbolicLink()) {
      await symlink(await readlink(source), target);
      if (asRoot) await lchown(target, entry.uid, entry.gid);
      await lutimes(target, entry.atime, rule.mtime(entry.mtimeMs / 1000));
    } else if (entry.isFile()) {
      await copyFile(source, target);
      if (asRoot) await lchown(target, entry.uid, entry.gid);
      await chmod(target, rule.mode(entry.mode & 0o7777, false));
      await utimes(target, entry.atime, rule.mtime(entry.mtimeMs / 1000));
    }
    // Sockets, fifos and devices are not build context: builders refuse or skip them too.
  }
  if (asRoot) await lchown(to, stat.uid, stat.gid);
  await chmod(to, rule.mode(stat.mode & 0o7777, true));
  // Last: creating entries inside a directory resets its mtime.
  await utimes(to, stat.atime, rule.mtime(stat.mtimeMs / 1000));
}
