/**
 * Config normalization: a pure function on the raw config JSON that rewrites the values known to vary
 * between two builds of the same Dockerfile (dates, build-host identifiers, diff_ids) and nothing else.
 *
 * Rules only rewrite values in place: they never add a field that was absent and never delete one, so
 * Docker-only fields (`container_config`, `Healthcheck`, `Shell`, `OnBuild`, ...) and unknown keys
 * survive, and every path listed in `applied` exists in the output.
 */
import { badInput } from '../errors.js';
import type { ImageConfig } from '../image/types.js';
import {
  type ConfigRuleName,
  type NormalizeOptions,
  type RuleName,
  configRuleNames,
  epochToRfc3339,
  isRuleEnabled,
} from './options.js';

/** A rule that changed something, with the RFC 6901 JSON pointers of the values it changed. */
export interface AppliedRule {
  rule: RuleName;
  paths: string[];
}

export interface NormalizedConfig {
  config: ImageConfig;
  applied: AppliedRule[];
}

export interface RuleDescription {
  rule: ConfigRuleName;
  description: string;
}

/** The OCI pre-defined annotation (and label, by convention) holding the build date. */
export const createdAnnotation = 'org.opencontainers.image.created';

const configRuleDescriptions: Readonly<Record<ConfigRuleName, string>> = {
  'config-created': 'set the config `created` date to the epoch',
  'history-created': 'set every `history[].created` date to the epoch',
  'host-fields':
    'blank build-host identifiers: `container`, `Hostname`, `docker_version`, `parent`, `Image`, "FROM <id>" history comments and the `org.opencontainers.image.base.digest` annotation',
  'created-label': `set the \`${createdAnnotation}\` label (config and container_config) and annotation to the epoch`,
  'diff-ids': 'replace `rootfs.diff_ids` with the digests of the normalized layer tars',
};

/** Every config rule with a one-line description, in the order they run (for `--help` and reports). */
export function listConfigRules(): RuleDescription[] {
  return configRuleNames.map((rule) => ({ rule, description: configRuleDescriptions[rule] }));
}

/** Escapes one reference token per RFC 6901 (`~` first, so `/` → `~1` is not re-escaped). */
export function escapePointerToken(token: string | number): string {
  return String(token).replaceAll('~', '~0').replaceAll('/', '~1');
}

export function toJsonPointer(tokens: ReadonlyArray<string | number>): string {
  return tokens.map((token) => `/${escapePointerToken(token)}`).join('');
}

/**
 * buildah `--layers` writes `FROM <short id>` comments naming the intermediate image each step was
 * committed on; those IDs hash the intermediate configs, dates included, so they change on every build.
 */
const intermediateIdComment = /^FROM ([0-9a-f]{12}|[0-9a-f]{64})$/;
/** One fixed form whatever the ID's length; keeping "FROM " shows a reader where an ID was. */
const blankedIdComment = 'FROM 000000000000';

type JsonObject = Record<string, unknown>;

/** Docker's build-container config first, as Docker orders them. */
const runConfigSections = ['container_config', 'config'] as const;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Collects changed paths per rule; `applied` lists rules in run order and only those that changed something. */
class ChangeLog {
  private readonly paths = new Map<RuleName, string[]>();

  record(rule: RuleName, tokens: ReadonlyArray<string | number>): void {
    const list = this.paths.get(rule) ?? [];
    list.push(toJsonPointer(tokens));
    this.paths.set(rule, list);
  }

  /** Sets `object[key]` to `value` if it currently holds a different string; absent or non-string values are left alone. */
  setString(
    rule: RuleName,
    object: JsonObject,
    key: string,
    value: string,
    tokens: ReadonlyArray<string | number>,
  ): void {
    if (!Object.hasOwn(object, key)) return;
    const current = object[key];
    if (typeof current !== 'string' || current === value) return;
    object[key] = value;
    this.record(rule, tokens);
  }

  applied(): AppliedRule[] {
    return [...this.paths].map(([rule, paths]) => ({ rule, paths }));
  }
}

/**
 * Normalizes a parsed image config (OCI or Docker schema). `raw` is not modified.
 *
 * `canonicalDiffIds`, when given, replaces `rootfs.diff_ids`; its length must match the config's list
 * even if the `diff-ids` rule is disabled, because a mismatch means the config and its layers disagree.
 * Config dates are always *set* to the epoch (the set/clamp choice is about layer mtimes): a build
 * date is noise whether or not it is later than the epoch.
 */
export function normalizeConfig(
  raw: ImageConfig,
  canonicalDiffIds: readonly string[] | undefined,
  options: NormalizeOptions,
): NormalizedConfig {
  if (!isObject(raw)) throw badInput('image config: not a JSON object');
  const config = structuredClone(raw) as ImageConfig;
  const log = new ChangeLog();
  const epochDate = epochToRfc3339(options.epoch);
  const enabled = (rule: ConfigRuleName) => isRuleEnabled(options, rule);

  if (canonicalDiffIds !== undefined) checkDiffIdCount(config, canonicalDiffIds);

  if (enabled('config-created')) {
    log.setString('config-created', config, 'created', epochDate, ['created']);
  }

  if (enabled('history-created') && Array.isArray(config.history)) {
    config.history.forEach((entry: unknown, index) => {
      if (isObject(entry)) log.setString('history-created', entry, 'created', epochDate, ['history', index, 'created']);
    });
  }

  if (enabled('host-fields')) normalizeHostFields(config, log);

  if (enabled('created-label')) {
    for (const section of runConfigSections) {
      const runConfig = config[section];
      if (!isObject(runConfig) || !isObject(runConfig.Labels)) continue;
      log.setString('created-label', runConfig.Labels, createdAnnotation, epochDate, [
        section,
        'Labels',
        createdAnnotation,
      ]);
    }
  }

  if (enabled('diff-ids') && canonicalDiffIds !== undefined && canonicalDiffIds.length > 0) {
    // checkDiffIdCount guarantees a list of the same length exists here.
    const diffIds = (config.rootfs as { diff_ids: unknown[] }).diff_ids;
    canonicalDiffIds.forEach((digest, index) => {
      if (diffIds[index] === digest) return;
      diffIds[index] = digest;
      log.record('diff-ids', ['rootfs', 'diff_ids', index]);
    });
  }

  return { config, applied: log.applied() };
}

/**
 * Values that name things on the build machine rather than in the image: blanked to "" (the zero value
 * Docker omits), not deleted, so the field set stays that of the original builder and comparable.
 * `Domainname` is left alone: neither Docker nor buildah fill it from the host (it is "" in every build
 * seen), so a non-empty one was set on purpose and is content.
 */
function normalizeHostFields(config: ImageConfig, log: ChangeLog): void {
  // Docker/buildah: ID of the build container; docker_version: the daemon's version.
  log.setString('host-fields', config, 'container', '', ['container']);
  log.setString('host-fields', config, 'docker_version', '', ['docker_version']);
  // Docker-only: local ID of the previous image in the build chain; it hashes intermediate dates.
  log.setString('host-fields', config, 'parent', '', ['parent']);
  for (const section of runConfigSections) {
    const runConfig = config[section];
    if (!isObject(runConfig)) continue;
    // Hostname is the build container's short ID; Image (classic builder) the intermediate image ID.
    log.setString('host-fields', runConfig, 'Hostname', '', [section, 'Hostname']);
    log.setString('host-fields', runConfig, 'Image', '', [section, 'Image']);
  }
  if (Array.isArray(config.history)) {
    config.history.forEach((entry: unknown, index) => {
      if (!isObject(entry) || typeof entry.comment !== 'string') return;
      if (!intermediateIdComment.test(entry.comment)) return;
      log.setString('host-fields', entry, 'comment', blankedIdComment, ['history', index, 'comment']);
    });
  }
}

function checkDiffIdCount(config: ImageConfig, canonicalDiffIds: readonly string[]): void {
  const rootfs: unknown = config.rootfs;
  const diffIds = isObject(rootfs) ? rootfs.diff_ids : undefined;
  if (diffIds === undefined && canonicalDiffIds.length === 0) return;
  if (!Array.isArray(diffIds)) {
    throw badInput(`image config: rootfs.diff_ids is missing or not a list, but the image has ${canonicalDiffIds.length} layers`, {
      data: { configDiffIds: 0, layers: canonicalDiffIds.length },
    });
  }
  if (diffIds.length !== canonicalDiffIds.length) {
    throw badInput(
      `image config: rootfs.diff_ids lists ${diffIds.length} layers, but the image has ${canonicalDiffIds.length}`,
      {
        hint: 'the config does not belong to these layers; the image is inconsistent',
        data: { configDiffIds: diffIds.length, layers: canonicalDiffIds.length },
      },
    );
  }
}

export interface NormalizedAnnotations {
  annotations: Record<string, string> | undefined;
  applied: AppliedRule[];
}

/**
 * buildah `--layers` writes the manifest digest of the previous step's intermediate image here (not the
 * FROM image's), so it changes on every build, like the "FROM <id>" comments. Blanked as `parent` is.
 */
export const baseDigestAnnotation = 'org.opencontainers.image.base.digest';

/**
 * Applies `host-fields` (the base digest) and `created-label` to manifest or index annotations.
 * `basePointer` is where the annotations sit in their document (`/annotations` for a manifest or index,
 * `/manifests/0/annotations` for a descriptor).
 */
export function normalizeManifestAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
  options: NormalizeOptions,
  basePointer = '/annotations',
): NormalizedAnnotations {
  if (annotations === undefined) return { annotations, applied: [] };
  const copy: Record<string, string> = { ...annotations };
  const applied: AppliedRule[] = [];
  const set = (rule: ConfigRuleName, key: string, value: string) => {
    if (!isRuleEnabled(options, rule) || !Object.hasOwn(copy, key) || copy[key] === value) return;
    copy[key] = value;
    applied.push({ rule, paths: [`${basePointer}${toJsonPointer([key])}`] });
  };
  set('host-fields', baseDigestAnnotation, '');
  set('created-label', createdAnnotation, epochToRfc3339(options.epoch));
  return { annotations: copy, applied };
}
