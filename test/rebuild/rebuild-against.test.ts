/**
 * `oci-repro rebuild --against REF`: one build with the real buildah, verified against a release pushed
 * to a real registry (docker-registry on 127.0.0.1): built from the same context it matches (exit 0);
 * from a changed context it does not (exit 1), and the report names the changed file, in every format.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { cleanupTempDirs, skipWithoutTools } from '../helpers/real-tools.js';
import { validateAgainst, validateReport } from '../helpers/report-schema.js';
import { parse, pushRelease, setup } from './setup.js';

afterAll(cleanupTempDirs);

describe.skipIf(skipWithoutTools('buildah', 'skopeo', 'docker-registry'))('oci-repro rebuild --against a pushed release', () => {
  let registry: RunningRegistry;
  let release: string;
  beforeAll(async () => {
    registry = await startRegistry();
    release = await pushRelease(registry);
  }, 120_000);
  afterAll(async () => registry?.stop());

  it('the same source: exit 0, "the release is reproducible from this source"', async () => {
    const { rebuild } = await setup('FROM scratch\nCOPY hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
    const [text, json] = await Promise.all([
      rebuild(['--against', release, '--tls-verify=false']),
      rebuild(['--against', release, '--tls-verify=false', '--format', 'json']),
    ]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^rebuild of \S+ with buildah against docker:\/\/127\.0\.0\.1:\d+\/hello:1\.0: the release is reproducible from this source/);
    expect(text.stdout).toContain('oci-repro verify:');
    const report = parse(json);
    expect(report.passed).toBe(true);
    expect(report.variations).toEqual([]);
    expect(report.against!.reference).toBe(release);
    expect(report.against!.report.verdict).toBe('reproducible');
    expect(validateAgainst('rebuild-report.schema.json', report)).toEqual([]);
    expect(validateReport(report.against!.report)).toEqual([]);
    expect(await readdir(text.tmp)).toEqual([]);
  }, 120_000);

  it('a changed source: exit 1 and the changed file named, in text, json, markdown, junit and html', async () => {
    const { rebuild, context } = await setup('FROM scratch\nCOPY hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
    await writeFile(join(context, 'hello.txt'), 'hello, changed\n');
    const formats = ['text', 'json', 'markdown', 'junit', 'html'] as const;
    const runs = await Promise.all(formats.map((format) => rebuild(['--against', release, '--tls-verify=false', '--format', format])));
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('hello.txt');
    }
    // The runs share one TMPDIR: it is empty once they have all ended.
    expect(await readdir(runs[0]!.tmp)).toEqual([]);
    const [text, json, markdown, junit, html] = runs as [typeof runs[0], typeof runs[0], typeof runs[0], typeof runs[0], typeof runs[0]];
    expect(text.stdout).toMatch(/the release is not reproducible from this source: \d+ remaining differences?\n/);
    expect(text.stdout).toMatch(/-hello\n\s*\+hello, changed/);
    const report = parse(json);
    expect(report.passed).toBe(false);
    const remaining = report.against!.report.differences.filter((d) => !d.neutralized);
    expect(remaining.map((d) => d.path)).toContain('layers/0/hello.txt#content');
    // Every other remaining difference follows from the changed file: a digest, or the COPY step naming its hash.
    for (const d of remaining) expect(d.path).toMatch(/hello\.txt#(content|size)$|created_by$|diff_ids|digest/);
    expect(markdown.stdout).toMatch(/^## oci-repro rebuild: the release is not reproducible from this source/);
    expect(markdown.stdout).toContain('### oci-repro:');
    expect(junit.stdout).toMatch(/<testsuites name="oci-repro rebuild of [^"]+ against docker:\/\/[^"]+"/);
    expect(junit.stdout).toMatch(/<failure /);
    expect(html.stdout).toMatch(/<h1>oci-repro rebuild: <span class="verdict failed">the release is not reproducible from this source/);
  }, 120_000);

  it('a release that is not there: exit 4 before any build, nothing left behind', async () => {
    const { rebuild, dir } = await setup('FROM scratch\nCOPY hello.txt /hello.txt\n', { 'hello.txt': 'hello\n' });
    const keep = join(dir, 'kept');
    const run = await rebuild(['--against', `docker://${registry.host}/hello:nope`, '--tls-verify=false', '--keep', keep]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/hello:nope/);
    expect(run.stdout).toBe('');
    // No build ran: its log would be in the kept directory.
    expect(await readdir(keep)).toEqual([]);
    expect(run.leftInTmp).toEqual([]);
  }, 120_000);

  it('--against with --vary is a usage error, before any build', async () => {
    const { rebuild } = await setup('FROM scratch\n');
    const run = await rebuild(['--against', release, '--vary', 'clock']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--against or --vary, not both/);
  }, 60_000);
});
