/**
 * Pushes a multi-platform index: each platform's image by digest (blobs the registry has are not sent
 * again), then the index under the tag, last, so the tag never names a manifest the registry lacks.
 */
import { withContext } from '../errors.js';
import { repositoryScope } from './auth.js';
import { RegistryClient } from './client.js';
import { pushImage, putManifest, type PushDocument, type PushImage, type PushOptions, type PushResult } from './push.js';
import { formatRegistryReference, parseRegistryReference } from './reference.js';

export interface PushIndexResult {
  /** sha256 of the index bytes: what the tag now names. */
  digest: string;
  /** `registry/repository@digest`. */
  reference: string;
  images: PushResult[];
  index: 'present' | 'uploaded';
}

export async function pushIndex(referenceText: string, index: PushDocument, images: readonly PushImage[], options: PushOptions = {}): Promise<PushIndexResult> {
  const location = referenceText.startsWith('docker://') ? referenceText.slice('docker://'.length) : referenceText;
  const reference = parseRegistryReference(location);
  const repository = formatRegistryReference({ ...reference, tag: undefined, digest: undefined });
  const pushed: PushResult[] = [];
  for (const image of images) pushed.push(await pushImage(`${repository}@${image.manifest.digest}`, image, options));
  const what = `pushing to docker://${formatRegistryReference(reference)}`;
  const client = new RegistryClient(reference, [repositoryScope(reference.repository, 'pull,push')], options);
  try {
    const { digest, action } = await putManifest(client, reference, index).catch((error: unknown) => {
      throw withContext(what, error);
    });
    return { digest, reference: formatRegistryReference({ ...reference, tag: undefined, digest }), images: pushed, index: action };
  } finally {
    client.close();
  }
}
