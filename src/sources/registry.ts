import type { Image } from '../image/image.js';
import { RegistryBlobStore } from '../registry/blob-store.js';
import { RegistryClient, type RegistryOptions } from '../registry/client.js';
import { manifestReferenceOf, parseRegistryReference } from '../registry/reference.js';
import { assembleImage, resolveManifest } from './assemble.js';
import type { LoadOptions } from './options.js';

export type RegistryLoadOptions = LoadOptions & RegistryOptions;

/**
 * Opens `docker://REGISTRY/REPO[:TAG][@DIGEST]` (`location` is the part after `docker://`): the manifest
 * is fetched and verified now, an index resolved to one platform, the config read; layers stream on demand.
 */
export async function loadRegistryImage(text: string, location: string, options: RegistryLoadOptions = {}): Promise<Image> {
  const reference = parseRegistryReference(location);
  const client = RegistryClient.forPull(reference, options);
  try {
    const wanted = manifestReferenceOf(reference);
    const top = await client.getManifest(wanted, `manifest ${wanted}`);
    const store = new RegistryBlobStore(client, text);
    store.addManifest(top.digest, top.bytes);
    const resolved = await resolveManifest(store, { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length }, options.platform, text);
    return await assembleImage(text, 'docker', store, resolved, async () => client.close());
  } catch (error) {
    client.close();
    throw error;
  }
}
