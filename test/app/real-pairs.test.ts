/**
 * verify on pairs of real buildah builds, each report checked against tools that do not share our code:
 * `skopeo inspect --config` (config JSON pointers), `sha256sum` of the blobs and of the uncompressed
 * layer tars (identity chain), `tar -x` + `find`/`sha256sum` of each layer (files), and `diffoscope`
 * (files, content pair). Builds are shared by all tests and made once in beforeAll.
 *
 * Measured with buildah 1.28 (Debian 12): two `--no-cache --layers` builds of one context differ in
 * created and history dates, the `FROM <id>` history comments, the build-time mtime of the parent
 * directories COPY creates (`app/`, `usr/local/bin/`), in OCI format the manifest annotation
 * `org.opencontainers.image.base.digest` (the previous step's intermediate image), and in Docker format
 * the container ID, hostname and parent. With `--timestamp N` OCI builds are byte-identical; Docker
 * builds still differ in those host fields. COPY --chmod works.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import type { ImageSide, Report } from '../../src/report/model.js';
import type { Difference } from '../../src/diff/model.js';
import { verifyImages } from '../../src/app/verify.js';
import {
  buildahBuild,
  buildahPush,
  cleanupTempDirs,
  makeTempDir,
  runTool,
  sha256File,
  skipWithoutTools,
  skopeoInspectConfig,
  skopeoInspectRaw,
  type ConfigJson,
  type ContextFile,
  type ManifestJson,
} from '../helpers/real-tools.js';
import { validateReport } from '../helpers/report-schema.js';
import { runCli, type CliRun } from '../helpers/cli.js';

const T = { timeout: 60_000 };

const seedDockerfile = (chmod: string) => `FROM scratch
COPY hello.txt /hello.txt
ENV GREETING=hello
LABEL org.example.pair=seed
COPY app/ /app/
COPY --chmod=${chmod} run.sh /usr/local/bin/run.sh
`;

const seedContext: Record<string, ContextFile> = {
  'hello.txt': 'hello\nsecond line\n',
  'app/config.json': '{"port": 8080}\n',
  'app/notes.txt': 'notes\n',
  'run.sh': '#!/bin/sh\necho "$GREETING"\n',
};

// The content pair's B: one line of a text file changed, one file added, one mode changed (COPY --chmod).
const contentDockerfile = seedDockerfile('0755');
const contentContext: Record<string, ContextFile> = {
  ...seedContext,
  'hello.txt': 'hello\nsecond line, changed\n',
  'app/extra.txt': 'added in build B\n',
};

// The --timestamp builds: two steps only (each step of a --layers build commits an image, ~0.4 s of CPU).
const stampDockerfile = `FROM scratch
COPY hello.txt /hello.txt
COPY app/ /app/
`;
const timestamp = 1_700_000_000;
const laterTimestamp = 1_700_000_999;

interface BuildSpec {
  format: 'docker' | 'oci';
  dockerfile?: string;
  context?: Record<string, ContextFile>;
  timestamp?: number;
}

const buildSpecs = {
  seedDockerA: { format: 'docker' },
  seedDockerB: { format: 'docker' },
  seedOciA: { format: 'oci' },
  seedOciB: { format: 'oci' },
  contentDockerB: { format: 'docker', dockerfile: contentDockerfile, context: contentContext },
  stampOciA: { format: 'oci', timestamp, dockerfile: stampDockerfile },
  stampOciB: { format: 'oci', timestamp, dockerfile: stampDockerfile },
  stampOciLater: { format: 'oci', timestamp: laterTimestamp, dockerfile: stampDockerfile },
  stampDockerA: { format: 'docker', timestamp, dockerfile: stampDockerfile },
  stampDockerB: { format: 'docker', timestamp, dockerfile: stampDockerfile },
} satisfies Record<string, BuildSpec>;
type BuildName = keyof typeof buildSpecs;

/** One exported build and what the tools (not our code) say about it. */
interface Exported {
  /** The reference verify reads. */
  ref: string;
  config: ConfigJson;
  /** sha256sum of the stored manifest bytes; null for a legacy docker-archive, which stores none. */
  manifestDigest: string | null;
  /** sha256sum of the config bytes. */
  imageId: string;
  /** The manifest's annotations as skopeo prints them; null without a stored manifest. */
  annotations: Record<string, string> | null;
  /** Per layer: sha256sum of the blob as stored, and of the uncompressed tar (a file path). */
  layers: { digest: string; diffId: string; tar: string }[];
}

const pairs = {
  seedDocker: ['seedDockerA', 'seedDockerB'],
  seedOci: ['seedOciA', 'seedOciB'],
  content: ['seedDockerA', 'contentDockerB'],
  stampOci: ['stampOciA', 'stampOciB'],
  stampDocker: ['stampDockerA', 'stampDockerB'],
  stampOciDifferent: ['stampOciA', 'stampOciLater'],
} satisfies Record<string, [BuildName, BuildName]>;
type PairName = keyof typeof pairs;

let work: string;
const exported = {} as Record<BuildName, Exported>;
const reports = {} as Record<Exclude<PairName, 'content'>, Report>;
let contentCli: CliRun;
let seedCli: CliRun;

// ---------------------------------------------------------------------------------------------
// Oracles

async function exportBuild(name: BuildName, spec: BuildSpec): Promise<Exported> {
  const build = await buildahBuild({
    dockerfile: spec.dockerfile ?? seedDockerfile('0644'),
    context: spec.context ?? seedContext,
    format: spec.format,
    timestamp: spec.timestamp,
    noCache: true,
  });
  try {
    const dir = join(work, name);
    await mkdir(dir);
    if (spec.format === 'docker') {
      // Docker-schema builds as a legacy docker-archive: buildah keeps the config bytes.
      const archive = join(dir, 'image.tar');
      await buildahPush(build, `docker-archive:${archive}:${name.toLowerCase()}:latest`);
      return await readDockerArchive(archive, dir);
    }
    const layout = join(dir, 'layout');
    await buildahPush(build, `oci:${layout}:latest`);
    return await readOciLayout(layout, dir);
  } finally {
    await build.cleanup();
  }
}

async function sha256Bytes(bytes: Buffer, file: string): Promise<string> {
  await writeFile(file, bytes);
  return sha256File(file);
}

async function readDockerArchive(archive: string, dir: string): Promise<Exported> {
  const unpacked = join(dir, 'unpacked');
  await mkdir(unpacked);
  await runTool('tar', ['-xf', archive, '-C', unpacked]);
  const [entry] = JSON.parse(await readFile(join(unpacked, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
  const ref = `docker-archive:${archive}`;
  const config = await skopeoInspectConfig(ref);
  const imageId = await sha256File(join(unpacked, entry!.Config));
  expect(await sha256Bytes(config.bytes, join(dir, 'config.json'))).toBe(imageId);
  const layers = [];
  for (const path of entry!.Layers) {
    // Layers are stored uncompressed: the blob digest is the diff_id.
    const digest = await sha256File(join(unpacked, path));
    layers.push({ digest, diffId: digest, tar: join(unpacked, path) });
  }
  return { ref, config: config.json, manifestDigest: null, imageId, annotations: null, layers };
}

async function readOciLayout(layout: string, dir: string): Promise<Exported> {
  const ref = `oci:${layout}:latest`;
  const manifest = await skopeoInspectRaw(ref);
  const config = await skopeoInspectConfig(ref);
  const layers = [];
  for (const [index, layer] of (manifest.json as ManifestJson).layers!.entries()) {
    const blob = join(layout, 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
    const tar = join(dir, `layer-${index}.tar`);
    await runTool('sh', ['-c', 'gzip -dc -- "$1" > "$2"', 'sh', blob, tar]);
    layers.push({ digest: await sha256File(blob), diffId: await sha256File(tar), tar });
  }
  return {
    ref,
    config: config.json,
    manifestDigest: await sha256Bytes(manifest.bytes, join(dir, 'manifest.json')),
    imageId: await sha256Bytes(config.bytes, join(dir, 'config.json')),
    annotations: manifest.json.annotations ?? {},
    layers,
  };
}

/** RFC 6901 pointers of every leaf where two JSON values differ; arrays by index, a type change is one leaf. */
function jsonDiffPointers(a: unknown, b: unknown, at = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const token = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((key) =>
      key in a && key in b ? jsonDiffPointers(a[key], b[key], `${at}/${token(key)}`) : [`${at}/${token(key)}`],
    );
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) =>
      i < a.length && i < b.length ? jsonDiffPointers(a[i], b[i], `${at}/${i}`) : [`${at}/${i}`],
    ).flat();
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [at];
}

interface TreeEntry {
  type: string;
  mode: string;
  uid: string;
  gid: string;
  size: string;
  mtime: number;
  linkname: string;
  sha256: string | null;
}

let treeCount = 0;
const trees = new Map<string, Promise<Map<string, TreeEntry>>>();
/** A layer tar as GNU tar extracts it, read with find and sha256sum: only the paths the tar lists. */
function extractTree(tar: string): Promise<Map<string, TreeEntry>> {
  let tree = trees.get(tar);
  if (!tree) trees.set(tar, (tree = readTree(tar)));
  return tree;
}

async function readTree(tar: string): Promise<Map<string, TreeEntry>> {
  const dir = join(work, 'trees', String(treeCount++));
  await mkdir(dir, { recursive: true });
  await runTool('tar', ['-xf', tar, '-C', dir, '--numeric-owner', '--same-owner', '--same-permissions']);
  const listed = new Set(
    (await runTool('tar', ['-tf', tar])).stdout.toString('utf8').split('\n').filter(Boolean).map(cleanPath),
  );
  const found = await runTool('find', ['.', '-mindepth', '1', '-printf', '%P\\0%y\\0%m\\0%U\\0%G\\0%s\\0%T@\\0%l\\0'], { cwd: dir });
  const fields = found.stdout.toString('utf8').split('\0');
  const tree = new Map<string, TreeEntry>();
  for (let i = 0; i + 8 <= fields.length; i += 8) {
    const [path, type, mode, uid, gid, size, mtime, linkname] = fields.slice(i, i + 8) as string[];
    if (!listed.has(path!)) continue;
    tree.set(path!, { type: type!, mode: mode!, uid: uid!, gid: gid!, size: size!, mtime: Math.floor(Number(mtime)), linkname: linkname!, sha256: null });
  }
  const files = [...tree].filter(([, entry]) => entry.type === 'f').map(([path]) => path);
  if (files.length > 0) {
    for (const line of (await runTool('sha256sum', ['--', ...files], { cwd: dir })).stdout.toString('utf8').split('\n')) {
      const match = /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
      if (match) tree.get(match[2]!)!.sha256 = match[1]!;
    }
  }
  return tree;
}

function cleanPath(path: string): string {
  return path.replace(/^\.\//, '').replace(/\/+$/, '');
}

/** Per path: the attributes that differ (named as the report names them), or `added` / `removed`. */
type FileChanges = Map<string, string>;

async function treeChanges(tarA: string, tarB: string): Promise<FileChanges> {
  const [a, b] = await Promise.all([extractTree(tarA), extractTree(tarB)]);
  const changes: FileChanges = new Map();
  for (const [path, entryA] of a) {
    const entryB = b.get(path);
    if (!entryB) {
      changes.set(path, 'removed');
      continue;
    }
    const attributes: string[] = [];
    if (entryA.type !== entryB.type) attributes.push('type');
    else {
      if (entryA.sha256 !== entryB.sha256) attributes.push('content');
      if (entryA.type === 'f' && entryA.size !== entryB.size) attributes.push('size');
      if (entryA.linkname !== entryB.linkname) attributes.push('linkname');
    }
    if (entryA.mode !== entryB.mode) attributes.push('mode');
    if (entryA.uid !== entryB.uid) attributes.push('uid');
    if (entryA.gid !== entryB.gid) attributes.push('gid');
    if (entryA.mtime !== entryB.mtime) attributes.push('mtime');
    if (attributes.length > 0) changes.set(path, attributes.sort().join(','));
  }
  for (const path of b.keys()) if (!a.has(path)) changes.set(path, 'added');
  return changes;
}

/** The same view of one aligned layer pair, from the report. */
function reportChanges(report: Report, layer: number): FileChanges {
  const attributes = new Map<string, string[]>();
  const changes: FileChanges = new Map();
  for (const difference of report.differences) {
    if (difference.layer !== layer || difference.file === undefined) continue;
    const path = cleanPath(difference.file);
    if (difference.kind === 'file-added') changes.set(path, 'added');
    else if (difference.kind === 'file-removed') changes.set(path, 'removed');
    else if (difference.kind === 'file-attribute') {
      const list = attributes.get(path) ?? [];
      list.push(difference.key ? `${difference.attribute}:${difference.key}` : String(difference.attribute));
      attributes.set(path, list);
    }
  }
  for (const [path, list] of attributes) changes.set(path, list.sort().join(','));
  return changes;
}

const sorted = (map: FileChanges) => [...map].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));

/** Files diffoscope names for two layer tars: from its `file list` diff and its per-member details. */
interface DiffoscopeNames {
  changed: string[];
  added: string[];
  removed: string[];
}

function diffoscopeLayers(tarA: string, tarB: string): Promise<DiffoscopeNames> {
  return new Promise((resolve, reject) => {
    execFile(
      'diffoscope',
      ['--no-progress', '--json', '-', tarA, tarB],
      { timeout: 60_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        // Exit 0: no differences; 1: differences found; anything else is a failure.
        const code = error ? (error as { code?: unknown }).code : 0;
        if (code !== 0 && code !== 1) {
          reject(new Error(`diffoscope failed (${String(code ?? error?.signal)}): ${stderr}`));
          return;
        }
        if (code === 0) {
          resolve({ changed: [], added: [], removed: [] });
          return;
        }
        const root = JSON.parse(stdout) as { details?: { source1: string; source2: string; unified_diff?: string | null }[] };
        const minus = new Set<string>();
        const plus = new Set<string>();
        const changed = new Set<string>();
        for (const detail of root.details ?? []) {
          if (detail.source1 !== 'file list') {
            changed.add(cleanPath(detail.source1));
            continue;
          }
          for (const line of (detail.unified_diff ?? '').split('\n')) {
            // -rw-r--r--   0        0        0        6 2020-09-13 12:26:40.000000 hello.txt
            const match = /^([-+])\S{10}\s+\d+\s+\d+\s+\d+\s+\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? (.*)$/.exec(line);
            if (match) (match[1] === '-' ? minus : plus).add(cleanPath(match[2]!));
          }
        }
        for (const name of minus) if (plus.has(name)) changed.add(name);
        resolve({
          changed: [...changed].sort(),
          added: [...plus].filter((name) => !minus.has(name)).sort(),
          removed: [...minus].filter((name) => !plus.has(name)).sort(),
        });
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// The CLI

// ---------------------------------------------------------------------------------------------
// Shared assertions

/** The identity chain the report shows for one side is what sha256sum says of the exported blobs. */
function expectChainMatches(side: ImageSide, image: Exported): void {
  expect(side.manifestDigest).toBe(image.manifestDigest);
  expect(side.imageId).toBe(image.imageId);
  expect(side.layers.map((layer) => ({ digest: layer.digest, diffId: layer.diffId }))).toEqual(
    image.layers.map((layer) => ({ digest: layer.digest, diffId: layer.diffId })),
  );
}

/**
 * The config pointers the report names are exactly where skopeo's two configs differ, and its manifest
 * pointers where the two manifests' annotations differ (none for a docker-archive, which has no manifest).
 */
function expectConfigPointersMatch(report: Report, a: Exported, b: Exported): string[] {
  const oracle = jsonDiffPointers(a.config, b.config).sort();
  const configPointers = report.differences.filter((difference) => difference.kind === 'config-field').map((difference) => difference.path);
  expect(configPointers.sort()).toEqual(oracle);
  const annotations = a.annotations === null || b.annotations === null ? [] : jsonDiffPointers(a.annotations, b.annotations, '/annotations');
  const manifestPointers = report.differences.filter((difference) => difference.kind === 'manifest-field').map((difference) => difference.path);
  expect(manifestPointers.sort()).toEqual(annotations.sort());
  return [...oracle, ...annotations];
}

/** Config and manifest differences. */
function configDifferences(report: Report): Difference[] {
  return report.differences.filter((difference) => difference.kind === 'config-field' || difference.kind === 'manifest-field');
}

/** Per aligned layer, the files and attributes the report names are what the extracted trees show. */
async function expectFilesMatchTrees(report: Report, a: Exported, b: Exported): Promise<FileChanges[]> {
  expect(a.layers.length).toBe(b.layers.length);
  const oracles = await Promise.all(a.layers.map((layer, index) => treeChanges(layer.tar, b.layers[index]!.tar)));
  oracles.forEach((oracle, index) => expect(sorted(reportChanges(report, index)), `layer ${index}`).toEqual(sorted(oracle)));
  return oracles;
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(skipWithoutTools('buildah', 'skopeo', 'diffoscope', 'sha256sum', 'tar', 'gzip', 'find'))('verify on real buildah pairs', () => {
  beforeAll(async () => {
    work = await makeTempDir('oci-repro-real-pairs-');
    // Three builds at a time: each is mostly process start-up and I/O. The seed pairs' second builds
    // come in a later round, over a second after the first: builds within one second can be
    // byte-identical (tar mtimes have whole seconds), and the seed case is about builds that differ.
    const later: BuildName[] = ['seedDockerB', 'seedOciB'];
    const runRound = async (queue: [BuildName, BuildSpec][]) =>
      Promise.all(
        Array.from({ length: 3 }, async () => {
          for (let next = queue.shift(); next; next = queue.shift()) exported[next[0]] = await exportBuild(next[0], next[1]);
        }),
      );
    const all = Object.entries(buildSpecs) as [BuildName, BuildSpec][];
    await runRound(all.filter(([name]) => !later.includes(name)));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await runRound(all.filter(([name]) => later.includes(name)));
    const refs = (pair: PairName) => pairs[pair].map((name) => exported[name].ref) as [string, string];
    // The content pair's report comes from the CLI, the others from the library.
    const verifications = (Object.keys(pairs) as PairName[]).filter((pair) => pair !== 'content').map(async (pair) => {
      const [a, b] = refs(pair);
      reports[pair] = await verifyImages({ a, b, normalize: defaultNormalizeOptions });
    });
    const cliRuns = Promise.all([
      runCli(['verify', ...refs('content'), '--format', 'json']),
      runCli(['verify', ...refs('seedDocker'), '--format', 'json']),
    ]);
    await Promise.all(verifications);
    [contentCli, seedCli] = await cliRuns;
  }, 180_000);

  afterAll(cleanupTempDirs);

  describe.each([
    ['docker', 'seedDocker'],
    ['oci', 'seedOci'],
  ] as const)('seed pair, --format %s: two --no-cache builds of one context', (_format, pair) => {
    const [nameA, nameB] = pairs[pair];

    it('is reproducible, and the identity chains are what sha256sum says', T, () => {
      const report = reports[pair];
      expect(report.verdict).toBe('reproducible');
      expect(report.passed).toBe(true);
      expect(report.a.canonicalDigest).toBe(report.b.canonicalDigest);
      expect(report.a.imageId).not.toBe(report.b.imageId);
      expectChainMatches(report.a, exported[nameA]);
      expectChainMatches(report.b, exported[nameB]);
    });

    it('names exactly the config and manifest pointers where the JSON skopeo prints differs, each neutralized and explained', T, () => {
      const report = reports[pair];
      const pointers = expectConfigPointersMatch(report, exported[nameA], exported[nameB]);
      expect(pointers).toContain('/created');
      for (const difference of configDifferences(report)) {
        expect(difference.neutralized, difference.path).toBe(true);
        expect(difference.cause, difference.path).not.toBeNull();
      }
      expect(report.summary.remaining).toBe(0);
      expect(report.summary.unexplained).toBe(0);
    });

    it('the layers whose diff_ids differ are those whose uncompressed tars differ by sha256sum', T, () => {
      const report = reports[pair];
      const oracle = exported[nameA].layers.flatMap((layer, index) => (layer.diffId !== exported[nameB].layers[index]!.diffId ? [index] : []));
      const differing = report.layers.filter((layer) => layer.a?.diffId !== layer.b?.diffId).map((layer) => layer.index);
      expect(differing).toEqual(oracle);
      // buildah stamps parent directories it creates (app/, usr/local/bin/) with the build time.
      expect(oracle.length).toBeGreaterThan(0);
      for (const layer of report.layers) {
        expect(layer.status).toBe(oracle.includes(layer.index) ? 'tar' : 'identical');
        expect(layer.a!.canonicalDiffId).toBe(layer.b!.canonicalDiffId);
      }
    });

    it('the file differences per layer are what the extracted trees show, all mtimes of the build clock', T, async () => {
      const report = reports[pair];
      const oracles = await expectFilesMatchTrees(report, exported[nameA], exported[nameB]);
      expect(oracles.some((oracle) => oracle.size > 0)).toBe(true);
      for (const difference of report.differences.filter((d) => d.file !== undefined)) {
        expect(difference).toMatchObject({ attribute: 'mtime', neutralized: true, cause: { id: 'file-mtime' } });
      }
    });
  });

  describe('the seed pair through the CLI', () => {
    it('verify --format json exits 0 and validates against schema/report.schema.json', T, () => {
      expect(seedCli.stderr).toBe('');
      expect(seedCli.code).toBe(0);
      const report = JSON.parse(seedCli.stdout) as Report;
      expect(validateReport(report)).toEqual([]);
      expect(report.verdict).toBe('reproducible');
      expect(report.a.canonicalDigest).toBe(reports.seedDocker.a.canonicalDigest);
      expect(report.differences.map((difference) => difference.path)).toEqual(reports.seedDocker.differences.map((difference) => difference.path));
    });
  });

  describe('content pair: a line changed, a file added, a mode changed with COPY --chmod', () => {
    const [nameA, nameB] = pairs.content;
    const cliReport = () => JSON.parse(contentCli.stdout) as Report;

    it('is not reproducible: exit 1 through the CLI, with a report valid against the schema', T, () => {
      expect(contentCli.code).toBe(1);
      const report = cliReport();
      expect(validateReport(report)).toEqual([]);
      expect(report.verdict).toBe('not-reproducible');
      expect(report.passed).toBe(false);
      expect(report.a.canonicalDigest).not.toBe(report.b.canonicalDigest);
      expectChainMatches(report.a, exported[nameA]);
      expectChainMatches(report.b, exported[nameB]);
      expectConfigPointersMatch(report, exported[nameA], exported[nameB]);
    });

    it('names the files and attributes the extracted trees show', T, async () => {
      const oracles = await expectFilesMatchTrees(cliReport(), exported[nameA], exported[nameB]);
      // The fixture did what it means to: guards against a vacuous comparison.
      expect(oracles[0]!.get('hello.txt')).toBe('content,size');
      expect(oracles[1]!.get('app/extra.txt')).toBe('added');
      expect(oracles[2]!.get('usr/local/bin/run.sh')).toBe('mode');
    });

    it('names exactly the files diffoscope names, layer by layer', T, async () => {
      const report = cliReport();
      const a = exported[nameA].layers;
      const b = exported[nameB].layers;
      const found = await Promise.all(a.map((layer, index) => diffoscopeLayers(layer.tar, b[index]!.tar)));
      found.forEach((names, index) => {
        const changes = reportChanges(report, index);
        const pick = (what: (value: string) => boolean) => [...changes].filter(([, value]) => what(value)).map(([path]) => path).sort();
        expect(
          { changed: pick((v) => v !== 'added' && v !== 'removed'), added: pick((v) => v === 'added'), removed: pick((v) => v === 'removed') },
          `layer ${index}`,
        ).toEqual(names);
      });
      expect(found.flatMap((names) => names.added)).toEqual(['app/extra.txt']);
      expect(found.flatMap((names) => names.changed)).toEqual(expect.arrayContaining(['hello.txt', 'usr/local/bin/run.sh']));
    });

    it('the real changes remain, with no noise cause; the text diff shows the changed line', T, () => {
      const report = cliReport();
      const remaining = report.differences.filter((d) => d.file !== undefined && !d.neutralized);
      expect(remaining.map((d) => `${d.file}#${d.kind === 'file-attribute' ? d.attribute : d.kind}`).sort()).toEqual([
        'app/extra.txt#file-added',
        'hello.txt#content',
        'hello.txt#size',
        'usr/local/bin/run.sh#mode',
      ]);
      for (const difference of remaining) expect(difference.cause, difference.path).toBeNull();
      const content = remaining.find((d) => d.file === 'hello.txt' && d.attribute === 'content')!;
      expect(content.detail?.format).toBe('unified');
      const diff = content.detail?.format === 'unified' ? content.detail.diff : '';
      expect(diff).toContain('-second line\n');
      expect(diff).toContain('+second line, changed\n');
      // The CLI's JSON report spells modes in octal (the model holds numbers: report/json.ts converts).
      expect(report.differences.find((d) => d.file?.endsWith('run.sh') && d.attribute === 'mode')).toMatchObject({ a: '0644', b: '0755' });
    });
  });

  describe('--timestamp', () => {
    it('same N, OCI: buildah writes the same bytes, and verify says identical', T, () => {
      const [a, b] = [exported.stampOciA, exported.stampOciB];
      const report = reports.stampOci;
      expectChainMatches(report.a, a);
      expectChainMatches(report.b, b);
      // What the oracle says decides the expected verdict; measured: the manifests are byte-identical.
      const sameBytes = a.manifestDigest === b.manifestDigest || a.imageId === b.imageId;
      expect(sameBytes).toBe(true);
      expect(report.verdict).toBe('identical');
      expect(report.differences).toEqual([]);
      expect(report.layers.every((layer) => layer.status === 'identical')).toBe(true);
    });

    it('same N, Docker format: layers byte-identical, config differs only in host fields, so reproducible', T, async () => {
      const [a, b] = [exported.stampDockerA, exported.stampDockerB];
      const report = reports.stampDocker;
      expectChainMatches(report.a, a);
      expectChainMatches(report.b, b);
      expect(a.imageId).not.toBe(b.imageId);
      expect(a.layers.map((layer) => layer.diffId)).toEqual(b.layers.map((layer) => layer.diffId));
      expect(report.verdict).toBe('reproducible');
      expect(report.layers.every((layer) => layer.status === 'identical')).toBe(true);
      const pointers = expectConfigPointersMatch(report, a, b);
      expect(pointers.length).toBeGreaterThan(0);
      expect(pointers.filter((pointer) => /created/.test(pointer))).toEqual([]);
      for (const difference of configDifferences(report)) expect(difference).toMatchObject({ neutralized: true, cause: { id: 'host-fields' } });
      await expectFilesMatchTrees(report, a, b);
    });

    it('different N: raw diff_ids differ, canonical equal; the mtimes are named with the file-mtime cause', T, async () => {
      const [a, b] = [exported.stampOciA, exported.stampOciLater];
      const report = reports.stampOciDifferent;
      expectChainMatches(report.a, a);
      expectChainMatches(report.b, b);
      expect(report.verdict).toBe('reproducible');
      report.layers.forEach((layer, index) => {
        // --timestamp stamps every file, so every layer's tar differs.
        expect(a.layers[index]!.diffId).not.toBe(b.layers[index]!.diffId);
        expect(layer.status).toBe('tar');
        expect(layer.a!.canonicalDiffId).toBe(layer.b!.canonicalDiffId);
      });
      expectConfigPointersMatch(report, a, b);
      const oracles = await expectFilesMatchTrees(report, a, b);
      expect([...oracles[0]!.values()]).toEqual(['mtime']);
      const fileDifferences = report.differences.filter((d) => d.file !== undefined);
      expect(fileDifferences.length).toBe(oracles.reduce((count, oracle) => count + oracle.size, 0));
      for (const difference of fileDifferences) {
        expect(difference).toMatchObject({
          attribute: 'mtime',
          a: timestamp,
          b: laterTimestamp,
          neutralized: true,
          cause: { id: 'file-mtime' },
        });
      }
    });
  });
});
