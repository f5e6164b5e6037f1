/**
 * The real-builder conformance suite: every form in which buildah and podman hand a user an image, each
 * read by an independent tool (skopeo for the config and manifest bytes, sha256sum, umoci, Python's
 * tarfile) and run through inspect, normalize and verify.
 *
 * Builds (each twice, `--no-cache`, over a second apart, in Docker and OCI format):
 * - scratch: `FROM scratch` + `ENV a b`, a zero-layer image (Go writes Docker configs without diff_ids);
 * - rich: a base tar ADDed by Python's tarfile (a character device, a FIFO, xattrs incl.
 *   security.capability, /etc/passwd), a static busybox whose RUN steps make ~400 symlinks, a hardlink,
 *   a symlink, file whiteouts, an opaque whiteout (ADDed: vfs writes none itself), ENV/LABEL/WORKDIR
 *   empty_layer steps and a named USER;
 * - numeric: a COPY and `USER 1000:1000`.
 * Forms of every A build: buildah push to docker-archive:, oci-archive:, oci: and dir:, and podman save
 * as docker-archive, oci-archive, oci-dir and docker-dir.
 */
import { lstat, mkdir, readFile, readlink, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { normalizeImage } from '../../src/app/normalize.js';
import { loadImage } from '../../src/sources/index.js';
import { verifyImages } from '../../src/app/verify.js';
import type { Report } from '../../src/report/model.js';
import { sha256Hex } from '../helpers/digest.js';
import {
  buildahBuild,
  buildahPush,
  cleanupTempDirs,
  findTool,
  makeTempDir,
  runTool,
  sha256File,
  skipWithoutTools,
  skopeoInspectConfig,
  umociUnpack,
  type BuildahBuild,
  type ContextFile,
} from '../helpers/real-tools.js';
import { runCli } from '../helpers/cli.js';

const richDockerfile = `FROM scratch
ADD base.tar /
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin"]
ENV GREETING=hello
LABEL org.example.case=rich
RUN mkdir -p /d/sub /o && echo a > /d/a && echo b > /d/sub/b && echo x > /gone && ln /d/a /d/hard && ln -s ../d/a /d/sym && echo old > /o/old
RUN rm /gone && rm -rf /d/sub && mkdir /d/sub && echo c > /d/sub/c
ADD opaque.tar /
USER app
WORKDIR /d
`;

// The base tar, written by Python's tarfile (not our code): special files and xattrs that buildah keeps.
const baseTarScript = `
import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
def add(name, kind, data=b'', mode=0o644, pax=None, major=0, minor=0):
    info = tarfile.TarInfo(name); info.type = kind; info.mode = mode; info.mtime = 1600000000
    info.size = len(data); info.devmajor = major; info.devminor = minor
    if pax: info.pax_headers = pax
    t.addfile(info, io.BytesIO(data) if data else None)
add('dev/null2', tarfile.CHRTYPE, mode=0o666, major=1, minor=3)
add('dev/fifo', tarfile.FIFOTYPE)
add('etc/passwd', tarfile.REGTYPE, b'root:x:0:0:root:/root:/bin/sh\\napp:x:1234:1234::/d:/bin/sh\\n')
add('etc/group', tarfile.REGTYPE, b'root:x:0:\\napp:x:1234:\\n')
cap = '\\x01\\x00\\x00\\x02\\x00\\x20\\x00\\x00' + '\\x00' * 12
add('usr/bin/ping', tarfile.REGTYPE, b'#!/bin/sh\\necho pong\\n', 0o755,
    {'SCHILY.xattr.security.capability': cap, 'SCHILY.xattr.user.note': 'kept'})
t.close()
# An opaque whiteout: buildah (vfs) writes file whiteouts itself, but carries one ADDed from a tar.
t = tarfile.open(sys.argv[2], 'w', format=tarfile.PAX_FORMAT)
add('o/.wh..wh..opq', tarfile.REGTYPE)
add('o/new', tarfile.REGTYPE, b'new\\n')
t.close()
`;

type CaseName = 'scratch' | 'rich' | 'numeric';
type Format = 'docker' | 'oci';
const formats: Format[] = ['docker', 'oci'];

const forms = [
  'buildah docker-archive',
  'buildah oci-archive',
  'buildah oci',
  'buildah dir',
  'podman docker-archive',
  'podman oci-archive',
  'podman oci-dir',
  'podman docker-dir',
] as const;
type Form = (typeof forms)[number];

/** Writes `build` in `form` under `dir`; returns the reference oci-repro reads. */
async function exportForm(build: BuildahBuild, form: Form, dir: string): Promise<string> {
  const out = join(dir, form.replace(' ', '-'));
  const store = ['--root', build.root, '--runroot', build.runroot, '--storage-driver', 'vfs'];
  switch (form) {
    case 'buildah docker-archive':
      await buildahPush(build, `docker-archive:${out}.tar:conformance:latest`);
      return `docker-archive:${out}.tar`;
    case 'buildah oci-archive':
      await buildahPush(build, `oci-archive:${out}.tar:latest`);
      return `oci-archive:${out}.tar`;
    case 'buildah oci':
      await buildahPush(build, `oci:${out}:latest`);
      return `oci:${out}`;
    case 'buildah dir':
      await buildahPush(build, `dir:${out}`);
      return `dir:${out}`;
    case 'podman docker-archive':
    case 'podman oci-archive':
    case 'podman oci-dir':
    case 'podman docker-dir': {
      const format = form.slice('podman '.length);
      const archive = format.endsWith('archive');
      const target = archive ? `${out}.tar` : out;
      await runTool('podman', [...store, 'save', '--quiet', '--format', format, '-o', target, build.name]);
      if (format === 'oci-dir') return `oci:${target}`;
      if (format === 'docker-dir') return `dir:${target}`;
      return `${format}:${target}`;
    }
  }
}

interface Built {
  a: BuildahBuild;
  b: BuildahBuild;
  /** Every form of A, by name. */
  aForms: Map<Form, string>;
  /** B in the form its format is most often handed over in. */
  bRef: string;
}

const cases: Record<CaseName, { dockerfile: string; context: () => Promise<Record<string, ContextFile>> }> = {
  scratch: { dockerfile: 'FROM scratch\nENV a b\n', context: async () => ({}) },
  numeric: {
    dockerfile: 'FROM scratch\nCOPY hello.txt /hello.txt\nUSER 1000:1000\n',
    context: async () => ({ 'hello.txt': 'hello\n' }),
  },
  rich: {
    dockerfile: richDockerfile,
    context: async () => {
      const [tar, opaque] = [join(work, 'base.tar'), join(work, 'opaque.tar')];
      await runTool('python3', ['-c', baseTarScript, tar, opaque]);
      return {
        'base.tar': await readFile(tar),
        'opaque.tar': await readFile(opaque),
        busybox: { data: await readFile(findTool('busybox')!), mode: 0o755 },
      };
    },
  },
};

let work: string;
const built = new Map<string, Built>();
const key = (name: CaseName, format: Format) => `${name}/${format}`;

const naturalForm = (format: Format): Form => (format === 'docker' ? 'buildah docker-archive' : 'buildah oci');
const options = defaultNormalizeOptions;

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

const cli = (args: string[]) => runCli(args, { timeout: 120_000 });

const neutralizedCauses = (report: Report) =>
  [...new Set(report.differences.filter((d) => d.neutralized).map((d) => d.cause?.id ?? 'none'))].sort();

describe.skipIf(skipWithoutTools('buildah', 'podman', 'skopeo', 'umoci', 'busybox', 'python3'))(
  'real builders, every form they write',
  () => {
    beforeAll(async () => {
      work = await makeTempDir('oci-repro-conformance-');
      for (const name of Object.keys(cases) as CaseName[]) {
        const context = await cases[name].context();
        for (const format of formats) {
          const build = (tag: string) =>
            buildahBuild({
              dockerfile: cases[name].dockerfile,
              context,
              format,
              noCache: true,
              name: `localhost/conformance-${name}-${format}-${tag}:latest`,
            });
          const a = await build('a');
          // A second later: two builds within one second can be byte-identical.
          await sleep(1100);
          const b = await build('b');
          const dir = join(work, `${name}-${format}`);
          await mkdir(join(dir, 'a'), { recursive: true });
          await mkdir(join(dir, 'b'));
          const aForms = new Map<Form, string>();
          for (const form of forms) aForms.set(form, await exportForm(a, form, join(dir, 'a')));
          const bRef = await exportForm(b, naturalForm(format), join(dir, 'b'));
          built.set(key(name, format), { a, b, aForms, bRef });
        }
      }
    }, 600_000);

    afterAll(async () => {
      for (const { a, b } of built.values()) await Promise.all([a.cleanup(), b.cleanup()]);
      await cleanupTempDirs();
    });

    describe.each(Object.keys(cases) as CaseName[])('%s', (name) => {
      describe.each(formats)('--format %s', (format) => {
        it.each(forms)('%s: image ID and layers as skopeo reads them; one canonical digest across forms', async (form) => {
          const { aForms } = built.get(key(name, format))!;
          const ref = aForms.get(form)!;
          const image = await loadImage(ref);
          let layerCount: number;
          try {
            const config = await skopeoInspectConfig(ref);
            expect(image.config.digest).toBe(`sha256:${sha256Hex(config.bytes)}`);
            layerCount = config.json.rootfs?.diff_ids?.length ?? 0;
            expect(image.layers.map((l) => l.diffId)).toEqual(config.json.rootfs?.diff_ids ?? []);
          } finally {
            await image.close();
          }
          if (name === 'scratch') expect(layerCount).toBe(0);
          const canonical = (await normalizeImage({ source: ref, normalize: options })).canonicalDigest;
          const natural = (await normalizeImage({ source: aForms.get(naturalForm(format))!, normalize: options }))
            .canonicalDigest;
          expect(canonical).toBe(natural);
        });

        it('A and B (natural form): reproducible, nothing remaining, only build noise neutralized', async () => {
          const { aForms, bRef } = built.get(key(name, format))!;
          const report = await verifyImages({ a: aForms.get(naturalForm(format))!, b: bRef, normalize: options });
          expect(report.verdict).toBe('reproducible');
          expect(report.summary.remaining).toBe(0);
          expect(neutralizedCauses(report)).toEqual(expectedNoise(name, format));
        });
      });
    });

    it('the seed case through the binary: FROM scratch + ENV in Docker format verifies, exit 0', async () => {
      const { aForms, bRef } = built.get(key('scratch', 'docker'))!;
      const run = await cli(['verify', aForms.get('buildah docker-archive')!, bRef, '--json']);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).verdict).toBe('reproducible');
      for (const command of ['inspect', 'normalize']) {
        const single = await cli([command, aForms.get('podman docker-dir')!, '--json']);
        expect(single.code, single.stderr).toBe(0);
      }
    });

    it('every form of one build against another form of it: identical when the config bytes are kept', async () => {
      const { aForms } = built.get(key('rich', 'oci'))!;
      const base = aForms.get('buildah oci')!;
      for (const form of forms) {
        const report = await verifyImages({ a: base, b: aForms.get(form)!, normalize: options });
        expect(report.verdict, form).toBe('identical');
      }
    });

    it('normalize --output of the rich image: umoci unpacks the filesystem the build made', async () => {
      for (const format of formats) {
        const { aForms } = built.get(key('rich', format))!;
        const out = join(work, `normalized-rich-${format}`);
        const run = await cli(['normalize', aForms.get('podman docker-dir')!, '--output', `oci:${out}:latest`, '--json']);
        expect(run.code, run.stderr).toBe(0);
        const rootfs = (await umociUnpack(out, 'latest', join(work, `unpacked-rich-${format}`))).rootfs;
        const [a, hard] = await Promise.all([stat(join(rootfs, 'd/a')), stat(join(rootfs, 'd/hard'))]);
        expect(hard.ino).toBe(a.ino);
        expect(await readlink(join(rootfs, 'd/sym'))).toBe('../d/a');
        await expect(lstat(join(rootfs, 'gone'))).rejects.toThrow(/ENOENT/);
        expect(await readdir(join(rootfs, 'd/sub'))).toEqual(['c']);
        expect(await readdir(join(rootfs, 'o'))).toEqual(['new']);
        const device = await lstat(join(rootfs, 'dev/null2'));
        expect(device.isCharacterDevice()).toBe(true);
        expect(device.rdev).toBe(0x103);
        expect((await lstat(join(rootfs, 'dev/fifo'))).isFIFO()).toBe(true);
        expect((await readlink(join(rootfs, 'bin/sh')))).toBe('/bin/busybox');
        const { stdout } = await runTool('python3', [
          '-c',
          'import os,sys; print(os.getxattr(sys.argv[1], "user.note").decode())',
          join(rootfs, 'usr/bin/ping'),
        ]);
        expect(stdout.toString().trim()).toBe('kept');
      }
    });

    it("normalized layers read by Python's tarfile: whiteouts kept as files, xattrs and links kept", async () => {
      const out = join(work, 'normalized-rich-docker');
      const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
      const manifest = JSON.parse(await readFile(blobPath(out, index.manifests[0].digest), 'utf8'));
      const listing: string[] = [];
      for (const layer of manifest.layers) {
        const path = blobPath(out, layer.digest);
        expect(await sha256File(path)).toBe(layer.digest);
        const { stdout } = await runTool('python3', [
          '-c',
          `import sys, tarfile
for m in tarfile.open(sys.argv[1]):
    print('|'.join([m.name, m.type.decode(), m.linkname, m.uname, str(m.mtime), ','.join(sorted(m.pax_headers))]))`,
          path,
        ]);
        listing.push(...stdout.toString().trim().split('\n'));
      }
      // name|type|link target|owner name|mtime|PAX keys
      expect(listing).toContain('.wh.gone|0|||0|');
      expect(listing).toContain('d/sub/.wh.b|0|||0|');
      expect(listing).toContain('o/.wh..wh..opq|0|||0|');
      expect(listing).toContain('d/hard|1|d/a||0|');
      expect(listing).toContain('d/sym|2|../d/a||0|');
      expect(listing).toContain('usr/bin/ping|0|||0|SCHILY.xattr.security.capability,SCHILY.xattr.user.note');
      expect(listing).toContain('dev/null2|3|||0|');
    });
  },
);

function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/**
 * The build noise two `--no-cache` builds of each case differ in, as measured with buildah 1.28: dates
 * always; in Docker format the build container's ID and hostname; once a step commits on an earlier
 * step's intermediate image (numeric, rich), its "FROM <id>" history comment and in OCI format the
 * manifest's base.digest annotation; file mtimes where RUN writes files (rich: numeric's COPY keeps the
 * context's fixed mtime and creates no directory).
 */
function expectedNoise(name: CaseName, format: Format): string[] {
  const causes = ['config-created', 'history-created'];
  if (format === 'docker' || name !== 'scratch') causes.push('host-fields');
  if (name === 'rich') causes.push('file-mtime', 'layer-diff-ids');
  return causes.sort();
}
