// Entry tables spilled to disk (entry-spill.ts, entry-merge.ts) give what the in-memory table gives:
// the same entries, duplicates, hardlink groups, canonical tar, rules applied and file differences,
// on generated layers with duplicates, hardlinks (chains, superseded targets, missing targets),
// whiteouts, symlinks, xattrs and shuffled order. And nothing is left on disk, also after an error.
import { readdirSync, readlinkSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { compareLayerPair, type LayerInput } from '../../src/compare/layers.js';
import { OciReproError } from '../../src/errors.js';
import { comparePaths, type LayerSummary } from '../../src/normalize/entry.js';
import { layerRulesApplied } from '../../src/normalize/layer-applied.js';
import { normalizeLayer, type NormalizeLayerOptions } from '../../src/normalize/layer.js';
import { closeSummary, entryCount } from '../../src/normalize/layer-table.js';
import { defaultNormalizeOptions, type RuleName } from '../../src/normalize/options.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { runCli } from '../helpers/cli.js';
import { buildTar, shuffled, tarStream, type TestEntry } from '../helpers/tar.js';
import { identity } from '../compare/entries.js';

const dirs: TempDir[] = [];
afterAll(async () => {
  for (const dir of dirs) await dir.remove();
});
async function tempDir(): Promise<TempDir> {
  const dir = await TempDir.create('oci-repro-spill-');
  dirs.push(dir);
  return dir;
}

/** A seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const mtime = new Date('2023-01-02T03:04:05Z');

/**
 * A layer of about `count` entries: directories with files, symlinks, xattrs; then the hard cases
 * spread through it: duplicate paths (a file written twice, a file replaced by a directory), hardlinks
 * to earlier files, to links (chains), to a target replaced later, to a missing path, and whiteouts.
 */
function generateLayer(count: number, seed: number): TestEntry[] {
  const random = rng(seed);
  const entries: TestEntry[] = [];
  const files: string[] = [];
  for (let d = 0; entries.length < count; d++) {
    const dir = `usr/lib/d${d.toString(36)}/`;
    entries.push({ name: dir, type: 'directory', mtime });
    for (let f = 0, n = 2 + Math.floor(random() * 6); f < n; f++) {
      const name = `${dir}f${f}-${Math.floor(random() * 1e6).toString(36)}`;
      const roll = random();
      if (roll < 0.08) entries.push({ name, type: 'symlink', linkname: `../x${f}`, mtime });
      else if (roll < 0.12) entries.push({ name, content: `x${f}`, mtime, pax: { 'SCHILY.xattr.user.k': `v${d}` } });
      else {
        entries.push({ name, content: `content ${name} ${Math.floor(random() * 3)}`, mtime, uid: roll < 0.2 ? 1000 : 0 });
        files.push(name);
      }
    }
  }
  const pick = () => files[Math.floor(random() * files.length)];
  const extra: TestEntry[] = [];
  for (let i = 0; i < 6; i++) extra.push({ name: pick(), content: `rewritten ${i}`, mtime });
  const link1 = 'opt/links/one';
  const target = pick();
  extra.push({ name: link1, type: 'link', linkname: target, mtime });
  extra.push({ name: 'opt/links/chain', type: 'link', linkname: link1, mtime });
  extra.push({ name: 'aaa/first-link', type: 'link', linkname: pick(), mtime });
  extra.push({ name: 'opt/links/missing', type: 'link', linkname: 'no/such/file', mtime });
  const replaced = pick();
  extra.push({ name: 'opt/links/to-replaced', type: 'link', linkname: replaced, mtime });
  extra.push({ name: replaced, content: 'replaced after the link', mtime });
  const dirTurned = pick();
  extra.push({ name: `${dirTurned}/`, type: 'directory', mtime });
  extra.push({ name: 'usr/lib/d1/.wh.gone', content: '', mtime });
  extra.push({ name: 'usr/lib/d2/.wh..wh..opq', content: '', mtime });
  extra.push({ name: 'zzz/last-link', type: 'link', linkname: target, mtime });
  // Spread through the layer, so duplicates and links cross run boundaries.
  const result = entries.slice();
  extra.forEach((entry, i) => result.splice(Math.floor(((i + 1) * result.length) / (extra.length + 1)) + i, 0, entry));
  return result;
}

type Options = Partial<NormalizeLayerOptions> & { disable?: RuleName[] };

function optionsOf({ disable, ...rest }: Options): NormalizeLayerOptions {
  return { ...defaultNormalizeOptions, disabledRules: new Set(disable ?? []), ...rest };
}

async function normalizeBoth(tar: Buffer, options: Options = {}) {
  const run = async (spillEntries: number) => {
    const chunks: Buffer[] = [];
    const output = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    const withOutput = await normalizeLayer(tarStream(tar, 4096), { ...optionsOf(options), spillEntries, output });
    const hashed = await normalizeLayer(tarStream(tar, 4096), { ...optionsOf(options), spillEntries });
    const reopened = await normalizeLayer(tarStream(tar, 4096), { ...optionsOf(options), spillEntries, reopen: () => tarStream(tar) });
    return { withOutput, hashed, reopened, canonical: Buffer.concat(chunks) };
  };
  return { memory: await run(Infinity), spilled: await run(7) };
}

function expectSameSummary(spilled: LayerSummary, memory: LayerSummary, what: string): void {
  expect(memory.spilled, what).toBeUndefined();
  expect(spilled.spilled?.runs, what).toBeGreaterThan(1);
  expect(entryCount(spilled), what).toBe(memory.entries.length);
  // Entries as plain data: an in-memory record's digest is a getter; a spilled table is read back from disk.
  const plain = (summary: LayerSummary) => ({ ...summary, entries: summary.entries.map((e) => ({ ...e, contentDigest: e.contentDigest })) });
  expect(plain(spilled), what).toEqual(plain(memory));
  expect(layerRulesApplied(spilled, optionsOf({})), what).toEqual(layerRulesApplied(memory, optionsOf({})));
}

/** The layer as `tar --sort=name` would write it: one entry per path (the last), in canonical order. */
function canonicalOrder(entries: TestEntry[]): TestEntry[] {
  const byKey = new Map(entries.map((entry) => [entry.name.replace(/\/$/, ''), entry]));
  return [...byKey.values()].sort((x, y) => comparePaths(x.name, y.name));
}

const variants: [string, (entries: TestEntry[]) => TestEntry[]][] = [
  ['generated order', (entries) => entries],
  ['canonical order', canonicalOrder],
  ['shuffled', (entries) => shuffled(entries, 5)],
  ['reversed', (entries) => entries.slice().reverse()],
];

describe('a spilled table gives what the in-memory table gives', () => {
  for (const [name, order] of variants) {
    test(`${name}: entries, duplicates, hardlink groups, canonical tar`, async () => {
      const tar = await buildTar(order(generateLayer(300, 7)));
      const { memory, spilled } = await normalizeBoth(tar);
      if (name !== 'canonical order') expect(memory.hashed.duplicatePaths.length, 'the layer has duplicates').toBeGreaterThan(0);
      else expect(memory.hashed.inCanonicalOrder).toBe(true);
      expect(memory.hashed.entries.filter((e) => e.type === 'hardlink').length, 'and hardlinks').toBeGreaterThan(3);
      for (const key of ['withOutput', 'hashed', 'reopened'] as const) expectSameSummary(spilled[key], memory[key], `${name} ${key}`);
      expect(spilled.canonical.equals(memory.canonical)).toBe(true);
      expect(spilled.hashed.canonicalDigest).toBe(memory.hashed.canonicalDigest);
      for (const run of [memory, spilled]) for (const summary of [run.withOutput, run.hashed, run.reopened]) closeSummary(summary);
    });
  }

  for (const disable of [['hardlinks'], ['duplicate-paths'], ['path-spelling']] as RuleName[][]) {
    test(`with rule ${disable[0]} off`, async () => {
      const tar = await buildTar(shuffled(generateLayer(200, 11), 3));
      const { memory, spilled } = await normalizeBoth(tar, { disable });
      expectSameSummary(spilled.hashed, memory.hashed, disable[0]);
      expect(spilled.canonical.equals(memory.canonical)).toBe(true);
    });
  }

  test('a layer in canonical order whose links sit next to their targets is read once', async () => {
    const entries: TestEntry[] = [];
    for (let d = 0; d < 40; d++) {
      const dir = `d${String(d).padStart(2, '0')}/`;
      entries.push({ name: dir, type: 'directory', mtime }, { name: `${dir}a`, content: `a${d}`, mtime }, { name: `${dir}b`, type: 'link', linkname: `${dir}a`, mtime });
    }
    const tar = await buildTar(entries);
    let reopened = 0;
    const reopen = () => {
      reopened++;
      return tarStream(tar);
    };
    // Batches of 3 hold a directory, its file and the link to it: every link finds its target in memory.
    const spilled = await normalizeLayer(tarStream(tar), { ...optionsOf({}), spillEntries: 3, reopen });
    const memory = await normalizeLayer(tarStream(tar), { ...optionsOf({}), spillEntries: Infinity });
    expect(spilled.spilled?.runs).toBe(40);
    expect(reopened).toBe(0);
    expectSameSummary(spilled, memory, 'links beside targets');
    // Batches of 2 part links from their targets: those are left to the merge, and the layer read again.
    const parted = await normalizeLayer(tarStream(tar), { ...optionsOf({}), spillEntries: 2, reopen });
    expect(reopened).toBe(1);
    expectSameSummary(parted, memory, 'links parted from targets');
  });

  test("with rule 'entry-order' off the table keeps the input order: nothing spills", async () => {
    const tar = await buildTar(shuffled(generateLayer(100, 3), 2));
    const summary = await normalizeLayer(tarStream(tar), { ...optionsOf({ disable: ['entry-order'] }), spillEntries: 7 });
    expect(summary.spilled).toBeUndefined();
  });

  test('a hard link to a directory is refused the same way', async () => {
    const entries = generateLayer(60, 5);
    entries.push({ name: 'late/link', type: 'link', linkname: 'usr/lib/d1', mtime });
    const tar = await buildTar(entries);
    const errors = await Promise.all(
      [Infinity, 7].map((spillEntries) => normalizeLayer(tarStream(tar), { ...optionsOf({}), spillEntries }).catch((error: unknown) => error)),
    );
    expect(errors[0]).toBeInstanceOf(OciReproError);
    expect((errors[1] as Error).message).toBe((errors[0] as Error).message);
    expect((errors[1] as Error).message).toMatch(/hard link "late\/link" .* is a directory/);
  });
});

describe('comparing spilled tables', () => {
  test('gives the differences and counts of the in-memory comparison', async () => {
    const entriesA = generateLayer(250, 21);
    const entriesB = shuffled(entriesA, 9)
      .filter((entry) => entry.name !== entriesA[40]!.name)
      .map((entry) => (entry.name === entriesA[60]!.name ? { ...entry, mtime: new Date('2024-01-01T00:00:00Z') } : entry))
      .map((entry) => (entry.name === entriesA[80]!.name && entry.type === undefined ? { ...entry, content: 'changed' } : entry));
    entriesB.push({ name: 'new/file', content: 'added', mtime });
    const [tarA, tarB] = await Promise.all([buildTar(entriesA), buildTar(entriesB)]);
    const compare = async (spillEntries: number) => {
      const [a, b] = await Promise.all([tarA, tarB].map((tar) => normalizeLayer(tarStream(tar), { ...optionsOf({}), spillEntries })));
      const input = (summary: LayerSummary, c: string): LayerInput => ({
        identity: identity(0, { digest: `sha256:${c.repeat(64)}`, diffId: summary.tarDigest }),
        summary,
        contentDigests: true,
      });
      const result = compareLayerPair(0, input(a!, 'a'), input(b!, 'b'), optionsOf({}));
      return { result, spilled: [a!.spilled?.runs, b!.spilled?.runs] };
    };
    const memory = await compare(Infinity);
    const spilled = await compare(7);
    expect(memory.spilled).toEqual([undefined, undefined]);
    expect(spilled.spilled[0]).toBeGreaterThan(1);
    expect(memory.result.comparison.status).toBe('content');
    expect(memory.result.differences.map((d) => d.kind)).toEqual(expect.arrayContaining(['file-removed', 'file-added', 'file-attribute', 'entry-order']));
    expect(spilled.result).toEqual(memory.result);
  });
});

/** Paths of this process's open descriptors that are in `dir`. */
function openFilesIn(dir: string): string[] {
  const open: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(`${dir}/`)) open.push(target);
    } catch {
      // closed while listing
    }
  }
  return open;
}

describe('nothing is left on disk', () => {
  test('the run file is unlinked while in use and closed by closeSummary', async () => {
    const dir = await tempDir();
    const tar = await buildTar(generateLayer(100, 4));
    const summary = await normalizeLayer(tarStream(tar), { ...optionsOf({}), spillEntries: 7, spoolDir: dir.path });
    expect(summary.spilled?.runs).toBeGreaterThan(1);
    expect(readdirSync(dir.path)).toEqual([]);
    expect(openFilesIn(dir.path)).toEqual([expect.stringMatching(/oci-repro-entries-.* \(deleted\)$/)]);
    closeSummary(summary);
    expect(openFilesIn(dir.path)).toEqual([]);
  });

  test('a corrupt tar midway: the error, and no file or descriptor left', async () => {
    const dir = await tempDir();
    const tar = await buildTar(generateLayer(100, 4));
    const corrupt = Buffer.from(tar);
    // A header block far into the layer, after several runs were written: its checksum no longer matches.
    const at = Math.floor(tar.length / 1024) * 512;
    for (let offset = at; offset < tar.length; offset += 512) {
      if (corrupt.readUInt8(offset + 257) === 0x75 /* 'u' of ustar */) {
        corrupt.write('garbage!', offset + 148, 'latin1');
        break;
      }
    }
    const error = await normalizeLayer(tarStream(corrupt), { ...optionsOf({}), spillEntries: 7, spoolDir: dir.path }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OciReproError);
    expect(readdirSync(dir.path)).toEqual([]);
    expect(openFilesIn(dir.path)).toEqual([]);
  });

  test('verify and normalize through bin/run.js with spilling forced: a result, exit 3 on bad input, an empty temp dir', async () => {
    const dir = await tempDir();
    const tmp = dir.join('tmp');
    const entries = generateLayer(120, 8);
    const image = (tar: Buffer) => singleImageLayout(buildImage({ layers: [{ tar }] }));
    const a = await dir.writeDirectory('a', image(await buildTar(entries)));
    const b = await dir.writeDirectory('b', image(await buildTar(shuffled(entries, 4))));
    const tar = await buildTar(entries);
    const truncated = tar.subarray(0, Math.floor(tar.length / 1024) * 512 + 100);
    const bad = await dir.writeDirectory('bad', image(truncated));
    await dir.writeDirectory('tmp', [{ name: 'keep', type: 'directory' }]);
    const env = { TMPDIR: tmp, OCI_REPRO_SPILL_ENTRIES: '5' };
    // B is A shuffled: its duplicate paths keep other versions, so there is something to report.
    const verify = await runCli(['verify', `oci:${a}`, `oci:${b}`, '--json'], { env, cwd: dir.path });
    const inMemory = await runCli(['verify', `oci:${a}`, `oci:${b}`, '--json'], { env: { TMPDIR: tmp }, cwd: dir.path });
    expect(verify.stderr).toBe('');
    expect(JSON.parse(verify.stdout).verdict).toBe('not-reproducible');
    expect(JSON.parse(verify.stdout)).toEqual(JSON.parse(inMemory.stdout));
    const normalize = await runCli(['normalize', `oci:${b}`, '--json'], { env, cwd: dir.path });
    const normalizeInMemory = await runCli(['normalize', `oci:${b}`, '--json'], { env: { TMPDIR: tmp }, cwd: dir.path });
    expect(normalize.code).toBe(0);
    expect(JSON.parse(normalize.stdout)).toEqual(JSON.parse(normalizeInMemory.stdout));
    const failed = await runCli(['verify', `oci:${a}`, `oci:${bad}`], { env, cwd: dir.path });
    expect(failed.code).toBe(3);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(tmp)).toEqual(['keep']);
  }, 180_000);
});
