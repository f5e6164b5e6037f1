// A real pair: one FROM scratch Dockerfile built twice by buildah (no cache), in each of its two formats.
// The raw image IDs differ (dates, build-time directory mtimes, host fields); the canonical digests do
// not, and normalize --output writes byte-identical oci-archives for the two builds.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/image/digest.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { normalizeImage, type NormalizeResult } from '../../src/app/normalize.js';
import {
  buildahBuild,
  buildahPush,
  cleanupTempDirs,
  makeTempDir,
  skipWithoutTools,
  skopeoInspectConfig,
  skopeoInspectRaw,
  type BuildahBuild,
} from '../helpers/real-tools.js';

const dockerfile = `FROM scratch
COPY a.txt b.txt /app/
ENV APP_MODE=test
LABEL org.example.name="pair"
COPY sub/ /app/sub/
`;
const context = {
  'a.txt': 'first file\n',
  'b.txt': 'second file\n',
  'sub/c.txt': 'in a subdirectory\n',
  'sub/deep/run.sh': { data: '#!/bin/sh\necho run\n', mode: 0o755 },
};

interface Built {
  build: BuildahBuild;
  /** The build exported in its own format: docker-archive for --format docker, oci-archive for oci. */
  archive: string;
  /** normalize --output oci-archive. */
  normalized: NormalizeResult;
  normalizedPath: string;
}

const formats = ['docker', 'oci'] as const;

describe.skipIf(skipWithoutTools('buildah', 'skopeo'))('buildah builds the same Dockerfile twice', () => {
  const builds: Record<(typeof formats)[number], Built[]> = { docker: [], oci: [] };

  beforeAll(async () => {
    const work = await makeTempDir('oci-repro-buildah-pair-');
    const jobs = formats.flatMap((format) => [0, 1].map((n) => ({ format, n })));
    const done = await Promise.all(
      jobs.map(async ({ format, n }) => {
        const build = await buildahBuild({ dockerfile, context, format });
        const archive = join(work, `${format}-${n}.tar`);
        await buildahPush(build, format === 'docker' ? `docker-archive:${archive}:pair:${n}` : `oci-archive:${archive}:pair`);
        const normalizedPath = join(work, `normalized-${format}-${n}.tar`);
        const normalized = await normalizeImage({
          source: archive,
          normalize: defaultNormalizeOptions,
          output: `oci-archive:${normalizedPath}:pair`,
        });
        return { format, built: { build, archive, normalized, normalizedPath } };
      }),
    );
    for (const { format, built } of done) builds[format].push(built);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([...builds.docker, ...builds.oci].map(({ build }) => build.cleanup()));
    await cleanupTempDirs();
  });

  for (const format of formats) {
    describe(`--format ${format}`, () => {
      it('the raw image IDs differ: the builds are not bit-for-bit reproducible', () => {
        const [a, b] = builds[format];
        expect(a.build.imageId).not.toBe(b.build.imageId);
        // What we read is what buildah reported.
        expect(a.normalized.imageId).toBe(a.build.imageId);
        expect(b.normalized.imageId).toBe(b.build.imageId);
      });

      it('the canonical digests and canonical diff_ids are equal', () => {
        const [a, b] = builds[format];
        expect(a.normalized.canonicalDigest).toBe(b.normalized.canonicalDigest);
        expect(a.normalized.layers.map((layer) => layer.canonicalDiffId)).toEqual(b.normalized.layers.map((layer) => layer.canonicalDiffId));
        expect(a.normalized.layers).toHaveLength(2);
      });

      it('normalize --output writes byte-identical oci-archives whose config digest is the canonical digest', async () => {
        const [a, b] = builds[format];
        const [bytesA, bytesB] = [await readFile(a.normalizedPath), await readFile(b.normalizedPath)];
        expect(bytesA.length).toBeGreaterThan(0);
        expect(sha256(bytesB)).toBe(sha256(bytesA));
        const config = await skopeoInspectConfig(`oci-archive:${a.normalizedPath}:pair`);
        expect(sha256(config.bytes)).toBe(a.normalized.canonicalDigest);
        expect(a.normalized.output?.configDigest).toBe(a.normalized.canonicalDigest);
        // The Dockerfile's settings are in the canonical config, not normalized away.
        expect(config.json.config).toMatchObject({ Env: expect.arrayContaining(['APP_MODE=test']), Labels: { 'org.example.name': 'pair' } });
        expect(config.json.created).toBe('1970-01-01T00:00:00Z');
      });

      if (format === 'oci') {
        it('the base digest annotation (the previous step\'s intermediate image) is blanked in the normalized manifest', async () => {
          const [a, b] = builds[format];
          const rawA = await skopeoInspectRaw(`oci-archive:${a.archive}:pair`);
          const rawB = await skopeoInspectRaw(`oci-archive:${b.archive}:pair`);
          const normalized = await skopeoInspectRaw(`oci-archive:${a.normalizedPath}:pair`);
          const base = 'org.opencontainers.image.base.digest';
          // buildah 1.28 writes it: then it differs between the builds and must not reach the output
          // (host-fields blanks it, empty-values drops the empty value).
          if (rawA.json.annotations?.[base] !== undefined) {
            expect(rawA.json.annotations[base]).not.toBe(rawB.json.annotations?.[base]);
          }
          expect(normalized.json.annotations?.[base]).toBeUndefined();
        });
      }
    });
  }

  it('across formats: the same layers and config after normalization (Docker adds only builder state and zero values)', () => {
    const [docker, oci] = [builds.docker[0].normalized, builds.oci[0].normalized];
    expect(docker.layers.map((layer) => layer.canonicalDiffId)).toEqual(oci.layers.map((layer) => layer.canonicalDiffId));
    expect(docker.canonicalDigest).toBe(oci.canonicalDigest);
  });
});
