import { describe, expect, it } from 'vitest';
import { explainDifferences } from '../../src/causes/match.js';
import { compareConfigs, compareManifestAnnotations, diffJson } from '../../src/compare/config.js';
import type { ImageConfig } from '../../src/image/types.js';
import { optionsWith } from './entries.js';

const defaults = optionsWith();
const hex = (c: string) => `sha256:${c.repeat(64)}`;

function config(overrides: (c: ImageConfig) => void): ImageConfig {
  const base: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: '2024-05-01T10:00:00Z',
    config: {
      Hostname: '',
      Env: ['PATH=/usr/bin', 'A=1'],
      Cmd: ['/app'],
      Labels: { 'org.opencontainers.image.created': '2024-05-01T10:00:00Z', 'a/b': 'x', 'c~d': 'y' },
    },
    rootfs: { type: 'layers', diff_ids: [hex('1'), hex('2')] },
    history: [
      { created: '2024-05-01T10:00:00Z', created_by: 'FROM scratch' },
      { created: '2024-05-01T10:00:01Z', created_by: 'COPY . /' },
    ],
  };
  overrides(base);
  return base;
}

const summarize = (diffs: ReturnType<typeof compareConfigs>) => diffs.map((d) => [d.path, d.a, d.b, d.neutralized]);

describe('compareConfigs', () => {
  it('finds nothing in equal configs', () => {
    expect(compareConfigs(config(() => {}), config(() => {}), defaults)).toEqual([]);
  });

  it('reports every differing leaf by pointer, neutralized where normalization agrees', () => {
    const a = config(() => {});
    const b = config((c) => {
      c.created = '2024-05-02T11:00:00Z';
      c.history![1]!.created = '2024-05-02T11:00:01Z';
      (c.config!.Env as string[])[1] = 'A=2';
    });
    const diffs = compareConfigs(a, b, defaults);
    expect(summarize(diffs)).toEqual([
      ['/created', '2024-05-01T10:00:00Z', '2024-05-02T11:00:00Z', true],
      ['/config/Env/1', 'A=1', 'A=2', false],
      ['/history/1/created', '2024-05-01T10:00:01Z', '2024-05-02T11:00:01Z', true],
    ]);
    expect(diffs[0]).toEqual({
      kind: 'config-field',
      path: '/created',
      a: '2024-05-01T10:00:00Z',
      b: '2024-05-02T11:00:00Z',
      neutralized: true,
      cause: null,
    });
  });

  it('escapes / and ~ in label keys per RFC 6901', () => {
    const b = config((c) => {
      const labels = c.config!.Labels as Record<string, string>;
      labels['org.opencontainers.image.created'] = '2030-01-01T00:00:00Z';
      labels['a/b'] = 'changed';
      labels['c~d'] = 'changed';
    });
    expect(summarize(compareConfigs(config(() => {}), b, defaults))).toEqual([
      ['/config/Labels/org.opencontainers.image.created', '2024-05-01T10:00:00Z', '2030-01-01T00:00:00Z', true],
      ['/config/Labels/a~1b', 'x', 'changed', false],
      ['/config/Labels/c~0d', 'y', 'changed', false],
    ]);
  });

  it('reports unknown keys, added and removed', () => {
    const a = config((c) => {
      c['moby.buildkit.buildinfo.v1'] = 'abc';
      c.container_config = { Hostname: 'aaaaaaaaaaaa', Cmd: ['/bin/sh'] };
    });
    const b = config((c) => {
      c.container_config = { Hostname: 'bbbbbbbbbbbb', Cmd: ['/bin/sh'], Extra: { deep: [1] } };
      (c.config as Record<string, unknown>).Extra = { deep: [1] };
      c.docker_version = '24.0.7';
    });
    expect(summarize(compareConfigs(a, b, defaults))).toEqual([
      ['/config/Extra', null, { deep: [1] }, false],
      ['/moby.buildkit.buildinfo.v1', 'abc', null, false],
      // container_config is builder state, dropped whole (container-config); so is its unknown key.
      ['/container_config/Hostname', 'aaaaaaaaaaaa', 'bbbbbbbbbbbb', true],
      ['/container_config/Extra', null, { deep: [1] }, true],
      // Blanked by host-fields, then an empty value like an absent one (empty-values).
      ['/docker_version', null, '24.0.7', true],
    ]);
    const strict = optionsWith({ off: ['container-config', 'empty-values'] });
    expect(summarize(compareConfigs(a, b, strict)).filter(([, , , neutralized]) => !neutralized).map(([path]) => path)).toEqual([
      '/config/Extra',
      '/moby.buildkit.buildinfo.v1',
      '/container_config/Extra',
      '/docker_version',
    ]);
  });

  it('compares arrays element-wise and reports extra elements whole', () => {
    const b = config((c) => {
      (c.config!.Env as string[]).push('B=3');
      c.history!.pop();
    });
    expect(summarize(compareConfigs(config(() => {}), b, defaults))).toEqual([
      ['/config/Env/2', null, 'B=3', false],
      ['/history/1', { created: '2024-05-01T10:00:01Z', created_by: 'COPY . /' }, null, false],
    ]);
  });

  it('reports a value whose JSON type changed as one leaf', () => {
    const b = config((c) => {
      c.config!.Cmd = '/app';
    });
    expect(summarize(compareConfigs(config(() => {}), b, defaults))).toEqual([['/config/Cmd', ['/app'], '/app', false]]);
  });

  it('rules turned off leave their fields standing', () => {
    const b = config((c) => {
      c.created = '2024-05-02T11:00:00Z';
      c.history![0]!.created = '2024-05-02T11:00:00Z';
    });
    const diffs = compareConfigs(config(() => {}), b, optionsWith({ off: ['config-created'] }));
    expect(diffs.map((d) => [d.path, d.neutralized])).toEqual([
      ['/created', false],
      ['/history/0/created', true],
    ]);
  });

  it('judges diff_ids by the canonical diff_ids', () => {
    const b = config((c) => {
      c.rootfs!.diff_ids = [hex('3'), hex('4')];
    });
    const a = config(() => {});
    // Without canonical diff_ids nothing is known: not neutralized.
    expect(compareConfigs(a, b, defaults).map((d) => d.neutralized)).toEqual([false, false]);
    const canonical = { a: [hex('9'), hex('8')], b: [hex('9'), hex('7')] };
    expect(summarize(compareConfigs(a, b, defaults, canonical))).toEqual([
      ['/rootfs/diff_ids/0', hex('1'), hex('3'), true],
      ['/rootfs/diff_ids/1', hex('2'), hex('4'), false],
    ]);
    expect(compareConfigs(a, b, optionsWith({ off: ['diff-ids'] }), canonical).map((d) => d.neutralized)).toEqual([false, false]);
  });
});

describe('compareConfigs: rules that delete keys (absent on both sides is agreement)', () => {
  // As buildah writes a Docker-format config, and as skopeo's docker -> OCI conversion leaves it.
  const docker = config((c) => {
    c.container = 'c'.repeat(64);
    c.container_config = { Hostname: '3f2a5b6c7d8e', Cmd: ['/bin/sh', '-c', '#(nop) ', 'CMD ["/app"]'] };
    Object.assign(c.config!, { Hostname: '3f2a5b6c7d8e', Domainname: '', User: '', Tty: false, Volumes: null, OnBuild: [] });
    c.history![1]!.empty_layer = false;
  });
  const oci = config(() => {});

  it('neutralizes every difference of a pure conversion, and names it', () => {
    const diffs = explainDifferences(compareConfigs(docker, oci, defaults));
    expect(diffs.map((d) => [d.path, d.neutralized, d.cause?.id])).toEqual([
      ['/config/Hostname', true, 'host-fields'],
      ['/config/Domainname', true, 'format-conversion'],
      ['/config/User', true, 'format-conversion'],
      ['/config/Tty', true, 'format-conversion'],
      ['/config/Volumes', true, 'format-conversion'],
      ['/config/OnBuild', true, 'format-conversion'],
      ['/history/1/empty_layer', true, 'format-conversion'],
      ['/container', true, 'host-fields'],
      ['/container_config', true, 'format-conversion'],
    ]);
  });

  it('leaves them standing with the rules disabled', () => {
    const diffs = compareConfigs(docker, oci, optionsWith({ off: ['empty-values', 'container-config'] }));
    // Only the hostname, which host-fields blanks to the "" the other side has.
    expect(diffs.filter((d) => d.neutralized).map((d) => d.path)).toEqual(['/config/Hostname']);
  });

  it('does not neutralize content that one side lacks, nor an empty label against none', () => {
    const withContent = config((c) => {
      Object.assign(c.config!, { User: 'app', Healthcheck: { Test: ['CMD', '/bin/true'] } });
      (c.config!.Labels as Record<string, string>).empty = '';
    });
    const diffs = explainDifferences(compareConfigs(withContent, oci, defaults));
    expect(diffs.map((d) => [d.path, d.neutralized, d.cause?.id ?? null])).toEqual([
      ['/config/Labels/empty', false, null],
      ['/config/User', false, null],
      ['/config/Healthcheck', false, 'docker-only-field'],
    ]);
  });

  it('names a Docker-only field only when one side lacks it: two Healthchecks that differ are the Dockerfile', () => {
    const healthcheck = (test: string) => config((c) => Object.assign(c.config!, { Healthcheck: { Test: ['CMD', test] } }));
    const diffs = explainDifferences(compareConfigs(healthcheck('/a'), healthcheck('/b'), defaults));
    expect(diffs.map((d) => [d.path, d.cause?.id ?? null])).toEqual([['/config/Healthcheck/Test/1', null]]);
  });
});

describe('compareManifestAnnotations', () => {
  it('reports each differing annotation, the created one neutralized', () => {
    const diffs = compareManifestAnnotations(
      { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.opencontainers.image.revision': 'abc' },
      { 'org.opencontainers.image.created': '2024-01-02T00:00:00Z', 'org.opencontainers.image.revision': 'def', 'x/y': 'z' },
      defaults,
    );
    expect(diffs.map((d) => [d.kind, d.path, d.a, d.b, d.neutralized])).toEqual([
      ['manifest-field', '/annotations/org.opencontainers.image.created', '2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z', true],
      ['manifest-field', '/annotations/org.opencontainers.image.revision', 'abc', 'def', false],
      ['manifest-field', '/annotations/x~1y', null, 'z', false],
    ]);
  });

  it('neutralizes the empty base-image annotations buildah writes for FROM scratch against none', () => {
    const buildah = { 'org.opencontainers.image.base.digest': '', 'org.opencontainers.image.base.name': '' };
    const diffs = explainDifferences(compareManifestAnnotations(buildah, undefined, defaults));
    expect(diffs.map((d) => [d.path, d.neutralized, d.cause?.id])).toEqual([
      // host-fields, first in the catalogue, claims the base digest whatever its value.
      ['/annotations/org.opencontainers.image.base.digest', true, 'host-fields'],
      ['/annotations/org.opencontainers.image.base.name', true, 'format-conversion'],
    ]);
  });

  it('treats missing annotations as none', () => {
    expect(compareManifestAnnotations(undefined, {}, defaults)).toEqual([]);
    expect(compareManifestAnnotations(undefined, { k: 'v' }, defaults).map((d) => d.path)).toEqual(['/annotations/k']);
  });
});

describe('diffJson', () => {
  it('visits nothing for equal values whatever the key order', () => {
    const seen: string[] = [];
    diffJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, (p) => seen.push(p));
    expect(seen).toEqual([]);
  });
});
