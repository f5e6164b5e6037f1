/**
 * The builder adapters' command lines and lookup, without running a build (the real builds are in
 * rebuild-cli.test.ts).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { budArgs, getBuilder, locateExecutable, parseStep } from '../../src/rebuild/builders.js';
import { cleanupTempDirs, makeTempDir } from '../helpers/real-tools.js';

afterAll(cleanupTempDirs);

const request = { context: '/ctx', dockerfile: '/ctx/Dockerfile', output: '/work/clock.tar', logFile: '/work/clock.log', extraArgs: ['--isolation=chroot'] };

describe('builder command lines', () => {
  it('buildah: bud, no cache, the user arguments, straight into an OCI archive', () => {
    expect(budArgs('bud', request)).toEqual([
      'bud', '--no-cache', '--isolation=chroot', '-f', '/ctx/Dockerfile', '-t', 'oci-archive:/work/clock.tar', '/ctx',
    ]);
  });
  it('podman: build with the same flags', () => {
    expect(budArgs('build', request)).toEqual([
      'build', '--no-cache', '--isolation=chroot', '-f', '/ctx/Dockerfile', '-t', 'oci-archive:/work/clock.tar', '/ctx',
    ]);
  });
});

describe('--platform and the unsupported variations', () => {
  it('--platform goes before the user arguments', () => {
    expect(budArgs('bud', { ...request, platform: 'linux/arm64' }).slice(0, 4)).toEqual(['bud', '--no-cache', '--platform', 'linux/arm64']);
  });
  it('env and hostname are unsupported with a reason for every builder; the others are supported by buildah', () => {
    for (const name of ['buildah', 'podman', 'docker'] as const) {
      expect(getBuilder(name).unsupported('env')).toMatch(/RUN steps/);
      expect(getBuilder(name).unsupported('hostname')).toMatch(/hostname/);
    }
    for (const variation of ['clock', 'mtimes', 'umask', 'order'] as const) expect(getBuilder('buildah').unsupported(variation)).toBeUndefined();
  });
  it('cpus needs taskset on PATH for buildah', () => {
    expect(getBuilder('buildah').unsupported('cpus', { PATH: '/nonexistent' })).toMatch(/taskset/);
  });
});

describe('parseStep: the step a builder says it runs', () => {
  it('reads buildah/podman, classic docker and BuildKit plain progress lines, and nothing else', () => {
    expect(parseStep('STEP 2/3: COPY hello.txt /hello.txt')).toBe('STEP 2/3: COPY hello.txt /hello.txt');
    expect(parseStep('Step 2/3 : COPY hello.txt /hello.txt')).toBe('STEP 2/3: COPY hello.txt /hello.txt');
    expect(parseStep('#6 [2/3] COPY hello.txt /hello.txt')).toBe('STEP 2/3: COPY hello.txt /hello.txt');
    expect(parseStep('#6 [stage-1 2/3] RUN make')).toBe('STEP 2/3: RUN make');
    expect(parseStep('#6 DONE 0.1s')).toBeUndefined();
    expect(parseStep('COMMIT oci-archive:/x.tar')).toBeUndefined();
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
