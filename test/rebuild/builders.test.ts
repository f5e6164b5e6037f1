/**
 * The builder adapters' command lines and lookup, without running a build (the real builds are in
 * rebuild-cli.test.ts).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getBuilder, locateExecutable } from '../../src/rebuild/builders.js';
import { cleanupTempDirs, makeTempDir } from '../helpers/real-tools.js';

afterAll(cleanupTempDirs);

const request = { context: '/ctx', dockerfile: '/ctx/Dockerfile', output: '/work/clock.tar', logFile: '/work/clock.log', extraArgs: ['--isolation=chroot'] };

describe('builder command lines', () => {
  it('buildah: bud, no cache, the user arguments, straight into an OCI archive', () => {
    expect(getBuilder('buildah').buildArgs(request)).toEqual([
      'bud', '--no-cache', '--isolation=chroot', '-f', '/ctx/Dockerfile', '-t', 'oci-archive:/work/clock.tar', '/ctx',
    ]);
  });
  it('podman: build with the same flags', () => {
    expect(getBuilder('podman').buildArgs(request)).toEqual([
      'build', '--no-cache', '--isolation=chroot', '-f', '/ctx/Dockerfile', '-t', 'oci-archive:/work/clock.tar', '/ctx',
    ]);
  });
});

describe('locateExecutable', () => {
  it('finds an executable on the given PATH only, and not a file without the execute bit', async () => {
    const dir = await makeTempDir('oci-repro-test-path-');
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'buildah'), '#!/bin/sh\n');
    await writeFile(join(bin, 'podman'), '');
    await chmod(join(bin, 'buildah'), 0o755);
    expect(locateExecutable('buildah', { PATH: `${dir}:${bin}` })).toBe(join(bin, 'buildah'));
    expect(locateExecutable('podman', { PATH: bin })).toBeUndefined();
    expect(getBuilder('buildah').locate({ PATH: dir })).toBeUndefined();
  });
});
