/**
 * The causes and their fixes on files the real tools write: for each tool, two "builds" at two
 * times (the inputs' times differ, as in two checkouts or two RUN steps), put into images built in
 * code, name the file's cause; the same two builds with the catalogue's fix give the same bytes.
 * Tools: gzip, GNU tar, Info-ZIP zip, ssh-keygen, fontconfig's fc-cache (.ci/run installs them). The JDK's
 * `jar --date` was checked the same way by hand (JDK 17.0.15: equal jars), but CI has no JDK.
 */
import { mkdir, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCauseEntry } from '../../src/causes/catalogue.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { verifyImages } from '../../src/app/verify.js';
import { TempDir } from '../helpers/images.js';
import { buildFixture, writeInForm } from '../helpers/noise.js';
import { runTool, skipWithoutTools } from '../helpers/real-tools.js';

const skip = skipWithoutTools('gzip', 'tar', 'zip', 'ssh-keygen', 'fc-cache', 'fc-list');
const epoch = 1700000000;
const times = { a: 1709287200, b: 1709379000 } as const;
type Side = keyof typeof times;
let dir: TempDir;

beforeAll(async () => {
  if (!skip) dir = await TempDir.create('oci-repro-real-causes-');
});
afterAll(async () => dir?.remove());

/** A fresh work directory of one build, with `files` written and every file and directory at `time`. */
async function workDir(name: string, files: Record<string, string>, time: number): Promise<string> {
  const root = dir.join(name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
  const stamp = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (entry.isDirectory()) await stamp(join(path, entry.name));
      await utimes(join(path, entry.name), time, time);
    }
    await utimes(path, time, time);
  };
  await stamp(root);
  return root;
}

/** Verifies two images that differ only in `path` (the two builds' bytes) and returns the causes named for it. */
async function causesOf(name: string, path: string, a: Buffer, b: Buffer): Promise<(string | null)[]> {
  const mtime = new Date('2024-01-15T08:00:00Z');
  const image = async (side: Side, content: Buffer) =>
    writeInForm(dir, `${name}-${side}`, await buildFixture({ layers: [{ entries: [{ name: path, content, mtime }], createdBy: `/bin/sh -c make ${name}` }] }), 'oci-archive');
  const report = await verifyImages({ a: await image('a', a), b: await image('b', b), normalize: defaultNormalizeOptions });
  return report.differences.filter((difference) => difference.file === path && !difference.neutralized).map((difference) => difference.cause?.id ?? null);
}

interface Made {
  path: string;
  /** The tool's output without the fix and with it. */
  plain: Buffer;
  fixed: Buffer;
}

/** Each tool's output for one build, as a build that does not apply the fix writes it and one that does. */
const tools: Record<string, { cause: string; fixMentions: string; make: (side: Side) => Promise<Made> }> = {
  'gzip without -n': {
    cause: 'gzip-docs',
    fixMentions: 'gzip -n',
    make: async (side) => {
      const root = await workDir(`gzip-${side}`, { 'myapp.1': '.TH MYAPP 1\n.SH NAME\nmyapp \\- an example\n' }, times[side]);
      const file = join(root, 'myapp.1');
      return { path: 'usr/share/man/man1/myapp.1.gz', plain: (await runTool('gzip', ['-9', '-c', file])).stdout, fixed: (await runTool('gzip', ['-n', '-9', '-c', file])).stdout };
    },
  },
  'tar without --sort/--mtime/--owner': {
    cause: 'build-archive',
    fixMentions: 'tar --sort=name --mtime=@$SOURCE_DATE_EPOCH --owner=0 --group=0 --numeric-owner',
    make: async (side) => {
      const root = await workDir(`tar-${side}`, { 'assets/app.css': 'body{margin:0}\n', 'assets/app.js': 'main()\n' }, times[side]);
      const fixed = ['--sort=name', `--mtime=@${epoch}`, '--owner=0', '--group=0', '--numeric-owner'];
      return {
        path: 'opt/app/assets.tar',
        plain: (await runTool('tar', ['-C', root, '-cf', '-', 'assets'])).stdout,
        fixed: (await runTool('tar', ['-C', root, ...fixed, '-cf', '-', 'assets'])).stdout,
      };
    },
  },
  'zip of files with build-time times': {
    cause: 'build-archive',
    fixMentions: 'zip -X',
    make: async (side) => {
      const files = { 'data/a.json': '{"a":1}\n', 'data/b.json': '{"b":2}\n' };
      const root = await workDir(`zip-${side}`, files, times[side]);
      await runTool('zip', ['-q', '-r', 'plain.zip', 'data'], { cwd: root });
      // The fix: `touch -d @$SOURCE_DATE_EPOCH` the files, then `zip -X` in sorted order.
      const touched = await workDir(`zip-fixed-${side}`, files, epoch);
      await runTool('sh', ['-c', 'find data | LC_ALL=C sort | zip -q -X -@ fixed.zip'], { cwd: touched });
      return { path: 'opt/data/bundle.zip', plain: await readFile(join(root, 'plain.zip')), fixed: await readFile(join(touched, 'fixed.zip')) };
    },
  },
  'fc-cache over font directories with build-time times': {
    cause: 'fontconfig-cache',
    fixMentions: 'touch -d @$SOURCE_DATE_EPOCH',
    make: async (side) => {
      // One font directory path for every build, as in an image (the cache names and records it).
      const cache = async (dirTime: number) => {
        const root = dir.join('fc');
        await rm(root, { recursive: true, force: true });
        const fonts = join(root, 'fonts');
        await mkdir(join(root, 'cache'), { recursive: true });
        await mkdir(fonts, { recursive: true });
        await writeFile(join(fonts, 'font.ttf'), await readFile(await aFont()));
        await utimes(join(fonts, 'font.ttf'), times[side], times[side]);
        await utimes(fonts, dirTime, dirTime);
        const conf = join(root, 'fonts.conf');
        await writeFile(conf, `<?xml version="1.0"?>\n<fontconfig><dir>${fonts}</dir><cachedir>${join(root, 'cache')}</cachedir></fontconfig>\n`);
        const env: NodeJS.ProcessEnv = { ...process.env, FONTCONFIG_FILE: conf };
        delete env.SOURCE_DATE_EPOCH;
        await runTool('fc-cache', ['-f'], { env });
        const [file = ''] = (await readdir(join(root, 'cache'))).filter((name) => name.includes('.cache-'));
        return { file, bytes: await readFile(join(root, 'cache', file)) };
      };
      const plain = await cache(times[side]);
      // The fix: the font directories' times set to SOURCE_DATE_EPOCH before fc-cache runs.
      const fixed = await cache(epoch);
      expect(fixed.file).toBe(plain.file);
      return { path: `var/cache/fontconfig/${plain.file}`, plain: plain.bytes, fixed: fixed.bytes };
    },
  },
};

/** A TrueType font of this machine (fc-list lists what fontconfig knows). */
async function aFont(): Promise<string> {
  const { stdout } = await runTool('fc-list', ['--format', '%{file}\n', ':fontformat=TrueType']);
  const font = stdout.toString('utf8').split('\n').find((line) => line.endsWith('.ttf'));
  if (!font) throw new Error('fc-list names no TrueType font: install fonts-dejavu-core');
  return font;
}

describe.skipIf(skip)('causes on files the real tools write, and their fixes', () => {
  it.each(Object.keys(tools))('%s: the two builds differ and verify names the cause; with the fix they are equal', async (name) => {
    const tool = tools[name]!;
    const [a, b] = [await tool.make('a'), await tool.make('b')];
    expect(a.plain.equals(b.plain), 'without the fix the builds differ').toBe(false);
    expect(a.fixed.equals(b.fixed), 'with the fix the builds are equal').toBe(true);
    const causes = await causesOf(name.replace(/[^a-z]+/g, '-'), a.path, a.plain, b.plain);
    expect(causes.length).toBeGreaterThan(0);
    for (const cause of causes) expect(cause).toBe(tool.cause);
    expect(findCauseEntry(tool.cause)?.fix).toContain(tool.fixMentions);
    expect(await causesOf(`${name.replace(/[^a-z]+/g, '-')}-fixed`, a.path, a.fixed, b.fixed)).toEqual([]);
  });

  it('ssh-keygen -A: host keys differ on every run, and each key file is named as a security problem', async () => {
    const keys = async (side: Side) => {
      const root = dir.join(`ssh-${side}`);
      await mkdir(join(root, 'etc/ssh'), { recursive: true });
      await runTool('ssh-keygen', ['-A', '-f', root]);
      const names = (await readdir(join(root, 'etc/ssh'))).sort();
      return Promise.all(names.map(async (file) => ({ path: `etc/ssh/${file}`, bytes: await readFile(join(root, 'etc/ssh', file)) })));
    };
    const [a, b] = [await keys('a'), await keys('b')];
    expect(a.map((key) => key.path)).toEqual(b.map((key) => key.path));
    expect(a.map((key) => key.path)).toContain('etc/ssh/ssh_host_ed25519_key');
    const mtime = new Date('2024-01-15T08:00:00Z');
    const image = async (side: Side, files: typeof a) =>
      writeInForm(dir, `ssh-${side}`, await buildFixture({ layers: [{ entries: files.map((key) => ({ name: key.path, content: key.bytes, mtime, mode: 0o600 })) }] }), 'oci-archive');
    const report = await verifyImages({ a: await image('a', a), b: await image('b', b), normalize: defaultNormalizeOptions });
    for (const key of a) {
      const named = report.differences.filter((difference) => difference.file === key.path && !difference.neutralized);
      expect(named.length, key.path).toBeGreaterThan(0);
      for (const difference of named) expect(difference.cause?.id, key.path).toBe('ssh-host-keys');
    }
    expect(findCauseEntry('ssh-host-keys')?.title).toContain('security problem');
  });
});
