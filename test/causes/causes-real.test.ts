// The copied-content cause on what a real builder writes: buildah names COPY content by its hash in created_by.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import type { Report } from '../../src/report/model.js';
import type { Difference } from '../../src/diff/model.js';
import { verifyImages } from '../../src/app/verify.js';
import { TempDir } from '../helpers/images.js';
import { type BuildahBuild, buildahBuild, buildahPush, skipWithoutTools } from '../helpers/real-tools.js';

const skip = skipWithoutTools('buildah');
let dir: TempDir;
const builds: BuildahBuild[] = [];
const reports: Record<'content' | 'destination', Report> = {} as never;

/** One FROM-scratch build of `COPY hello.txt <destination>`, pushed to an oci-archive; returns its reference. */
async function build(name: string, content: string, destination: string): Promise<string> {
  const built = await buildahBuild({
    dockerfile: `FROM scratch\nCOPY hello.txt ${destination}\n`,
    context: { 'hello.txt': `${content}\n` },
    format: 'docker',
    timestamp: 0,
  });
  builds.push(built);
  const path = dir.join(`${name}.tar`);
  await buildahPush(built, `oci-archive:${path}:latest`);
  return `oci-archive:${path}`;
}

const createdBy = (report: Report): Difference | undefined => report.differences.find((d) => /^\/history\/\d+\/created_by$/.test(d.path));

beforeAll(async () => {
  if (skip) return;
  dir = await TempDir.create('oci-repro-causes-real-');
  const [one, two, elsewhere] = [await build('one', 'one', '/hello.txt'), await build('two', 'two', '/hello.txt'), await build('elsewhere', 'one', '/other.txt')];
  reports.content = await verifyImages({ a: one, b: two, normalize: defaultNormalizeOptions });
  reports.destination = await verifyImages({ a: one, b: elsewhere, normalize: defaultNormalizeOptions });
});
afterAll(async () => {
  await Promise.all(builds.map((built) => built.cleanup()));
  await dir?.remove();
});

describe.skipIf(skip)('copied-content on buildah builds', () => {
  it('explains a created_by that differs only in the hash of the copied file, and keeps it remaining', () => {
    const difference = createdBy(reports.content);
    expect(difference, 'buildah writes the content hash into created_by').toBeDefined();
    expect(String(difference?.a)).toMatch(/COPY file:[0-9a-f]{64} in \/hello\.txt/);
    expect(difference).toMatchObject({ cause: { id: 'copied-content' }, neutralized: false });
    // The change it points to: the file the step copied.
    expect(reports.content.differences.find((d) => d.file === 'hello.txt' && d.attribute === 'content')).toBeDefined();
  });

  it('does not explain a created_by whose destination differs too: that is a changed Dockerfile step', () => {
    const difference = createdBy(reports.destination);
    expect(difference).toBeDefined();
    expect(difference?.cause?.id).not.toBe('copied-content');
    expect(difference).toMatchObject({ cause: { id: 'dockerfile-changed' }, neutralized: false });
  });
});
