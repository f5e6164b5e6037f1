/**
 * A Dockerfile step that differs between two builds is a known cause, `dockerfile-changed`: it stays
 * remaining (the images really differ) but is explained. Pairs built in code (a RUN line, an extra
 * history entry, and a COPY whose content hash changed, which stays `copied-content`), and one pair of
 * real buildah builds (`ENV a b` against `ENV a c`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { causeCatalogue } from '../../src/causes/catalogue.js';
import { DifferenceCollector } from '../../src/compare/collect.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import type { Report } from '../../src/report/model.js';
import { renderReport } from '../../src/report/render.js';
import { verifyImages } from '../../src/app/verify.js';
import { TempDir } from '../helpers/images.js';
import { buildFixture, editConfig, writeInForm, type FixtureSpec } from '../helpers/noise.js';
import { type BuildahBuild, buildahBuild, buildahPush, skipWithoutTools } from '../helpers/real-tools.js';
import type { TestEntry } from '../helpers/tar.js';
import { runCli } from '../helpers/cli.js';

const mtime = new Date('2024-01-15T08:00:00Z');
const entries = (files: Record<string, string>): TestEntry[] =>
  Object.entries(files).map(([name, content]) => ({ name, content, mtime }));

const base: FixtureSpec = {
  layers: [
    { entries: entries({ 'etc/os-release': 'ID=example\n' }), createdBy: '/bin/sh -c #(nop) ADD file:0a1b2c3d4e5f6a7b in / ' },
    { entries: entries({ 'opt/app/run.sh': '#!/bin/sh\n' }), createdBy: '/bin/sh -c make -C /src install PREFIX=/opt/app' },
  ],
};

let dir: TempDir;
/** Real builds, each in its own store: removed after all tests. */
const builds: BuildahBuild[] = [];
/** Writes both specs as oci-archives and verifies them through the library. */
async function verifyPair(name: string, a: FixtureSpec, b: FixtureSpec): Promise<{ report: Report; a: string; b: string }> {
  const refA = await writeInForm(dir, `${name}-a`, await buildFixture(a), 'oci-archive');
  const refB = await writeInForm(dir, `${name}-b`, await buildFixture(b), 'oci-archive');
  return { report: await verifyImages({ a: refA, b: refB, normalize: defaultNormalizeOptions }), a: refA, b: refB };
}

/** What a report says of each difference: where, whether it blocks, and its cause. */
const described = (report: Report) =>
  report.differences.map((difference) => ({ path: difference.path, neutralized: difference.neutralized, cause: difference.cause?.id ?? null }));

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-history-cause-');
});
afterAll(async () => {
  await Promise.all(builds.map((built) => built.cleanup()));
  await dir?.remove();
});

describe('a changed Dockerfile step, on pairs built in code', () => {
  it('a RUN line that differs is the only difference: remaining, explained, exit 1', async () => {
    const changed: FixtureSpec = {
      ...base,
      layers: [base.layers[0]!, { ...base.layers[1]!, createdBy: '/bin/sh -c make -C /src install PREFIX=/usr/local' }],
    };
    const { report, a, b } = await verifyPair('run-line', base, changed);
    expect(described(report)).toEqual([{ path: '/history/1/created_by', neutralized: false, cause: 'dockerfile-changed' }]);
    expect(report.verdict).toBe('not-reproducible');
    expect(report.passed).toBe(false);
    expect(report.summary).toMatchObject({ remaining: 1, unexplained: 0 });
    // Both layers are the same blobs: only the step text tells the builds apart.
    expect(report.layers.map((layer) => layer.status)).toEqual(['identical', 'identical']);
    expect(report.layers[1]?.a?.step).not.toBe(report.layers[1]?.b?.step);

    const run = await runCli(['verify', a, b], { cwd: dir.path });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('a Dockerfile step differs (the Dockerfile or its build args changed) [dockerfile-changed]');
    expect(run.stdout).not.toContain('no known cause');
    expect(run.stdout).toMatch(/step in A +RUN make -C \/src install PREFIX=\/opt\/app\n/);
    expect(run.stdout).toMatch(/step in B +RUN make -C \/src install PREFIX=\/usr\/local\n/);
  });

  it('the same difference without the catalogue entry: no known cause', () => {
    // The entry is what explains it: without it, the difference is unknown, as it was before.
    const without = new DifferenceCollector(Infinity, causeCatalogue.filter((entry) => entry.id !== 'dockerfile-changed'));
    without.push({ kind: 'config-field', path: '/history/1/created_by', a: 'RUN make', b: 'RUN make all', neutralized: false, cause: null });
    expect(without.differences[0]?.cause).toBeNull();
  });

  it('an extra history entry (a step only B ran) is the same cause', async () => {
    const extra = editConfig(base, (config) => {
      config.history.push({ created: '2024-01-02T03:04:05Z', created_by: '/bin/sh -c #(nop)  LABEL stage=test', empty_layer: true });
    });
    const { report } = await verifyPair('extra-entry', base, extra);
    expect(described(report)).toEqual([{ path: '/history/2', neutralized: false, cause: 'dockerfile-changed' }]);
    expect(report.differences[0]).toMatchObject({ a: null, b: { created_by: '/bin/sh -c #(nop)  LABEL stage=test' } });
    expect(report.passed).toBe(false);
    // The text report names the step, not the entry's first field (its date).
    expect(renderReport(report, 'text', { color: false })).toContain('/history/2  (absent) -> step "LABEL stage=test"\n');
  });

  it('a COPY whose content hash changed with its files stays copied-content, not the new cause', async () => {
    const copy = (hash: string, content: string): FixtureSpec => ({
      layers: [base.layers[0]!, { entries: entries({ 'opt/app/app.conf': content }), createdBy: `/bin/sh -c #(nop) COPY file:${hash} in /opt/app/ ` }],
    });
    const { report } = await verifyPair('copied', copy('a1'.repeat(32), 'port 80\n'), copy('b2'.repeat(32), 'port 8080\n'));
    const createdBy = report.differences.find((difference) => difference.path === '/history/1/created_by');
    expect(createdBy).toMatchObject({ cause: { id: 'copied-content' }, neutralized: false });
    expect(report.differences.some((difference) => difference.cause?.id === 'dockerfile-changed')).toBe(false);
    // The file it copied is what changed.
    expect(report.differences.find((difference) => difference.file === 'opt/app/app.conf' && difference.attribute === 'content')).toBeDefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Real builds

const skip = skipWithoutTools('buildah');

/** A `FROM scratch` build with --timestamp 0 (so only the Dockerfile tells two apart), as an oci-archive. */
async function buildOci(name: string, dockerfile: string): Promise<string> {
  const built = await buildahBuild({ dockerfile, context: { 'hello.txt': 'hello\n' }, format: 'oci', timestamp: 0 });
  builds.push(built);
  const path = dir.join(`${name}.tar`);
  await buildahPush(built, `oci-archive:${path}:latest`);
  return `oci-archive:${path}`;
}

const buildEnv = (value: string) => buildOci(`env-${value}`, `FROM scratch\nCOPY hello.txt /hello.txt\nENV a ${value}\n`);

describe.skipIf(skip)('a changed ENV step on buildah builds', () => {
  let report: Report;
  beforeAll(async () => {
    const [a, b] = [await buildEnv('b'), await buildEnv('c')];
    report = await verifyImages({ a, b, normalize: defaultNormalizeOptions });
  }, 60_000);

  it('differs exactly in the ENV value and the step that set it, both explained by the changed step', () => {
    // Measured with buildah 1.28: with --timestamp 0 and OCI format nothing else differs, and buildah
    // records the instruction as written (`ENV a b`), the config as `a=b`.
    expect(described(report)).toEqual([
      { path: '/config/Env/1', neutralized: false, cause: 'dockerfile-changed' },
      { path: '/history/1/created_by', neutralized: false, cause: 'dockerfile-changed' },
    ]);
    expect(report.differences.map((difference) => [difference.a, difference.b])).toEqual([
      ['a=b', 'a=c'],
      ['/bin/sh -c #(nop) ENV a b', '/bin/sh -c #(nop) ENV a c'],
    ]);
    expect(report.verdict).toBe('not-reproducible');
    expect(report.summary).toMatchObject({ remaining: 2, unexplained: 0 });
    // The COPY layer is the same blob in both: the ENV step made no layer.
    expect(report.layers.map((layer) => layer.status)).toEqual(['identical']);
  });
});

describe.skipIf(skip)('COPY against ADD of the same file on buildah builds', () => {
  let report: Report;
  beforeAll(async () => {
    const [a, b] = [await buildOci('copy', 'FROM scratch\nCOPY hello.txt /hello.txt\n'), await buildOci('add', 'FROM scratch\nADD hello.txt /hello.txt\n')];
    report = await verifyImages({ a, b, normalize: defaultNormalizeOptions });
  }, 60_000);

  it('differs only in the step, whose content hash is the same: dockerfile-changed, not copied-content', () => {
    expect(described(report)).toEqual([{ path: '/history/0/created_by', neutralized: false, cause: 'dockerfile-changed' }]);
    const [a, b] = [String(report.differences[0]?.a), String(report.differences[0]?.b)];
    expect(a).toMatch(/^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/hello\.txt $/);
    expect(b).toBe(a.replace('COPY', 'ADD'));
    expect(report.layers.map((layer) => layer.status)).toEqual(['identical']);
  });
});
