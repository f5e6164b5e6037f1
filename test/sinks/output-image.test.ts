import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/image/digest.js';
import { MediaType } from '../../src/image/media-types.js';
import { parseRepoTag } from '../../src/sinks/docker-archive.js';
import { encodeUstarHeader } from '../../src/sinks/oci-layout.js';
import { buildManifest, type OutputBlob } from '../../src/sinks/output-image.js';
import { parseDestination } from '../../src/sinks/write.js';
import { thrownError } from '../helpers/errors.js';

const digestOf = (text: string) => sha256(Buffer.from(text));
const config = (mediaType: string): OutputBlob => ({ digest: digestOf('config'), size: 6, mediaType });
const layer = (mediaType: string, name = 'layer'): OutputBlob => ({ digest: digestOf(name), size: 5, mediaType, path: '/unused' });

describe('buildManifest', () => {
  it('OCI: fixed key order, no whitespace, annotations sorted, digest and size of the bytes', () => {
    const manifest = buildManifest(config(MediaType.ociConfig), [layer(MediaType.ociLayerGzip)], 'oci', { b: '2', a: '1' });
    const text =
      `{"schemaVersion":2,"mediaType":"${MediaType.ociManifest}",` +
      `"config":{"mediaType":"${MediaType.ociConfig}","digest":"${digestOf('config')}","size":6},` +
      `"layers":[{"mediaType":"${MediaType.ociLayerGzip}","digest":"${digestOf('layer')}","size":5}],` +
      `"annotations":{"a":"1","b":"2"}}`;
    expect(manifest.bytes.toString('utf8')).toBe(text);
    expect(manifest).toMatchObject({ digest: sha256(Buffer.from(text)), size: text.length, mediaType: MediaType.ociManifest });
  });

  it('Docker: schema 2 with Docker’s descriptor key order (mediaType, size, digest) and urls of foreign layers', () => {
    const foreign = { ...layer(MediaType.dockerForeignLayer, 'foreign'), path: undefined, urls: ['https://example.com/l'] };
    const manifest = buildManifest(config(MediaType.dockerConfig), [foreign, layer(MediaType.dockerLayerGzip)], 'docker');
    expect(manifest.bytes.toString('utf8')).toBe(
      `{"schemaVersion":2,"mediaType":"${MediaType.dockerManifest}",` +
        `"config":{"mediaType":"${MediaType.dockerConfig}","size":6,"digest":"${digestOf('config')}"},` +
        `"layers":[{"mediaType":"${MediaType.dockerForeignLayer}","size":5,"digest":"${digestOf('foreign')}","urls":["https://example.com/l"]},` +
        `{"mediaType":"${MediaType.dockerLayerGzip}","size":5,"digest":"${digestOf('layer')}"}]}`,
    );
  });

  it('the same inputs give the same bytes whatever the annotation insertion order', () => {
    const a = buildManifest(config(MediaType.ociConfig), [], 'oci', { x: '1', y: '2' });
    const b = buildManifest(config(MediaType.ociConfig), [], 'oci', { y: '2', x: '1' });
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(buildManifest(config(MediaType.ociConfig), [], 'oci', {}).bytes.toString()).not.toContain('annotations');
  });

  it('refuses media types of the other family, non-layers, annotations on Docker manifests, other digests', () => {
    expect(thrownError(() => buildManifest(config(MediaType.dockerConfig), [], 'oci')).message).toMatch(/config has media type/);
    expect(thrownError(() => buildManifest(config(MediaType.ociConfig), [layer(MediaType.dockerLayerGzip)], 'oci')).message).toMatch(
      /layer 0 has media type .* which an OCI manifest cannot list/,
    );
    expect(thrownError(() => buildManifest(config(MediaType.ociConfig), [layer('text/plain')], 'oci')).message).toMatch(/not a layer media type/);
    expect(thrownError(() => buildManifest(config(MediaType.dockerConfig), [], 'docker', { a: 'b' })).message).toMatch(
      /a docker manifest cannot carry annotations/,
    );
    const sha512 = { ...config(MediaType.ociConfig), digest: `sha512:${'a'.repeat(128)}` };
    expect(thrownError(() => buildManifest(sha512, [], 'oci')).message).toMatch(/only sha256 digests can be written/);
  });
});

describe('parseRepoTag (docker-archive names)', () => {
  it.each([
    ['app', 'app:latest', 'docker.io/library/app:latest', 'latest'],
    ['app:1.0', 'app:1.0', 'docker.io/library/app:1.0', '1.0'],
    ['library/app:1', 'app:1', 'docker.io/library/app:1', '1'],
    ['docker.io/library/app:1', 'app:1', 'docker.io/library/app:1', '1'],
    ['team/app', 'team/app:latest', 'docker.io/team/app:latest', 'latest'],
    ['localhost:5000/app:v2', 'localhost:5000/app:v2', 'localhost:5000/app:v2', 'v2'],
    ['quay.io/org/sub/app:x_y-z.1', 'quay.io/org/sub/app:x_y-z.1', 'quay.io/org/sub/app:x_y-z.1', 'x_y-z.1'],
  ])('%s', (text, familiar, full, tag) => {
    expect(parseRepoTag(text)).toEqual({ familiar, full, tag });
  });

  it.each(['App', 'app:', 'app:-x', 'a//b', 'app@sha256:abc', '', 'bad_host:5000:x/app'])('refuses %j', (text) => {
    expect(thrownError(() => parseRepoTag(text)).exitCode).toBe(2);
  });
});

describe('parseDestination', () => {
  it.each([
    ['oci:out', { format: 'oci', path: 'out' }],
    ['oci:out/:v1', { format: 'oci', path: 'out', tag: 'v1' }],
    ['oci-archive:out.tar:v1', { format: 'oci-archive', path: 'out.tar', tag: 'v1' }],
    ['docker-archive:out.tar:app', { format: 'docker-archive', path: 'out.tar', tag: 'app:latest' }],
    ['docker-archive:out.tar:reg.example:5000/app:1', { format: 'docker-archive', path: 'out.tar', tag: 'reg.example:5000/app:1' }],
    ['out.tar', { format: 'oci-archive', path: 'out.tar' }],
    ['out', { format: 'oci', path: 'out' }],
    ['./out/', { format: 'oci', path: 'out' }],
  ])('%s', (text, expected) => {
    expect(parseDestination(text)).toEqual(expected);
  });

  it('takes the tag from the options when the reference has none', () => {
    expect(parseDestination('oci:out', { tag: 'v3' })).toEqual({ format: 'oci', path: 'out', tag: 'v3' });
    expect(parseDestination('oci:out:v3', { tag: 'v3' })).toEqual({ format: 'oci', path: 'out', tag: 'v3' });
  });
});

describe('encodeUstarHeader', () => {
  const checksumOf = (header: Buffer) => {
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
    return sum;
  };

  it('a plain USTAR header: mode, zero ids and mtime, no owner names, valid checksum', () => {
    const header = encodeUstarHeader('blobs/sha256/abc', 1234, 'file');
    expect(header.length).toBe(512);
    expect(header.toString('latin1', 0, 16)).toBe('blobs/sha256/abc');
    expect(header.toString('latin1', 100, 108)).toBe('0000644\0');
    expect(header.toString('latin1', 108, 124)).toBe('0000000\u00000000000\u0000');
    expect(header.toString('latin1', 124, 136)).toBe(`${(1234).toString(8).padStart(11, '0')}\0`);
    expect(header.toString('latin1', 136, 148)).toBe('00000000000\0');
    expect(header[156]).toBe(0x30);
    expect(header.toString('latin1', 257, 265)).toBe('ustar\u000000');
    expect(header.subarray(265, 329).equals(Buffer.alloc(64))).toBe(true);
    expect(parseInt(header.toString('latin1', 148, 154), 8)).toBe(checksumOf(header));
    expect(encodeUstarHeader('blobs/', 0, 'directory')[156]).toBe(0x35);
  });

  it('sizes of 8 GiB and more in GNU base-256', () => {
    const size = 9 * 1024 ** 3 + 7;
    const header = encodeUstarHeader('big', size, 'file');
    expect(header[124]).toBe(0x80);
    let value = 0;
    for (let i = 125; i < 136; i++) value = value * 256 + header[i];
    expect(value).toBe(size);
    expect(parseInt(header.toString('latin1', 148, 154), 8)).toBe(checksumOf(header));
  });

  it('refuses names a USTAR name field cannot hold', () => {
    expect(() => encodeUstarHeader('x'.repeat(101), 0, 'file')).toThrow(/does not fit a USTAR header/);
    expect(() => encodeUstarHeader('with space', 0, 'file')).toThrow(/does not fit a USTAR header/);
  });
});
