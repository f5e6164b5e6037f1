// Runs the real binary (bin/run.js over the build in dist/) so exit codes are what a CI job sees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, legacyDockerArchiveFiles, singleImageLayout, TempDir, type BuiltImage } from '../helpers/images.js';
import { makeTar } from '../helpers/tar.js';
import { runCli } from '../helpers/cli.js';

let dir: TempDir;
let image: BuiltImage;
let archive: string;

beforeAll(async () => {
  dir = await TempDir.create();
  image = buildImage({ layers: [{ tar: await makeTar([{ name: 'hello', content: 'hi' }]), createdBy: '/bin/sh -c #(nop) COPY file:abc in /hello ' }] });
  archive = await dir.writeArchive('image.tar', legacyDockerArchiveFiles(image));
});
afterAll(async () => dir.remove());

describe('inspect through the binary', () => {
  it('prints the identity chain', async () => {
    const run = await runCli(['inspect', `docker-archive:${archive}`]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`image ID   ${image.config.digest}`);
    expect(run.stdout).toContain(`diff_id     ${image.layers[0].diffId}`);
    expect(run.stdout).toContain('COPY file:abc in /hello');
  });

  it('--json gives the same as data', async () => {
    const layout = await dir.writeDirectory('layout', singleImageLayout(image));
    const run = await runCli(['inspect', `oci:${layout}`, '--json']);
    expect(run.code).toBe(0);
    const parsed = JSON.parse(run.stdout);
    expect(parsed).toMatchObject({
      manifestDigest: image.manifest.digest,
      imageId: image.config.digest,
      layers: [{ index: 0, diffId: image.layers[0].diffId, digest: image.layers[0].digest, step: 'COPY file:abc in /hello' }],
    });
  });

  const errorCases: [string, string[], number, RegExp][] = [
    ['a missing file', ['inspect', 'docker-archive:/nonexistent/x.tar'], 4, /nonexistent\/x\.tar: no such file/],
    ['an unknown flag', ['inspect', 'x.tar', '--bogus'], 2, /bogus/],
    ['a missing argument', ['inspect'], 2, /image/],
    ['a bad platform', ['inspect', 'x.tar', '--platform', 'linux'], 2, /os\/arch/],
  ];
  for (const [name, args, code, pattern] of errorCases) {
    it(`${name}: exit ${code} with one line on stderr, or JSON with --json`, async () => {
      const run = await runCli(args);
      expect(run.code).toBe(code);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(pattern);
      const json = await runCli([...args, '--json']);
      expect(json.code).toBe(code);
      const parsed = JSON.parse(json.stdout);
      expect(parsed.error).toMatchObject({ exitCode: code });
      expect(parsed.error.message).toMatch(pattern);
    });
  }

  it('bad input: exit 3', async () => {
    const path = dir.join('garbage.tar');
    await import('node:fs/promises').then((fs) => fs.writeFile(path, Buffer.alloc(2048, 1)));
    const run = await runCli(['inspect', path]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/^oci-repro: error: .*garbage\.tar: invalid tar header/);
  });
});
