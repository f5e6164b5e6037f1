/**
 * Golden canonical digests: a named set of images built in code, plus the bundled example pair, each
 * mapped to its canonical digest and per-layer canonical diff_ids in golden/canonical-digests.json.
 * Any change to the canonical form (tar headers, ordering, config canonicalization, a rule's effect)
 * changes these digests and fails CI; update the golden with UPDATE_GOLDEN=1 only on purpose.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeImage } from '../../src/app/normalize.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { checkGoldenJson } from '../helpers/golden.js';
import { TempDir } from '../helpers/images.js';
import { buildFixture, writeInForm, type FixtureSpec, type InputForm } from '../helpers/noise.js';
import { shuffled, withOwnerNames, type TestEntry } from '../helpers/tar.js';

const mtimeA = new Date('2021-03-04T05:06:07Z');
const mtimeB = new Date('2024-05-06T07:08:09Z');
const capability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const deepDir = `opt/${'deeply-nested-directory/'.repeat(5)}`;

/** Noise every fixture carries, so the goldens also pin what the rules make of it. */
const noisy = (entries: TestEntry[], seed: number) => shuffled(withOwnerNames(entries), seed);

interface GoldenFixture {
  spec: FixtureSpec;
  form: InputForm;
}

const fixtures: Record<string, GoldenFixture> = {
  'plain-files-and-dirs': {
    form: 'oci-archive',
    spec: {
      layers: [
        {
          entries: noisy(
            [
              { name: 'etc/', type: 'directory', mtime: mtimeA },
              { name: 'etc/motd', content: 'hello\n', mtime: mtimeB },
              { name: 'etc/shadow', content: 'root:*:19000::::::\n', mode: 0o640, gid: 42 },
              { name: 'srv/', type: 'directory', mode: 0o1777 },
              { name: 'srv/data.bin', content: Buffer.alloc(5000, 0xab), uid: 1000, gid: 1000 },
              { name: 'srv/empty', content: '' },
              { name: 'usr/', type: 'directory' },
              { name: 'usr/bin/', type: 'directory' },
              { name: 'usr/bin/run', content: '#!/bin/sh\nexec "$@"\n', mode: 0o755, mtime: mtimeB },
              { name: 'dev/', type: 'directory' },
              { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
              { name: 'run/fifo', type: 'fifo', mode: 0o600 },
            ],
            1,
          ),
        },
      ],
    },
  },
  hardlinks: {
    form: 'oci-archive',
    spec: {
      layers: [
        {
          entries: [
            { name: 'bin/', type: 'directory' },
            // The carrier sorts last: the canonical tar makes bin/a the carrier.
            { name: 'bin/z-busybox', content: Buffer.alloc(4096, 0x42), mode: 0o755 },
            { name: 'bin/a', type: 'link', linkname: 'bin/z-busybox' },
            { name: 'bin/m', type: 'link', linkname: 'bin/z-busybox' },
            { name: 'lib/', type: 'directory' },
            { name: 'lib/libc.so', content: 'libc' },
            { name: 'lib/libc.so.6', type: 'link', linkname: 'lib/libc.so' },
          ],
        },
      ],
    },
  },
  'whiteouts-and-opaque': {
    form: 'oci-archive',
    spec: {
      layers: [
        {
          entries: [
            { name: 'app/', type: 'directory' },
            { name: 'app/old.conf', content: 'old' },
            { name: 'app/cache/', type: 'directory' },
            { name: 'app/cache/item', content: 'item' },
          ],
        },
        {
          entries: noisy(
            [
              { name: 'app/', type: 'directory', mtime: mtimeB },
              { name: 'app/.wh.old.conf', content: '', mtime: mtimeB },
              { name: 'app/cache/', type: 'directory', mtime: mtimeB },
              { name: 'app/cache/.wh..wh..opq', content: '', mtime: mtimeB },
              { name: 'app/cache/new', content: 'new', mtime: mtimeB },
            ],
            2,
          ),
        },
      ],
    },
  },
  xattrs: {
    form: 'oci-archive',
    spec: {
      layers: [
        {
          entries: [
            { name: 'usr/', type: 'directory' },
            { name: 'usr/bin/', type: 'directory' },
            { name: 'usr/bin/ping', content: 'ping', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': capability } },
            { name: 'usr/bin/tagged', content: 'tagged', pax: { 'SCHILY.xattr.user.origin': 'build', 'SCHILY.xattr.user.a': '1' } },
          ],
        },
      ],
    },
  },
  'long-names-gnu': {
    form: 'oci-archive',
    spec: {
      layers: [
        {
          dialect: 'gnu',
          entries: [
            { name: 'opt/', type: 'directory' },
            { name: deepDir, type: 'directory' },
            { name: `${deepDir}${'f'.repeat(60)}.txt`, content: 'over 100 bytes' },
            { name: `${deepDir}${'g'.repeat(200)}.txt`, content: 'over 256 bytes' },
            { name: 'opt/long-symlink', type: 'symlink', linkname: `/${deepDir}${'g'.repeat(200)}.txt` },
            { name: 'opt/long-hardlink', type: 'link', linkname: `${deepDir}${'f'.repeat(60)}.txt` },
          ],
        },
      ],
    },
  },
  symlinks: {
    form: 'oci-archive',
    spec: {
      layers: [
        {
          entries: noisy(
            [
              { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
              { name: 'etc/', type: 'directory' },
              { name: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/UTC' },
              { name: 'etc/dangling', type: 'symlink', linkname: '../nowhere' },
              { name: 'usr/', type: 'directory' },
              { name: 'usr/bin/', type: 'directory' },
              { name: 'usr/bin/sh', type: 'symlink', linkname: 'busybox' },
            ],
            3,
          ),
        },
      ],
    },
  },
  'layers-with-empty-history': {
    form: 'oci directory',
    spec: {
      packing: { kind: 'zstd' },
      layers: [
        { entries: [{ name: 'a', content: 'first' }], createdBy: 'COPY a /' },
        { entries: [{ name: 'b', content: 'second', mtime: mtimeB }], createdBy: 'COPY b /' },
        { entries: [{ name: 'a', content: 'third' }], createdBy: 'RUN echo third > /a' },
      ],
      emptyHistoryBefore: { 0: ['ARG V=1'], 1: ['ENV A=1', 'WORKDIR /'], 2: ['USER 1000'] },
      created: '2025-01-02T03:04:05.123456789Z',
    },
  },
  'docker-config': {
    form: 'docker-archive (legacy)',
    spec: {
      mediaTypes: 'docker',
      layers: [{ entries: [{ name: 'hello', content: 'hello\n' }], createdBy: '/bin/sh -c #(nop) COPY file:abc in /hello ' }],
      emptyHistoryBefore: { 0: ['/bin/sh -c #(nop) LABEL org.opencontainers.image.created=2024-01-01T00:00:00Z'] },
      editConfig: (config) => {
        const runConfig = {
          Hostname: '1fbe67008cca',
          Domainname: '',
          User: '',
          AttachStdin: false,
          Tty: false,
          Env: ['PATH=/usr/bin:/bin'],
          Cmd: ['/hello'],
          Healthcheck: { Test: ['CMD', '/hello'], Interval: 30000000000 },
          Image: 'sha256:1111111111111111111111111111111111111111111111111111111111111111',
          Volumes: { '/data': {} },
          ExposedPorts: { '8080/tcp': {} },
          WorkingDir: '/',
          Entrypoint: null,
          OnBuild: [],
          Shell: ['/bin/sh', '-c'],
          Labels: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', maintainer: 'me' },
        };
        config.container = 'c12fdf856db7ae8e2eec23dda93ab3d13acad10f9c57c4e9470423307b770fda';
        config.container_config = { ...runConfig, Cmd: ['/bin/sh', '-c', '#(nop) ', 'CMD ["/hello"]'] };
        config.config = runConfig;
        config.docker_version = '24.0.7';
        config.parent = 'sha256:8cd36f0dd5cc06ef8ba3699d9f143cddf98a2397f0aecf54e80f8d58f2e56d98';
        config.history[1].comment = 'FROM 561cd65be29c';
      },
    },
  },
};

const examples = ['build-a.tar', 'build-b.tar'] as const;

interface DigestRecord {
  canonicalDigest: string;
  canonicalDiffIds: string[];
}

interface GoldenFile {
  comment: string;
  fixtures: Record<string, DigestRecord>;
  examples: Record<string, DigestRecord>;
}

let dir: TempDir;
const rawImageIds = new Map<string, string>();
let actual: GoldenFile;

async function canonicalOf(source: string, name: string): Promise<DigestRecord> {
  const result = await normalizeImage({ source, normalize: defaultNormalizeOptions });
  rawImageIds.set(name, result.imageId);
  return { canonicalDigest: result.canonicalDigest, canonicalDiffIds: result.layers.map((layer) => layer.canonicalDiffId) };
}

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-golden-');
  const fixtureRecords = await Promise.all(
    Object.entries(fixtures).map(async ([name, { spec, form }]) => {
      const image = await buildFixture(spec);
      return [name, await canonicalOf(await writeInForm(dir, name, image, form), name)] as const;
    }),
  );
  const exampleRecords = await Promise.all(
    examples.map(async (name) => [name, await canonicalOf(`docker-archive:${fileURLToPath(new URL(`../../examples/${name}`, import.meta.url))}`, name)] as const),
  );
  actual = {
    comment:
      'Canonical digests (default options: epoch 0, set) of the images built in test/normalize/golden-digests.test.ts and of examples/. Change only on purpose: UPDATE_GOLDEN=1.',
    fixtures: Object.fromEntries(fixtureRecords),
    examples: Object.fromEntries(exampleRecords),
  };
});
afterAll(async () => dir?.remove());

describe('golden canonical digests', () => {
  it('match golden/canonical-digests.json', async ({ skip }) => {
    const golden = await checkGoldenJson('canonical-digests.json', actual, skip);
    expect(actual).toEqual(golden);
  });

  it('the two example builds differ raw and share one canonical digest', () => {
    expect(rawImageIds.get('build-a.tar')).not.toBe(rawImageIds.get('build-b.tar'));
    expect(actual.examples['build-a.tar']).toEqual(actual.examples['build-b.tar']);
  });

  it('every fixture is its own image, and none was canonical already', () => {
    const digests = Object.values(actual.fixtures).map((record) => record.canonicalDigest);
    expect(new Set(digests).size).toBe(digests.length);
    for (const [name, record] of Object.entries(actual.fixtures)) {
      expect(record.canonicalDigest, name).not.toBe(rawImageIds.get(name));
      expect(record.canonicalDiffIds.length, name).toBe(fixtures[name].spec.layers.length);
    }
  });
});
