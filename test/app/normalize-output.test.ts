// normalizeImage with an output, in every format and compression: the canonical digest it reports is the
// written config's digest (read back by loadImage, skopeo and umoci), the output bytes are a function of the
// input's content alone (twice the same; noise-only variants the same), and normalizing the output again
// changes nothing. Sink-level details (atomicity, archive layout) are test/sinks' business.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/image/digest.js';
import type { Compression } from '../../src/image/media-types.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { normalizeImage, type NormalizeResult } from '../../src/app/normalize.js';
import { loadImage } from '../../src/sources/index.js';
import { buildImage, legacyDockerArchiveFiles, singleImageLayout, TempDir } from '../helpers/images.js';
import { runTool, skipWithoutTools, skopeoInspectConfig, skopeoInspectRaw } from '../helpers/real-tools.js';
import {
  buildTar,
  shuffled,
  withDotSlash,
  withExtraTimes,
  withMtimes,
  withOwnerNames,
  type TestEntry,
} from '../helpers/tar.js';
import { sha256OfStream } from '../helpers/digest.js';

const T = { timeout: 30_000 };

const baseLayer: TestEntry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/app.conf', content: 'port=8080\n' },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/bin/', type: 'directory' },
  { name: 'usr/bin/app', content: '#!/bin/sh\necho app\n', mode: 0o755 },
  { name: 'usr/bin/app-link', type: 'symlink', linkname: 'app' },
];
const appLayer: TestEntry[] = [
  { name: 'srv/', type: 'directory', uid: 1000, gid: 1000 },
  { name: 'srv/data.txt', content: 'data\n'.repeat(200), uid: 1000, gid: 1000 },
  { name: 'srv/copy.txt', type: 'link', linkname: 'srv/data.txt' },
];

/** Build A: a legacy docker save (uncompressed layers, Docker media types) with one build's noise. */
async function buildA(dir: TempDir): Promise<string> {
  const image = buildImage({
    mediaTypes: 'docker',
    created: '2024-05-06T07:08:09.123456789Z',
    layers: [
      { tar: await buildTar(withOwnerNames(withMtimes(baseLayer, new Date('2024-05-06T07:08:00Z')))), compression: 'none' },
      { tar: await buildTar(withMtimes(appLayer, new Date('2024-05-06T07:08:05Z'))), compression: 'none' },
    ],
    config: {
      container: 'a1b2c3d4e5f6',
      docker_version: '24.0.7',
      config: { Env: ['PATH=/usr/bin'], Cmd: ['/usr/bin/app'], Hostname: 'a1b2c3d4e5f6' },
    },
  });
  return dir.writeArchive('a.tar', legacyDockerArchiveFiles(image));
}

/** Build B: the same filesystem and settings as A, from another build host: an OCI layout, gzip, other noise. */
async function buildB(dir: TempDir): Promise<string> {
  const image = buildImage({
    mediaTypes: 'oci',
    created: '2025-01-01T00:00:00Z',
    layers: [
      { tar: await buildTar(shuffled(withExtraTimes(withMtimes(baseLayer, (_, i) => new Date(1735689600_000 + i * 1000))), 7), { dialect: 'pax' }) },
      { tar: await buildTar(withDotSlash(withOwnerNames(withMtimes(appLayer, new Date('2025-01-01T00:00:09Z')), 'ci', 'ci'))) },
    ],
    config: {
      container: 'ffeeddccbbaa',
      docker_version: '25.0.0',
      config: { Env: ['PATH=/usr/bin'], Cmd: ['/usr/bin/app'], Hostname: 'ffeeddccbbaa' },
    },
  });
  return dir.writeDirectory('b-layout', singleImageLayout(image));
}

const formats = [
  { name: 'oci', destination: (path: string) => `oci:${path}:v1`, skopeo: (path: string) => `oci:${path}:v1` },
  { name: 'oci-archive', destination: (path: string) => `oci-archive:${path}.tar:v1`, skopeo: (path: string) => `oci-archive:${path}.tar:v1` },
  {
    name: 'docker-archive',
    destination: (path: string) => `docker-archive:${path}.tar:example/app:1`,
    skopeo: (path: string) => `docker-archive:${path}.tar`,
  },
] as const;
const compressions: Compression[] = ['gzip', 'zstd', 'none'];
const layerMediaType: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

/** Every file of an output (an archive, or a layout directory walked recursively) by relative path, hashed. */
async function outputBytes(path: string): Promise<Record<string, string>> {
  if ((await stat(path)).isFile()) return { '': sha256(await readFile(path)) };
  const files: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else files[relative(path, full)] = sha256(await readFile(full));
    }
  };
  await walk(path);
  return files;
}

let dir: TempDir;
let sourceA: string;
let sourceB: string;
let digestOnly: NormalizeResult;

interface Written {
  /** The destination as given, without the .tar of archives. */
  base: string;
  /** The file or directory written. */
  path: string;
  result: NormalizeResult;
}
/** The first output of A for each format/compression, for the oracle and cross-format checks. */
const written = new Map<string, Written>();
const key = (format: string, compression: Compression) => `${format}/${compression}`;

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-normalize-output-');
  sourceA = await buildA(dir);
  sourceB = await buildB(dir);
  digestOnly = await normalizeImage({ source: sourceA, normalize: defaultNormalizeOptions });
});
afterAll(async () => dir?.remove());

describe('the two inputs', () => {
  it('differ in raw identity but not in canonical digest', async () => {
    const b = await normalizeImage({ source: sourceB, normalize: defaultNormalizeOptions });
    expect(b.imageId).not.toBe(digestOnly.imageId);
    expect(b.layers.map((layer) => layer.diffId)).not.toEqual(digestOnly.layers.map((layer) => layer.diffId));
    expect(b.canonicalDigest).toBe(digestOnly.canonicalDigest);
    expect(b.layers.map((layer) => layer.canonicalDiffId)).toEqual(digestOnly.layers.map((layer) => layer.canonicalDiffId));
    // Both needed real work: the noise is there to be removed.
    expect(digestOnly.applied.map((rule) => rule.rule)).toEqual(expect.arrayContaining(['config-created', 'host-fields', 'diff-ids']));
    expect(digestOnly.canonicalDigest).not.toBe(digestOnly.imageId);
    // Layer rules per layer. The app layer's hardlink group moves its data to srv/copy.txt, first in
    // canonical order, which also moves that entry; B's ./ spellings are not counted (see layer-applied.ts).
    const rules = (result: NormalizeResult) => result.layers.map((layer) => layer.applied.map((rule) => rule.rule));
    expect(rules(digestOnly)).toEqual([
      ['mtime', 'owner-names'],
      ['entry-order', 'mtime', 'hardlinks'],
    ]);
    expect(digestOnly.layers[1].applied.map(({ rule, entries }) => `${rule} ${entries}`)).toEqual(['entry-order 1', `mtime ${appLayer.length}`, 'hardlinks 2']);
    expect(rules(b)).toEqual([
      ['entry-order', 'mtime', 'extra-times'],
      ['entry-order', 'mtime', 'owner-names', 'hardlinks'],
    ]);
  });
});

describe('normalize --output, every format and compression', () => {
  for (const format of formats) {
    for (const compression of compressions) {
      it(`${format.name}, ${compression}: config digest = canonical digest; deterministic; noise-blind; idempotent`, T, async () => {
        const run = async (source: string, name: string) => {
          const base = dir.join(`${name}-${format.name}-${compression}`);
          const result = await normalizeImage({
            source,
            normalize: defaultNormalizeOptions,
            output: format.destination(base),
            compression,
          });
          return { base, path: format.name === 'oci' ? base : `${base}.tar`, result };
        };
        const first = await run(sourceA, 'a1');
        written.set(key(format.name, compression), first);
        const { result } = first;
        expect(result.canonicalDigest).toBe(digestOnly.canonicalDigest);
        expect(result.layers).toEqual(digestOnly.layers);
        expect(result.output).toMatchObject({ format: format.name, compression, configDigest: result.canonicalDigest });

        // Read back by our own reader: the chain manifest -> config -> layers is what was reported.
        const loaded = await loadImage(result.output!.reference);
        try {
          expect(sha256(loaded.config.bytes)).toBe(result.canonicalDigest);
          expect(loaded.config.digest).toBe(result.canonicalDigest);
          expect(loaded.manifest?.digest).toBe(result.output!.manifestDigest);
          expect(loaded.config.parsed.rootfs?.diff_ids).toEqual(result.layers.map((layer) => layer.canonicalDiffId));
          expect(loaded.layers.map((layer) => layer.descriptor.mediaType)).toEqual(result.layers.map(() => layerMediaType[compression]));
          expect(loaded.layers.map((layer) => layer.descriptor.digest)).toEqual(result.output!.layers.map((layer) => layer.digest));
          for (const layer of loaded.layers) expect(await sha256OfStream(await layer.openTar())).toBe(layer.diffId);
        } finally {
          await loaded.close();
        }

        const again = await run(sourceA, 'a2');
        const fromB = await run(sourceB, 'b');
        const bytes = await outputBytes(first.path);
        expect(Object.keys(bytes).length).toBeGreaterThan(0);
        expect(await outputBytes(again.path)).toEqual(bytes);
        expect(await outputBytes(fromB.path)).toEqual(bytes);
        expect(fromB.result.output?.manifestDigest).toBe(result.output!.manifestDigest);

        // Idempotent: the normalized image is its own normal form, byte for byte.
        const twice = await run(result.output!.reference, 'n2');
        expect(twice.result.imageId).toBe(result.canonicalDigest);
        expect(twice.result.manifestDigest).toBe(result.output!.manifestDigest);
        expect(twice.result.canonicalDigest).toBe(result.canonicalDigest);
        expect(twice.result.applied).toEqual([]);
        for (const layer of twice.result.layers) expect(layer.applied).toEqual([]);
        for (const layer of twice.result.layers) expect(layer.canonicalDiffId).toBe(layer.diffId);
        expect(twice.result.output?.manifestDigest).toBe(result.output!.manifestDigest);
        expect(await outputBytes(twice.path)).toEqual(bytes);
      });
    }
  }

  it('one canonical digest whatever the format and compression; one manifest per compression', () => {
    expect(written.size).toBe(formats.length * compressions.length);
    const configDigests = new Set([...written.values()].map(({ result }) => result.output!.configDigest));
    expect([...configDigests]).toEqual([digestOnly.canonicalDigest]);
    for (const compression of compressions) {
      const manifests = new Set(formats.map((format) => written.get(key(format.name, compression))!.result.output!.manifestDigest));
      expect(manifests.size).toBe(1);
    }
    const perCompression = new Set(compressions.map((compression) => written.get(key('oci', compression))!.result.output!.manifestDigest));
    expect(perCompression.size).toBe(compressions.length);
  });
});

describe('normalize without --output', () => {
  it('writes nothing: the source directory and the temp dir around it are unchanged', async () => {
    const snapshot = async () => {
      const names = (await readdir(dir.path)).sort();
      return Promise.all(names.map(async (name) => [name, (await stat(dir.join(name))).mtimeMs] as const));
    };
    const before = await snapshot();
    const layoutBefore = await outputBytes(sourceB);
    const result = await normalizeImage({ source: `oci:${sourceB}`, normalize: defaultNormalizeOptions });
    expect(result.output).toBeNull();
    expect(result.canonicalDigest).toBe(digestOnly.canonicalDigest);
    expect(await snapshot()).toEqual(before);
    expect(await outputBytes(sourceB)).toEqual(layoutBefore);
  });
});

describe.skipIf(skipWithoutTools('skopeo', 'umoci'))('independent readers agree with the reported digests', () => {
  for (const format of formats) {
    for (const compression of compressions) {
      it(`${format.name}, ${compression}: skopeo inspect --config/--raw${format.name === 'oci' ? ', umoci stat' : ''}`, T, async () => {
        const entry = written.get(key(format.name, compression));
        expect(entry, 'the write test of this combination ran first').toBeDefined();
        const { base, path, result } = entry!;
        const reference = format.skopeo(base);
        const config = await skopeoInspectConfig(reference);
        expect(sha256(config.bytes)).toBe(result.canonicalDigest);
        expect(config.json.rootfs?.diff_ids).toEqual(result.layers.map((layer) => layer.canonicalDiffId));
        const raw = await skopeoInspectRaw(reference);
        expect(raw.json.config?.digest).toBe(result.canonicalDigest);
        // A docker-archive has no stored manifest: skopeo makes one up from manifest.json.
        if (format.name !== 'docker-archive') expect(sha256(raw.bytes)).toBe(result.output!.manifestDigest);
        if (format.name === 'oci') {
          const { stdout } = await runTool('umoci', ['stat', '--json', '--image', `${path}:v1`]);
          const stat = JSON.parse(stdout.toString('utf8')) as { history: { layer?: { digest: string; mediaType: string }; diff_id?: string }[] };
          const layers = stat.history.filter((entry) => entry.layer);
          expect(layers.map((entry) => entry.diff_id)).toEqual(result.layers.map((layer) => layer.canonicalDiffId));
          expect(layers.map((entry) => entry.layer?.mediaType)).toEqual(result.layers.map(() => layerMediaType[compression]));
        }
      });
    }
  }
});
