import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { loadImage } from '../../src/sources/index.js';
import { buildImage, layoutFiles, legacyDockerArchiveFiles, singleImageLayout, TempDir, type BuiltImage } from '../helpers/images.js';
import { sha256Of } from '../helpers/digest.js';
import { makeTar } from '../helpers/tar.js';
import { caughtError } from '../helpers/errors.js';

let dir: TempDir;
let image: BuiltImage;

async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  for await (const _chunk of stream);
}

/** Loads the image and reads every layer to its end, as verify and normalize do. */
async function readAll(reference: string): Promise<void> {
  const loaded = await loadImage(reference);
  for (const layer of loaded.layers) await drain(await layer.openTar());
}

beforeAll(async () => {
  dir = await TempDir.create();
  image = buildImage({ layers: [{ tar: await makeTar([{ name: 'a', content: 'a'.repeat(5000) }]) }, { tar: await makeTar([{ name: 'b', content: 'b' }]) }] });
});
afterAll(async () => dir.remove());

describe('bad input gets one line, naming file, layer and cause, with its exit code', () => {
  it('missing file: exit 4', async () => {
    const error = await caughtError(loadImage(`docker-archive:${dir.join('nope.tar')}`));
    expect(error.exitCode).toBe(4);
    expect(error.line).toContain('nope.tar');
  });

  it('truncated archive: exit 3', async () => {
    const path = await dir.writeArchive('truncated.tar', legacyDockerArchiveFiles(image));
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(path));
    await truncate(path, size - 3000);
    const error = await caughtError(readAll(`docker-archive:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toMatch(/truncated\.tar.*unexpected end of archive/);
  });

  it('not a tar at all: exit 3', async () => {
    const path = dir.join('garbage.tar');
    await writeFile(path, Buffer.alloc(4096, 7));
    const error = await caughtError(loadImage(`docker-archive:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('garbage.tar');
  });

  it('corrupt gzip layer: exit 3, naming the layer', async () => {
    const good = gzipSync(image.layers[0].tar);
    const corrupt = Buffer.from(good);
    corrupt.fill(0x55, 20, 60);
    const bad = { ...image.layers[0], bytes: corrupt, digest: sha256Of(corrupt) };
    const built = rebuild(image, [bad, image.layers[1]]);
    const path = await dir.writeDirectory('corrupt-gzip', singleImageLayout(built));
    const error = await caughtError(readAll(`oci:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toMatch(/layer 0 \(sha256:[a-f0-9]{64}\) of oci:.*corrupt-gzip.*(gzip|corrupt)/);
  });

  it('truncated gzip layer: exit 3', async () => {
    const good = gzipSync(image.layers[0].tar);
    const cut = good.subarray(0, good.length - 30);
    const built = rebuild(image, [{ ...image.layers[0], bytes: cut, digest: sha256Of(cut) }, image.layers[1]]);
    const path = await dir.writeDirectory('truncated-gzip', singleImageLayout(built));
    const error = await caughtError(readAll(`oci:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('layer 0');
  });

  it('blob bytes that do not match the digest: exit 3, naming blob, layer and file', async () => {
    const path = await dir.writeDirectory('mismatch', singleImageLayout(image));
    const blobPath = `${path}/blobs/sha256/${image.layers[1].digest.slice(7)}`;
    const bytes = await readFile(blobPath);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(blobPath, bytes);
    const error = await caughtError(readAll(`oci:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain(`layer 1 (${image.layers[1].digest})`);
    expect(error.line).toContain('mismatch');
    expect(error.line).toContain('/mismatch: digest mismatch');
  });

  it('diff_id in the config that does not match the layer: exit 3', async () => {
    const config = JSON.parse(image.config.bytes.toString());
    config.rootfs.diff_ids[0] = sha256Of('something else');
    const path = await dir.writeDirectory('bad-diffid', singleImageLayout(withConfig(image, config)));
    const error = await caughtError(readAll(`oci:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('diff_id');
  });

  it('missing blob: exit 3', async () => {
    const files = singleImageLayout(image).filter((file) => !file.name.endsWith(image.layers[0].digest.slice(7)));
    const path = await dir.writeDirectory('missing-blob', files);
    const error = await caughtError(loadImage(`oci:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain(`${image.layers[0].digest} is missing`);
  });

  it('JSON that is not an image: exit 3', async () => {
    const path = await dir.writeDirectory('not-image', singleImageLayout(withConfig(image, { hello: 'world' })));
    const error = await caughtError(loadImage(`oci:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('not an image config');
  });

  it('a manifest that is not JSON: exit 3', async () => {
    const files = singleImageLayout(image).map((file) => (file.name === 'index.json' ? { ...file, content: '{"manifests": [' } : file));
    const path = await dir.writeDirectory('not-json', files);
    const error = await caughtError(loadImage(`oci:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('not valid JSON');
  });

  it('a descriptor digest that tries to climb out of blobs/ is refused before any file is opened', async () => {
    const files = singleImageLayout(image).map((file) =>
      file.name === 'index.json'
        ? { ...file, content: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:../../etc/passwd', size: 10 }] }) }
        : file,
    );
    const path = await dir.writeDirectory('escape-digest', files);
    const error = await caughtError(loadImage(`oci:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('invalid digest "sha256:../../etc/passwd"');
  });

  for (const escape of ['../../etc/passwd', '/etc/passwd', 'a/../../etc/passwd']) {
    it(`a manifest.json path ${escape} is refused before any file is opened`, async () => {
      const files = legacyDockerArchiveFiles(image);
      const manifest = JSON.parse(String(files[0].content));
      manifest[0].Layers[1] = escape;
      files[0] = { ...files[0], content: JSON.stringify(manifest) };
      const path = await dir.writeArchive(`escape-${escape.replace(/\W/g, '_')}.tar`, files);
      const error = await caughtError(loadImage(`docker-archive:${path}`));
      expect(error.exitCode).toBe(3);
      expect(error.line).toContain('points outside the archive');
    });
  }

  it('a layer count that does not match rootfs.diff_ids: exit 3', async () => {
    const config = JSON.parse(image.config.bytes.toString());
    config.rootfs.diff_ids.push(sha256Of('extra'));
    const path = await dir.writeDirectory('count', singleImageLayout(withConfig(image, config)));
    const error = await caughtError(loadImage(`oci:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('manifest lists 2 layers but rootfs.diff_ids has 3');
  });

  it('legacy archive layer count mismatch: exit 3', async () => {
    const files = legacyDockerArchiveFiles(image);
    const manifest = JSON.parse(String(files[0].content));
    manifest[0].Layers.pop();
    files[0] = { ...files[0], content: JSON.stringify(manifest) };
    const path = await dir.writeArchive('legacy-count.tar', files);
    const error = await caughtError(loadImage(`docker-archive:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('lists 1 layers but rootfs.diff_ids has 2');
  });

  it('an unknown transport is a usage error: exit 2', async () => {
    const error = await caughtError(loadImage('ftp:whatever'));
    expect(error.exitCode).toBe(2);
  });

  it('a layer media type the tool does not know: exit 3', async () => {
    const manifest = JSON.parse(image.manifest.bytes.toString());
    manifest.layers[0].mediaType = 'application/vnd.example.layer.v1.tar+lz4';
    const bytes = Buffer.from(JSON.stringify(manifest));
    const files = layoutFiles({ manifests: [{ blob: { digest: sha256Of(bytes), bytes, mediaType: image.manifest.mediaType } }], blobs: image.blobs.slice(0, -1) });
    const path = await dir.writeDirectory('unknown-media-type', files);
    const error = await caughtError(loadImage(`oci:${path}`));
    expect(error.exitCode).toBe(3);
    expect(error.line).toContain('unsupported media type application/vnd.example.layer.v1.tar+lz4');
  });
});

/** The same image with other layer blobs (diff_ids kept), re-deriving manifest. */
function rebuild(base: BuiltImage, layers: BuiltImage['layers']): BuiltImage {
  const manifest = JSON.parse(base.manifest.bytes.toString());
  manifest.layers = layers.map((layer) => ({ mediaType: layer.mediaType, digest: layer.digest, size: layer.bytes.length }));
  const bytes = Buffer.from(JSON.stringify(manifest));
  const manifestBlob = { digest: sha256Of(bytes), bytes, mediaType: base.manifest.mediaType };
  return { ...base, manifest: manifestBlob, layers, blobs: [...layers, base.config, manifestBlob] };
}

function withConfig(base: BuiltImage, config: unknown): BuiltImage {
  const bytes = Buffer.from(JSON.stringify(config));
  const configBlob = { digest: sha256Of(bytes), bytes, mediaType: base.config.mediaType };
  const manifest = JSON.parse(base.manifest.bytes.toString());
  manifest.config = { mediaType: configBlob.mediaType, digest: configBlob.digest, size: bytes.length };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestBlob = { digest: sha256Of(manifestBytes), bytes: manifestBytes, mediaType: base.manifest.mediaType };
  return { ...base, config: configBlob, manifest: manifestBlob, blobs: [...base.layers, configBlob, manifestBlob] };
}
