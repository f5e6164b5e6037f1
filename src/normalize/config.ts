/**
 * Config normalization: a pure function on the raw config JSON that rewrites the values known to vary
 * between two builds of the same Dockerfile (dates, build-host identifiers, diff_ids) and the spelling
 * that varies between writers of the same image (zero values or absent keys, Docker's build-container
 * state), and nothing else.
 *
 * Most rules rewrite values in place. `container-config` and `empty-values` delete keys (never array
 * elements, so indexes such as `/history/3` keep their meaning); no rule adds a key. A path listed in
 * `applied` may therefore be absent from the output: the comparer treats "absent on both sides" as
 * agreement. Docker-only fields with content (`Healthcheck`, `Shell`, `OnBuild: [...]`) and unknown
 * keys survive.
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
  'container-config':
    "drop Docker's `container_config` (the build container's config, builder state, not the image's; OCI has no such field)",
  'empty-values':
    'drop keys holding a zero value (`""`, `false`, `null`, `{}`, `[]`) at the top level, in `config`/`container_config` and in history entries, an empty `rootfs.diff_ids` and empty base-image annotations: Go writers omit them (omitempty), OCI and Docker differently, and runtimes read both alike',
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

  /** Deletes `object[key]` if it holds a value `drop` accepts. */
  deleteIf(
    rule: RuleName,
    object: JsonObject,
    key: string,
    drop: (value: unknown) => boolean,
    tokens: ReadonlyArray<string | number>,
  ): void {
    if (!Object.hasOwn(object, key) || !drop(object[key])) return;
    delete object[key];
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

  if (enabled('container-config')) log.deleteIf('container-config', config, 'container_config', () => true, ['container_config']);

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

  if (enabled('empty-values')) dropEmptyValues(config, log);

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
 * Values that name things on the build machine rather than in the image: blanked to "", the zero value
 * Docker omits (`empty-values` then drops the key, so a side that never had it agrees).
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

/**
 * A JSON zero value: what Go's `omitempty` leaves out. Numbers are not among them here: a field that
 * holds a number at these levels may mean something at 0 (Docker's `StopTimeout: 0` is "stop at once",
 * absent is the default of 10 s), so 0 and absent stay different.
 */
export function isZeroValue(value: unknown): boolean {
  if (value === '' || value === false || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.keys(value).length === 0;
}

/**
 * `empty-values`: zero values and absence are one thing to every runtime. The image-spec says absent
 * config fields take their defaults, and Docker's defaults are Go's zero values; which of them a
 * writer spells out depends only on its struct tags (Docker writes `"User": ""`, `"Tty": false`,
 * `"OnBuild": []`; the OCI structs omit them; skopeo's docker->OCI conversion drops them; Docker
 * omits an empty `rootfs.diff_ids`, Go's OCI types write `null` or `[]`). So a key is dropped when the
 * field itself holds a zero value, at the levels whose keys are fields: the config's top level, the
 * run-config objects and history entries (`empty_layer: false`, `comment: ""`). Never inside a field's
 * content, where empty is a value: an `Env` element "", a label set to "" (`LABEL a=""` sets a; a
 * present key is not an absent one), `ExposedPorts`/`Volumes` map values (`{}` by design), and never
 * inside `Healthcheck` (its 0 durations mean "inherit", a meaning of their own). A run-config left
 * empty is then dropped too, as a writer that never had anything to put there would.
 */
function dropEmptyValues(config: ImageConfig, log: ChangeLog): void {
  const record = config as JsonObject;
  for (const section of runConfigSections) {
    const runConfig = record[section];
    if (!isObject(runConfig)) continue;
    for (const key of Object.keys(runConfig)) log.deleteIf('empty-values', runConfig, key, isZeroValue, [section, key]);
  }
  if (Array.isArray(config.history)) {
    config.history.forEach((entry: unknown, index) => {
      if (!isObject(entry)) return;
      for (const key of Object.keys(entry)) log.deleteIf('empty-values', entry, key, isZeroValue, ['history', index, key]);
    });
  }
  const rootfs = record.rootfs;
  if (isObject(rootfs)) log.deleteIf('empty-values', rootfs, 'diff_ids', isZeroValue, ['rootfs', 'diff_ids']);
  for (const key of Object.keys(record)) log.deleteIf('empty-values', record, key, isZeroValue, [key]);
}

function checkDiffIdCount(config: ImageConfig, canonicalDiffIds: readonly string[]): void {
  const rootfs: unknown = config.rootfs;
  const diffIds = isObject(rootfs) ? rootfs.diff_ids : undefined;
  // Docker omits diff_ids for an image without layers; Go's OCI types write null.
  if ((diffIds === undefined || diffIds === null) && canonicalDiffIds.length === 0) return;
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
const baseImageAnnotations = [baseDigestAnnotation, 'org.opencontainers.image.base.name'] as const;

/**
 * Applies `host-fields` (the base digest), `created-label` and `empty-values` (empty base-image
 * annotations) to manifest or index annotations.
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
  // buildah writes the base-image annotations empty for FROM scratch, where a docker-archive has no
  // manifest to carry them: "" names no base, as absence does. Other annotations are user content.
  if (isRuleEnabled(options, 'empty-values')) {
    for (const key of baseImageAnnotations) {
      if (copy[key] !== '') continue;
      delete copy[key];
      applied.push({ rule: 'empty-values', paths: [`${basePointer}${toJsonPointer([key])}`] });
    }
  }
  return { annotations: copy, applied };
}
