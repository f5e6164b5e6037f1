// Builds an OutputImage in code: small layer tars (explicit mtimes), gzip'd by Node's zlib into temp files.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MediaType } from '../../src/image/media-types.js';
import { buildManifest, type OutputImage, type OutputLayer } from '../../src/sinks/output-image.js';
import { sha256Of } from '../helpers/digest.js';
import { makeTar } from '../helpers/tar.js';

export interface FixtureOptions {
  family?: 'oci' | 'docker';
  /** Adds a third, uncompressed layer held as bytes rather than as a file. */
  bytesLayer?: boolean;
  annotations?: Record<string, string>;
}

export interface Fixture {
  image: OutputImage;
  /** The uncompressed tars, by layer index. */
  tars: Buffer[];
}

/** Writes the layer files into `dir` (which the caller removes) and returns the image. */
export async function buildFixture(dir: string, options: FixtureOptions = {}): Promise<Fixture> {
  const family = options.family ?? 'oci';
  const tars = [
    await makeTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/hello', content: 'hello\n' },
    ]),
    await makeTar([
      { name: 'app/', type: 'directory' },
      { name: 'app/run.sh', content: '#!/bin/sh\necho hi\n' },
      { name: 'app/link', type: 'symlink', linkname: 'run.sh' },
    ]),
  ];
  const layers: OutputLayer[] = [];
  for (const [i, tar] of tars.entries()) {
    const blob = gzipSync(tar, { level: 6 });
    const path = join(dir, `layer-${i}.tar.gz`);
    await writeFile(path, blob);
    const mediaType = family === 'oci' ? MediaType.ociLayerGzip : MediaType.dockerLayerGzip;
    layers.push({ digest: sha256Of(blob), size: blob.length, mediaType, path, diffId: sha256Of(tar) });
  }
  if (options.bytesLayer) {
    const tar = await makeTar([{ name: 'data.txt', content: 'plain layer\n' }]);
    tars.push(tar);
    const mediaType = family === 'oci' ? MediaType.ociLayer : MediaType.dockerLayer;
    layers.push({ digest: sha256Of(tar), size: tar.length, mediaType, bytes: tar, diffId: sha256Of(tar) });
  }
  const config = {
    architecture: 'amd64',
    os: 'linux',
    created: '1970-01-01T00:00:00Z',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/app/run.sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history: layers.map((_, i) => ({ created: '1970-01-01T00:00:00Z', created_by: `COPY step ${i}` })),
  };
  const configBytes = Buffer.from(JSON.stringify(config), 'utf8');
  const configBlob = {
    digest: sha256Of(configBytes),
    size: configBytes.length,
    mediaType: family === 'oci' ? MediaType.ociConfig : MediaType.dockerConfig,
    bytes: configBytes,
  };
  const manifest = buildManifest(configBlob, layers, family, options.annotations);
  return { image: { manifest, config: configBlob, layers, platform: { architecture: 'amd64', os: 'linux' } }, tars };
}
