/**
 * The OCI image layout, as a directory (`oci:DIR`) or as a tar (`oci-archive:PATH`, and the base of our
 * docker-archive): `oci-layout`, `index.json` with one manifest descriptor, `blobs/sha256/<hex>`.
 *
 * The tar is written with the tar encoder (tar/encode.ts) rather than by tar-stream: every byte of it is
 * fixed here (entries sorted bytewise, mode 0644/0755, uid/gid 0, mtime 0, no owner names, no PAX
 * headers: every path is at most 77 bytes), writes are awaited one by one so a layer streams from disk
 * with back-pressure and is never held in memory, and an error anywhere is an ordinary rejected promise.
 * The same image always gives the same archive bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { digestMismatch, withContext } from '../errors.js';
import { encodedOf } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import { blockSize, endOfArchive, paddedSize, TypeFlag } from '../tar/blocks.js';
import { writeUstarHeader, type UstarFields } from '../tar/encode.js';
import { writeAtomically, syncDirectory } from './atomic.js';
import {
  describeBlob,
  describePlatform,
  invalidOutput,
  isForeignOutputLayer,
  sortAnnotations,
  type OutputBlob,
  type OutputImage,
} from './output-image.js';

export const refNameAnnotation = 'org.opencontainers.image.ref.name';

/** The `oci-layout` file: what skopeo, umoci and Docker write, without whitespace. */
export const ociLayoutBytes: Buffer = Buffer.from('{"imageLayoutVersion":"1.0.0"}', 'utf8');

/** One file of a layout: its bytes, or a file streamed and checked against `digest` and `size`. */
export interface LayoutMember {
  /** '/'-separated path inside the layout. */
  path: string;
  size: number;
  bytes?: Buffer;
  file?: string;
  /** Required with `file`: the content must hash to it. */
  digest?: string;
  /** `file` may be hard-linked into a layout directory (see OutputBlob.temporary). */
  linkable?: boolean;
  /** Names the member in messages: `layer 1 (sha256:...)`. */
  what: string;
}

export function blobMemberPath(digest: string): string {
  return `blobs/sha256/${encodedOf(digest)}`;
}

/** Manifest, config and layer blobs, each digest once (two equal layers share one blob). */
export function blobMembers(image: OutputImage): LayoutMember[] {
  const members = new Map<string, LayoutMember>();
  const add = (blob: OutputBlob, what: string) => {
    const path = blobMemberPath(blob.digest);
    if (members.has(path)) return;
    const linkable = blob.temporary === true && blob.path !== undefined;
    members.set(path, { path, size: blob.size, bytes: blob.bytes, file: blob.path, digest: blob.digest, what, ...(linkable ? { linkable } : {}) });
  };
  add(image.manifest, `manifest ${image.manifest.digest}`);
  add(image.config, `config ${image.config.digest}`);
  image.layers.forEach((layer, i) => {
    if (!isForeignOutputLayer(layer)) add(layer, `layer ${i} (${layer.digest})`);
  });
  return [...members.values()];
}

/** index.json naming the one manifest: deterministic bytes, annotations sorted. */
export function buildLayoutIndex(image: OutputImage, annotations: Record<string, string> = {}): Buffer {
  const descriptor = {
    ...describeBlob(image.manifest),
    ...(Object.keys(annotations).length > 0 ? { annotations: sortAnnotations(annotations) } : {}),
    ...(image.platform ? { platform: describePlatform(image.platform) } : {}),
  };
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [descriptor] };
  return Buffer.from(JSON.stringify(index), 'utf8');
}

/** Every member of the layout of `image`; `tag` becomes the manifest's ref name. */
export function layoutMembers(image: OutputImage, indexAnnotations: Record<string, string>): LayoutMember[] {
  const index = buildLayoutIndex(image, indexAnnotations);
  return [
    { path: 'oci-layout', size: ociLayoutBytes.length, bytes: ociLayoutBytes, what: 'oci-layout' },
    { path: 'index.json', size: index.length, bytes: index, what: 'index.json' },
    ...blobMembers(image),
  ];
}

// ---------------------------------------------------------------------------------------------
// Member contents

const chunkSize = 1 << 20;

/** The member's bytes in chunks; a file is checked against its size as it streams and its digest at the end. */
async function* readMember(member: LayoutMember): AsyncGenerator<Buffer> {
  if (member.bytes !== undefined) {
    yield member.bytes;
    return;
  }
  if (member.file === undefined || member.digest === undefined) throw invalidOutput(`${member.what} has no content`);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(member.file, { highWaterMark: chunkSize })) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      // Checked before the chunk is written: a tar header already promised `member.size` bytes.
      if (size > member.size) break;
      hash.update(buffer);
      yield buffer;
    }
  } catch (error) {
    throw withContext(`${member.what}: reading ${member.file}`, error);
  }
  if (size !== member.size) {
    const found = size > member.size ? `more than ${member.size}` : String(size);
    throw digestMismatch(`${member.what}: ${member.file} has ${found} bytes, its descriptor says ${member.size}`);
  }
  const actual = `sha256:${hash.digest('hex')}`;
  if (actual !== member.digest) {
    throw digestMismatch(`${member.what}: ${member.file} hashes to ${actual}, its descriptor says ${member.digest}`);
  }
}

/** Writes all of `data`: a positioned write may write less than asked. */
async function writeFully(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

// ---------------------------------------------------------------------------------------------
// Directory form

/** Writes the members into `root` (an existing empty directory), each file fsynced, then the directories. */
export async function writeMembersToDirectory(root: string, members: LayoutMember[]): Promise<void> {
  const dirs = new Set<string>();
  for (const member of members) {
    const parts = member.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) {
        await mkdir(join(root, dir), { mode: 0o755 });
        dirs.add(dir);
      }
    }
    const target = join(root, member.path);
    if (member.linkable && (await linkMember(member, target))) continue;
    const handle = await open(target, 'wx', 0o644);
    try {
      let position = 0;
      for await (const chunk of readMember(member)) {
        await writeFully(handle, chunk, position);
        position += chunk.length;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  for (const dir of [...dirs].sort().reverse()) await syncDirectory(join(root, dir));
}

/** Where link(2) cannot be used (another filesystem, no hard links): the member is copied instead. */
const noHardlinks = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * Puts a temp file in place by hard link: copying, and hashing again, a layer that was just hashed as
 * it was written took about 0.75 s per 250 MB. Its size is still checked, and it is fsynced. False when
 * the filesystem cannot link it there (the caller copies).
 */
async function linkMember(member: LayoutMember, target: string): Promise<boolean> {
  try {
    await link(member.file!, target);
  } catch (error) {
    if (noHardlinks.has((error as NodeJS.ErrnoException).code ?? '')) return false;
    throw withContext(`${member.what}: linking ${member.file}`, error);
  }
  const handle = await open(target, 'r');
  try {
    const { size } = await handle.stat();
    if (size !== member.size) {
      throw digestMismatch(`${member.what}: ${member.file} has ${size} bytes, its descriptor says ${member.size}`);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Tar form

/** The fixed fields of every layout member's header; only path, size and type vary. */
const memberFields: UstarFields = {
  path: '',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  mtime: 0,
  typeflag: TypeFlag.file,
  linkname: '',
  uname: '',
  gname: '',
  devmajor: 0,
  devminor: 0,
};

/** A USTAR header block: mtime 0, uid/gid 0, no owner names; a size of 8 GiB or more in GNU base-256. */
export function encodeUstarHeader(name: string, size: number, type: 'file' | 'directory'): Buffer {
  if (!/^[\x21-\x7e]+$/.test(name) || name.length > 100) {
    throw invalidOutput(`archive member name ${JSON.stringify(name)} does not fit a USTAR header`);
  }
  const header = Buffer.alloc(blockSize);
  const directory = type === 'directory';
  writeUstarHeader({ ...memberFields, path: name, size, mode: directory ? 0o755 : 0o644, typeflag: directory ? TypeFlag.directory : TypeFlag.file }, header, 0);
  return header;
}

const comparePaths = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Writes the members as a tar at `file` (created, must not exist), with their directories, sorted, fsynced. */
export async function writeMembersToTar(file: string, members: LayoutMember[]): Promise<void> {
  const dirs = new Set<string>();
  for (const member of members) {
    const parts = member.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(`${parts.slice(0, i).join('/')}/`);
  }
  const entries: ({ path: string; member?: LayoutMember })[] = [
    ...[...dirs].map((path) => ({ path })),
    ...members.map((member) => ({ path: member.path, member })),
  ].sort((a, b) => comparePaths(a.path, b.path));

  const handle = await open(file, 'wx', 0o644);
  try {
    let position = 0;
    const put = async (data: Buffer) => {
      await writeFully(handle, data, position);
      position += data.length;
    };
    for (const { path, member } of entries) {
      if (!member) {
        await put(encodeUstarHeader(path, 0, 'directory'));
        continue;
      }
      await put(encodeUstarHeader(path, member.size, 'file'));
      for await (const chunk of readMember(member)) await put(chunk);
      const padding = paddedSize(member.size) - member.size;
      if (padding > 0) await put(Buffer.alloc(padding));
    }
    // The end-of-archive marker, and nothing after it (no padding to a 10 KiB record).
    await put(endOfArchive);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The two OCI destinations

export interface LayoutWriteOptions {
  tag?: string;
  overwrite?: boolean;
}

function refAnnotations(tag: string | undefined): Record<string, string> {
  return tag === undefined ? {} : { [refNameAnnotation]: tag };
}

export async function writeOciDirectory(dest: string, image: OutputImage, options: LayoutWriteOptions = {}): Promise<void> {
  const members = layoutMembers(image, refAnnotations(options.tag));
  await writeAtomically(dest, 'directory', options.overwrite ?? false, (temp) => writeMembersToDirectory(temp, members));
}

export async function writeOciArchive(dest: string, image: OutputImage, options: LayoutWriteOptions = {}): Promise<void> {
  const members = layoutMembers(image, refAnnotations(options.tag));
  await writeAtomically(dest, 'file', options.overwrite ?? false, (temp) => writeMembersToTar(temp, members));
}
