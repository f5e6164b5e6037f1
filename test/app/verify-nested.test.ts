/**
 * verify explains an archive inside an archive and a binary too large to read whole: an image pair
 * whose only differences are a .tar.gz (GNU tar, gzip -n) holding a zip (zip -X) whose one member has
 * another time, and a 320 KiB binary with two changed byte ranges (the same bytes again as an apt cache,
 * whose cause its path tells). Every format names the member `outer!/inner!/member`; the binary's ranges
 * come from the one content pass over each side's layer.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyImages } from '../../src/app/verify.js';
import { defaultContentLimit } from '../../src/compare/content.js';
import type { Report } from '../../src/report/model.js';
import { renderReport } from '../../src/report/render.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { runTool, skipWithoutTools } from '../helpers/real-tools.js';
import { validateReport } from '../helpers/report-schema.js';
import { buildTar } from '../helpers/tar.js';

const t0 = 1_700_000_000;
const outer = 'opt/app/bundle.tar.gz';
const inner = `${outer}!/lib/inner.zip!/x.txt`;

/** lib/inner.zip (x.txt with mtime `xTime`) and lib/README in a GNU tar, gzip -n: made as a build would. */
async function bundle(dir: TempDir, side: string, xTime: number): Promise<Buffer> {
  const root = dir.join(side, 'tree');
  await mkdir(join(root, 'lib'), { recursive: true });
  const zipDir = dir.join(side, 'zip');
  await mkdir(zipDir, { recursive: true });
  await writeFile(join(zipDir, 'x.txt'), 'hello from x\n');
  await utimes(join(zipDir, 'x.txt'), xTime, xTime);
  await runTool('zip', ['-X', '-q', join(root, 'lib', 'inner.zip'), 'x.txt'], { cwd: zipDir, env: { ...process.env, TZ: 'UTC' } });
  await writeFile(join(root, 'lib', 'README'), 'same\n');
  for (const path of ['lib/inner.zip', 'lib/README', 'lib']) await utimes(join(root, path), t0, t0);
  const tarPath = dir.join(side, 'bundle.tar');
  await runTool('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu', '-C', root, '-cf', tarPath, 'lib']);
  await runTool('gzip', ['-n', '-f', tarPath]);
  return readFile(`${tarPath}.gz`);
}
const join = (...parts: string[]) => parts.join('/');

describe.skipIf(skipWithoutTools('tar', 'gzip', 'zip'))('verify: archives inside archives, and large binaries streamed', () => {
  let dir: TempDir;
  let report: Report;
  const size = 320 * 1024;
  const binaryA = randomBytes(size);
  const binaryB = Buffer.from(binaryA);
  // Two ranges far apart: 3 bytes at 0x10010 and 2 bytes at 0x4a000.
  for (const at of [0x10010, 0x10011, 0x10012, 0x4a000, 0x4a001]) binaryB[at] = binaryB[at]! ^ 0xff;

  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-nested-');
    const side = async (name: string, xTime: number, binary: Buffer) => {
      const tar = await buildTar([
        { name: 'opt/' },
        { name: 'opt/app/' },
        { name: outer, content: await bundle(dir, name, xTime) },
        { name: 'opt/app/big.bin', content: binary },
      ]);
      // A large file whose cause (apt-cache) its path tells, alone in its layer: not worth that layer's read.
      const apt = await buildTar([{ name: 'var/cache/apt/pkgcache.bin', content: binary }]);
      const image = buildImage({ layers: [{ tar }, { tar: apt }] });
      return `oci:${await dir.writeDirectory(`${name}-image`, singleImageLayout(image))}`;
    };
    const a = await side('a', t0, binaryA);
    const b = await side('b', t0 + 3600, binaryB);
    report = await verifyImages({ a, b, normalize: defaultNormalizeOptions, neutralizedLimit: Infinity });
  }, 60_000);
  afterAll(async () => dir?.remove());

  const contentOf = (file: string) => report.differences.find((d) => d.file === file && d.attribute === 'content');

  it('the outer file: one field at depth 2, named outer!/inner!/member, under the archive cause', () => {
    const difference = contentOf(outer)!;
    expect(difference.cause?.id).toBe('build-archive');
    const detail = difference.detail!;
    expect(detail.format).toBe('decoded');
    if (detail.format !== 'decoded') return;
    expect(detail.decoder).toBe('tar.gz');
    const deepest = detail.changes.filter((c) => c.member?.length === 2);
    expect(deepest.map((c) => [c.path, c.field])).toEqual([[inner, 'dos-time']]);
    // One level up only the zip's bytes differ (its CRC is of the same content: the time is in the header).
    expect(detail.changes.filter((c) => c.member?.length === 1).map((c) => [c.path, c.field])).toEqual([[`${outer}!/lib/inner.zip`, 'content']]);
  });

  it(`a binary over ${defaultContentLimit} bytes: two ranges and the count of differing bytes, streamed`, () => {
    expect(contentOf('opt/app/big.bin')?.detail).toMatchObject({
      format: 'binary',
      sizeA: size,
      sizeB: size,
      differingBytes: 5,
      ranges: [
        { start: 0x10010, end: 0x10013 },
        { start: 0x4a000, end: 0x4a002 },
      ],
      moreRanges: 0,
    });
  });

  it('a large file whose cause its path tells, alone in its layer, keeps sizes and digests without a read for byte ranges', () => {
    const difference = contentOf('var/cache/apt/pkgcache.bin')!;
    expect(difference.cause?.id).toBe('apt-cache');
    expect(difference.detail).toMatchObject({ format: 'binary', sizeA: size, sizeB: size });
    expect(difference.detail).not.toHaveProperty('differingBytes');
  });

  it('every format shows outer!/inner!/member and the streamed ranges', () => {
    for (const format of ['text', 'markdown', 'junit', 'json', 'html'] as const) {
      const output = renderReport(report, format, { color: false });
      if (process.env.SHOW_NESTED === format) process.stderr.write(output);
      expect(output, format).toContain(format === 'html' ? inner.replace(/&/g, '&amp;') : inner);
      if (format !== 'json') expect(output, format).toMatch(/5 bytes differ/);
    }
    expect(renderReport(report, 'text', { color: false })).toContain('bytes 0x4a000..0x4a002');
    // The JSON report with member chains and paths is what schema/report.schema.json describes.
    expect(validateReport(JSON.parse(renderReport(report, 'json', { color: false })))).toEqual([]);
  });
});
