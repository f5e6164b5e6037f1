// The normalized image holds the same filesystem as its input: both are unpacked by umoci (an independent
// OCI reader that applies whiteouts, opaque dirs, hardlinks, owners, modes and xattrs) and the two trees are
// compared file by file. Only mtimes may differ, and in the output every one of them is the epoch.
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Compression } from '../../src/image/media-types.js';
import { normalizeImage, type NormalizeResult } from '../../src/app/normalize.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { runTool, skipWithoutTools, skopeoInspectRaw, umociUnpack } from '../helpers/real-tools.js';
import { buildTar, shuffled, withExtraTimes, withOwnerNames, type TestEntry } from '../helpers/tar.js';
import { sha256Hex } from '../helpers/digest.js';

const T = { timeout: 30_000 };
const epoch = 1_700_000_000;

// security.capability v2 granting cap_net_raw (bit 13) permitted and effective: what `setcap cap_net_raw+ep` writes.
const netRawCapability = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, ...Array(12).fill(0)]);
const longDirectory = `opt/${'a-directory-with-a-rather-long-name-'.repeat(3)}x/`;
const longFile = `${longDirectory}${'and-a-file-name-that-pushes-the-path-past-one-hundred-bytes-'.repeat(2)}.txt`;
const longTarget = `../${'target-'.repeat(20)}end`;

/** Lower layer: one of each kind of entry, with owners, special modes, xattrs and long names. */
const lower: TestEntry[] = [
  { name: 'bin/', type: 'directory' },
  { name: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o4755 },
  { name: 'bin/tool-hard', type: 'link', linkname: 'bin/tool' },
  { name: 'bin/tool-rel', type: 'symlink', linkname: 'tool' },
  { name: 'bin/ping', content: 'ping binary\n', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': netRawCapability } },
  { name: 'bin/dangling', type: 'symlink', linkname: longTarget },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/keep.conf', content: 'keep=1\n' },
  { name: 'etc/victim.conf', content: 'removed by the upper layer\n' },
  { name: 'etc/abs-link', type: 'symlink', linkname: '/etc/keep.conf' },
  { name: 'etc/empty', content: '' },
  { name: 'home/', type: 'directory' },
  { name: 'home/user/', type: 'directory', uid: 1000, gid: 1000, mode: 0o750 },
  { name: 'home/user/notes.txt', content: 'private\n', uid: 1000, gid: 1000, mode: 0o600 },
  { name: 'opt/', type: 'directory' },
  { name: longDirectory, type: 'directory' },
  { name: longFile, content: 'long name\n' },
  { name: 'tmp/', type: 'directory', mode: 0o1777 },
  { name: 'run/', type: 'directory' },
  { name: 'run/pipe', type: 'fifo', mode: 0o600 },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/doc.txt', content: 'documented\n', pax: { 'SCHILY.xattr.user.comment': Buffer.from('kept as is') } },
  { name: 'var/', type: 'directory' },
  { name: 'var/cache/', type: 'directory' },
  { name: 'var/cache/old', content: 'hidden by the opaque dir\n' },
  { name: 'var/cache/sub/', type: 'directory' },
  { name: 'var/cache/sub/older', content: 'also hidden\n' },
  { name: 'var/big.bin', content: Buffer.alloc(70_000, 'z') },
];

/** Upper layer: a whiteout, an opaque directory, a changed file, new files. */
const upper: TestEntry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/.wh.victim.conf', content: '' },
  { name: 'etc/keep.conf', content: 'keep=2\n', mode: 0o640 },
  { name: 'home/', type: 'directory' },
  { name: 'home/user/', type: 'directory', uid: 1000, gid: 1000, mode: 0o750 },
  { name: 'home/user/added', content: 'new\n', uid: 1000, gid: 1000 },
  { name: 'var/', type: 'directory' },
  { name: 'var/cache/', type: 'directory' },
  { name: 'var/cache/.wh..wh..opq', content: '' },
  { name: 'var/cache/fresh', content: 'the only file left here\n' },
];

/** Build noise: a different mtime on every entry, atime/ctime, owner names, shuffled order. */
function noisy(entries: TestEntry[], seed: number): TestEntry[] {
  const dated = entries.map((entry, i) => ({ ...entry, mtime: new Date(Date.UTC(2024, 0, 1 + i, 10, i, seed)) }));
  return shuffled(withOwnerNames(withExtraTimes(dated)), seed);
}

interface Node {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  target?: string;
  /** Other paths that are the same inode (hardlinks). */
  sameInode?: string[];
  xattrs?: Record<string, string>;
}

interface Tree {
  nodes: Record<string, Node>;
  mtimes: Record<string, number>;
}

/** Walks an unpacked rootfs with lstat (nothing followed) into path -> attributes. */
async function readTree(root: string, xattrs: Record<string, Record<string, string>>): Promise<Tree> {
  const nodes: Record<string, Node> = {};
  const mtimes: Record<string, number> = {};
  const inodes = new Map<number, string[]>();
  const walk = async (dir: string, prefix: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const rel = prefix + name;
      const info = await lstat(path);
      const type = info.isFile() ? 'file' : info.isDirectory() ? 'dir' : info.isSymbolicLink() ? 'symlink' : info.isFIFO() ? 'fifo' : 'other';
      const node: Node = { type, mode: info.mode & 0o7777, uid: info.uid, gid: info.gid, size: type === 'file' ? info.size : 0 };
      if (type === 'file') node.sha256 = sha256Hex(await readFile(path));
      if (type === 'symlink') node.target = await readlink(path);
      if (xattrs[rel]) node.xattrs = xattrs[rel];
      if (type === 'file' && info.nlink > 1) inodes.set(info.ino, [...(inodes.get(info.ino) ?? []), rel]);
      nodes[rel] = node;
      mtimes[rel] = info.mtime.getTime() / 1000;
      if (type === 'dir') await walk(path, `${rel}/`);
    }
  };
  await walk(root, '');
  for (const group of inodes.values()) for (const path of group) nodes[path].sameInode = group.filter((other) => other !== path);
  return { nodes, mtimes };
}

// Node has no xattr API: python's os.listxattr/getxattr read them (values base64, symlinks not followed).
const xattrScript = `
import base64, json, os, sys
root = sys.argv[1]
out = {}
for dirpath, dirnames, filenames in os.walk(root):
    for name in dirnames + filenames:
        path = os.path.join(dirpath, name)
        names = sorted(os.listxattr(path, follow_symlinks=False))
        if names:
            out[os.path.relpath(path, root)] = {n: base64.b64encode(os.getxattr(path, n, follow_symlinks=False)).decode() for n in names}
json.dump(out, sys.stdout)
`;

async function readXattrs(root: string): Promise<Record<string, Record<string, string>>> {
  // The system python first: a version manager's shim on PATH costs half a second per call.
  const env = { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}` };
  const { stdout } = await runTool('python3', ['-c', xattrScript, root], { env });
  return JSON.parse(stdout.toString('utf8')) as Record<string, Record<string, string>>;
}

async function unpackTree(layout: string, tag: string, bundle: string): Promise<Tree> {
  const { rootfs } = await umociUnpack(layout, tag, bundle);
  return readTree(rootfs, await readXattrs(rootfs));
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64');

describe.skipIf(skipWithoutTools('umoci', 'skopeo', 'python3'))('normalized and input filesystems are the same (umoci unpack)', () => {
  let dir: TempDir;
  let inputLayout: string;
  let input: Tree;
  const outputs = new Map<Compression, { result: NormalizeResult; tree: Tree; layout: string }>();

  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-equivalence-');
    const image = buildImage({
      layers: [{ tar: await buildTar(noisy(lower, 3), { dialect: 'pax' }) }, { tar: await buildTar(noisy(upper, 5)) }],
      created: '2024-02-03T04:05:06Z',
    });
    inputLayout = await dir.writeDirectory('input', singleImageLayout(image, 'in'));
    input = await unpackTree(inputLayout, 'in', dir.join('input-bundle'));
    for (const compression of ['gzip', 'none'] as const) {
      const layout = dir.join(`normalized-${compression}`);
      const result = await normalizeImage({
        source: `oci:${inputLayout}:in`,
        normalize: { epoch, timestampMode: 'set', disabledRules: new Set() },
        output: `oci:${layout}:out`,
        compression,
      });
      outputs.set(compression, { result, layout, tree: await unpackTree(layout, 'out', dir.join(`bundle-${compression}`)) });
    }
  }, 60_000);
  afterAll(async () => dir?.remove());

  it('the input unpacks to what the fixture means (so the comparison below is not vacuous)', () => {
    const { nodes, mtimes } = input;
    expect(nodes['etc/victim.conf']).toBeUndefined();
    expect(Object.keys(nodes).filter((path) => path.startsWith('var/cache/'))).toEqual(['var/cache/fresh']);
    expect(Object.keys(nodes).some((path) => path.includes('.wh.'))).toBe(false);
    expect(nodes['etc/keep.conf']).toMatchObject({ mode: 0o640, sha256: sha256Hex('keep=2\n') });
    expect(nodes['bin/tool']).toMatchObject({ type: 'file', mode: 0o4755, uid: 0, sameInode: ['bin/tool-hard'] });
    expect(nodes['bin/tool-rel']).toMatchObject({ type: 'symlink', target: 'tool' });
    expect(nodes['bin/dangling']).toMatchObject({ type: 'symlink', target: longTarget });
    expect(nodes['etc/abs-link']).toMatchObject({ type: 'symlink', target: '/etc/keep.conf' });
    expect(nodes['home/user']).toMatchObject({ type: 'dir', mode: 0o750, uid: 1000, gid: 1000 });
    expect(nodes['home/user/notes.txt']).toMatchObject({ mode: 0o600, uid: 1000, gid: 1000 });
    expect(nodes['tmp']).toMatchObject({ type: 'dir', mode: 0o1777 });
    expect(nodes['run/pipe']).toMatchObject({ type: 'fifo', mode: 0o600 });
    expect(nodes[longFile.replace(/\/$/, '')]).toMatchObject({ type: 'file', size: 10 });
    expect(longFile.length).toBeGreaterThan(200);
    // The fixture's mtimes survive in the input: all differ from the epoch.
    expect(Object.values(mtimes).filter((mtime) => mtime === epoch)).toEqual([]);
  });

  it('xattrs are restored by umoci and readable here', () => {
    // Were they not (a filesystem without user xattrs, or an unprivileged run), the comparison could not
    // see them; this test says so rather than letting it pass silently.
    expect(input.nodes['usr/doc.txt'].xattrs).toEqual({ 'user.comment': b64('kept as is') });
    expect(input.nodes['bin/ping'].xattrs).toEqual({ 'security.capability': b64(netRawCapability) });
  });

  for (const compression of ['gzip', 'none'] as const) {
    it(`${compression}: same paths, types, modes, owners, link targets, xattrs and contents; every mtime is the epoch`, () => {
      const output = outputs.get(compression)!;
      expect(output.result.canonicalDigest).toBe(output.result.output?.configDigest);
      expect(output.tree.nodes).toEqual(input.nodes);
      const paths = Object.keys(output.tree.mtimes);
      expect(paths.length).toBe(Object.keys(input.nodes).length);
      expect(Object.entries(output.tree.mtimes).filter(([, mtime]) => mtime !== epoch)).toEqual([]);
    });
  }

  it('both outputs are one image: same canonical digest, and skopeo inspects them', T, async () => {
    const [gzip, none] = [outputs.get('gzip')!, outputs.get('none')!];
    expect(gzip.result.canonicalDigest).toBe(none.result.canonicalDigest);
    for (const { layout, result } of [gzip, none]) {
      const raw = await skopeoInspectRaw(`oci:${layout}:out`);
      expect(raw.json.config?.digest).toBe(result.canonicalDigest);
      const { stdout } = await runTool('skopeo', ['--insecure-policy', 'inspect', `oci:${layout}:out`]);
      const inspected = JSON.parse(stdout.toString('utf8')) as { Created: string; Layers: string[] };
      expect(inspected.Created).toBe(new Date(epoch * 1000).toISOString().replace('.000Z', 'Z'));
      expect(inspected.Layers).toEqual(result.output?.layers.map((layer) => layer.digest));
    }
  });
});
