/**
 * The causes of files that installers and build tools write (fontconfig caches, SSH host keys, npm's
 * hidden lockfile, apk and rpm databases, archives made in a RUN step, ...), end to end through
 * verify: for each, two images built in code that differ in that file (and in a near-miss file) name
 * the file's cause with its fix, and the near-miss file is not named by it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCauseEntry } from '../../src/causes/catalogue.js';
import { matchCause } from '../../src/causes/match.js';
import type { Difference } from '../../src/diff/model.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { verifyImages } from '../../src/app/verify.js';
import { TempDir } from '../helpers/images.js';
import { buildFixture, writeInForm, type FixtureSpec } from '../helpers/noise.js';
import type { TestEntry } from '../helpers/tar.js';
import { type CauseFile, causeFiles } from './file-causes.js';

const mtime = new Date('2024-01-15T08:00:00Z');
const files: CauseFile[] = await causeFiles();
let dir: TempDir;

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-new-causes-');
});
afterAll(async () => dir?.remove());

/** A base layer and a RUN layer holding the cause's file and the near-miss file, as build A or B made them. */
function spec(file: CauseFile, side: 'a' | 'b'): FixtureSpec {
  const entries: TestEntry[] = [
    { name: file.path, content: file[side], mtime },
    { name: file.nearMiss, content: side === 'a' ? 'one\n' : 'two\n', mtime },
  ];
  return {
    layers: [
      { entries: [{ name: 'etc/os-release', content: 'ID=example\n', mtime }], createdBy: '/bin/sh -c #(nop) ADD file:0a1b2c3d4e5f6a7b in / ' },
      { entries, createdBy: `/bin/sh -c install-things # writes /${file.path}` },
    ],
  };
}

const remainingOf = (differences: readonly Difference[], path: string) =>
  differences.filter((difference) => difference.file === path && !difference.neutralized && difference.attribute !== 'mtime');

describe('causes of files that tools write during the build, on image pairs built in code', () => {
  it.each(files.map((file) => [file.cause, file.path, file.nearMiss, file] as const))(
    '%s: %s is named with its fix, the near miss %s is not',
    async (cause, _path, _nearMiss, file) => {
      const refA = await writeInForm(dir, `${cause}-a`, await buildFixture(spec(file, 'a')), 'oci-archive');
      const refB = await writeInForm(dir, `${cause}-b`, await buildFixture(spec(file, 'b')), 'oci-archive');
      const report = await verifyImages({ a: refA, b: refB, normalize: defaultNormalizeOptions });
      const entry = findCauseEntry(cause)!;
      expect(entry, cause).toBeDefined();

      const named = remainingOf(report.differences, file.path);
      expect(named.length, `differences of ${file.path}`).toBeGreaterThan(0);
      for (const difference of named) {
        expect(difference.cause).toEqual({ id: cause, title: entry.title });
        expect(difference.hint).toBe(entry.fix);
      }
      const nearMiss = remainingOf(report.differences, file.nearMiss);
      expect(nearMiss.length, `differences of ${file.nearMiss}`).toBeGreaterThan(0);
      for (const difference of nearMiss) expect(difference.cause?.id ?? null).not.toBe(cause);
      expect(report.verdict).toBe('not-reproducible');
    },
  );
});

describe('order: specific entries first, the existing generic ones keep their files', () => {
  const content = (file: string): Difference => ({
    kind: 'file-attribute',
    path: `layers/1/${file}#content`,
    layer: 1,
    file,
    attribute: 'content',
    a: `sha256:${'a'.repeat(64)}`,
    b: `sha256:${'b'.repeat(64)}`,
    neutralized: false,
    cause: null,
  });

  it.each([
    // tmp-files and log-files keep archives that sit under them.
    ['tmp/build/assets.tar.gz', 'tmp-files'],
    ['var/tmp/app.jar', 'tmp-files'],
    ['var/log/app.log.1.gz', 'log-files'],
    ['var/log/apt/history.log.1.gz', 'apt-logs'],
    // Caches keep the archives they hold.
    ['var/cache/apk/APKINDEX.d8b2a6f4.tar.gz', 'apk-cache'],
    ['root/.cache/pip/wheels/ab/cd/app-1.0-py3-none-any.whl', 'pip-cache'],
    ['root/.m2/repository/org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.jar', 'jvm-build-cache'],
    ['root/.yarn/berry/cache/lodash-npm-4.17.21-6382451519-10c0.zip', 'yarn-cache'],
    ['root/go/pkg/mod/cache/download/golang.org/x/sys/@v/v0.15.0.zip', 'go-build-cache'],
    ['var/cache/apt/archives/python3_3.11.2-1+b1_amd64.deb', 'apt-cache'],
    ['root/.npm/_cacache/content-v2/sha512/ab/cd/ef', 'npm-cache'],
    // A gzip'd man page is a doc before it is an archive; a jar and a wheel before any zip.
    ['usr/share/man/man1/myapp.1.gz', 'gzip-docs'],
    ['usr/share/doc/myapp/changelog.Debian.gz', 'gzip-docs'],
    ['opt/app/lib/app.jar', 'java-archive'],
    ['opt/dist/app-1.0-py3-none-any.whl', 'python-archive'],
    ['opt/app/data.tar.gz', 'build-archive'],
    ['lib/apk/db/scripts.tar', 'apk-scripts'],
    ['var/lib/dbus/machine-id', 'machine-id'],
    ['etc/machine-id', 'machine-id'],
  ])('%s: %s', (file, cause) => {
    expect(matchCause(content(file))?.id).toBe(cause);
  });

  it.each([
    'etc/ssh/sshd_config',
    'root/.ssh/id_ed25519',
    'usr/src/app/package-lock.json',
    'root/.yarnrc',
    'root/.yarn/bin/serve',
    'etc/apk/repositories',
    'usr/lib/rpm/macros',
    'opt/app/archive.txt',
    'opt/app/zipcode.json',
    'opt/app/app.jar.sha1',
    'usr/lib/python3/site-packages/app-1.0.dist-info/RECORD',
    'usr/share/man/man1/myapp.1',
    'usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
    'etc/hostid',
  ])('%s has no known cause', (file) => {
    expect(matchCause(content(file))).toBeNull();
  });

  it('a file time is still file-mtime, whose fix covers every file', () => {
    const mtime: Difference = {
      kind: 'file-attribute',
      path: 'layers/1/opt/app/app.jar#mtime',
      layer: 1,
      file: 'opt/app/app.jar',
      attribute: 'mtime',
      a: 1,
      b: 2,
      neutralized: false,
      cause: null,
    };
    expect(matchCause(mtime)?.id).toBe('file-mtime');
  });

  it('the SSH host key cause says it is a security problem too', () => {
    expect(findCauseEntry('ssh-host-keys')?.title).toContain('security');
    expect(findCauseEntry('ssh-host-keys')?.fix).toContain('ssh-keygen -A');
  });
});
