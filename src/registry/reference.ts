import { OciReproError } from '../errors.js';
import { assertDigest } from '../image/digest.js';

/** `registry/repository[:tag][@digest]`, with Docker's defaults applied. */
export interface RegistryReference {
  /** As typed, without `docker://`. */
  text: string;
  /** The registry as users name it: `docker.io`, `127.0.0.1:5000`, `[::1]:5000`, `ghcr.io`. */
  registry: string;
  /** host[:port] the API is served on: `registry-1.docker.io` for Docker Hub, else `registry`. */
  host: string;
  /** `library/alpine`, `team/app`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const dockerHub = 'docker.io';
const dockerHubApiHost = 'registry-1.docker.io';
const dockerHubAliases = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

// The grammar of distribution/reference, spelled out once.
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainPattern = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const pathComponentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const maxNameLength = 255;

function badReference(text: string, cause: string, hint?: string): OciReproError {
  return new OciReproError('BAD_REFERENCE', `docker://${text}: ${cause}`, {
    hint: hint ?? 'a registry reference is docker://[REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST]',
  });
}

/** Docker's rule: the first component names a registry when it has a dot or a port, or is localhost. */
function looksLikeRegistry(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[');
}

/** Parses the part after `docker://`. Errors are usage errors (exit 2). */
export function parseRegistryReference(text: string): RegistryReference {
  if (text === '') throw badReference(text, 'empty reference');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      assertDigest(digest, 'digest');
    } catch {
      throw badReference(text, `invalid digest ${JSON.stringify(digest)}`, 'a digest is sha256: followed by 64 lower-case hex digits');
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/') && colon > rest.lastIndexOf(']')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) {
      throw badReference(text, `invalid tag ${JSON.stringify(tag)}`, 'a tag is up to 128 letters, digits, _, . and -, not starting with . or -');
    }
  }
  const slash = rest.indexOf('/');
  let registry = dockerHub;
  let repository = rest;
  if (slash > 0 && looksLikeRegistry(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
    if (!domainPattern.test(registry)) throw badReference(text, `invalid registry ${JSON.stringify(registry)}`);
  } else if (looksLikeRegistry(rest) && !rest.includes('/')) {
    throw badReference(text, `${JSON.stringify(rest)} names a registry but no repository`);
  }
  if (dockerHubAliases.has(registry.toLowerCase())) registry = dockerHub;
  if (repository === '') throw badReference(text, 'no repository');
  if (repository !== repository.toLowerCase()) throw badReference(text, 'repository names must be lower-case');
  for (const component of repository.split('/')) {
    if (!pathComponentPattern.test(component)) {
      throw badReference(text, `invalid repository name ${JSON.stringify(repository)}`, 'repository components are lower-case letters and digits, separated by ., _, __ or -');
    }
  }
  if (registry === dockerHub && !repository.includes('/')) repository = `library/${repository}`;
  if (registry.length + 1 + repository.length > maxNameLength) throw badReference(text, `name longer than ${maxNameLength} characters`);
  return {
    text,
    registry,
    host: registry === dockerHub ? dockerHubApiHost : registry,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** The tag or digest that names the manifest in `/v2/<name>/manifests/<reference>`: digest wins, else the tag, else latest. */
export function manifestReferenceOf(reference: RegistryReference): string {
  return reference.digest ?? reference.tag ?? 'latest';
}

/** `registry/repository[:tag][@digest]`, fully qualified. */
export function formatRegistryReference(reference: Pick<RegistryReference, 'registry' | 'repository' | 'tag' | 'digest'>): string {
  return `${reference.registry}/${reference.repository}${reference.tag ? `:${reference.tag}` : ''}${reference.digest ? `@${reference.digest}` : ''}`;
}

/** host[:port] without the port, brackets kept off: `127.0.0.1`, `::1`, `localhost`. */
export function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

/** Loopback registries speak plain HTTP when they do not speak TLS, as Docker allows. */
export function isLoopbackHost(host: string): boolean {
  const name = hostnameOf(host).toLowerCase();
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
