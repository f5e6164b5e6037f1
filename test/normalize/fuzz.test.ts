// A property test over damaged and hostile layer tars: header fields (size, mode, mtime, typeflag,
// checksum, magic/version, ...), PAX records (length fields, bad keys, huge values), names (`..`, NUL,
// very long), GNU long names, byte flips and truncation at any offset, each wrapped in a valid OCI
// layout (digests, sizes and diff_ids consistent, so the bytes reach the tar parser). Each case runs
// `normalizeImage` with an output through the library; a few run bin/run.js. Every case ends in success
// or a one-line exit-3 error: never an internal error, a hang, an unhandled rejection, a partial output
// or a spool file left in TMPDIR. A success is also idempotent: the canonical tar normalizes to itself.
// The seed is printed, and fixed under CI (test/setup/fast-check-seed.ts); FUZZ_SEED=N replays a run,
// FUZZ_RUNS=N and FUZZ_CLI_RUNS=N change the numbers of cases.
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import type { Compression } from '../../src/image/media-types.js';
import { normalizeLayer } from '../../src/normalize/layer.js';
import { defaultNormalizeOptions, layerRuleNames, type LayerRuleName, type NormalizeOptions } from '../../src/normalize/options.js';
import { normalizeImage } from '../../src/app/normalize.js';
import { buildImage, singleImageLayout, TempDir, type LayerCompression } from '../helpers/images.js';
import { buildTar, shuffled, tarStream, type TestEntry } from '../helpers/tar.js';
import { block, fixChecksum, headerBlocks, headerFields, setField, type HeaderField } from '../helpers/tar-mutate.js';
import { runCli } from '../helpers/cli.js';
import { propertySeed } from '../setup/fast-check-seed.js';

const seed = propertySeed;
const runs = Number(process.env.FUZZ_RUNS ?? 500);
const cliRuns = Number(process.env.FUZZ_CLI_RUNS ?? 20);
/** Longer than any healthy case takes on a loaded machine; a case past it is a hang. */
const caseLimitMs = 15_000;

// ---------------------------------------------------------------------------------------------
// Valid layers to start from: every dialect the parser reads, in and out of canonical order.

const entries: TestEntry[] = [
  { name: './', type: 'directory' },
  { name: 'dev/', type: 'directory' },
  { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
  { name: 'etc/', type: 'directory' },
  { name: 'etc/app.conf', content: 'port=8080\n', uname: 'root', gname: 'root' },
  { name: 'etc/empty', content: '' },
  { name: `opt/${'long-directory-name/'.repeat(6)}file.txt`, content: 'deep\n'.repeat(50) },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/bin/', type: 'directory' },
  { name: 'usr/bin/app', content: Buffer.alloc(1500, 7), mode: 0o755 },
  { name: 'usr/bin/app-hard', type: 'link', linkname: 'usr/bin/app' },
  { name: 'usr/bin/app-link', type: 'symlink', linkname: '../../usr/bin/app' },
  { name: 'var/fifo', type: 'fifo' },
  { name: 'var/.wh.old', content: '' },
];
const withXattrs: TestEntry[] = entries.map((entry) =>
  entry.name === 'usr/bin/app' ? { ...entry, pax: { 'SCHILY.xattr.security.capability': Buffer.from([1, 0, 0, 2, 0x20, 0, 0, 0]) } } : entry,
);

let bases: Buffer[] = [];

// ---------------------------------------------------------------------------------------------
// Mutations

type Mutation =
  | { kind: 'field'; header: number; field: HeaderField; value: Uint8Array; checksum: boolean }
  | { kind: 'number'; header: number; field: 'mode' | 'uid' | 'gid' | 'size' | 'mtime' | 'devmajor' | 'devminor'; value: Uint8Array }
  | { kind: 'name'; header: number; field: 'name' | 'linkname' | 'prefix'; value: string }
  | { kind: 'typeflag'; header: number; value: string }
  | { kind: 'pax'; header: number; typeflag: 'x' | 'g'; records: { key: string; value: string; lengthDelta: number }[] }
  | { kind: 'gnu-long'; header: number; typeflag: 'L' | 'K'; value: string; terminate: boolean }
  | { kind: 'flip'; at: number; byte: number; checksum: boolean }
  | { kind: 'truncate'; at: number };

const hostileNames = [
  '..',
  '../x',
  'a/../../x',
  '/../x',
  './../x',
  'a/..',
  '.',
  './',
  '/',
  '',
  'a\0b',
  'a//b/./c',
  '\u00e9t\u00e9',
  'x'.repeat(99),
  'x'.repeat(100),
  `${'d/'.repeat(60)}f`,
  'usr/bin/app',
  'usr/bin/app/',
  'usr/',
  'etc',
  'dev/null',
];

const fieldNames = Object.keys(headerFields) as HeaderField[];

const bytes = (max: number) => fc.uint8Array({ maxLength: max });

/** Numbers as the fields spell them, and as they must not: octal, base-256, spaces, signs, garbage. */
function numberField(length: number): fc.Arbitrary<Uint8Array> {
  const text = (value: string) => new Uint8Array(Buffer.from(value, 'latin1'));
  return fc.oneof(
    fc.bigInt({ min: 0n, max: 8n ** BigInt(length) }).map((n) => text(`${n.toString(8).padStart(length - 1, '0')}\0`)),
    fc.bigInt({ min: 0n, max: 8n ** BigInt(length - 1) - 1n }).map((n) => text(n.toString(8))),
    fc.constantFrom('', ' ', '\0', '-1', '8', '  12  ', '7'.repeat(length), '0'.repeat(length)).map(text),
    // GNU base-256: high bit set, positive (0x80) or negative (0xff).
    fc.tuple(fc.constantFrom(0x80, 0xff), bytes(length - 1)).map(([first, rest]) => Uint8Array.from([first, ...rest])),
    bytes(length),
  );
}

const paxKeys = [
  'path',
  'linkpath',
  'size',
  'uid',
  'gid',
  'mtime',
  'atime',
  'ctime',
  'uname',
  'gname',
  'SCHILY.xattr.user.x',
  'LIBARCHIVE.xattr.user%zz',
  'SCHILY.dev',
  'SCHILY.acl.access',
  'GNU.sparse.major',
  'comment',
  '',
  'k\u00ff',
];
const paxValues = [
  '',
  '0',
  '-1',
  '1.5',
  '1e3',
  '99999999999999999999',
  '9007199254740993',
  `${'9'.repeat(400)}.5`,
  '../x',
  'a/../../x',
  'a\0b',
  'x'.repeat(300),
  '\u00ff\u00fe',
  'usr/bin/app',
  '/',
];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('field' as const),
    header: fc.nat(),
    field: fc.constantFrom(...fieldNames),
    value: bytes(40),
    checksum: fc.boolean(),
  }),
  fc
    .record({ header: fc.nat(), field: fc.constantFrom('mode', 'uid', 'gid', 'size', 'mtime', 'devmajor', 'devminor' as const) })
    .chain(({ header, field }) => numberField(headerFields[field][1]).map((value) => ({ kind: 'number' as const, header, field, value }))),
  fc.record({
    kind: fc.constant('name' as const),
    header: fc.nat(),
    field: fc.constantFrom('name', 'linkname', 'prefix' as const),
    value: fc.oneof(fc.constantFrom(...hostileNames), fc.string({ maxLength: 120 })),
  }),
  fc.record({
    kind: fc.constant('typeflag' as const),
    header: fc.nat(),
    // Every type the parser knows, some it refuses, and two it does not know.
    value: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '\0', 'x', 'g', 'L', 'K', 'D', 'S', 'V', 'M', 'A', 'Z'),
  }),
  fc.record({
    kind: fc.constant('pax' as const),
    header: fc.nat(),
    typeflag: fc.constantFrom('x', 'x', 'x', 'g' as const),
    records: fc.array(
      fc.record({
        key: fc.oneof(fc.constantFrom(...paxKeys), fc.string({ maxLength: 12 })),
        value: fc.oneof(fc.constantFrom(...paxValues), fc.string({ maxLength: 40 })),
        lengthDelta: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -20, max: 20 }) }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  }),
  fc.record({
    kind: fc.constant('gnu-long' as const),
    header: fc.nat(),
    typeflag: fc.constantFrom('L', 'K' as const),
    value: fc.oneof(fc.constantFrom(...hostileNames, 'y'.repeat(5000)), fc.string({ maxLength: 300 })),
    terminate: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 1, max: 255 }), checksum: fc.boolean() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

/** `header` picks one of the tar's header blocks (modulo their count); null when it has none. */
function pickHeader(tar: Buffer, header: number): number | null {
  const blocks = headerBlocks(tar);
  return blocks.length === 0 ? null : blocks[header % blocks.length]!.offset;
}

/** A meta header block (PAX 'x'/'g', GNU 'L'/'K') with its data, to insert before an entry. */
function metaBlocks(typeflag: string, data: Buffer): Buffer {
  const header = Buffer.alloc(block);
  header.write(typeflag === 'x' || typeflag === 'g' ? 'PaxHeaders.0/fuzz' : '././@LongLink', 0, 'latin1');
  header.write('0000644\0', 100, 'latin1');
  header.write('0000000\0', 108, 'latin1');
  header.write('0000000\0', 116, 'latin1');
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  header.write('00000000000\0', 136, 'latin1');
  header.write(typeflag, 156, 'latin1');
  header.write('ustar\u000000', 257, 'latin1');
  fixChecksum(header, 0);
  const padded = Buffer.alloc(Math.ceil(data.length / block) * block);
  data.copy(padded);
  return Buffer.concat([header, padded]);
}

function paxData(records: { key: string; value: string; lengthDelta: number }[]): Buffer {
  const parts = records.map(({ key, value, lengthDelta }) => {
    const body = Buffer.from(` ${key}=${value}\n`, 'utf8');
    let length = body.length + String(body.length).length;
    if (String(length).length !== String(body.length).length) length = body.length + String(length).length;
    return Buffer.concat([Buffer.from(String(length + lengthDelta)), body]);
  });
  return Buffer.concat(parts);
}

function applyMutation(input: Buffer, m: Mutation): Buffer {
  const tar = Buffer.from(input);
  switch (m.kind) {
    case 'typeflag': {
      const at = pickHeader(tar, m.header);
      if (at !== null) setField(tar, at, 'typeflag', m.value);
      return tar;
    }
    case 'field':
    case 'number':
    case 'name': {
      const at = pickHeader(tar, m.header);
      if (at === null) return tar;
      const value = m.kind === 'name' ? Buffer.from(m.value, 'utf8') : Buffer.from(m.value);
      setField(tar, at, m.field, value, m.kind === 'field' ? m.checksum : true);
      return tar;
    }
    case 'pax':
    case 'gnu-long': {
      const at = pickHeader(tar, m.header) ?? 0;
      const data = m.kind === 'pax' ? paxData(m.records) : Buffer.from(`${m.value}${m.terminate ? '\0' : ''}`, 'utf8');
      return Buffer.concat([tar.subarray(0, at), metaBlocks(m.typeflag, data), tar.subarray(at)]);
    }
    case 'flip': {
      if (tar.length === 0) return tar;
      const at = m.at % tar.length;
      tar[at]! ^= m.byte;
      const headerAt = at - (at % block);
      if (m.checksum && headerBlocks(tar).some((header) => header.offset === headerAt)) fixChecksum(tar, headerAt);
      return tar;
    }
    case 'truncate':
      return tar.subarray(0, tar.length === 0 ? 0 : m.at % tar.length);
  }
}

interface FuzzCase {
  base: number;
  mutations: Mutation[];
  compression: 'none' | 'gzip';
  /** Damage to the gzip stream itself (the blob digest is taken after it, the diff_id before). */
  gzipDamage: { at: number; byte: number } | null;
  format: 'oci' | 'oci-archive' | 'docker-archive';
  /** How the written image's layer is compressed. */
  output: Compression;
  /** Layer rules turned off: each changes what the pass keeps. */
  disabled: LayerRuleName[];
}

const fuzzCase: fc.Arbitrary<FuzzCase> = fc.record({
  base: fc.nat(),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }),
  compression: fc.constantFrom('none', 'none', 'gzip' as const),
  gzipDamage: fc.oneof(
    { weight: 9, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.record({ at: fc.nat(), byte: fc.integer({ min: 1, max: 255 }) }) },
  ),
  format: fc.constantFrom('oci', 'oci', 'oci-archive', 'docker-archive' as const),
  output: fc.constantFrom<Compression>('none', 'none', 'gzip', 'zstd'),
  disabled: fc.oneof(
    { weight: 3, arbitrary: fc.constant<LayerRuleName[]>([]) },
    { weight: 1, arbitrary: fc.subarray<LayerRuleName>([...layerRuleNames], { maxLength: 3 }) },
  ),
});

function optionsOf(c: FuzzCase): NormalizeOptions {
  return { ...defaultNormalizeOptions, disabledRules: new Set(c.disabled) };
}

function layerOf(c: FuzzCase): Buffer {
  return c.mutations.reduce(applyMutation, bases[c.base % bases.length]!);
}

// ---------------------------------------------------------------------------------------------
// The checks

let dir: TempDir;
/** TMPDIR of every case (spool files), library and CLI: empty after each. */
let tmp: string;
let previousTmp: string | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let caseNumber = 0;

beforeAll(async () => {
  bases = [
    await buildTar(entries),
    await buildTar(entries, { dialect: 'pax' }),
    await buildTar(entries, { dialect: 'gnu' }),
    await buildTar(withXattrs),
    await buildTar(shuffled(entries, 7)),
  ];
  previousTmp = process.env.TMPDIR;
  // Hundreds of small images written and fsynced: on tmpfs where there is one, the disk is not the test.
  if (await stat('/dev/shm').then((info) => info.isDirectory(), () => false)) process.env.TMPDIR = '/dev/shm';
  dir = await TempDir.create('oci-repro-fuzz-');
  tmp = dir.join('tmp');
  await mkdir(tmp);
  process.env.TMPDIR = tmp;
  process.on('unhandledRejection', onUnhandled);
  console.log(`fuzz seed ${seed}, ${runs} cases (replay: FUZZ_SEED=${seed})`);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  if (previousTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmp;
  await dir?.remove();
});

function compress(c: FuzzCase) {
  return (tar: Buffer, compression: LayerCompression): Buffer => {
    if (compression !== 'gzip') return tar;
    const gzip = gzipSync(tar, { level: 1 });
    if (c.gzipDamage !== null) gzip[c.gzipDamage.at % gzip.length]! ^= c.gzipDamage.byte;
    return gzip;
  };
}

async function writeLayout(c: FuzzCase, layer: Buffer, where: string): Promise<string> {
  const image = buildImage({ layers: [{ tar: layer, compression: c.compression }] }, compress(c));
  return dir.writeDirectory(where, singleImageLayout(image));
}

function destinationOf(c: FuzzCase, parent: string): { reference: string; path: string } {
  const path = join(parent, c.format === 'oci' ? 'out' : 'out.tar');
  return { reference: `${c.format}:${path}`, path };
}

function withinLimit<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${caseLimitMs} ms (a hang)`)), caseLimitMs);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** The canonical tar of `layer`, in memory (for the idempotence check). */
async function canonicalTar(layer: Buffer, options: NormalizeOptions = defaultNormalizeOptions): Promise<{ digest: string; bytes: Buffer }> {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (chunk: Buffer) => chunks.push(chunk));
  const summary = await normalizeLayer(tarStream(layer, 4096), { ...options, output, spoolDir: tmp });
  return { digest: summary.canonicalDigest, bytes: Buffer.concat(chunks) };
}

function expectBadInput(error: unknown, what: string): void {
  if (!(error instanceof OciReproError) || error.exitCode !== 3) {
    throw new Error(`${what}: expected a bad-input error (exit 3), got ${error instanceof OciReproError ? `${error.code} (exit ${error.exitCode})` : 'a non-OciReproError'}: ${String((error as Error)?.stack ?? error)}`);
  }
  expect(error.line, `${what}: one line`).not.toMatch(/[\n\r]/);
}

async function runCase(c: FuzzCase): Promise<void> {
  const n = caseNumber++;
  const layer = layerOf(c);
  const source = await writeLayout(c, layer, `case-${n}/in`);
  const parent = dir.join(`case-${n}/out`);
  await mkdir(parent);
  const destination = destinationOf(c, parent);
  const what = `case ${n}`;
  const options = optionsOf(c);
  const damaged = c.compression === 'gzip' && c.gzipDamage !== null;
  // verify's kind of pass (no output: hashed in order, re-read when out of order) must agree.
  const hashed = await withinLimit(
    normalizeLayer(tarStream(layer, 4096), { ...options, reopen: () => tarStream(layer, 4096), spoolDir: tmp }).then(
      (summary) => summary.canonicalDigest,
      (error: unknown) => error,
    ),
    what,
  );
  let ok = false;
  try {
    const result = await withinLimit(normalizeImage({ source, normalize: options, output: destination.reference, compression: c.output }), what);
    ok = true;
    expect(hashed, `${what}: the hashing pass agrees`).toBe(result.layers[0]!.canonicalDiffId);
    expect(result.output?.manifestDigest).toMatch(/^sha256:/);
    expect(await readdir(parent)).toEqual([destination.path.slice(parent.length + 1)]);
    // Idempotence: what normalization writes is canonical, so normalizing it changes nothing.
    const once = await canonicalTar(layer, options);
    expect(once.digest).toBe(result.layers[0]!.canonicalDiffId);
    const twice = await canonicalTar(once.bytes, options);
    expect(twice.digest, `${what}: the canonical tar normalizes to itself`).toBe(once.digest);
  } catch (error) {
    if (ok) throw error;
    expectBadInput(error, what);
    // A damaged gzip stream fails only the image path; the in-memory pass reads the tar itself.
    if (!damaged) expectBadInput(hashed, `${what} (hashing pass)`);
    // Nothing written, nor a temp directory left beside the destination.
    expect(await readdir(parent), `${what}: nothing written`).toEqual([]);
  }
  // A rejection from a stream nobody awaited shows up a tick later.
  await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled, `${what}: unhandled rejections`).toEqual([]);
  expect(await readdir(tmp), `${what}: spool files left in TMPDIR`).toEqual([]);
}

describe('bugs the fuzzer found, each with its harmless twin', () => {
  const twice = async (layer: Buffer) => {
    const once = await canonicalTar(layer);
    return { once: once.digest, again: (await canonicalTar(once.bytes)).digest };
  };
  const rejects = async (layer: Buffer) =>
    canonicalTar(layer).then(
      () => null,
      (error: unknown) => error as OciReproError,
    );

  it('a base-256 gid beyond 2^53, or negative, is a corrupt header, not a PAX record our reader refuses', async () => {
    const tar = await buildTar([{ name: 'a', content: 'a' }]);
    const huge = Buffer.from(tar);
    setField(huge, 0, 'gid', Buffer.from([0x81, 0, 0, 0, 0, 0, 0, 0]));
    const error = await rejects(huge);
    expect(error?.code).toBe('CORRUPT_ARCHIVE');
    expect(error?.line).toContain('gid field out of range');
    // Base-256 with 0xff is negative: -1 as a gid was written back as bytes below '0'.
    const negative = Buffer.from(tar);
    setField(negative, 0, 'gid', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect((await rejects(negative))?.line).toContain('gid field out of range');
    const large = Buffer.from(tar);
    setField(large, 0, 'gid', Buffer.from([0x80, 0, 0, 1, 0, 0, 0, 0]));
    const { once, again } = await twice(large);
    expect(again).toBe(once);
  });

  it('a LIBARCHIVE xattr that decodes to nothing is no xattr (an empty PAX value deletes a key)', async () => {
    const empty = await twice(await buildTar([{ name: 'a', content: 'a', pax: { 'LIBARCHIVE.xattr.user.x': '==' } }]));
    expect(empty.again).toBe(empty.once);
    expect(empty.once).toBe((await twice(await buildTar([{ name: 'a', content: 'a' }]))).once);
    const set = await twice(await buildTar([{ name: 'a', content: 'a', pax: { 'LIBARCHIVE.xattr.user.x': 'eA==' } }]));
    expect(set.again).toBe(set.once);
    expect(set.once).not.toBe(empty.once);
  });

  it('a hard link to a directory is refused (the canonical tar gave the link the directory)', async () => {
    const error = await rejects(await buildTar([{ name: 'z/', type: 'directory' }, { name: 'a', type: 'link', linkname: 'z/' }]));
    expect(error?.code).toBe('BAD_INPUT');
    expect(error?.line).toContain('hard link "a" at offset 512: target "z/" is a directory');
    const file = await twice(await buildTar([{ name: 'z', content: 'z' }, { name: 'a', type: 'link', linkname: 'z' }]));
    expect(file.again).toBe(file.once);
  });
});

describe('fuzzing the layer parser', () => {
  it(`${runs} damaged layers through the library: success or one-line exit 3, nothing left behind`, { timeout: 120_000 }, async () => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    await fc.assert(fc.asyncProperty(fuzzCase, runCase), { seed, numRuns: runs, endOnFailure: false });
    // Wall time on a shared machine says little: the CPU time is what the cases cost.
    const used = process.cpuUsage(cpu);
    console.log(`fuzz: ${runs} cases in ${((performance.now() - started) / 1000).toFixed(1)} s, ${((used.user + used.system) / 1e6).toFixed(1)} s of CPU`);
  });

  it(`${cliRuns} of them through bin/run.js: exit 0 or 3, one line on stderr, nothing left behind`, { timeout: 120_000 }, async () => {
    const cases = fc.sample(fuzzCase, { seed, numRuns: cliRuns });
    const run = async (c: FuzzCase, n: number) => {
      const layer = layerOf(c);
      const source = await writeLayout(c, layer, `cli-${n}/in`);
      const parent = dir.join(`cli-${n}/out`);
      const cliTmp = dir.join(`cli-${n}/tmp`);
      await mkdir(parent);
      await mkdir(cliTmp);
      const destination = destinationOf(c, parent);
      const result = await runCli(['normalize', source, '--output', destination.reference, '--compression', c.output], { env: { TMPDIR: cliTmp }, timeout: caseLimitMs * 2 });
      const what = `cli case ${n} (${JSON.stringify(c).slice(0, 300)})`;
      expect([0, 3], `${what}: exit code, stderr ${result.stderr}`).toContain(result.code);
      if (result.code === 3) {
        expect(result.stderr.trimEnd().split('\n'), `${what}: one line`).toHaveLength(1);
        expect(result.stderr).toMatch(/^oci-repro: error: /);
        expect(await readdir(parent), `${what}: nothing written`).toEqual([]);
      } else {
        expect(await readdir(parent)).toHaveLength(1);
      }
      expect(await readdir(cliTmp), `${what}: temp files left`).toEqual([]);
    };
    // Four at a time: each spawn mostly waits on Node's start-up.
    for (let i = 0; i < cases.length; i += 4) await Promise.all(cases.slice(i, i + 4).map((c, j) => run(c, i + j)));
  });
});
