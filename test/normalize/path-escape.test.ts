// Entry paths and hardlink targets that leave the layer root are refused (exit 3, naming the layer and
// the path, nothing written, no temp file left), by normalize with and without --output and by verify,
// through the library and through bin/run.js. Harmless spellings keep being cleaned; symlink targets are
// data and pass whatever they say; the root directory entry (`./`) is accepted, a root that is a file is not.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import { readFilesFromTar } from '../../src/compare/content.js';
import { normalizeLayer } from '../../src/normalize/layer.js';
import { defaultNormalizeOptions, type NormalizeOptions } from '../../src/normalize/options.js';
import { normalizeImage } from '../../src/app/normalize.js';
import { verifyImages } from '../../src/app/verify.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { runTool, skipWithoutTools } from '../helpers/real-tools.js';
import { buildTar, tarStream, type TestEntry } from '../helpers/tar.js';
import { runCli } from '../helpers/cli.js';

const T = { timeout: 60_000 };

const base: TestEntry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/app.conf', content: 'port=8080\n' },
];

/** Spellings of a path above the root, as an entry name and as a hardlink target. */
const escaping = ['../x', 'a/../../x', '/../x', './../x', '..', 'etc/../../etc/passwd'];

function layerWith(entry: TestEntry): TestEntry[] {
  return [...base, entry];
}

let dir: TempDir;
/** A fresh TMPDIR for everything spawned here; it must be empty whenever a run ends. */
let spoolDir: string;

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-escape-');
  spoolDir = dir.join('tmp');
  await mkdir(spoolDir);
});
afterAll(async () => {
  await dir.remove();
});

let imageCount = 0;
async function writeImage(entries: TestEntry[]): Promise<string> {
  const image = buildImage({ layers: [{ tar: await buildTar(base), compression: 'gzip' }, { tar: await buildTar(entries), compression: 'gzip' }] });
  return dir.writeDirectory(`image-${imageCount++}`, singleImageLayout(image));
}

async function summaryOf(entries: TestEntry[], options: NormalizeOptions = defaultNormalizeOptions) {
  return normalizeLayer(tarStream(await buildTar(entries)), { ...options, spoolDir });
}

async function rejection(promise: Promise<unknown>): Promise<OciReproError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OciReproError);
  return error as OciReproError;
}

describe('normalizeLayer', () => {
  it.each(escaping)('refuses the entry %j, naming it; also with path-spelling off', async (name) => {
    const entries = layerWith({ name, content: 'hostile\n' });
    for (const options of [defaultNormalizeOptions, { ...defaultNormalizeOptions, disabledRules: new Set(['path-spelling'] as const) }]) {
      const error = await rejection(summaryOf(entries, options));
      expect(error.code).toBe('BAD_INPUT');
      expect(error.exitCode).toBe(3);
      expect(error.message).toContain(`entry ${JSON.stringify(name)} at offset`);
      expect(error.message).toMatch(/leaves the root$/);
    }
  });

  it.each(escaping)('refuses a hardlink whose target is %j', async (target) => {
    const error = await rejection(summaryOf(layerWith({ name: 'etc/link', type: 'link', linkname: target })));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toContain(`hard link "etc/link": target ${JSON.stringify(target)} at offset`);
    expect(error.message).toMatch(/leaves the root$/);
  });

  it('keeps a symlink whose target climbs out: it is data', async () => {
    const summary = await summaryOf(layerWith({ name: 'etc/passwd-link', type: 'symlink', linkname: '../../etc/passwd' }));
    expect(summary.entries.find((entry) => entry.path === 'etc/passwd-link')?.linkname).toBe('../../etc/passwd');
  });

  it('cleans the harmless spellings as before, `..` inside the root included', async () => {
    const plain = await summaryOf([
      { name: 'a/', type: 'directory' },
      { name: 'a/b/', type: 'directory' },
      { name: 'a/b/c', content: 'c' },
      { name: 'b', content: 'b' },
    ]);
    const spelled = await summaryOf([
      { name: './a/', type: 'directory' },
      { name: '/a/b/', type: 'directory' },
      { name: 'a//b/./c', content: 'c' },
      { name: 'a/../b', content: 'b' },
    ]);
    expect(spelled.entries.map((entry) => entry.path)).toEqual(['a/', 'a/b/', 'a/b/c', 'b']);
    expect(spelled.canonicalDigest).toBe(plain.canonicalDigest);
  });

  it('accepts the root directory entry in every spelling, as one path', async () => {
    for (const root of ['./', '.', '/']) {
      const summary = await summaryOf([{ name: root, type: 'directory' }, ...base]);
      expect(summary.entries.map((entry) => entry.path)).toEqual(['./', 'etc/', 'etc/app.conf']);
    }
    const twice = await summaryOf([{ name: './', type: 'directory' }, { name: '/', type: 'directory', mode: 0o700 }, ...base]);
    expect(twice.entries.filter((entry) => entry.path === './')).toHaveLength(1);
    expect(twice.duplicatePaths).toEqual(['./']);
  });

  it('refuses a file, or a hardlink target, that names the root', async () => {
    for (const name of ['.', './', 'a/..']) {
      const error = await rejection(summaryOf([...base, { name, type: 'file', content: 'x' }]));
      expect(error.code).toBe('BAD_INPUT');
      expect(error.message).toMatch(/file entry ".*" at offset \d+ names the layer root$/);
    }
    const link = await rejection(summaryOf(layerWith({ name: 'etc/root-link', type: 'link', linkname: './' })));
    expect(link.message).toMatch(/hard link "etc\/root-link": target ".\/" at offset \d+ names the layer root$/);
  });
});

describe.skipIf(skipWithoutTools('tar'))('GNU tar as the oracle', () => {
  it('writes `../x/f` with -P and refuses to extract it; normalize refuses it too', T, async () => {
    const work = dir.join('gnu');
    await mkdir(join(work, 'root', 'a'), { recursive: true });
    await mkdir(join(work, 'x'));
    await writeFile(join(work, 'x', 'f'), 'hostile\n');
    const tar = (await runTool('tar', ['--format=ustar', '--mtime=@0', '-P', '-cf', '-', '../x/f', 'a'], { cwd: join(work, 'root') })).stdout;
    await mkdir(join(work, 'extract'));
    await writeFile(join(work, 'layer.tar'), tar);
    const refused = await runTool('tar', ['-xf', join(work, 'layer.tar'), '-C', join(work, 'extract')]).then(
      () => '',
      (error: Error) => error.message,
    );
    expect(refused).toContain("Member name contains '..'");
    const error = await rejection(normalizeLayer(tarStream(tar), { ...defaultNormalizeOptions, spoolDir }));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toContain('entry "../x/f" at offset 0 leaves the root');
  });
});

describe('readFilesFromTar (content details re-read the layer)', () => {
  it('refuses an escaping entry as the layer pass does', async () => {
    const tar = await buildTar(layerWith({ name: '../x', content: 'hostile\n' }));
    const error = await rejection(readFilesFromTar(tarStream(tar), new Set(['etc/app.conf'])));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toContain('"../x" leaves the root');
  });
});

describe('normalizeImage and verifyImages', () => {
  it.each(escaping)('refuse %j: exit 3 naming layer 1, nothing written, no temp file left', T, async (name) => {
    const source = await writeImage(layerWith({ name, content: 'hostile\n' }));
    const clean = await writeImage(base);
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = spoolDir;
    try {
      const output = dir.join(`out-${imageCount}`);
      for (const request of [{ source, normalize: defaultNormalizeOptions }, { source, normalize: defaultNormalizeOptions, output: `oci:${output}` }]) {
        const error = await rejection(normalizeImage(request));
        expect(error.exitCode).toBe(3);
        expect(error.message).toMatch(new RegExp(`^layer 1 \\(sha256:[0-9a-f]{64}\\) of .*: entry ${escapeRegex(JSON.stringify(name))} at offset \\d+ leaves the root$`));
        expect(error.line).not.toContain('\n');
      }
      expect(await readdir(dir.path)).not.toContain(`out-${imageCount}`);
      expect((await readdir(dir.path)).filter((entry) => entry.startsWith('.oci-repro-'))).toEqual([]);
      // The same image twice is identical by its digests, its layers not read unless verifyBlobs.
      expect((await verifyImages({ a: source, b: source, normalize: defaultNormalizeOptions })).verdict).toBe('identical');
      for (const request of [
        { a: clean, b: source },
        { a: source, b: source, verifyBlobs: true },
      ]) {
        const error = await rejection(verifyImages({ ...request, normalize: defaultNormalizeOptions }));
        expect(error.exitCode).toBe(3);
        expect(error.message).toContain(`entry ${JSON.stringify(name)} at offset`);
      }
      expect(await readdir(spoolDir)).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
  });
});

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describe('bin/run.js', () => {
  it.each(['../x', 'a/../../x', '/../x', './../x'])('normalize --output and verify refuse %j with exit 3', T, async (name) => {
    const source = await writeImage(layerWith({ name, content: 'hostile\n' }));
    const link = await writeImage(layerWith({ name: 'etc/link', type: 'link', linkname: name }));
    const clean = await writeImage(base);
    const cliTmp = await mkdtemp(join(tmpdir(), 'oci-repro-escape-tmp-'));
    try {
      const outParent = await mkdtemp(join(dir.path, 'cli-out-'));
      const env = { TMPDIR: cliTmp };
      const normalize = await runCli(['normalize', source, '--output', `oci:${join(outParent, 'out')}`], { env });
      expect(normalize.code).toBe(3);
      const line = normalize.stderr.trim();
      expect(line.split('\n')).toHaveLength(1);
      expect(line).toMatch(/^oci-repro: error: layer 1 \(sha256:[0-9a-f]{64}\) of /);
      expect(line).toContain(`entry ${JSON.stringify(name)} at offset`);
      expect(line).toContain('leaves the root (hint: ');
      expect(await readdir(outParent)).toEqual([]);

      const linked = await runCli(['normalize', link, '--output', `oci:${join(outParent, 'out')}`], { env });
      expect(linked.code).toBe(3);
      expect(linked.stderr.trim()).toContain(`hard link "etc/link": target ${JSON.stringify(name)} at offset`);
      expect(await readdir(outParent)).toEqual([]);

      const verify = await runCli(['verify', clean, source], { env });
      expect(verify.code).toBe(3);
      expect(verify.stderr.trim().split('\n')).toHaveLength(1);
      expect(verify.stderr).toContain(`entry ${JSON.stringify(name)} at offset`);
      const json = await runCli(['verify', clean, source, '--json'], { env });
      expect(json.code).toBe(3);
      expect((JSON.parse(json.stdout) as { error: { exitCode: number } }).error.exitCode).toBe(3);
      expect(await readdir(cliTmp)).toEqual([]);
    } finally {
      await rm(cliTmp, { recursive: true, force: true });
    }
  });
});
