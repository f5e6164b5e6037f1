/**
 * The registry of temp paths in use: staging directories beside a destination, the layer files of
 * `normalize --output`, a daemon export. Whoever creates one registers it and unregisters it once it
 * is committed or removed. The CLI removes what is still registered when a signal ends the run
 * (`removeTempPathsSync`); an ordinary exit does the same here, for a write that never got to clean up.
 *
 * This module never prints and never exits: that is the CLI's part. Spool files are not registered:
 * they are unlinked as soon as they are open (see normalize/spool.ts), so even SIGKILL leaves none.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeContext } from './errors.js';

const live = new Set<string>();
let exitHookInstalled = false;

/** Registers `path` (file or directory, existing or about to be made) for removal if the run ends early. */
export function trackTempPath(path: string): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', removeTempPathsSync);
  }
  live.add(path);
}

/** `path` was committed (renamed into place) or removed: no longer ours to remove. */
export function untrackTempPath(path: string): void {
  live.delete(path);
}

/** The paths registered now (for tests and diagnostics). */
export function trackedTempPaths(): string[] {
  return [...live];
}

/**
 * Removes every registered path, synchronously: a signal handler has no later turn of the event loop.
 * Best effort; returns the paths it could not remove.
 */
export function removeTempPathsSync(): string[] {
  const failed: string[] = [];
  for (const path of live) {
    try {
      // maxRetries: a write on the libuv pool may still add a file while the directory is emptied.
      rmSync(path, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 });
      live.delete(path);
    } catch {
      failed.push(path);
    }
  }
  return failed;
}

/**
 * A temp directory (`prefix` + random, under `parent`, default the OS temp dir) that `use` fills and
 * that is removed however `use` ends, and by the CLI if a signal ends the run.
 */
export async function withTempDirectory<T>(parent: string | undefined, prefix: string, use: (path: string) => Promise<T>): Promise<T> {
  const where = parent ?? tmpdir();
  let path: string;
  try {
    path = await mkdtemp(join(where, prefix));
  } catch (error) {
    throw writeContext(`cannot create a temp directory in ${where}`, error);
  }
  trackTempPath(path);
  try {
    return await use(path);
  } finally {
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
    untrackTempPath(path);
  }
}
