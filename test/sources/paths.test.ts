/**
 * sources/paths.ts: the paths image documents and archives name. A member path is spelled one way and
 * never leaves the archive; a path from manifest.json and a blob digest are refused (exit 3) before any
 * file is opened when they would.
 */
import { describe, expect, it } from 'vitest';
import { blobPath, normalizeMemberPath, safeArchivePath } from '../../src/sources/paths.js';
import { thrownError } from '../helpers/errors.js';

const hex = 'a'.repeat(64);

describe('normalizeMemberPath', () => {
  it.each([
    ['a/b', 'a/b'],
    ['./a//b/', 'a/b'],
    ['/abs/x', 'abs/x'],
    ['a/./b/../c', 'a/c'],
    ['.', ''],
  ])('%j -> %j', (raw, normalized) => {
    expect(normalizeMemberPath(raw)).toBe(normalized);
  });

  it.each(['..', '../x', 'a/../../x', '/../x'])('%j leaves the archive: undefined', (raw) => {
    expect(normalizeMemberPath(raw)).toBeUndefined();
  });
});

describe('safeArchivePath', () => {
  it('keeps a relative path inside the archive, normalized', () => {
    expect(safeArchivePath(`./${hex}/layer.tar`, 'layer 0')).toBe(`${hex}/layer.tar`);
  });

  it.each([['/etc/passwd'], ['../x'], ['a/../../x'], ['a/../b'], ['a\\b'], ['a\0b'], ['.'], ['']])('refuses %j (exit 3, naming what)', (raw) => {
    const error = thrownError(() => safeArchivePath(raw, 'manifest.json layer 1'));
    expect(error.exitCode).toBe(3);
    expect(error.message.startsWith('manifest.json layer 1: ')).toBe(true);
  });

  it('refuses what is not a string', () => {
    expect(thrownError(() => safeArchivePath(7, 'Config')).message).toBe('Config: expected a path, got 7');
  });
});

describe('blobPath', () => {
  it('is blobs/<algorithm>/<hex> for a valid digest', () => {
    expect(blobPath(`sha256:${hex}`, 'config')).toBe(`blobs/sha256/${hex}`);
  });

  it.each(['sha256:../../etc/passwd', `sha256:${hex}/x`, 'sha256:', 'nope'])('refuses %j before it names a file', (digest) => {
    expect(thrownError(() => blobPath(digest, 'config')).exitCode).toBe(3);
  });
});
