/**
 * Writing an OutputImage to a destination given in skopeo's reference syntax:
 *
 *   oci:DIR[:TAG]                  an OCI image layout directory
 *   oci-archive:PATH[:TAG]         the same layout as a tar
 *   docker-archive:PATH[:NAME:TAG] a docker save archive in the Docker 25+ form (see docker-archive.ts)
 *   a bare path                    PATH.tar: oci-archive; anything else: an OCI layout directory
 *
 * A bare `.tar` becomes an oci-archive rather than a docker-archive because it is the self-describing,
 * standard form (skopeo, podman, containerd and our own reader all detect it), and it carries no name
 * that a bare path could not give; `docker-archive:` is one word away for `docker load`.
 *
 * Every write is atomic and refuses an existing destination unless `overwrite` is set (atomic.ts).
 */
import { normalize } from 'node:path';
import { usageError, withContext } from '../errors.js';
import { parseReference } from '../sources/reference.js';
import { parseRepoTag, writeDockerArchive } from './docker-archive.js';
import { writeOciArchive, writeOciDirectory } from './oci-layout.js';
import { checkOutputImage, type OutputImage } from './output-image.js';

export type OutputFormat = 'oci' | 'oci-archive' | 'docker-archive';

export interface WriteOptions {
  /** The tag, when the destination does not carry one; both given must agree. */
  tag?: string;
  /** Replace an existing archive file or OCI layout (never merged into, never any other directory). */
  overwrite?: boolean;
}

export interface WriteResult {
  /** A reference to what was written, readable by `loadImage` and by skopeo. */
  reference: string;
  format: OutputFormat;
}

export interface OutputDestination {
  format: OutputFormat;
  path: string;
  /** For oci and oci-archive the ref name; for docker-archive `name:tag` in Docker's familiar form. */
  tag?: string;
}

// The OCI image layout's grammar for org.opencontainers.image.ref.name.
const refComponent = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const refNamePattern = new RegExp(`^${refComponent}(?:/${refComponent})*$`);

/** Strips trailing slashes, so the temp path `DEST.tmp-...` lands beside DEST and not inside it. */
function cleanPath(path: string): string {
  const normalized = normalize(path);
  return normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
}

/** Where and how `destination` says to write, with the tag checked for the format. */
export function parseDestination(destination: string, options: WriteOptions = {}): OutputDestination {
  const reference = parseReference(destination);
  let format: OutputFormat;
  switch (reference.transport) {
    case 'docker':
    case 'docker-daemon':
    case 'dir':
      throw usageError(`${destination}: writing to ${reference.transport} is not supported`, {
        hint: 'write oci:DIR or docker-archive:PATH, then push or load it with skopeo copy or docker load',
      });
    case undefined:
      if (/\.(tgz|tar\.[A-Za-z0-9]+)$/.test(reference.location)) {
        throw usageError(`${destination}: compressed archives are not written`, {
          hint: 'name the output .tar (an oci-archive) or use docker-archive:PATH',
        });
      }
      format = reference.location.endsWith('.tar') ? 'oci-archive' : 'oci';
      break;
    default:
      format = reference.transport;
  }
  const path = cleanPath(reference.location);
  const given = reference.selector;
  if (given !== undefined && options.tag !== undefined && given !== options.tag) {
    throw usageError(`${destination}: names tag ${JSON.stringify(given)} but the tag option says ${JSON.stringify(options.tag)}`);
  }
  const tag = given ?? options.tag;
  if (tag === undefined) return { format, path };
  if (format === 'docker-archive') return { format, path, tag: parseRepoTag(tag).familiar };
  if (!refNamePattern.test(tag)) {
    throw usageError(`${destination}: ${JSON.stringify(tag)} is not a valid tag for an OCI layout`, {
      hint: 'letters, digits and . _ - : @ + between them, for example latest or v1.0',
    });
  }
  return { format, path, tag };
}

/** The reference of what was written, in the syntax `loadImage` and skopeo read. */
function referenceOf(destination: OutputDestination): string {
  const base = `${destination.format}:${destination.path}`;
  return destination.tag === undefined ? base : `${base}:${destination.tag}`;
}

/**
 * Writes `image` to `destination` atomically: all of it, or nothing at the destination or beside it.
 * The model is checked first (manifest, config and layers form one chain); layer files are checked
 * against their digest and size as they are copied (a `temporary` one that a layout directory links
 * instead: its size only).
 */
export async function writeImage(
  destination: string,
  image: OutputImage,
  options: WriteOptions = {},
): Promise<WriteResult> {
  try {
    const target = parseDestination(destination, options);
    checkOutputImage(image);
    const writeOptions = { tag: target.tag, overwrite: options.overwrite ?? false };
    switch (target.format) {
      case 'oci':
        await writeOciDirectory(target.path, image, writeOptions);
        break;
      case 'oci-archive':
        await writeOciArchive(target.path, image, writeOptions);
        break;
      case 'docker-archive':
        await writeDockerArchive(target.path, image, writeOptions);
        break;
    }
    return { reference: referenceOf(target), format: target.format };
  } catch (error) {
    throw withContext(`writing ${destination}`, error);
  }
}
