/**
 * parseReference (sources/reference.ts): skopeo's transport syntax. A local path may hold colons, so
 * the longest prefix that exists on disk is the path and the rest the selector; dir: takes the whole
 * rest as its path. Empty parts and unknown transports are usage errors (exit 2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseReference } from '../../src/sources/reference.js';
import { TempDir } from '../helpers/images.js';
import { thrownError } from '../helpers/errors.js';

let dir: TempDir;

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-reference-');
  await writeFile(dir.join('plain.tar'), '');
  await writeFile(dir.join('with:colon.tar'), '');
  await mkdir(dir.join('layout'));
});
afterAll(async () => dir?.remove());

describe('parseReference', () => {
  it('registry and daemon references keep the rest as written', () => {
    expect(parseReference('docker://localhost:5000/app:1@sha256:ab')).toEqual({
      text: 'docker://localhost:5000/app:1@sha256:ab',
      transport: 'docker',
      location: 'localhost:5000/app:1@sha256:ab',
    });
    expect(parseReference('docker-daemon:app:latest')).toMatchObject({ transport: 'docker-daemon', location: 'app:latest' });
  });

  it('local transports split off a selector after the path', () => {
    expect(parseReference(`docker-archive:${dir.join('plain.tar')}:app:1`)).toMatchObject({
      transport: 'docker-archive',
      location: dir.join('plain.tar'),
      selector: 'app:1',
    });
    expect(parseReference(`docker-archive:${dir.join('plain.tar')}:@1`)).toMatchObject({ selector: '@1' });
    expect(parseReference(`oci:${dir.join('layout')}:v2`)).toMatchObject({ transport: 'oci', location: dir.join('layout'), selector: 'v2' });
    expect(parseReference(`oci-archive:${dir.join('plain.tar')}`)).toMatchObject({ transport: 'oci-archive', location: dir.join('plain.tar') });
    expect(parseReference(`oci-archive:${dir.join('plain.tar')}`).selector).toBeUndefined();
  });

  it('a path that holds a colon is found on disk; a missing one splits at its first colon', () => {
    expect(parseReference(`docker-archive:${dir.join('with:colon.tar')}`)).toMatchObject({ location: dir.join('with:colon.tar') });
    expect(parseReference(`docker-archive:${dir.join('with:colon.tar')}:app:1`)).toMatchObject({
      location: dir.join('with:colon.tar'),
      selector: 'app:1',
    });
    expect(parseReference('oci:/nonexistent/x:tag')).toMatchObject({ location: '/nonexistent/x', selector: 'tag' });
  });

  it('dir: has no selector: colons belong to the path', () => {
    expect(parseReference('dir:/tmp/a:b')).toMatchObject({ transport: 'dir', location: '/tmp/a:b' });
    expect(parseReference('dir:/tmp/a:b').selector).toBeUndefined();
  });

  it('a bare path has no transport: the source is detected from its content', () => {
    expect(parseReference(dir.join('plain.tar'))).toEqual({ text: dir.join('plain.tar'), location: dir.join('plain.tar') });
    // One letter before a colon reads as a path (a Windows drive), not a transport.
    expect(parseReference('c:x.tar')).toEqual({ text: 'c:x.tar', location: 'c:x.tar' });
  });

  it.each([
    ['', /^empty image reference$/],
    ['docker://', /registry reference without a repository/],
    ['docker-daemon:', /daemon reference without an image name/],
    ['dir:', /dir reference without a path/],
    ['oci:', /oci reference without a path/],
    ['ftp:whatever', /unknown transport "ftp"/],
  ])('%j is a usage error (exit 2)', (text, message) => {
    const error = thrownError(() => parseReference(text));
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(message);
  });
});
