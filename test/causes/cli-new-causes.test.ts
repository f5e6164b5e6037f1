/**
 * The real binary over two images built in code that differ in four files tools write during a build
 * (an SSH host key, npm's hidden lockfile, Alpine's installed database and a tar made in a RUN step):
 * the text report names each file's cause with its fix, and nothing stays unexplained.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCauseEntry } from '../../src/causes/catalogue.js';
import type { Report } from '../../src/report/model.js';
import { TempDir } from '../helpers/images.js';
import { buildFixture, writeInForm, type FixtureSpec } from '../helpers/noise.js';
import { runCli } from '../helpers/cli.js';
import { type CauseFile, causeFiles } from './file-causes.js';

const mtime = new Date('2024-01-15T08:00:00Z');
const chosen = ['ssh-host-keys', 'npm-hidden-lockfile', 'apk-database', 'build-archive'];
let dir: TempDir;
let files: CauseFile[];
let refs: { a: string; b: string };

function spec(side: 'a' | 'b'): FixtureSpec {
  return {
    layers: [
      { entries: [{ name: 'etc/os-release', content: 'ID=example\n', mtime }], createdBy: '/bin/sh -c #(nop) ADD file:0a1b2c3d4e5f6a7b in / ' },
      {
        entries: files.map((file) => ({ name: file.path, content: file[side], mtime })),
        createdBy: '/bin/sh -c apk add openssh && npm install && tar -cf /opt/app/assets.tar assets',
      },
    ],
  };
}

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-cli-new-causes-');
  files = (await causeFiles()).filter((file) => chosen.includes(file.cause));
  expect(files.map((file) => file.cause).sort()).toEqual([...chosen].sort());
  refs = {
    a: await writeInForm(dir, 'a', await buildFixture(spec('a')), 'oci-archive'),
    b: await writeInForm(dir, 'b', await buildFixture(spec('b')), 'oci-archive'),
  };
}, 60_000);
afterAll(async () => dir?.remove());

describe('verify names the causes of files written during the build, with their fixes', () => {
  it('text: each cause with its id and fix, exit 1', async () => {
    const run = await runCli(['verify', refs.a, refs.b], { cwd: dir.path });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    // The report wraps at 100 columns: compare with runs of white space made one space.
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    const text = flat(run.stdout);
    for (const file of files) {
      const entry = findCauseEntry(file.cause)!;
      expect(text, file.cause).toContain(flat(`${entry.title} [${entry.id}]`));
      expect(text, file.cause).toContain(flat(entry.fix));
      expect(run.stdout, file.cause).toContain(file.path);
    }
    expect(run.stdout).not.toContain('no known cause');
  });

  it('json: every remaining difference of those files is explained by its cause', async () => {
    const run = await runCli(['verify', refs.a, refs.b, '--json'], { cwd: dir.path });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.summary.unexplained).toBe(0);
    for (const file of files) {
      const differences = report.differences.filter((difference) => difference.file === file.path && !difference.neutralized);
      expect(differences.length, file.path).toBeGreaterThan(0);
      for (const difference of differences) expect(difference).toMatchObject({ cause: { id: file.cause }, hint: findCauseEntry(file.cause)!.fix });
    }
  });
});
