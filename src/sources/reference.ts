import { existsSync } from 'node:fs';
import { usageError } from '../errors.js';
import type { Transport } from '../image/image.js';

/** A parsed image reference, in the transport syntax skopeo users know. */
export interface ImageReference {
  /** As the user typed it. */
  text: string;
  /** Undefined for a bare path: the source is detected from the content. */
  transport?: Transport;
  /** File or directory for the local transports; `registry/repo[:tag|@digest]` for docker://; name for the daemon. */
  location: string;
  /** `name:tag` or `@N` in a docker-archive, the tag in an OCI layout. */
  selector?: string;
}

const localTransports: Transport[] = ['docker-archive', 'oci-archive', 'oci'];

/**
 * Splits `PATH[:selector]`. A path may itself hold colons, so the longest prefix that exists on disk
 * wins; with none existing, the first colon splits (the error then names the missing path).
 */
function splitPathAndSelector(rest: string): { location: string; selector?: string } {
  if (existsSync(rest)) return { location: rest };
  for (let at = rest.lastIndexOf(':'); at > 0; at = rest.lastIndexOf(':', at - 1)) {
    const candidate = rest.slice(0, at);
    if (existsSync(candidate)) return { location: candidate, selector: rest.slice(at + 1) || undefined };
  }
  const first = rest.indexOf(':');
  return first < 0 ? { location: rest } : { location: rest.slice(0, first), selector: rest.slice(first + 1) || undefined };
}

export function parseReference(text: string): ImageReference {
  if (text === '') throw usageError('empty image reference');
  if (text.startsWith('docker://')) {
    const location = text.slice('docker://'.length);
    if (!location) throw usageError(`${text}: registry reference without a repository`);
    return { text, transport: 'docker', location };
  }
  if (text.startsWith('docker-daemon:')) {
    const location = text.slice('docker-daemon:'.length);
    if (!location) throw usageError(`${text}: daemon reference without an image name`);
    return { text, transport: 'docker-daemon', location };
  }
  if (text.startsWith('dir:')) {
    // skopeo's dir: has no selector: the whole rest is the path, colons included.
    const location = text.slice('dir:'.length);
    if (!location) throw usageError(`${text}: dir reference without a path`);
    return { text, transport: 'dir', location };
  }
  for (const transport of localTransports) {
    if (text.startsWith(`${transport}:`)) {
      const rest = text.slice(transport.length + 1);
      if (!rest) throw usageError(`${text}: ${transport} reference without a path`);
      return { text, transport, ...splitPathAndSelector(rest) };
    }
  }
  const transportLike = /^([a-z][a-z0-9-]*):/.exec(text);
  if (transportLike && !existsSync(text) && transportLike[1].length > 1) {
    throw usageError(`${text}: unknown transport ${JSON.stringify(transportLike[1])}`, {
      hint: 'use docker-archive:PATH, oci:DIR, oci-archive:PATH, dir:DIR, docker://REGISTRY/REPO or a plain path',
    });
  }
  return { text, location: text };
}
