import { describe, expect, it } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import type { ImageConfig } from '../../src/image/types.js';
import { canonicalDigest } from '../../src/normalize/canonical.js';
import {
  type AppliedRule,
  escapePointerToken,
  listConfigRules,
  normalizeConfig,
  normalizeManifestAnnotations,
  toJsonPointer,
} from '../../src/normalize/config.js';
import {
  type ConfigRuleName,
  type NormalizeOptions,
  type RuleName,
  configRuleNames,
  defaultNormalizeOptions,
} from '../../src/normalize/options.js';
import { sha256Of } from '../helpers/digest.js';
import { thrownError } from '../helpers/errors.js';

const epochZero = '1970-01-01T00:00:00Z';
const hex = (c: string) => c.repeat(64);

/** A classic `docker build` (pre-BuildKit) config: Docker-only fields, host noise, a Healthcheck in ns. */
const dockerConfig: ImageConfig = {
  architecture: 'amd64',
  config: {
    Hostname: '3f2a5b6c7d8e',
    Domainname: '',
    User: 'app',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: { '8080/tcp': {} },
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_ENV=production'],
    Cmd: ['/app/server', '--port=8080'],
    Healthcheck: { Test: ['CMD', '/app/healthz'], Interval: 30000000000, Timeout: 5000000000, Retries: 3 },
    ArgsEscaped: true,
    Image: `sha256:${hex('a')}`,
    Volumes: null,
    WorkingDir: '/app',
    Entrypoint: null,
    OnBuild: ['RUN echo building a child image'],
    Labels: {
      'org.opencontainers.image.created': '2024-05-01T10:00:00Z',
      'org.opencontainers.image.revision': '0123abc',
    },
    Shell: ['/bin/bash', '-o', 'pipefail', '-c'],
    StopSignal: 'SIGTERM',
  },
  container: `3f2a5b6c7d8e${'9'.repeat(52)}`,
  container_config: {
    Hostname: '3f2a5b6c7d8e',
    Domainname: '',
    User: 'app',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: { '8080/tcp': {} },
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_ENV=production'],
    Cmd: ['/bin/sh', '-c', '#(nop) ', 'CMD ["/app/server" "--port=8080"]'],
    Healthcheck: { Test: ['CMD', '/app/healthz'], Interval: 30000000000, Timeout: 5000000000, Retries: 3 },
    ArgsEscaped: true,
    Image: `sha256:${hex('a')}`,
    Volumes: null,
    WorkingDir: '/app',
    Entrypoint: null,
    OnBuild: ['RUN echo building a child image'],
    Labels: {
      'org.opencontainers.image.created': '2024-05-01T10:00:00Z',
      'org.opencontainers.image.revision': '0123abc',
    },
    Shell: ['/bin/bash', '-o', 'pipefail', '-c'],
    StopSignal: 'SIGTERM',
  },
  created: '2024-05-01T10:00:05.123456789Z',
  docker_version: '20.10.24',
  history: [
    { created: '2024-04-10T00:00:00Z', created_by: `/bin/sh -c #(nop) ADD file:${hex('b')} in / ` },
    { created: '2024-04-10T00:00:01Z', created_by: '/bin/sh -c #(nop)  CMD ["bash"]', empty_layer: true },
    { created: '2024-05-01T10:00:02.5Z', created_by: '/bin/sh -c apt-get update && apt-get install -y curl' },
    { created: '2024-05-01T10:00:04.9Z', created_by: '/bin/sh -c #(nop) COPY dir:abc in /app ' },
    { created: '2024-05-01T10:00:05.1Z', created_by: '/bin/sh -c #(nop)  CMD ["/app/server"]', empty_layer: true },
  ],
  os: 'linux',
  parent: `sha256:${hex('c')}`,
  rootfs: { type: 'layers', diff_ids: [`sha256:${hex('1')}`, `sha256:${hex('2')}`, `sha256:${hex('3')}`] },
  x_vendor_extension: { nested: [1, 'two', null, { deep: true }] },
};

/** `buildah bud --layers --format oci` of a FROM scratch Dockerfile, as buildah 1.28 wrote it. */
const buildahOciConfig: ImageConfig = {
  created: '2026-11-25T09:11:24.012750149Z',
  architecture: 'amd64',
  os: 'linux',
  config: {
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1'],
    Cmd: ['/hello'],
    Labels: {
      'io.buildah.version': '1.28.2',
      maintainer: 'me',
      'org.opencontainers.image.created': '2024-01-01T00:00:00Z',
    },
  },
  rootfs: { type: 'layers', diff_ids: [`sha256:${hex('6')}`] },
  history: [
    {
      created: '2026-11-25T09:11:23.683472794Z',
      created_by: '/bin/sh -c #(nop) LABEL org.opencontainers.image.created="2024-01-01T00:00:00Z" maintainer=me',
      empty_layer: true,
    },
    {
      created: '2026-11-25T09:11:23.704232465Z',
      created_by: '/bin/sh -c #(nop) ENV A=1',
      comment: 'FROM f0653cdffbd0',
      empty_layer: true,
    },
    {
      created: '2026-11-25T09:11:23.992410549Z',
      created_by: `/bin/sh -c #(nop) COPY file:${hex('8')} in /hello.txt `,
      comment: 'FROM 167f68683b8c',
    },
    {
      created: '2026-11-25T09:11:24.012944269Z',
      created_by: '/bin/sh -c #(nop) CMD ["/hello"]',
      comment: 'FROM 5287eef6a4ed',
      empty_layer: true,
    },
  ],
};

const fixtures = { docker: dockerConfig, 'buildah-oci': buildahOciConfig } as const;
type FixtureName = keyof typeof fixtures;

const canonicalIds = {
  docker: [`sha256:${hex('d')}`, `sha256:${hex('e')}`, `sha256:${hex('f')}`],
  'buildah-oci': [`sha256:${hex('7')}`],
};

function options(disabled: RuleName[] = [], epoch = 0): NormalizeOptions {
  return { ...defaultNormalizeOptions, epoch, disabledRules: new Set(disabled) };
}

/** The image ID of the raw config as a builder would have written it. */
function rawDigest(config: ImageConfig): string {
  return sha256Of(JSON.stringify(config));
}

function normalizedDigest(config: ImageConfig, diffIds?: string[], disabled: RuleName[] = []): string {
  return canonicalDigest(normalizeConfig(config, diffIds, options(disabled)).config);
}

function vary(config: ImageConfig, mutate: (copy: any) => void): ImageConfig {
  const copy = structuredClone(config);
  mutate(copy);
  return copy;
}

function pointerTokens(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function getAt(document: unknown, pointer: string): unknown {
  return pointerTokens(pointer).reduce<any>((node, token) => node?.[token], document);
}

function setAt(document: unknown, pointer: string, value: unknown): void {
  const tokens = pointerTokens(pointer);
  const parent = getAt(document, toJsonPointer(tokens.slice(0, -1))) as Record<string, unknown>;
  parent[tokens.at(-1)!] = value;
}

/** JSON with every object's keys sorted. */
function sortedJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : item,
  );
}

/** Every key path in document order (`config.User`), to check that surviving keys keep their order. */
function keyOrder(value: unknown, prefix = ''): string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, item]) => [`${prefix}${key}`, ...keyOrder(item, `${prefix}${key}.`)]);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

interface NoiseCase {
  rule: ConfigRuleName;
  fixture: FixtureName;
  what: string;
  mutate: (copy: any) => void;
  /** For diff-ids: both sides are normalized with these canonical diff_ids. */
  diffIds?: string[];
  /** Rules that would hide this noise too, kept off throughout (host fields inside container_config). */
  alsoDisabled?: RuleName[];
}

const noiseCases: NoiseCase[] = [
  { rule: 'config-created', fixture: 'docker', what: 'build date', mutate: (c) => (c.created = '2024-05-02T11:22:33.987654321Z') },
  { rule: 'config-created', fixture: 'buildah-oci', what: 'build date', mutate: (c) => (c.created = '2026-11-25T09:11:25.782817123Z') },
  { rule: 'history-created', fixture: 'docker', what: 'one history date', mutate: (c) => (c.history[2].created = '2024-05-02T00:00:00Z') },
  {
    rule: 'history-created',
    fixture: 'buildah-oci',
    what: 'every history date',
    mutate: (c) => c.history.forEach((h: any, i: number) => (h.created = `2026-11-25T09:11:2${i}.5Z`)),
  },
  { rule: 'host-fields', fixture: 'docker', what: 'build container ID', mutate: (c) => (c.container = hex('4')) },
  {
    rule: 'host-fields',
    fixture: 'docker',
    what: 'build container hostname',
    mutate: (c) => (c.config.Hostname = c.container_config.Hostname = '67786d0a2afa'),
  },
  {
    rule: 'host-fields',
    fixture: 'docker',
    what: 'build container hostname in container_config, kept',
    mutate: (c) => (c.container_config.Hostname = '67786d0a2afa'),
    alsoDisabled: ['container-config'],
  },
  { rule: 'host-fields', fixture: 'docker', what: 'docker_version', mutate: (c) => (c.docker_version = '24.0.7') },
  { rule: 'host-fields', fixture: 'docker', what: 'parent image ID', mutate: (c) => (c.parent = `sha256:${hex('5')}`) },
  {
    rule: 'host-fields',
    fixture: 'docker',
    what: 'intermediate image ID in Image',
    mutate: (c) => (c.config.Image = c.container_config.Image = `sha256:${hex('5')}`),
  },
  {
    rule: 'host-fields',
    fixture: 'buildah-oci',
    what: 'buildah --layers FROM <id> comments',
    mutate: (c) => {
      c.history[1].comment = 'FROM 5069bf8cac2a';
      c.history[2].comment = 'FROM a7b5aa3873ec';
      c.history[3].comment = `FROM ${'0a'.repeat(32)}`; // a full 64-hex ID
    },
  },
  {
    rule: 'created-label',
    fixture: 'docker',
    what: 'created label in config and container_config',
    mutate: (c) => (c.config.Labels['org.opencontainers.image.created'] = c.container_config.Labels['org.opencontainers.image.created'] = '2024-05-02T00:00:00Z'),
  },
  {
    rule: 'created-label',
    fixture: 'docker',
    what: 'created label in container_config only, kept',
    mutate: (c) => (c.container_config.Labels['org.opencontainers.image.created'] = 'yesterday'),
    alsoDisabled: ['container-config'],
  },
  {
    rule: 'created-label',
    fixture: 'buildah-oci',
    what: 'created label',
    mutate: (c) => (c.config.Labels['org.opencontainers.image.created'] = '2026-11-25T09:13:44.145293958Z'),
  },
  {
    rule: 'container-config',
    fixture: 'docker',
    what: 'the build step in container_config.Cmd',
    mutate: (c) => (c.container_config.Cmd = ['/bin/sh', '-c', '#(nop) ', 'CMD ["/app/server"]']),
  },
  {
    rule: 'container-config',
    fixture: 'buildah-oci',
    what: 'a container_config only one side has (OCI has none)',
    mutate: (c) => (c.container_config = { ...c.config, Hostname: 'f0653cdffbd0' }),
  },
  {
    rule: 'empty-values',
    fixture: 'docker',
    what: 'zero values omitted, as skopeo converts Docker to OCI',
    mutate: (c) => {
      for (const key of ['Domainname', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce', 'Volumes', 'Entrypoint']) {
        delete c.config[key];
      }
    },
  },
  {
    rule: 'empty-values',
    fixture: 'buildah-oci',
    what: 'zero values spelled out, as Docker writes them',
    mutate: (c) => {
      Object.assign(c.config, { User: '', Tty: false, Volumes: null, WorkingDir: '', Entrypoint: [], OnBuild: null, ExposedPorts: {} });
      c.history[2].empty_layer = false;
      c.history[0].comment = '';
      c.author = '';
    },
  },
  {
    rule: 'diff-ids',
    fixture: 'docker',
    what: 'layer tar digest (same files, other mtimes)',
    mutate: (c) => (c.rootfs.diff_ids[1] = `sha256:${hex('9')}`),
    diffIds: canonicalIds.docker,
  },
  {
    rule: 'diff-ids',
    fixture: 'buildah-oci',
    what: 'layer tar digest',
    mutate: (c) => (c.rootfs.diff_ids[0] = `sha256:${hex('9')}`),
    diffIds: canonicalIds['buildah-oci'],
  },
];

describe('normalizeConfig: each rule removes its noise', () => {
  it('has a noise case for every config rule in both formats', () => {
    for (const rule of configRuleNames) {
      const covered = new Set(noiseCases.filter((c) => c.rule === rule).map((c) => c.fixture));
      expect([...covered].sort(), rule).toEqual(['buildah-oci', 'docker']);
    }
  });

  describe.each(noiseCases)('$rule: $fixture, $what', ({ rule, fixture, mutate, diffIds, alsoDisabled = [] }) => {
    const a = fixtures[fixture];
    const b = vary(a, mutate);

    it('differs raw, is equal after normalization', () => {
      expect(rawDigest(b)).not.toBe(rawDigest(a));
      expect(normalizedDigest(b, diffIds, alsoDisabled)).toBe(normalizedDigest(a, diffIds, alsoDisabled));
    });

    it(`still differs with ${rule} disabled`, () => {
      const disabled = [rule, ...alsoDisabled];
      expect(normalizedDigest(b, diffIds, disabled)).not.toBe(normalizedDigest(a, diffIds, disabled));
    });

    it(`lists ${rule} as applied`, () => {
      const { applied } = normalizeConfig(b, diffIds, options(alsoDisabled));
      expect(applied.map((entry) => entry.rule)).toContain(rule);
      const { applied: withoutRule } = normalizeConfig(b, diffIds, options([rule, ...alsoDisabled]));
      expect(withoutRule.map((entry) => entry.rule)).not.toContain(rule);
    });
  });
});

describe('normalizeConfig: what it must not change', () => {
  const contentChanges: Array<[string, FixtureName, (copy: any) => void]> = [
    ['Env', 'docker', (c) => c.config.Env.push('DEBUG=1')],
    ['Env order', 'buildah-oci', (c) => c.config.Env.reverse()],
    ['Cmd', 'buildah-oci', (c) => (c.config.Cmd = ['/hello', '--verbose'])],
    ['another label', 'docker', (c) => (c.config.Labels['org.opencontainers.image.revision'] = 'fffffff')],
    ['an added label', 'buildah-oci', (c) => (c.config.Labels['org.opencontainers.image.version'] = '1.0')],
    ['architecture', 'buildah-oci', (c) => (c.architecture = 'arm64')],
    ['User', 'docker', (c) => (c.config.User = 'root')],
    ['Domainname', 'docker', (c) => (c.config.Domainname = 'example.internal')],
    ['Healthcheck Interval', 'docker', (c) => (c.config.Healthcheck.Interval = 60000000000)],
    ['Shell', 'docker', (c) => (c.config.Shell = ['/bin/sh', '-c'])],
    ['history created_by', 'docker', (c) => (c.history[2].created_by = '/bin/sh -c apt-get install -y wget')],
    ['history empty_layer', 'buildah-oci', (c) => (c.history[0].empty_layer = false)],
    ['a comment that is not an image ID', 'buildah-oci', (c) => (c.history[1].comment = 'FROM docker.io/library/debian:12')],
    ['an unknown key', 'docker', (c) => (c.x_vendor_extension.nested[1] = 'three')],
    ['the diff_ids, when no canonical ones are given', 'buildah-oci', (c) => (c.rootfs.diff_ids[0] = `sha256:${hex('9')}`)],
  ];

  it.each(contentChanges)('%s still differs after normalization', (_what, fixture, mutate) => {
    const a = fixtures[fixture];
    expect(normalizedDigest(vary(a, mutate))).not.toBe(normalizedDigest(a));
  });

  it.each(Object.keys(fixtures) as FixtureName[])(
    '%s: output equals the input except at the applied paths, key order kept',
    (name) => {
      const raw = fixtures[name];
      const { config, applied } = normalizeConfig(raw, canonicalIds[name], options());
      const restored = structuredClone(config);
      // Deleted keys first, outermost first (container_config before anything in it), then rewrites.
      const paths = applied.flatMap((entry) => entry.paths);
      const ordered = [...new Set(paths)].sort((x, y) => Number(getAt(config, x) !== undefined) - Number(getAt(config, y) !== undefined) || x.length - y.length);
      for (const path of ordered) {
        expect(getAt(config, path), path).not.toEqual(getAt(raw, path));
        if (getAt(restored, path) === undefined && getAt(config, toJsonPointer(pointerTokens(path).slice(0, -1))) === undefined) continue;
        setAt(restored, path, getAt(raw, path));
      }
      // Same values (deleted keys come back at the end of their object, so compare with sorted keys),
      // and the surviving keys keep their order: Docker-only and unknown fields survive untouched.
      expect(sortedJson(restored)).toBe(sortedJson(raw));
      expect(keyOrder(config)).toEqual(keyOrder(raw).filter((key) => keyOrder(config).includes(key)));
    },
  );

  it('keeps Docker-only fields with content and unknown fields', () => {
    const { config } = normalizeConfig(dockerConfig, undefined, options());
    const run = config.config as Record<string, unknown>;
    const raw = dockerConfig.config as Record<string, unknown>;
    for (const key of ['Healthcheck', 'Shell', 'OnBuild', 'ArgsEscaped', 'StopSignal', 'ExposedPorts']) {
      expect(JSON.stringify(run[key]), key).toBe(JSON.stringify(raw[key]));
    }
    // Gone: builder state, host fields (blanked, then empty) and zero values only.
    const dropped = ['container', 'container_config', 'docker_version', 'parent'];
    expect(Object.keys(config)).toEqual(Object.keys(dockerConfig).filter((key) => !dropped.includes(key)));
    expect(config.x_vendor_extension).toStrictEqual(dockerConfig.x_vendor_extension);
  });

  it('keeps container_config, its keys in order, with the container-config rule disabled', () => {
    const { config } = normalizeConfig(dockerConfig, undefined, options(['container-config', 'empty-values']));
    expect(Object.keys(config)).toEqual(Object.keys(dockerConfig));
    expect(Object.keys(config.container_config as object)).toEqual(Object.keys(dockerConfig.container_config as object));
  });

  it('keeps a __proto__ key from parsed JSON as data', () => {
    const raw = JSON.parse('{"created":"2024-01-01T00:00:00Z","__proto__":{"polluted":true}}') as ImageConfig;
    const { config } = normalizeConfig(raw, undefined, options());
    expect(Object.keys(config)).toEqual(['created', '__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not add fields that were absent', () => {
    const bare = vary(buildahOciConfig, (c) => {
      delete c.created;
      delete c.history[0].created;
      delete c.config.Labels['org.opencontainers.image.created'];
    });
    const { config, applied } = normalizeConfig(bare, undefined, options());
    for (const key of ['created', 'container', 'docker_version', 'parent', 'container_config']) {
      expect(Object.hasOwn(config, key), key).toBe(false);
    }
    expect(Object.hasOwn(config.history![0]!, 'created')).toBe(false);
    expect(Object.hasOwn(config.config!, 'Hostname')).toBe(false);
    expect(Object.hasOwn(config.config!.Labels as object, 'org.opencontainers.image.created')).toBe(false);
    expect(applied.find((entry) => entry.rule === 'config-created')).toBeUndefined();
    expect(applied.find((entry) => entry.rule === 'created-label')).toBeUndefined();
  });

  it('leaves values that are not strings alone, and copes with null Labels', () => {
    const odd = vary(dockerConfig, (c) => {
      c.created = null;
      c.config.Labels = null;
      c.container = 42;
    });
    // empty-values would drop the nulls: this is about the rules that rewrite strings.
    const { config, applied } = normalizeConfig(odd, undefined, options(['empty-values']));
    expect(config.created).toBeNull();
    expect(config.config!.Labels).toBeNull();
    expect(config.container).toBe(42);
    expect(applied.flatMap((entry) => entry.paths)).not.toContain('/created');
  });

  it('never modifies its input', () => {
    const frozen = deepFreeze(structuredClone(dockerConfig));
    const before = JSON.stringify(frozen);
    normalizeConfig(frozen, canonicalIds.docker, options());
    expect(JSON.stringify(frozen)).toBe(before);
  });

  it('refuses a config that is not an object', () => {
    expect(() => normalizeConfig([] as unknown as ImageConfig, undefined, options())).toThrow(OciReproError);
  });
});

describe('normalizeConfig: applied', () => {
  it('lists exactly the changed JSON pointers of a Docker config, rule by rule', () => {
    const { config, applied } = normalizeConfig(dockerConfig, canonicalIds.docker, options());
    const expected: AppliedRule[] = [
      { rule: 'config-created', paths: ['/created'] },
      { rule: 'history-created', paths: [0, 1, 2, 3, 4].map((i) => `/history/${i}/created`) },
      { rule: 'container-config', paths: ['/container_config'] },
      { rule: 'host-fields', paths: ['/container', '/docker_version', '/parent', '/config/Hostname', '/config/Image'] },
      { rule: 'created-label', paths: ['/config/Labels/org.opencontainers.image.created'] },
      {
        rule: 'empty-values',
        paths: [
          ...['Hostname', 'Domainname', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce', 'Image', 'Volumes', 'Entrypoint'].map((key) => `/config/${key}`),
          '/container',
          '/docker_version',
          '/parent',
        ],
      },
      { rule: 'diff-ids', paths: ['/rootfs/diff_ids/0', '/rootfs/diff_ids/1', '/rootfs/diff_ids/2'] },
    ];
    expect(applied).toEqual(expected);
    expect(config.created).toBe(epochZero);
    expect(config.history!.map((h) => h.created)).toEqual(Array(5).fill(epochZero));
    for (const key of ['container', 'docker_version', 'parent', 'container_config']) expect(Object.hasOwn(config, key), key).toBe(false);
    expect(Object.hasOwn(config.config!, 'Hostname')).toBe(false);
    expect(config.rootfs!.diff_ids).toEqual(canonicalIds.docker);
  });

  it('lists exactly the changed JSON pointers of a buildah OCI config', () => {
    const { config, applied } = normalizeConfig(buildahOciConfig, undefined, options());
    expect(applied).toEqual([
      { rule: 'config-created', paths: ['/created'] },
      { rule: 'history-created', paths: [0, 1, 2, 3].map((i) => `/history/${i}/created`) },
      { rule: 'host-fields', paths: ['/history/1/comment', '/history/2/comment', '/history/3/comment'] },
      { rule: 'created-label', paths: ['/config/Labels/org.opencontainers.image.created'] },
    ]);
    expect(config.history!.map((h) => h.comment)).toEqual([
      undefined,
      'FROM 000000000000',
      'FROM 000000000000',
      'FROM 000000000000',
    ]);
  });

  it('leaves out values that already equal the target, and rules that changed nothing', () => {
    const half = vary(dockerConfig, (c) => {
      c.created = epochZero;
      c.history[1].created = epochZero;
      c.docker_version = '';
    });
    const { applied } = normalizeConfig(half, [`sha256:${hex('1')}`, `sha256:${hex('e')}`, `sha256:${hex('3')}`], options());
    const paths = applied.flatMap((entry) => entry.paths);
    expect(applied.map((entry) => entry.rule)).not.toContain('config-created');
    expect(paths).not.toContain('/history/1/created');
    expect(paths).toContain('/history/0/created');
    expect(applied.find((entry) => entry.rule === 'host-fields')?.paths).not.toContain('/docker_version');
    expect(applied.find((entry) => entry.rule === 'diff-ids')).toEqual({ rule: 'diff-ids', paths: ['/rootfs/diff_ids/1'] });
  });

  it('applies nothing with every config rule disabled', () => {
    const { config, applied } = normalizeConfig(dockerConfig, canonicalIds.docker, options([...configRuleNames]));
    expect(applied).toEqual([]);
    expect(JSON.stringify(config)).toBe(JSON.stringify(dockerConfig));
  });

  it('uses the epoch from the options', () => {
    const { config } = normalizeConfig(buildahOciConfig, undefined, options([], 1700000000));
    expect(config.created).toBe('2023-11-14T22:13:20Z');
    expect(config.history![3]!.created).toBe('2023-11-14T22:13:20Z');
    expect((config.config!.Labels as Record<string, string>)['org.opencontainers.image.created']).toBe('2023-11-14T22:13:20Z');
  });
});

describe('normalizeConfig: idempotence', () => {
  it.each(Object.keys(fixtures) as FixtureName[])('%s: normalizing twice equals normalizing once', (name) => {
    const once = normalizeConfig(fixtures[name], canonicalIds[name], options());
    const twice = normalizeConfig(once.config, canonicalIds[name], options());
    expect(JSON.stringify(twice.config)).toBe(JSON.stringify(once.config));
    expect(twice.applied).toEqual([]);
  });
});

describe('normalizeConfig: diff-ids', () => {
  it('refuses a count mismatch with exit code 3, naming both counts', () => {
    for (const ids of [canonicalIds.docker.slice(0, 2), [...canonicalIds.docker, `sha256:${hex('0')}`]]) {
      const error = thrownError(() => normalizeConfig(dockerConfig, ids, options()));
      expect(error.exitCode).toBe(3);
      expect(error.code).toBe('BAD_INPUT');
      expect(error.message).toContain('3');
      expect(error.message).toContain(String(ids.length));
      expect(error.data).toEqual({ configDiffIds: 3, layers: ids.length });
    }
  });

  it('refuses a mismatch even with the rule disabled: the config and its layers disagree', () => {
    expect(thrownError(() => normalizeConfig(dockerConfig, [], options(['diff-ids']))).exitCode).toBe(3);
  });

  it('refuses canonical diff_ids for a config without rootfs, and adds nothing for zero layers', () => {
    const noRootfs = vary(buildahOciConfig, (c) => delete c.rootfs);
    expect(thrownError(() => normalizeConfig(noRootfs, canonicalIds['buildah-oci'], options())).exitCode).toBe(3);
    const { config } = normalizeConfig(noRootfs, [], options());
    expect(Object.hasOwn(config, 'rootfs')).toBe(false);
  });

  it('keeps the raw diff_ids with the rule disabled', () => {
    const { config } = normalizeConfig(dockerConfig, canonicalIds.docker, options(['diff-ids']));
    expect(config.rootfs!.diff_ids).toEqual(dockerConfig.rootfs!.diff_ids);
  });
});

describe('normalizeManifestAnnotations', () => {
  const annotations = {
    'org.opencontainers.image.created': '2026-11-25T09:11:24Z',
    'org.opencontainers.image.ref.name': 'latest',
  };

  it('sets the created annotation to the epoch and says where', () => {
    const result = normalizeManifestAnnotations(annotations, options());
    expect(result.annotations).toEqual({ ...annotations, 'org.opencontainers.image.created': epochZero });
    expect(result.applied).toEqual([
      { rule: 'created-label', paths: ['/annotations/org.opencontainers.image.created'] },
    ]);
    expect(annotations['org.opencontainers.image.created']).toBe('2026-11-25T09:11:24Z');
  });

  it('takes the pointer of a descriptor annotation', () => {
    const { applied } = normalizeManifestAnnotations(annotations, options(), '/manifests/1/annotations');
    expect(applied[0]!.paths).toEqual(['/manifests/1/annotations/org.opencontainers.image.created']);
  });

  it('changes nothing when disabled, absent or already the epoch', () => {
    expect(normalizeManifestAnnotations(annotations, options(['created-label']))).toEqual({ annotations, applied: [] });
    expect(normalizeManifestAnnotations(undefined, options())).toEqual({ annotations: undefined, applied: [] });
    const other = { 'org.opencontainers.image.base.name': 'docker.io/library/debian:12' };
    expect(normalizeManifestAnnotations(other, options())).toEqual({ annotations: other, applied: [] });
    const done = { 'org.opencontainers.image.created': epochZero };
    expect(normalizeManifestAnnotations(done, options()).applied).toEqual([]);
  });
});

describe('rule list and JSON pointers', () => {
  it('lists every config rule once with a one-line description', () => {
    const rules = listConfigRules();
    expect(rules.map((entry) => entry.rule)).toEqual([...configRuleNames]);
    for (const { description } of rules) {
      expect(description.length).toBeGreaterThan(10);
      expect(description).not.toContain('\n');
    }
  });

  it('escapes ~ and / per RFC 6901', () => {
    expect(escapePointerToken('a/b~c')).toBe('a~1b~0c');
    expect(escapePointerToken('~1')).toBe('~01');
    expect(toJsonPointer(['config', 'Labels', 'io/x~y'])).toBe('/config/Labels/io~1x~0y');
    expect(toJsonPointer(['history', 3, 'created'])).toBe('/history/3/created');
    expect(toJsonPointer([])).toBe('');
  });
});

/**
 * A format conversion is not a difference. `buildah bud --format docker` of FROM scratch + COPY + LABEL,
 * USER, WORKDIR, EXPOSE, VOLUME and ENV (buildah 1.28.2), and what `skopeo copy docker-archive: oci:`
 * (skopeo 1.9.3) made of it: field by field as the tools wrote them.
 */
const buildahDockerRunConfig = {
  Hostname: 'd561baa41e76',
  Domainname: '',
  User: '1000:1000',
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  ExposedPorts: { '8080/tcp': {} },
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'a=b'],
  Cmd: [],
  Image: '',
  Volumes: { '/data': {} },
  WorkingDir: '/srv',
  Entrypoint: [],
  OnBuild: [],
  Labels: { 'io.buildah.version': '1.28.2', 'org.example.empty': '', 'org.example.k': 'v' },
};
const buildahHistory = [
  { created: '2026-12-05T08:29:12.502410196Z', created_by: `/bin/sh -c #(nop) COPY file:${hex('8')} in /srv/hello.txt ` },
  { created: '2026-12-05T08:29:12.685049491Z', created_by: '/bin/sh -c #(nop) LABEL org.example.k=v org.example.empty=""', comment: 'FROM e11c0e29931f', empty_layer: true },
  { created: '2026-12-05T08:29:13.711794996Z', created_by: '/bin/sh -c #(nop) ENV a b', comment: 'FROM 34f61cf4bb9b', empty_layer: true },
];
const buildahDocker: ImageConfig = {
  created: '2026-12-05T08:29:13.711538349Z',
  container: '9ea25bae912556d690c1f73dec66e1a26b10ef0c4eb3339b8118539e34c1ab27',
  container_config: buildahDockerRunConfig,
  config: buildahDockerRunConfig,
  architecture: 'amd64',
  os: 'linux',
  parent: 'sha256:34f61cf4bb9bda3b797b594ca24b96025a824b98951e732d9a732a24e4e66f9e',
  rootfs: { type: 'layers', diff_ids: [`sha256:${hex('2')}`] },
  history: buildahHistory,
};
const skopeoOci: ImageConfig = {
  created: '2026-12-05T08:29:13.711538349Z',
  architecture: 'amd64',
  os: 'linux',
  config: {
    User: '1000:1000',
    ExposedPorts: { '8080/tcp': {} },
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'a=b'],
    Volumes: { '/data': {} },
    WorkingDir: '/srv',
    Labels: { 'io.buildah.version': '1.28.2', 'org.example.empty': '', 'org.example.k': 'v' },
  },
  rootfs: { type: 'layers', diff_ids: [`sha256:${hex('2')}`] },
  history: buildahHistory,
};

describe('empty-values and container-config: a docker -> OCI conversion is not a difference', () => {
  it('differs raw, is equal after normalization', () => {
    expect(rawDigest(skopeoOci)).not.toBe(rawDigest(buildahDocker));
    expect(normalizedDigest(skopeoOci)).toBe(normalizedDigest(buildahDocker));
  });

  it.each(['empty-values', 'container-config', 'host-fields'] as const)('still differs with %s disabled', (rule) => {
    expect(normalizedDigest(skopeoOci, undefined, [rule])).not.toBe(normalizedDigest(buildahDocker, undefined, [rule]));
  });

  it('lists the dropped zero values and container_config in applied', () => {
    const { applied } = normalizeConfig(buildahDocker, undefined, options());
    expect(applied.find((entry) => entry.rule === 'container-config')?.paths).toEqual(['/container_config']);
    expect(applied.find((entry) => entry.rule === 'empty-values')?.paths).toEqual([
      ...['Hostname', 'Domainname', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce', 'Cmd', 'Image', 'Entrypoint', 'OnBuild'].map(
        (key) => `/config/${key}`,
      ),
      '/container',
      '/parent',
    ]);
    expect(normalizeConfig(skopeoOci, undefined, options()).applied.map((entry) => entry.rule)).not.toContain('empty-values');
  });

  it('keeps a Docker-only field with content: a Healthcheck the conversion dropped is a real difference', () => {
    const withHealthcheck = vary(buildahDocker, (c) => (c.config = { ...c.config, Healthcheck: { Test: ['CMD', '/bin/true'], Interval: 30000000000 } }));
    expect(normalizedDigest(skopeoOci)).not.toBe(normalizedDigest(withHealthcheck));
  });

  it('the other way round: zero values spelled out in OCI too, and in history entries', () => {
    const spelled = vary(skopeoOci, (c) => {
      Object.assign(c.config, { Cmd: null, Entrypoint: null, StopSignal: '', ArgsEscaped: false });
      c.history.forEach((entry: any) => {
        entry.author = '';
        entry.comment ??= '';
        entry.empty_layer ??= false;
      });
      c['os.features'] = [];
      c.variant = '';
    });
    expect(normalizedDigest(spelled)).toBe(normalizedDigest(skopeoOci));
    expect(normalizedDigest(spelled, undefined, ['empty-values'])).not.toBe(normalizedDigest(skopeoOci, undefined, ['empty-values']));
  });

  it('drops a run config left empty, as a writer with nothing to put there omits it', () => {
    const empty = vary(skopeoOci, (c) => (c.config = { User: '', Env: [], Labels: {} }));
    const none = vary(skopeoOci, (c) => delete c.config);
    expect(normalizedDigest(empty)).toBe(normalizedDigest(none));
    expect(normalizeConfig(empty, undefined, options()).applied.find((entry) => entry.rule === 'empty-values')?.paths).toEqual([
      '/config/User',
      '/config/Env',
      '/config/Labels',
      '/config',
    ]);
  });

  const contentKept: Array<[string, (c: any) => void]> = [
    ['a label set to "" (LABEL a="" sets a)', (c) => delete c.config.Labels['org.example.empty']],
    ['an empty Env element', (c) => c.config.Env.push('')],
    ['an ExposedPorts value', (c) => (c.config.ExposedPorts['8080/tcp'] = { x: 1 })],
    ['StopTimeout 0 ("stop at once") against none (the default, 10 s)', (c) => (c.config.StopTimeout = 0)],
    ['a Healthcheck field at 0 against none', (c) => (c.config.Healthcheck = { Test: ['CMD', 'x'], Retries: 0 })],
    ['an unknown object holding zero values', (c) => (c.x_vendor = { flag: false, name: '' })],
  ];

  it.each(contentKept)('keeps %s', (_what, mutate) => {
    const base = vary(skopeoOci, (c) => (c.config.Healthcheck = { Test: ['CMD', 'x'] }));
    const variant = vary(base, mutate);
    expect(normalizedDigest(variant)).not.toBe(normalizedDigest(base));
  });

  it('keeps empty user content inside the fields it keeps', () => {
    const { config } = normalizeConfig(skopeoOci, undefined, options());
    expect((config.config!.Labels as Record<string, string>)['org.example.empty']).toBe('');
    expect(config.config!.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(config.config!.Volumes).toEqual({ '/data': {} });
  });
});

describe('zero-layer configs: Docker omits rootfs.diff_ids, Go OCI types write null or []', () => {
  const scratch = vary(buildahOciConfig, (c) => {
    c.rootfs = { type: 'layers' };
    c.history = c.history.filter((entry: any) => entry.empty_layer);
  });
  const withEmpty = vary(scratch, (c) => (c.rootfs.diff_ids = []));
  const withNull = vary(scratch, (c) => (c.rootfs.diff_ids = null));

  it('is one canonical config whatever the spelling, without diff_ids', () => {
    const digests = [scratch, withEmpty, withNull].map((config) => normalizedDigest(config, []));
    expect(new Set(digests).size).toBe(1);
    expect(rawDigest(withEmpty)).not.toBe(rawDigest(scratch));
    for (const config of [scratch, withEmpty, withNull]) {
      expect(normalizeConfig(config, [], options()).config.rootfs).toEqual({ type: 'layers' });
    }
    expect(normalizeConfig(withEmpty, [], options()).applied.find((entry) => entry.rule === 'empty-values')?.paths).toEqual(['/rootfs/diff_ids']);
  });

  it('still differs with empty-values disabled, and accepts no list only for zero layers', () => {
    expect(normalizedDigest(withEmpty, [], ['empty-values'])).not.toBe(normalizedDigest(scratch, [], ['empty-values']));
    for (const config of [scratch, withNull]) {
      expect(() => normalizeConfig(config, [`sha256:${hex('1')}`], options())).toThrow(/missing or not a list/);
    }
  });
});

describe('normalizeManifestAnnotations: empty-values', () => {
  const buildahScratch = { 'org.opencontainers.image.base.digest': '', 'org.opencontainers.image.base.name': '' };

  it('drops the empty base-image annotations buildah writes for FROM scratch, and says where', () => {
    const result = normalizeManifestAnnotations(buildahScratch, options());
    expect(result.annotations).toEqual({});
    expect(result.applied).toEqual([
      { rule: 'empty-values', paths: ['/annotations/org.opencontainers.image.base.digest'] },
      { rule: 'empty-values', paths: ['/annotations/org.opencontainers.image.base.name'] },
    ]);
    expect(normalizeManifestAnnotations(buildahScratch, options(['empty-values'])).annotations).toEqual(buildahScratch);
  });

  it('keeps a named base and any other annotation, empty or not', () => {
    const other = { 'org.opencontainers.image.base.name': 'docker.io/library/debian:12', 'org.example.note': '' };
    expect(normalizeManifestAnnotations(other, options())).toEqual({ annotations: other, applied: [] });
  });
});
