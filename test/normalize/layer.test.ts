import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import { canonicalFieldsOf, resolveLayerRules, type LayerSummary } from '../../src/normalize/entry.js';
import { normalizeLayer, type NormalizeLayerOptions } from '../../src/normalize/layer.js';
import { defaultNormalizeOptions, type RuleName } from '../../src/normalize/options.js';
import {
  buildTar,
  readTar,
  reversed,
  shuffled,
  tarStream,
  withDotSlash,
  withExtraTimes,
  withHardlinkCarrier,
  withLeadingSlash,
  withMtimes,
  withOwnerNames,
  withSubSecondMtimes,
  type TestEntry,
} from '../helpers/tar.js';
import { sha256Of } from '../helpers/digest.js';

type Options = Partial<NormalizeLayerOptions> & { disable?: RuleName[]; chunkSize?: number };

function optionsOf({ disable, chunkSize: _chunkSize, ...rest }: Options): NormalizeLayerOptions {
  return { ...defaultNormalizeOptions, disabledRules: new Set(disable ?? []), ...rest };
}

function normalize(tar: Buffer, options: Options = {}): Promise<LayerSummary> {
  return normalizeLayer(tarStream(tar, options.chunkSize), optionsOf(options));
}

/** Normalizes with an output that completes writes asynchronously, so backpressure is real. */
async function normalizeWithOutput(tar: Buffer, options: Options = {}) {
  const chunks: Buffer[] = [];
  const output = new Writable({
    highWaterMark: 1 << 16,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      setImmediate(callback);
    },
  });
  const summary = await normalizeLayer(tarStream(tar, options.chunkSize), { ...optionsOf(options), output });
  return { summary, canonical: Buffer.concat(chunks) };
}

const longDir = `usr/share/${'long-directory-name-'.repeat(4)}`;
const prefixPath = `${longDir}/${'f'.repeat(80)}.txt`; // over 100 bytes: USTAR prefix+name
const paxPath = `${longDir}/${'g'.repeat(200)}.txt`; // over 256 bytes: PAX path
const longTarget = `/opt/${'target/'.repeat(20)}end`;

/** A small layer, in canonical order, with every kind of entry the rules touch. */
const base: TestEntry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/hostname', content: 'layer\n' },
  { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n', mode: 0o600 },
  { name: 'opt/', type: 'directory' },
  { name: 'opt/link-to-long', type: 'symlink', linkname: longTarget },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/bin/', type: 'directory' },
  { name: 'usr/bin/sh', type: 'symlink', linkname: '/bin/busybox' },
  { name: 'usr/bin/tool', content: Buffer.alloc(3000, 7), mode: 0o4755, uid: 1000, gid: 1000 },
  { name: 'usr/bin/tool-alias', type: 'link', linkname: 'usr/bin/tool' },
  { name: 'usr/bin/zz-tool', type: 'link', linkname: 'usr/bin/tool' },
  { name: 'usr/lib/', type: 'directory' },
  { name: 'usr/lib/a/', type: 'directory' },
  { name: 'usr/lib/a/x.so', content: 'elf' },
  { name: 'usr/lib/a-b/', type: 'directory' },
  { name: 'usr/lib/a.c', content: 'int main;' },
  { name: 'usr/share/', type: 'directory' },
  { name: `${longDir}/`, type: 'directory' },
  { name: prefixPath, content: 'prefix' },
  { name: paxPath, content: 'pax' },
  { name: 'var/', type: 'directory' },
  { name: 'var/.wh.tmp', content: '' },
  { name: 'var/cache/', type: 'directory' },
  { name: 'var/cache/.wh..wh..opq', content: '' },
];

const noisyVariants: Array<[string, () => TestEntry[] | Promise<Buffer>]> = [
  ['mtime', () => withMtimes(base, new Date('2024-05-06T07:08:09Z'))],
  ['mtime differing per entry', () => withMtimes(base, (_entry, i) => new Date(Date.UTC(2022, 0, 1, 0, 0, i)))],
  ['sub-second mtime (PAX)', () => withSubSecondMtimes(base)],
  ['entry order (reversed)', () => reversed(base)],
  ['entry order (shuffled)', () => shuffled(base, 7)],
  ['atime/ctime PAX records', () => withExtraTimes(base)],
  ['GNU long names', () => buildTar(base, { dialect: 'gnu' })],
  ['PAX header on every entry', () => buildTar(base, { dialect: 'pax' })],
  ['owner names', () => withOwnerNames(base)],
  ['./ prefixes', () => withDotSlash(base)],
  ['leading /', () => withLeadingSlash(base)],
  ['hardlink group carried by another path', () => withHardlinkCarrier(base, 'usr/bin/zz-tool')],
  ['hardlink group carried by the middle path', () => withHardlinkCarrier(base, 'usr/bin/tool-alias')],
  [
    'duplicate paths (stale versions first)',
    () => [{ name: 'etc/hostname', content: 'stale\n' }, { name: 'usr/bin/tool', content: 'old' }, ...base],
  ],
  [
    'duplicate path at the end',
    () => [...base.map((e) => (e.name === 'etc/hostname' ? { ...e, content: 'stale\n' } : e)), base[1]],
  ],
  ['file replaced by a directory and back', () => [{ name: 'usr/lib/a.c/', type: 'directory' }, ...base]],
];

async function tarOf(variant: () => TestEntry[] | Promise<Buffer>): Promise<Buffer> {
  const made = await variant();
  return Buffer.isBuffer(made) ? made : buildTar(made);
}

const rules = resolveLayerRules(defaultNormalizeOptions);
const canonicalTable = (summary: LayerSummary) => summary.entries.map((e) => canonicalFieldsOf(e, rules));

describe('each layer rule: a noisy variant has a different diff_id and the same canonical digest', async () => {
  const baseTar = await buildTar(base);
  const expected = await normalize(baseTar);

  test('the base layer is in canonical order and fully described', () => {
    expect(expected.inCanonicalOrder).toBe(true);
    expect(expected.duplicatePaths).toEqual([]);
    expect(expected.entries.map((e) => e.path)).toEqual(base.map((e) => e.name));
    expect(expected.tarDigest).toBe(sha256Of(baseTar));
    expect(expected.tarSize).toBe(baseTar.length);
  });

  test.each(noisyVariants)('%s', async (_name, variant) => {
    const tar = await tarOf(variant);
    const summary = await normalize(tar);
    expect(summary.tarDigest).not.toBe(expected.tarDigest);
    expect(summary.canonicalDigest).toBe(expected.canonicalDigest);
    expect(canonicalTable(summary)).toEqual(canonicalTable(expected));
  });

  test('GNU long names and PAX long names give the same canonical tar', async () => {
    const gnu = await normalize(await buildTar(base, { dialect: 'gnu' }));
    const pax = await normalize(await buildTar(base, { dialect: 'pax' }));
    expect(gnu.tarDigest).not.toBe(pax.tarDigest);
    expect(gnu.dialects).toEqual(['gnu']);
    expect(pax.dialects).toEqual(['pax', 'ustar']);
    expect(gnu.canonicalDigest).toBe(pax.canonicalDigest);
  });

  test('the same canonical digest whether hashed in the pass, re-read, or written to an output', async () => {
    for (const [name, variant] of [['in order', () => base] as const, ...noisyVariants]) {
      const tar = await tarOf(variant);
      let reopened = 0;
      const withReopen = await normalize(tar, {
        reopen: () => {
          reopened++;
          return tarStream(tar);
        },
      });
      const { summary, canonical } = await normalizeWithOutput(tar);
      expect(withReopen.canonicalDigest, name).toBe(expected.canonicalDigest);
      expect(summary.canonicalDigest, name).toBe(expected.canonicalDigest);
      expect(sha256Of(canonical), name).toBe(expected.canonicalDigest);
      // An input that breaks canonical order (under the active rules) is read a second time.
      const mustReread = name !== 'in order' && !/mtime|atime|GNU|PAX|owner|prefix|leading/.test(name);
      expect(reopened, name).toBe(mustReread ? 1 : 0);
      expect(withReopen.tarDigest, name).toBe(sha256Of(tar));
    }
  });

  test('summaries report order, duplicates and input positions', async () => {
    const dup = await normalize(await tarOf(noisyVariants.find(([n]) => n === 'duplicate paths (stale versions first)')![1]));
    expect(dup.inCanonicalOrder).toBe(false);
    expect(dup.duplicatePaths).toEqual(['etc/hostname', 'usr/bin/tool']);
    expect(dup.entries.find((e) => e.path === 'etc/hostname')!.inputIndex).toBe(3);
    const shuffledSummary = await normalize(await buildTar(shuffled(base, 3)));
    expect(shuffledSummary.inCanonicalOrder).toBe(false);
    expect(shuffledSummary.entries.map((e) => e.path)).toEqual(expected.entries.map((e) => e.path));
  });
});

describe('each rule can be turned off', async () => {
  const baseTar = await buildTar(base);

  test('mtime: input mtimes are kept', async () => {
    const mtime = new Date('2024-05-06T07:08:09Z');
    const a = await normalizeWithOutput(await buildTar(withMtimes(base, mtime)), { disable: ['mtime'] });
    const b = await normalize(baseTar, { disable: ['mtime'] });
    expect(a.summary.canonicalDigest).not.toBe(b.canonicalDigest);
    const read = await readTar(a.canonical);
    expect(new Set(read.map((e) => e.mtime))).toEqual(new Set([mtime.getTime() / 1000]));
  });

  test('entry-order: the input order is kept', async () => {
    const input = shuffled(base, 5);
    const { summary, canonical } = await normalizeWithOutput(await buildTar(input), { disable: ['entry-order'] });
    expect(summary.entries.map((e) => e.path)).toEqual(input.map((e) => e.name));
    expect((await readTar(canonical)).map((e) => e.name)).toEqual(input.map((e) => e.name));
    expect(summary.canonicalDigest).not.toBe((await normalize(baseTar, { disable: ['entry-order'] })).canonicalDigest);
  });

  test('extra-times: atime and ctime are kept', async () => {
    const { summary, canonical } = await normalizeWithOutput(await buildTar(withExtraTimes(base, 1700000000.5, 1700000001)), {
      disable: ['extra-times'],
    });
    expect(summary.entries[0]).toMatchObject({ atime: 1700000000.5, ctime: 1700000001 });
    const read = await readTar(canonical);
    expect(read[0].pax).toMatchObject({ atime: '1700000000.5', ctime: '1700000001' });
  });

  test('owner-names: uname and gname are kept', async () => {
    const { canonical } = await normalizeWithOutput(await buildTar(withOwnerNames(base, 'builder', 'staff')), {
      disable: ['owner-names'],
    });
    const read = await readTar(canonical);
    expect(read.every((e) => e.uname === 'builder' && e.gname === 'staff')).toBe(true);
  });

  test('owner names are recorded in the table even when normalization drops them', async () => {
    const summary = await normalize(await buildTar(withOwnerNames(base, 'builder', 'staff')));
    expect(summary.entries[0]).toMatchObject({ uname: 'builder', gname: 'staff' });
  });

  test('path-spelling: names are kept as written', async () => {
    const { summary, canonical } = await normalizeWithOutput(await buildTar(withDotSlash(base)), {
      disable: ['path-spelling'],
    });
    expect(summary.entries[0].path).toBe('./etc/');
    expect((await readTar(canonical)).every((e) => e.name.startsWith('./'))).toBe(true);
  });

  test('hardlinks: the input carrier keeps the data', async () => {
    const input = withHardlinkCarrier(base, 'usr/bin/zz-tool');
    const { summary } = await normalizeWithOutput(await buildTar(input), { disable: ['hardlinks'] });
    const byPath = new Map(summary.entries.map((e) => [e.path, e]));
    expect(byPath.get('usr/bin/zz-tool')!.type).toBe('file');
    expect(byPath.get('usr/bin/tool')).toMatchObject({ type: 'hardlink', linkname: 'usr/bin/zz-tool' });
    expect(summary.canonicalDigest).not.toBe((await normalize(baseTar, { disable: ['hardlinks'] })).canonicalDigest);
  });

  test('duplicate-paths: every entry is kept', async () => {
    const input = [{ name: 'etc/hostname', content: 'stale\n' }, ...base];
    const { summary, canonical } = await normalizeWithOutput(await buildTar(input), { disable: ['duplicate-paths'] });
    expect(summary.entries.filter((e) => e.path === 'etc/hostname')).toHaveLength(2);
    expect(summary.duplicatePaths).toEqual(['etc/hostname']);
    const read = await readTar(canonical);
    expect(read.filter((e) => e.name === 'etc/hostname').map((e) => e.content.toString())).toEqual(['stale\n', 'layer\n']);
  });

  test('tar-dialect: writer-specific PAX records are kept, ACL records always', async () => {
    const input: TestEntry[] = [
      { name: 'f', content: 'x', pax: { comment: 'made by a tool', 'SCHILY.dev': '2049', 'SCHILY.acl.access': 'user::rw-' } },
    ];
    const on = await normalizeWithOutput(await buildTar(input));
    const off = await normalizeWithOutput(await buildTar(input), { disable: ['tar-dialect'] });
    expect(on.summary.entries[0].pax).toEqual({ 'SCHILY.acl.access': 'user::rw-' });
    expect(off.summary.entries[0].pax).toEqual({ comment: 'made by a tool', 'SCHILY.dev': '2049', 'SCHILY.acl.access': 'user::rw-' });
    expect((await readTar(on.canonical))[0].pax).toEqual({ 'SCHILY.acl.access': 'user::rw-' });
    expect((await readTar(off.canonical))[0].pax).toMatchObject({ comment: 'made by a tool' });
  });
});

describe('the canonical tar', async () => {
  const baseTar = await buildTar(base);

  test('is idempotent: normalizing it again gives the same bytes', async () => {
    for (const tar of [baseTar, await buildTar(shuffled(withOwnerNames(withDotSlash(base)), 9), { dialect: 'gnu' })]) {
      const first = await normalizeWithOutput(tar);
      expect(sha256Of(first.canonical)).toBe(first.summary.canonicalDigest);
      expect(first.canonical.length).toBe(first.summary.canonicalSize);
      const second = await normalizeWithOutput(first.canonical);
      expect(second.summary.tarDigest).toBe(first.summary.canonicalDigest);
      expect(second.summary.inCanonicalOrder).toBe(true);
      expect(second.canonical.equals(first.canonical)).toBe(true);
    }
  });

  test('is read back by tar-stream with the same entries and contents', async () => {
    const { canonical } = await normalizeWithOutput(await buildTar(shuffled(base, 2), { dialect: 'gnu' }));
    const read = await readTar(canonical);
    expect(read.map((e) => e.name)).toEqual(base.map((e) => e.name));
    for (const [i, entry] of base.entries()) {
      const got = read[i];
      expect(got.mtime, entry.name).toBe(0);
      expect(got.uname, entry.name).toBe('');
      // A hardlink is the same inode as its target: it carries the target's mode.
      const modeOf = entry.type === 'link' ? base.find((e) => e.name === entry.linkname)!.mode : entry.mode;
      expect(got.mode, entry.name).toBe(modeOf ?? (entry.type === 'directory' ? 0o755 : 0o644));
      if (entry.type === 'link') expect(got).toMatchObject({ type: 'link', linkname: entry.linkname });
      else if (entry.type === 'symlink') expect(got).toMatchObject({ type: 'symlink', linkname: entry.linkname });
      else if (entry.type !== 'directory') expect(got.content.toString('latin1')).toBe(Buffer.from(entry.content ?? '').toString('latin1'));
    }
    expect(read.find((e) => e.name === paxPath)!.pax).toEqual({ path: paxPath });
    expect(read.find((e) => e.name === prefixPath)!.pax).toBeNull();
  });

  test('ends with two zero blocks and nothing after them', async () => {
    const { canonical } = await normalizeWithOutput(baseTar);
    expect(canonical.length % 512).toBe(0);
    expect(canonical.subarray(-1024).every((b) => b === 0)).toBe(true);
    expect(canonical.subarray(-1536, -1024).some((b) => b !== 0)).toBe(true);
  });

  test('an empty layer is just the end marker', async () => {
    const summary = await normalize(Buffer.alloc(1024));
    expect(summary.entries).toEqual([]);
    expect(summary.canonicalDigest).toBe(sha256Of(Buffer.alloc(1024)));
  });

  test('clamp mode keeps earlier mtimes and rewrites later ones; set mode rewrites all', async () => {
    const epoch = Date.UTC(2021, 0, 1) / 1000;
    const input: TestEntry[] = [
      { name: 'early', content: 'a', mtime: new Date('2020-06-01T00:00:00Z') },
      { name: 'late', content: 'b', mtime: new Date('2023-06-01T00:00:00Z') },
    ];
    const clamped = await readTar((await normalizeWithOutput(await buildTar(input), { epoch, timestampMode: 'clamp' })).canonical);
    expect(clamped.map((e) => e.mtime)).toEqual([Date.UTC(2020, 5, 1) / 1000, epoch]);
    const set = await readTar((await normalizeWithOutput(await buildTar(input), { epoch, timestampMode: 'set' })).canonical);
    expect(set.map((e) => e.mtime)).toEqual([epoch, epoch]);
    // Clamping a sub-second mtime keeps whole seconds.
    const fractional = [{ name: 'f', content: 'x', pax: { mtime: '1500000000.75' } }];
    const read = await readTar((await normalizeWithOutput(await buildTar(fractional), { epoch, timestampMode: 'clamp' })).canonical);
    expect(read[0].mtime).toBe(1500000000);
    expect(read[0].pax).toBeNull();
  });

  test('real differences change the canonical digest', async () => {
    const expected = (await normalize(baseTar)).canonicalDigest;
    const changes: Array<[string, (e: TestEntry) => TestEntry]> = [
      ['content', (e) => (e.name === 'etc/hostname' ? { ...e, content: 'other\n' } : e)],
      ['mode', (e) => (e.name === 'etc/passwd' ? { ...e, mode: 0o644 } : e)],
      ['uid', (e) => (e.name === 'usr/bin/tool' ? { ...e, uid: 0 } : e)],
      ['symlink target', (e) => (e.name === 'usr/bin/sh' ? { ...e, linkname: '/bin/dash' } : e)],
      ['xattr', (e) => (e.name === 'usr/bin/tool' ? { ...e, pax: { 'SCHILY.xattr.user.x': '1' } } : e)],
      ['whiteout', (e) => (e.name === 'var/.wh.tmp' ? { ...e, name: 'var/.wh.tmq' } : e)],
    ];
    for (const [what, change] of changes) {
      const summary = await normalize(await buildTar(base.map(change)));
      expect(summary.canonicalDigest, what).not.toBe(expected);
    }
    const hostname = (await normalize(await buildTar(base.map(changes[0][1])))).entries[1];
    expect(hostname.contentDigest).toBe(sha256Of(Buffer.from('other\n')));
  });

  test('xattrs are kept byte for byte, from SCHILY or LIBARCHIVE records', async () => {
    const capability = Buffer.from([1, 0, 0, 2, 0x80, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const input: TestEntry[] = [
      { name: 'bin/ping', content: 'elf', pax: { 'SCHILY.xattr.security.capability': capability, 'SCHILY.xattr.user.note': 'hi' } },
      { name: 'bin/other', content: 'elf', pax: { 'LIBARCHIVE.xattr.user.note': Buffer.from('hé').toString('base64') } },
    ];
    const { summary, canonical } = await normalizeWithOutput(await buildTar(input));
    const ping = summary.entries.find((e) => e.path === 'bin/ping')!;
    expect(Buffer.from(ping.xattrs['security.capability'], 'latin1').equals(capability)).toBe(true);
    expect(ping.xattrs['user.note']).toBe('hi');
    const other = summary.entries.find((e) => e.path === 'bin/other')!;
    expect(Buffer.from(other.xattrs['user.note'], 'latin1').toString()).toBe('hé');
    // The canonical tar carries them as SCHILY records; reading it again gives the same table.
    const again = await normalize(canonical);
    expect(again.entries.map((e) => e.xattrs)).toEqual(summary.entries.map((e) => e.xattrs));
    expect(again.canonicalDigest).toBe(summary.canonicalDigest);
  });

  test('whiteouts are kept as plain files', async () => {
    const { summary, canonical } = await normalizeWithOutput(await buildTar(shuffled(base, 4)));
    const read = await readTar(canonical);
    for (const name of ['var/.wh.tmp', 'var/cache/.wh..wh..opq']) {
      expect(read.find((e) => e.name === name)).toMatchObject({ type: 'file', size: 0 });
      expect(summary.entries.find((e) => e.path === name)).toMatchObject({ type: 'file', size: 0 });
    }
  });

  test('devices, fifos and the root entry', async () => {
    const input: TestEntry[] = [
      { name: './', type: 'directory', mode: 0o700 },
      { name: './dev/', type: 'directory' },
      { name: './dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: './dev/sda', type: 'block-device', devmajor: 8, devminor: 0 },
      { name: './run/fifo', type: 'fifo' },
    ];
    const { summary, canonical } = await normalizeWithOutput(await buildTar([...input].reverse()));
    expect(summary.entries.map((e) => [e.path, e.type])).toEqual([
      ['./', 'directory'],
      ['dev/', 'directory'],
      ['dev/null', 'char'],
      ['dev/sda', 'block'],
      ['run/fifo', 'fifo'],
    ]);
    expect(summary.entries[2]).toMatchObject({ devmajor: 1, devminor: 3 });
    const read = await readTar(canonical);
    expect(read.map((e) => e.type)).toEqual(['directory', 'directory', 'character-device', 'block-device', 'fifo']);
    expect(read[2]).toMatchObject({ devmajor: 1, devminor: 3 });
  });

  test('a hardlink to a path outside the layer stays a link', async () => {
    const { summary, canonical } = await normalizeWithOutput(
      await buildTar([{ name: 'b', type: 'link', linkname: './lower/file' }, { name: 'a', content: 'x' }]),
    );
    expect(summary.entries[1]).toMatchObject({ path: 'b', type: 'hardlink', linkname: 'lower/file', size: 0 });
    expect(summary.entries[1].contentDigest).toBeUndefined();
    expect((await readTar(canonical))[1]).toMatchObject({ name: 'b', type: 'link', linkname: 'lower/file' });
  });

  test('a hardlink keeps the content its target had when it was linked', async () => {
    // As a runtime applies it: 'b' shares the first inode of 'a'; the second 'a' is a new file.
    const input: TestEntry[] = [
      { name: 'a', content: 'first', mode: 0o600 },
      { name: 'b', type: 'link', linkname: 'a' },
      { name: 'a', content: 'second' },
    ];
    const { summary, canonical } = await normalizeWithOutput(await buildTar(input));
    expect(summary.duplicatePaths).toEqual(['a']);
    expect(summary.entries.map((e) => [e.path, e.type, e.mode])).toEqual([
      ['a', 'file', 0o644],
      ['b', 'file', 0o600],
    ]);
    const read = await readTar(canonical);
    expect(read.map((e) => e.content.toString())).toEqual(['second', 'first']);
  });

  test('does not depend on how the input is chunked', async () => {
    const tar = await buildTar(shuffled(base, 11), { dialect: 'gnu' });
    const expected = await normalize(tar);
    for (const chunkSize of [1, 7, 511, 513, 4096]) {
      const summary = await normalize(tar, { chunkSize });
      expect(summary, String(chunkSize)).toEqual(expected);
    }
  });
});

describe('broken input', async () => {
  const baseTar = await buildTar(base);

  async function failure(tar: Buffer): Promise<OciReproError> {
    const error = await normalize(tar).then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OciReproError);
    return error as OciReproError;
  }

  test('a truncated tar is an unexpected end of archive', async () => {
    for (const cut of [baseTar.length - 1024 - 100, 700, 512 + 5]) {
      const error = await failure(baseTar.subarray(0, cut));
      expect(error.code).toBe('CORRUPT_ARCHIVE');
      expect(error.message).toBe('unexpected end of archive');
      expect(error.exitCode).toBe(3);
    }
  });

  test('a missing end-of-archive marker is accepted, as runtimes do', async () => {
    const summary = await normalize(baseTar.subarray(0, baseTar.length - 1024));
    expect(summary.canonicalDigest).toBe((await normalize(baseTar)).canonicalDigest);
  });

  test('a corrupt header or a compressed blob is an invalid tar header', async () => {
    const corrupt = Buffer.from(baseTar);
    corrupt[512 + 3] ^= 0x20; // the name of the second entry
    const error = await failure(corrupt);
    expect(error.code).toBe('CORRUPT_ARCHIVE');
    expect(error.message).toBe('invalid tar header at offset 512');
    const gzipped = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(1020, 1)]);
    expect((await failure(gzipped)).message).toBe('invalid tar header at offset 0');
  });

  test('data after a single zero block is rejected', async () => {
    const twoTars = Buffer.concat([baseTar.subarray(0, baseTar.length - 512), baseTar]);
    expect((await failure(twoTars)).message).toMatch(/^invalid tar header at offset \d+$/);
  });

  test('unknown entry types are unsupported', async () => {
    const tar = Buffer.from(await buildTar([{ name: 'x', content: '' }]));
    tar[156] = 'S'.charCodeAt(0); // GNU sparse
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i];
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const error = await failure(tar);
    expect(error.code).toBe('UNSUPPORTED');
  });

  test('an output that fails rejects, and does not hang', async () => {
    const output = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    await expect(normalizeLayer(tarStream(baseTar), { ...defaultNormalizeOptions, output })).rejects.toThrow(/disk full/);
  });
});
