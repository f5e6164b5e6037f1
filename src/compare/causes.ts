/**
 * The causes catalogue: what makes two builds of one Dockerfile differ, and the fix a user applies.
 * It is data; `explainDifferences` walks it in order and the first entry that matches a difference
 * names its cause, so specific entries come before generic ones. A difference that no entry matches
 * keeps `cause: null`: unknown differences are shown as unknown, never hidden.
 */
import { isZeroValue } from '../normalize/config.js';
import type { Difference, DifferenceKind, FileAttribute } from '../report/model.js';

/** What a catalogue entry matches. Every criterion given must hold; one about a field the difference lacks fails. */
export interface CauseMatch {
  kinds?: readonly DifferenceKind[];
  /** The attribute of a `file-attribute` difference. */
  attributes?: readonly FileAttribute[];
  /** The xattr or pax key (`key`), exactly. */
  keys?: readonly string[];
  /** Globs (`*`, `**`, `?`) on the file path inside the layer or flattened filesystem, see `matchGlob`. */
  pathGlobs?: readonly string[];
  /** Globs on the JSON pointer of a config or manifest difference: `/history/*\/created`. */
  pointerPatterns?: readonly string[];
  /** Both values are strings matching this regular expression (anchored by the pattern itself). */
  valuePattern?: string;
  /** Both values are file modes that differ only in these permission bits. */
  modeBits?: number;
  /**
   * Both values are strings that differ only where this regular expression matches (every match,
   * as with the g flag): equal once each match is blanked, and each has at least one match.
   */
  differsOnlyIn?: string;
  /**
   * Both values are JSON zero values (`""`, `false`, `null`, `{}`, `[]`; an absent value is `null`
   * in a difference): one writer spelled out what the other omitted.
   */
  zeroValues?: boolean;
  /** Exactly one of the values is absent (`null` in a difference): the field is on one side only. */
  oneSideAbsent?: boolean;
}

export interface CauseEntry {
  /** Stable, kebab-case; policy files name causes by it. */
  id: string;
  title: string;
  /** The fix, as a user would apply it. */
  hint: string;
  /** One match, or several of which any may hold. */
  match: CauseMatch | readonly CauseMatch[];
}

// Runtime lists of the model's closed sets; a Record keyed by the type fails to compile if one is missing.
const kindSet: Record<DifferenceKind, true> = {
  'config-field': true,
  'manifest-field': true,
  'layer-count': true,
  'layer-compression': true,
  'layer-tar': true,
  'entry-order': true,
  'tar-dialect': true,
  'file-added': true,
  'file-removed': true,
  'file-attribute': true,
};
export const differenceKinds = Object.keys(kindSet) as DifferenceKind[];

const attributeSet: Record<FileAttribute, true> = {
  type: true,
  content: true,
  size: true,
  mode: true,
  uid: true,
  gid: true,
  uname: true,
  gname: true,
  mtime: true,
  atime: true,
  ctime: true,
  linkname: true,
  xattr: true,
  device: true,
  pax: true,
};
export const fileAttributes = Object.keys(attributeSet) as FileAttribute[];

const dateFix =
  'pin build dates to the source: BuildKit `--build-arg SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)` ' +
  '(BuildKit 0.11+; buildx also passes a SOURCE_DATE_EPOCH environment variable on), ' +
  'buildah `--timestamp $(git log -1 --format=%ct)`; normalization removes it';

/**
 * A file whose content is rewritten by every build: matched when it is added, removed, or its content
 * or size differ. Its times and owner names are left to the generic entries, whose fix covers every file.
 */
function volatileFiles(pathGlobs: readonly string[]): CauseMatch[] {
  return [
    { kinds: ['file-added', 'file-removed'], pathGlobs },
    { kinds: ['file-attribute'], attributes: ['content', 'size'], pathGlobs },
  ];
}

const createdLabel = 'org.opencontainers.image.created';

/** Ordered: the first entry that matches wins, so specific entries come before generic ones. */
export const causeCatalogue: readonly CauseEntry[] = [
  // --- config and manifest ---------------------------------------------------------------------
  {
    id: 'config-created',
    title: 'build date in the config `created` field',
    hint: dateFix,
    match: { kinds: ['config-field'], pointerPatterns: ['/created'] },
  },
  {
    id: 'history-created',
    title: 'build dates in the config history',
    hint: dateFix,
    match: { kinds: ['config-field'], pointerPatterns: ['/history/*/created'] },
  },
  {
    id: 'created-label',
    title: `build date in the ${createdLabel} label or annotation`,
    hint:
      'derive it from the commit, not the clock: ' +
      '`--label org.opencontainers.image.created=$(date -u -d @$SOURCE_DATE_EPOCH +%Y-%m-%dT%H:%M:%SZ)`; ' +
      'normalization removes it',
    match: [
      {
        kinds: ['config-field'],
        pointerPatterns: [`/config/Labels/${createdLabel}`, `/container_config/Labels/${createdLabel}`],
      },
      {
        kinds: ['manifest-field'],
        pointerPatterns: [`/annotations/${createdLabel}`, `/manifests/*/annotations/${createdLabel}`],
      },
    ],
  },
  {
    id: 'builder-version',
    title: 'different builder versions',
    hint: 'build both images with the same builder version (pin the buildah package or the BuildKit image)',
    match: {
      kinds: ['config-field'],
      pointerPatterns: ['/docker_version', '/config/Labels/io.buildah.version', '/container_config/Labels/io.buildah.version'],
    },
  },
  {
    id: 'host-fields',
    title: 'build-host identifiers (build container ID, hostname, intermediate image IDs)',
    hint:
      'they name the build machine, not the image: nothing to change in the Dockerfile; ' +
      'BuildKit does not write them, buildah and the classic builder do; normalization removes them',
    match: [
      {
        kinds: ['config-field'],
        pointerPatterns: ['/container', '/parent', '/config/Hostname', '/container_config/Hostname', '/config/Image', '/container_config/Image'],
      },
      // buildah --layers: "FROM <id>" names the intermediate image, whose ID hashes its dates.
      { kinds: ['config-field'], pointerPatterns: ['/history/*/comment'], valuePattern: '^FROM [0-9a-f]{12,64}$' },
      // buildah --layers: the base digest names the previous step's intermediate image.
      {
        kinds: ['manifest-field'],
        pointerPatterns: ['/annotations/org.opencontainers.image.base.digest', '/manifests/*/annotations/org.opencontainers.image.base.digest'],
      },
    ],
  },
  {
    id: 'format-conversion',
    title: 'fields Docker writes and OCI omits (a format conversion, not a rebuild)',
    hint:
      'harmless: zero values (`"User": ""`, `"Tty": false`, `"OnBuild": []`) and absent fields mean the same to every runtime, ' +
      "and `container_config` is the build container's config, not the image's; Docker-format images spell them out, " +
      'OCI images and docker->OCI conversions (skopeo copy, a registry push) omit them; normalization removes them',
    match: [
      { kinds: ['config-field'], pointerPatterns: ['/container_config', '/container_config/**'] },
      // Where `empty-values` drops zero values: fields, never a field's content (`/config/Labels/x`).
      {
        kinds: ['config-field'],
        pointerPatterns: ['/*', '/config/*', '/history/*/*', '/rootfs/diff_ids'],
        zeroValues: true,
      },
      {
        kinds: ['manifest-field'],
        pointerPatterns: ['/annotations/org.opencontainers.image.base.{digest,name}', '/manifests/*/annotations/org.opencontainers.image.base.{digest,name}'],
        zeroValues: true,
      },
    ],
  },
  {
    id: 'docker-only-field',
    title: 'a Docker-only config field on one side only (an OCI conversion drops it)',
    hint:
      'OCI configs have no place for HEALTHCHECK, SHELL, ONBUILD or a stop timeout, so converting a Docker-format image ' +
      'to OCI (skopeo copy, a push as OCI) loses them: compare the Docker-format images, or keep both sides in one format; ' +
      'if neither was converted, the Dockerfiles differ in this instruction',
    match: {
      kinds: ['config-field'],
      pointerPatterns: ['/config/{Healthcheck,Shell,OnBuild,StopTimeout}'],
      oneSideAbsent: true,
    },
  },
  {
    id: 'copied-content',
    title: "a COPY/ADD step's content hash changed because the files it copies changed",
    hint:
      'the step itself is the same; see the file differences of the layer this step made ' +
      '(the builder names copied content by its hash, as in `COPY file:<hash> in /`)',
    // The classic builder and buildah write `file:<hex>`, `dir:<hex>` or `multi:<hex>`.
    match: { kinds: ['config-field'], pointerPatterns: ['/history/*/created_by'], differsOnlyIn: '\\b(?:file|dir|multi):[0-9a-f]{8,}\\b' },
  },
  {
    id: 'dockerfile-changed',
    title: 'a Dockerfile step differs (the Dockerfile or its build args changed)',
    hint:
      'build both from the same Dockerfile and build args, and the same base image (pin `FROM` by digest: ' +
      "the base image's own steps are in the history too); if the change is intended, this is not a rebuild",
    // After copied-content: a step whose text differs beyond a content hash, or a step only one build has
    // (`/history/5` whole). Not `empty_layer` alone: the same step may make a layer in one build only
    // (BuildKit marks a RUN that changed nothing empty), which is not a Dockerfile change.
    match: { kinds: ['config-field'], pointerPatterns: ['/history/*', '/history/*/created_by'] },
  },
  {
    id: 'layer-diff-ids',
    title: 'layer diff_ids in the config (they follow from the layer differences)',
    hint: 'fix the layer differences listed for these layers; the config only records their digests',
    match: { kinds: ['config-field'], pointerPatterns: ['/rootfs/diff_ids', '/rootfs/diff_ids/*'] },
  },

  // --- whole layers ----------------------------------------------------------------------------
  {
    id: 'layer-count',
    title: 'the builds made different numbers of layers',
    hint:
      'look for a Dockerfile step that creates a layer in only one build (a step that differs or runs conditionally), ' +
      'or different layer settings (buildah `--layers`, `--squash`, BuildKit or classic builder squash); ' +
      'the files are compared on the flattened filesystems',
    match: { kinds: ['layer-count'] },
  },
  {
    id: 'layer-compression',
    title: 'same layer tar, compressed differently (compressor, level or gzip header)',
    hint:
      'compress with one tool and one setting on both sides (BuildKit: `compression=gzip,compression-level=N,force-compression=true`); ' +
      'the canonical digest does not depend on compression',
    match: { kinds: ['layer-compression'] },
  },
  {
    id: 'entry-order',
    title: 'tar entries in a different order',
    hint:
      'the builder writes entries in the order it walks its storage: nothing to change in the Dockerfile; ' +
      'normalization sorts entries by path',
    match: { kinds: ['entry-order'] },
  },
  {
    id: 'tar-dialect',
    title: 'tar format differences (ustar, pax or GNU headers)',
    hint: 'different tools or versions wrote the tars: build both with the same builder version; normalization writes one dialect',
    match: [
      { kinds: ['tar-dialect'] },
      // pax records that only re-encode what a ustar header holds, or a tar tool's inode bookkeeping.
      {
        kinds: ['file-attribute'],
        attributes: ['pax'],
        keys: ['path', 'linkpath', 'size', 'uid', 'gid', 'SCHILY.dev', 'SCHILY.ino', 'SCHILY.nlink', 'GNU.sparse.major', 'GNU.sparse.minor'],
      },
      // Go writers put the file-type bits (S_IFREG 0100000, S_IFDIR 040000, ...) in the mode field.
      { kinds: ['file-attribute'], attributes: ['mode'], modeBits: 0o7770000 },
    ],
  },
  {
    id: 'tar-noise',
    title: 'tar header noise only (the layers are equal after normalization)',
    hint:
      'diff_ids differ but the normalized tars are equal: set file times with BuildKit `rewrite-timestamp=true` ' +
      'or buildah `--timestamp`, or push what `oci-repro normalize` writes',
    match: { kinds: ['layer-tar'] },
  },

  // --- file metadata that every file carries ---------------------------------------------------
  {
    id: 'file-mtime',
    title: 'file modification times differ',
    hint:
      'BuildKit: `--build-arg SOURCE_DATE_EPOCH=N --output type=image,rewrite-timestamp=true` (BuildKit 0.13+); ' +
      'buildah 1.28: `--timestamp N` sets the times of new layers (buildah 1.41+ also has ' +
      '`--source-date-epoch N --rewrite-timestamp`); or normalize with `oci-repro normalize`',
    match: [
      { kinds: ['file-attribute'], attributes: ['mtime'] },
      { kinds: ['file-attribute'], attributes: ['pax'], keys: ['mtime'] },
    ],
  },
  {
    id: 'extra-times',
    title: 'access and change times recorded in pax headers',
    hint: 'written by tar tools in pax mode (GNU tar --posix, some builders); normalization drops them',
    match: [
      { kinds: ['file-attribute'], attributes: ['atime', 'ctime'] },
      { kinds: ['file-attribute'], attributes: ['pax'], keys: ['atime', 'ctime', 'LIBARCHIVE.creationtime'] },
    ],
  },
  {
    id: 'owner-names',
    title: 'owner and group names looked up on the build host',
    hint:
      "names come from the builder's passwd and group files; the uid and gid are what count. " +
      'With GNU tar use `--numeric-owner`; normalization blanks the names',
    match: [
      { kinds: ['file-attribute'], attributes: ['uname', 'gname'] },
      { kinds: ['file-attribute'], attributes: ['pax'], keys: ['uname', 'gname'] },
    ],
  },
  {
    id: 'umask-mode',
    title: 'group or other write permission differs (the umask of the checkout)',
    hint:
      'COPY keeps the modes of the build context, which follow the umask of the git checkout: ' +
      'run `umask 022` before checking out in CI, or use `COPY --chmod=...`',
    // Also when one side's writer added file-type bits besides (see tar-dialect).
    match: { kinds: ['file-attribute'], attributes: ['mode'], modeBits: 0o7770022 },
  },

  // --- files rewritten by every build (specific paths first) -----------------------------------
  {
    id: 'apt-logs',
    title: 'apt and dpkg logs',
    hint:
      'delete them in the same RUN as apt-get: ' +
      '`rm -rf /var/log/apt/* /var/log/dpkg.log /var/log/alternatives.log`',
    match: volatileFiles(['var/log/apt/**', 'var/log/dpkg.log', 'var/log/alternatives.log']),
  },
  {
    id: 'apt-lists',
    title: 'apt package lists from `apt-get update`',
    hint: 'remove them in the same RUN as `apt-get update`: `rm -rf /var/lib/apt/lists/*`',
    match: volatileFiles(['var/lib/apt/lists/**']),
  },
  {
    id: 'apt-cache',
    title: 'apt package caches and downloaded packages',
    hint: 'run `apt-get clean` (or `rm -f /var/cache/apt/*.bin`) in the same RUN as apt-get install',
    match: volatileFiles(['var/cache/apt/*.bin', 'var/cache/apt/archives/**']),
  },
  {
    id: 'debconf-backups',
    title: 'debconf backup files (`*-old`)',
    hint: 'remove them in the same RUN as apt-get install: `rm -f /var/cache/debconf/*-old`',
    match: volatileFiles(['var/cache/debconf/*-old']),
  },
  {
    id: 'ldconfig-aux-cache',
    title: 'ldconfig auxiliary cache (records inode numbers and times of libraries)',
    hint: 'remove it in the same RUN that installs libraries: `rm -f /var/cache/ldconfig/aux-cache`',
    match: volatileFiles(['var/cache/ldconfig/aux-cache']),
  },
  {
    id: 'man-db-cache',
    title: 'man-db index caches',
    hint: 'remove them in the same RUN as apt-get install: `rm -rf /var/cache/man/*`',
    match: volatileFiles(['var/cache/man/**']),
  },
  {
    id: 'shadow-last-change',
    title: 'the "last password change" day in /etc/shadow is the build day',
    hint:
      'export SOURCE_DATE_EPOCH in the RUN that adds users (shadow 4.6+ uses it for that day), ' +
      'or pin the day in the same RUN: `chage -d 2024-01-01 USER`',
    match: volatileFiles(['etc/shadow', 'etc/shadow-']),
  },
  {
    id: 'machine-id',
    title: 'a machine ID generated during the build',
    hint: 'empty it in the same RUN that creates it: `: > /etc/machine-id; rm -f /var/lib/dbus/machine-id`',
    match: volatileFiles(['etc/machine-id', 'var/lib/dbus/machine-id']),
  },
  {
    id: 'wget-hsts',
    title: 'wget HSTS database (records when hosts were seen)',
    hint: 'use `wget --no-hsts`, or `rm -f /root/.wget-hsts` in the same RUN',
    match: volatileFiles(['root/.wget-hsts']),
  },
  {
    id: 'pip-cache',
    title: 'pip download and wheel cache',
    hint: 'use `pip install --no-cache-dir` (or PIP_NO_CACHE_DIR=1), or a cache mount: `RUN --mount=type=cache,target=/root/.cache/pip`',
    match: volatileFiles(['root/.cache/pip/**']),
  },
  {
    id: 'npm-cache',
    title: 'npm cache',
    hint: 'run `npm cache clean --force` in the same RUN, or keep it on a cache mount: `RUN --mount=type=cache,target=/root/.npm`',
    match: volatileFiles(['root/.npm/**']),
  },
  {
    id: 'pyc-header',
    title: 'Python bytecode (.pyc) headers record source file times',
    hint:
      'export SOURCE_DATE_EPOCH in the RUN that compiles (Python then writes hash-based .pyc files), ' +
      'or compile with `python -m compileall --invalidation-mode checked-hash`, or set PYTHONDONTWRITEBYTECODE=1',
    match: volatileFiles(['**/__pycache__/*.pyc', '*.pyc']),
  },
  {
    id: 'tmp-files',
    title: 'temporary files left in /tmp or /var/tmp',
    hint: 'clean up in the same RUN (`rm -rf /tmp/* /var/tmp/*`), or use a tmpfs mount: `RUN --mount=type=tmpfs,target=/tmp`',
    match: volatileFiles(['tmp/**', 'var/tmp/**']),
  },
  {
    id: 'log-files',
    title: 'log files written during the build',
    hint: "delete logs in the RUN that writes them, or send the tool's log to /dev/null",
    match: volatileFiles(['var/log/**']),
  },

  // --- the base image ----------------------------------------------------------------------------
  // verify --base/--base-layers also names this cause itself for every difference in the kept base
  // layers and the base's history entries, when the two builds' base layers differ.
  {
    id: 'base-image',
    title: 'the base image changed (a newer tag was pulled)',
    hint:
      'pin the base by digest (`FROM name@sha256:...`) so every build starts from the same layers; ' +
      'normalize and verify with --base REF keep the base layers as they are',
    match: [
      {
        kinds: ['manifest-field'],
        pointerPatterns: ['/annotations/org.opencontainers.image.base.name', '/manifests/*/annotations/org.opencontainers.image.base.name'],
      },
      // buildah's "FROM <base name>" comment on the first step after FROM (IDs are host-fields, above).
      { kinds: ['config-field'], pointerPatterns: ['/history/*/comment'], valuePattern: '^FROM \\S+$' },
    ],
  },
];

/** The catalogue entry of a cause id, or undefined. */
export function findCauseEntry(id: string): CauseEntry | undefined {
  return causeIndex.get(id);
}

const causeIndex = new Map(causeCatalogue.map((entry) => [entry.id, entry]));

/** The first catalogue entry matching the difference, or null. */
export function matchCause(difference: Difference, catalogue: readonly CauseEntry[] = causeCatalogue): CauseEntry | null {
  for (const entry of catalogue) {
    const matches = Array.isArray(entry.match) ? entry.match : [entry.match as CauseMatch];
    if (matches.some((match) => matchesDifference(match, difference))) return entry;
  }
  return null;
}

/**
 * Fills `cause` and `hint` of each difference from the first matching catalogue entry. Returns new
 * objects; a difference that already has a cause keeps it, and one that matches nothing keeps null.
 */
export function explainDifferences(
  differences: readonly Difference[],
  catalogue: readonly CauseEntry[] = causeCatalogue,
): Difference[] {
  return differences.map((difference) => explainDifference({ ...difference }, catalogue));
}

/**
 * `explainDifferences` for one difference the caller owns: fills its `cause` and `hint` in place (no
 * copy, for the comparer's fresh objects, of which there may be 100,000) and returns it.
 */
export function explainDifference(difference: Difference, catalogue: readonly CauseEntry[] = causeCatalogue): Difference {
  if (difference.cause !== null) return difference;
  const entry = matchCause(difference, catalogue);
  if (!entry) return difference;
  difference.cause = { id: entry.id, title: entry.title };
  difference.hint = entry.hint;
  return difference;
}

function matchesDifference(match: CauseMatch, difference: Difference): boolean {
  if (match.kinds && !match.kinds.includes(difference.kind)) return false;
  if (match.attributes && (difference.attribute === undefined || !match.attributes.includes(difference.attribute))) {
    return false;
  }
  if (match.keys && (difference.key === undefined || !match.keys.includes(difference.key))) return false;
  if (match.pathGlobs) {
    if (difference.file === undefined) return false;
    const file = difference.file;
    if (!match.pathGlobs.some((glob) => matchGlob(glob, file))) return false;
  }
  if (match.pointerPatterns) {
    if (difference.kind !== 'config-field' && difference.kind !== 'manifest-field') return false;
    if (!match.pointerPatterns.some((pattern) => matchGlob(pattern, difference.path))) return false;
  }
  if (match.valuePattern !== undefined) {
    const pattern = compiledPattern(match.valuePattern);
    if (typeof difference.a !== 'string' || typeof difference.b !== 'string') return false;
    if (!pattern.test(difference.a) || !pattern.test(difference.b)) return false;
  }
  if (match.differsOnlyIn !== undefined) {
    if (typeof difference.a !== 'string' || typeof difference.b !== 'string' || difference.a === difference.b) return false;
    const pattern = compiledPattern(match.differsOnlyIn, 'g');
    const blank = (value: string) => value.replace(pattern, '\u0000');
    if (!pattern.test(difference.a)) return false;
    pattern.lastIndex = 0;
    if (blank(difference.a) !== blank(difference.b)) return false;
  }
  if (match.zeroValues === true && !(isZeroValue(difference.a) && isZeroValue(difference.b))) return false;
  if (match.oneSideAbsent === true && (difference.a === null) === (difference.b === null)) return false;
  if (match.modeBits !== undefined) {
    const a = parseMode(difference.a);
    const b = parseMode(difference.b);
    if (a === null || b === null || a === b) return false;
    if (((a ^ b) & ~match.modeBits) !== 0) return false;
  }
  return true;
}

const patternCache = new Map<string, RegExp>();
function compiledPattern(source: string, flags = ''): RegExp {
  const key = `${flags}/${source}`;
  let pattern = patternCache.get(key);
  if (!pattern) {
    pattern = new RegExp(source, flags);
    patternCache.set(key, pattern);
  }
  pattern.lastIndex = 0;
  return pattern;
}

/** A mode as a number: the comparer may give a number or an octal string such as "0644". */
export function parseMode(value: unknown): number | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^0?o?[0-7]{1,7}$/.test(value)) return Number.parseInt(value.replace(/^0?o?/, ''), 8);
  return null;
}

/**
 * Matches a path against a glob, segment by segment:
 * - `*` matches any characters within one segment, `?` one character (never `/`);
 * - `[abc]`, `[a-z]` and `[!x]` (or `[^x]`) match one character of a class (never `/`); a `]` first
 *   in the class is a member, so `[[]` and `[]]` match a literal bracket;
 * - `{a,b}` matches either alternative (no nesting; alternatives may hold `/`); `[{]` is a literal `{`;
 * - a `**` segment matches zero or more whole segments, so `tmp/**` also matches the directory `tmp`
 *   itself (its mtime changes when its contents do);
 * - a pattern (alternative) without any `/` matches the last segment at any depth (`*.pyc`), as in
 *   .gitignore; any other pattern is anchored at the root.
 * Leading `/` and `./` and a trailing `/` (directory entries) are ignored on both sides, so the
 * same matcher serves file paths and JSON pointers (`/history/*\/created`).
 * An unbalanced `[` or `{` is a usage error (see `checkGlob`), never a silent literal.
 */
export function matchGlob(pattern: string, path: string): boolean {
  const pathSegments = splitPath(path);
  return expandGlob(pattern).some((alternative) => {
    const patternSegments = splitPath(alternative);
    if (!alternative.includes('/')) {
      const last = pathSegments.at(-1);
      return last !== undefined && patternSegments.length === 1 && matchSegment(patternSegments[0] ?? '', last);
    }
    return matchSegments(patternSegments, pathSegments);
  });
}

/** Why a glob cannot be used (`unbalanced "[" at offset 4`), or null when it is valid. */
export function checkGlob(pattern: string): string | null {
  try {
    for (const alternative of expandGlob(pattern)) for (const segment of splitPath(alternative)) segmentRegex(segment);
    return null;
  } catch (error) {
    if (error instanceof GlobError) return error.message;
    throw error;
  }
}

class GlobError extends Error {}

/** More alternatives than this is a mistake (`{a,b}` ten times over is 1024 patterns). */
const maxAlternatives = 256;
const expansionCache = new Map<string, string[]>();

/** The brace alternatives of a glob: `{a,b}/*.{c,d}` gives four patterns. */
function expandGlob(pattern: string): string[] {
  let alternatives = expansionCache.get(pattern);
  if (!alternatives) {
    alternatives = expandBraces(pattern, pattern);
    if (expansionCache.size > 1000) expansionCache.clear();
    expansionCache.set(pattern, alternatives);
  }
  return alternatives;
}

function expandBraces(pattern: string, original: string): string[] {
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index];
    if (char === '[') {
      index = classEnd(pattern, index, original);
      continue;
    }
    if (char !== '{') continue;
    // One brace group: split at its commas, skipping character classes (`{[,]x,y}`).
    const options: string[] = [];
    let from = index + 1;
    let end = -1;
    for (let scan = from; scan < pattern.length; scan++) {
      const inner = pattern[scan];
      if (inner === '[') scan = classEnd(pattern, scan, original);
      else if (inner === '{') throw new GlobError(`nested "{" in ${JSON.stringify(original)} (braces do not nest)`);
      else if (inner === ',' || inner === '}') {
        options.push(pattern.slice(from, scan));
        from = scan + 1;
        if (inner === '}') {
          end = scan;
          break;
        }
      }
    }
    if (end < 0) throw new GlobError(`unbalanced "{" in ${JSON.stringify(original)} (no closing "}")`);
    const head = pattern.slice(0, index);
    const tail = pattern.slice(end + 1);
    const expanded: string[] = [];
    for (const option of options) {
      for (const rest of expandBraces(tail, original)) {
        expanded.push(`${head}${option}${rest}`);
        if (expanded.length > maxAlternatives) {
          throw new GlobError(`${JSON.stringify(original)} expands to more than ${maxAlternatives} alternatives`);
        }
      }
    }
    return expanded;
  }
  return [pattern];
}

/** The index of the `]` closing the class opened at `open`; a class never spans a `/`. */
function classEnd(pattern: string, open: number, original: string): number {
  let index = open + 1;
  if (pattern[index] === '!' || pattern[index] === '^') index++;
  if (pattern[index] === ']') index++;
  for (; index < pattern.length; index++) {
    if (pattern[index] === ']') return index;
    if (pattern[index] === '/') break;
  }
  throw new GlobError(`unbalanced "[" in ${JSON.stringify(original)} (no closing "]" in the same path segment)`);
}

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

/** Dynamic programming over (pattern, path) positions: linear in their product, no backtracking blow-up. */
function matchSegments(pattern: readonly string[], path: readonly string[]): boolean {
  // reachable[j]: the first i pattern segments can match the first j path segments.
  let reachable = new Array<boolean>(path.length + 1).fill(false);
  reachable[0] = true;
  for (const segment of pattern) {
    const next = new Array<boolean>(path.length + 1).fill(false);
    if (segment === '**') {
      let any = false;
      for (let j = 0; j <= path.length; j++) {
        any = any || (reachable[j] ?? false);
        next[j] = any;
      }
    } else {
      for (let j = 1; j <= path.length; j++) {
        next[j] = (reachable[j - 1] ?? false) && matchSegment(segment, path[j - 1] ?? '');
      }
    }
    reachable = next;
  }
  return reachable[path.length] ?? false;
}

function matchSegment(pattern: string, segment: string): boolean {
  if (!/[*?[]/.test(pattern)) return pattern === segment;
  return segmentRegex(pattern).test(segment);
}

const segmentCache = new Map<string, RegExp>();
const escapeRegex = (char: string) => char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** One segment of a glob (no `/`, braces expanded) as an anchored regular expression. */
function segmentRegex(pattern: string): RegExp {
  let regex = segmentCache.get(pattern);
  if (regex) return regex;
  let source = '';
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] ?? '';
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const end = classEnd(pattern, index, pattern);
      source += classRegex(pattern.slice(index + 1, end), pattern);
      index = end;
    } else source += escapeRegex(char);
  }
  regex = new RegExp(`^${source}$`, 's');
  if (segmentCache.size > 1000) segmentCache.clear();
  segmentCache.set(pattern, regex);
  return regex;
}

/** The inside of `[...]` as a regex class: members and `a-z` ranges, `!` or `^` first negates; never `/`. */
function classRegex(body: string, pattern: string): string {
  const negated = body.startsWith('!') || body.startsWith('^');
  const members = [...(negated ? body.slice(1) : body)];
  let source = '';
  for (let index = 0; index < members.length; index++) {
    const from = members[index] ?? '';
    const to = members[index + 2];
    if (members[index + 1] === '-' && to !== undefined) {
      if (to < from) throw new GlobError(`bad range "${from}-${to}" in ${JSON.stringify(pattern)}`);
      source += `${escapeRegex(from)}-${escapeRegex(to)}`;
      index += 2;
    } else source += escapeRegex(from);
  }
  return negated ? `[^/${source}]` : `[${source}]`;
}
