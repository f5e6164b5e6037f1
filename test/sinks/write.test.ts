import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import { sha256 } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import { loadImage } from '../../src/sources/index.js';
import { buildManifest, type OutputImage } from '../../src/sinks/output-image.js';
import { writeImage } from '../../src/sinks/write.js';
import { TempDir } from '../helpers/images.js';
import { makeTar, readTar } from '../helpers/tar.js';
import { buildFixture, type Fixture } from './fixture.js';
import { sha256OfStream } from '../helpers/digest.js';

let dir: TempDir;
let fixture: Fixture;
let image: OutputImage;

beforeAll(async () => {
  dir = await TempDir.create();
  fixture = await buildFixture(dir.path, { bytesLayer: true, annotations: { 'org.opencontainers.image.title': 'fixture' } });
  image = fixture.image;
});
afterAll(async () => dir.remove());

let counter = 0;
/** A fresh path in the temp dir. */
const fresh = (name: string) => join(dir.path, `${counter++}-${name}`);

/** Every member of a (small) tar file with its header fields and content, in archive order. */
const readTarFile = async (path: string) => readTar(await readFile(path));

const formats = [
  { name: 'oci', destination: (path: string) => `oci:${path}:v1`, expectedReference: (path: string) => `oci:${path}:v1` },
  { name: 'oci-archive', destination: (path: string) => `oci-archive:${path}.tar:v1`, expectedReference: (path: string) => `oci-archive:${path}.tar:v1` },
  {
    name: 'docker-archive',
    destination: (path: string) => `docker-archive:${path}.tar:example/app:1.0`,
    expectedReference: (path: string) => `docker-archive:${path}.tar:example/app:1.0`,
  },
] as const;

describe('writeImage reads back with loadImage', () => {
  for (const format of formats) {
    it(`${format.name}: same manifest, config and layers`, async () => {
      const path = fresh(format.name);
      const result = await writeImage(format.destination(path), image);
      expect(result).toEqual({ reference: format.expectedReference(path), format: format.name });

      const loaded = await loadImage(result.reference);
      try {
        expect(loaded.manifest?.digest).toBe(image.manifest.digest);
        expect(loaded.manifest?.bytes.equals(image.manifest.bytes)).toBe(true);
        expect(loaded.config.digest).toBe(image.config.digest);
        expect(loaded.config.bytes.equals(image.config.bytes)).toBe(true);
        expect(loaded.layers.map((layer) => layer.descriptor.digest)).toEqual(image.layers.map((layer) => layer.digest));
        expect(loaded.layers.map((layer) => layer.diffId)).toEqual(image.layers.map((layer) => layer.diffId));
        expect(loaded.layers.map((layer) => layer.descriptor.mediaType)).toEqual(image.layers.map((layer) => layer.mediaType));
        for (const [i, layer] of loaded.layers.entries()) {
          // openBlob and openTar verify digests at end of stream; the tar must also be the original.
          expect(await sha256OfStream(await layer.openBlob())).toBe(image.layers[i].digest);
          expect(await sha256OfStream(await layer.openTar())).toBe(sha256(fixture.tars[i]));
        }
      } finally {
        await loaded.close();
      }
    });
  }

  it('a docker-family image round-trips through docker-archive and oci', async () => {
    const layerDir = fresh('docker-family-layers');
    await mkdir(layerDir);
    const docker = (await buildFixture(layerDir, { family: 'docker' })).image;
    for (const destination of [`docker-archive:${fresh('docker-family')}.tar:app`, `oci:${fresh('docker-family')}`]) {
      const { reference } = await writeImage(destination, docker);
      const loaded = await loadImage(reference);
      expect(loaded.manifest?.digest).toBe(docker.manifest.digest);
      expect(loaded.manifest?.mediaType).toBe(MediaType.dockerManifest);
      expect(loaded.config.digest).toBe(docker.config.digest);
      await loaded.close();
    }
  });

  it('the untagged forms read back without a selector', async () => {
    for (const destination of [`oci:${fresh('untagged')}`, `oci-archive:${fresh('untagged')}.tar`, `docker-archive:${fresh('untagged')}.tar`]) {
      const { reference } = await writeImage(destination, image);
      expect(reference).toBe(destination);
      const loaded = await loadImage(reference);
      expect(loaded.manifest?.digest).toBe(image.manifest.digest);
      await loaded.close();
    }
  });

  it('bare paths: .tar is an oci-archive, anything else an OCI layout directory', async () => {
    const tar = `${fresh('bare')}.tar`;
    expect(await writeImage(tar, image, { tag: 'v2' })).toEqual({ reference: `oci-archive:${tar}:v2`, format: 'oci-archive' });
    const layout = fresh('bare-dir');
    expect(await writeImage(`${layout}/`, image)).toEqual({ reference: `oci:${layout}`, format: 'oci' });
    expect((await stat(join(layout, 'oci-layout'))).isFile()).toBe(true);
    // The bare path reads back through loadImage's own detection.
    for (const path of [tar, layout]) {
      const loaded = await loadImage(path);
      expect(loaded.config.digest).toBe(image.config.digest);
      await loaded.close();
    }
  });
});

describe('layout contents', () => {
  it('index.json names the manifest with its tag and platform; blobs are named by their digest', async () => {
    const path = fresh('layout');
    await writeImage(`oci:${path}:v1`, image);
    expect(await readFile(join(path, 'oci-layout'), 'utf8')).toBe('{"imageLayoutVersion":"1.0.0"}');
    const index = await readFile(join(path, 'index.json'), 'utf8');
    expect(index).toBe(
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"${image.manifest.digest}","size":${image.manifest.size},"annotations":{"org.opencontainers.image.ref.name":"v1"},"platform":{"architecture":"amd64","os":"linux"}}]}`,
    );
    const names = await readdir(join(path, 'blobs', 'sha256'));
    const blobs = [image.manifest, image.config, ...image.layers];
    expect(names.sort()).toEqual(blobs.map((blob) => blob.digest.slice('sha256:'.length)).sort());
    for (const name of names) expect(sha256(await readFile(join(path, 'blobs', 'sha256', name)))).toBe(`sha256:${name}`);
  });

  it('the docker-archive adds manifest.json and Docker-style names in index.json', async () => {
    const path = `${fresh('docker')}.tar`;
    await writeImage(`docker-archive:${path}:example/app:1.0`, image);
    const entries = await readTarFile(path);
    const member = (name: string) => JSON.parse(entries.find((entry) => entry.name === name)!.content.toString('utf8'));
    const hex = (digest: string) => `blobs/sha256/${digest.slice('sha256:'.length)}`;
    expect(member('manifest.json')).toEqual([
      { Config: hex(image.config.digest), RepoTags: ['example/app:1.0'], Layers: image.layers.map((layer) => hex(layer.digest)) },
    ]);
    expect(member('index.json').manifests[0].annotations).toEqual({
      'io.containerd.image.name': 'docker.io/example/app:1.0',
      'org.opencontainers.image.ref.name': '1.0',
    });
  });

  it('a foreign layer is written as a descriptor only, with LayerSources in manifest.json', async () => {
    const layerDir = fresh('foreign-layers');
    await mkdir(layerDir);
    const base = (await buildFixture(layerDir, { family: 'docker' })).image;
    const foreignTar = Buffer.from('not included');
    const foreign = {
      digest: sha256(Buffer.from('foreign blob')),
      size: 12,
      mediaType: MediaType.dockerForeignLayer,
      urls: ['https://example.com/layer'],
      diffId: sha256(foreignTar),
    };
    const layers = [foreign, ...base.layers];
    const configJson = JSON.parse(base.config.bytes.toString('utf8'));
    configJson.rootfs.diff_ids = layers.map((layer) => layer.diffId);
    const configBytes = Buffer.from(JSON.stringify(configJson));
    const config = { digest: sha256(configBytes), size: configBytes.length, mediaType: MediaType.dockerConfig, bytes: configBytes };
    const withForeign: OutputImage = { manifest: buildManifest(config, layers, 'docker'), config, layers };
    expect(JSON.parse(withForeign.manifest.bytes.toString()).layers[0]).toEqual({
      mediaType: MediaType.dockerForeignLayer,
      size: 12,
      digest: foreign.digest,
      urls: ['https://example.com/layer'],
    });

    const layout = fresh('foreign');
    await writeImage(`oci:${layout}`, withForeign);
    expect(await readdir(join(layout, 'blobs', 'sha256'))).not.toContain(foreign.digest.slice(7));
    const archive = `${fresh('foreign')}.tar`;
    await writeImage(`docker-archive:${archive}`, withForeign);
    const saveManifest = JSON.parse((await readTarFile(archive)).find((entry) => entry.name === 'manifest.json')!.content.toString());
    expect(saveManifest[0].LayerSources).toEqual({
      [foreign.diffId]: { mediaType: MediaType.dockerForeignLayer, digest: foreign.digest, size: 12, urls: ['https://example.com/layer'] },
    });
    for (const reference of [`oci:${layout}`, `docker-archive:${archive}`]) {
      const loaded = await loadImage(reference);
      expect(loaded.layers[0].foreign).toBe(true);
      expect(loaded.manifest?.digest).toBe(withForeign.manifest.digest);
      await loaded.close();
    }
  });
});

describe('large layers stream through in chunks', () => {
  it('a multi-megabyte layer of an odd size round-trips through every format', async () => {
    const layerDir = fresh('big-layers');
    await mkdir(layerDir);
    const tar = await makeTar([{ name: 'big.bin', content: randomBytes(5 * 1024 * 1024 + 3) }]);
    const blob = gzipSync(tar, { level: 1 });
    const path = join(layerDir, 'big.tar.gz');
    await writeFile(path, blob);
    const big = { digest: sha256(blob), size: blob.length, mediaType: MediaType.ociLayerGzip, path, diffId: sha256(tar) };
    const layers = [...image.layers, big];
    const configJson = JSON.parse(image.config.bytes.toString('utf8'));
    configJson.rootfs.diff_ids = layers.map((layer) => layer.diffId);
    const configBytes = Buffer.from(JSON.stringify(configJson));
    const config = { digest: sha256(configBytes), size: configBytes.length, mediaType: MediaType.ociConfig, bytes: configBytes };
    const bigImage: OutputImage = { manifest: buildManifest(config, layers, 'oci'), config, layers };
    for (const format of formats) {
      const { reference } = await writeImage(format.destination(fresh(`big-${format.name}`)), bigImage);
      const loaded = await loadImage(reference);
      const last = loaded.layers[loaded.layers.length - 1];
      expect(await sha256OfStream(await last.openTar())).toBe(big.diffId);
      await loaded.close();
    }
  });
});

describe('temporary layer files', () => {
  it('an OCI layout directory hard-links them; other layer files and archives are copied', async () => {
    const temporary = { ...image, layers: image.layers.map((layer, i) => (i === 0 ? { ...layer, temporary: true } : layer)) };
    const path = fresh('linked');
    await writeImage(`oci:${path}`, temporary);
    const blob = (layer: OutputImage['layers'][number]) => join(path, 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
    const [linked, copied] = [image.layers[0], image.layers[1]];
    expect((await stat(blob(linked))).ino).toBe((await stat(linked.path!)).ino);
    expect((await stat(blob(copied))).ino).not.toBe((await stat(copied.path!)).ino);
    const loaded = await loadImage(`oci:${path}`);
    expect(await sha256OfStream(await loaded.layers[0].openTar())).toBe(linked.diffId);
    await loaded.close();

    const archive = `${fresh('archive')}.tar`;
    await writeImage(`oci-archive:${archive}`, temporary);
    expect((await stat(linked.path!)).nlink).toBe(2); // the layout's link only
  });
});

describe('archives are deterministic', () => {
  for (const format of formats.filter((f) => f.name !== 'oci')) {
    it(`${format.name}: same image, same bytes; sorted entries, mtime 0, uid/gid 0, no owner names`, async () => {
      const first = fresh(format.name);
      const second = fresh(format.name);
      await writeImage(format.destination(first), image);
      await writeImage(format.destination(second), image);
      const [a, b] = [await readFile(`${first}.tar`), await readFile(`${second}.tar`)];
      expect(sha256(a)).toBe(sha256(b));
      expect(a.length % 512).toBe(0);
      expect(a.subarray(a.length - 1024).equals(Buffer.alloc(1024))).toBe(true);

      const entries = await readTarFile(`${first}.tar`);
      const names = entries.map((entry) => entry.name);
      expect(names).toEqual([...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
      expect(names.slice(0, 2)).toEqual(['blobs/', 'blobs/sha256/']);
      for (const entry of entries) {
        expect(entry).toMatchObject({ uid: 0, gid: 0, uname: '', gname: '', mtime: 0 });
        expect(entry.mode).toBe(entry.type === 'directory' ? 0o755 : 0o644);
      }
    });
  }

  it('the OCI directory gets the same files as the oci-archive', async () => {
    const layout = fresh('same-as-archive');
    const tar = fresh('same-as-archive');
    await writeImage(`oci:${layout}:v1`, image);
    await writeImage(`oci-archive:${tar}.tar:v1`, image);
    const files = (await readTarFile(`${tar}.tar`)).filter((entry) => entry.type === 'file');
    for (const file of files) expect((await stat(join(layout, file.name))).size).toBe(file.size);
  });
});

describe('destinations', () => {
  const expectUsage = async (promise: Promise<unknown>, message: RegExp) => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OciReproError);
    expect((error as OciReproError).exitCode).toBe(2);
    expect((error as OciReproError).message).toMatch(message);
  };

  it('an existing OCI layout is refused unless overwrite is set, and then replaced whole', async () => {
    const path = fresh('existing');
    await writeImage(`oci:${path}:old`, image);
    await writeFile(join(path, 'blobs', 'sha256', 'stray'), 'left by someone');
    await expectUsage(writeImage(`oci:${path}:new`, image), /destination exists \(an OCI image layout\)/);
    expect(JSON.parse(await readFile(join(path, 'index.json'), 'utf8')).manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('old');

    await writeImage(`oci:${path}:new`, image, { overwrite: true });
    const index = JSON.parse(await readFile(join(path, 'index.json'), 'utf8'));
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('new');
    expect(await readdir(join(path, 'blobs', 'sha256'))).not.toContain('stray');
    expect((await readdir(dir.path)).filter((name) => name.startsWith(`${path.split('/').pop()}.`))).toEqual([]);
  });

  it('an empty directory is written into; a directory that is not a layout is never replaced', async () => {
    const empty = fresh('empty');
    await mkdir(empty);
    await writeImage(`oci:${empty}`, image);
    expect((await stat(join(empty, 'index.json'))).isFile()).toBe(true);

    const project = fresh('project');
    await mkdir(project);
    await writeFile(join(project, 'README'), 'precious');
    await expectUsage(writeImage(`oci:${project}`, image, { overwrite: true }), /not an OCI image layout/);
    expect(await readFile(join(project, 'README'), 'utf8')).toBe('precious');
  });

  it('an existing archive is refused unless overwrite is set; a directory is never replaced by one', async () => {
    const path = `${fresh('existing')}.tar`;
    await writeFile(path, 'old');
    await expectUsage(writeImage(`oci-archive:${path}`, image), /destination exists \(a file\)/);
    expect(await readFile(path, 'utf8')).toBe('old');
    await writeImage(`docker-archive:${path}`, image, { overwrite: true });
    const loaded = await loadImage(`docker-archive:${path}`);
    expect(loaded.config.digest).toBe(image.config.digest);
    await loaded.close();

    const directory = fresh('a-dir.tar');
    await mkdir(directory);
    await expectUsage(writeImage(`oci-archive:${directory}`, image, { overwrite: true }), /a directory, not an archive/);
  });

  it('usage errors: transports we do not write, bad tags, disagreeing tags, missing parent', async () => {
    await expectUsage(writeImage('docker://registry.example.com/app:1', image), /writing to docker is not supported/);
    await expectUsage(writeImage('docker-daemon:app:1', image), /writing to docker-daemon is not supported/);
    await expectUsage(writeImage(`oci:${fresh('bad-tag')}:-bad`, image), /not a valid tag/);
    await expectUsage(writeImage(`docker-archive:${fresh('bad')}.tar:Upper/App`, image), /not a valid image name/);
    await expectUsage(writeImage(`docker-archive:${fresh('bad')}.tar:app@sha256:abc`, image), /by tag, not by digest/);
    await expectUsage(writeImage(`oci:${fresh('two-tags')}:a`, image, { tag: 'b' }), /names tag "a" but the tag option says "b"/);
    await expectUsage(writeImage(`${fresh('compressed')}.tar.gz`, image), /compressed archives are not written/);
    await expectUsage(writeImage(`oci:${fresh('no-parent')}/sub/layout`, image), /parent directory .* does not exist/);
  });

  it('the docker-archive tag defaults to latest and takes a registry with a port', async () => {
    const path = `${fresh('tags')}.tar`;
    expect((await writeImage(`docker-archive:${path}:app`, image)).reference).toBe(`docker-archive:${path}:app:latest`);
    const other = `${fresh('tags')}.tar`;
    const { reference } = await writeImage(`docker-archive:${other}`, image, { tag: 'localhost:5000/team/app:2' });
    expect(reference).toBe(`docker-archive:${other}:localhost:5000/team/app:2`);
    const loaded = await loadImage(reference);
    expect(loaded.config.digest).toBe(image.config.digest);
    await loaded.close();
  });
});
