/**
 * verify explains a changed file from the inside: an image pair whose only differences are a .pyc
 * compiled from a source with another mtime (python3 py_compile), a .gz with another header mtime, a
 * zip whose members have other times (zip -X after touch -d), a binary with a few changed bytes and a
 * log whose lines differ only in timestamps. The JSON and text reports show the decoded fields, the
 * byte ranges and "only timestamps differ (N lines)".
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyImages } from '../../src/app/verify.js';
import type { Report } from '../../src/report/model.js';
import { renderReport } from '../../src/report/render.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { runTool, skipWithoutTools } from '../helpers/real-tools.js';
import { buildTar, type TestEntry } from '../helpers/tar.js';

const epochA = 1_764_928_542; // 2025-12-05T09:55:42Z
const epochB = 1_764_932_401; // 2025-12-05T11:00:01Z
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

/** A .pyc compiled by python3 from the same source with mtime `epoch`. */
async function compilePyc(dir: TempDir, side: string, epoch: number): Promise<Buffer> {
  const source = dir.join(`${side}-mod.py`);
  await writeFile(source, 'ANSWER = 42\n');
  await utimes(source, epoch, epoch);
  const target = dir.join(`${side}-mod.pyc`);
  await runTool('python3', ['-c', 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], dfile="mod.py", doraise=True)', source, target]);
  return readFile(target);
}

/** A zip made by zip -X of one member whose file time is `epoch`. */
async function zipWithTime(dir: TempDir, side: string, epoch: number): Promise<Buffer> {
  const member = dir.join(side, 'readme.txt');
  await writeFile(member, 'same member content\n');
  await utimes(member, epoch, epoch);
  const target = dir.join(`${side}.zip`);
  await runTool('zip', ['-X', '-q', target, 'readme.txt'], { cwd: dir.join(side), env: { ...process.env, TZ: 'UTC' } });
  return readFile(target);
}

const log = (day: string, seconds: string) => Buffer.from(`${day} 10:00:00 build started\nstep 1\n${day} 10:00:07 build finished in ${seconds}s\n`);

describe.skipIf(skipWithoutTools('python3', 'zip'))('verify explains changed files from the inside', () => {
  let dir: TempDir;
  let report: Report;
  const binaryA = randomBytes(4096);
  const binaryB = Buffer.from(binaryA);
  // Three differing bytes: two close together (one range) and one far away (a second range).
  binaryB[0x100] = binaryB[0x100]! ^ 0xff;
  binaryB[0x102] = binaryB[0x102]! ^ 0xff;
  binaryB[0xf00] = binaryB[0xf00]! ^ 0xff;

  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-inside-files-');
    const gzA = gzipSync(Buffer.from('a changelog\n'));
    const gzB = Buffer.from(gzA);
    gzA.writeUInt32LE(epochA, 4);
    gzB.writeUInt32LE(epochB, 4);
    const side = async (name: string, epoch: number, gz: Buffer, binary: Buffer, text: Buffer) => {
      await mkdir(dir.join(name), { recursive: true });
      const entries: TestEntry[] = [
        { name: 'app/' },
        { name: 'app/__pycache__/mod.cpython-311.pyc', content: await compilePyc(dir, name, epoch) },
        { name: 'app/changelog.gz', content: gz },
        { name: 'app/bundle.zip', content: await zipWithTime(dir, name, epoch) },
        { name: 'app/blob.bin', content: binary },
        { name: 'app/build.log', content: text },
      ];
      const image = buildImage({ layers: [{ tar: await buildTar(entries) }] });
      return `oci:${await dir.writeDirectory(`${name}-image`, singleImageLayout(image))}`;
    };
    const a = await side('a', epochA, gzA, binaryA, log('2025-12-05', '7.1'));
    const b = await side('b', epochB, gzB, binaryB, log('2025-12-06', '6.9'));
    report = await verifyImages({ a, b, normalize: defaultNormalizeOptions, neutralizedLimit: Infinity });
  }, 60_000);
  afterAll(async () => dir?.remove());

  const detailOf = (json: { differences: { file?: string; attribute?: string; detail?: unknown }[] }, file: string) =>
    json.differences.find((difference) => difference.file === file && difference.attribute === 'content')?.detail;

  it('JSON: decoded pyc, gzip and zip fields, binary ranges, and a timestamps-only log', () => {
    const json = JSON.parse(renderReport(report, 'json', { color: false })) as Parameters<typeof detailOf>[0];
    const pyc = detailOf(json, 'app/__pycache__/mod.cpython-311.pyc') as { format: string; decoder: string; changes: { field: string; a: unknown; b: unknown }[] };
    expect(pyc).toMatchObject({ format: 'decoded', decoder: 'pyc' });
    // The same source under the same name (dfile): only the recorded source mtime differs.
    expect(pyc.changes).toMatchObject([{ where: 'header', field: 'source-mtime', a: iso(epochA), b: iso(epochB) }]);

    const gz = detailOf(json, 'app/changelog.gz') as { format: string; changes: { field: string; a: unknown; b: unknown }[] };
    expect(gz).toMatchObject({ format: 'decoded', decoder: 'gzip' });
    expect(gz.changes.map((change) => change.field)).toEqual(['mtime']);
    expect(JSON.stringify(gz.changes[0]!.a)).toContain(iso(epochA));

    const zip = detailOf(json, 'app/bundle.zip') as { format: string; changes: { where: string; field: string }[] };
    expect(zip).toMatchObject({ format: 'decoded', decoder: 'zip' });
    expect(zip.changes.some((change) => change.where.includes('readme.txt') && /time/.test(change.field))).toBe(true);

    expect(detailOf(json, 'app/blob.bin')).toMatchObject({
      format: 'binary',
      sizeA: 4096,
      sizeB: 4096,
      differingBytes: 3,
      ranges: [
        { start: 0x100, end: 0x103 },
        { start: 0xf00, end: 0xf01 },
      ],
      moreRanges: 0,
    });

    expect(detailOf(json, 'app/build.log')).toMatchObject({
      format: 'timestamps',
      lines: 2,
      example: { a: '2025-12-05 10:00:00 build started', b: '2025-12-06 10:00:00 build started' },
    });
  });

  it('text: the same explanations in words', () => {
    const text = renderReport(report, 'text', { color: false });
    if (process.env.SHOW_INSIDE) process.stderr.write(text);
    expect(text).toContain('pyc, decoded: 1 field differs');
    expect(text).toContain(`header source-mtime: ${iso(epochA)} -> ${iso(epochB)}`);
    expect(text).toContain('gzip, decoded: 1 field differs');
    expect(text).toContain('zip, decoded:');
    expect(text).toContain('4096 bytes');
    expect(text).toContain('3 bytes differ');
    expect(text).toContain('bytes 0x100..0x103');
    expect(text).toContain('bytes 0xf00..0xf01');
    expect(text).toContain('only timestamps differ (2 lines');
    expect(text).not.toContain('+2025-12-06 10:00:07 build finished in 6.9s');
  });
});
