import { describe, expect, it } from 'vitest';
import { type CauseEntry, causeCatalogue, findCauseEntry } from '../../src/causes/catalogue.js';
import { checkGlob, matchGlob } from '../../src/causes/glob.js';
import { explainDifferences, matchCause } from '../../src/causes/match.js';
import { differenceKinds, fileAttributes } from '../../src/causes/selectors.js';
import type { Difference, EntryValue, FileAttribute, FileAttributeValues } from '../../src/diff/model.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

function configField(path: string, a: unknown, b: unknown): Difference {
  return { kind: 'config-field', path, a, b, neutralized: false, cause: null };
}

function fileAttribute<A extends FileAttribute>(file: string, attribute: A, a: FileAttributeValues[A], b: FileAttributeValues[A], key?: string): Difference {
  return {
    kind: 'file-attribute',
    path: `layers/1/${file}#${attribute}${key ? `:${key}` : ''}`,
    layer: 1,
    file,
    attribute,
    ...(key ? { key } : {}),
    a,
    b,
    neutralized: false,
    cause: null,
  } as Difference;
}

function content(file: string): Difference {
  return fileAttribute(file, 'content', digest('a'), digest('b'));
}

/** A binary whose decoded ELF differs in Go's build id and its note only. */
function goBuildIdOnly(file: string): Difference {
  const difference = content(file);
  difference.detail = {
    format: 'decoded',
    decoder: 'elf',
    sizeA: 1000,
    sizeB: 1000,
    digestA: digest('a'),
    digestB: digest('b'),
    changes: [
      { where: 'notes', field: 'go-build-id', a: 'aa/bb/cc/dd', b: 'aa/bb/cc/ee', records: "Go's build id" },
      { where: '.note.go.buildid', field: 'sha256', a: 'x', b: 'y', records: "Go's build id note" },
    ],
  };
  return difference;
}

function fileAdded(file: string): Difference {
  return { kind: 'file-added', path: `layers/1/${file}`, layer: 1, file, a: null, b: { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 12 } satisfies EntryValue, neutralized: false, cause: null };
}

function layerKind(kind: Difference['kind']): Difference {
  // Placeholder values: these examples are matched by kind alone.
  return { kind, path: 'layers/0', layer: 0, a: null, b: null, neutralized: true, cause: null } as unknown as Difference;
}

/** One realistic difference per catalogue entry (several for entries with several shapes). */
const examples: [string, Difference][] = [
  ['config-created', configField('/created', '2024-05-01T10:03:25.118Z', '2024-05-01T10:10:01.904Z')],
  ['history-created', configField('/history/4/created', '2024-05-01T10:03:21Z', '2024-05-01T10:09:58Z')],
  ['created-label', configField('/config/Labels/org.opencontainers.image.created', '2024-05-01T10:03:25Z', '2024-05-01T10:10:01Z')],
  ['created-label', configField('/container_config/Labels/org.opencontainers.image.created', '2024-05-01', '2024-05-02')],
  [
    'created-label',
    { kind: 'manifest-field', path: '/annotations/org.opencontainers.image.created', a: '2024-05-01T10:03:25Z', b: '2024-05-01T10:10:01Z', neutralized: true, cause: null },
  ],
  ['builder-version', configField('/docker_version', '24.0.7', '25.0.3')],
  ['builder-version', configField('/config/Labels/io.buildah.version', '1.28.2', '1.33.7')],
  ['host-fields', configField('/container', `3f2a5b6c7d8e${'9'.repeat(52)}`, `0b7e6d5c4a3f${'1'.repeat(52)}`)],
  ['host-fields', configField('/config/Hostname', '3f2a5b6c7d8e', '0b7e6d5c4a3f')],
  ['host-fields', configField('/container_config/Hostname', '3f2a5b6c7d8e', '0b7e6d5c4a3f')],
  ['host-fields', configField('/parent', digest('1'), digest('2'))],
  ['host-fields', configField('/history/2/comment', 'FROM 3f2a5b6c7d8e', 'FROM 0b7e6d5c4a3f')],
  ['format-conversion', configField('/container_config', { Hostname: '3f2a5b6c7d8e', Cmd: [] }, null)],
  ['format-conversion', configField('/config/Tty', false, null)],
  ['format-conversion', configField('/config/Volumes', null, {})],
  ['format-conversion', configField('/history/3/empty_layer', false, null)],
  ['format-conversion', configField('/rootfs/diff_ids', null, [])],
  [
    'format-conversion',
    { kind: 'manifest-field', path: '/annotations/org.opencontainers.image.base.name', a: '', b: null, neutralized: true, cause: null },
  ],
  ['docker-only-field', configField('/config/Healthcheck', { Test: ['CMD', '/bin/true'], Interval: 30000000000 }, null)],
  ['docker-only-field', configField('/config/Shell', null, ['/bin/bash', '-c'])],
  ['layer-diff-ids', configField('/rootfs/diff_ids/1', digest('1'), digest('2'))],
  [
    'copied-content',
    configField('/history/2/created_by', `/bin/sh -c #(nop) COPY file:${'a1'.repeat(32)} in /app `, `/bin/sh -c #(nop) COPY file:${'b2'.repeat(32)} in /app `),
  ],
  ['copied-content', configField('/history/1/created_by', '/bin/sh -c #(nop) COPY dir:9f8e7d6c in /opt/app ', '/bin/sh -c #(nop) COPY dir:0a1b2c3d in /opt/app ')],
  ['copied-content', configField('/history/3/created_by', 'ADD multi:0123456789abcdef in /srv/', 'ADD multi:fedcba9876543210 in /srv/')],
  ['dockerfile-changed', configField('/history/1/created_by', '/bin/sh -c make', '/bin/sh -c make install')],
  ['dockerfile-changed', configField('/history/2/created_by', '/bin/sh -c #(nop) ENV a=b', '/bin/sh -c #(nop) ENV a=c')],
  ['dockerfile-changed', configField('/history/5', null, { created: '2024-05-01T10:03:21Z', created_by: 'RUN make test' })],
  ['layer-count', { kind: 'layer-count', path: 'layers', a: 2, b: 1, neutralized: false, cause: null }],
  ['layer-compression', layerKind('layer-compression')],
  ['entry-order', layerKind('entry-order')],
  ['tar-dialect', layerKind('tar-dialect')],
  ['tar-dialect', fileAttribute('usr/share/doc/a-very-long-name/changelog.Debian.gz', 'pax', '100', null, 'path')],
  ['tar-noise', layerKind('layer-tar')],
  ['file-mtime', fileAttribute('usr/local/bin/app', 'mtime', 1714557800, 1714558195)],
  ['file-mtime', fileAttribute('usr/local/bin/app', 'pax', '1714557800.123', '1714558195.9', 'mtime')],
  ['extra-times', fileAttribute('usr/local/bin/app', 'atime', 1714557800, 1714558195)],
  ['extra-times', fileAttribute('usr/local/bin/app', 'ctime', 1714557800, 1714558195)],
  ['extra-times', fileAttribute('usr/local/bin/app', 'pax', '1714557800.5', null, 'atime')],
  ['owner-names', fileAttribute('usr/local/bin/app', 'uname', 'root', '')],
  ['owner-names', fileAttribute('usr/local/bin/app', 'gname', 'root', 'wheel')],
  ['owner-names', fileAttribute('usr/local/bin/app', 'pax', 'builder', null, 'uname')],
  ['umask-mode', fileAttribute('app/config.yaml', 'mode', 0o664, 0o644)],
  ['umask-mode', fileAttribute('app/run.sh', 'mode', 0o775, 0o755)],
  ['apt-logs', content('var/log/apt/history.log')],
  ['apt-logs', content('var/log/apt/term.log')],
  ['apt-logs', fileAdded('var/log/apt/eipp.log.xz')],
  ['apt-logs', content('var/log/dpkg.log')],
  ['apt-logs', content('var/log/alternatives.log')],
  ['apt-lists', fileAdded('var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease')],
  ['apt-cache', content('var/cache/apt/pkgcache.bin')],
  ['apt-cache', content('var/cache/apt/srcpkgcache.bin')],
  ['apt-cache', fileAdded('var/cache/apt/archives/python3_3.11.2-1+b1_amd64.deb')],
  ['debconf-backups', content('var/cache/debconf/templates.dat-old')],
  ['debconf-backups', content('var/cache/debconf/config.dat-old')],
  ['ldconfig-aux-cache', content('var/cache/ldconfig/aux-cache')],
  ['man-db-cache', content('var/cache/man/index.db')],
  ['shadow-last-change', content('etc/shadow')],
  ['shadow-last-change', content('etc/shadow-')],
  ['machine-id', content('etc/machine-id')],
  ['machine-id', content('var/lib/dbus/machine-id')],
  ['wget-hsts', content('root/.wget-hsts')],
  ['pip-cache', fileAdded('root/.cache/pip/http-v2/a/b/c/d/e/0123456789abcdef')],
  ['pip-cache', fileAdded('root/.cache/pip/')],
  ['npm-cache', fileAdded('root/.npm/_cacache/index-v5/1f/2e/abc')],
  ['fontconfig-cache', content('var/cache/fontconfig/7ef2298fde41cc6eeb7af42e48b7d293-le64.cache-7')],
  ['fontconfig-cache', fileAdded('usr/lib/fontconfig/cache/CACHEDIR.TAG')],
  ['fontconfig-cache', content('root/.cache/fontconfig/1ac9eb803944fde146138c791f5cc56a-le64.cache-7')],
  ['fontconfig-uuid', fileAdded('usr/share/fonts/truetype/dejavu/.uuid')],
  ['fontconfig-uuid', content('usr/local/share/fonts/.uuid')],
  ['ssh-host-keys', content('etc/ssh/ssh_host_ed25519_key')],
  ['ssh-host-keys', content('etc/ssh/ssh_host_rsa_key.pub')],
  ['random-seed', content('var/lib/systemd/random-seed')],
  ['random-seed', fileAdded('var/lib/urandom/random-seed')],
  ['npm-hidden-lockfile', content('usr/src/app/node_modules/.package-lock.json')],
  ['npm-hidden-lockfile', content('node_modules/.package-lock.json')],
  ['yarn-cache', fileAdded('usr/local/share/.cache/yarn/v6/npm-lodash-4.17.21-679591c5/node_modules/lodash/package.json')],
  ['yarn-cache', content('root/.cache/yarn/v6/.tmp/abc')],
  ['yarn-cache', fileAdded('root/.yarn/berry/cache/lodash-npm-4.17.21-6382451519-10c0.zip')],
  ['node-gyp-cache', content('root/.cache/node-gyp/20.11.1/installVersion')],
  ['node-gyp-cache', fileAdded('root/.node-gyp/16.20.2/include/node/node.h')],
  ['jvm-build-cache', content('root/.m2/repository/org/slf4j/slf4j-api/2.0.9/_remote.repositories')],
  ['jvm-build-cache', fileAdded('root/.m2/repository/org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.jar')],
  ['jvm-build-cache', content('root/.gradle/caches/modules-2/modules-2.lock')],
  ['go-build-cache', content('root/.cache/go-build/trim.txt')],
  ['go-build-cache', fileAdded('root/go/pkg/mod/cache/download/golang.org/x/sys/@v/v0.15.0.zip')],
  ['apk-cache', fileAdded('var/cache/apk/APKINDEX.d8b2a6f4.tar.gz')],
  ['apk-scripts', content('lib/apk/db/scripts.tar')],
  ['apk-database', content('lib/apk/db/installed')],
  ['apk-database', content('lib/apk/db/triggers')],
  ['apk-database', content('etc/apk/world')],
  ['rpm-database', content('var/lib/rpm/rpmdb.sqlite')],
  ['rpm-database', content('usr/lib/sysimage/rpm/rpmdb.sqlite')],
  ['rpm-database', fileAdded('var/lib/rpm/__db.001')],
  ['dnf-cache', fileAdded('var/cache/dnf/fedora-filenames.solvx')],
  ['dnf-cache', fileAdded('var/cache/yum/x86_64/7/base/repomd.xml')],
  ['dnf-cache', fileAdded('var/cache/libdnf5/fedora-2d95c80a1fa0a43d/repodata/repomd.xml')],
  ['dnf-history', content('var/lib/dnf/history.sqlite')],
  ['dnf-history', content('var/lib/dnf/repos/fedora-2d95c80a1fa0a43d/countme')],
  ['dnf-history', content('usr/lib/sysimage/libdnf5/transaction_history.sqlite')],
  ['dnf-history', content('var/lib/yum/history/history-2024-05-01.sqlite')],
  ['pyc-header', content('usr/lib/python3.11/__pycache__/ssl.cpython-311.pyc')],
  ['pyc-header', content('opt/app/legacy/module.pyc')],
  ['tmp-files', fileAdded('tmp/tmp.x8Gk2/build.log')],
  ['tmp-files', content('var/tmp/cache.db')],
  ['log-files', content('var/log/lastlog')],
  ['gzip-docs', content('usr/share/man/man1/myapp.1.gz')],
  ['gzip-docs', content('usr/local/share/man/man8/myd.8.gz')],
  ['gzip-docs', content('usr/share/doc/myapp/changelog.gz')],
  ['gzip-docs', content('usr/share/info/myapp.info.gz')],
  ['java-archive', content('opt/app/app.jar')],
  ['java-archive', content('usr/local/tomcat/webapps/ROOT.war')],
  ['java-archive', fileAdded('opt/jboss/deployments/app.ear')],
  ['python-archive', content('opt/dist/app-1.0-py3-none-any.whl')],
  ['python-archive', content('usr/lib/python3/site-packages/app-1.0-py3.11.egg')],
  ['go-build-id', goBuildIdOnly('usr/local/bin/server')],
  ['build-archive', content('opt/app/assets.tar.gz')],
  ['build-archive', content('srv/backup.tgz')],
  ['build-archive', content('opt/data/bundle.zip')],
  ['build-archive', content('opt/data/bundle.tar')],
  ['build-archive', fileAdded('opt/data/bundle.tar.xz')],
  ['build-archive', content('opt/data/seed.json.gz')],
  [
    'base-image',
    { kind: 'manifest-field', path: '/annotations/org.opencontainers.image.base.name', a: 'docker.io/library/debian:12', b: 'docker.io/library/debian:13', neutralized: false, cause: null },
  ],
  ['base-image', configField('/history/1/comment', 'FROM docker.io/library/debian:12', 'FROM docker.io/library/debian:13')],
];

describe('causes catalogue', () => {
  it.each(examples)('names %s for %j', (id, difference) => {
    const [explained] = explainDifferences([difference]);
    expect(explained?.cause?.id).toBe(id);
    expect(explained?.cause?.title).toBe(findCauseEntry(id)?.title);
    expect(explained?.hint).toBe(findCauseEntry(id)?.fix);
  });

  it('has an example for every entry, and unique ids', () => {
    const ids = causeCatalogue.map((entry) => entry.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(examples.map(([id]) => id))).toEqual(new Set(ids));
    for (const entry of causeCatalogue) {
      expect(entry.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(entry.id).not.toBe('unknown');
      expect(entry.fix.length).toBeGreaterThan(20);
    }
  });

  it('covers the questions users ask: SOURCE_DATE_EPOCH, rewrite-timestamp, buildah --timestamp', () => {
    expect(findCauseEntry('config-created')?.fix).toContain('SOURCE_DATE_EPOCH');
    expect(findCauseEntry('config-created')?.fix).toContain('--timestamp');
    expect(findCauseEntry('file-mtime')?.fix).toContain('rewrite-timestamp=true');
    expect(findCauseEntry('file-mtime')?.fix).toContain('--timestamp');
    expect(findCauseEntry('pyc-header')?.fix).toContain('checked-hash');
    expect(findCauseEntry('pip-cache')?.fix).toContain('--no-cache-dir');
    expect(findCauseEntry('apt-lists')?.fix).toContain('rm -rf /var/lib/apt/lists/*');
  });

  it('keeps unknown differences as null, never hidden', () => {
    const unknown = [
      fileAttribute('usr/local/bin/entrypoint.sh', 'mode', 0o755, 0o644),
      content('usr/local/bin/app'),
      fileAdded('opt/app/extra.txt'),
      configField('/config/Env/3', 'BUILD_ID=1', 'BUILD_ID=2'),
      configField('/history/2/comment', 'buildkit.dockerfile.v0', 'my comment'),
      fileAttribute('usr/bin/ping', 'xattr', 'AQAAAgAgAAAAAAAAAAAAAAAAAAA=', null, 'security.capability'),
      fileAttribute('usr/bin/app', 'uid', 0, 1000),
      // History fields that no step change explains: the same step may make a layer in one build only.
      configField('/history/1/author', 'alice', 'bob'),
      configField('/history/3/empty_layer', true, null),
    ];
    const explained = explainDifferences(unknown);
    expect(explained).toHaveLength(unknown.length);
    for (const difference of explained) {
      expect(difference.cause).toBeNull();
      expect(difference.hint).toBeUndefined();
    }
  });

  it('puts specific entries before generic ones', () => {
    // An apt log is apt-logs, not the generic log-files; its mtime is file-mtime, whose fix covers every file.
    expect(matchCause(content('var/log/apt/history.log'))?.id).toBe('apt-logs');
    expect(matchCause(fileAttribute('var/log/apt/history.log', 'mtime', 1, 2))?.id).toBe('file-mtime');
    expect(matchCause(content('var/log/lastlog'))?.id).toBe('log-files');
    // A .pyc in /tmp is first a .pyc.
    expect(matchCause(content('tmp/build/__pycache__/x.cpython-311.pyc'))?.id).toBe('pyc-header');
  });

  it('reads config pointers exactly: /created is not /history/N/created', () => {
    expect(matchCause(configField('/created', 'x', 'y'))?.id).toBe('config-created');
    expect(matchCause(configField('/history/0/created', 'x', 'y'))?.id).toBe('history-created');
    expect(matchCause(configField('/history/0/created_by', 'RUN a', 'RUN b'))?.id).toBe('dockerfile-changed');
    expect(matchCause(configField('/config/Labels/created_by', 'RUN a', 'RUN b'))).toBeNull();
    expect(matchCause(configField('/config/Labels/created', 'x', 'y'))).toBeNull();
    // A file path that looks like a pointer is not one.
    expect(matchCause(content('created'))).toBeNull();
  });

  it.each([
    ['another instruction', 'COPY file:0a1b2c3d4e5f in /', 'ADD file:0a1b2c3d4e5f in /'],
    ['another destination', 'COPY file:0a1b2c3d4e5f in /app', 'COPY file:9a8b7c6d5e4f in /srv'],
    ['a hash and another destination', 'COPY dir:0a1b2c3d4e5f in /app', 'COPY dir:0a1b2c3d4e5f in /srv'],
    ['a name that is not a hash', 'ADD file:0a1b2c3d in / ', 'COPY dir:squashed in / '],
    ['no hash at all', 'RUN make', 'RUN make install'],
    ['a hash too short to be one', 'COPY file:abc in /', 'COPY file:abd in /'],
  ])('copied-content: not for created_by values that differ in %s', (_name, a, b) => {
    expect(matchCause(configField('/history/1/created_by', a, b))?.id).not.toBe('copied-content');
  });

  it('copied-content: only at /history/N/created_by, and it stays remaining', () => {
    const a = 'COPY file:0a1b2c3d4e5f in /';
    const b = 'COPY file:9a8b7c6d5e4f in /';
    expect(matchCause(configField('/config/Labels/step', a, b))).toBeNull();
    const [explained] = explainDifferences([configField('/history/1/created_by', a, b)]);
    expect(explained).toMatchObject({ cause: { id: 'copied-content' }, neutralized: false });
  });

  it('copied-content before dockerfile-changed: a created_by differing only in its content hash is copied content', () => {
    const copied = configField('/history/1/created_by', 'COPY file:0a1b2c3d4e5f in /', 'COPY file:9a8b7c6d5e4f in /');
    expect(matchCause(copied)?.id).toBe('copied-content');
    // The same hash change with another destination: the step itself changed.
    const moved = configField('/history/1/created_by', 'COPY file:0a1b2c3d4e5f in /', 'COPY file:9a8b7c6d5e4f in /srv');
    expect(matchCause(moved)?.id).toBe('dockerfile-changed');
    const ids = causeCatalogue.map((entry) => entry.id);
    expect(ids.indexOf('dockerfile-changed')).toBe(ids.indexOf('copied-content') + 1);
  });

  it('dockerfile-changed: the history steps only, and they stay remaining', () => {
    const [explained] = explainDifferences([configField('/history/4/created_by', 'RUN make', 'RUN make all')]);
    expect(explained).toMatchObject({ cause: { id: 'dockerfile-changed' }, neutralized: false });
    expect(explained?.hint).toContain('same Dockerfile and build args');
    // Dates and builder comments of a step are other causes, or none.
    expect(matchCause(configField('/history/4/created', 'x', 'y'))?.id).toBe('history-created');
    expect(matchCause(configField('/history/4/comment', 'FROM 3f2a5b6c7d8e', 'FROM 0b7e6d5c4a3f'))?.id).toBe('host-fields');
    expect(matchCause(configField('/history/4/comment', 'buildkit.dockerfile.v0', 'mine'))).toBeNull();
    // An empty history against none is a zero value against absence: a spelling, not a changed step.
    expect(matchCause(configField('/history', [], null))?.id).toBe('format-conversion');
  });

  it('file-mtime does not blame the build clock: buildah --timestamp and SOURCE_DATE_EPOCH set times too', () => {
    const entry = findCauseEntry('file-mtime');
    expect(entry?.title).toBe('file modification times differ');
    expect(entry?.fix).toContain('--timestamp');
  });

  it('matches umask only for group/other write bits', () => {
    expect(matchCause(fileAttribute('a', 'mode', 0o664, 0o644))?.id).toBe('umask-mode');
    expect(matchCause(fileAttribute('a', 'mode', 0o666, 0o644))?.id).toBe('umask-mode');
    expect(matchCause(fileAttribute('a', 'mode', 0o755, 0o644))).toBeNull();
    expect(matchCause(fileAttribute('a', 'mode', 0o4755, 0o755))).toBeNull();
    // Mode bits are about modes only: a uid that differs in the same bits is not a umask.
    expect(matchCause(fileAttribute('a', 'uid', 0o20, 0))?.id).not.toBe('umask-mode');
  });

  it('keeps a cause already set and does not mutate its input', () => {
    const preset: Difference = { ...content('var/log/dpkg.log'), cause: { id: 'custom', title: 'set by the comparer' } };
    const input = [preset, content('var/log/dpkg.log')];
    const frozen = structuredClone(input);
    const explained = explainDifferences(input);
    expect(explained[0]?.cause?.id).toBe('custom');
    expect(explained[1]?.cause?.id).toBe('apt-logs');
    expect(input).toEqual(frozen);
  });

  it('takes another catalogue', () => {
    const catalogue: CauseEntry[] = [{ id: 'app-build-info', title: 'build info', fix: 'pin it', selectors: [{ paths: ['opt/app/BUILD_INFO'] }] }];
    expect(explainDifferences([content('opt/app/BUILD_INFO')], catalogue)[0]?.cause?.id).toBe('app-build-info');
    expect(explainDifferences([content('var/log/dpkg.log')], catalogue)[0]?.cause).toBeNull();
  });

  it('lists every kind and attribute of the model at run time', () => {
    expect(differenceKinds).toContain('file-attribute');
    expect(differenceKinds).toHaveLength(10);
    expect(fileAttributes).toContain('pax');
    expect(fileAttributes).toHaveLength(15);
  });
});

/** Every glob of a catalogue entry: they must all be valid. */
function globsOf(entry: CauseEntry): string[] {
  return entry.selectors.flatMap((selector) => [...(selector.paths ?? []), ...(selector.pointers ?? [])]);
}

describe('matchGlob', () => {
  it.each([
    ['var/log/apt/**', 'var/log/apt/history.log', true],
    ['var/log/apt/**', 'var/log/apt/sub/dir/x', true],
    ['var/log/apt/**', 'var/log/apt', true],
    ['var/log/apt/**', 'var/log/apt/', true],
    ['var/log/apt/**', 'var/log/aptitude', false],
    ['var/log/apt/*', 'var/log/apt/history.log', true],
    ['var/log/apt/*', 'var/log/apt/sub/x', false],
    ['/tmp/**', 'tmp/a/b', true],
    ['tmp/**', '/tmp/a', true],
    ['tmp/**', './tmp/a', true],
    ['tmp/**', 'var/tmp/a', false],
    ['**/__pycache__/*.pyc', 'usr/lib/python3/__pycache__/a.cpython-311.pyc', true],
    ['**/__pycache__/*.pyc', '__pycache__/a.pyc', true],
    ['**/__pycache__/*.pyc', 'usr/lib/python3/a.pyc', false],
    ['*.pyc', 'usr/lib/python3/a.pyc', true],
    ['*.pyc', 'a.pyc', true],
    ['*.pyc', 'usr/lib/a.pyc/', true],
    ['*.pyc', 'usr/lib/a.py', false],
    ['var/cache/apt/*.bin', 'var/cache/apt/pkgcache.bin', true],
    ['var/cache/apt/*.bin', 'var/cache/apt/archives/x.bin', false],
    ['var/cache/debconf/*-old', 'var/cache/debconf/templates.dat-old', true],
    ['var/cache/debconf/*-old', 'var/cache/debconf/templates.dat', false],
    ['etc/shadow', 'etc/shadow', true],
    ['etc/shadow', 'etc/shadow-', false],
    ['etc/shadow?', 'etc/shadow-', true],
    ['etc/shadow?', 'etc/shadow', false],
    ['a/**/b/**/c', 'a/x/y/b/z/c', true],
    ['a/**/b/**/c', 'a/b/c', true],
    ['a/**/b/**/c', 'a/c', false],
    ['**', 'anything/at/all', true],
    ['a.b', 'axb', false],
    // Regular-expression characters are literal; brackets make a class, [[] a literal bracket.
    ['(x)+.^$|\\[y]', '(x)+.^$|\\y', true],
    ['(x)+[[]y]', '(x)+[y]', true],
    ['(x)+[y]', '(x)+[y]', false],
    ['/history/*/created', '/history/12/created', true],
    ['/history/*/created', '/history/12/created_by', false],
    ['/history/*/created', '/created', false],
    ['/created', '/created', true],
    ['/created', '/history/1/created', false],
    // Character classes: one character, never a /.
    ['*.py[co]', 'usr/lib/a.pyc', true],
    ['*.py[co]', 'usr/lib/a.pyo', true],
    ['*.py[co]', 'usr/lib/a.py', false],
    ['*.py[co]', 'usr/lib/a.pycc', false],
    ['log[0-9]', 'log7', true],
    ['log[0-9]', 'logx', false],
    ['log[a-cx]', 'logb', true],
    ['log[a-cx]', 'logx', true],
    ['log[a-cx]', 'logd', false],
    ['log[-a]', 'log-', true],
    ['[!.]*', 'visible', true],
    ['[!.]*', '.hidden', false],
    ['[^.]*', '.hidden', false],
    ['[]]x', ']x', true],
    ['[[]x', '[x', true],
    ['[!]]x', ']x', false],
    ['[.]', 'a', false],
    // Stray closers are literal.
    ['a]b}', 'a]b}', true],
    // Brace alternatives, also across segments and with either anchoring.
    ['{a,b}.txt', 'b.txt', true],
    ['{a,b}.txt', 'c.txt', false],
    ['{var/log,tmp}/**', 'tmp/x', true],
    ['{var/log,tmp}/**', 'var/log/x', true],
    ['{var/log,tmp}/**', 'var/tmp/x', false],
    ['{etc/shadow,*.pyc}', 'usr/lib/x.pyc', true],
    ['{etc/shadow,*.pyc}', 'etc/shadow', true],
    ['{etc/shadow,*.pyc}', 'usr/etc/shadow', false],
    ['x.{a,b}{1,2}', 'x.b2', true],
    ['x.{a,}', 'x.', true],
    ['[{]a,b}', '{a,b}', true],
    ['/config/Labels/{build-url,build-id}', '/config/Labels/build-id', true],
  ] as const)('%s on %s: %s', (pattern, path, expected) => {
    expect(matchGlob(pattern, path)).toBe(expected);
  });

  it.each([
    ['*.py[co', 'unbalanced "["'],
    ['a[b/c]d', 'unbalanced "["'],
    ['[]', 'unbalanced "["'],
    ['{a,b', 'unbalanced "{"'],
    ['{a,{b,c}}', 'nested "{"'],
    ['x[z-a]', 'bad range'],
    ['{a,b}'.repeat(10), 'more than 256 alternatives'],
  ])('rejects %s: %s', (pattern, problem) => {
    expect(checkGlob(pattern)).toContain(problem);
    expect(() => matchGlob(pattern, 'anything')).toThrow(problem);
  });

  it('accepts valid globs', () => {
    for (const pattern of ['*.py[co]', '{a,b}/**', '[[]', 'a]b}', '**/__pycache__/*.pyc', ...causeCatalogue.flatMap(globsOf)]) {
      expect(checkGlob(pattern), pattern).toBeNull();
    }
  });

  it('stays fast on patterns that backtrack badly', () => {
    const path = `${'a/'.repeat(200)}b`;
    const pattern = `${'**/a/'.repeat(20)}c`;
    const started = performance.now();
    expect(matchGlob(pattern, path)).toBe(false);
    // Backtracking takes minutes on this pattern, the linear matcher a millisecond: a loose bound cannot flake.
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
