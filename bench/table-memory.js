/**
 * Where the bytes of an entry table go: normalizes a generated layer of N entries in this process
 * (dist/ must be built) and measures the V8 heap the table keeps, then takes it apart field by field
 * (each field dropped in turn, heap measured after a full GC). Also times the layer pass (CPU, best of
 * `--repeat`). The layer is made here from a seeded PRNG, streamed, never written to disk.
 *
 *   node --expose-gc bench/table-memory.js [--entries 100000] [--order shuffled|canonical] [--repeat 5]
 *                                          [--dist DIR]   (another build to compare with, e.g. a main checkout's dist)
 */
import { Readable } from 'node:stream';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchDir, createRng } from './generate.js';

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : process.argv[at + 1];
}
const dist = path.join(option('--dist', path.join(benchDir, '..', 'dist')), 'normalize');
const { normalizeLayer } = await import(pathToFileURL(path.join(dist, 'layer.js')).href);
const { scanLayer } = await import(pathToFileURL(path.join(dist, 'layer-scan.js')).href);
const { resolveLayerRules, comparePaths } = await import(pathToFileURL(path.join(dist, 'entry.js')).href);
const { resolveNormalizeOptions } = await import(pathToFileURL(path.join(dist, 'options.js')).href).catch(() => ({}));

const entries = Number(option('--entries', '100000'));
const order = option('--order', 'shuffled');
const repeat = Number(option('--repeat', '5'));
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

const block = 512;
const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];

/** The members of the layer: about one directory per 20 entries, 5% symlinks, files of 0..300 bytes. */
function members(count, seed) {
  const rng = createRng(seed);
  const int = (n) => rng.u32() % n;
  const list = [];
  let dir = null;
  let left = 0;
  for (let i = 0; list.length < count; i++) {
    if (left === 0) {
      dir = `usr/lib/${words[int(words.length)]}-${i.toString(36)}/`;
      list.push({ path: dir, type: 'dir', size: 0, uid: 0 });
      left = 5 + int(30);
      continue;
    }
    left--;
    const name = `${dir}${words[int(words.length)]}${int(1e9).toString(36)}.so`;
    if (int(20) === 0) list.push({ path: name, type: 'symlink', size: 0, uid: 0, linkname: `../lib${int(1000)}.so` });
    else list.push({ path: name, type: 'file', size: int(300), uid: int(8) === 0 ? 1000 : 0 });
  }
  if (order === 'canonical') list.sort((a, b) => comparePaths(a.path, b.path));
  else for (let i = list.length - 1; i > 0; i--) {
    // Shuffled within runs of 64: out of canonical order, as a build tool's readdir order is.
    const j = i - (rng.u32() % Math.min(64, i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

function octal(buf, at, digits, value) {
  buf.write(value.toString(8).padStart(digits, '0'), at, 'latin1');
}

function header(member, mtime) {
  const buf = Buffer.alloc(block);
  buf.write(member.path, 0, 'utf8');
  octal(buf, 100, 7, member.type === 'dir' ? 0o755 : 0o644);
  octal(buf, 108, 7, member.uid);
  octal(buf, 116, 7, member.uid);
  octal(buf, 124, 11, member.size);
  octal(buf, 136, 11, mtime);
  buf.fill(0x20, 148, 156);
  buf[156] = member.type === 'dir' ? 0x35 : member.type === 'symlink' ? 0x32 : 0x30;
  if (member.linkname) buf.write(member.linkname, 157, 'latin1');
  buf.write('ustar\u000000', 257, 'latin1');
  const owner = member.uid === 0 ? 'root' : 'app';
  buf.write(owner, 265, 'latin1');
  buf.write(owner, 297, 'latin1');
  let sum = 0;
  for (let i = 0; i < block; i++) sum += buf[i];
  octal(buf, 148, 6, sum);
  buf[154] = 0;
  return buf;
}

function* tarChunks(list) {
  const content = Buffer.alloc(block, 0x61);
  let parts = [];
  let size = 0;
  for (let i = 0; i < list.length; i++) {
    const member = list[i];
    parts.push(header(member, 1700000000 + i));
    size += block;
    if (member.size > 0) {
      content.writeUInt32BE(i, 0);
      parts.push(content.subarray(0, block));
      size += block;
    }
    if (size >= 1 << 20) {
      yield Buffer.concat(parts);
      parts = [];
      size = 0;
    }
  }
  parts.push(Buffer.alloc(2 * block));
  yield Buffer.concat(parts);
}

const options = { epoch: 0, timestampMode: 'clamp', disabledRules: new Set(), ...(resolveNormalizeOptions?.({}) ?? {}) };

function heap() {
  globalThis.gc();
  globalThis.gc();
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

const perEntry = (bytes) => (bytes / entries).toFixed(1);
const list = members(entries, 7);
const rows = [];
const row = (what, bytes) => rows.push([what, perEntry(bytes)]);

// 1. The pass's own structures (scan result: records, roots, spoolOffsets, maps and sets).
{
  const before = heap();
  const scan = await scanLayer(Readable.from(tarChunks(list)), resolveLayerRules(options), {
    spool: null,
    hashCanonical: true,
    stopWhenUnordered: false,
    contentDigests: true,
  });
  const all = heap() - before;
  row('scan result, total', all);
  let last = all;
  const drop = (what, fn) => {
    fn();
    const now = heap() - before;
    row(`  ${what}`, last - now);
    last = now;
  };
  drop('latestByKey + superseded + duplicateKeys', () => {
    scan.latestByKey = null;
    scan.superseded = null;
    scan.duplicateKeys = null;
  });
  drop('roots + spoolOffsets', () => {
    scan.roots = null;
    scan.spoolOffsets = null;
  });
  drop('records: contentDigest strings', () => {
    for (const r of scan.records) if (r.contentDigest !== undefined) r.contentDigest = undefined;
  });
  drop('records: uname/gname strings', () => {
    for (const r of scan.records) r.uname = r.gname = '';
  });
  drop('records: linkname strings', () => {
    for (const r of scan.records) if (r.linkname !== undefined) r.linkname = undefined;
  });
  drop('records: path strings', () => {
    for (const r of scan.records) r.path = '';
  });
  drop('records: entry objects + array', () => {
    scan.records = null;
  });
  row('  rest', last);
}

// 2. What normalizeLayer returns (the table the comparer holds), and the pass's CPU time.
let summary = null;
const times = [];
for (let i = 0; i < repeat; i++) {
  summary = null;
  const before = heap();
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  // The table in memory, whatever its size: what is measured here is what an entry costs before it spills.
  summary = await normalizeLayer(Readable.from(tarChunks(list)), { ...options, contentDigests: true, spillEntries: Infinity });
  const used = process.cpuUsage(cpu);
  times.push({ cpu: (used.user + used.system) / 1e6, wall: Number(process.hrtime.bigint() - wall) / 1e9 });
  if (i === 0) row('normalizeLayer result (table), total', heap() - before);
}
const best = times.reduce((a, b) => (a.cpu < b.cpu ? a : b));
console.log(`${entries} entries (${order}), ${summary.entries.length} in the table, canonical ${summary.canonicalDigest.slice(0, 19)}…`);
console.log(`layer pass: best of ${repeat}: ${best.cpu.toFixed(3)} s CPU, ${best.wall.toFixed(3)} s wall (generation of the tar included)`);
console.log(`rss now ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
console.log('bytes per entry (V8 heap + external, after full GC):');
for (const [what, bytes] of rows) console.log(`  ${what.padEnd(44)} ${bytes.padStart(8)}`);
