/**
 * Deterministic benchmark inputs: layer tars (gzip'd with `pigz -6 -n`) and OCI layout directories
 * around them. Everything is derived from seeded PRNGs, so the same parameters give the same bytes;
 * results are cached in bench/out keyed by a hash of the parameters.
 *
 * A layer is a file tree (built from `contentSeed`) written in one of two ways:
 *   canonical  sorted paths (`/` first, as a depth-first walk with sorted children), mtime 0, USTAR,
 *              no owner names: byte for byte the canonical tar, so its diff_id is its canonical diff_id;
 *   shuffled   each directory's children in a PRNG order (`orderSeed`), mtimes from `mtimeSeed`,
 *              uname/gname set: what a build tool might write.
 * For every layer the canonical tar of the same tree is also hashed here (our own USTAR writer, not the
 * tool's), which gives an independent expected canonical diff_id for the harness to check against.
 *
 * Run alone to warm the cache: node bench/generate.js [--sizes 1,4] [--quick] [--entries N (adds that pair)]
 * (or only the entry-count pair: node bench/generate.js --only-entries [--entries N])
 */
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const GENERATOR_VERSION = 1;
const MiB = 1 << 20;
const GiB = 1 << 30;
const block = 512;
const sinkChunk = 4 * MiB;

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const outDir = path.join(benchDir, 'out');
const layersDir = path.join(outDir, 'layers');
const imagesDir = path.join(outDir, 'images');

// ---------------------------------------------------------------------------------------------
// PRNG: sfc32 seeded through splitmix32, so nearby seeds give unrelated streams.

export function createRng(seed) {
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  return {
    u32: next,
    /** Uniform in [0, 1). */
    float: () => next() / 4294967296,
    int: (n) => Math.floor((next() / 4294967296) * n),
    pick: (list) => list[Math.floor((next() / 4294967296) * list.length)],
  };
}

// ---------------------------------------------------------------------------------------------
// Content pools. Files are slices of these at PRNG offsets: cheap to emit, and each pool compresses
// like its kind of real data (deflate only sees 32 KiB back, so reuse of a pool across files that
// are far apart does not make the layer unrealistically compressible).

const textPoolSize = 32 * MiB;
const binaryPoolSize = 32 * MiB;
const randomPoolSize = 8 * MiB;
let pools;

function syllableWords(rng, count) {
  const onsets = ['b', 'c', 'd', 'f', 'g', 'h', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'st', 'tr', 'pr', 'ch', 'sh', 'th', ''];
  const vowels = ['a', 'e', 'i', 'o', 'u', 'ou', 'ea', 'io', 'y'];
  const codas = ['', '', 'n', 'r', 's', 't', 'l', 'nd', 'ng', 'ck', 'x'];
  const words = new Set();
  while (words.size < count) {
    const syllables = 1 + rng.int(3);
    let word = '';
    for (let i = 0; i < syllables; i++) word += rng.pick(onsets) + rng.pick(vowels) + rng.pick(codas);
    words.add(word);
  }
  return [...words];
}

/** Zipf-like pick: low indexes far more often, as word frequencies in real text. */
function zipfIndex(rng, n) {
  const u = rng.float();
  return Math.floor(n * u * u * u);
}

function buildTextPool(rng, words) {
  const out = Buffer.allocUnsafe(textPoolSize);
  let at = 0;
  const punct = [', ', '. ', ' = ', '(', ')', ': ', '; ', ' -> ', '_', '.'];
  while (at < textPoolSize) {
    let piece = '';
    while (piece.length < 65536) {
      const style = rng.int(10);
      let line = ' '.repeat(4 * rng.int(4));
      const length = 3 + rng.int(12);
      for (let i = 0; i < length; i++) {
        line += words[zipfIndex(rng, words.length)];
        if (style < 4) line += i + 1 < length ? ' ' : '.';
        else if (style < 8) line += rng.int(4) === 0 ? rng.pick(punct) : i + 1 < length ? '_' : '';
        else line += rng.int(3) === 0 ? ` ${rng.int(100000)} ` : ' ';
      }
      piece += `${line}\n`;
    }
    at += out.write(piece, at, 'latin1');
  }
  return out;
}

function buildBinaryPool(rng, textPool) {
  const out = Buffer.alloc(binaryPoolSize);
  const opcodes = [0x48, 0x89, 0x8b, 0xe8, 0xc3, 0x0f, 0x85, 0x84, 0x74, 0x75, 0xff, 0x83, 0x31, 0xc0, 0x41, 0x4c, 0x8d, 0x90, 0x55, 0x5d];
  const addresses = Array.from({ length: 64 }, () => rng.u32() & 0x00ffffff);
  let at = 0;
  while (at < binaryPoolSize) {
    const section = rng.int(20);
    const length = Math.min(binaryPoolSize - at, 256 + rng.int(16384));
    if (section < 3) {
      at += length; // zero padding, as between ELF sections
    } else if (section < 6) {
      // string tables
      const from = rng.int(textPoolSize - length);
      textPool.copy(out, at, from, from + length);
      at += length;
    } else {
      // code: common opcodes, small operands, a limited set of addresses
      const end = at + length;
      while (at < end - 8) {
        out[at++] = opcodes[zipfIndex(rng, opcodes.length)];
        const kind = rng.int(12);
        if (kind === 0) {
          out.writeUInt32LE(addresses[zipfIndex(rng, addresses.length)], at);
          at += 4;
        } else if (kind < 6) {
          out[at++] = rng.int(16) * 8;
        } else if (kind === 6) {
          out[at++] = rng.u32() & 0xff;
        }
      }
      at = end;
    }
  }
  return out;
}

function buildRandomPool(rng) {
  const out = Buffer.allocUnsafe(randomPoolSize);
  for (let i = 0; i < randomPoolSize; i += 4) out.writeUInt32LE(rng.u32(), i);
  return out;
}

export function getPools() {
  if (pools === undefined) {
    const rng = createRng(0x5eed);
    const words = syllableWords(rng, 6000);
    const text = buildTextPool(rng, words);
    pools = { words, text, binary: buildBinaryPool(rng, text), random: buildRandomPool(rng) };
  }
  return pools;
}

// ---------------------------------------------------------------------------------------------
// The file tree.

const extensionsByKind = {
  text: ['.py', '.h', '.c', '.txt', '.md', '.json', '.conf', '.html', '.js', '.pl', ''],
  binary: ['.so', '.o', '.a', '.bin', '.mo', ''],
  random: ['.gz', '.png', '.jpg', '.zip', '.woff2', '.xz'],
};
const topDirs = ['usr/lib', 'usr/share', 'usr/include', 'usr/bin', 'opt/app', 'var/lib', 'etc'];

function pickKind(rng) {
  const r = rng.int(100);
  return r < 60 ? 'text' : r < 90 ? 'binary' : 'random';
}

/** Log-uniform size in [min, max]: many small files, a long tail. */
function logUniform(rng, min, max) {
  return Math.floor(Math.exp(Math.log(min) + rng.float() * (Math.log(max) - Math.log(min))));
}

/**
 * Profiles: `mixed` fills `bytes` with files of 32 B..256 KiB plus a few large ones (16..96 MiB,
 * about a fifth of the bytes); `small` makes `files` files of 16 B..4 KiB.
 */
function buildTree(params) {
  const rng = createRng(params.contentSeed);
  const { words } = getPools();
  const root = { name: '', path: '', type: 'dir', children: [] };
  const nodes = [];
  // Directories a new package directory may go under, kept as they are added (filtering all
  // directories per new one was quadratic: most of the 918 s a 1,000,000-entry layer took).
  const candidates = [];
  let counter = 0;
  const addNode = (parent, node) => {
    node.id = nodes.length;
    node.path = node.type === 'dir' ? `${parent.path}${node.name}/` : `${parent.path}${node.name}`;
    parent.children.push(node);
    nodes.push(node);
    if (node.type === 'dir' && node.path.length < 50 && node.path.split('/').length < 6) candidates.push(node);
    return node;
  };
  const ensureDir = (dirPath) => {
    let parent = root;
    for (const part of dirPath.split('/')) {
      let child = parent.children.find((c) => c.name === part);
      if (child === undefined) child = addNode(parent, { name: part, type: 'dir', mode: 0o755, uid: 0, gid: 0, children: [] });
      parent = child;
    }
    return parent;
  };
  const tops = topDirs.map(ensureDir);
  const newPackageDir = () => {
    const parent = rng.int(3) === 0 ? rng.pick(candidates) : rng.pick(tops);
    const name = `${words[rng.int(words.length)].slice(0, 12)}-${(counter++).toString(36)}`;
    const uid = rng.int(8) === 0 ? 1000 : 0;
    return addNode(parent, { name, type: 'dir', mode: 0o755, uid, gid: uid, children: [] });
  };
  const addFile = (dir, kind, size) => {
    const name = `${words[rng.int(words.length)].slice(0, 14)}${(counter++).toString(36)}${rng.pick(extensionsByKind[kind])}`;
    const pool = getPools()[kind];
    const executable = kind === 'binary' && rng.int(3) === 0;
    addNode(dir, { name, type: 'file', kind, size, offset: rng.int(pool.length), mode: executable ? 0o755 : 0o644, uid: dir.uid, gid: dir.gid });
    if (kind === 'binary' && rng.int(20) === 0) {
      addNode(dir, { name: `${name}.link`, type: 'symlink', linkname: name, mode: 0o777, uid: dir.uid, gid: dir.gid });
    }
  };

  let tarBytes = 0;
  const fileCost = (size) => block + Math.ceil(size / block) * block;
  let dir = newPackageDir();
  let left = 5 + rng.int(40);
  const nextDir = () => {
    if (--left <= 0) {
      dir = newPackageDir();
      left = 5 + rng.int(40);
      tarBytes += block;
    }
  };
  if (params.profile === 'small' || params.profile === 'entries') {
    // 'entries': files of 1 to 256 bytes, so a layer is about 1 KiB of tar per entry and the entry
    // count, not the bytes, is what it measures.
    const [min, max] = params.profile === 'small' ? [16, 4096] : [1, 256];
    for (let i = 0; i < params.files; i++) {
      addFile(dir, pickKind(rng), logUniform(rng, min, max));
      nextDir();
    }
  } else {
    let largeBytes = 0;
    while (tarBytes < params.bytes) {
      if (largeBytes < params.bytes / 5 && rng.int(2000) === 0) {
        const size = logUniform(rng, 16 * MiB, 96 * MiB);
        addFile(dir, rng.int(4) === 0 ? 'text' : 'binary', size);
        largeBytes += size;
        tarBytes += fileCost(size);
        continue;
      }
      const size = logUniform(rng, 32, 256 * 1024);
      addFile(dir, pickKind(rng), size);
      tarBytes += fileCost(size);
      nextDir();
    }
  }
  return { root, nodes };
}

// ---------------------------------------------------------------------------------------------
// USTAR writing.

function writeOctal(buf, at, digits, value) {
  let v = value;
  for (let i = digits - 1; i >= 0; i--) {
    buf[at + i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  buf[at + digits] = 0;
}

const typeflags = { file: 0x30, symlink: 0x32, dir: 0x35 };

function writeHeader(buf, at, node, mtime, owners) {
  buf.fill(0, at, at + block);
  if (Buffer.byteLength(node.path) > 99) throw new Error(`path too long for the generator: ${node.path}`);
  buf.write(node.path, at, 'utf8');
  writeOctal(buf, at + 100, 7, node.mode);
  writeOctal(buf, at + 108, 7, node.uid);
  writeOctal(buf, at + 116, 7, node.gid);
  writeOctal(buf, at + 124, 11, node.type === 'file' ? node.size : 0);
  writeOctal(buf, at + 136, 11, mtime);
  buf.fill(0x20, at + 148, at + 156);
  buf[at + 156] = typeflags[node.type];
  if (node.linkname !== undefined) buf.write(node.linkname, at + 157, 'utf8');
  buf.write('ustar\u000000', at + 257, 'latin1');
  if (owners) {
    const name = node.uid === 0 ? 'root' : 'app';
    buf.write(name, at + 265, 'latin1');
    buf.write(name, at + 297, 'latin1');
  }
  let sum = 0;
  for (let i = at; i < at + block; i++) sum += buf[i];
  writeOctal(buf, at + 148, 6, sum);
  buf[at + 155] = 0x20;
}

/** Collects bytes into 4 MiB chunks and hands full chunks to `flush` (which may return a promise). */
class ChunkSink {
  constructor(flush) {
    this.flush = flush;
    this.chunk = Buffer.allocUnsafe(sinkChunk);
    this.used = 0;
    this.full = [];
    this.size = 0;
  }
  reserve(bytes) {
    if (this.used + bytes > this.chunk.length) this.rotate();
    const at = this.used;
    this.used += bytes;
    this.size += bytes;
    return at;
  }
  write(bytes) {
    let from = 0;
    while (from < bytes.length) {
      const n = Math.min(bytes.length - from, this.chunk.length - this.used);
      bytes.copy(this.chunk, this.used, from, from + n);
      this.used += n;
      this.size += n;
      from += n;
      if (this.used === this.chunk.length) this.rotate();
    }
  }
  zeros(count) {
    let left = count;
    while (left > 0) {
      const n = Math.min(left, this.chunk.length - this.used);
      this.chunk.fill(0, this.used, this.used + n);
      this.used += n;
      this.size += n;
      left -= n;
      if (this.used === this.chunk.length) this.rotate();
    }
  }
  rotate() {
    this.full.push(this.chunk.subarray(0, this.used));
    this.chunk = Buffer.allocUnsafe(sinkChunk);
    this.used = 0;
  }
  async drain() {
    while (this.full.length > 0) await this.flush(this.full.shift());
  }
  async end() {
    if (this.used > 0) this.rotate();
    await this.drain();
  }
}

/** Entries in write order: a depth-first walk, children sorted (canonical) or shuffled per directory. */
function walkOrder(root, order, orderSeed) {
  const rng = order === 'shuffled' ? createRng(orderSeed) : null;
  const out = [];
  const visit = (dir) => {
    const children = [...dir.children];
    if (rng === null) {
      children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } else {
      for (let i = children.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [children[i], children[j]] = [children[j], children[i]];
      }
    }
    for (const child of children) {
      out.push(child);
      if (child.type === 'dir') visit(child);
    }
  };
  visit(root);
  return out;
}

/** Entries up to this much content are written into the chunk in one piece. */
const smallEntry = 64 * 1024;

/** Writes the tar of `tree` in `order` into `sink`. */
async function writeTar(tree, sink, { order, orderSeed, mtimeSeed, mtimeBase }) {
  const canonical = order === 'canonical';
  const mtimeRng = canonical ? null : createRng(mtimeSeed);
  const allPools = getPools();
  const entries = walkOrder(tree.root, order, orderSeed);
  // mtimes by node id, so they do not depend on the order the entries are written in
  const mtimes = canonical ? null : tree.nodes.map(() => mtimeBase + mtimeRng.int(30 * 86400));
  for (const node of entries) {
    const mtime = canonical ? 0 : mtimes[node.id];
    const padded = node.type === 'file' ? Math.ceil(node.size / block) * block : 0;
    if (padded <= smallEntry) {
      // Header, content and padding straight into the chunk: the common case, no per-entry copies or awaits.
      const at = sink.reserve(block + padded);
      writeHeader(sink.chunk, at, node, mtime, !canonical);
      if (padded > 0) {
        const pool = allPools[node.kind];
        const n = Math.min(node.size, pool.length - node.offset);
        pool.copy(sink.chunk, at + block, node.offset, node.offset + n);
        if (n < node.size) pool.copy(sink.chunk, at + block + n, 0, node.size - n);
        sink.chunk.fill(0, at + block + node.size, at + block + padded);
      }
      if (sink.full.length > 0) await sink.drain();
      continue;
    }
    const at = sink.reserve(block);
    writeHeader(sink.chunk, at, node, mtime, !canonical);
    if (node.type === 'file') {
      const pool = allPools[node.kind];
      let remaining = node.size;
      let offset = node.offset;
      while (remaining > 0) {
        const n = Math.min(remaining, pool.length - offset);
        sink.write(pool.subarray(offset, offset + n));
        remaining -= n;
        offset = 0;
        if (sink.full.length > 0) await sink.drain();
      }
      const pad = (block - (node.size % block)) % block;
      if (pad > 0) sink.zeros(pad);
    }
    if (sink.full.length > 0) await sink.drain();
  }
  sink.zeros(2 * block);
  await sink.end();
  return entries.length;
}

// ---------------------------------------------------------------------------------------------
// Cached layers and images.

function keyOf(params) {
  return createHash('sha256').update(JSON.stringify({ v: GENERATOR_VERSION, ...params })).digest('hex').slice(0, 16);
}

export function layerName(params) {
  return `${params.name}-${keyOf(params)}`;
}

/** Expected canonical diff_ids by tree parameters, for this process. */
const canonicalDiffIds = new Map();

async function writeToPipe(stream, chunk) {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

/**
 * Makes (or finds in the cache) the gzip'd layer for `params` and returns its facts:
 * { gzPath, tarPath?, digest, size, diffId, canonicalDiffId, tarSize, entries }.
 * params: { name, contentSeed, profile: 'mixed'|'small'|'entries', bytes|files, order: 'canonical'|'shuffled',
 *           orderSeed?, mtimeSeed?, mtimeBase?, keepTar?: boolean }
 */
export async function ensureLayer(params, log = () => {}) {
  fs.mkdirSync(layersDir, { recursive: true });
  const base = path.join(layersDir, layerName(params));
  const metaPath = `${base}.json`;
  const gzPath = `${base}.tar.gz`;
  const tarPath = params.keepTar ? `${base}.tar` : undefined;
  if (fs.existsSync(metaPath)) {
    const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
    const ok = fs.existsSync(gzPath) && fs.statSync(gzPath).size === meta.size && (!tarPath || (fs.existsSync(tarPath) && fs.statSync(tarPath).size === meta.tarSize));
    if (ok) return meta;
  }
  const started = Date.now();
  log(`generating layer ${params.name} (${describeParams(params)})`);
  const tree = buildTree(params);

  const pigz = spawn('pigz', ['-6', '-n', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const gzHash = createHash('sha256');
  const gzOut = fs.createWriteStream(`${gzPath}.part`);
  let gzSize = 0;
  pigz.stdout.on('data', (chunk) => {
    gzHash.update(chunk);
    gzSize += chunk.length;
    if (!gzOut.write(chunk)) {
      pigz.stdout.pause();
      gzOut.once('drain', () => pigz.stdout.resume());
    }
  });
  const pigzDone = new Promise((resolve, reject) => {
    pigz.on('error', reject);
    pigz.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pigz exited with ${code}`))));
  });
  const tarOut = tarPath ? fs.createWriteStream(`${tarPath}.part`) : null;
  const tarHash = createHash('sha256');
  const sink = new ChunkSink(async (chunk) => {
    tarHash.update(chunk);
    const writes = [writeToPipe(pigz.stdin, chunk)];
    if (tarOut) writes.push(writeToPipe(tarOut, chunk));
    await Promise.all(writes);
  });
  const entries = await writeTar(tree, sink, params);
  pigz.stdin.end();
  await pigzDone;
  gzOut.end();
  await once(gzOut, 'finish');
  if (tarOut) {
    tarOut.end();
    await once(tarOut, 'finish');
  }
  const diffId = `sha256:${tarHash.digest('hex')}`;

  // The expected canonical diff_id: the same tree written by our own canonical writer, hashed only.
  // A and B of a pair share their tree, so it is hashed once per process.
  let canonicalDiffId = diffId;
  if (params.order !== 'canonical') {
    const treeKey = JSON.stringify([params.contentSeed, params.profile, params.bytes, params.files]);
    canonicalDiffId = canonicalDiffIds.get(treeKey);
    if (canonicalDiffId === undefined) {
      const canonicalHash = createHash('sha256');
      await writeTar(tree, new ChunkSink((chunk) => canonicalHash.update(chunk)), { order: 'canonical' });
      canonicalDiffId = `sha256:${canonicalHash.digest('hex')}`;
      canonicalDiffIds.set(treeKey, canonicalDiffId);
    }
  }
  const meta = {
    name: params.name,
    params,
    gzPath,
    tarPath,
    digest: `sha256:${gzHash.digest('hex')}`,
    size: gzSize,
    diffId,
    canonicalDiffId,
    tarSize: sink.size,
    entries,
    files: tree.nodes.filter((n) => n.type === 'file').length,
  };
  fs.renameSync(`${gzPath}.part`, gzPath);
  if (tarPath) fs.renameSync(`${tarPath}.part`, tarPath);
  fs.writeFileSync(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
  log(`  ${mib(meta.tarSize)} MiB tar, ${mib(meta.size)} MiB gzip, ${entries} entries, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return meta;
}

function describeParams(params) {
  const what =
    params.profile === 'small' ? `${params.files} small files` : params.profile === 'entries' ? `${params.files} tiny files` : `${(params.bytes / GiB).toFixed(2)} GiB`;
  return `${what}, ${params.order}`;
}

const mib = (bytes) => (bytes / MiB).toFixed(0);

function writeBlob(dir, bytes) {
  const digest = createHash('sha256').update(bytes).digest('hex');
  fs.writeFileSync(path.join(dir, 'blobs', 'sha256', digest), bytes);
  return { digest: `sha256:${digest}`, size: bytes.length };
}

/**
 * An OCI layout directory bench/out/images/NAME around `layers` (facts from ensureLayer); layer blobs
 * are hardlinks to the cached gzip files. `created` goes into the config and its history, so two
 * images of the same layers can differ in build noise only.
 */
export function writeImage(name, layers, { created }) {
  const dir = path.join(imagesDir, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  for (const layer of layers) {
    const blob = path.join(dir, 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
    if (!fs.existsSync(blob)) fs.linkSync(layer.gzPath, blob);
  }
  const config = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history: layers.map((_layer, i) => ({ created, created_by: `COPY rootfs-${i} /` })),
  };
  const configBlob = writeBlob(dir, Buffer.from(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.size })),
  };
  const manifestBlob = writeBlob(dir, Buffer.from(JSON.stringify(manifest)));
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifestBlob,
        annotations: { 'org.opencontainers.image.ref.name': 'latest' },
      },
    ],
  };
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
  return { name, dir, reference: `oci:${dir}`, layers, imageId: configBlob.digest, manifestDigest: manifestBlob.digest };
}

/**
 * A docker-archive of `image` for diffoscope, cached by its manifest digest. Member names are the same
 * in every archive (`config.json`, `N/layer.tar.gz`): diffoscope pairs members by name, and in an
 * oci-archive the blob names are digests, which differ between A and B, so it would compare nothing
 * inside the layers. Layers stay gzip'd (Docker's loader accepts that); diffoscope inflates them.
 */
export function ensureDockerArchive(image) {
  const file = path.join(imagesDir, `${image.name}-${image.manifestDigest.slice(7, 23)}.docker.tar`);
  if (fs.existsSync(file)) return file;
  const staging = `${file}.staging`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging);
  const blob = (digest) => path.join(image.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  fs.copyFileSync(blob(image.imageId), path.join(staging, 'config.json'));
  const layers = image.layers.map((layer, i) => {
    fs.mkdirSync(path.join(staging, String(i)));
    fs.linkSync(layer.gzPath, path.join(staging, String(i), 'layer.tar.gz'));
    return `${i}/layer.tar.gz`;
  });
  fs.writeFileSync(path.join(staging, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['bench:latest'], Layers: layers }]));
  execFileSync('tar', ['--sort=name', '-cf', `${file}.part`, '-C', staging, '.']);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.renameSync(`${file}.part`, file);
  return file;
}

// ---------------------------------------------------------------------------------------------
// The benchmark's inputs.

const dates = { a: '2024-03-01T10:00:00Z', b: '2024-03-02T11:30:00Z', canonical: '1970-01-01T00:00:00Z' };
const mtimeBases = { a: 1709287200, b: 1709379000 };

/** The layers and images of the benchmark at `sizeGiB` (mixed profile), and the small-files set. */
export async function ensureMixedSet(sizeGiB, log) {
  const bytes = sizeGiB * GiB;
  const contentSeed = 1000 + sizeGiB;
  const shuffled = (which, extra = {}) => ({ order: 'shuffled', orderSeed: which === 'a' ? 11 : 22, mtimeSeed: which === 'a' ? 33 : 44, mtimeBase: mtimeBases[which], ...extra });
  const inOrder = await ensureLayer({ name: `mixed-${sizeGiB}g-canonical`, contentSeed, profile: 'mixed', bytes, order: 'canonical' }, log);
  const layerA = await ensureLayer({ name: `mixed-${sizeGiB}g-a`, contentSeed, profile: 'mixed', bytes, ...shuffled('a') }, log);
  const halves = [];
  for (const part of [1, 2]) {
    halves.push(await ensureLayer({ name: `half-${sizeGiB}g-${part}`, contentSeed: 2000 + 10 * sizeGiB + part, profile: 'mixed', bytes: bytes / 2, keepTar: true, ...shuffled('a') }, log));
  }
  return {
    canonical: writeImage(`mixed-${sizeGiB}g-canonical`, [inOrder], { created: dates.canonical }),
    a: writeImage(`mixed-${sizeGiB}g-a`, [layerA], { created: dates.a }),
    twoLayers: writeImage(`two-layers-${sizeGiB}g`, halves, { created: dates.a }),
  };
}

/** The verify pair's B (same files as A, other order and mtimes); built for the smallest size only. */
export async function ensureVerifyPair(sizeGiB, a, log) {
  const layerB = await ensureLayer({ ...a.layers[0].params, name: `mixed-${sizeGiB}g-b`, orderSeed: 22, mtimeSeed: 44, mtimeBase: mtimeBases.b }, log);
  return writeImage(`mixed-${sizeGiB}g-b`, [layerB], { created: dates.b });
}

/** The 100,000-small-files layer: in order, and a shuffled pair A/B for verify. */
export async function ensureSmallSet(files, log) {
  const base = { contentSeed: 3000, profile: 'small', files };
  const layers = {
    canonical: await ensureLayer({ ...base, name: `small-${files}-canonical`, order: 'canonical' }, log),
    a: await ensureLayer({ ...base, name: `small-${files}-a`, order: 'shuffled', orderSeed: 11, mtimeSeed: 33, mtimeBase: mtimeBases.a }, log),
    b: await ensureLayer({ ...base, name: `small-${files}-b`, order: 'shuffled', orderSeed: 22, mtimeSeed: 44, mtimeBase: mtimeBases.b }, log),
  };
  return {
    canonical: writeImage(`small-${files}-canonical`, [layers.canonical], { created: dates.canonical }),
    a: writeImage(`small-${files}-a`, [layers.a], { created: dates.a }),
    b: writeImage(`small-${files}-b`, [layers.b], { created: dates.b }),
  };
}

/**
 * The entry-count pair: `files` files of 1 to 256 B (1,000,000 in the benchmark), A and B shuffled
 * differently, for peak RSS against the entry count (issue 12, "Memory flat in entries").
 */
export async function ensureEntriesSet(files, log) {
  const base = { contentSeed: 4000, profile: 'entries', files };
  const layers = {
    a: await ensureLayer({ ...base, name: `entries-${files}-a`, order: 'shuffled', orderSeed: 11, mtimeSeed: 33, mtimeBase: mtimeBases.a }, log),
    b: await ensureLayer({ ...base, name: `entries-${files}-b`, order: 'shuffled', orderSeed: 22, mtimeSeed: 44, mtimeBase: mtimeBases.b }, log),
  };
  return {
    a: writeImage(`entries-${files}-a`, [layers.a], { created: dates.a }),
    b: writeImage(`entries-${files}-b`, [layers.b], { created: dates.b }),
  };
}

export function parseSizes(argv) {
  if (argv.includes('--quick')) return [1];
  const at = argv.indexOf('--sizes');
  if (at === -1) return [1, 4];
  const sizes = argv[at + 1]?.split(',').map(Number);
  // Fractions are for trying the harness out; the benchmark's figures use 1 GiB and more.
  if (!sizes || sizes.some((s) => !(s > 0))) throw new Error('--sizes takes GiB counts, e.g. --sizes 1,4');
  return sizes;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const log = (line) => console.error(line);
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--entries');
  const entries = at === -1 ? 1_000_000 : Number(argv[at + 1]);
  if (!(Number.isInteger(entries) && entries > 0)) throw new Error('--entries takes a positive entry count');
  if (!argv.includes('--only-entries')) {
    const sizes = parseSizes(argv);
    for (const size of sizes) {
      const set = await ensureMixedSet(size, log);
      if (size === sizes[0]) await ensureVerifyPair(size, set.a, log);
    }
    await ensureSmallSet(100_000, log);
  }
  // As in run.js: the entry-count pair only when asked for.
  if (at !== -1 || argv.includes('--only-entries')) await ensureEntriesSet(entries, log);
}
