/**
 * Image pairs for the end-to-end verify tests, built in code and written as docker-archive and
 * oci-archive files. Everything is fixed: every tar entry has an explicit mtime, layers are gzipped
 * with pako (pure JS, the same bytes on every machine, unlike zlib builds with CPU-specific code) and
 * an explicit gzip header, so the reports, and so the goldens, are the same on every machine.
 *
 * - identical: one image, as an oci-archive and as a legacy docker-archive (same image ID);
 * - reproducible: build noise only (created and history dates, hostname, mtimes, entry order, gzip header);
 * - not-reproducible: build noise plus volatile files, real content changes, a mode, an ENV, an unknown key;
 * - layer-count: the same files in two layers and squashed into one (compared flattened);
 * - many-mtimes: 45 files with other mtimes in B, one also with other content: more neutralized
 *   differences than a report lists (20 per layer and cause);
 * - scratch-docker, scratch-oci: real buildah FROM scratch builds without layers, checked in.
 */
import { copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzip as pakoGzip } from 'pako';
import { buildImage, legacyDockerArchiveFiles, modernDockerArchiveFiles, singleImageLayout, type LayerCompression, type TempDir } from '../helpers/images.js';
import { buildTar, shuffled, type TestEntry } from '../helpers/tar.js';

export const pairNames = ['identical', 'reproducible', 'not-reproducible', 'layer-count', 'many-mtimes', 'scratch-docker', 'scratch-oci'] as const;
export type PairName = (typeof pairNames)[number];

/** References to the two builds, relative to the directory the pairs were written to. */
export interface ImagePair {
  a: string;
  b: string;
}

const path = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const clockA = new Date('2024-03-01T10:00:00Z');
const clockB = new Date('2024-03-02T11:30:00Z');
const sourceTime = new Date('2024-01-15T08:00:00Z');

/**
 * A gzip compressor with a chosen header (RFC 1952: MTIME at bytes 4-7, OS at 9, FNAME after the
 * fixed 10 bytes); the default header (time 0, OS 3, no name) is what a deterministic builder writes.
 */
export function gzipWith(header: { time?: number; os?: number; name?: string } = {}) {
  return (tar: Buffer, compression: LayerCompression): Buffer => {
    if (compression !== 'gzip') return tar;
    const gzip = Buffer.from(pakoGzip(tar, { level: 6 }));
    gzip.writeUInt32LE(header.time ?? 0, 4);
    gzip[9] = header.os ?? 3;
    if (header.name === undefined) return gzip;
    gzip[3] = (gzip[3] ?? 0) | 0x08;
    return Buffer.concat([gzip.subarray(0, 10), Buffer.from(`${header.name}\0`, 'latin1'), gzip.subarray(10)]);
  };
}

const stamp = (entries: TestEntry[], mtime: Date): TestEntry[] => entries.map((entry) => ({ ...entry, mtime }));

/** A small base layer: the same tar in every build (only its compression may differ). */
function baseEntries(): TestEntry[] {
  return stamp(
    [
      { name: 'etc/' },
      { name: 'etc/os-release', content: 'PRETTY_NAME="Example Linux 1"\nID=example\n' },
      { name: 'usr/' },
      { name: 'usr/bin/' },
      { name: 'usr/bin/hello', content: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0]), mode: 0o755 },
    ],
    sourceTime,
  );
}

const baseLayerTar = () => buildTar(baseEntries());

/** The application files a COPY step adds. */
function appEntries(): TestEntry[] {
  return [
    { name: 'opt/' },
    { name: 'opt/app/' },
    { name: 'opt/app/app.conf', content: 'listen 8080\nworkers 4\nlog_level info\n' },
    { name: 'opt/app/package.json', content: '{\n  "name": "app",\n  "version": "1.0.0"\n}\n' },
    { name: 'opt/app/run.sh', content: '#!/bin/sh\nexec /usr/bin/hello "$@"\n', mode: 0o755 },
  ];
}

function configWith(created: string, hostname: string, env: string[] = [path], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    created,
    config: { Env: env, Hostname: hostname, Cmd: ['/opt/app/run.sh'] },
    ...extra,
  };
}

/** (a) One image, written as an oci-archive and as a legacy docker-archive. */
async function identicalPair(dir: TempDir): Promise<ImagePair> {
  const image = buildImage(
    {
      layers: [{ tar: await baseLayerTar(), createdBy: '/bin/sh -c #(nop) ADD file:0a1b2c3d in / ' }],
      config: configWith('2024-01-15T08:00:00Z', ''),
      created: '2024-01-15T08:00:00Z',
    },
    gzipWith(),
  );
  await dir.writeArchive('identical-a.tar', singleImageLayout(image));
  await dir.writeArchive('identical-b.tar', legacyDockerArchiveFiles(image, ['example/app:1.0']));
  return { a: 'oci-archive:identical-a.tar', b: 'docker-archive:identical-b.tar' };
}

/** (b) Two builds that differ only in build noise. A is an oci-archive, B a Docker 25+ docker save. */
async function reproduciblePair(dir: TempDir): Promise<ImagePair> {
  const base = await baseLayerTar();
  const build = async (clock: Date, order: (entries: TestEntry[]) => TestEntry[], hostname: string, gzipHeader: { time?: number; os?: number; name?: string }) =>
    buildImage(
      {
        layers: [
          { tar: base, createdBy: '/bin/sh -c #(nop) ADD file:0a1b2c3d in / ' },
          { tar: await buildTar(order(stamp(appEntries(), clock))), createdBy: '/bin/sh -c #(nop) COPY dir:9f8e7d6c in /opt/app ' },
        ],
        config: configWith(clock.toISOString(), hostname),
        created: clock.toISOString(),
      },
      gzipWith(gzipHeader),
    );
  const a = await build(clockA, (entries) => entries, 'buildhost-a', {});
  // B: another clock and host, entries in another order, gzip header with a time, OS and file name.
  const b = await build(clockB, (entries) => shuffled(entries, 7), 'buildhost-b', { time: 1709379000, os: 255, name: 'layer.tar' });
  await dir.writeArchive('reproducible-a.tar', singleImageLayout(a));
  await dir.writeArchive('reproducible-b.tar', modernDockerArchiveFiles(b, 'example/app:1.0'));
  return { a: 'oci-archive:reproducible-a.tar', b: 'docker-archive:reproducible-b.tar' };
}

/** A .pyc: magic, flags, source mtime, source size, then marshalled code (here: fixed bytes). */
function pyc(sourceMtime: number): Buffer {
  const header = Buffer.alloc(16);
  Buffer.from([0xa7, 0x0d, 0x0d, 0x0a]).copy(header, 0); // CPython 3.11 magic
  header.writeUInt32LE(0, 4);
  header.writeUInt32LE(sourceMtime, 8);
  header.writeUInt32LE(120, 12);
  return Buffer.concat([header, Buffer.from([0xe3, 0, 0, 0, 0, 0, 0, 0, 0x73, 0x04, 0, 0, 0, 0x64, 0x00, 0x53])]);
}

/** ldconfig's aux-cache records inode numbers and times: binary, different every build. */
function auxCache(seed: number): Buffer {
  const data = Buffer.alloc(48);
  Buffer.from('glibc-ld.so.cache1.1').copy(data, 0);
  data.writeUInt32LE(seed, 24);
  data.writeUInt32LE(seed * 3, 32);
  return data;
}

/** (c) Two builds with build noise and real differences; both oci-archives. */
async function notReproduciblePair(dir: TempDir): Promise<ImagePair> {
  const side = (which: 'a' | 'b') => {
    const isA = which === 'a';
    const clock = isA ? clockA : clockB;
    const system: TestEntry[] = [
      { name: 'etc/' },
      { name: 'etc/machine-id', content: isA ? '3f1c9a0d5b7e4c2a8f6d1e0b9c7a5d3e\n' : 'a8e2c4f6b0d94e1f9a3c5e7b1d2f4a6c\n', mode: 0o444 },
      { name: 'usr/' },
      { name: 'usr/lib/' },
      { name: 'usr/lib/python3/' },
      { name: 'usr/lib/python3/dist-packages/' },
      { name: 'usr/lib/python3/dist-packages/__pycache__/' },
      { name: 'usr/lib/python3/dist-packages/__pycache__/util.cpython-311.pyc', content: pyc(Math.floor(clock.getTime() / 1000)) },
      { name: 'usr/lib/python3/dist-packages/util.py', content: 'def greet(name):\n    return f"hello {name}"\n' },
      { name: 'var/' },
      { name: 'var/cache/' },
      { name: 'var/cache/ldconfig/' },
      { name: 'var/cache/ldconfig/aux-cache', content: auxCache(isA ? 1001 : 2002), mode: 0o600 },
      { name: 'var/log/' },
      { name: 'var/log/apt/' },
      {
        name: 'var/log/apt/history.log',
        content: `\nStart-Date: ${isA ? '2024-03-01  10:00:12' : '2024-03-02  11:30:09'}\nCommandline: apt-get install -y python3\nInstall: python3:amd64 (3.11.2-1+b1)\nEnd-Date: ${isA ? '2024-03-01  10:00:31' : '2024-03-02  11:30:27'}\n`,
      },
    ];
    const app: TestEntry[] = [
      { name: 'opt/' },
      { name: 'opt/app/' },
      { name: 'opt/app/app.conf', content: isA ? 'listen 8080\nworkers 4\nlog_level info\n' : 'listen 8080\nworkers 8\nlog_level info\n' },
      { name: 'opt/app/bin/' },
      { name: 'opt/app/bin/tool', content: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, isA ? 0x11 : 0x22, 0, 0, 0, 0, 0]), mode: 0o755 },
      {
        name: 'opt/app/package.json',
        content: isA ? '{\n  "name": "app",\n  "version": "1.0.0",\n  "private": true\n}\n' : '{\n  "name": "app",\n  "version": "1.0.1",\n  "private": true\n}\n',
      },
      // The checkout's umask: group write on one side.
      { name: 'opt/app/run.sh', content: '#!/bin/sh\nexec /opt/app/bin/tool "$@"\n', mode: isA ? 0o755 : 0o775 },
    ];
    return { clock, system, app };
  };
  const build = async (which: 'a' | 'b') => {
    const { clock, system, app } = side(which);
    return buildImage(
      {
        layers: [
          { tar: await buildTar(stamp(system, clock)), createdBy: '/bin/sh -c apt-get update && apt-get install -y python3' },
          { tar: await buildTar(stamp(app, clock)), createdBy: '/bin/sh -c #(nop) COPY dir:5e6f7a8b in /opt/app ' },
        ],
        config: configWith(clock.toISOString(), '', [path, which === 'a' ? 'APP_VERSION=1.0.0' : 'APP_VERSION=1.0.1'], which === 'b' ? { build_number: 4711 } : {}),
        created: clock.toISOString(),
      },
      gzipWith(),
    );
  };
  await dir.writeArchive('not-reproducible-a.tar', singleImageLayout(await build('a')));
  await dir.writeArchive('not-reproducible-b.tar', singleImageLayout(await build('b')));
  return { a: 'oci-archive:not-reproducible-a.tar', b: 'oci-archive:not-reproducible-b.tar' };
}

/** (d) The same application in two layers, and squashed into one with one file changed; legacy docker-archives. */
async function layerCountPair(dir: TempDir): Promise<ImagePair> {
  const base = await baseLayerTar();
  const app = stamp(appEntries(), sourceTime);
  const a = buildImage(
    {
      layers: [
        { tar: base, createdBy: '/bin/sh -c #(nop) ADD file:0a1b2c3d in / ' },
        { tar: await buildTar(app), createdBy: '/bin/sh -c #(nop) COPY dir:9f8e7d6c in /opt/app ' },
      ],
      config: configWith('2024-01-15T08:00:00Z', ''),
      created: '2024-01-15T08:00:00Z',
    },
    gzipWith(),
  );
  const squashedEntries = [
    ...baseEntries(),
    ...app.map((entry) => (entry.name === 'opt/app/app.conf' ? { ...entry, content: 'listen 9090\nworkers 4\nlog_level info\n' } : entry)),
  ];
  const b = buildImage(
    {
      layers: [{ tar: await buildTar(squashedEntries), createdBy: '/bin/sh -c #(nop) COPY dir:squashed in / ' }],
      config: configWith('2024-01-15T08:00:00Z', ''),
      created: '2024-01-15T08:00:00Z',
    },
    gzipWith(),
  );
  await dir.writeArchive('layer-count-a.tar', legacyDockerArchiveFiles(a, ['example/app:1.0']));
  await dir.writeArchive('layer-count-b.tar', legacyDockerArchiveFiles(b, ['example/app:1.0-squashed']));
  return { a: 'docker-archive:layer-count-a.tar', b: 'docker-archive:layer-count-b.tar' };
}

/** Writes all four pairs into `dir`; references are relative to it, so run the CLI with `cwd: dir.path`. */
export async function writeImagePairs(dir: TempDir): Promise<Record<PairName, ImagePair>> {
  return {
    identical: await identicalPair(dir),
    reproducible: await reproduciblePair(dir),
    'not-reproducible': await notReproduciblePair(dir),
    'layer-count': await layerCountPair(dir),
    'many-mtimes': await writeManyMtimesPair(dir, 45, [3]),
    'scratch-docker': await copyRealPair(dir, 'docker-archive', 'docker'),
    'scratch-oci': await copyRealPair(dir, 'oci-archive', 'oci'),
  };
}

/**
 * Real buildah builds of FROM scratch + ENV a b (no layers; dates and IDs as buildah wrote them),
 * checked in with the script that made them: test/fixtures/scratch-env/make-fixtures.sh.
 */
async function copyRealPair(dir: TempDir, transport: string, format: 'docker' | 'oci'): Promise<ImagePair> {
  const fixtures = fileURLToPath(new URL('../fixtures/scratch-env/', import.meta.url));
  for (const side of ['a', 'b']) await copyFile(`${fixtures}${format}-${side}.tar`, dir.join(`scratch-${format}-${side}.tar`));
  return { a: `${transport}:scratch-${format}-a.tar`, b: `${transport}:scratch-${format}-b.tar` };
}

/** A pair whose second layer changes the content of `count` files: for size limits of the reports. */
export async function writeManyChangesPair(dir: TempDir, count: number): Promise<ImagePair> {
  const build = async (side: string) => {
    const entries: TestEntry[] = [{ name: 'data/', mtime: sourceTime }];
    for (let i = 0; i < count; i++) {
      const name = `data/${String(Math.floor(i / 100)).padStart(2, '0')}/file-${String(i).padStart(5, '0')}.txt`;
      if (i % 100 === 0) entries.push({ name: name.slice(0, name.lastIndexOf('/') + 1), mtime: sourceTime });
      entries.push({ name, content: `file ${i}\nbuilt by ${side}\n`, mtime: sourceTime });
    }
    return buildImage({ layers: [{ tar: await buildTar(entries), createdBy: '/bin/sh -c ./generate-data.sh' }], config: configWith('2024-01-15T08:00:00Z', '') }, gzipWith());
  };
  await dir.writeArchive('many-a.tar', singleImageLayout(await build('a')));
  await dir.writeArchive('many-b.tar', singleImageLayout(await build('b')));
  return { a: 'oci-archive:many-a.tar', b: 'oci-archive:many-b.tar' };
}

/**
 * Two builds of one layer of `count` files that differ in every file's mtime and in entry order (B is
 * shuffled), and in the config's dates: equal after normalization, with one neutralized mtime per
 * file. The files whose index is in `changed` also differ in content in B (remaining differences).
 */
export async function writeManyMtimesPair(dir: TempDir, count: number, changed: readonly number[] = [], name = 'many-mtimes'): Promise<ImagePair> {
  const build = async (clock: Date, isA: boolean) => {
    const entries: TestEntry[] = [{ name: 'srv/', mtime: clock }];
    for (let i = 0; i < count; i++) {
      const file = `srv/${String(Math.floor(i / 100)).padStart(2, '0')}/page-${String(i).padStart(5, '0')}.html`;
      if (i % 100 === 0) entries.push({ name: file.slice(0, file.lastIndexOf('/') + 1), mtime: clock });
      const content = `<p>page ${i}${!isA && changed.includes(i) ? ' (rebuilt)' : ''}</p>\n`;
      entries.push({ name: file, content, mtime: new Date(clock.getTime() + i * 1000) });
    }
    const tar = await buildTar(isA ? entries : shuffled(entries, 11));
    return buildImage(
      {
        layers: [
          { tar: await baseLayerTar(), createdBy: '/bin/sh -c #(nop) ADD file:0a1b2c3d in / ' },
          { tar, createdBy: '/bin/sh -c ./render-site.sh' },
        ],
        config: configWith(clock.toISOString(), ''),
        created: clock.toISOString(),
      },
      gzipWith(),
    );
  };
  await dir.writeArchive(`${name}-a.tar`, singleImageLayout(await build(clockA, true)));
  await dir.writeArchive(`${name}-b.tar`, singleImageLayout(await build(clockB, false)));
  return { a: `oci-archive:${name}-a.tar`, b: `oci-archive:${name}-b.tar` };
}

