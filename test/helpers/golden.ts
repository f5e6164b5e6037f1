/**
 * Goldens live in golden/ and change only on purpose: UPDATE_GOLDEN=1 (re)writes them (refused under
 * CI=true); a missing golden fails under CI=true and skips the check otherwise, saying so.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const inCi = process.env.CI === 'true' || process.env.CI === '1';

/**
 * The golden text at golden/<relativePath>, to compare with `actual`. Returns `actual` itself when the
 * golden was just written, or when it is missing outside CI (after calling `skip`).
 */
export async function checkGolden(relativePath: string, actual: string, skip: (note: string) => void): Promise<string> {
  const path = join(repoRoot, 'golden', relativePath);
  if (process.env.UPDATE_GOLDEN === '1') {
    if (inCi) throw new Error('UPDATE_GOLDEN=1 with CI=true: goldens are updated on purpose, locally');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, actual);
    return actual;
  }
  if (!existsSync(path)) {
    if (inCi) throw new Error(`golden ${path} is missing; run the test with UPDATE_GOLDEN=1 to create it`);
    skip(`golden ${relativePath} missing; run with UPDATE_GOLDEN=1`);
    return actual;
  }
  return readFile(path, 'utf8');
}

/** checkGolden for JSON data: stored pretty-printed with a final newline, compared as data. */
export async function checkGoldenJson<T>(relativePath: string, actual: T, skip: (note: string) => void): Promise<T> {
  const text = await checkGolden(relativePath, `${JSON.stringify(actual, null, 2)}\n`, skip);
  return JSON.parse(text) as T;
}
