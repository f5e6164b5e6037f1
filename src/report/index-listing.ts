/** What `inspect` shows of a multi-platform index: its identity and each manifest it lists. */
import type { IndexListing } from '../sources/index-listing.js';
import { plural } from './wording.js';

/** The --json form: stable data, attestation manifests marked. */
export interface IndexListingJson {
  kind: 'index';
  reference: string;
  digest: string;
  mediaType: string;
  manifests: { platform: string | null; digest: string; mediaType: string; size: number; attestation: boolean }[];
}

export function describeIndexListing(listing: IndexListing): IndexListingJson {
  return {
    kind: 'index',
    reference: listing.reference,
    digest: listing.digest,
    mediaType: listing.mediaType,
    manifests: listing.manifests.map(({ platform, digest, mediaType, size, attestation }) => ({ platform, digest, mediaType, size, attestation })),
  };
}

export function renderIndexListingText(listing: IndexListingJson): string {
  const images = listing.manifests.filter((manifest) => !manifest.attestation).length;
  const attestations = listing.manifests.length - images;
  const width = Math.max(8, ...listing.manifests.map((manifest) => (manifest.platform ?? 'unknown').length));
  const lines = [
    `index      ${listing.reference}`,
    `digest     ${listing.digest}`,
    `media type ${listing.mediaType}`,
    `platforms  ${images}${attestations > 0 ? ` (and ${plural(attestations, 'attestation manifest')}, not images)` : ''}`,
    '',
    ...listing.manifests.map(
      (manifest) => `  ${(manifest.platform ?? 'unknown').padEnd(width)}  ${manifest.digest}${manifest.attestation ? '  attestation' : ''}`,
    ),
    '',
    'inspect one platform with --platform os/arch[/variant]',
  ];
  return `${lines.join('\n')}\n`;
}
