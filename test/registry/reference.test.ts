import { describe, expect, it } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import { formatRegistryReference, isLoopbackHost, manifestReferenceOf, parseRegistryReference } from '../../src/registry/reference.js';

const digest = `sha256:${'ab'.repeat(32)}`;

describe('registry references', () => {
  it.each([
    ['alpine', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/alpine' }],
    ['alpine:3.19', { registry: 'docker.io', repository: 'library/alpine', tag: '3.19' }],
    ['team/app', { registry: 'docker.io', repository: 'team/app' }],
    ['docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
    ['index.docker.io/team/app:1', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'team/app', tag: '1' }],
    ['localhost/app', { registry: 'localhost', host: 'localhost', repository: 'app' }],
    ['localhost:5000/x', { registry: 'localhost:5000', host: 'localhost:5000', repository: 'x' }],
    ['127.0.0.1:5000/a/b/c:v1.2-rc_3', { registry: '127.0.0.1:5000', repository: 'a/b/c', tag: 'v1.2-rc_3' }],
    ['[::1]:5000/x:1', { registry: '[::1]:5000', repository: 'x', tag: '1' }],
    ['ghcr.io/org/app@' + digest, { registry: 'ghcr.io', repository: 'org/app', digest }],
    ['ghcr.io/org/app:1@' + digest, { registry: 'ghcr.io', repository: 'org/app', tag: '1', digest }],
    ['registry.example.com:443/my.app_x__y-z', { registry: 'registry.example.com:443', repository: 'my.app_x__y-z' }],
  ])('%s', (text, expected) => {
    expect(parseRegistryReference(text)).toMatchObject({ text, ...expected });
  });

  it('names the manifest by digest over tag, latest when neither', () => {
    expect(manifestReferenceOf(parseRegistryReference('a'))).toBe('latest');
    expect(manifestReferenceOf(parseRegistryReference('a:1'))).toBe('1');
    expect(manifestReferenceOf(parseRegistryReference(`a:1@${digest}`))).toBe(digest);
    expect(formatRegistryReference(parseRegistryReference('alpine:3'))).toBe('docker.io/library/alpine:3');
  });

  it.each([
    ['', /empty/],
    ['127.0.0.1:5000', /no repository/],
    ['localhost:5000/', /no repository/],
    ['Team/App', /lower-case/],
    ['x/y:', /invalid tag/],
    ['x/y:-bad', /invalid tag/],
    ['x/y@sha256:abc', /invalid digest/],
    ['x//y', /invalid repository/],
    ['x/-y', /invalid repository/],
    ['exa_mple.com:5000/x', /invalid registry/],
    [`x/${'a'.repeat(260)}`, /longer than/],
  ])('%j is a usage error', (text, message) => {
    let error: unknown;
    try {
      parseRegistryReference(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OciReproError);
    expect((error as OciReproError).exitCode).toBe(2);
    expect((error as OciReproError).message).toMatch(message);
  });

  it('knows loopback hosts', () => {
    for (const host of ['localhost', 'localhost:5000', '127.0.0.1:1', '127.1.2.3', '[::1]:5000']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['example.com', '10.0.0.1:5000', '[::2]:5000', 'localhost.example.com']) expect(isLoopbackHost(host), host).toBe(false);
  });
});
