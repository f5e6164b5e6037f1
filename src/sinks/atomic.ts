/**
 * All-or-nothing output. Everything is written under a temp path beside the destination
 * (`DEST.tmp-<random>`, so on the same filesystem and renameable), every file is fsynced, and the temp
 * path is renamed onto the destination only when complete. On any error the temp path is removed, so a
 * reader never sees a half-written image and nothing is left beside the destination.
 *
 * Existing destinations: an empty directory is simply replaced. Anything else is refused unless
 * `overwrite` is set, and even then only a regular file (for archives) or an OCI image layout (for
 * directories) is replaced, never some other directory (a mistyped `--output .` must not delete a
 * project). An existing layout is replaced whole, never merged into.
 *
 * The temp path is registered with temp-files.ts while it exists, so the CLI removes it when a signal
 * ends the run; only SIGKILL can leave one behind. A write the environment refuses (disk full,
 * read-only, permission) is an IO error (exit 74) naming the destination.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, link, lstat, mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { OciReproError, usageError, withContext, writeContext } from '../errors.js';
import { trackTempPath, untrackTempPath } from '../temp-files.js';

export type OutputKind = 'file' | 'directory';

/** The temp path a write of `dest` uses: beside it, so the final rename stays on one filesystem. */
export function tempPathFor(dest: string): string {
  return `${dest}.tmp-${randomBytes(6).toString('hex')}`;
}

function existsError(dest: string, what: string, canOverwrite: boolean) {
  return usageError(`${dest}: destination exists (${what})`, {
    hint: canOverwrite
      ? 'choose another path, or replace it with --overwrite; oci-repro never merges into an existing image'
      : 'choose another path; oci-repro only replaces an image it could have written',
  });
}

/** Fails early, before any work, when the destination cannot (or may not) be written. */
export async function checkDestination(dest: string, kind: OutputKind, overwrite: boolean): Promise<void> {
  let info;
  try {
    info = await lstat(dest);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw withContext(dest, error);
    const parent = dirname(dest);
    const parentInfo = await stat(parent).catch(() => undefined);
    if (!parentInfo?.isDirectory()) {
      throw usageError(`${dest}: parent directory ${parent} does not exist`, { hint: 'create it first' });
    }
    await checkWritable(dest, parent);
    return;
  }
  if (kind === 'file') {
    if (info.isDirectory()) throw existsError(dest, 'a directory, not an archive', false);
    if (!overwrite) throw existsError(dest, 'a file', true);
  } else {
    if (!info.isDirectory()) throw existsError(dest, 'not a directory', false);
    const names = await readdir(dest);
    if (names.length > 0 && !names.includes('oci-layout')) throw existsError(dest, 'a directory that is not an OCI image layout', false);
    if (names.length > 0 && !overwrite) throw existsError(dest, 'an OCI image layout', true);
  }
  // Replacing, too, makes a temp path in the parent and renames it there.
  await checkWritable(dest, dirname(dest));
}

/** The temp path and the rename need the parent writable: say so before any work (EROFS even for root). */
async function checkWritable(dest: string, parent: string): Promise<void> {
  try {
    await access(parent, constants.W_OK);
  } catch (error) {
    throw writeContext(`cannot write ${dest}`, error);
  }
}

/** fsync of a directory, so a rename or a new entry in it survives a crash. */
export async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (error) {
    // Some filesystems cannot fsync a directory; the data files themselves were synced.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EISDIR' && code !== 'ENOTSUP') throw error;
  } finally {
    await handle?.close();
  }
}

/**
 * Writes `dest` through `fill(temp)`: for kind 'directory' temp is an empty directory to fill, for
 * 'file' a path `fill` must create. Checks the destination first, then commits with a rename.
 */
export async function writeAtomically(
  destination: string,
  kind: OutputKind,
  overwrite: boolean,
  fill: (temp: string) => Promise<void>,
): Promise<void> {
  // Absolute, so that `.` or `dir/` still get a temp path beside them rather than inside.
  const dest = resolve(destination);
  await checkDestination(dest, kind, overwrite);
  const temp = tempPathFor(dest);
  trackTempPath(temp);
  try {
    if (kind === 'directory') await mkdir(temp, { mode: 0o755 });
    await fill(temp);
    if (kind === 'directory') await syncDirectory(temp);
    await commit(temp, dest, kind, overwrite);
    await syncDirectory(dirname(dest));
  } catch (error) {
    await rm(temp, { recursive: true, force: true, maxRetries: 3 });
    throw error instanceof OciReproError ? error : writeContext(`cannot write ${dest}`, error);
  } finally {
    untrackTempPath(temp);
  }
}

const noHardlinks = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

async function commit(temp: string, dest: string, kind: OutputKind, overwrite: boolean): Promise<void> {
  if (kind === 'file') {
    if (overwrite) {
      await rename(temp, dest);
      return;
    }
    // link() fails if dest appeared since the check: a no-clobber rename.
    try {
      await link(temp, dest);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') throw existsError(dest, 'created while writing', true);
      if (!noHardlinks.has(code)) throw withContext(dest, error);
      // A filesystem without hard links: check again and rename (a small race, reported if lost).
      await checkDestination(dest, kind, false);
      await rename(temp, dest);
      return;
    }
    await unlink(temp);
    return;
  }

  // rename(2) replaces an empty directory and fails on a non-empty one: the no-clobber case for free.
  try {
    await rename(temp, dest);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw withContext(dest, error);
    if (!overwrite) throw existsError(dest, 'created while writing', true);
  }
  // Replace an existing layout: move it aside, move ours in, then delete the old one. Between the two
  // renames DEST is briefly absent, never partial; if the second rename fails the old one is restored.
  await checkDestination(dest, kind, true);
  // The old layout is not tracked for removal at exit: until ours is in place it is the only copy.
  const aside = `${dest}.old-${randomBytes(6).toString('hex')}`;
  await rename(dest, aside);
  try {
    await rename(temp, dest);
  } catch (error) {
    await rename(aside, dest);
    throw withContext(dest, error);
  }
  await rm(aside, { recursive: true, force: true, maxRetries: 3 });
}
