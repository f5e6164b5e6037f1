/**
 * Multi-platform index pairs built in code (fixed times, pako gzip: the same bytes on every machine),
 * written as OCI layouts the way `buildah manifest push --all` writes them (index.json naming a tagged
 * image index), one as a flat layout (index.json itself listing the platforms):
 *
 * - two-platform: linux/amd64 differs in build noise only (reproducible), linux/arm64 also in a file's
 *   content (not reproducible);
 * - reproducible: both platforms differ in build noise only;
 * - one-sided: B lacks linux/arm64;
 * - attestation: both platforms reproducible, each side with BuildKit attestation manifests that differ.
 */
import { attestationEntry, buildImage, indexLayout, type BuiltImage, type IndexEntry, type TempDir } from '../helpers/images.js';
import { buildTar, shuffled, type TestEntry } from '../helpers/tar.js';
import { gzipWith, type ImagePair } from './fixtures.js';

export const indexPairNames = ['two-platform', 'reproducible', 'one-sided', 'attestation'] as const;
export type IndexPairName = (typeof indexPairNames)[number];

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const sourceTime = new Date('2024-01-15T08:00:00Z');

/** One platform's image of a build: `clock` is the build time (noise), `changed` a real content change. */
export async function platformImage(architecture: string, clock: Date, options: { changed?: boolean; shuffle?: boolean } = {}): Promise<BuiltImage> {
  const entries: TestEntry[] = [
    { name: 'app/', mtime: clock },
    { name: 'app/arch.txt', content: `built for ${architecture}\n`, mtime: sourceTime },
    { name: 'app/build-info.txt', content: options.changed ? `built at ${clock.toISOString()}\n` : 'built from source\n', mtime: clock },
    { name: 'app/run.sh', content: '#!/bin/sh\nexec cat /app/arch.txt\n', mode: 0o755, mtime: sourceTime },
  ];
  const tar = await buildTar(options.shuffle ? shuffled(entries, 5) : entries);
  return buildImage(
    {
      layers: [{ tar, createdBy: '/bin/sh -c #(nop) COPY dir:1f2e3d4c in /app ' }],
      architecture,
      ...(architecture === 'arm64' ? { variant: 'v8' } : {}),
      created: clock.toISOString(),
      config: { created: clock.toISOString(), config: { Cmd: ['/app/run.sh'] } },
    },
    gzipWith(),
  );
}

const clockA = new Date('2024-03-01T10:00:00Z');
const clockB = new Date('2024-03-02T11:30:00Z');

/** The entries of one side's index: per platform, whether its B build has a real change. */
async function sideEntries(clock: Date, isB: boolean, platforms: { platform: typeof amd64; changed?: boolean }[]): Promise<IndexEntry[]> {
  const entries: IndexEntry[] = [];
  for (const { platform, changed } of platforms) {
    entries.push({ image: await platformImage(platform.architecture, clock, { changed: isB && changed, shuffle: isB }), platform });
  }
  return entries;
}

export async function writeIndexPair(dir: TempDir, name: IndexPairName): Promise<ImagePair> {
  switch (name) {
    case 'two-platform': {
      const platforms = [{ platform: amd64 }, { platform: arm64, changed: true }];
      await dir.writeArchive('two-platform-a.tar', indexLayout(await sideEntries(clockA, false, platforms)));
      await dir.writeArchive('two-platform-b.tar', indexLayout(await sideEntries(clockB, true, platforms)));
      return { a: 'oci-archive:two-platform-a.tar', b: 'oci-archive:two-platform-b.tar' };
    }
    case 'reproducible': {
      const platforms = [{ platform: amd64 }, { platform: arm64 }];
      // A as an OCI index in a layout directory; B as a Docker manifest list in a flat layout's tar.
      await dir.writeDirectory('reproducible-a', indexLayout(await sideEntries(clockA, false, platforms)));
      await dir.writeArchive('reproducible-b.tar', indexLayout(await sideEntries(clockB, true, platforms), { flat: true }));
      return { a: 'oci:reproducible-a', b: 'oci-archive:reproducible-b.tar' };
    }
    case 'one-sided': {
      await dir.writeArchive('one-sided-a.tar', indexLayout(await sideEntries(clockA, false, [{ platform: amd64 }, { platform: arm64 }])));
      await dir.writeArchive('one-sided-b.tar', indexLayout(await sideEntries(clockB, true, [{ platform: amd64 }]), { family: 'docker' }));
      return { a: 'oci-archive:one-sided-a.tar', b: 'oci-archive:one-sided-b.tar' };
    }
    case 'attestation': {
      const withAttestations = (entries: IndexEntry[]) => [...entries, ...entries.map((entry) => attestationEntry(entry.image.manifest.digest))];
      const platforms = [{ platform: amd64 }, { platform: arm64 }];
      await dir.writeArchive('attestation-a.tar', indexLayout(withAttestations(await sideEntries(clockA, false, platforms))));
      await dir.writeArchive('attestation-b.tar', indexLayout(withAttestations(await sideEntries(clockB, true, platforms))));
      return { a: 'oci-archive:attestation-a.tar', b: 'oci-archive:attestation-b.tar' };
    }
  }
}
