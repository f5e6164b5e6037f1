/**
 * verify explains archives too large to hold (over `decodableContentLimit`, so spooled by the content
 * pass) member by member, as it does small ones: a 6 MiB jar (stored members, zip) built twice with
 * other member times (and the same as a .whl), a 6 MiB .tar.gz (GNU tar --mtime, gzip -n) and a 6 MiB
 * .deb (ar U: real member dates), inside layers of images built in code. A small jar of the same shape
 * is the yardstick: the large one gets the same members, fields and cause. A damaged large "zip" keeps
 * its byte ranges.
 */
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyImages } from '../../src/app/verify.js';
import { decodableContentLimit } from '../../src/compare/content.js';
import type { Difference } from '../../src/diff/model.js';
import type { Report } from '../../src/report/model.js';
import { renderReport } from '../../src/report/render.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { seededBytes } from '../helpers/seeded-bytes.js';
import { runCli } from '../helpers/cli.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { runTool, skipWithoutTools } from '../helpers/real-tools.js';
import { buildTar } from '../helpers/tar.js';

const t0 = 1_700_000_000;
const MiB = 1024 * 1024;
const utc = { ...process.env, TZ: 'UTC' };
const join = (...parts: string[]) => parts.join('/');

/** The same members (same bytes) on both sides; only their times differ. */
const jarMembers = { big: [seededBytes(2 * MiB, 101), seededBytes(2 * MiB, 102), seededBytes(2 * MiB, 103)], small: [seededBytes(1024, 104), seededBytes(1024, 105), seededBytes(1024, 106)] };
const tarData = seededBytes(6 * MiB, 107);
const debData = seededBytes(6 * MiB, 108);
const corrupt = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), seededBytes(6 * MiB, 109)]);

const flipped = (bytes: Buffer, ...at: number[]) => {
  const copy = Buffer.from(bytes);
  for (const i of at) copy[i] = copy[i]! ^ 0xff;
  return copy;
};

/** A jar of stored members (zip -0, so its size is its members'), their times `time`. */
async function jar(dir: TempDir, side: string, which: 'big' | 'small', time: number, suffix = 'jar'): Promise<Buffer> {
  const work = dir.join(side, `${suffix}-${which}`);
  await mkdir(work, { recursive: true });
  const names = jarMembers[which].map((_, i) => `lib/m${i}.bin`);
  await mkdir(join(work, 'lib'), { recursive: true });
  for (const [i, name] of names.entries()) {
    await writeFile(join(work, name), jarMembers[which][i]!);
    await utimes(join(work, name), time, time);
  }
  await runTool('zip', ['-0', '-q', join(work, `out.${suffix}`), ...names], { cwd: work, env: utc });
  return readFile(join(work, `out.${suffix}`));
}

/** A .tar.gz of data.bin and README, every member's time `time` (GNU tar --mtime), gzip -n. */
async function tarGz(dir: TempDir, side: string, time: number): Promise<Buffer> {
  const root = dir.join(side, 'tgz');
  await mkdir(root, { recursive: true });
  await writeFile(join(root, 'data.bin'), tarData);
  await writeFile(join(root, 'README'), 'same\n');
  const out = dir.join(side, 'big.tar');
  await runTool('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu', `--mtime=@${time}`, '-C', root, '-cf', out, 'data.bin', 'README']);
  await runTool('gzip', ['-n', '-f', out]);
  return readFile(`${out}.gz`);
}

/** A .deb-shaped ar (debian-binary, data.tar) written with `ar U`: member dates are the files' times. */
async function deb(dir: TempDir, side: string, time: number): Promise<Buffer> {
  const work = dir.join(side, 'deb');
  await mkdir(work, { recursive: true });
  await writeFile(join(work, 'debian-binary'), '2.0\n');
  await writeFile(join(work, 'data.tar'), debData);
  for (const name of ['debian-binary', 'data.tar']) await utimes(join(work, name), time, time);
  await runTool('ar', ['rcU', join(work, 'big.deb'), 'debian-binary', 'data.tar'], { cwd: work });
  return readFile(join(work, 'big.deb'));
}

describe.skipIf(skipWithoutTools('zip', 'tar', 'gzip', 'ar'))('verify: archives over the decodable limit, decoded from the spool', () => {
  let dir: TempDir;
  let report: Report;
  const refs: string[] = [];
  const sizes = new Map<string, number>();

  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-large-archives-');
    for (const [side, time] of [['a', t0], ['b', t0 + 3600]] as const) {
      const files: [string, Buffer][] = [
        ['opt/app/big.jar', await jar(dir, side, 'big', time)],
        ['opt/app/small.jar', await jar(dir, side, 'small', time)],
        ['opt/app/big.whl', await jar(dir, side, 'big', time, 'whl')],
        ['opt/app/big.tar.gz', await tarGz(dir, side, time)],
        ['opt/app/big.deb', await deb(dir, side, time)],
        // A "zip" by its first bytes only: no directory to read. B differs in two bytes.
        ['opt/app/corrupt.zip', side === 'a' ? corrupt : flipped(corrupt, 0x300000, 0x300001)],
      ];
      for (const [name, bytes] of files) sizes.set(`${side}:${name}`, bytes.length);
      // The large jar alone in its layer: its cause is told by its path, yet its members are worth the read.
      const [jarFile, ...rest] = files;
      const layer = (entries: [string, Buffer][]) => buildTar([{ name: 'opt/' }, { name: 'opt/app/' }, ...entries.map(([name, content]) => ({ name, content }))]);
      const image = buildImage({ layers: [{ tar: await layer([jarFile!]), compression: 'none' }, { tar: await layer(rest), compression: 'none' }] });
      refs.push(`oci:${await dir.writeDirectory(`${side}-image`, singleImageLayout(image))}`);
    }
    report = await verifyImages({ a: refs[0]!, b: refs[1]!, normalize: defaultNormalizeOptions, neutralizedLimit: Infinity });
  }, 120_000);
  afterAll(async () => dir?.remove());

  const contentOf = (file: string): Difference => {
    const found = report.differences.find((d) => d.file === file && d.attribute === 'content');
    expect(found, file).toBeDefined();
    return found!;
  };
  const decoded = (file: string) => {
    const detail = contentOf(file).detail!;
    expect(detail.format, file).toBe('decoded');
    if (detail.format !== 'decoded') throw new Error('not decoded');
    return detail;
  };
  const fields = (file: string) => decoded(file).changes.map((c) => [c.path, c.field]);

  it('the inputs are over the limit up to which files are held whole', () => {
    for (const name of ['big.jar', 'big.whl', 'big.tar.gz', 'big.deb', 'corrupt.zip']) {
      for (const side of ['a', 'b']) expect(sizes.get(`${side}:opt/app/${name}`), name).toBeGreaterThan(decodableContentLimit);
    }
    expect(sizes.get('a:opt/app/small.jar')).toBeLessThan(decodableContentLimit);
  });

  it('a large jar: every member named with its zip times, under the Java archive cause, as a small jar is', () => {
    const big = decoded('opt/app/big.jar');
    expect(big.decoder).toBe('zip');
    expect(big.sizeA).toBe(sizes.get('a:opt/app/big.jar'));
    const names = (file: string) => fields(file).map(([path, field]) => [path!.replace(file, 'JAR'), field]);
    for (const i of [0, 1, 2]) {
      expect(fields('opt/app/big.jar')).toContainEqual([`opt/app/big.jar!/lib/m${i}.bin`, 'dos-time']);
      expect(fields('opt/app/big.jar')).toContainEqual([`opt/app/big.jar!/lib/m${i}.bin`, 'mtime']);
    }
    const mtime = big.changes.find((c) => c.path === 'opt/app/big.jar!/lib/m0.bin' && c.field === 'mtime')!;
    expect([mtime.a, mtime.b]).toEqual(['2023-11-14T22:13:20Z', '2023-11-14T23:13:20Z']);
    // Only times: the members' bytes are the same, so no CRC or size is listed.
    expect(big.changes.map((c) => c.field)).not.toContain('crc32');
    expect(names('opt/app/big.jar')).toEqual(names('opt/app/small.jar'));
    expect(contentOf('opt/app/big.jar').cause?.id).toBe('java-archive');
    expect(contentOf('opt/app/big.jar').cause).toEqual(contentOf('opt/app/small.jar').cause);
  });

  it('a large wheel: the same member times, under the Python archive cause', () => {
    const strip = (file: string) => fields(file).map(([path, field]) => [path!.slice(file.length), field]);
    expect(strip('opt/app/big.whl')).toEqual(strip('opt/app/big.jar'));
    expect(contentOf('opt/app/big.whl').cause?.id).toBe('python-archive');
  });

  it('a large .tar.gz: the members and their mtime (GNU tar --mtime), under the archive cause', () => {
    const detail = decoded('opt/app/big.tar.gz');
    expect(detail.decoder).toBe('tar.gz');
    expect(fields('opt/app/big.tar.gz')).toEqual([
      ['opt/app/big.tar.gz!/data.bin', 'mtime'],
      ['opt/app/big.tar.gz!/README', 'mtime'],
    ]);
    expect(contentOf('opt/app/big.tar.gz').cause?.id).toBe('build-archive');
  });

  it('a large .deb: each ar member with its date', () => {
    const detail = decoded('opt/app/big.deb');
    expect(detail.decoder).toBe('ar');
    expect(fields('opt/app/big.deb')).toEqual([
      ['opt/app/big.deb!/debian-binary', 'date'],
      ['opt/app/big.deb!/data.tar', 'date'],
    ]);
  });

  it('a large file that only starts like a zip keeps its byte ranges', () => {
    expect(contentOf('opt/app/corrupt.zip').detail).toMatchObject({ format: 'binary', differingBytes: 2, ranges: [{ start: 0x300000, end: 0x300002 }] });
  });

  it('every format names the large jar\'s members', () => {
    for (const format of ['text', 'markdown', 'junit', 'json', 'html'] as const) {
      expect(renderReport(report, format, { color: false }), format).toContain('opt/app/big.jar!/lib/m1.bin');
    }
  });

  it('the CLI (over dist/) exits 1, a finding, with the damaged zip as byte ranges and the jar decoded', async () => {
    const run = await runCli(['verify', refs[0]!, refs[1]!, '--format', 'json'], { cwd: dir.path, timeout: 120_000 });
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(1);
    const json = JSON.parse(run.stdout) as Report;
    const detail = (file: string) => json.differences.find((d) => d.file === file && d.attribute === 'content')?.detail;
    expect(detail('opt/app/corrupt.zip')).toMatchObject({ format: 'binary', differingBytes: 2 });
    expect(detail('opt/app/big.jar')).toMatchObject({ format: 'decoded', decoder: 'zip' });
  }, 120_000);
});
