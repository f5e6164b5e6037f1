/**
 * The canonical identity of a whole multi-platform index: sha256 of the RFC 8785 bytes of
 *
 *     {"manifests":[{"canonicalDigest":"sha256:…","platform":"linux/amd64"}, …],"oci-repro":"canonical-index/v1"}
 *
 * with one entry per image platform (attestations left out), sorted bytewise by platform, the platform
 * spelled `os/arch[/variant]` (arm64's default variant v8 left out). Like an image's canonical digest it
 * does not depend on compression, so two indexes are reproductions of each other exactly when their
 * canonical index digests are equal. It is not the digest of the written index, whose manifests name
 * compressed layer blobs; normalize prints both.
 */
import { canonicalize } from 'json-canonicalize';
import { sha256 } from '../image/digest.js';
import { comparePlatformKeys } from '../image/types.js';

export interface CanonicalIndexEntry {
  platform: string;
  canonicalDigest: string;
}


export function canonicalIndexBytes(entries: readonly CanonicalIndexEntry[]): Buffer {
  const manifests = [...entries]
    .sort((a, b) => comparePlatformKeys(a.platform, b.platform))
    .map(({ platform, canonicalDigest }) => ({ canonicalDigest, platform }));
  return Buffer.from(canonicalize({ manifests, 'oci-repro': 'canonical-index/v1' }), 'utf8');
}

export function canonicalIndexDigest(entries: readonly CanonicalIndexEntry[]): string {
  return sha256(canonicalIndexBytes(entries));
}
